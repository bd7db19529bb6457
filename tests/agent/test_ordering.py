"""Table tests for dependency waves."""

from __future__ import annotations

import pytest

from agent.manifests import decode_manifests
from agent.ordering import crd_dependencies, removal_order, waves


def obj(api_version: str, kind: str, name: str, **extra: object) -> dict[str, object]:
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}, **extra}


CRD = obj(
    "apiextensions.k8s.io/v1",
    "CustomResourceDefinition",
    "widgets.example.com",
    spec={"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"}},
)


def test_waves_in_dependency_order_and_stable_within() -> None:
    manifests = decode_manifests(
        [
            obj("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", "hook"),
            obj("apps/v1", "Deployment", "b"),
            obj("example.com/v1", "Widget", "w"),
            obj("v1", "ConfigMap", "cfg"),
            obj("apps/v1", "Deployment", "a"),
            obj("rbac.authorization.k8s.io/v1", "RoleBinding", "rb"),
            obj("v1", "ServiceAccount", "sa"),
            CRD,
            obj("v1", "Namespace", "ns"),
            obj("v1", "Service", "svc"),
            "not: [valid",
        ]
    )
    got = [[m.identifier.kind + "/" + m.identifier.name for m in wave] for wave in waves(manifests)]
    assert got == [
        ["Namespace/ns", "CustomResourceDefinition/widgets.example.com"],
        ["ServiceAccount/sa", "ConfigMap/cfg", "RoleBinding/rb"],
        ["Service/svc", "Deployment/b", "Deployment/a", "Widget/w"],
        ["ValidatingWebhookConfiguration/hook"],
    ]


def test_waves_skip_empty() -> None:
    got = waves(decode_manifests([obj("v1", "ConfigMap", "c")]))
    assert len(got) == 1 and got[0][0].identifier.name == "c"


def test_custom_resources_depend_on_their_crd() -> None:
    manifests = decode_manifests(
        [obj("example.com/v1", "Widget", "w"), CRD, obj("other.io/v1", "Gadget", "g")]
    )
    assert crd_dependencies(manifests) == {0: "widgets.example.com"}


@pytest.mark.parametrize("count", [2, 5])
def test_removal_is_reverse_of_apply(count: int) -> None:
    manifests = decode_manifests(
        [obj("v1", "Namespace", f"n{i}") for i in range(count)] + [obj("apps/v1", "Deployment", "d")]
    )
    order = removal_order([m.identifier for m in manifests])
    assert order[0].kind == "Deployment" and order[-1].name == "n0"
