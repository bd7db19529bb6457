"""Tests for kubesim.ssa: server-side apply, conflicts, force, field removal, managedFields."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubesim import ssa
from kubesim.ssa import ApplyConflict

T0, T1, T2, T3 = (f"2026-01-01T00:00:0{i}Z" for i in range(4))
_apply = ssa.apply


@pytest.fixture(autouse=True)
def _both_copy_modes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every apply below also runs with share=True: same result, and ``live`` left unchanged."""

    def checked(live: Any, applied: Any, **kw: Any) -> Any:
        before = copy.deepcopy(live)
        try:
            shared = _apply(live, copy.deepcopy(applied), **{**kw, "share": True})
        except ApplyConflict:
            shared = None
        assert live == before
        result = _apply(live, applied, **kw)
        assert shared == result
        return result

    monkeypatch.setattr(ssa, "apply", checked)


def deploy(
    replicas: int | None = 3,
    image: str = "nginx:1",
    labels: dict[str, str] | None = None,
    containers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": containers or [{"name": "web", "image": image}]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    meta: dict[str, Any] = {"name": "web", "namespace": "default"}
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}


def managers(obj: dict[str, Any]) -> dict[tuple[str, str], set[str]]:
    return {
        (e["manager"], e["operation"]): {ssa.path_string(p) for p in ssa.fieldset_from_v1(e["fieldsV1"])}
        for e in obj["metadata"]["managedFields"]
    }


def test_create_by_apply_records_fields_v1() -> None:
    result = ssa.apply(None, deploy(labels={"tier": "a"}), manager="kubectl", force=False, now=T0)
    (entry,) = result["metadata"]["managedFields"]
    assert entry == {
        "manager": "kubectl",
        "operation": "Apply",
        "apiVersion": "apps/v1",
        "time": T0,
        "fieldsType": "FieldsV1",
        "fieldsV1": {
            "f:metadata": {"f:labels": {".": {}, "f:tier": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {"f:matchLabels": {".": {}, "f:app": {}}},
                "f:template": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {"f:containers": {'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}}},
                },
            },
        },
    }
    assert result["spec"]["replicas"] == 3


def test_conflict_with_update_manager_is_worded_like_the_apiserver() -> None:
    live = ssa.apply(None, deploy(), manager="kubectl", force=False, now=T0)
    live["metadata"]["managedFields"] = ssa.record_update(
        None, deploy(), manager="kubectl-client-side-apply", now=T0
    )
    with pytest.raises(ApplyConflict) as info:
        ssa.apply(live, deploy(replicas=5), manager="kubectl", force=False, now=T1)
    assert info.value.message == (
        "Apply failed with 1 conflict: "
        'conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas'
    )
    assert info.value.conflicts == [("kubectl-client-side-apply", ".spec.replicas")]
    assert info.value.causes == [
        {
            "type": "FieldManagerConflict",
            "message": 'conflict with "kubectl-client-side-apply" using apps/v1',
            "field": ".spec.replicas",
        }
    ]


def test_multiple_conflicts_message_and_apply_manager_label() -> None:
    live = ssa.apply(None, deploy(), manager="ci", force=False, now=T0)
    with pytest.raises(ApplyConflict) as info:
        ssa.apply(live, deploy(replicas=4, image="nginx:2"), manager="dev", force=False, now=T1)
    assert info.value.message == (
        'Apply failed with 2 conflicts: conflicts with "ci":\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="web"].image'
    )


def test_force_takes_ownership() -> None:
    live = ssa.apply(None, deploy(), manager="ci", force=False, now=T0)
    result = ssa.apply(live, deploy(replicas=5), manager="dev", force=True, now=T1)
    assert result["spec"]["replicas"] == 5
    owned = managers(result)
    assert ".spec.replicas" in owned[("dev", "Apply")]
    assert ".spec.replicas" not in owned[("ci", "Apply")]
    assert '.spec.template.spec.containers[name="web"].image' in owned[("ci", "Apply")]  # shared, kept


def test_same_value_is_shared_without_conflict() -> None:
    live = ssa.apply(None, deploy(), manager="a", force=False, now=T0)
    both = ssa.apply(live, deploy(), manager="b", force=False, now=T1)
    owned = managers(both)
    assert ".spec.replicas" in owned[("a", "Apply")] and ".spec.replicas" in owned[("b", "Apply")]
    # a stops applying replicas: b still owns it, so it stays
    after = ssa.apply(both, deploy(replicas=None), manager="a", force=False, now=T2)
    assert after["spec"]["replicas"] == 3
    assert ".spec.replicas" not in managers(after)[("a", "Apply")]


def test_fields_no_longer_applied_are_removed() -> None:
    live = ssa.apply(None, deploy(labels={"a": "1", "b": "2"}), manager="kubectl", force=False, now=T0)
    result = ssa.apply(live, deploy(labels={"a": "1"}), manager="kubectl", force=False, now=T1)
    assert result["metadata"]["labels"] == {"a": "1"}
    assert result["metadata"]["managedFields"][0]["time"] == T1


def test_removal_keeps_fields_owned_by_another_manager() -> None:
    live = ssa.apply(None, deploy(labels={"a": "1", "b": "2"}), manager="kubectl", force=False, now=T0)
    other = ssa.apply(
        live,
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"b": "2"}}},
        manager="labeller",
        force=False,
        now=T1,
    )
    result = ssa.apply(other, deploy(labels={"a": "1"}), manager="kubectl", force=False, now=T2)
    assert result["metadata"]["labels"] == {"a": "1", "b": "2"}


