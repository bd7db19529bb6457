"""Karmada policies end to end on kubesim: hub + members + agents in process, real kubectl on the hub.

Each test applies Karmada-style policies (only apiVersion changed) with ``kubectl apply`` and
checks what the members get and what the hub reports.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.api import names
from shared.kube.errors import NotFound
from tests.e2e.e2e_fleet import E2EFleet, SimFactory, e2e_fleet, start_agent, stop_agent
from tests.hub.fleet import eventually, settled

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not on PATH")

POLICY = names.POLICY_API_VERSION
SHOP = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}


def deployment(
    name: str = "web", *, replicas: int = 2, pod_spec: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": pod_spec or {"containers": [{"name": "c", "image": "nginx:1.25"}]},
            },
        },
    }


def pp(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": POLICY,
        "kind": "PropagationPolicy",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": spec,
    }


async def member_object(fleet: E2EFleet, member: str, kind: str, name: str, api_version: str = "v1") -> Any:
    return await fleet.member_apis[member].get(api_version, kind, name=name, namespace="shop")


async def binding(fleet: E2EFleet, name: str) -> dict[str, Any]:
    found: dict[str, Any] = await fleet.hub_api.get(
        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name=name, namespace="shop"
    )
    return found


def bound_clusters(found: dict[str, Any]) -> list[str]:
    return sorted(c["name"] for c in (found.get("spec") or {}).get("clusters") or [])


async def policy_condition(
    fleet: E2EFleet, kind: str, name: str, namespace: str | None = "shop"
) -> dict[str, Any]:
    found = await fleet.hub_api.get(POLICY, kind, name=name, namespace=namespace)
    for condition in (found.get("status") or {}).get("conditions") or []:
        if condition["type"] == names.CONDITION_VALID:
            return condition  # type: ignore[no-any-return]
    return {}


# --- fieldOverrider ----------------------------------------------------------------------------------
CONFIG = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "app-config", "namespace": "shop"},
    "data": {
        "config.yaml": "db:\n  host: localhost\n  port: 5432\n",
        "config.json": '{"log": {"level": "info"}}',
    },
}
# The shape of Karmada's documented fieldOverrider example (override-policy.md), on our ConfigMap.
FIELD_OVERRIDE = {
    "apiVersion": POLICY,
    "kind": "OverridePolicy",
    "metadata": {"name": "config-eu", "namespace": "shop"},
    "spec": {
        "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "app-config"}],
        "overrideRules": [
            {
                "targetCluster": {"clusterNames": ["eu1"]},
                "overriders": {
                    "fieldOverrider": [
                        {
                            "fieldPath": "/data/config.yaml",
                            "yaml": [{"subPath": "/db/host", "operator": "replace", "value": "db.eu"}],
                        },
                        {
                            "fieldPath": "/data/config.json",
                            "json": [{"subPath": "/log/level", "operator": "replace", "value": "debug"}],
                        },
                    ]
                },
            }
        ],
    },
}


async def test_field_overrider_changes_documents_inside_strings(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    async with e2e_fleet(sim_factory, tmp_path, {"eu1": [], "us1": []}) as fleet:
        await fleet.apply(
            SHOP,
            FIELD_OVERRIDE,
            pp(
                "cm", {"resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "app-config"}]}
            ),
            CONFIG,
        )

        async def eu_overridden() -> bool:
            cm = await member_object(fleet, "eu1", "ConfigMap", "app-config")
            return bool(yaml.safe_load(cm["data"]["config.yaml"]) == {"db": {"host": "db.eu", "port": 5432}})

        await eventually(eu_overridden, what="eu1 ConfigMap overridden")
        eu = await member_object(fleet, "eu1", "ConfigMap", "app-config")
        assert yaml.safe_load(eu["data"]["config.json"]) == {"log": {"level": "debug"}}
        us = await eventually(lambda: member_object(fleet, "us1", "ConfigMap", "app-config"), what="us1 cm")
        assert us["data"] == CONFIG["data"]
        assert (await policy_condition(fleet, "OverridePolicy", "config-eu")).get("status") != "False"


# --- spread constraints ------------------------------------------------------------------------------
REGIONS = {
    "eu1": ["--region", "eu-west"],
    "eu2": ["--region", "eu-west"],
    "us1": ["--region", "us-east"],
}


@pytest.mark.parametrize(
    ("cluster_constraint", "count"),
    [
        ({"spreadByField": "cluster", "maxGroups": 2}, 2),
        ({"spreadByField": "cluster", "minGroups": 1, "maxGroups": 1}, 2),
    ],
    ids=["cluster-max-2", "cluster-1-1"],
)
async def test_spread_by_region_puts_one_cluster_in_each_region(
    sim_factory: SimFactory, tmp_path: Path, cluster_constraint: dict[str, Any], count: int
) -> None:
    """Issue #9: region min/max 2 put both clusters in one region; region 2/2 + cluster 1/1 chose one."""
    async with e2e_fleet(sim_factory, tmp_path, REGIONS) as fleet:
        await fleet.apply(
            SHOP,
            pp(
                "spread",
                {
                    "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                    "placement": {
                        "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
                        "spreadConstraints": [
                            {"spreadByField": "region", "minGroups": 2, "maxGroups": 2},
                            cluster_constraint,
                        ],
                    },
                },
            ),
            deployment(),
        )
        found = await eventually(lambda: _scheduled(fleet, "web-deployment"), what="web scheduled")
        clusters = bound_clusters(found)
        assert len(clusters) == count
        assert "us1" in clusters and len({"eu1", "eu2"} & set(clusters)) == 1
        for member in clusters:
            await eventually(
                lambda m=member: member_object(fleet, m, "Deployment", "web", "apps/v1"), what=member
            )


