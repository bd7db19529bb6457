"""Generated CRDs: committed files fresh, schemas structural, Karmada examples pass, wrong objects fail.

Schema validation uses kubesim's validator (the one the embedded API server applies on create).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from kubesim.schema import structural_violations, validate
from shared.api import ALL_KINDS, crdgen, kind_for
from shared.api.meta import KubeObject
from shared.api.validation import problems_from_error, validate_object
from waybill import cli

ROOT = Path(__file__).resolve().parents[2]
CRD_DIR = ROOT / "crds"
POLICY = "policy.waybill.dev/v1alpha1"


def schema_of(kind: str) -> dict[str, Any]:
    (cls,) = [c for c in ALL_KINDS if c.crd.kind == kind]
    schema: dict[str, Any] = crdgen.crd_for(cls)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if not isinstance(node, dict):
        return
    yield path, node
    for name, sub in (node.get("properties") or {}).items():
        yield from walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


# --- freshness and structure ------------------------------------------------------------------------
def test_committed_crds_match_the_generator_byte_for_byte() -> None:
    expected = crdgen.crd_files()
    committed = {path.name: path.read_text(encoding="utf-8") for path in CRD_DIR.glob("*.yaml")}
    stale = sorted(name for name in expected if committed.get(name) != expected[name])
    extra = sorted(set(committed) - set(expected))
    assert not stale and not extra, (
        f"crds/ is stale (changed: {stale}, unexpected: {extra}); "
        "regenerate with `waybill crds --write crds/`"
    )


@pytest.mark.parametrize("cls", ALL_KINDS, ids=lambda c: c.crd.kind)
def test_every_crd_is_structural(cls: type[KubeObject]) -> None:
    crd = crdgen.crd_for(cls)
    (version,) = crd["spec"]["versions"]
    assert structural_violations(version["schema"]["openAPIV3Schema"]) == []
    assert "$ref" not in yaml.safe_dump(crd)
    assert "$defs" not in yaml.safe_dump(crd)


def test_unknown_fields_are_preserved_only_under_embedded_and_raw_values() -> None:
    preserved = {
        (cls.crd.kind, path)
        for cls in ALL_KINDS
        for path, node in walk(schema_of(cls.crd.kind))
        if node.get("x-kubernetes-preserve-unknown-fields")
    }
    assert preserved == {
        ("OverridePolicy", ".spec.overrideRules[].overriders.plaintext[].value"),
        ("OverridePolicy", ".spec.overriders.plaintext[].value"),
        ("ClusterOverridePolicy", ".spec.overrideRules[].overriders.plaintext[].value"),
        ("ClusterOverridePolicy", ".spec.overriders.plaintext[].value"),
        ("Work", ".spec.workload.manifests[]"),
        ("Work", ".status.manifestConditions[].reflectedStatus"),  # any kind's status (interpreter)
        ("AppliedWork", ".status.work.spec.workload.manifests[]"),  # the agent's copy of its Work
        ("ResourceBinding", ".status.aggregatedStatus[].status"),
        ("ClusterResourceBinding", ".status.aggregatedStatus[].status"),
        ("TemplateRevision", ".spec.content"),  # a kept template's spec (or data, ...) as it was
        ("ClusterTemplateRevision", ".spec.content"),  # the same, of a cluster-scoped template
    } | {
        # fieldOverrider operations carry any JSON value, like plaintext.
        (kind, f".spec.{rule}overriders.fieldOverrider[].{flavour}[].value")
        for kind in ("OverridePolicy", "ClusterOverridePolicy")
        for rule in ("overrideRules[].", "")
        for flavour in ("json", "yaml")
    }


def test_optional_fields_are_nullable_and_required_ones_are_listed() -> None:
    spec = schema_of("PropagationPolicy")["properties"]["spec"]
    assert spec["required"] == ["resourceSelectors"]
    assert spec["properties"]["conflictResolution"]["nullable"] is True
    max_clusters = spec["properties"]["placement"]["properties"]["maxClusters"]
    assert {key: value for key, value in max_clusters.items() if key != "description"} == {
        "type": "integer",
        "minimum": 1,
        "nullable": True,
    }
    assert max_clusters["description"] == "Waybill: choose at most this many clusters."
    weight = spec["properties"]["placement"]["properties"]["replicaScheduling"]["properties"][
        "weightPreference"
    ]["properties"]["staticWeightList"]["items"]
    assert weight["required"] == ["targetCluster", "weight"]
    assert weight["properties"]["weight"]["minimum"] == 1


@pytest.mark.parametrize(
    ("kind", "scope", "short_names"),
    [
        ("PropagationPolicy", "Namespaced", ["pp"]),
        ("ClusterPropagationPolicy", "Cluster", ["cpp"]),
        ("OverridePolicy", "Namespaced", ["op"]),
        ("ClusterOverridePolicy", "Cluster", ["cop"]),
        ("ResourceBinding", "Namespaced", ["rb"]),
        ("ClusterResourceBinding", "Cluster", ["crb"]),
        ("Work", "Namespaced", ["work"]),
        ("AppliedWork", "Cluster", ["aw"]),
        ("MemberCluster", "Namespaced", ["mc"]),
    ],
)
def test_names_scope_and_status_subresource(kind: str, scope: str, short_names: list[str]) -> None:
    (cls,) = [c for c in ALL_KINDS if c.crd.kind == kind]
    crd = crdgen.crd_for(cls)
    assert crd["spec"]["scope"] == scope
    assert crd["spec"]["names"]["shortNames"] == short_names
    assert crd["spec"]["names"]["listKind"] == f"{kind}List"
    assert crd["metadata"]["name"] == f"{crd['spec']['names']['plural']}.{crd['spec']['group']}"
    assert crd["spec"]["versions"][0]["subresources"] == {"status": {}}


@pytest.mark.parametrize("cls", ALL_KINDS, ids=lambda c: c.crd.kind)
def test_printer_columns_point_at_schema_fields(cls: type[KubeObject]) -> None:
    schema = schema_of(cls.crd.kind)
    columns = crdgen.crd_for(cls)["spec"]["versions"][0]["additionalPrinterColumns"]
    assert columns[-1] == {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
    for column in columns[:-1]:
        node = schema
        for part in column["jsonPath"].split("[?")[0].strip(".").split("."):
            node = node["properties"][part]
            node = node.get("items", node)
        assert node.get("type") in ("string", "integer", "object"), column


def test_printer_columns_users_asked_for() -> None:
    def names(kind: str) -> list[str]:
        (cls,) = [c for c in ALL_KINDS if c.crd.kind == kind]
        return [c.name for c in cls.crd.printer_columns]

    assert names("Work")[:2] == ["Applied", "Available"]
    assert names("MemberCluster")[:3] == ["Mode", "Ready", "Version"]
    assert {"Clusters", "Scheduled"} <= set(names("ResourceBinding"))


# --- Karmada's documented examples, apiVersion changed ---------------------------------------------
KARMADA_EXAMPLES = {
    "static-weight-list": """
