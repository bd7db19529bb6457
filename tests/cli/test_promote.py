"""``waybill promote``: a workload running on a member is adopted by its real agent in place
(same UID, same generation on the member), with --deps its ConfigMap too."""

from __future__ import annotations

from typing import Any

from shared.api import names
from tests.cli.cli_helpers import eventually, waybill
from waybill import promoting
from waybill.fleet import Fleet


def legacy(name: str = "legacy") -> list[dict[str, Any]]:
    labels = {"app": name}
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{name}-config", "namespace": "ops"},
            "data": {"mode": "old"},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "ops", "labels": labels},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "c",
                                "image": "nginx:1",
                                "envFrom": [{"configMapRef": {"name": f"{name}-config"}}],
                            }
                        ],
                        "volumes": [{"name": "s", "secret": {"secretName": "absent-secret"}}],
                    },
                },
            },
        },
    ]


async def test_promote_adopts_in_place_by_uid_and_generation(fleet: Fleet) -> None:
    member = fleet.member_apis["eu1"]
    await member.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}})
    created = [await member.create(obj) for obj in legacy()]
    config_before, deploy_before = created
    hub = str(fleet.hub.kubeconfig_path)
    member_config = str(fleet.members["eu1"].kubeconfig_path)

    dry = await waybill(
        "promote",
        "deploy/legacy",
        "-n",
        "ops",
        "--cluster",
        "eu1",
        "--deps",
        "--member-kubeconfig",
        member_config,
        "--dry-run",
        "--kubeconfig",
        hub,
    )
    assert dry.code == 0, dry
    assert "kind: PropagationPolicy" in dry.out and "conflictResolution: Overwrite" in dry.out
    assert "uid:" not in dry.out and "resourceVersion" not in dry.out
    assert "Secret absent-secret is referenced but not on eu1" in dry.err

    result = await waybill(
        "promote",
        "deploy/legacy",
        "-n",
        "ops",
        "--cluster",
        "eu1",
        "--deps",
        "--member-kubeconfig",
        member_config,
        "--kubeconfig",
        hub,
    )
    assert result.code == 0, result
    assert "Deployment legacy: adopted in place" in result.out, result
    assert "ConfigMap legacy-config: adopted in place" in result.out, result

    deploy_after = await member.get("apps/v1", "Deployment", name="legacy", namespace="ops")
    config_after = await member.get("v1", "ConfigMap", name="legacy-config", namespace="ops")
    assert deploy_after["metadata"]["uid"] == deploy_before["metadata"]["uid"]
    assert deploy_after["metadata"]["generation"] == deploy_before["metadata"]["generation"]
    assert config_after["metadata"]["uid"] == config_before["metadata"]["uid"]
    # The agent now owns it: the hub's template drives the member from here on.
    assert any(
        m.get("manager") == names.FIELD_MANAGER_AGENT for m in deploy_after["metadata"]["managedFields"]
    )
    policy = await fleet.hub_api.get(
        names.POLICY_API_VERSION,
        names.KIND_PROPAGATION_POLICY,
        name="promote-deployment-legacy",
        namespace="ops",
    )
    assert policy["spec"]["placement"]["clusterAffinity"]["clusterNames"] == ["eu1"]
    await fleet.hub_api.patch(
        "apps/v1", "Deployment", name="legacy", namespace="ops", patch={"spec": {"replicas": 3}}
    )

    async def scaled() -> bool:
        live = await member.get("apps/v1", "Deployment", name="legacy", namespace="ops")
        return bool(
            live["spec"]["replicas"] == 3 and live["metadata"]["uid"] == deploy_before["metadata"]["uid"]
        )

    await eventually(scaled, what="hub edit reaching the adopted Deployment")
    # Promoting again is refused in one line: it is Waybill's now.
    again = await waybill(
        "promote",
        "deploy/legacy",
        "-n",
        "ops",
        "--cluster",
        "eu1",
        "--member-kubeconfig",
        member_config,
        "--kubeconfig",
        hub,
    )
    assert again.code == 1 and "already managed by Waybill" in again.err, again
    assert (
        promoting.ANNOTATION_PROMOTED_FROM
        in (await fleet.hub_api.get("apps/v1", "Deployment", name="legacy", namespace="ops"))["metadata"][
            "annotations"
        ]
    )


async def test_promote_mistakes_are_one_line(fleet: Fleet) -> None:
    hub = str(fleet.hub.kubeconfig_path)
    member_config = str(fleet.members["eu1"].kubeconfig_path)
    missing = await waybill(
        "promote",
        "deploy/nope",
        "--cluster",
        "eu1",
        "--member-kubeconfig",
        member_config,
        "--kubeconfig",
        hub,
    )
    assert (
        missing.code == 1
        and missing.err.strip() == "error: Deployment nope not found on eu1 in namespace default"
    )
    not_member = await waybill(
        "promote",
        "deploy/nope",
        "--cluster",
        "mars",
        "--member-kubeconfig",
        member_config,
        "--kubeconfig",
        hub,
    )
    assert not_member.code == 1 and "Traceback" not in not_member.err, not_member
    itself = await waybill(
        "promote", "deploy/x", "--cluster", "eu1", "--member-kubeconfig", hub, "--kubeconfig", hub
    )
    assert itself.code == 2 and "points at the hub itself" in itself.err


async def test_promote_refuses_what_the_hub_already_has(fleet: Fleet) -> None:
    member = fleet.member_apis["eu1"]
    await member.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}})
    await member.create(legacy()[0])
    await fleet.hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ops"}})
    await fleet.hub_api.create(legacy()[0])
    result = await waybill(
        "promote",
        "cm/legacy-config",
        "-n",
        "ops",
        "--cluster",
        "eu1",
        "--member-kubeconfig",
        str(fleet.members["eu1"].kubeconfig_path),
        "--kubeconfig",
        str(fleet.hub.kubeconfig_path),
    )
    assert result.code == 1, result
    assert result.err.strip() == (
        "error: ConfigMap legacy-config already exists on the hub; nothing to promote "
        "(edit the hub's template instead)"
    )


async def test_promote_a_cluster_scoped_object_uses_a_cluster_policy(fleet: Fleet) -> None:
    member = fleet.member_apis["eu1"]
    role = await member.create(
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
        }
    )
    result = await waybill(
        "promote",
        "clusterrole/reader",
        "--cluster",
        "eu1",
        "--member-kubeconfig",
        str(fleet.members["eu1"].kubeconfig_path),
        "--kubeconfig",
        str(fleet.hub.kubeconfig_path),
    )
    assert result.code == 0, result
    assert "ClusterRole reader: adopted in place" in result.out, result
    policy = await fleet.hub_api.get(
        names.POLICY_API_VERSION, names.KIND_CLUSTER_PROPAGATION_POLICY, name="promote-clusterrole-reader"
    )
    assert policy["spec"]["resourceSelectors"] == [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "name": "reader"}
    ]
    after = await member.get("rbac.authorization.k8s.io/v1", "ClusterRole", name="reader")
    assert after["metadata"]["uid"] == role["metadata"]["uid"]
