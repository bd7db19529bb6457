"""Member-side guard rails: a member's administrator limits what Works may apply.

The defect seen in #17: the agent applied whatever a Work said (its member identity defaults to
cluster-admin) — a ClusterRoleBinding to ``cluster-admin`` from the hub landed on the member.
Now privileged RBAC is refused by default (reason ``Forbidden``, the rule named), the rest of
the Work is applied, and the administrator can opt in or add allow/deny lists.
"""

from __future__ import annotations

from typing import Any

import pytest

from agent import guardrails
from agent.guardrails import GuardrailError, Guardrails, KindPattern
from agent.manifests import decode_manifests
from tests.agent.fleet import Fleet, configmap, manifest_condition, manifest_entry

RBAC = "rbac.authorization.k8s.io/v1"


def crb(role: str = "cluster-admin", name: str = "pwn") -> dict[str, Any]:
    return {
        "apiVersion": RBAC,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": "team-a"}],
    }


def role(verbs: list[str], *, kind: str = "ClusterRole") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "r"}
    if kind == "Role":
        meta["namespace"] = "app"
    return {
        "apiVersion": RBAC,
        "kind": kind,
        "metadata": meta,
        "rules": [
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": verbs},
        ],
    }


def verdict(obj: dict[str, Any], rules: Guardrails = Guardrails()) -> str | None:
    [decoded] = decode_manifests([obj])
    found = guardrails.refusal(decoded.identifier, obj, rules)
    return found.rule if found else None


@pytest.mark.parametrize(
    ("obj", "rules", "expected"),
    [
        (crb(), Guardrails(), "privileged-rbac"),
        (
            {**crb(), "kind": "RoleBinding", "metadata": {"name": "b", "namespace": "app"}},
            Guardrails(),
            "privileged-rbac",
        ),
        (crb(role="view"), Guardrails(), None),
        (role(["*"]), Guardrails(), "privileged-rbac"),
        (role(["get", "escalate"], kind="Role"), Guardrails(), "privileged-rbac"),
        (role(["bind"]), Guardrails(), "privileged-rbac"),
        (role(["impersonate"]), Guardrails(), "privileged-rbac"),
        (role(["get", "list"]), Guardrails(), None),
        (
            {
                **role(["get"]),
                "aggregationRule": {
                    "clusterRoleSelectors": [
                        {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}}
                    ]
                },
            },
            Guardrails(),
            "privileged-rbac",
        ),
        (crb(), Guardrails(allow_privileged_rbac=True), None),
        (role(["*"]), Guardrails(allow_privileged_rbac=True), None),
        (
            configmap("c", "kube-system"),
            Guardrails.from_options(deny_namespaces=["kube-system,kube-public"]),
            "deny-namespaces",
        ),
        (
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-public"}},
            Guardrails.from_options(deny_namespaces=["kube-system,kube-public"]),
            "deny-namespaces",
        ),
        (configmap("c", "app"), Guardrails.from_options(deny_namespaces=["kube-system"]), None),
        (configmap("c"), Guardrails.from_options(deny_kinds=["ConfigMap"]), "deny-kinds"),
        (configmap("c"), Guardrails.from_options(deny_kinds=["core/ConfigMap"]), "deny-kinds"),
        (configmap("c"), Guardrails.from_options(deny_kinds=["example.com/ConfigMap"]), None),
        (
            crb(role="view"),
            Guardrails.from_options(deny_kinds=["rbac.authorization.k8s.io/ClusterRoleBinding"]),
            "deny-kinds",
        ),
        (configmap("c"), Guardrails.from_options(allow_kinds=["apps/Deployment,core/ConfigMap"]), None),
        (
            crb(role="view"),
            Guardrails.from_options(allow_kinds=["apps/Deployment", "ConfigMap"]),
            "allow-kinds",
        ),
        # deny beats allow
        (
            configmap("c"),
            Guardrails.from_options(allow_kinds=["ConfigMap"], deny_kinds=["ConfigMap"]),
            "deny-kinds",
        ),
    ],
)
def test_rules(obj: dict[str, Any], rules: Guardrails, expected: str | None) -> None:
    assert verdict(obj, rules) == expected


def test_bad_option_names_the_option() -> None:
    with pytest.raises(GuardrailError, match="--deny-kinds"):
        Guardrails.from_options(deny_kinds=["/Secret"])
    assert str(KindPattern.parse("core/Secret", option="x")) == "core/Secret"
    assert KindPattern.parse("Secret", option="x").group is None


def test_screen_refuses_alone_with_reason_forbidden() -> None:
    decoded = decode_manifests([configmap("ok"), crb(), configmap("Bad_Name")])
    kept, refused = guardrails.screen(decoded, rules=Guardrails())
    assert [m.ok for m in kept] == [True, False, False]
    assert list(refused) == [1]
    assert refused[1].reason == "Forbidden" and "privileged-rbac" in refused[1].message
    assert "cluster-admin" in refused[1].message


