"""Sealed Secrets end to end: hub + two agents on kubesim, a tenant's Secret, key rotation.

The defect seen in #17: Secret templates were stored in plain text in Works, readable by anyone
who can read Works. Now each member's Work carries an envelope only that member's agent opens;
Works, Work status and binding status never contain the value; rotating a member's key re-seals
its Works and the Secret on the member stays right.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from agent import sealing_keys
from shared import sealing
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import Forbidden
from tests.e2e.e2e_fleet import SimFactory, e2e_fleet, stop_agent
from tests.hub.fleet import eventually
from tests.security.tenants import make_tenant

MEMBERS = {"eu1": ["--label", "geo=eu"], "eu2": ["--label", "geo=eu"]}
VALUE = "correct-horse-battery-staple"
WORK = (names.WORK_API_VERSION, names.KIND_WORK)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def db_secret(value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "team-a"},
        "type": "Opaque",
        "data": {"password": b64(value)},
    }


POLICY = {
    "apiVersion": names.POLICY_API_VERSION,
    "kind": "PropagationPolicy",
    "metadata": {"name": "db", "namespace": "team-a"},
    "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "Secret"}], "placement": {}},
}


async def member_password(api: KubeClient) -> str | None:
    try:
        live = await api.get("v1", "Secret", name="db", namespace="team-a")
    except Exception:
        return None
    return base64.b64decode(live["data"]["password"]).decode()


async def sealed_manifest(hub_api: KubeClient, member: str) -> dict[str, Any] | None:
    works = (await hub_api.list(*WORK, namespace=f"member-{member}")).items
    found = [m for w in works for m in w["spec"]["workload"]["manifests"] if m["kind"] == "Secret"]
    return found[0] if found else None


async def member_keys(api: KubeClient) -> sealing_keys.KeySet:
    live = await api.get(
        "v1", "Secret", name=sealing_keys.SECRET_NAME, namespace=sealing_keys.SECRET_NAMESPACE
    )
    return sealing_keys.KeySet.from_data(base64.b64decode(live["data"][sealing_keys.DATA_KEY]).decode())


def leaks(text: str, value: str) -> bool:
    return value in text or b64(value) in text


@pytest.mark.timeout(120)
async def test_secrets_are_sealed_per_member_and_keys_rotate(sim_factory: SimFactory, tmp_path: Path) -> None:
    async with e2e_fleet(sim_factory, tmp_path, MEMBERS) as fleet:
        tenant = await make_tenant(fleet.hub_sim, fleet.hub_api, namespace="team-a", workdir=tmp_path)
        try:
            await tenant.create(POLICY)
            await tenant.create(db_secret(VALUE))
            for member, api in fleet.member_apis.items():
                await eventually(
                    lambda api=api: _equals(member_password(api), VALUE),
                    within=30,
                    what=f"secret on {member}",
                )

            envelopes = {m: await sealed_manifest(fleet.hub_api, m) for m in MEMBERS}
            keys = {m: await member_keys(api) for m, api in fleet.member_apis.items()}
            for member, envelope in envelopes.items():
                assert envelope is not None and sealing.is_sealed(envelope)
                assert envelope["sealed"]["keyID"] == keys[member].active.public.key_id
                mc = await fleet.hub_api.get(
                    names.CLUSTER_API_VERSION,
                    names.KIND_MEMBER_CLUSTER,
                    name=member,
                    namespace=f"member-{member}",
                )
                assert mc["status"]["sealingKey"]["keyID"] == keys[member].active.public.key_id
                assert "privateKey" not in json.dumps(mc)
            # only that member's agent opens its envelope
            assert sealing.open_sealed(envelopes["eu1"], keys=keys["eu1"].by_id())["data"]["password"] == b64(
                VALUE
            )  # type: ignore[arg-type]
            with pytest.raises(sealing.SealingError):
                sealing.open_sealed(envelopes["eu1"], keys=keys["eu2"].by_id())  # type: ignore[arg-type]

            # nothing on the hub echoes the value: Works (spec and status), bindings, events
            await eventually(lambda: _applied_everywhere(fleet.hub_api), within=30, what="Works applied")
            hub_side = [
                *(await fleet.hub_api.list(*WORK, namespace="member-eu1")).items,
                *(await fleet.hub_api.list(*WORK, namespace="member-eu2")).items,
                *(
                    await fleet.hub_api.list(
                        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, namespace="team-a"
                    )
                ).items,
                *(await fleet.hub_api.list("v1", "Event", namespace="team-a")).items,
            ]
            assert not leaks(json.dumps(hub_side), VALUE)

            # rotation: the member admin asks eu1's agent for a new key
            old = keys["eu1"].active.public.key_id
            await fleet.member_apis["eu1"].patch(
                "v1",
                "Secret",
                name=sealing_keys.SECRET_NAME,
                namespace=sealing_keys.SECRET_NAMESPACE,
                patch={"metadata": {"annotations": {sealing_keys.ROTATE_ANNOTATION: "1"}}},
            )

            async def resealed() -> str | None:
                envelope = await sealed_manifest(fleet.hub_api, "eu1")
                kid = (envelope or {}).get("sealed", {}).get("keyID")
                return kid if kid and kid != old else None

            new = await eventually(resealed, within=30, what="eu1's Work re-sealed to the new key")
            rotated = await member_keys(fleet.member_apis["eu1"])
            assert (
                rotated.active.public.key_id == new and old in rotated.by_id()
            )  # the old key is kept a while
            # eu2 is untouched
            assert (await sealed_manifest(fleet.hub_api, "eu2")) == envelopes["eu2"]
            # a new value after the rotation reaches the member through the new key
            await tenant.replace({**db_secret("second-" + VALUE), "metadata": await _meta(tenant)})
            await eventually(
                lambda: _equals(member_password(fleet.member_apis["eu1"]), "second-" + VALUE),
                within=30,
                what="new value on eu1",
            )
            assert not leaks(
                json.dumps((await fleet.hub_api.list(*WORK, namespace="member-eu1")).items), "second-" + VALUE
            )
        finally:
            await tenant.close()


async def _meta(api: KubeClient) -> dict[str, Any]:
    live = await api.get("v1", "Secret", name="db", namespace="team-a")
    return dict(live["metadata"])


async def _equals(probe: Any, expected: str) -> bool:
    return (await probe) == expected


async def _applied_everywhere(hub_api: KubeClient) -> bool:
    for namespace in ("member-eu1", "member-eu2"):
        for work in (await hub_api.list(*WORK, namespace=namespace)).items:
            conditions = (work.get("status") or {}).get("conditions") or []
            if not any(
                c["type"] == "Applied"
                and c["status"] == "True"
                and c.get("observedGeneration") == work["metadata"]["generation"]
                for c in conditions
            ):
                return False
    return True


@pytest.mark.timeout(120)
async def test_stolen_agent_token_cannot_redirect_secrets_to_its_own_key(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """The thief publishes its own (self-signed) key in eu1's MemberCluster status: the hub keeps
    sealing to the signer it pinned, so the thief never gets a Secret it can open."""
    async with e2e_fleet(sim_factory, tmp_path, {"eu1": ["--label", "geo=eu"]}) as fleet:
        await fleet.hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
        await fleet.hub_api.create(POLICY)
        await fleet.hub_api.create(db_secret(VALUE))
        await eventually(
            lambda: _equals(member_password(fleet.member_apis["eu1"]), VALUE), within=30, what="secret on eu1"
        )
        mc_key = (names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER)

        async def pinned_and_trusted() -> dict[str, Any] | None:
            live = await fleet.hub_api.get(*mc_key, name="eu1", namespace="member-eu1")
            found = [c for c in live["status"].get("conditions") or [] if c["type"] == "SealingKeyTrusted"]
            return live if found and (found[0]["status"], found[0]["reason"]) == ("True", "Pinned") else None

        member = await eventually(pinned_and_trusted, within=30, what="SealingKeyTrusted=True")
        pinned = member["metadata"]["annotations"][sealing.PIN_ANNOTATION]
        before = await sealed_manifest(fleet.hub_api, "eu1")

        # the real agent stops (so it does not re-publish its key); the thief has its token
        await stop_agent(fleet, "eu1")
        thief = await KubeClient.from_kubeconfig(tmp_path / "eu1-hub.kubeconfig", name="thief")
        try:
            own_key, own_signer = sealing.PrivateKey.generate(), sealing.Signer.generate()
            forged = own_signer.sign(own_key.public).to_status()
            with pytest.raises(Forbidden):  # it cannot re-pin: MemberCluster metadata is not its to write
                await thief.patch(
                    *mc_key,
                    name="eu1",
                    namespace="member-eu1",
                    patch={"metadata": {"annotations": {sealing.PIN_ANNOTATION: forged["signer"]}}},
                )
            await thief.patch_status(
                *mc_key,
                name="eu1",
                namespace="member-eu1",
                patch={
                    "metadata": {"annotations": {sealing.PIN_ANNOTATION: None}},  # ignored on /status
                    "status": {"sealingKey": forged},
                },
            )

            async def refused() -> dict[str, Any] | None:
                live = await fleet.hub_api.get(*mc_key, name="eu1", namespace="member-eu1")
                found = [
                    c for c in live["status"].get("conditions") or [] if c["type"] == "SealingKeyTrusted"
                ]
                return found[0] if found and found[0]["status"] == "False" else None

            condition = await eventually(refused, within=30, what="SealingKeyTrusted=False")
            assert condition["reason"] == "SignerNotPinned"
            live = await fleet.hub_api.get(*mc_key, name="eu1", namespace="member-eu1")
            assert live["metadata"]["annotations"][sealing.PIN_ANNOTATION] == pinned
            # a new value now: the hub does not seal it to the thief's key (the binding says why)
            await fleet.hub_api.patch(
                "v1",
                "Secret",
                name="db",
                namespace="team-a",
                patch={"data": {"password": b64("new-" + VALUE)}},
            )

            async def not_rendered() -> dict[str, Any] | None:
                binding = await fleet.hub_api.get(
                    names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name="db-secret", namespace="team-a"
                )
                for c in (binding.get("status") or {}).get("conditions") or []:
                    if c["type"] == "Rendered" and c["status"] == "False" and "pinned" in c["message"]:
                        return dict(c)
                return None

            await eventually(not_rendered, within=30, what="Rendered=False: not signed by the pinned signer")
            assert await sealed_manifest(fleet.hub_api, "eu1") == before  # the last good envelope
            works = await thief.list(*WORK, namespace="member-eu1")
            for manifest in (m for w in works.items for m in w["spec"]["workload"]["manifests"]):
                with pytest.raises(sealing.SealingError):
                    sealing.open_sealed(manifest, keys={own_key.public.key_id: own_key})
        finally:
            await thief.close()