async def _scheduled(fleet: E2EFleet, name: str) -> dict[str, Any] | None:
    found = await binding(fleet, name)
    conditions = {c["type"]: c for c in (found.get("status") or {}).get("conditions") or []}
    if conditions.get(names.CONDITION_SCHEDULED, {}).get("status") == "True" and bound_clusters(found):
        return found
    return None


async def test_spread_constraint_without_spread_by_field_means_cluster(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """Issue #9: a constraint without spreadByField was an error; Karmada defaults it to cluster."""
    async with e2e_fleet(sim_factory, tmp_path, REGIONS) as fleet:
        await fleet.apply(
            SHOP,
            pp(
                "one",
                {
                    "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                    "placement": {"spreadConstraints": [{"minGroups": 1, "maxGroups": 1}]},
                },
            ),
            deployment(),
        )
        found = await eventually(lambda: _scheduled(fleet, "web-deployment"), what="web scheduled")
        assert len(bound_clusters(found)) == 1

        async def valid() -> bool:
            return (await policy_condition(fleet, "PropagationPolicy", "one")).get("status") == "True"

        await eventually(valid, what="policy Valid=True")


# --- preemption ----------------------------------------------------------------------------------------
def _claimer(found: dict[str, Any]) -> str:
    return str(((found.get("spec") or {}).get("policy") or {}).get("name"))


async def test_a_claim_sticks_unless_the_newcomer_preempts(sim_factory: SimFactory, tmp_path: Path) -> None:
    """Issue #9: with preemption Never (the default) a later higher-priority policy took the template."""
    select_web = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}]
    async with e2e_fleet(sim_factory, tmp_path, {"eu1": [], "us1": []}) as fleet:
        await fleet.apply(
            SHOP,
            pp(
                "first",
                {
                    "resourceSelectors": select_web,
                    "placement": {"clusterAffinity": {"clusterNames": ["eu1"]}},
                },
            ),
            deployment(),
        )
        found = await eventually(lambda: _scheduled(fleet, "web-deployment"), what="web scheduled")
        assert _claimer(found) == "first"
        await fleet.apply(
            pp(
                "second",
                {
                    "resourceSelectors": [
                        *select_web,
                        {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api"},
                    ],
                    "priority": 10,
                    "placement": {"clusterAffinity": {"clusterNames": ["us1"]}},
                },
            ),
            deployment("api"),
        )
        # Fence: "second" is seen by the scheduler once it has claimed api.
        found_api = await eventually(lambda: _scheduled(fleet, "api-deployment"), what="api scheduled")
        assert _claimer(found_api) == "second"
        assert _claimer(await binding(fleet, "web-deployment")) == "first"
        await fleet.apply(
            pp(
                "third",
                {
                    "resourceSelectors": select_web,
                    "priority": 5,
                    "preemption": "Always",
                    "placement": {"clusterAffinity": {"clusterNames": ["us1"]}},
                },
            )
        )

        async def taken_over() -> bool:
            return _claimer(await binding(fleet, "web-deployment")) == "third"

        await eventually(taken_over, what="third preempts first")
        await eventually(
            lambda: member_object(fleet, "us1", "Deployment", "web", "apps/v1"), what="web on us1"
        )

        async def gone_from_eu1() -> bool:
            try:
                await member_object(fleet, "eu1", "Deployment", "web", "apps/v1")
            except NotFound:
                return True
            return False

        await eventually(gone_from_eu1, what="web left eu1")


# --- conflictResolution: Karmada's default is Abort --------------------------------------------------
async def _manifest_reason(fleet: E2EFleet, member: str, kind: str, name: str) -> str | None:
    works = await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace=f"member-{member}")
    for work in works.items:
        for entry in (work.get("status") or {}).get("manifestConditions") or []:
            identifier = entry.get("identifier") or {}
            if identifier.get("kind") == kind and identifier.get("name") == name:
                applied = [c for c in entry.get("conditions") or [] if c["type"] == names.CONDITION_APPLIED]
                if applied:
                    return str(applied[0]["reason"])
    return None


