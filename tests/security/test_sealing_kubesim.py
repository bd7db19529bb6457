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
from tests.e2e.e2e_fleet import SimFactory, e2e_fleet
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