def test_keyed_list_items_removed_per_manager() -> None:
    two = [{"name": "web", "image": "nginx"}, {"name": "side", "image": "busybox"}]
    live = ssa.apply(None, deploy(containers=two), manager="kubectl", force=False, now=T0)
    result = ssa.apply(live, deploy(containers=[two[0]]), manager="kubectl", force=False, now=T1)
    assert result["spec"]["template"]["spec"]["containers"] == [two[0]]
    # a second manager adding its own container does not disturb the first
    sidecar = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": [{"name": "mesh", "image": "envoy"}]}}},
    }
    injected = ssa.apply(result, sidecar, manager="injector", force=False, now=T2)
    assert [c["name"] for c in injected["spec"]["template"]["spec"]["containers"]] == ["web", "mesh"]
    again = ssa.apply(
        injected,
        deploy(containers=[{"name": "web", "image": "nginx:2"}]),
        manager="kubectl",
        force=False,
        now=T3,
    )
    assert again["spec"]["template"]["spec"]["containers"] == [
        {"name": "web", "image": "nginx:2"},
        {"name": "mesh", "image": "envoy"},
    ]


def test_hpa_owning_replicas_is_left_alone() -> None:
    live = ssa.apply(None, deploy(replicas=3), manager="argo", force=False, now=T0)
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 7
    scaled["metadata"]["managedFields"] = ssa.record_update(live, scaled, manager="hpa-controller", now=T1)
    owned = managers(scaled)
    assert owned[("hpa-controller", "Update")] == {".spec.replicas"}
    assert ".spec.replicas" not in owned[("argo", "Apply")]
    # the applier drops replicas from its config: the HPA's value stays, no conflict
    result = ssa.apply(scaled, deploy(replicas=None, image="nginx:2"), manager="argo", force=False, now=T2)
    assert result["spec"]["replicas"] == 7
    assert result["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"


def test_record_update_create_update_and_noop() -> None:
    created = deploy()
    created["metadata"]["managedFields"] = ssa.record_update(None, created, manager="kubectl-create", now=T0)
    assert managers(created)[("kubectl-create", "Update")] >= {
        ".spec.replicas",
        '.spec.template.spec.containers[name="web"]',
    }
    same = copy.deepcopy(created)
    assert ssa.record_update(created, same, manager="other", now=T1) == created["metadata"]["managedFields"]
    edited = copy.deepcopy(created)
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    del edited["spec"]["replicas"]
    entries = ssa.record_update(created, edited, manager="kubectl-edit", now=T1)
    edited["metadata"]["managedFields"] = entries
    owned = managers(edited)
    assert owned[("kubectl-edit", "Update")] == {'.spec.template.spec.containers[name="web"].image'}
    assert ".spec.replicas" not in owned[("kubectl-create", "Update")]
    assert '.spec.template.spec.containers[name="web"].image' not in owned[("kubectl-create", "Update")]


def test_status_subresource_entry() -> None:
    old = deploy()
    new = copy.deepcopy(old)
    new["status"] = {"readyReplicas": 3}
    (entry,) = ssa.record_update(old, new, manager="kube-controller-manager", now=T0, subresource="status")
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:readyReplicas": {}}}


CRD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "routes": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["host", "port"],
                    "items": {
                        "type": "object",
                        "properties": {
                            "host": {"type": "string"},
                            "port": {"type": "integer"},
                            "weight": {"type": "integer"},
                        },
                    },
                },
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "args": {"type": "array", "items": {"type": "string"}},
            },
        }
    },
}


