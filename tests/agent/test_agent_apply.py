"""The agent on kubesim: apply, availability, feedback, bad manifests (pull and push)."""

from __future__ import annotations

from tests.agent.fleet import Fleet, configmap, deployment, eventually, manifest_condition, manifest_entry


async def test_applies_a_work_and_reports_available_with_feedback(fleet: Fleet) -> None:
    await fleet.start_agent()
    await fleet.create_work(
        "web",
        [configmap("cfg"), deployment("web", replicas=2)],
        manifestConfigs=[
            {
                "resourceIdentifier": {
                    "group": "apps",
                    "resource": "deployments",
                    "namespace": "app",
                    "name": "web",
                },
                "feedbackRules": [{"type": "WellKnownStatus"}],
            }
        ],
    )
    work = await fleet.wait_work("web", "Available")
    assert manifest_condition(work, 0, "Applied")["status"] == "True"  # type: ignore[index]
    values = {v["name"]: v["fieldValue"] for v in manifest_entry(work, 1)["statusFeedback"]["values"]}
    assert values["AvailableReplicas"] == {"type": "Integer", "integer": 2}
    assert not work["metadata"].get("finalizers"), "the agent writes nothing but status to a Work"
    deploy = await fleet.member_get("apps/v1", "Deployment", "web", "app")
    assert deploy is not None
    assert deploy["metadata"]["labels"]["waybill.dev/work-name"] == "web"
    [owner] = deploy["metadata"]["ownerReferences"]
    assert owner["kind"] == "AppliedWork" and owner["name"] == f"{fleet.namespace}.web"
    managers = {m["manager"] for m in deploy["metadata"]["managedFields"] if m.get("operation") == "Apply"}
    assert managers == {"waybill-agent"}
    ns = await fleet.member_get("v1", "Namespace", "app")
    assert (
        ns is not None
        and ns["metadata"]["annotations"]["waybill.dev/created-namespace"] == f"{fleet.namespace}/web"
    )
    applied = await fleet.member_get("work.waybill.dev/v1alpha1", "AppliedWork", f"{fleet.namespace}.web")
    assert applied is not None
    uids = {r["kind"]: r["uid"] for r in applied["status"]["appliedResources"]}
    assert uids["Deployment"] == deploy["metadata"]["uid"]


async def test_bad_manifest_fails_alone(fleet: Fleet) -> None:
    await fleet.start_agent()
    bad_name = configmap("Bad_Name")
    generate = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"generateName": "x-", "namespace": "app"},
    }
    unserved = {"apiVersion": "example.com/v1", "kind": "Nope", "metadata": {"name": "n", "namespace": "app"}}
    await fleet.create_work("mixed", [configmap("good"), bad_name, generate, unserved])
    work = await fleet.wait_work("mixed", "Applied", "False")

    async def settled() -> dict[str, object] | None:
        w = await fleet.get_work("mixed")
        return w if w and manifest_condition(w, 0, "Applied") else None

    work = await eventually(settled)
    assert manifest_condition(work, 0, "Applied")["status"] == "True"  # type: ignore[index]
    assert manifest_condition(work, 1, "Applied")["reason"] == "DecodingErred"  # type: ignore[index]
    assert manifest_condition(work, 2, "Applied")["reason"] == "DecodingErred"  # type: ignore[index]
    assert manifest_condition(work, 3, "Applied")["reason"] == "ManifestApplyFailed"  # type: ignore[index]
    assert await fleet.member_get("v1", "ConfigMap", "good", "app") is not None

    async def event() -> list[dict[str, object]]:
        events = await fleet.hub_admin.list("v1", "Event", namespace=fleet.namespace)
        return [e for e in events.items if e["involvedObject"]["name"] == "mixed"]

    assert await eventually(event)


async def test_every_tracked_kind_becomes_available_from_simulated_controllers(fleet: Fleet) -> None:
    await fleet.start_agent()
    labels = {"app": "x"}
    pod = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    manifests = [
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "kinds"},
            "spec": {
                "replicas": 2,
                "serviceName": "db",
                "selector": {"matchLabels": labels},
                "template": pod,
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "kinds"},
            "spec": {"selector": {"matchLabels": labels}, "template": pod},
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "once", "namespace": "kinds"},
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}
                }
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "lb", "namespace": "kinds"},
            "spec": {"type": "LoadBalancer", "selector": labels, "ports": [{"port": 80}]},
        },
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": "kinds"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        },
    ]
    configs = [
        {
            "resourceIdentifier": {
                "group": "batch",
                "resource": "jobs",
                "namespace": "kinds",
                "name": "once",
            },
            "feedbackRules": [
                {"type": "WellKnownStatus"},
                {"type": "JSONPaths", "jsonPaths": [{"name": "done", "path": ".succeeded"}]},
            ],
        }
    ]
    await fleet.create_work("kinds", manifests, manifestConfigs=configs)
    work = await fleet.wait_work("kinds", "Available", within=20)
    reasons = [manifest_condition(work, i, "Available")["reason"] for i in range(5)]  # type: ignore[index]
    assert reasons == ["Available"] * 5
    values = {v["name"]: v["fieldValue"] for v in manifest_entry(work, 2)["statusFeedback"]["values"]}
    assert values["JobComplete"] == {"type": "String", "string": "True"}
    assert values["done"] == {"type": "Integer", "integer": 1}
