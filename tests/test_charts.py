"""The Helm charts carry the generated CRDs: the hub chart every hub-side kind, the agent chart
the member-side AppliedWork. They must stay byte-identical to ``crds/`` (regenerate with
``waybill crds --write crds/`` and copy, see docs/operations.md)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
APPLIED_WORK = "appliedworks.work.waybill.dev.yaml"


def _generated() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted((ROOT / "crds").glob("*.yaml"))}


def test_hub_chart_crds_match_generated() -> None:
    expected = {name: text for name, text in _generated().items() if name != APPLIED_WORK}
    actual = {p.name: p.read_text() for p in sorted((ROOT / "charts/waybill-hub/crds").glob("*.yaml"))}
    assert actual == expected


def test_agent_chart_carries_appliedwork_crd() -> None:
    actual = {p.name: p.read_text() for p in (ROOT / "charts/waybill-agent/crds").glob("*.yaml")}
    assert actual == {APPLIED_WORK: _generated()[APPLIED_WORK]}


@pytest.mark.parametrize("chart", ["waybill-hub", "waybill-agent"])
def test_chart_metadata_and_values_parse(chart: str) -> None:
    meta = yaml.safe_load((ROOT / "charts" / chart / "Chart.yaml").read_text())
    assert meta["name"] == chart
    assert meta["apiVersion"] == "v2"
    values = yaml.safe_load((ROOT / "charts" / chart / "values.yaml").read_text())
    assert values["image"]["repository"]


# ---- rendered with real Helm (helm-python-sdk; skipped when it cannot be loaded) -------------------

NS = "waybill-system"
AGENT_MIN = {"clusterName": "eu1", "hubKubeconfig": "apiVersion: v1\nkind: Config\n"}


def _render(chart: str, values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    from tests.ops.charts import render

    return render(chart, values, release=chart, namespace=NS)


def _kinds(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(o["kind"] for o in objects)


def _pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == "Deployment")["spec"]["template"]["spec"]


def _cluster_rules(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for o in objects if o["kind"] == "ClusterRole" for r in o["rules"]]


def test_versions_agree() -> None:
    """One version: pyproject's, as installed (shared/version.py), and the charts' version and appVersion."""
    from shared.version import version

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version() == project
    for chart in ("waybill-hub", "waybill-agent"):
        meta = yaml.safe_load((ROOT / "charts" / chart / "Chart.yaml").read_text())
        assert meta["appVersion"] == project and meta["version"] == project


@pytest.mark.parametrize(("chart", "values"), [("waybill-hub", {}), ("waybill-agent", AGENT_MIN)])
def test_helm_lint_is_clean(chart: str, values: dict[str, Any]) -> None:
    from tests.ops.charts import helm

    report = helm().lint(str(ROOT / "charts" / chart), values, strict=True, namespace=NS)
    assert report["errors"] == [], report


def test_hub_defaults() -> None:
    objects = _render("waybill-hub")
    assert _kinds(objects) == [
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "PodDisruptionBudget",
        "Role",
        "RoleBinding",
        "Service",
        "ServiceAccount",
    ]
    pod = _pod(objects)
    container = pod["containers"][0]
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert "--crds=verify" in container["args"]
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": 0}
    lease_role = next(o for o in objects if o["kind"] == "Role")
    assert lease_role["metadata"]["namespace"] == NS


def test_hub_role_is_least_privilege_by_default() -> None:
    rules = _cluster_rules(_render("waybill-hub"))
    verbs = {v for r in rules for v in r["verbs"]}
    assert not verbs & {"*", "bind", "escalate", "impersonate"}
    resources = {(g, res) for r in rules for g in r["apiGroups"] for res in r["resources"]}
    assert ("", "secrets") not in resources and ("*", "*") not in resources
    assert not any(
        g == "rbac.authorization.k8s.io" and set(r["verbs"]) - {"get", "list", "watch"}
        for r in rules
        for g in r["apiGroups"]
    )
    namespace_verbs = {v for r in rules if "namespaces" in r["resources"] for v in r["verbs"]}
    assert namespace_verbs == {"get", "list", "watch"}
    crd_verbs = {v for r in rules if "customresourcedefinitions" in r["resources"] for v in r["verbs"]}
    assert crd_verbs == {"get"}


def test_hub_non_default_values() -> None:
    objects = _render(
        "waybill-hub",
        {
            "replicaCount": 1,
            "image": {"repository": "registry.example/waybill", "digest": "sha256:" + "a" * 64},
            "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}},
            "templates": {
                "secrets": True,
                "extraRules": [
                    {
                        "apiGroups": ["example.com"],
                        "resources": ["widgets"],
                        "verbs": ["get", "list", "watch"],
                    }
                ],
            },
            "crds": {"upgradeByHub": True},
            "replicaPaths": ["example.com/Widget=spec.size"],
            "serviceAccount": {"name": "custom-hub"},
            "logLevel": "debug",
        },
    )
    kinds = _kinds(objects)
    assert "PodDisruptionBudget" not in kinds, "one replica: a PDB would block node drains"
    assert "ServiceMonitor" in kinds
    container = _pod(objects)["containers"][0]
    assert container["image"] == "registry.example/waybill@sha256:" + "a" * 64
    assert "--crds=upgrade" in container["args"]
    assert "--replica-path=example.com/Widget=spec.size" in container["args"]
    assert _pod(objects)["serviceAccountName"] == "custom-hub"
    rules = _cluster_rules(objects)
    assert any(r["resources"] == ["secrets"] for r in rules)
    assert any(r["apiGroups"] == ["example.com"] for r in rules)
    patch_crds = next(
        r for r in rules if "customresourcedefinitions" in r["resources"] and "patch" in r["verbs"]
    )
    assert sorted(patch_crds["resourceNames"]) == sorted(
        p.stem for p in (ROOT / "charts/waybill-hub/crds").glob("*.yaml")
    )
    read_all = _cluster_rules(_render("waybill-hub", {"templates": {"readAll": True}}))
    assert any(
        r["apiGroups"] == ["*"] and r["resources"] == ["*"] and r["verbs"] == ["get", "list", "watch"]
        for r in read_all
    )


@pytest.mark.parametrize(
    ("chart", "values", "named"),
    [
        ("waybill-hub", {"replicaCout": 3}, "replicaCout"),
        ("waybill-hub", {"templates": {"secret": True}}, "secret"),
        ("waybill-hub", {"image": {"tag": 5}}, "tag"),
        ("waybill-agent", {**AGENT_MIN, "memberRbac": {}}, "memberRbac"),
        ("waybill-agent", {**AGENT_MIN, "memberRBAC": {"mode": "admin"}}, "mode"),
        ("waybill-agent", {**AGENT_MIN, "credentials": {"tokenSeconds": 60}}, "tokenSeconds"),
        ("waybill-agent", {"hubKubeconfig": "x"}, "clusterName"),
    ],
)
def test_unknown_or_bad_values_are_errors(chart: str, values: dict[str, Any], named: str) -> None:
    from tests.ops.charts import helm

    with pytest.raises(helm().HelmError, match=named):
        _render(chart, values)


def test_agent_defaults_and_variants() -> None:
    objects = _render("waybill-agent", AGENT_MIN)
    assert _kinds(objects) == [
        "ClusterRoleBinding",
        "Deployment",
        "Role",
        "RoleBinding",
        "Secret",
        "Service",
        "ServiceAccount",
    ]
    binding = next(o for o in objects if o["kind"] == "ClusterRoleBinding")
    assert binding["roleRef"]["name"] == "cluster-admin"
    container = _pod(objects)["containers"][0]
    assert "--namespace=member-eu1" in container["args"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["WAYBILL_HUB_KUBECONFIG_SECRET"] == f"{NS}/waybill-agent-hub-kubeconfig"
    secret_role = next(o for o in objects if o["kind"] == "Role")
    assert secret_role["rules"] == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["waybill-agent-hub-kubeconfig"],
            "verbs": ["get", "update", "patch"],
        }
    ]
    assert _pod(objects)["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}

    existing = _render(
        "waybill-agent",
        {
            "clusterName": "eu1",
            "existingHubKubeconfigSecret": "mine",
            "credentials": {"rotate": False},
            "hubNamespace": "team-eu1",
        },
    )
    assert "Secret" not in _kinds(existing) and "Role" not in _kinds(existing)
    pod = _pod(existing)
    assert pod["volumes"][0]["secret"]["secretName"] == "mine"
    assert "--namespace=team-eu1" in pod["containers"][0]["args"]
    assert "WAYBILL_HUB_KUBECONFIG_SECRET" not in {e["name"] for e in pod["containers"][0]["env"]}

    restricted = _render(
        "waybill-agent",
        {
            **AGENT_MIN,
            "memberRBAC": {
                "mode": "restricted",
                "resources": [{"apiGroups": [""], "resources": ["configmaps"]}],
            },
        },
    )
    rules = _cluster_rules(restricted)
    managed = {res for r in rules for res in r["resources"]}
    assert "configmaps" in managed and "deployments" not in managed and "secrets" not in managed

    assert "--allow-privileged-rbac" not in container["args"]
    assert "--sealing-key-max-days=90" in container["args"]
    railed = _pod(
        _render(
            "waybill-agent",
            {
                **AGENT_MIN,
                "guardrails": {
                    "denyKinds": ["core/Secret", "Job"],
                    "denyNamespaces": ["kube-system"],
                    "allowPrivilegedRBAC": True,
                },
                "sealing": {"keyMaxDays": 0},
                "replicaManagers": ["keda-operator", "my-scaler"],
            },
        )
    )["containers"][0]["args"]
    assert [a for a in railed if a.startswith("--replica-managers")] == [
        "--replica-managers=keda-operator",
        "--replica-managers=my-scaler",
    ]
    assert [a for a in railed if a.startswith(("--deny-", "--allow-", "--sealing-key-max"))] == [
        "--sealing-key-max-days=0",
        "--deny-kinds=core/Secret",
        "--deny-kinds=Job",
        "--deny-namespaces=kube-system",
        "--allow-privileged-rbac",
    ]


def test_notes_say_how_to_join() -> None:
    from tests.ops.charts import notes

    text = notes("waybill-hub", {}, release="waybill-hub", namespace=NS)
    assert "waybill join" in text and f"{NS}/waybill-hub" in text
    agent = notes("waybill-agent", AGENT_MIN, release="waybill-agent", namespace=NS)
    assert "cluster-admin" in agent and "rotated" in agent


@pytest.mark.parametrize("chart", ["waybill-hub", "waybill-agent"])
def test_readme_documents_every_value(chart: str) -> None:
    values = yaml.safe_load((ROOT / "charts" / chart / "values.yaml").read_text())
    readme = (ROOT / "charts" / chart / "README.md").read_text()
    missing = [key for key in values if f"`{key}" not in readme]
    assert missing == [], f"charts/{chart}/README.md does not describe {missing}"