kind: PropagationPolicy
metadata: {name: nginx-propagation}
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
      name: nginx
  placement:
    replicaScheduling:
      replicaDivisionPreference: Weighted
      replicaSchedulingType: Divided
      weightPreference:
        staticWeightList:
          - targetCluster:
              clusterNames:
                - member1
            weight: 1
          - targetCluster:
              clusterNames:
                - member2
            weight: 2
""",
    "weighted-with-spread-constraints": """
kind: PropagationPolicy
metadata: {name: nginx-propagation}
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
      name: nginx
  placement:
    clusterAffinity:
      clusterNames: [member1, member2]
    spreadConstraints:
      - spreadByField: cluster
        maxGroups: 2
        minGroups: 2
    replicaScheduling:
      replicaDivisionPreference: Weighted
      replicaSchedulingType: Divided
      weightPreference:
        staticWeightList:
          - targetCluster: {clusterNames: [member1]}
            weight: 1
          - targetCluster: {clusterNames: [member2]}
            weight: 2
""",
    "dynamic-weight": """
kind: PropagationPolicy
metadata: {name: nginx-propagation}
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
      name: nginx
  placement:
    replicaScheduling:
      replicaDivisionPreference: Weighted
      replicaSchedulingType: Divided
      weightPreference:
        dynamicWeight: AvailableReplicas
""",
    "cluster-affinities-fallback": """
kind: PropagationPolicy
metadata: {name: test-propagation, namespace: default}
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
  placement:
    clusterAffinities:
      - affinityName: local-clusters
        clusterNames:
          - local-member1
          - local-member2
      - affinityName: cloud-clusters
        clusterNames:
          - public-cloud-member1
          - public-cloud-member2
""",
    "field-selector-and-tolerations": """
kind: PropagationPolicy
metadata: {name: nginx-propagation, namespace: default}
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
  placement:
    clusterAffinity:
      fieldSelector:
        matchExpressions:
        - key: provider
          operator: In
          values:
          - aws
        - key: region
          operator: NotIn
          values:
          - us-west-1
    clusterTolerations:
      - key: dedicated
        value: special-user
        effect: NoSchedule
