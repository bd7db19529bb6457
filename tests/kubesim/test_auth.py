"""Conformance: bearer tokens, ServiceAccount TokenRequest, RBAC authorization (403 wording)."""

from __future__ import annotations

from typing import Any

from kubesim import SimServer
from kubesim.testing import CM, Api, cm

RBAC = "/apis/rbac.authorization.k8s.io/v1"


async def _as(server: SimServer, token: str) -> Api:
    return Api(server, token=token)


async def test_user_without_grants_is_forbidden_with_real_message(sim: SimServer, api: Api) -> None:
    alice = Api(sim, token=sim.issue_token(user="alice"))
    try:
        status, body = await alice.get(CM)
        assert status == 403
        assert body["reason"] == "Forbidden" and body["code"] == 403
        assert body["message"] == (
            'configmaps is forbidden: User "alice" cannot list resource "configmaps" in API '
            'group "" in the namespace "default"'
        )
        assert body["details"] == {"kind": "configmaps"}
        status, body = await alice.get(f"{CM}/x")
        assert body["message"].startswith('configmaps "x" is forbidden: User "alice" cannot get resource')
        status, body = await alice.get("/apis/apps/v1/deployments")
        assert body["message"] == (
            'deployments.apps is forbidden: User "alice" cannot list resource "deployments" '
            'in API group "apps" at the cluster scope'
        )
    finally:
        await alice.close()


