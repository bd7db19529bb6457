"""Table tests for hub.rendering: stripping, replicas, Work packing and naming."""

from __future__ import annotations

import json
from typing import Any

from hub import rendering
from hub.clusters import ClusterView
from hub.matching import PolicyRef
from shared.api import names
from tests.hub.helpers import configmap, deployment

POLICY = PolicyRef("PropagationPolicy", "default", "web")


def test_strip_server_fields() -> None:
    template = deployment(labels={"app": "web"})
    template["metadata"].update(
        uid="u",
        resourceVersion="7",
        generation=2,
        creationTimestamp="t",
        managedFields=[{}],
        ownerReferences=[{}],
        annotations={names.ANNOTATION_CLAIMED_BY: "x"},
    )
    template["status"] = {"replicas": 3}
    out = rendering.strip_server_fields(template)
    assert "status" not in out
    assert set(out["metadata"]) == {"name", "namespace", "labels"}
    assert template["metadata"]["uid"] == "u"  # the input is not modified


def test_service_cluster_ip_and_job_selector_stripped() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": "d"},
        "spec": {"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "ports": [{"port": 80}]},
    }
    assert "clusterIP" not in rendering.strip_server_fields(service)["spec"]
    headless = {**service, "spec": {"clusterIP": "None"}}
    assert rendering.strip_server_fields(headless)["spec"]["clusterIP"] == "None"
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "j", "namespace": "d"},
        "spec": {
            "selector": {"matchLabels": {"controller-uid": "x"}},
            "template": {"metadata": {"labels": {"controller-uid": "x", "app": "j"}}},
        },
    }
    out = rendering.strip_server_fields(job)
    assert "selector" not in out["spec"]
    assert out["spec"]["template"]["metadata"]["labels"] == {"app": "j"}


def test_render_sets_replicas_then_overrides() -> None:
    override = {
        "apiVersion": "policy.waybill.dev/v1alpha1",
        "kind": "OverridePolicy",
        "metadata": {"name": "o", "namespace": "default"},
        "spec": {
            "overrideRules": [
                {
                    "overriders": {
                        "plaintext": [
                            {
                                "path": "/metadata/labels/cluster",
                                "operator": "add",
                                "value": "${MEMBER_CLUSTER_NAME}",
                            }
                        ]
                    }
                }
            ]
        },
    }
    template = deployment(replicas=9, labels={"app": "web"})
    out = rendering.render_manifest(template, cluster=ClusterView("eu1"), replicas=4, overrides=[override])
    assert out["spec"]["replicas"] == 4
    assert out["metadata"]["labels"]["cluster"] == "eu1"


def test_pack_one_work_per_policy_and_member() -> None:
    manifests = [configmap("b"), configmap("a"), deployment()]
    works = rendering.pack_works(
        policy=POLICY,
        cluster="eu1",
        member_namespace="member-eu1",
        manifests=manifests,
        options=rendering.WorkOptions("Always"),
    )
    assert len(works) == 1
    work = works[0]
    assert work["metadata"]["namespace"] == "member-eu1"
    assert work["metadata"]["labels"][names.LABEL_POLICY_NAME] == "web"
    assert work["metadata"]["labels"][names.LABEL_CLUSTER] == "eu1"
    listed = [(m["kind"], m["metadata"]["name"]) for m in work["spec"]["workload"]["manifests"]]
    assert listed == [("Deployment", "web"), ("ConfigMap", "a"), ("ConfigMap", "b")]
    assert work["spec"]["applyStrategy"]["whenToTakeOver"] == "Always"
    assert work["spec"]["manifestConfigs"][0]["resourceIdentifier"]["kind"] == "Deployment"
    again = rendering.pack_works(
        policy=POLICY,
        cluster="eu1",
        member_namespace="member-eu1",
        manifests=list(reversed(manifests)),
        options=rendering.WorkOptions("Always"),
    )
    assert again == works