""",
    "spread-by-region-and-cluster": """
kind: PropagationPolicy
metadata: {name: nginx-propagation}
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
  placement:
    replicaScheduling:
      replicaSchedulingType: Duplicated
    spreadConstraints:
      - spreadByField: region
        maxGroups: 2
        minGroups: 2
      - spreadByField: cluster
        maxGroups: 2
        minGroups: 2
""",
    "priority-and-conflict-resolution": """
kind: ClusterPropagationPolicy
metadata: {name: high-priority-policy}
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
      name: nginx
      labelSelector:
        matchExpressions:
        - key: location
          operator: In
          values: [us]
  priority: 10
  preemption: Always
  conflictResolution: Overwrite
  propagateDeps: true
  placement:
    clusterAffinity:
      labelSelector:
        matchLabels:
          location: us
      exclude: [member3]
""",
    "image-overrider-components": """
kind: OverridePolicy
metadata: {name: example}
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
      name: myapp
  overrideRules:
    - overriders:
        imageOverrider:
          - component: Registry
            operator: add
            value: test-repo
    - overriders:
        imageOverrider:
          - component: Repository
            operator: replace
            value: myapp2
    - overriders:
        imageOverrider:
          - component: Tag
            operator: remove
""",
    "image-overrider-by-region": """
kind: OverridePolicy
metadata: {name: registry-by-region, namespace: default}
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
      namespace: default
  overrideRules:
    - targetCluster:
        fieldSelector:
          matchExpressions:
            - key: region
              operator: In
              values:
                - cn-north-1
      overriders:
        imageOverrider:
          - predicate:
              path: /spec/template/spec/containers/0/image
            component: Registry
            operator: replace
            value: cn-north-1.registry.example.io
    - targetCluster:
        labelSelector:
          matchLabels:
            cluster: member1
      overriders:
        commandOverrider:
          - containerName: myapp
            operator: add
            value:
              - --cluster=member1
        argsOverrider:
          - containerName: myapp
            operator: remove
            value:
              - --parameter1=foo
""",
    "plaintext-overriders": """
kind: ClusterOverridePolicy
metadata: {name: example}
spec:
  resourceSelectors:
    - apiVersion: v1
      kind: ConfigMap
      name: myconfigmap
    - apiVersion: helm.toolkit.fluxcd.io/v2beta1
      kind: HelmRelease
      name: podinfo
  overrideRules:
    - targetCluster:
        exclude:
          - member1
      overriders:
        plaintext:
          - path: /data/example
            operator: replace
            value: 2
    - targetCluster:
        clusterNames:
          - member1
      overriders:
        plaintext:
          - path: "/spec/values"
            operator: add
            value:
              replicaCount: 2
""",
    "older-single-rule-form": """
kind: OverridePolicy
metadata: {name: example-override, namespace: default}
spec:
  resourceSelectors:
    - apiVersion: apps/v1
      kind: Deployment
      name: nginx
  targetCluster:
    clusterNames:
      - member1
    labelSelector:
      matchLabels:
        failuredomain.kubernetes.io/region: dc1
  overriders:
    plaintext:
      - path: /spec/template/spec/containers/0/image
        operator: replace
        value: 'dc-1.registry.io/nginx:1.17.0-alpine'
      - path: /metadata/annotations
        operator: add
        value:
          foo: bar
