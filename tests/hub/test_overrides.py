"""Table tests for hub.overrides: order, variables, each overrider, clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from hub import overrides
from hub.clusters import ClusterView
from tests.hub.helpers import deployment

EU = ClusterView("eu1", labels={"region": "eu", "tier": "gold"})


def op(
    name: str,
    rules: list[dict[str, Any]],
    *,
    cluster_scoped: bool = False,
    selectors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if not cluster_scoped:
        meta["namespace"] = "default"
    return {
        "apiVersion": "policy.waybill.dev/v1alpha1",
        "kind": "ClusterOverridePolicy" if cluster_scoped else "OverridePolicy",
        "metadata": meta,
        "spec": {"resourceSelectors": selectors or [], "overrideRules": rules},
    }


def rule(target: dict[str, Any] | None = None, **overriders: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"overriders": overriders}
    if target is not None:
        out["targetCluster"] = target
    return out


def image_of(manifest: dict[str, Any]) -> str:
    return str(manifest["spec"]["template"]["spec"]["containers"][0]["image"])


@pytest.mark.parametrize(
    ("image", "component", "operator", "value", "expected"),
    [
        ("nginx:1.25", "Registry", "replace", "registry.eu.example", "registry.eu.example/nginx:1.25"),
        ("docker.io/library/nginx:1.25", "Registry", "replace", "mirror.io", "mirror.io/library/nginx:1.25"),
        ("docker.io/library/nginx:1.25", "Registry", "remove", "", "library/nginx:1.25"),
        ("registry.k8s.io/pause", "Registry", "add", "-cn", "registry.k8s.io-cn/pause"),
        ("nginx:1.25", "Repository", "replace", "httpd", "httpd:1.25"),
        ("nginx:1.25", "Tag", "replace", "1.27", "nginx:1.27"),
        ("nginx", "Tag", "add", "latest", "nginx:latest"),
        ("localhost:5000/app:v1", "Tag", "remove", "", "localhost:5000/app"),
        ("localhost:5000/app:v1", "Registry", "replace", "r.io", "r.io/app:v1"),
        ("app@sha256:abc", "Registry", "replace", "r.io", "r.io/app@sha256:abc"),
    ],
)
def test_image_components(image: str, component: str, operator: str, value: str, expected: str) -> None:
    assert (
        overrides.override_image(image, {"component": component, "operator": operator, "value": value})
        == expected
    )


def test_order_cluster_first_then_namespaced_then_plaintext_last() -> None:
    policies = [
        op(
            "b-ns",
            [
                rule(
                    labelsOverrider=[{"operator": "add", "value": {"owner": "ns"}}],
                    plaintext=[{"path": "/metadata/labels/owner", "operator": "replace", "value": "plain"}],
                )
            ],
        ),
        op(
            "a-cluster",
            [rule(labelsOverrider=[{"operator": "add", "value": {"owner": "cluster", "cl": "1"}}])],
            cluster_scoped=True,
        ),
    ]
    out = overrides.apply_overrides(deployment(), cluster=EU, policies=policies)
    assert out["metadata"]["labels"] == {"owner": "plain", "cl": "1"}


def test_all_overriders_and_variables() -> None:
    policy = op(
        "all",
        [
            rule(
                {"labelSelector": {"matchLabels": {"region": "eu"}}},
                imageOverrider=[
                    {
                        "component": "Registry",
                        "operator": "replace",
                        "value": "${MEMBER_CLUSTER_LABEL:region}.registry.io",
                    }
                ],
                commandOverrider=[{"containerName": "app", "operator": "add", "value": ["nginx", "-g"]}],
                argsOverrider=[
                    {"containerName": "app", "operator": "add", "value": ["--cluster=${MEMBER_CLUSTER_NAME}"]}
                ],
                annotationsOverrider=[{"operator": "add", "value": {"cluster": "${MEMBER_CLUSTER_NAME}"}}],
                plaintext=[
                    {
                        "path": "/spec/template/spec/containers/0/env",
                        "operator": "add",
                        "value": [{"name": "TIER", "value": "${MEMBER_CLUSTER_LABEL:tier}"}],
                    }
                ],
            )
        ],
    )
    out = overrides.apply_overrides(deployment(), cluster=EU, policies=[policy])
    container = out["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "eu.registry.io/nginx:1.25"
    assert container["command"] == ["nginx", "-g"]
    assert container["args"] == ["--cluster=eu1"]
    assert container["env"] == [{"name": "TIER", "value": "gold"}]
    assert out["metadata"]["annotations"] == {"cluster": "eu1"}
    untouched = overrides.apply_overrides(
        deployment(), cluster=ClusterView("us1", labels={"region": "us"}), policies=[policy]
    )
    assert image_of(untouched) == "nginx:1.25"


def test_selectors_and_namespace_scope() -> None:
    other = op(
        "x",
        [rule(labelsOverrider=[{"operator": "add", "value": {"a": "b"}}])],
        selectors=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "other"}],
    )
    elsewhere = op("y", [rule(labelsOverrider=[{"operator": "add", "value": {"a": "b"}}])])
    elsewhere["metadata"]["namespace"] = "prod"
    out = overrides.apply_overrides(deployment(), cluster=EU, policies=[other, elsewhere])
    assert out["metadata"]["labels"] == {}


def test_labels_replace_and_remove() -> None:
    template = deployment(labels={"keep": "1", "drop": "1", "swap": "old"})
    policy = op(
        "l",
        [
            rule(
                labelsOverrider=[
                    {"operator": "replace", "value": {"swap": "new", "absent": "x"}},
                    {"operator": "remove", "value": {"drop": ""}},
                ]
            )
        ],
    )
    out = overrides.apply_overrides(template, cluster=EU, policies=[policy])
    assert out["metadata"]["labels"] == {"keep": "1", "swap": "new"}


@pytest.mark.parametrize(
    ("overriders", "field"),
    [
        (
            {"plaintext": [{"path": "/spec/nope/deeper", "operator": "replace", "value": 1}]},
            "overriders.plaintext[0]",
        ),
        (
            {
                "annotationsOverrider": [
                    {"operator": "add", "value": {"x": "${MEMBER_CLUSTER_LABEL:missing}"}}
                ]
            },
            "overriders.annotationsOverrider[0]",
        ),
        (
            {"imageOverrider": [{"component": "Repository", "operator": "remove"}]},
            "overriders.imageOverrider[0]",
        ),
        (
            {
                "imageOverrider": [
                    {
                        "predicate": {"path": "/spec/replicas"},
                        "component": "Tag",
                        "operator": "replace",
                        "value": "x",
                    }
                ]
            },
            "overriders.imageOverrider[0]",
        ),
    ],
)
def test_bad_override_names_object_cluster_and_field(overriders: dict[str, Any], field: str) -> None:
    with pytest.raises(overrides.OverrideError) as info:
        overrides.apply_overrides(deployment(), cluster=EU, policies=[op("bad", [rule(**overriders)])])
    message = str(info.value)
    assert "OverridePolicy/default/bad" in message
    assert "Deployment/default/web" in message
    assert "cluster eu1" in message
    assert field in message
