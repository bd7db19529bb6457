"""The namespace of a propagated template reaches the members as the hub has it: labels and
ClusterOverridePolicy overrides (hub.namespace_templates), as Karmada's namespace sync controller
propagates it; reserved and skip-labelled namespaces are not described, a member's own namespace is
left alone."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from hub import namespace_templates
from shared.api import names
from tests.e2e.e2e_fleet import E2EFleet, SimFactory, e2e_fleet
from tests.hub.fleet import eventually

POLICY = names.POLICY_API_VERSION


def _namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _cm(namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": namespace},
        "data": {"k": "v"},
    }


def test_what_a_work_describes() -> None:
    hub = {
        "shop": _namespace("shop", team="a"),
        "quiet": _namespace("quiet", **{"namespace.karmada.io/skip-auto-propagation": "true"}),
        "kube-extra": _namespace("kube-extra"),
        "member-eu1": _namespace("member-eu1"),
    }
    manifests = [_cm("shop"), _cm("quiet"), _cm("kube-extra"), _cm("member-eu1"), _cm("default"), _cm("gone")]
    described = namespace_templates.describe(
        manifests,
        hub_namespace=hub.get,
        is_member_namespace=lambda n: n.startswith("member-"),
        render=lambda ns: {
            **ns,
            "metadata": {**ns["metadata"], "labels": {**ns["metadata"]["labels"], "x": "1"}},
        },
    )
    assert described == '{"shop":{"metadata":{"labels":{"team":"a","x":"1"}}}}'
    # a Work that ships the Namespace itself does not describe it
    assert (
        namespace_templates.describe(
            [_cm("shop"), _namespace("shop")],
            hub_namespace=hub.get,
            is_member_namespace=lambda n: False,
            render=dict,
        )
        is None
    )


async def _labels(fleet: E2EFleet, member: str, namespace: str) -> dict[str, str]:
    found = await fleet.member_apis[member].get("v1", "Namespace", name=namespace)
    return dict(found["metadata"].get("labels") or {})


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not on PATH")
async def test_a_namespace_selected_only_by_a_cluster_override_policy_gets_its_overrides(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """Issue #9: the namespace of propagated objects was created bare on the members; a Namespace
    selected only by a ClusterOverridePolicy got no overrides (nor its own labels)."""
    override = {
        "apiVersion": POLICY,
        "kind": "ClusterOverridePolicy",
        "metadata": {"name": "ns-env"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "Namespace", "name": "shop"}],
            "overrideRules": [
                {
                    "targetCluster": {"clusterNames": ["eu1"]},
                    "overriders": {"labelsOverrider": [{"operator": "add", "value": {"env": "eu"}}]},
                }
            ],
        },
    }
    everywhere = {
        "apiVersion": POLICY,
        "kind": "ClusterPropagationPolicy",
        "metadata": {"name": "cfg"},
        "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "cfg"}]},
    }
    async with e2e_fleet(sim_factory, tmp_path, {"eu1": [], "us1": []}) as fleet:
        # eu1 has its own 'legacy' namespace already: it is not Waybill's to change
        await fleet.member_apis["eu1"].create(_namespace("legacy", own="1"))
        await fleet.apply(
            override,
            everywhere,
            _namespace("shop", team="a"),
            _namespace("quiet", team="a", **{"namespace.karmada.io/skip-auto-propagation": "true"}),
            _namespace("legacy", team="a"),
            _cm("shop"),
            _cm("quiet"),
            _cm("legacy"),
        )

        async def labelled(member: str, wanted: dict[str, str]) -> bool:
            labels = await _labels(fleet, member, "shop")
            return all(labels.get(k) == v for k, v in wanted.items())

        await eventually(lambda: labelled("eu1", {"team": "a", "env": "eu"}), what="shop on eu1, overridden")
        await eventually(lambda: labelled("us1", {"team": "a"}), what="shop on us1")
        assert "env" not in await _labels(fleet, "us1", "shop")
        # Fences: the ConfigMaps in the other namespaces are there...
        for member in ("eu1", "us1"):
            for namespace in ("quiet", "legacy"):
                await eventually(
                    lambda m=member, n=namespace: fleet.member_apis[m].get(
                        "v1", "ConfigMap", name="cfg", namespace=n
                    ),
                    what=f"cfg in {namespace} on {member}",
                )
        # ...a skip-labelled namespace is created plainly, a member's own one is left as it was.
        assert "team" not in await _labels(fleet, "eu1", "quiet")
        assert "team" not in await _labels(fleet, "eu1", "legacy")
        assert (await _labels(fleet, "us1", "legacy")).get("team") == "a"  # us1 had none: created
        # The hub's namespace changes: the members' copies follow.
        await fleet.hub_api.patch(
            "v1", "Namespace", name="shop", patch={"metadata": {"labels": {"team": "b"}}}
        )
        await eventually(lambda: labelled("eu1", {"team": "b", "env": "eu"}), what="relabelled on eu1")
        await eventually(lambda: labelled("us1", {"team": "b"}), what="relabelled on us1")