""",
}


@pytest.mark.parametrize("name", sorted(KARMADA_EXAMPLES))
def test_karmada_examples_parse_and_pass_the_schema(name: str) -> None:
    obj = {"apiVersion": POLICY, **yaml.safe_load(KARMADA_EXAMPLES[name])}
    cls = kind_for(obj["apiVersion"], obj["kind"])
    assert cls is not None
    model = cls.from_dict(obj)
    assert validate(obj, schema_of(obj["kind"])) == []
    assert validate_object(obj) == []
    # The model keeps every field Karmada's example set: dumping it gives the same object back.
    assert cls.from_dict(model.to_dict()) == model
    assert _without_defaults(model.to_dict(), obj) == obj


def _without_defaults(dumped: Any, original: Any) -> Any:
    """``dumped`` restricted to the keys ``original`` has (defaults the model added are dropped)."""
    if isinstance(original, dict) and isinstance(dumped, dict):
        return {
            key: _without_defaults(dumped[key], value) for key, value in original.items() if key in dumped
        }
    if isinstance(original, list) and isinstance(dumped, list):
        return [_without_defaults(d, o) for d, o in zip(dumped, original, strict=True)]
    return dumped


# --- wrong objects: rejected by the schema (kubectl apply) and by the models, naming the field --------
def _pp() -> dict[str, Any]:
    return {"apiVersion": POLICY, **yaml.safe_load(KARMADA_EXAMPLES["static-weight-list"])}


def _op() -> dict[str, Any]:
    return {"apiVersion": POLICY, **yaml.safe_load(KARMADA_EXAMPLES["plaintext-overriders"])}


def _work() -> dict[str, Any]:
    return {
        "apiVersion": "work.waybill.dev/v1alpha1",
        "kind": "Work",
        "metadata": {"name": "w", "namespace": "member-eu1"},
        "spec": {
            "workload": {"manifests": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}]},
            "applyStrategy": {"type": "ServerSideApply", "whenToTakeOver": "IfNoDiff"},
        },
    }


def _mc() -> dict[str, Any]:
    return {
        "apiVersion": "cluster.waybill.dev/v1alpha1",
        "kind": "MemberCluster",
        "metadata": {"name": "eu1", "namespace": "member-eu1"},
        "spec": {"syncMode": "Pull", "taints": [{"key": "gpu", "effect": "NoSchedule"}]},
        "status": {"resources": {"allocatable": {"cpu": "4", "memory": "8Gi"}}},
    }


def _set(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set (or with value ``...`` delete) a dotted path; ``[n]`` indexes lists."""
    obj = copy.deepcopy(obj)
    parts = path.replace("[", ".").replace("]", "").split(".")
    node: Any = obj
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last: Any = int(parts[-1]) if parts[-1].isdigit() else parts[-1]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return obj


WEIGHTS = "spec.placement.replicaScheduling.weightPreference.staticWeightList"
SCHEDULING = "spec.placement.replicaScheduling"
RULE = "spec.overrideRules[0].overriders"
# (case, object factory, path to change, new value or ... to delete, the field path the errors must name)
WRONG: list[tuple[str, Callable[[], dict[str, Any]], str, Any, str]] = [
    ("empty resourceSelectors", _pp, "spec.resourceSelectors", [], "spec.resourceSelectors"),
    ("weight 0", _pp, f"{WEIGHTS}[0].weight", 0, f"{WEIGHTS}[0].weight"),
    ("missing weight", _pp, f"{WEIGHTS}[1].weight", ..., f"{WEIGHTS}[1].weight"),
    ("missing targetCluster", _pp, f"{WEIGHTS}[0].targetCluster", ..., f"{WEIGHTS}[0].targetCluster"),
    ("bad replicaSchedulingType", _pp, f"{SCHEDULING}.replicaSchedulingType", "Split", ""),
    ("bad division preference", _pp, f"{SCHEDULING}.replicaDivisionPreference", "Even", ""),
    ("negative maxClusters", _pp, "spec.placement.maxClusters", -1, ""),
    ("zero maxClusters", _pp, "spec.placement.maxClusters", 0, ""),
    ("missing spec", _pp, "spec", ..., ""),
    ("selector without kind", _pp, "spec.resourceSelectors[0].kind", ..., ""),
    ("bad conflictResolution", _pp, "spec.conflictResolution", "Merge", ""),
    ("priority not an integer", _pp, "spec.priority", "high", ""),
    (
        "bad spreadByField",
        _pp,
        "spec.placement.spreadConstraints",
        [{"spreadByField": "rack"}],
        "spec.placement.spreadConstraints[0].spreadByField",
    ),
    (
        "minGroups 0",
        _pp,
        "spec.placement.spreadConstraints",
        [{"spreadByField": "cluster", "minGroups": 0}],
        "spec.placement.spreadConstraints[0].minGroups",
    ),
    (
        "bad toleration effect",
        _pp,
        "spec.placement.clusterTolerations",
        [{"key": "a", "effect": "Never"}],
        "spec.placement.clusterTolerations[0].effect",
    ),
    (
        "bad field selector key",
        _pp,
        "spec.placement.clusterAffinity",
        {"fieldSelector": {"matchExpressions": [{"key": "country", "operator": "In", "values": ["x"]}]}},
        "spec.placement.clusterAffinity.fieldSelector.matchExpressions[0].key",
    ),
    (
        "bad label operator",
        _pp,
        "spec.placement.clusterAffinity",
        {"labelSelector": {"matchExpressions": [{"key": "a", "operator": "Is"}]}},
        "spec.placement.clusterAffinity.labelSelector.matchExpressions[0].operator",
    ),
    (
        "negative minReplicas",
        _pp,
        f"{SCHEDULING}.clusterReplicaLimits",
        [{"targetCluster": {"clusterNames": ["a"]}, "minReplicas": -1}],
        f"{SCHEDULING}.clusterReplicaLimits[0].minReplicas",
    ),
    ("unknown plaintext operator", _op, f"{RULE}.plaintext[0].operator", "move", ""),
    ("plaintext path not a pointer", _op, f"{RULE}.plaintext[0].path", "data.example", ""),
    ("missing plaintext path", _op, f"{RULE}.plaintext[0].path", ..., ""),
    (
        "bad image component",
        _op,
        RULE,
        {"imageOverrider": [{"component": "Digest", "operator": "replace", "value": "x"}]},
        f"{RULE}.imageOverrider[0].component",
    ),
    (
        "command overrider replace",
        _op,
        RULE,
        {"commandOverrider": [{"containerName": "c", "operator": "replace", "value": ["x"]}]},
        f"{RULE}.commandOverrider[0].operator",
    ),
    ("missing overriders", _op, RULE, ..., ""),
    ("bad applyStrategy type", _work, "spec.applyStrategy.type", "Replace", ""),
    ("bad whenToTakeOver", _work, "spec.applyStrategy.whenToTakeOver", "Sometimes", ""),
    (
        "bad delete propagation",
        _work,
        "spec.deleteOption",
        {"propagationPolicy": "Background"},
        "spec.deleteOption.propagationPolicy",
    ),
    (
        "bad feedback type",
        _work,
        "spec.manifestConfigs",
        [{"resourceIdentifier": {"name": "c"}, "feedbackRules": [{"type": "Everything"}]}],
        "spec.manifestConfigs[0].feedbackRules[0].type",
    ),
    ("manifest not an object", _work, "spec.workload.manifests[0]", "kind: ConfigMap", ""),
    ("bad taint effect", _mc, "spec.taints[0].effect", "NoRun", ""),
    ("taint without key", _mc, "spec.taints[0].key", ..., ""),
    ("bad sync mode", _mc, "spec.syncMode", "Poll", ""),
    ("bad quantity", _mc, "status.resources.allocatable.cpu", "four", ""),
]