def test_custom_resource_list_types_from_schema() -> None:
    def cr(**spec: Any) -> dict[str, Any]:
        return {"apiVersion": "x.io/v1", "kind": "R", "metadata": {"name": "r"}, "spec": spec}

    live = ssa.apply(
        None,
        cr(routes=[{"host": "a", "port": 1, "weight": 1}], tags=["x"], args=["1"]),
        manager="one",
        force=False,
        now=T0,
        schema=CRD_SCHEMA,
    )
    assert live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"] == {
        "f:args": {},
        "f:routes": {'k:{"host":"a","port":1}': {".": {}, "f:host": {}, "f:port": {}, "f:weight": {}}},
        "f:tags": {'v:"x"': {}},
    }
    result = ssa.apply(
        live,
        cr(routes=[{"host": "b", "port": 2}], tags=["y"]),
        manager="two",
        force=False,
        now=T1,
        schema=CRD_SCHEMA,
    )
    assert result["spec"]["routes"] == [{"host": "a", "port": 1, "weight": 1}, {"host": "b", "port": 2}]
    assert result["spec"]["tags"] == ["x", "y"]
    with pytest.raises(ApplyConflict) as info:
        ssa.apply(result, cr(args=["2"]), manager="two", force=False, now=T2, schema=CRD_SCHEMA)
    assert info.value.conflicts == [("one", ".spec.args")]


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("f:spec", "f:replicas"), ".spec.replicas"),
        (("f:spec", 'k:{"name":"web"}', "f:image"), '.spec[name="web"].image'),
        (("f:metadata", "f:finalizers", 'v:"a"'), '.metadata.finalizers[="a"]'),
        (("f:ports", 'k:{"containerPort":80,"protocol":"TCP"}'), '.ports[containerPort=80,protocol="TCP"]'),
    ],
)
def test_path_string(path: tuple[str, ...], text: str) -> None:
    assert ssa.path_string(path) == text


def test_fields_v1_round_trip() -> None:
    fields = ssa.fields_of(deploy(labels={"a": "b"}))
    assert ssa.fieldset_from_v1(ssa.fieldset_to_v1(fields)) == fields


def test_reset_fields_and_status_subresource() -> None:
    with_status = deploy() | {"status": {"replicas": 9}}
    created = ssa.apply(None, with_status, manager="a", force=False, now=T0, reset_fields=("status",))
    assert "status" not in created
    assert not any("status" in p for p in managers(created)[("a", "Apply")])
    live = copy.deepcopy(created)
    live["status"] = {"readyReplicas": 1}
    status_apply = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"replicas": 100},
        "status": {"readyReplicas": 3},
    }
    result = ssa.apply(live, status_apply, manager="ctrl", force=False, now=T1, subresource="status")
    assert result["status"] == {"readyReplicas": 3}
    assert result["spec"]["replicas"] == 3
    entry = next(e for e in result["metadata"]["managedFields"] if e["manager"] == "ctrl")
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:readyReplicas": {}}}