@pytest.mark.parametrize(
    ("resolution", "reason"), [(None, "NotTakenOver"), ("Abort", "NotTakenOver"), ("Overwrite", None)]
)
async def test_an_existing_identical_object_is_adopted_only_with_overwrite(
    sim_factory: SimFactory, tmp_path: Path, resolution: str | None, reason: str | None
) -> None:
    """Issue #9: an unset conflictResolution adopted an identical pre-existing object (Karmada: Abort)."""
    existing = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "legacy", "namespace": "shop"},
        "data": {"k": "v"},
    }
    async with e2e_fleet(sim_factory, tmp_path, {"eu1": []}) as fleet:
        await fleet.member_apis["eu1"].create(SHOP)
        await fleet.member_apis["eu1"].create(existing)
        spec: dict[str, Any] = {
            "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "legacy"}]
        }
        if resolution:
            spec["conflictResolution"] = resolution
        await fleet.apply(SHOP, pp("legacy", spec), existing)

        async def reported() -> str | None:
            return await _manifest_reason(fleet, "eu1", "ConfigMap", "legacy")

        found = await eventually(reported, what="Applied condition of the ConfigMap")
        if reason is None:
            assert found not in ("NotTakenOver",), found
        else:
            assert found == reason


# --- cluster failover --------------------------------------------------------------------------------
async def test_cluster_failover_after_lease_expiry_and_clean_return(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """A member stops: its Lease expires, it is tainted unreachable (NoSchedule, then NoExecute), the
    workload tolerating Karmada's key for 1 s moves; back again, the member gets only what the policy asks."""
    members = {"a": [], "b": []}
    async with e2e_fleet(
        sim_factory, tmp_path, members, grace_seconds=1.5, failover_eviction_seconds=1.0
    ) as fleet:
        policy = pp(
            "one",
            {
                "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                "placement": {
                    "spreadConstraints": [{"spreadByField": "cluster", "minGroups": 1, "maxGroups": 1}],
                    "clusterTolerations": [
                        {
                            "key": "cluster.karmada.io/unreachable",
                            "operator": "Exists",
                            "effect": "NoExecute",
                            "tolerationSeconds": 1,
                        }
                    ],
                },
            },
        )
        # A second workload tolerates the lost member for ever: it must stay there, untouched.
        staying = pp(
            "stays",
            {
                "resourceSelectors": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "settings"}],
                "placement": {
                    "clusterTolerations": [
                        {"key": "cluster.karmada.io/unreachable", "operator": "Exists", "effect": "NoExecute"}
                    ]
                },
            },
        )
        settings = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "shop"},
            "data": {"k": "v"},
        }
        await fleet.apply(SHOP, policy, deployment(), staying, settings)
        first = bound_clusters(
            await eventually(lambda: _scheduled(fleet, "web-deployment"), what="scheduled")
        )
        assert len(first) == 1
        lost, other = first[0], ({"a", "b"} - set(first)).pop()
        await eventually(
            lambda: member_object(fleet, lost, "Deployment", "web", "apps/v1"), what="web applied"
        )
        kept = await eventually(lambda: member_object(fleet, lost, "ConfigMap", "settings"), what="settings")
        await stop_agent(fleet, lost)

        async def taints() -> set[tuple[str, str]]:
            found = await fleet.hub_api.get(
                names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, name=lost, namespace=f"member-{lost}"
            )
            return {(t["key"], t["effect"]) for t in found["spec"].get("taints") or []}

        async def evicting() -> bool:
            return (names.TAINT_UNREACHABLE, "NoExecute") in await taints()

        await eventually(evicting, within=20, what="NoExecute taint")

        async def moved() -> bool:
            return bound_clusters(await binding(fleet, "web-deployment")) == [other]

        await eventually(moved, within=20, what="moved off the lost member")
        await eventually(
            lambda: member_object(fleet, other, "Deployment", "web", "apps/v1"), what="web on other"
        )
        # The lost member's agent is down: what it runs stays until it can hear the hub again.
        assert await member_object(fleet, lost, "Deployment", "web", "apps/v1")

        # The agent removes what a vanished Work carried only after its grace (600 s by default: a
        # hub that merely looks empty must not wipe a member); short here.
        await start_agent(fleet, lost, tmp_path / f"{lost}-hub.kubeconfig", orphaned_applied_work_grace=1.0)

        async def healthy_again() -> bool:
            return not await taints()

        await eventually(healthy_again, within=20, what="taints removed")

        async def cleaned() -> bool:
            try:
                await member_object(fleet, lost, "Deployment", "web", "apps/v1")
            except NotFound:
                return True
            return False

        await eventually(cleaned, within=20, what="the returning member drops what it no longer holds")
        # No churn: the workload stays where it moved (maxGroups 1 and a locality preference)...
        assert bound_clusters(await binding(fleet, "web-deployment")) == [other]
        # ...and what the policy still wants on the returning member was never removed or re-created.
        assert bound_clusters(await binding(fleet, "settings-configmap")) == ["a", "b"]
        after = await member_object(fleet, lost, "ConfigMap", "settings")
        assert after["metadata"]["uid"] == kept["metadata"]["uid"]


