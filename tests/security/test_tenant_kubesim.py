"""A hub tenant limited to ``team-a`` (a real kubesim RBAC identity) tries to escape its namespace.

The attacks of issue #17: an OverridePolicy whose plaintext patches turn a ConfigMap into a
ClusterRoleBinding to ``cluster-admin``, and patches that move a ConfigMap into ``kube-system``
(``/metadata/namespace``, or the whole ``/metadata``) or into a namespace the agent would create.
Before the tenancy rules every member got those objects; now each fails with a ``Rendered=False``
condition naming the policy, the rule and the path, and nothing of it reaches a member.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest

from shared.api import names
from shared.kube.errors import Forbidden, Invalid, NotFound
from tests.e2e.e2e_fleet import SimFactory, e2e_fleet
from tests.hub.fleet import eventually
from tests.security.tenants import make_tenant

MEMBERS = {"eu1": ["--label", "geo=eu"], "eu2": ["--label", "geo=eu"]}
RBAC = "rbac.authorization.k8s.io/v1"


def cm(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "team-a"},
        "data": {"k": "v"},
    }


def replace(path: str, value: Any) -> dict[str, Any]:
    return {"path": path, "operator": "replace", "value": value}


def override(name: str, target: str, ops: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": "OverridePolicy",
        "metadata": {"name": name, "namespace": "team-a"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": target}],
            "overrideRules": [{"overriders": {"plaintext": ops}}],
        },
    }


ESCALATE = override(
    "escalate",
    "innocent",
    [
        replace("/apiVersion", RBAC),
        replace("/kind", "ClusterRoleBinding"),
        replace("/metadata", {"name": "team-a-admin"}),
        {"path": "/data", "operator": "remove"},
        {
            "path": "/roleRef",
            "operator": "add",
            "value": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "cluster-admin",
            },
        },
        {
            "path": "/subjects",
            "operator": "add",
            "value": [{"kind": "ServiceAccount", "name": "tenant", "namespace": "team-a"}],
        },
    ],
)
MOVE = override("move", "moved", [replace("/metadata/namespace", "kube-system")])
REPLACE_META = override(
    "meta", "relabelled", [replace("/metadata", {"name": "relabelled", "namespace": "kube-system"})]
)
NEW_NS = override("newns", "elsewhere", [replace("/metadata/namespace", "tenant-owned")])
POLICY = {
    "apiVersion": names.POLICY_API_VERSION,
    "kind": "PropagationPolicy",
    "metadata": {"name": "everything", "namespace": "team-a"},
    "spec": {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap"}], "placement": {}},
}
# reaching out of team-a: another tenant's template, and a cluster-scoped one (validation may
# refuse the policy outright; either way nothing of it may reach a member)
REACH = {
    "apiVersion": names.POLICY_API_VERSION,
    "kind": "PropagationPolicy",
    "metadata": {"name": "reach", "namespace": "team-a"},
    "spec": {
        "resourceSelectors": [
            {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "team-b"},
            {"apiVersion": RBAC, "kind": "ClusterRole", "name": "grab-me"},
        ],
        "placement": {},
    },
}
GRAB = {
    "apiVersion": names.POLICY_API_VERSION,
    "kind": "PropagationPolicy",
    "metadata": {"name": "grab", "namespace": "team-a"},
    "spec": {
        "resourceSelectors": [{"apiVersion": RBAC, "kind": "ClusterRole", "name": "grab-me"}],
        "placement": {},
    },
}


async def rendered_condition(api: Any, binding: str) -> dict[str, Any] | None:
    found = await api.get(
        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name=binding, namespace="team-a"
    )
    for condition in (found.get("status") or {}).get("conditions") or []:
        if condition["type"] == "Rendered" and condition["status"] == "False":
            return dict(condition)
    return None


@pytest.mark.timeout(120)
async def test_namespace_tenant_cannot_escape_its_namespace(sim_factory: SimFactory, tmp_path: Path) -> None:
    async with e2e_fleet(sim_factory, tmp_path, MEMBERS) as fleet:
        tenant = await make_tenant(fleet.hub_sim, fleet.hub_api, namespace="team-a", workdir=tmp_path)
        try:
            # the identity really is limited to team-a
            with pytest.raises(Forbidden):
                await tenant.create(
                    {
                        "apiVersion": RBAC,
                        "kind": "ClusterRoleBinding",
                        "metadata": {"name": "direct"},
                        "roleRef": {
                            "apiGroup": "rbac.authorization.k8s.io",
                            "kind": "ClusterRole",
                            "name": "view",
                        },
                        "subjects": [],
                    }
                )
            with pytest.raises(Forbidden):
                await tenant.create({**cm("x"), "metadata": {"name": "x", "namespace": "default"}})
            # templates the tenant does not own, created by the platform team
            await fleet.hub_api.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-b"}}
            )
            await fleet.hub_api.create(
                {**cm("foreign"), "metadata": {"name": "foreign", "namespace": "team-b"}}
            )
            await fleet.hub_api.create(
                {"apiVersion": RBAC, "kind": "ClusterRole", "metadata": {"name": "grab-me"}, "rules": []}
            )
            for obj in (ESCALATE, MOVE, REPLACE_META, NEW_NS, POLICY):
                await tenant.create(obj)
            for obj in (REACH, GRAB):
                with contextlib.suppress(Invalid):
                    await tenant.create(obj)
            for name in ("innocent", "moved", "relabelled", "elsewhere", "marker"):
                await tenant.create(cm(name))

            expected = {
                "innocent-configmap": (
                    "OverridePolicy/team-a/escalate",
                    "overrideRules[0].overriders.plaintext[0]",
                    "/apiVersion",
                ),
                "moved-configmap": (
                    "OverridePolicy/team-a/move",
                    "overrideRules[0].overriders.plaintext[0]",
                    "/metadata/namespace",
                ),
                "relabelled-configmap": (
                    "OverridePolicy/team-a/meta",
                    "overrideRules[0].overriders.plaintext[0]",
                    "/metadata",
                ),
                "elsewhere-configmap": (
                    "OverridePolicy/team-a/newns",
                    "overrideRules[0].overriders.plaintext[0]",
                    "/metadata/namespace",
                ),
            }
            # the static identity paths are refused by policy validation (the whole policy is
            # invalid); a whole-/metadata replace only by the rendered-identity check
            for binding, (policy, rule, path) in expected.items():
                # the tenant itself reads why its template went nowhere
                condition = await eventually(
                    lambda binding=binding: rendered_condition(tenant, binding),
                    within=30,
                    what=f"{binding} Rendered=False",
                )
                message = condition["message"]
                assert policy in message and rule in message and path in message, message
                assert "cluster eu1" in message and "cluster eu2" in message, message

            for member, api in fleet.member_apis.items():
                # causal fence: the marker from the same policy's Work is applied on the member
                await eventually(
                    lambda api=api: api.get("v1", "ConfigMap", name="marker", namespace="team-a"),
                    within=30,
                    what=f"marker on {member}",
                )
                namespace = f"member-{member}"

                async def applied(namespace: str = namespace) -> bool:
                    works = (
                        await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace=namespace)
                    ).items
                    return bool(works) and all(
                        any(
                            c["type"] == "Applied"
                            and c["status"] == "True"
                            and c.get("observedGeneration") == w["metadata"]["generation"]
                            for c in (w.get("status") or {}).get("conditions") or []
                        )
                        for w in works
                    )

                await eventually(applied, within=30, what=f"Works applied on {member}")
                works = (
                    await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace=namespace)
                ).items
                shipped = [m for w in works for m in w["spec"]["workload"]["manifests"]]
                assert {(m["kind"], m["metadata"].get("namespace")) for m in shipped} == {
                    ("ConfigMap", "team-a")
                }
                assert sorted(m["metadata"]["name"] for m in shipped) == ["marker"]
                with pytest.raises(NotFound):
                    await api.get(RBAC, "ClusterRoleBinding", name="team-a-admin")
                for name in ("moved", "relabelled"):
                    with pytest.raises(NotFound):
                        await api.get("v1", "ConfigMap", name=name, namespace="kube-system")
                with pytest.raises(NotFound):
                    await api.get("v1", "Namespace", name="tenant-owned")
                with pytest.raises(NotFound):
                    await api.get("v1", "ConfigMap", name="foreign", namespace="team-b")
                with pytest.raises(NotFound):
                    await api.get(RBAC, "ClusterRole", name="grab-me")
        finally:
            await tenant.close()