def test_ports_are_keyed_by_port_and_protocol() -> None:
    ports = [
        {
            "name": "web",
            "image": "nginx",
            "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
        }
    ]
    live = ssa.apply(None, deploy(containers=ports), manager="a", force=False, now=T0)
    owned = managers(live)[("a", "Apply")]
    assert '.spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"]' in owned
    assert '.spec.template.spec.containers[name="web"].ports[containerPort=53,protocol="UDP"]' in owned
    explicit = [
        {"name": "web", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP", "name": "http"}]}
    ]
    merged = ssa.apply(live, deploy(containers=explicit), manager="b", force=False, now=T1)
    assert merged["spec"]["template"]["spec"]["containers"][0]["ports"] == [
        {"containerPort": 80, "protocol": "TCP", "name": "http"},
        {"containerPort": 53, "protocol": "UDP"},
    ]
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80, "targetPort": 8080}]},
    }
    fields = ssa.fieldset_to_v1(ssa.fields_of(svc))
    assert fields == {
        "f:spec": {"f:ports": {'k:{"port":80,"protocol":"TCP"}': {".": {}, "f:port": {}, "f:targetPort": {}}}}
    }


@pytest.mark.parametrize(
    ("a", "b", "differs"),
    [
        (1, 1, False),
        (1, 1.0, True),
        (1, True, True),
        ({"a": [1, {"b": "c"}]}, {"a": [1, {"b": "c"}]}, False),
        ({"a": [1, {"b": "c"}]}, {"a": [1, {"b": "d"}]}, True),
        ({"a": 0}, {"a": False}, True),
        ({"x": 1, "y": 2}, {"y": 2, "x": 1}, False),
        ([{"k": "v"}] * 3, [{"k": "v"}] * 2, True),
    ],
)
def test_values_differ_as_json(a: Any, b: Any, differs: bool) -> None:
    assert ssa._differs(a, b) is differs
    assert (ssa._canon(a) != ssa._canon(b)) is differs


@pytest.mark.parametrize(
    ("live", "applied", "expected"),
    [
        ("abc", "ca", "bca"),  # shared items follow the applied order, b keeps its place
        ("ab", "axb", "axb"),  # a new item comes where the applied list has it (not appended)
        ("ab", "ba", "ba"),
        ("xa", "ay", "xay"),
        ("", "ab", "ab"),
        ("ab", "", "ab"),
        ("abcd", "db", "acdb"),  # b moves after d; a and c stay
    ],
)
def test_merged_order_follows_structured_merge_diff(live: str, applied: str, expected: str) -> None:
    order = ssa._merged_order(list(live), list(applied))
    assert "".join(ident for _, _, ident in order) == expected


def test_apply_reorders_env_as_applied() -> None:
    """Env order matters for $(VAR) references: the applier's order wins for its items."""

    def with_env(*names: str) -> dict[str, Any]:
        env = [{"name": n, "value": n.lower()} for n in names]
        return deploy(containers=[{"name": "web", "image": "nginx", "env": env}])

    live = ssa.apply(None, with_env("A", "B"), manager="kubectl", force=False, now=T0)
    other = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "template": {"spec": {"containers": [{"name": "web", "env": [{"name": "X", "value": "x"}]}]}}
        },
    }
    live = ssa.apply(live, other, manager="injector", force=False, now=T1)
    result = ssa.apply(live, with_env("C", "B", "A"), manager="kubectl", force=False, now=T2)
    env = result["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e["name"] for e in env] == ["C", "B", "X", "A"]  # X keeps its place after B
    finalizers = ssa.apply(
        {**result, "metadata": {**result["metadata"], "finalizers": ["x", "y"]}},
        {**with_env("C", "B", "A"), "metadata": {"name": "web", "finalizers": ["y", "z", "x"]}},
        manager="kubectl",
        force=False,
        now=T3,
    )
    assert finalizers["metadata"]["finalizers"] == ["y", "z", "x"]
