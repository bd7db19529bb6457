"""ValidatingAdmissionPolicy + Binding: matching, CEL, denials in kube-apiserver's format."""

from __future__ import annotations

from typing import Any

import pytest_asyncio

from kubesim import SimServer
from kubesim.testing import Api, SimFactory

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
VAPS = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies"
BINDINGS = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings"
SA = "system:serviceaccount:default:agent"

CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                            "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        },
                    }
                },
            }
        ],
    },
}


def status_only_policy(**extra: Any) -> dict[str, Any]:
    """What the hub ships for agents: a ServiceAccount may change only the status of a Widget."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "status-only"},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["example.com"],
                        "apiVersions": ["*"],
                        "operations": ["UPDATE", "DELETE"],
                        "resources": ["widgets"],
                    }
                ]
            },
            "matchConditions": [
                {
                    "name": "service-accounts",
                    "expression": "request.userInfo.username.startsWith('system:serviceaccount:')",
                }
            ],
            "variables": [
                {
                    "name": "specSame",
                    "expression": "request.operation == 'UPDATE' && object.spec == oldObject.spec",
                }
            ],
            "validations": [
                {
                    "expression": "variables.specSame",
                    "messageExpression": "request.userInfo.username + ' may only write status'",
                    "reason": "Forbidden",
                },
                {"expression": "'system:serviceaccounts' in request.userInfo.groups"},
            ],
            **extra,
        },
    }


def binding(name: str = "status-only", actions: tuple[str, ...] = ("Deny",), **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": "status-only", "validationActions": list(actions), **spec},
    }


@pytest_asyncio.fixture
async def server(sim_factory: SimFactory) -> SimServer:
    return await sim_factory("vap", rbac=False)


async def _setup(server: SimServer, *, actions: tuple[str, ...] = ("Deny",)) -> tuple[Api, Api]:
    admin = Api(server)
    assert (await admin.post(CRDS, CRD))[0] == 201
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"a": 1}}
    assert (await admin.post(WIDGETS, widget))[0] == 201
    status, body = await admin.post(VAPS, status_only_policy())
    assert status == 201, body
    status, body = await admin.post(BINDINGS, binding(actions=actions))
    assert status == 201, body
    agent = Api(
        server, token=server.issue_token(user=SA, groups=["system:serviceaccounts", "system:authenticated"])
    )
    return admin, agent


async def test_service_account_may_write_only_status(server: SimServer) -> None:
    admin, agent = await _setup(server)
    try:
        status, err = await agent.patch(f"{WIDGETS}/w", {"spec": {"a": 2}})
        assert status == 403
        assert err["reason"] == "Forbidden"
        cause = (
            "ValidatingAdmissionPolicy 'status-only' with binding 'status-only' denied request: "
            f"{SA} may only write status"
        )
        assert err["message"] == f'widgets.example.com "w" is forbidden: {cause}'
        assert err["details"] == {
            "name": "w",
            "group": "example.com",
            "kind": "widgets",
            "causes": [{"message": cause}],
        }
        status, w = await agent.patch(f"{WIDGETS}/w/status", {"status": {"ok": True}})
        assert status == 200 and w["status"] == {"ok": True}  # /status is not the widgets resource
        status, w = await agent.patch(f"{WIDGETS}/w", {"metadata": {"finalizers": ["example.com/agent"]}})
        assert status == 200  # spec unchanged: the finalizer may be written
        status, err = await agent.delete(f"{WIDGETS}/w")
        assert status == 403  # DELETE: specSame is false
        status, w = await admin.patch(f"{WIDGETS}/w", {"spec": {"a": 3}})
        assert status == 200 and w["spec"] == {"a": 3}  # matchConditions: not a ServiceAccount
    finally:
        await admin.close()
        await agent.close()


async def test_default_message_reason_and_warn_action(server: SimServer) -> None:
    admin, agent = await _setup(server, actions=("Warn",))
    try:
        other = Api(server, token=server.issue_token(user="system:serviceaccount:x:y", groups=["g"]))
        async with other.session.patch(
            f"{WIDGETS}/w",
            json={"metadata": {"labels": {"a": "b"}}},
            headers={"Content-Type": "application/merge-patch+json"},
        ) as resp:
            assert resp.status == 200
            assert resp.headers.getall("Warning") == [
                "299 - \"Validation failed for ValidatingAdmissionPolicy 'status-only' with binding "
                "'status-only': "
                "failed expression: 'system:serviceaccounts' in request.userInfo.groups\""
            ]
        await other.close()
    finally:
        await admin.close()
        await agent.close()


async def test_what_kubesim_does_not_implement_is_refused(server: SimServer) -> None:
    admin = Api(server)
    try:
        status, err = await admin.post(
            VAPS, status_only_policy(paramKind={"apiVersion": "v1", "kind": "ConfigMap"})
        )
        assert status == 422
        assert {
            "reason": "FieldValueForbidden",
            "field": "spec.paramKind",
            "message": "Forbidden: policy parameters are not supported by kubesim",
        } in err["details"]["causes"]
        status, err = await admin.post(BINDINGS, binding(actions=("Audit",)))
        assert status == 422 and err["details"]["causes"][0]["field"] == "spec.validationActions[0]"
        status, err = await admin.post(BINDINGS, binding(paramRef={"name": "x"}))
        assert status == 422 and err["details"]["causes"][0]["field"] == "spec.paramRef"
        bad = status_only_policy()
        bad["spec"]["validations"] = [{"expression": "object.("}]
        status, err = await admin.post(VAPS, bad)
        assert status == 422 and err["details"]["causes"][0]["field"] == "spec.validations[0].expression"
    finally:
        await admin.close()


async def test_match_policy_equivalent_and_exact(server: SimServer) -> None:
    admin = Api(server)
    try:
        crd = {
            **CRD,
            "spec": {
                **CRD["spec"],
                "versions": [
                    CRD["spec"]["versions"][0],
                    {**CRD["spec"]["versions"][0], "name": "v2", "storage": False},
                ],
            },
        }
        assert (await admin.post(CRDS, crd))[0] == 201
        v2 = "/apis/example.com/v2/namespaces/default/widgets"
        policy = status_only_policy()
        policy["spec"]["matchConstraints"]["resourceRules"][0]["apiVersions"] = ["v1"]
        policy["spec"]["matchConditions"] = []
        assert (await admin.post(VAPS, policy))[0] == 201
        assert (await admin.post(BINDINGS, binding()))[0] == 201
        widget = {
            "apiVersion": "example.com/v2",
            "kind": "Widget",
            "metadata": {"name": "w"},
            "spec": {"a": 1},
        }
        assert (await admin.post(v2, widget))[0] == 201
        status, _ = await admin.patch(f"{v2}/w", {"spec": {"a": 2}})
        assert status == 403  # Equivalent (the default): a v1 rule also sees v2 requests
        policy["spec"]["matchConstraints"]["matchPolicy"] = "Exact"
        _, live = await admin.get(f"{VAPS}/status-only")
        policy["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
        assert (await admin.put(f"{VAPS}/status-only", policy))[0] == 200
        status, _ = await admin.patch(f"{v2}/w", {"spec": {"a": 2}})
        assert status == 200
        policy["spec"]["matchConstraints"]["matchPolicy"] = "Loose"
        status, err = await admin.put(f"{VAPS}/status-only", {**policy, "metadata": {"name": "status-only"}})
        assert status == 422 and err["details"]["causes"][0]["field"] == "spec.matchConstraints.matchPolicy"
    finally:
        await admin.close()


async def test_selectors_and_excluded_rules(server: SimServer) -> None:
    admin = Api(server)
    try:
        assert (await admin.post(CRDS, CRD))[0] == 201
        for ns, labels in (("team-a", {"tier": "prod"}), ("team-b", {})):
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}
            assert (await admin.post("/api/v1/namespaces", body))[0] == 201
            for name, wl in (("w", {}), ("keep", {"keep": "yes"})):
                w = {
                    "apiVersion": "example.com/v1",
                    "kind": "Widget",
                    "metadata": {"name": name, "labels": wl},
                    "spec": {"a": 1},
                }
                assert (await admin.post(f"/apis/example.com/v1/namespaces/{ns}/widgets", w))[0] == 201
        policy = status_only_policy()
        constraints = policy["spec"]["matchConstraints"]
        constraints["namespaceSelector"] = {"matchLabels": {"tier": "prod"}}
        constraints["objectSelector"] = {"matchExpressions": [{"key": "keep", "operator": "DoesNotExist"}]}
        constraints["excludeResourceRules"] = [
            {
                "apiGroups": ["example.com"],
                "apiVersions": ["*"],
                "operations": ["*"],
                "resources": ["widgets"],
                "resourceNames": ["excluded"],
            }
        ]
        policy["spec"]["matchConditions"] = []
        assert (await admin.post(VAPS, policy))[0] == 201
        assert (await admin.post(BINDINGS, binding()))[0] == 201

        async def spec_patch(ns: str, name: str) -> int:
            status, _ = await admin.patch(
                f"/apis/example.com/v1/namespaces/{ns}/widgets/{name}", {"spec": {"a": 9}}
            )
            return status

        assert await spec_patch("team-a", "w") == 403  # namespace and object selected
        assert await spec_patch("team-b", "w") == 200  # namespace not selected
        assert await spec_patch("team-a", "keep") == 200  # object not selected
        w = {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "excluded"},
            "spec": {"a": 1},
        }
        assert (await admin.post("/apis/example.com/v1/namespaces/team-a/widgets", w))[0] == 201
        assert await spec_patch("team-a", "excluded") == 200  # excluded by resource name
    finally:
        await admin.close()
