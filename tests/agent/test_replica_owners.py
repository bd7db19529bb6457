"""Table tests for agent.replica_owners: who owns spec.replicas on the member."""

from __future__ import annotations

from typing import Any

import pytest

from agent import replica_owners
from agent.replica_owners import ReplicaOwner

AGENT = "waybill-agent"
HPA = {
    "metadata": {"name": "web-hpa", "namespace": "shop"},
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}},
}


def entry(manager: str, *, subresource: str | None = None, replicas: bool = True) -> dict[str, Any]:
    fields: dict[str, Any] = {"f:spec": {"f:replicas": {}} if replicas else {"f:paused": {}}}
    out: dict[str, Any] = {"manager": manager, "operation": "Update", "fieldsV1": fields}
    if subresource:
        out["subresource"] = subresource
    return out


def live(*entries: dict[str, Any], replicas: int = 3) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "managedFields": list(entries)},
        "spec": {"replicas": replicas},
    }


@pytest.mark.parametrize(
    ("the_live", "hpas", "managers", "expected"),
    [
        pytest.param(live(entry(AGENT)), [], [], None, id="agent-only"),
        pytest.param(live(entry("kubectl-edit")), [], [], None, id="human-edit-is-drift"),
        pytest.param(
            live(entry(AGENT)),
            [HPA],
            [],
            ReplicaOwner(
                "HorizontalPodAutoscaler", "HorizontalPodAutoscaler shop/web-hpa", 3, needs_handover=True
            ),
            id="hpa-before-it-scaled",
        ),
        pytest.param(
            live(entry(replica_owners.HANDOVER_MANAGER)),
            [HPA],
            [],
            ReplicaOwner("HorizontalPodAutoscaler", "HorizontalPodAutoscaler shop/web-hpa", 3),
            id="hpa-handed-over",
        ),
        pytest.param(live(entry(replica_owners.HANDOVER_MANAGER)), [], [], None, id="hpa-gone-take-back"),
        pytest.param(
            live(entry("kube-controller-manager", subresource="scale"), replicas=5),
            [],
            [],
            ReplicaOwner("ScaleSubresource", "kube-controller-manager (through the scale subresource)", 5),
            id="scale-writer",
        ),
        pytest.param(
            live(entry("my-scaler")),
            [],
            ["my-scaler"],
            ReplicaOwner("ReplicaManager", "my-scaler", 3),
            id="listed",
        ),
        pytest.param(
            live(entry("my-scaler", replicas=False)), [], ["my-scaler"], None, id="listed-not-owning"
        ),
        pytest.param(None, [HPA], [], None, id="not-on-the-member"),
    ],
)
def test_owner_of(
    the_live: dict[str, Any] | None,
    hpas: list[dict[str, Any]],
    managers: list[str],
    expected: ReplicaOwner | None,
) -> None:
    assert replica_owners.owner_of(the_live, field_manager=AGENT, hpas=hpas, managers=managers) == expected


def test_hpa_target_index_names_group_kind_namespace_name() -> None:
    assert replica_owners.hpa_target(HPA) == ["apps/Deployment/shop/web"]
    assert replica_owners.hpa_target({"metadata": {"name": "x"}, "spec": {}}) == []


def test_listed_managers_from_the_agent_and_the_annotation() -> None:
    manifest = {"metadata": {"annotations": {replica_owners.ANNOTATION_REPLICA_MANAGERS: "keda, my-scaler,"}}}
    assert replica_owners.listed_managers(manifest, ("ops",)) == {"ops", "keda", "my-scaler"}
    assert replica_owners.listed_managers({}, ()) == frozenset()


def test_left_alone_and_condition() -> None:
    owner = ReplicaOwner("HorizontalPodAutoscaler", "HorizontalPodAutoscaler shop/web", 2)
    assert replica_owners.left_alone(owner) == {("f:spec", "f:replicas")}
    assert replica_owners.left_alone(None) == frozenset()
    assert replica_owners.conditions(owner, {"spec": {"replicas": 5}}) == [
        {
            "type": "ReplicasManagedOnMember",
            "status": "True",
            "reason": "HorizontalPodAutoscaler",
            "message": (
                "spec.replicas is left to HorizontalPodAutoscaler shop/web on the member (the member runs 5)"
            ),
        }
    ]
    assert replica_owners.conditions(None, {}) == []


def test_client_side_apply_keeps_the_live_count() -> None:
    prepared = {"kind": "Deployment", "spec": {"replicas": 2, "paused": False}}
    left = replica_owners.left_alone(ReplicaOwner("ReplicaManager", "my-scaler", 7))
    assert replica_owners.retain_replicas(prepared, live(replicas=7), left) == {
        "kind": "Deployment",
        "spec": {"replicas": 7, "paused": False},
    }
    assert replica_owners.retain_replicas(prepared, live(replicas=7), frozenset()) is prepared
    assert replica_owners.retain_replicas(prepared, None, left) is prepared