async def test_privileged_rbac_is_refused_on_the_member_by_default(fleet: Fleet) -> None:
    await fleet.start_agent()
    await fleet.create_work("escalate", [configmap("fine"), crb(), role(["*"])])
    work = await fleet.wait_work("escalate", "Applied", "False")
    assert manifest_condition(work, 0, "Applied")["status"] == "True"  # type: ignore[index]
    for ordinal in (1, 2):
        cond = manifest_condition(work, ordinal, "Applied")
        assert cond is not None and cond["status"] == "False" and cond["reason"] == "Forbidden", cond
        assert "privileged-rbac" in cond["message"]
    # the ConfigMap of the same pass is on the member: the refusals are not a slow write
    assert await fleet.member_get("v1", "ConfigMap", "fine", "app") is not None
    assert await fleet.member_get(RBAC, "ClusterRoleBinding", "pwn") is None
    assert await fleet.member_get(RBAC, "ClusterRole", "r") is None


async def test_member_admin_opts_in_and_adds_deny_lists(fleet: Fleet) -> None:
    rails = Guardrails.from_options(allow_privileged_rbac=True, deny_namespaces=["kube-system"])
    await fleet.start_agent(guardrails=rails)
    await fleet.create_work("admin", [crb(), configmap("sneaky", "kube-system")])
    work = await fleet.wait_work("admin", "Applied", "False")
    assert manifest_condition(work, 0, "Applied")["status"] == "True"  # type: ignore[index]
    cond = manifest_condition(work, 1, "Applied")
    assert cond is not None and cond["reason"] == "Forbidden" and "deny-namespaces" in cond["message"]
    assert await fleet.member_get(RBAC, "ClusterRoleBinding", "pwn") is not None
    assert await fleet.member_get("v1", "ConfigMap", "sneaky", "kube-system") is None


def test_cli_options_build_the_guard_rails(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from waybill import cli, cmd_agent

    kubeconfig = tmp_path / "hub.kubeconfig"
    kubeconfig.write_text(  # a well-formed kubeconfig: the agent command checks it before the rails
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\n"
    )
    base = ["agent", "--cluster", "eu1", "--hub-kubeconfig", str(kubeconfig), "--kubeconfig", str(kubeconfig)]
    args = cli.build_parser(only="agent").parse_args(
        [*base, "--deny-kinds", "core/Secret", "--deny-kinds", "Job", "--deny-namespaces", "kube-system"]
    )
    rails = cmd_agent.config_from_args(args).guardrails
    assert [str(p) for p in rails.deny_kinds] == ["core/Secret", "Job"]
    assert rails.deny_namespaces == {"kube-system"} and not rails.allow_privileged_rbac
    assert cmd_agent.config_from_args(
        cli.build_parser(only="agent").parse_args([*base, "--allow-privileged-rbac"])
    ).guardrails.allow_privileged_rbac
    config = cmd_agent.config_from_args(cli.build_parser(only="agent").parse_args(base))
    assert config.sealing_key_max_age == 90 * 86400.0
    never = cli.build_parser(only="agent").parse_args([*base, "--sealing-key-max-days", "0"])
    assert cmd_agent.config_from_args(never).sealing_key_max_age is None
    assert cli.main([*base, "--allow-kinds", "/Secret"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --allow-kinds: '/Secret' is not Kind or group/Kind (core/Kind for the core group)"
    )


async def test_sealed_secret_diffs_and_status_never_echo_values(fleet: Fleet) -> None:
    """A sealed Secret the member holds differently: ReportDiff names the path, never a value."""
    import base64
    import json

    from shared import sealing
    from shared.api import names

    await fleet.start_agent()

    async def published() -> dict[str, Any] | None:
        member = await fleet.hub_admin.get(
            names.CLUSTER_API_VERSION,
            names.KIND_MEMBER_CLUSTER,
            name=fleet.cluster,
            namespace=fleet.namespace,
        )
        return (member.get("status") or {}).get("sealingKey")

    from tests.agent.fleet import eventually

    key = sealing.PublicKey.from_status(await eventually(published))
    hub_value, member_value = "hub-side-value-123", "member-side-value-456"
    await fleet.member_admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "app"}})
    await fleet.member_admin.create(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db", "namespace": "app"},
            "data": {"password": base64.b64encode(member_value.encode()).decode()},
        }
    )
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "app"},
        "data": {"password": base64.b64encode(hub_value.encode()).decode()},
    }
    envelope = sealing.seal(manifest, recipient=key, derivation_secret=b"test")
    await fleet.create_work("diff", [envelope], applyStrategy={"type": "ReportDiff"})
    work = await fleet.wait_work("diff", "DiffReported")
    text = json.dumps(work["status"])
    assert manifest_entry(work, 0)["diffs"][0]["path"] == "/data/password"  # the path is reported ...
    for value in (hub_value, member_value):  # ... but neither value, plain or base64
        assert value not in text and base64.b64encode(value.encode()).decode() not in text
