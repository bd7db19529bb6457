"""Table tests: a policy's ``spec.replicaManagers`` reaches the manifests with replicas as the
``waybill.dev/replica-managers`` annotation the agent reads (hub.rendering)."""

from __future__ import annotations

from hub import rendering
from hub.matching import PolicyRef
from tests.hub.helpers import configmap, deployment


def test_policy_replica_managers_are_merged_into_manifests_with_replicas() -> None:
    options = rendering.WorkOptions.for_policy({"replicaManagers": ["keda", "ops"]})
    assert options.replica_managers == ("keda", "ops")
    web = deployment()
    web["metadata"]["annotations"] = {rendering.ANNOTATION_REPLICA_MANAGERS: "ops, mine"}
    works = rendering.pack_works(
        policy=PolicyRef("PropagationPolicy", "default", "p"),
        cluster="eu1",
        member_namespace="member-eu1",
        manifests=[web, configmap()],
        options=options,
    )
    carried = {m["kind"]: m for m in works[0]["spec"]["workload"]["manifests"]}
    assert carried["Deployment"]["metadata"]["annotations"] == {
        rendering.ANNOTATION_REPLICA_MANAGERS: "ops,mine,keda"
    }
    assert "annotations" not in carried["ConfigMap"]["metadata"]
    assert web["metadata"]["annotations"] == {
        rendering.ANNOTATION_REPLICA_MANAGERS: "ops, mine"
    }  # not mutated
    assert rendering.with_replica_managers(web, ()) is web
