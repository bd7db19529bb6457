"""The hub's slim Work cache (docs/performance.md, "Hub scale").

The hub's Work informer keeps each manifest as its identity and a content digest
(``hub.rendering.slim_work``), not in full (~10 KB of hub memory per placed manifest before).
What needs a manifest's content — a member keeping its last good manifest when rendering fails
— takes it from the works controller's kept rendering when the digest matches, else reads the
Work from the API server: shown here with a hub that starts after the override broke, so it has
no rendering of its own to fall back on.
"""

from __future__ import annotations

from typing import Any

from hub import rendering
from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from tests.hub.fleet import add_member, eventually, running_hub, settled
from tests.hub.helpers import deployment, policy

WORK = (names.WORK_API_VERSION, names.KIND_WORK)
BROKEN = {
    "apiVersion": names.POLICY_API_VERSION,
    "kind": "OverridePolicy",
    "metadata": {"name": "broken", "namespace": "default"},
    "spec": {
        "overrideRules": [
            {"overriders": {"plaintext": [{"path": "/spec/nothing/here", "operator": "replace", "value": 1}]}}
        ]
    },
}


async def _shipped(hub_api: KubeClient) -> list[dict[str, Any]]:
    return [
        m
        for w in (await hub_api.list(*WORK, namespace="member-a")).items
        for m in w["spec"]["workload"]["manifests"]
    ]


async def _rendered(hub_api: KubeClient) -> str | None:
    found = await hub_api.get(
        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name="web-deployment", namespace="default"
    )
    for condition in (found.get("status") or {}).get("conditions") or []:
        if condition["type"] == "Rendered":
            return str(condition["status"])
    return None


async def test_the_cache_is_slim_and_the_last_good_manifest_comes_from_the_server(hub_sim: SimServer) -> None:
    kubeconfig = str(hub_sim.kubeconfig_path)
    async with running_hub(kubeconfig) as (hub, hub_api):
        await add_member(hub_api, "a")
        await hub_api.create(policy("p", selectors=[{"apiVersion": "apps/v1", "kind": "Deployment"}]))
        await hub_api.create(deployment(replicas=2))
        await eventually(lambda: _shipped(hub_api), what="work on a")
        await settled(hub)
        # the hub's cache holds the Work's manifest as identity + digest, not its content
        (cached,) = hub.state.works.list()
        (slim,) = cached["spec"]["workload"]["manifests"]
        assert set(slim) == {rendering.DIGEST_FIELD, "apiVersion", "kind", "metadata"}
        assert slim["metadata"] == {"name": "web", "namespace": "default"}
        (full,) = await _shipped(hub_api)
        assert slim[rendering.DIGEST_FIELD] == rendering.manifest_digest(full)

    # no hub runs: the override breaks and the template changes
    admin = await KubeClient.from_kubeconfig(kubeconfig)
    try:
        await admin.create(BROKEN)
        await admin.patch(
            "apps/v1", "Deployment", name="web", namespace="default", patch={"spec": {"replicas": 4}}
        )
    finally:
        await admin.close()

    # a new hub (no renderings kept) cannot render it: member a keeps the manifest it has
    async with running_hub(kubeconfig) as (hub, hub_api):

        async def failed() -> bool:
            return await _rendered(hub_api) == "False"

        await eventually(failed, within=30, what="Rendered=False")
        await settled(hub)
        assert len(hub.works_ctl.renders) == 0  # nothing rendered: the kept manifest came from the server
        (shipped,) = await _shipped(hub_api)
        assert shipped["spec"]["replicas"] == 2
        assert shipped == full

        # the fix: rendered again, and the new manifest's digest is what the cache holds
        await hub_api.delete(names.POLICY_API_VERSION, "OverridePolicy", name="broken", namespace="default")

        async def recovered() -> bool:
            return (await _shipped(hub_api))[0]["spec"]["replicas"] == 4

        await eventually(recovered, what="rendered again after the fix")
        await settled(hub)
        (cached,) = hub.state.works.list()
        (now,) = await _shipped(hub_api)
        assert cached["spec"]["workload"]["manifests"][0][
            rendering.DIGEST_FIELD
        ] == rendering.manifest_digest(now)
