"""Renderings per Works pass: only what changed is rendered again (docs/performance.md, "Hub scale").

A Works pass used to render every template of its (policy, member) again, each from a deep
copy. The works controller now keeps each rendering with what it was made from (the
template's resourceVersion, the member's labels and fields, the override policies'
resourceVersions, the interpreter's customizations, the binding's replicas and annotations) and
renders only templates whose inputs changed. ``WorksController.renders.renders`` counts the
renderings made.
"""

from __future__ import annotations

from typing import Any

from hub.app import Hub
from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from tests.hub.fleet import add_member, eventually, running_hub, settled
from tests.hub.helpers import policy

TEMPLATES = 10
MEMBERS = ("a", "b")


async def _manifests(hub_api: KubeClient) -> dict[str, list[dict[str, Any]]]:
    """member namespace → the manifests its Works carry."""
    out: dict[str, list[dict[str, Any]]] = {}
    for work in (await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK)).items:
        out.setdefault(work["metadata"]["namespace"], []).extend(work["spec"]["workload"]["manifests"])
    return out


async def _all(hub_api: KubeClient, check: Any) -> bool:
    found = await _manifests(hub_api)
    if len(found) != len(MEMBERS):
        return False
    return all(len(ms) == TEMPLATES and all(check(m) for m in ms) for ms in found.values())


def _renders(hub: Hub) -> int:
    return hub.works_ctl.renders.renders


async def test_a_pass_renders_only_what_changed(hub_sim: SimServer) -> None:
    async with running_hub(str(hub_sim.kubeconfig_path)) as (hub, hub_api):
        for member in MEMBERS:
            await add_member(hub_api, member, labels={"env": member})
        await hub_api.create(policy("p", selectors=[{"apiVersion": "v1", "kind": "ConfigMap"}]))
        for index in range(TEMPLATES):
            await hub_api.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"cm-{index}", "namespace": "default"},
                    "data": {"v": "1"},
                }
            )
        await eventually(lambda: _all(hub_api, lambda m: True), within=30, what="placed")
        await settled(hub)
        assert _renders(hub) == TEMPLATES * len(MEMBERS)  # each placed manifest rendered once

        # one template changes: its two Works passes render it, and nothing else, again
        before = _renders(hub)
        await hub_api.patch("v1", "ConfigMap", name="cm-3", namespace="default", patch={"data": {"v": "2"}})
        await eventually(
            lambda: _all(hub_api, lambda m: m["metadata"]["name"] != "cm-3" or m["data"] == {"v": "2"}),
            what="cm-3 changed on both members",
        )
        await settled(hub)
        assert _renders(hub) - before == len(MEMBERS)

        # an override change re-renders every template it may touch
        before = _renders(hub)
        await hub_api.create(
            {
                "apiVersion": names.POLICY_API_VERSION,
                "kind": "OverridePolicy",
                "metadata": {"name": "label", "namespace": "default"},
                "spec": {
                    "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}],
                    "overrideRules": [
                        {"overriders": {"labelsOverrider": [{"operator": "add", "value": {"o": "1"}}]}}
                    ],
                },
            }
        )

        def labelled(value: str) -> Any:
            return lambda m: (m["metadata"].get("labels") or {}).get("o") == value

        await eventually(lambda: _all(hub_api, labelled("1")), what="override applied")
        await settled(hub)
        assert _renders(hub) - before == TEMPLATES * len(MEMBERS)

        # a member's labels (what overrides and their variables read) re-render that member's only
        before = _renders(hub)
        await hub_api.patch(
            names.CLUSTER_API_VERSION,
            names.KIND_MEMBER_CLUSTER,
            name="a",
            namespace=f"{names.MEMBER_NAMESPACE_PREFIX}a",
            patch={"metadata": {"labels": {"env": "a2"}}},
        )

        async def relabelled() -> bool:
            view = hub.state.cluster_view("a")
            return view is not None and view.labels.get("env") == "a2"

        await eventually(relabelled, what="the hub saw a's new label")
        await settled(hub)
        assert _renders(hub) - before == TEMPLATES

        # the override's own change: everything again
        before = _renders(hub)
        await hub_api.patch(
            names.POLICY_API_VERSION,
            "OverridePolicy",
            name="label",
            namespace="default",
            patch={
                "spec": {
                    "overrideRules": [
                        {"overriders": {"labelsOverrider": [{"operator": "add", "value": {"o": "2"}}]}}
                    ]
                }
            },
        )
        await eventually(lambda: _all(hub_api, labelled("2")), what="override changed")
        await settled(hub)
        assert _renders(hub) - before == TEMPLATES * len(MEMBERS)