# --- suspension -------------------------------------------------------------------------------------
async def test_suspended_members_keep_the_old_version_until_resumed(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    def image(pod: dict[str, Any]) -> str:
        return str(pod["spec"]["template"]["spec"]["containers"][0]["image"])

    async def has_image(member: str, wanted: str) -> bool:
        return image(await member_object(fleet, member, "Deployment", "web", "apps/v1")) == wanted

    spec: dict[str, Any] = {
        "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}]
    }
    async with e2e_fleet(sim_factory, tmp_path, {"eu1": [], "us1": []}) as fleet:
        await fleet.apply(SHOP, pp("web", spec), deployment())
        for member in ("eu1", "us1"):
            await eventually(lambda m=member: has_image(m, "nginx:1.25"), what=f"v1 on {member}")
        # Karmada's documented example: suspend dispatching to one member.
        await fleet.apply(
            pp("web", {**spec, "suspension": {"dispatchingOnClusters": {"clusterNames": ["us1"]}}})
        )
        updated = deployment(pod_spec={"containers": [{"name": "c", "image": "nginx:1.26"}]})

        async def suspension_seen() -> bool:
            works = await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace="member-us1")
            return bool(works.items)

        await eventually(suspension_seen, what="us1 Work exists")
        await fleet.apply(updated)
        await eventually(
            lambda: has_image("eu1", "nginx:1.26"), what="v2 on eu1"
        )  # fence: the update went out
        await settled(fleet.hub)  # every hub controller has processed the update
        works = await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace="member-us1")
        carried = [
            m for w in works.items for m in w["spec"]["workload"]["manifests"] if m["kind"] == "Deployment"
        ]
        assert [image(m) for m in carried] == ["nginx:1.25"]
        assert await has_image("us1", "nginx:1.25")
        await fleet.apply(pp("web", spec))  # resume
        await eventually(lambda: has_image("us1", "nginx:1.26"), what="v2 on us1 after resuming")