async def test_role_binding_grants_namespace_access(sim: SimServer, api: Api) -> None:
    await api.post(
        f"{RBAC}/namespaces/default/roles",
        {
            "metadata": {"name": "cm-reader"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
        },
    )
    await api.post(
        f"{RBAC}/namespaces/default/rolebindings",
        {
            "metadata": {"name": "alice-reads"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"},
            "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    alice = Api(sim, token=sim.issue_token(user="alice"))
    try:
        assert (await alice.get(CM))[0] == 200
        assert (await alice.get("/api/v1/namespaces/kube-system/configmaps"))[0] == 403
        status, body = await alice.post(CM, cm("x"))
        assert status == 403 and 'cannot create resource "configmaps"' in body["message"]
        assert (await alice.get("/api/v1"))[0] == 200  # discovery for every authenticated user
    finally:
        await alice.close()


async def test_service_account_token_request(sim: SimServer, api: Api) -> None:
    await api.post("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "agent"}})
    status, tr = await api.post(
        "/api/v1/namespaces/default/serviceaccounts/agent/token",
        {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3600},
        },
    )
    assert status == 201
    assert tr["kind"] == "TokenRequest" and tr["status"]["token"].count(".") == 2
    sa = Api(sim, token=tr["status"]["token"])
    try:
        status, body = await sa.post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
        assert status == 201
        info = body["status"]["userInfo"]
        assert info["username"] == "system:serviceaccount:default:agent"
        assert set(info["groups"]) == {
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated",
        }
        status, body = await sa.get(CM)
        assert status == 403
        assert 'User "system:serviceaccount:default:agent" cannot list' in body["message"]
        await api.delete("/api/v1/namespaces/default/serviceaccounts/agent")
        assert (await sa.get(CM))[0] == 401  # bound token dies with its ServiceAccount
    finally:
        await sa.close()


async def test_token_request_for_missing_service_account_is_404(api: Api) -> None:
    status, body = await api.post("/api/v1/namespaces/default/serviceaccounts/ghost/token", {"spec": {}})
    assert status == 404 and body["message"] == 'serviceaccounts "ghost" not found'


async def test_group_binding_for_service_accounts(sim: SimServer, api: Api) -> None:
    await api.post("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "bot"}})
    await api.post(
        f"{RBAC}/clusterrolebindings",
        {
            "metadata": {"name": "sa-view"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": "default"}],
        },
    )
    _, tr = await api.post("/api/v1/namespaces/default/serviceaccounts/bot/token", {"spec": {}})
    bot = Api(sim, token=tr["status"]["token"])
    try:
        assert (await bot.get("/api/v1/namespaces/kube-system/configmaps"))[0] == 200
        assert (await bot.post(CM, cm("nope")))[0] == 403
    finally:
        await bot.close()


async def test_self_subject_access_review(sim: SimServer) -> None:
    alice = Api(sim, token=sim.issue_token(user="alice", groups=["devs"]))
    try:
        review: dict[str, Any] = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {
                "resourceAttributes": {"verb": "list", "resource": "configmaps", "namespace": "default"}
            },
        }
        status, body = await alice.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review)
        assert status == 201 and body["status"]["allowed"] is False
    finally:
        await alice.close()


async def test_masters_group_is_allowed_everything(sim: SimServer) -> None:
    admin = Api(sim, token=sim.issue_token(user="root", groups=["system:masters"]))
    try:
        assert (await admin.post(CM, cm("x")))[0] == 201
    finally:
        await admin.close()


async def test_rbac_disabled_allows_any_authenticated_user(sim_factory: Any) -> None:
    server: SimServer = await sim_factory("open", rbac=False)
    anyone = Api(server, token=server.issue_token(user="anyone"))
    try:
        assert (await anyone.post(CM, cm("x")))[0] == 201
    finally:
        await anyone.close()


async def test_https_with_ca_in_kubeconfig(sim_factory: Any) -> None:
    import ssl

    import aiohttp
    import yaml

    server: SimServer = await sim_factory("secure", tls=True)
    assert server.url.startswith("https://")
    config = yaml.safe_load(server.kubeconfig_path.read_text())
    assert config["clusters"][0]["cluster"]["certificate-authority-data"]
    assert server.ca_pem is not None
    context = ssl.create_default_context(cadata=server.ca_pem)
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(f"{server.url}/api/v1/namespaces", ssl=context) as resp,
    ):
        assert resp.status == 200


async def test_write_kubeconfig_for_a_user(sim: SimServer, tmp_path: Any) -> None:
    import yaml

    token = sim.issue_token(user="bob")
    path = sim.write_kubeconfig(tmp_path / "bob.kubeconfig", token=token, user="bob")
    config = yaml.safe_load(path.read_text())
    assert config["users"] == [{"name": "bob", "user": {"token": token}}]
    assert config["clusters"][0]["cluster"]["server"] == sim.url


async def test_impersonation(sim: SimServer, api: Api) -> None:
    as_bob = {"Impersonate-User": "bob", "Impersonate-Group": "devs"}
    status, body = await api.post(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews", {"kind": "SelfSubjectReview"}, headers=as_bob
    )
    assert status == 201
    assert body["status"]["userInfo"] == {"username": "bob", "groups": ["devs", "system:authenticated"]}
    status, body = await api.get(CM, headers=as_bob)
    assert status == 403 and 'User "bob" cannot list' in body["message"]
    alice = Api(sim, token=sim.issue_token(user="alice"))
    try:
        status, body = await alice.get(CM, headers={"Impersonate-User": "bob"})
        assert status == 403
        assert body["message"] == (
            'users "bob" is forbidden: User "alice" cannot impersonate resource "users" '
            'in API group "" at the cluster scope'
        )
    finally:
        await alice.close()


async def test_self_subject_rules_review(sim: SimServer, api: Api) -> None:
    await api.post(
        f"{RBAC}/namespaces/default/roles",
        {
            "metadata": {"name": "cm-reader"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]}],
        },
    )
    await api.post(
        f"{RBAC}/namespaces/default/rolebindings",
        {
            "metadata": {"name": "alice-reads"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"},
            "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    alice = Api(sim, token=sim.issue_token(user="alice"))
    try:
        status, body = await alice.post(
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            {"kind": "SelfSubjectRulesReview", "spec": {"namespace": "default"}},
        )
        assert status == 201
        assert {"verbs": ["get", "list"], "apiGroups": [""], "resources": ["configmaps"]} in (
            body["status"]["resourceRules"]
        )
        status, body = await alice.post(
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            {"kind": "SelfSubjectRulesReview", "spec": {"namespace": "other"}},
        )
        assert all("configmaps" not in r.get("resources", []) for r in body["status"]["resourceRules"])
    finally:
        await alice.close()


async def _grant(api: Api, name: str, rules: list[dict[str, Any]], user: str) -> None:
    await api.post(f"{RBAC}/namespaces/default/roles", {"metadata": {"name": name}, "rules": rules})
    await api.post(
        f"{RBAC}/namespaces/default/rolebindings",
        {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )


async def test_rbac_escalation_is_prevented(sim: SimServer, api: Api) -> None:
    await _grant(
        api,
        "role-admin",
        [
            {
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": ["roles", "rolebindings"],
                "verbs": ["create"],
            },
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
        ],
        "alice",
    )
    alice = Api(sim, token=sim.issue_token(user="alice"))
    try:
        ok_role = {
            "metadata": {"name": "cm-get"},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
        }
        assert (await alice.post(f"{RBAC}/namespaces/default/roles", ok_role))[0] == 201
        bad_role = {
            "metadata": {"name": "secrets-get"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
        }
        status, body = await alice.post(f"{RBAC}/namespaces/default/roles", bad_role)
        assert status == 403
        assert body["message"] == (
            'roles.rbac.authorization.k8s.io "secrets-get" is forbidden: user "alice" '
            '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n'
            '{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}'
        )
        binding = {
            "metadata": {"name": "b"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "admin"},
            "subjects": [{"kind": "User", "name": "mallory", "apiGroup": "rbac.authorization.k8s.io"}],
        }
        status, body = await alice.post(f"{RBAC}/namespaces/default/rolebindings", binding)
        assert status == 403 and "attempting to grant RBAC permissions not currently held" in body["message"]
        binding["roleRef"] = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-get"}
        assert (await alice.post(f"{RBAC}/namespaces/default/rolebindings", binding))[0] == 201
    finally:
        await alice.close()


async def test_bind_verb_allows_binding_more_than_held(sim: SimServer, api: Api) -> None:
    await _grant(
        api,
        "binder",
        [
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create"]},
            {
                "apiGroups": ["rbac.authorization.k8s.io"],
                "resources": ["clusterroles"],
                "verbs": ["bind"],
                "resourceNames": ["view"],
            },
        ],
        "carol",
    )
    carol = Api(sim, token=sim.issue_token(user="carol"))
    try:
        binding = {
            "metadata": {"name": "v"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "dave", "apiGroup": "rbac.authorization.k8s.io"}],
        }
        assert (await carol.post(f"{RBAC}/namespaces/default/rolebindings", binding))[0] == 201
    finally:
        await carol.close()


async def test_authorization_comes_before_not_found(sim: SimServer) -> None:
    alice = Api(sim, token=sim.issue_token(user="alice"))
    try:
        status, body = await alice.get("/apis/example.com/v1/namespaces/default/widgets")
        assert status == 403
        assert body["message"] == (
            'widgets.example.com is forbidden: User "alice" cannot list resource "widgets" '
            'in API group "example.com" in the namespace "default"'
        )
    finally:
        await alice.close()
