"""Table tests for kubesim.patching: RFC 6902, RFC 7386 and Kubernetes strategic merge patch."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim import patching
from kubesim.patching import PatchError

DOC: dict[str, Any] = {"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"replicas": 1, "l": [1, 2]}}


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        (
            [{"op": "replace", "path": "/spec/replicas", "value": 3}],
            {"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"replicas": 3, "l": [1, 2]}},
        ),
        (
            [{"op": "add", "path": "/metadata/labels/a~1b", "value": "v"}],
            {
                "metadata": {"name": "a", "labels": {"x": "1", "a/b": "v"}},
                "spec": {"replicas": 1, "l": [1, 2]},
            },
        ),
        (
            [{"op": "add", "path": "/spec/l/-", "value": 3}, {"op": "add", "path": "/spec/l/0", "value": 0}],
            {"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"replicas": 1, "l": [0, 1, 2, 3]}},
        ),
        (
            [{"op": "remove", "path": "/metadata/labels"}, {"op": "remove", "path": "/spec/l/0"}],
            {"metadata": {"name": "a"}, "spec": {"replicas": 1, "l": [2]}},
        ),
        (
            [
                {"op": "test", "path": "/spec/replicas", "value": 1},
                {"op": "move", "from": "/spec/replicas", "path": "/spec/count"},
            ],
            {"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"count": 1, "l": [1, 2]}},
        ),
        (
            [{"op": "copy", "from": "/metadata/name", "path": "/spec/name"}],
            {
                "metadata": {"name": "a", "labels": {"x": "1"}},
                "spec": {"replicas": 1, "l": [1, 2], "name": "a"},
            },
        ),
    ],
)
def test_json_patch(ops: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    assert patching.json_patch(DOC, ops) == expected
    assert DOC["spec"]["replicas"] == 1  # input untouched


@pytest.mark.parametrize(
    ("ops", "code", "fragment"),
    [
        ([{"op": "test", "path": "/spec/replicas", "value": 2}], 422, "testing value /spec/replicas failed"),
        ([{"op": "remove", "path": "/spec/nope"}], 422, "Unable to remove nonexistent key: nope"),
        ([{"op": "replace", "path": "/spec/nope", "value": 1}], 422, "doc is missing key: /spec/nope"),
        ([{"op": "add", "path": "/a/b/c", "value": 1}], 422, 'doc is missing path: "/a/b/c"'),
        ([{"op": "add", "path": "/spec/l/5", "value": 1}], 422, "out of bounds"),
        ([{"op": "frob", "path": "/x"}], 400, "Unexpected kind: frob"),
        ({"op": "add"}, 400, "cannot unmarshal"),
        ([{"op": "add", "path": "/x"}], 400, 'no "value"'),
    ],
)
def test_json_patch_errors(ops: Any, code: int, fragment: str) -> None:
    with pytest.raises(PatchError) as info:
        patching.json_patch(DOC, ops)
    assert info.value.code == code
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("original", "patch", "expected"),
    [
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_rfc7386_examples(original: Any, patch: Any, expected: Any) -> None:
    before = repr(original)
    assert patching.merge_patch(original, patch) == expected
    assert patching.merge_patch(original, patch, share=True) == expected
    assert repr(original) == before


def test_shared_merge_patch_copies_only_the_patched_paths() -> None:
    original = {"spec": {"big": [{"a": 1}], "small": {"x": 1}}, "status": {"s": [1]}}
    patched = patching.merge_patch(original, {"spec": {"small": {"x": 2}}}, share=True)
    assert patched == {"spec": {"big": [{"a": 1}], "small": {"x": 2}}, "status": {"s": [1]}}
    assert patched["status"] is original["status"] and patched["spec"]["big"] is original["spec"]["big"]
    assert patched["spec"] is not original["spec"] and original["spec"]["small"] == {"x": 1}


def deployment(**spec: Any) -> dict[str, Any]:
    return {"spec": {"template": {"spec": spec}}}


C_WEB = {
    "name": "web",
    "image": "nginx:1",
    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
    "ports": [{"containerPort": 80, "name": "http"}],
    "volumeMounts": [{"mountPath": "/data", "name": "data"}],
}
C_SIDE = {"name": "side", "image": "busybox"}


@pytest.mark.parametrize(
    ("original", "patch", "expected"),
    [
        # containers merge by name: only the named container changes
        (
            deployment(containers=[C_WEB, C_SIDE]),
            deployment(containers=[{"name": "web", "image": "nginx:2"}]),
            deployment(containers=[{**C_WEB, "image": "nginx:2"}, C_SIDE]),
        ),
        # env merges by name, new entries appended
        (
            deployment(containers=[C_WEB]),
            deployment(
                containers=[
                    {"name": "web", "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}]}
                ]
            ),
            deployment(
                containers=[
                    {
                        **C_WEB,
                        "env": [
                            {"name": "A", "value": "1"},
                            {"name": "B", "value": "3"},
                            {"name": "C", "value": "4"},
                        ],
                    }
                ]
            ),
        ),
        # $patch: delete removes one keyed item
        (
            deployment(containers=[C_WEB, C_SIDE]),
            deployment(containers=[{"name": "side", "$patch": "delete"}]),
            deployment(containers=[C_WEB]),
        ),
        # container ports by containerPort, volumeMounts by mountPath
        (
            deployment(containers=[C_WEB]),
            deployment(
                containers=[
                    {
                        "name": "web",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}],
                        "volumeMounts": [{"mountPath": "/data", "readOnly": True}],
                    }
                ]
            ),
            deployment(
                containers=[
                    {
                        **C_WEB,
                        "ports": [
                            {"containerPort": 80, "name": "http", "protocol": "TCP"},
                            {"containerPort": 443},
                        ],
                        "volumeMounts": [{"mountPath": "/data", "name": "data", "readOnly": True}],
                    }
                ]
            ),
        ),
        # list-level $patch: replace
        (
            deployment(containers=[C_WEB, C_SIDE]),
            deployment(containers=[{"$patch": "replace"}, {"name": "only", "image": "x"}]),
            deployment(containers=[{"name": "only", "image": "x"}]),
        ),
        # map-level $patch: replace and delete
        (
            {"spec": {"selector": {"a": "1", "b": "2"}}},
            {"spec": {"selector": {"$patch": "replace", "c": "3"}}},
            {"spec": {"selector": {"c": "3"}}},
        ),
        (
            {"spec": {"selector": {"a": "1"}, "x": 1}},
            {"spec": {"selector": {"$patch": "delete"}}},
            {"spec": {"x": 1}},
        ),
        # null deletes a key; unknown lists (args, tolerations) are replaced
        (
            deployment(
                containers=[{"name": "web", "args": ["a", "b"], "image": "i"}], tolerations=[{"key": "a"}]
            ),
            deployment(
                containers=[{"name": "web", "args": ["c"], "image": None}], tolerations=[{"key": "b"}]
            ),
            deployment(containers=[{"name": "web", "args": ["c"]}], tolerations=[{"key": "b"}]),
        ),
        # $retainKeys clears fields not retained (Deployment strategy switch)
        (
            {"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
            {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
            {"spec": {"strategy": {"type": "Recreate"}}},
        ),
        # finalizers merge as a set; $deleteFromPrimitiveList removes
        (
            {"metadata": {"finalizers": ["a", "b"]}},
            {"metadata": {"finalizers": ["b", "c"]}},
            {"metadata": {"finalizers": ["a", "b", "c"]}},
        ),
        (
            {"metadata": {"finalizers": ["a", "b"]}},
            {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}},
            {"metadata": {"finalizers": ["b"]}},
        ),
        # service ports merge by port; conditions by type
        (
            {"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}},
            {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}},
            {"spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 443}]}},
        ),
        (
            {
                "status": {
                    "conditions": [{"type": "Ready", "status": "False"}, {"type": "Synced", "status": "True"}]
                }
            },
            {"status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            {
                "status": {
                    "conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "True"}]
                }
            },
        ),
        # $setElementOrder reorders a keyed list
        (
            deployment(containers=[C_WEB, C_SIDE]),
            deployment(**{"$setElementOrder/containers": [{"name": "side"}, {"name": "web"}]}),
            deployment(containers=[C_SIDE, C_WEB]),
        ),
        # volumes and imagePullSecrets by name
        (
            deployment(volumes=[{"name": "a", "emptyDir": {}}], imagePullSecrets=[{"name": "r1"}]),
            deployment(
                volumes=[{"name": "b", "configMap": {"name": "cm"}}], imagePullSecrets=[{"name": "r2"}]
            ),
            deployment(
                volumes=[{"name": "a", "emptyDir": {}}, {"name": "b", "configMap": {"name": "cm"}}],
                imagePullSecrets=[{"name": "r1"}, {"name": "r2"}],
            ),
        ),
    ],
)
def test_strategic_merge_patch(original: Any, patch: Any, expected: Any) -> None:
    before = repr(original)
    assert patching.strategic_merge_patch(original, patch) == expected
    assert repr(original) == before


@pytest.mark.parametrize(
    ("patch", "code", "fragment"),
    [
        (deployment(containers=[{"image": "x"}]), 422, "does not contain declared merge key: name"),
        ({"spec": {"$patch": "explode"}}, 400, "Unknown patch type: explode"),
        ({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}, 422, "$retainKeys"),
        (["not", "a", "map"], 400, "must be a JSON object"),
    ],
)
def test_strategic_merge_patch_errors(patch: Any, code: int, fragment: str) -> None:
    with pytest.raises(PatchError) as info:
        patching.strategic_merge_patch(deployment(containers=[C_WEB]), patch)
    assert info.value.code == code
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("path", "field", "key"),
    [
        (("spec", "template", "spec", "containers"), "ports", "containerPort"),
        (("spec",), "ports", "port"),
        (("spec",), "env", "name"),
        (("spec",), "args", None),
        (("spec",), "tolerations", None),
    ],
)
def test_merge_key_for(path: tuple[str, ...], field: str, key: str | None) -> None:
    assert patching.merge_key_for(path, field) == key


def test_kubectl_client_side_apply_patch() -> None:
    """The three-way patch real kubectl 1.3x sends when a manifest drops a label, an env var, a port,
    a sidecar and switches the strategy."""
    live = {
        "metadata": {"labels": {"a": "1", "b": "2"}},
        "spec": {
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx",
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 80}, {"containerPort": 443}],
                        },
                        {"name": "side", "image": "busybox"},
                    ]
                }
            },
        },
    }
    patch = {
        "metadata": {"labels": {"b": None}},
        "spec": {
            "strategy": {"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"},
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "web"}],
                    "containers": [
                        {
                            "$setElementOrder/env": [{"name": "B"}],
                            "$setElementOrder/ports": [{"containerPort": 80}],
                            "env": [{"name": "B", "value": "3"}, {"$patch": "delete", "name": "A"}],
                            "name": "web",
                            "ports": [{"$patch": "delete", "containerPort": 443}],
                        },
                        {"$patch": "delete", "name": "side"},
                    ],
                }
            },
        },
    }
    assert patching.strategic_merge_patch(live, patch) == {
        "metadata": {"labels": {"a": "1"}},
        "spec": {
            "strategy": {"type": "Recreate"},
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": "nginx",
                            "env": [{"name": "B", "value": "3"}],
                            "ports": [{"containerPort": 80}],
                        },
                    ]
                }
            },
        },
    }