# --- clusterAffinities: no move back ------------------------------------------------------------------
async def test_cluster_affinities_stay_on_the_backup_group(sim_factory: SimFactory, tmp_path: Path) -> None:
    """Issue #9: the workload went back to the primary group when it recovered (Karmada stays)."""

    async def label(member: str, value: str | None) -> None:
        await fleet.hub_api.patch(
            names.CLUSTER_API_VERSION,
            names.KIND_MEMBER_CLUSTER,
            name=member,
            namespace=f"member-{member}",
            patch={"metadata": {"labels": {"tier": value}}},
        )

    def policy(name: str, template: str) -> dict[str, Any]:
        return pp(
            name,
            {
                "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": template}],
                "placement": {
                    "clusterAffinities": [
                        {"affinityName": "primary", "labelSelector": {"matchLabels": {"tier": "primary"}}},
                        {"affinityName": "backup", "clusterNames": ["b1"]},
                    ]
                },
            },
        )

    async with e2e_fleet(sim_factory, tmp_path, {"p1": ["--label", "tier=primary"], "b1": []}) as fleet:
        await fleet.apply(SHOP, policy("web", "web"), deployment())
        found = await eventually(lambda: _scheduled(fleet, "web-deployment"), what="web scheduled")
        assert bound_clusters(found) == ["p1"]
        await label("p1", None)

        async def on(name: str, clusters: list[str]) -> bool:
            return bound_clusters(await binding(fleet, name)) == clusters

        await eventually(lambda: on("web-deployment", ["b1"]), what="web moved to backup")
        await label("p1", "primary")
        # Fence: a template scheduled after the label came back lands on the primary group...
        await fleet.apply(policy("api", "api"), deployment("api"))
        await eventually(lambda: on("api-deployment", ["p1"]), what="api on primary")
        await settled(fleet.hub)
        # ...while the one already on the backup group stays there.
        assert await on("web-deployment", ["b1"])


# --- dependentOverrides -------------------------------------------------------------------------------
async def test_dependent_overrides_must_exist_first(sim_factory: SimFactory, tmp_path: Path) -> None:
    override = {
        "apiVersion": POLICY,
        "kind": "OverridePolicy",
        "metadata": {"name": "mirror", "namespace": "shop"},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
            "overrideRules": [
                {
                    "overriders": {
                        "imageOverrider": [
                            {"component": "Registry", "operator": "replace", "value": "mirror.local"}
                        ]
                    }
                }
            ],
        },
    }
    async with e2e_fleet(sim_factory, tmp_path, {"eu1": []}) as fleet:
        await fleet.apply(
            SHOP,
            pp(
                "web",
                {
                    "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                    "dependentOverrides": ["mirror"],
                },
            ),
            deployment(),
        )

        async def waiting() -> bool:
            found = await binding(fleet, "web-deployment")
            conditions = {c["type"]: c for c in (found.get("status") or {}).get("conditions") or []}
            return conditions.get(names.CONDITION_SCHEDULED, {}).get("reason") == "DependentOverridesMissing"

        await eventually(waiting, what="waiting for the override")
        await settled(fleet.hub)
        assert bound_clusters(await binding(fleet, "web-deployment")) == []
        with pytest.raises(NotFound):  # nothing went out without the override
            await member_object(fleet, "eu1", "Deployment", "web", "apps/v1")
        await fleet.apply(override)

        async def overridden() -> bool:
            found = await member_object(fleet, "eu1", "Deployment", "web", "apps/v1")
            return bool(
                found["spec"]["template"]["spec"]["containers"][0]["image"] == "mirror.local/nginx:1.25"
            )

        await eventually(overridden, what="web applied with the override")