def test_pack_splits_before_limit_and_names_parts() -> None:
    big: list[dict[str, Any]] = []
    for index in range(5):
        cm = configmap(f"cm{index}")
        cm["data"] = {"blob": "x" * 300}
        big.append(cm)
    works = rendering.pack_works(policy=POLICY, cluster="eu1", member_namespace="m", manifests=big, limit=900)
    assert len(works) == 3
    base = rendering.work_base_name(POLICY)
    assert [w["metadata"]["name"] for w in works] == [base, f"{base}-p1", f"{base}-p2"]
    assert sum(len(w["spec"]["workload"]["manifests"]) for w in works) == 5
    assert works[2]["metadata"]["annotations"][names.ANNOTATION_WORK_PART] == "3/3"


def test_names_and_label_values_are_valid_and_distinct() -> None:
    cluster_policy = PolicyRef("ClusterPropagationPolicy", "", "web")
    assert rendering.work_base_name(cluster_policy) != rendering.work_base_name(POLICY)
    long = PolicyRef("PropagationPolicy", "default", "x" * 200)
    assert len(rendering.work_base_name(long)) < 63
    assert len(rendering.label_value("x" * 200)) <= 63
    assert rendering.pack_works(policy=POLICY, cluster="eu1", member_namespace="m", manifests=[]) == []


def test_merge_patch_turns_old_into_new() -> None:
    from hub.conditions import merge_patch
    from kubesim.patching import merge_patch as apply_merge_patch

    old = {"spec": {"a": 1, "gone": {"x": 1}, "list": [1, 2], "keep": {"y": 1, "z": 2}}, "m": "same"}
    new = {"spec": {"a": 2, "list": [3], "keep": {"y": 1}, "added": True}, "m": "same"}
    patch = merge_patch(old, new)
    assert patch == {"spec": {"a": 2, "gone": None, "list": [3], "keep": {"z": None}, "added": True}}
    assert apply_merge_patch(old, patch) == new
    assert merge_patch(new, new) == {}


def _parts(works: list[dict[str, Any]]) -> dict[str, str]:
    return {
        f"{m['kind']}/{m['metadata']['name']}": w["metadata"]["name"]
        for w in works
        for m in w["spec"]["workload"]["manifests"]
    }


def _repack(works: list[dict[str, Any]], manifests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return rendering.pack_works(
        policy=POLICY,
        cluster="eu1",
        member_namespace="m",
        manifests=manifests,
        previous=rendering.part_assignment(POLICY, works),
    )


def test_packing_is_stable_when_one_template_comes_or_goes() -> None:
    # 2,000 templates of ~1.5 KB in one policy: 4 Work parts of up to ~800 KiB
    templates = []
    for index in range(2000):
        cm = configmap(f"cm-{index:04d}")
        cm["data"] = {"blob": "x" * 1450}
        templates.append(cm)
    first = _repack([], templates)
    assert len(first) == 4
    before = _parts(first)
    newcomer = configmap("aaa-sorts-first")
    newcomer["data"] = {"blob": "x" * 1450}
    added = _repack(first, [newcomer, *templates])
    after = _parts(added)
    assert sum(1 for name, part in before.items() if after[name] != part) == 0
    assert "ConfigMap/aaa-sorts-first" in after
    assert all(len(json.dumps(w, separators=(",", ":"))) < rendering.WORK_SIZE_LIMIT + 4096 for w in added)
    removed = _repack(added, [t for t in templates if t["metadata"]["name"] != "cm-0500"])
    again = _parts(removed)
    assert "ConfigMap/cm-0500" not in again
    assert sum(1 for name, part in again.items() if after[name] != part) == 0
    # a template that grows past its part's room moves alone
    grown = [dict(t) for t in templates]
    grown[10] = {**grown[10], "data": {"blob": "y" * 60_000}}
    moved = _parts(_repack(first, grown))
    assert [name for name, part in before.items() if moved[name] != part] == ["ConfigMap/cm-0010"]