def _normal(path: str) -> str:
    """Map-key paths as the apiserver prints them (``allocatable[cpu]``) in dotted form."""
    return re.sub(r"\[([A-Za-z][^\]]*)\]", r".\1", path)


@pytest.mark.parametrize(("case", "make", "path", "value", "named"), WRONG, ids=[w[0] for w in WRONG])
def test_wrong_objects_are_rejected_naming_the_field(
    case: str, make: Callable[[], dict[str, Any]], path: str, value: Any, named: str
) -> None:
    expected = named or path
    obj = _set(make(), path, value)
    schema_errors = validate(obj, schema_of(obj["kind"]))
    assert [_normal(e.path) for e in schema_errors] == [expected], [str(e) for e in schema_errors]
    assert all(str(e).startswith(e.path + ": ") for e in schema_errors)
    cls = kind_for(obj["apiVersion"], obj["kind"])
    assert cls is not None
    with pytest.raises(pydantic.ValidationError) as raised:
        cls.from_dict(obj)
    assert [p.path for p in problems_from_error(raised.value)] == [expected]
    assert [p.path for p in validate_object(obj)] == [expected]


def test_at_least_twelve_wrong_objects() -> None:
    assert len(WRONG) >= 12
    assert len({w[0] for w in WRONG}) == len(WRONG)


# --- the command ----------------------------------------------------------------------------------------
def test_waybill_crds_prints_every_crd(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["crds"]) == 0
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    assert documents == crdgen.all_crds()
    assert [d["spec"]["names"]["kind"] for d in documents] == [c.crd.kind for c in ALL_KINDS]


def test_waybill_crds_write_regenerates_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "oldthings.work.waybill.dev.yaml"
    stale.write_text(crdgen.HEADER + "kind: Old\n", encoding="utf-8")
    keep = tmp_path / "not-generated.yaml"
    keep.write_text("kind: Mine\n", encoding="utf-8")
    assert cli.main(["crds", "--write", str(tmp_path)]) == 0
    written = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.glob("*.waybill.dev.yaml")}
    assert written == crdgen.crd_files()
    assert keep.exists() and not stale.exists()
    assert len(capsys.readouterr().out.splitlines()) == len(ALL_KINDS)