# --- propagateDeps --------------------------------------------------------------------------------------
async def test_propagate_deps_follow_their_workloads(sim_factory: SimFactory, tmp_path: Path) -> None:
    """Issue #9: with propagateDeps the Deployment arrived without the objects it references."""
    settings = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "shop"},
        "data": {"a": "1"},
    }
    creds = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "creds", "namespace": "shop"},
        "stringData": {"p": "x"},
    }
    runner = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "runner", "namespace": "shop"},
    }
    unrelated = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "unrelated", "namespace": "shop"},
        "data": {},
    }
    web_pod = {
        "serviceAccountName": "runner",
        "containers": [
            {
                "name": "c",
                "image": "nginx",
                "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "a"}}}],
            }
        ],
        "volumes": [{"name": "s", "secret": {"secretName": "creds"}}],
    }
    api_pod = {
        "containers": [{"name": "c", "image": "nginx", "envFrom": [{"configMapRef": {"name": "settings"}}]}]
    }

    def policy(name: str, member: str) -> dict[str, Any]:
        return pp(
            name,
            {
                "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name}],
                "propagateDeps": True,
                "placement": {"clusterAffinity": {"clusterNames": [member]}},
            },
        )

    async def present(member: str, kind: str, name: str) -> bool:
        try:
            await member_object(fleet, member, kind, name)
        except NotFound:
            return False
        return True

    async with e2e_fleet(sim_factory, tmp_path, {"eu1": [], "us1": []}) as fleet:
        await fleet.apply(
            SHOP,
            settings,
            creds,
            runner,
            unrelated,
            policy("web", "eu1"),
            policy("api", "us1"),
            deployment("web", pod_spec=web_pod),
            deployment("api", pod_spec=api_pod),
        )
        for member, kind, name in [
            ("eu1", "ConfigMap", "settings"),
            ("eu1", "Secret", "creds"),
            ("eu1", "ServiceAccount", "runner"),
            ("us1", "ConfigMap", "settings"),  # shared: the union of both workloads' members
        ]:
            await eventually(
                lambda m=member, k=kind, n=name: present(m, k, n), what=f"{kind}/{name} on {member}"
            )
        await eventually(
            lambda: member_object(fleet, "us1", "Deployment", "api", "apps/v1"), what="api on us1"
        )
        await settled(fleet.hub)
        assert not await present("us1", "Secret", "creds")  # only web needs it, and web is on eu1
        web_binding = await binding(fleet, "web-deployment")
        listed = [(d["kind"], d["namespace"], d["name"]) for d in web_binding["spec"]["dependencies"]]
        assert listed == [
            ("ConfigMap", "shop", "settings"),
            ("Secret", "shop", "creds"),
            ("ServiceAccount", "shop", "runner"),
        ]
        assert "policy.waybill.dev/dependencies" not in (web_binding["metadata"].get("annotations") or {})
        assert not await present("eu1", "ConfigMap", "unrelated") and not await present(
            "us1", "ConfigMap", "unrelated"
        )
        # A dependency's own changes follow it.
        await fleet.apply(settings | {"data": {"a": "2"}})

        async def updated() -> bool:
            return bool((await member_object(fleet, "us1", "ConfigMap", "settings"))["data"] == {"a": "2"})

        await eventually(updated, what="settings updated on us1")
        # api stops referencing settings: it leaves us1 and stays on eu1 (web still needs it).
        await fleet.apply(deployment("api", pod_spec={"containers": [{"name": "c", "image": "nginx"}]}))

        async def left_us1() -> bool:
            return not await present("us1", "ConfigMap", "settings")

        await eventually(left_us1, what="settings left us1")
        assert await present("eu1", "ConfigMap", "settings")


# --- workloadAffinity ----------------------------------------------------------------------------------
async def test_workload_anti_affinity_separates_a_group(sim_factory: SimFactory, tmp_path: Path) -> None:
    def labelled(name: str) -> dict[str, Any]:
        found = deployment(name)
        found["metadata"]["labels"]["replica-set"] = "db"
        return found

    policy = pp(
        "db",
        {
            "resourceSelectors": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "labelSelector": {"matchLabels": {"replica-set": "db"}},
                }
            ],
            "placement": {
                "spreadConstraints": [{"spreadByField": "cluster", "maxGroups": 1, "minGroups": 1}],
                "workloadAffinity": {"antiAffinity": {"groupByLabelKey": "replica-set"}},
            },
        },
    )
    async with e2e_fleet(sim_factory, tmp_path, {"m1": [], "m2": []}) as fleet:
        await fleet.apply(SHOP, policy, labelled("db-0"))
        first = bound_clusters(await eventually(lambda: _scheduled(fleet, "db-0-deployment"), what="db-0"))
        await fleet.apply(labelled("db-1"))
        second = bound_clusters(await eventually(lambda: _scheduled(fleet, "db-1-deployment"), what="db-1"))
        assert len(first) == len(second) == 1 and first != second
        assert (await policy_condition(fleet, "PropagationPolicy", "db")).get("reason") != "Unsupported"


# --- preserveResourcesOnDeletion -----------------------------------------------------------------------
@pytest.mark.parametrize("preserve", [True, False])
async def test_preserve_resources_on_deletion(
    sim_factory: SimFactory, tmp_path: Path, preserve: bool
) -> None:
    async def present(name: str) -> bool:
        try:
            await member_object(fleet, "eu1", "Deployment", name, "apps/v1")
        except NotFound:
            return False
        return True

    spec: dict[str, Any] = {"resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment"}]}
    if preserve:
        spec["preserveResourcesOnDeletion"] = True
    async with e2e_fleet(sim_factory, tmp_path, {"eu1": []}) as fleet:
        await fleet.apply(SHOP, pp("all", spec), deployment("web"), deployment("api"))
        for name in ("web", "api"):
            await eventually(lambda n=name: present(n), what=f"{name} applied")
        await fleet.kubectl("delete", "deployment", "web", "-n", "shop")

        async def web_dropped_and_seen() -> bool:
            works = (
                await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace="member-eu1")
            ).items
            carried = [m["metadata"]["name"] for w in works for m in w["spec"]["workload"]["manifests"]]
            seen = all(
                any(
                    c["type"] == names.CONDITION_APPLIED
                    and c.get("observedGeneration") == w["metadata"]["generation"]
                    for c in (w.get("status") or {}).get("conditions") or []
                )
                for w in works
            )
            return "web" not in carried and "api" in carried and seen

        await eventually(web_dropped_and_seen, what="web gone from the Work, and the agent has seen it")
        if preserve:
            assert await present("web")  # left on the member
        else:
            await eventually(lambda: _absent(fleet, "web"), what="web removed from the member")
        assert await present("api")


async def _absent(fleet: E2EFleet, name: str) -> bool:
    try:
        await member_object(fleet, "eu1", "Deployment", name, "apps/v1")
    except NotFound:
        return True
    return False


# --- activationPreference: Lazy --------------------------------------------------------------------------
async def test_lazy_policy_changes_wait_for_the_template(sim_factory: SimFactory, tmp_path: Path) -> None:
    def policy(member: str) -> dict[str, Any]:
        return pp(
            "lazy",
            {
                "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                "activationPreference": "Lazy",
                "placement": {"clusterAffinity": {"clusterNames": [member]}},
            },
        )

    async def on(clusters: list[str]) -> bool:
        return bound_clusters(await binding(fleet, "web-deployment")) == clusters

    async with e2e_fleet(sim_factory, tmp_path, {"m1": [], "m2": []}) as fleet:
        await fleet.apply(SHOP, policy("m1"), deployment())
        await eventually(lambda: on(["m1"]), what="web on m1")
        await fleet.apply(policy("m2"))

        async def policy_seen() -> bool:
            found = await fleet.hub_api.get(POLICY, "PropagationPolicy", name="lazy", namespace="shop")
            return bool(
                (found.get("status") or {}).get("observedGeneration") == found["metadata"]["generation"]
            )

        await eventually(policy_seen, what="the hub saw the edit")
        await settled(fleet.hub)
        assert await on(["m1"])  # the edit waits for the template
        await fleet.apply(deployment(pod_spec={"containers": [{"name": "c", "image": "nginx:1.26"}]}))
        await eventually(lambda: on(["m2"]), what="web follows the new rules after its own change")


# --- application failover --------------------------------------------------------------------------------
async def test_application_failover_moves_a_workload_that_stays_unhealthy(
    sim_factory: SimFactory, tmp_path: Path
) -> None:
    """m1 already runs a 'web' Waybill may not take over (Abort), so the workload is Unhealthy there;
    after tolerationSeconds it moves to m2 (Karmada's documented failover.application shape)."""
    async with e2e_fleet(sim_factory, tmp_path, {"m1": [], "m2": []}) as fleet:
        await fleet.member_apis["m1"].create(SHOP)
        await fleet.member_apis["m1"].create(deployment())
        policy = pp(
            "web",
            {
                "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                "propagateDeps": True,
                "failover": {
                    "application": {
                        "decisionConditions": {"tolerationSeconds": 1},
                        "purgeMode": "Gracefully",
                        "gracePeriodSeconds": 30,
                    }
                },
                "placement": {
                    "spreadConstraints": [{"spreadByField": "cluster", "maxGroups": 1, "minGroups": 1}]
                },
            },
        )
        await fleet.apply(SHOP, policy, deployment())

        async def on(clusters: list[str]) -> bool:
            return bound_clusters(await binding(fleet, "web-deployment")) == clusters

        await eventually(lambda: on(["m1"]), what="web placed on m1 first")
        await eventually(lambda: on(["m2"]), within=20, what="web moved to m2 after staying unhealthy on m1")
        await eventually(lambda: member_object(fleet, "m2", "Deployment", "web", "apps/v1"), what="web on m2")
        # Healthy on m2: the eviction is forgotten, and the workload stays where it is (no bounce back).
        await settled(fleet.hub)
        assert await on(["m2"])
        # m1's own object was never Waybill's: it is left alone.
        assert await member_object(fleet, "m1", "Deployment", "web", "apps/v1")
