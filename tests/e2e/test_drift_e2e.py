"""Drift end to end on kubesim, pull and push: hub, agents, ``kubectl`` and ``waybill status``.

An edit on a member is corrected by its agent in well under a second; afterwards the Work still
says what happened (``lastDrift``), the binding shows the cluster as drifted, ``waybill status``
prints it, and the template gets one ``DriftCorrected`` Event per drift. With the policy's
``applyStrategy.whenToApply: IfNotDrifted`` the edit stays on the member and is reported
(``DriftDetected``); Secret values appear nowhere on the hub.
"""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shared.api import names
from tests.e2e.e2e_fleet import E2EFleet, SimFactory, e2e_fleet
from tests.hub.fleet import eventually

SHOP = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
WEB = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
        },
    },
}
SETTINGS = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": "shop"},
    "data": {"color": "blue"},
}
DB_PASSWORD = "hub-side-password"
DB = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "db", "namespace": "shop"},
    "stringData": {"password": DB_PASSWORD},
}


def policy(name: str, kinds: list[tuple[str, str]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": names.POLICY_API_VERSION,
        "kind": "PropagationPolicy",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "resourceSelectors": [{"apiVersion": a, "kind": k} for a, k in kinds],
            "placement": {"clusterAffinity": {"clusterNames": ["eu1", "eu2"]}},
            **spec,
        },
    }


def members(mode: str) -> dict[str, list[str]]:
    return {"eu1": ["--mode", mode], "eu2": ["--mode", mode]}


async def binding_item(fleet: E2EFleet, name: str, cluster: str) -> dict[str, Any]:
    binding = await fleet.hub_api.get(
        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name=name, namespace="shop"
    )
    for item in (binding.get("status") or {}).get("aggregatedStatus") or []:
        if item.get("clusterName") == cluster:
            return dict(item)
    return {}


async def template_events(fleet: E2EFleet, kind: str, name: str, reason: str) -> list[dict[str, Any]]:
    listed = await fleet.hub_api.list("v1", "Event", namespace="shop")
    return [
        e
        for e in listed.items
        if e.get("reason") == reason
        and e["involvedObject"].get("kind") == kind
        and e["involvedObject"].get("name") == name
    ]


async def waybill_status(fleet: E2EFleet, target: str) -> str:
    command = [sys.executable, "-m", "waybill", "status", target, "-n", "shop"]
    command += ["--kubeconfig", str(fleet.hub_sim.kubeconfig_path)]
    result = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def row(text: str, cluster: str) -> list[str]:
    return next(line.split() for line in text.splitlines() if line.startswith(f"{cluster} "))


async def hub_work_with_record(fleet: E2EFleet, cluster: str, kind: str, name: str) -> dict[str, Any] | None:
    listed = await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace=f"member-{cluster}")
    for work in listed.items:
        for entry in (work.get("status") or {}).get("manifestConditions") or []:
            ident = entry.get("identifier") or {}
            if (ident.get("kind"), ident.get("name")) == (kind, name) and entry.get("lastDrift"):
                return dict(entry)
    return None


@pytest.mark.parametrize("mode", ["pull", "push"])
async def test_a_corrected_edit_is_reported_everywhere(
    sim_factory: SimFactory, tmp_path: Path, mode: str
) -> None:
    """Seen: afterwards the Work said NoDrift, the binding's drifted was unset, waybill status said
    DRIFT=no, and there was no Event."""
    async with e2e_fleet(sim_factory, tmp_path, members(mode)) as fleet:
        await fleet.apply(SHOP, policy("web", [("apps/v1", "Deployment")]), WEB)
        eu1 = fleet.member_apis["eu1"]

        async def applied(cluster: str) -> bool:
            return bool((await binding_item(fleet, "web-deployment", cluster)).get("applied"))

        await eventually(lambda: applied("eu1"), within=20, what="web applied on eu1")
        await eventually(lambda: applied("eu2"), within=20, what="web applied on eu2")
        await eu1.patch(
            "apps/v1",
            "Deployment",
            name="web",
            namespace="shop",
            patch={"spec": {"replicas": 7}},
            field_manager="kubectl-edit",
        )

        async def corrected() -> bool:
            live = await eu1.get("apps/v1", "Deployment", name="web", namespace="shop")
            return bool(live["spec"]["replicas"] == 2)

        await eventually(corrected, what="the edit corrected on eu1")

        # the Work keeps the record
        entry = await eventually(
            lambda: hub_work_with_record(fleet, "eu1", "Deployment", "web"), what="lastDrift in eu1's Work"
        )
        assert entry["lastDrift"]["corrected"] is True
        assert entry["lastDrift"]["changedBy"] == ["kubectl-edit"]
        assert entry["lastDrift"]["fields"] == [
            {"path": "/spec/replicas", "memberValue": "7", "hubValue": "2"}
        ]

        # the binding shows it (eu2 was not touched)
        async def binding_drifted() -> dict[str, Any] | None:
            item = await binding_item(fleet, "web-deployment", "eu1")
            return item if item.get("drifted") and item.get("lastDrift") else None

        item = await eventually(binding_drifted, what="binding shows eu1 drifted")
        assert item["lastDrift"]["corrected"] is True and item["lastDrift"]["fields"] == ["/spec/replicas"]
        assert item["lastDrift"]["changedBy"] == ["kubectl-edit"]
        assert not (await binding_item(fleet, "web-deployment", "eu2")).get("drifted")

        # waybill status shows it
        text = await waybill_status(fleet, "deployment/web")
        assert row(text, "eu1")[5] == "corrected" and row(text, "eu2")[5] == "no"
        assert "Last drift:" in text and "eu1: /spec/replicas changed by kubectl-edit" in text

        # one Event for this drift...
        await eventually(
            lambda: template_events(fleet, "Deployment", "web", "DriftCorrected"), what="DriftCorrected Event"
        )
        # ...and one for the next: the status reconciles in between saw the first record again
        # and again without recording it twice
        await eu1.patch(
            "apps/v1",
            "Deployment",
            name="web",
            namespace="shop",
            patch={"spec": {"replicas": 9}},
            field_manager="kubectl-scale",
        )

        async def second_record() -> dict[str, Any] | None:
            found = await binding_item(fleet, "web-deployment", "eu1")
            return found if (found.get("lastDrift") or {}).get("changedBy") == ["kubectl-scale"] else None

        await eventually(second_record, what="the second drift in the binding")

        async def two_events() -> list[dict[str, Any]] | None:
            found = await template_events(fleet, "Deployment", "web", "DriftCorrected")
            return found if len(found) >= 2 else None

        events = await eventually(two_events, what="a second DriftCorrected Event")
        assert len(events) == 2, [e["message"] for e in events]
        assert all(e["type"] == "Normal" and e["involvedObject"].get("uid") for e in events)
        assert "eu1: /spec/replicas changed by kubectl-edit" in sorted(e["message"] for e in events)[0]


@pytest.mark.parametrize("mode", ["pull", "push"])
async def test_if_not_drifted_leaves_the_edit_and_reports_it(
    sim_factory: SimFactory, tmp_path: Path, mode: str
) -> None:
    async with e2e_fleet(sim_factory, tmp_path, members(mode)) as fleet:
        report_only = policy(
            "config", [("v1", "ConfigMap"), ("v1", "Secret")], applyStrategy={"whenToApply": "IfNotDrifted"}
        )
        await fleet.apply(SHOP, report_only, SETTINGS, DB)
        eu1 = fleet.member_apis["eu1"]
        for name in ("settings-configmap", "db-secret"):
            await eventually(
                lambda n=name: binding_item(fleet, n, "eu1"), within=20, what=f"{name} reported on eu1"
            )

            async def applied(n: str = name) -> bool:
                return bool((await binding_item(fleet, n, "eu1")).get("applied"))

            await eventually(applied, within=20, what=f"{name} applied on eu1")
        member_password = base64.b64encode(b"member-side-password").decode()
        await eu1.patch(
            "v1",
            "ConfigMap",
            name="settings",
            namespace="shop",
            patch={"data": {"color": "red"}},
            field_manager="ops-hotfix",
        )
        await eu1.patch(
            "v1",
            "Secret",
            name="db",
            namespace="shop",
            patch={"data": {"password": member_password}},
            field_manager="ops-hotfix",
        )

        async def reported(name: str) -> dict[str, Any] | None:
            item = await binding_item(fleet, name, "eu1")
            drift = item.get("lastDrift") or {}
            return item if drift and drift.get("corrected") is False else None

        settings_item = await eventually(
            lambda: reported("settings-configmap"), what="settings drift reported"
        )
        await eventually(lambda: reported("db-secret"), what="db drift reported")
        # the agent decided and reported in one pass: the edits are still there
        live = await eu1.get("v1", "ConfigMap", name="settings", namespace="shop")
        assert live["data"] == {"color": "red"}
        secret = await eu1.get("v1", "Secret", name="db", namespace="shop")
        assert secret["data"]["password"] == member_password
        assert settings_item["lastDrift"]["fields"] == ["/data/color"]
        assert settings_item["lastDrift"]["changedBy"] == ["ops-hotfix"]

        text = await waybill_status(fleet, "configmap/settings")
        assert row(text, "eu1")[5] == "yes" and row(text, "eu2")[5] == "no"
        assert "not corrected" in text

        detected = await eventually(
            lambda: template_events(fleet, "ConfigMap", "settings", "DriftDetected"),
            what="DriftDetected Event",
        )
        assert len(detected) == 1 and detected[0]["type"] == "Warning"
        assert not await template_events(fleet, "ConfigMap", "settings", "ApplyFailed")

        # Secret values: nowhere on the hub (Works' status, binding, Events)
        works = await fleet.hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace="member-eu1")
        statuses = json.dumps([w.get("status") for w in works.items])
        binding = await fleet.hub_api.get(
            names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name="db-secret", namespace="shop"
        )
        events = await fleet.hub_api.list("v1", "Event", namespace="shop")
        hub_text = statuses + json.dumps(binding.get("status")) + json.dumps(events.items)
        assert '"memberValue": "(redacted)"' in statuses
        for value in (
            DB_PASSWORD,
            "member-side-password",
            member_password,
            base64.b64encode(DB_PASSWORD.encode()).decode(),
        ):
            assert value not in hub_text


DENY_LIMITS = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicy",
    "metadata": {"name": "no-limits"},
    "spec": {
        "failurePolicy": "Fail",
        "matchConstraints": {
            "resourceRules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": ["configmaps"],
                }
            ]
        },
        "validations": [
            {
                "expression": "object.metadata.name != 'limits'",
                "message": "limits are set locally",
                "reason": "Forbidden",
            }
        ],
    },
}
DENY_LIMITS_BINDING = {
    "apiVersion": "admissionregistration.k8s.io/v1",
    "kind": "ValidatingAdmissionPolicyBinding",
    "metadata": {"name": "no-limits"},
    "spec": {"policyName": "no-limits", "validationActions": ["Deny"]},
}


@pytest.mark.parametrize("mode", ["pull", "push"])
async def test_apply_failures_and_refused_takeovers_are_events_on_the_template(
    sim_factory: SimFactory, tmp_path: Path, mode: str
) -> None:
    async with e2e_fleet(sim_factory, tmp_path, members(mode)) as fleet:
        eu1 = fleet.member_apis["eu1"]
        # eu1 refuses ConfigMap "limits" (an admission policy) and already has its own "settings"
        await eu1.create(DENY_LIMITS)
        await eu1.create(DENY_LIMITS_BINDING)
        await eu1.create(SHOP)
        await eu1.create({**SETTINGS, "data": {"color": "green"}})
        limits = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "limits", "namespace": "shop"},
            "data": {"cpu": "2"},
        }
        await fleet.apply(SHOP, policy("config", [("v1", "ConfigMap")]), SETTINGS, limits)

        failed = await eventually(
            lambda: template_events(fleet, "ConfigMap", "limits", "ApplyFailed"),
            within=20,
            what="ApplyFailed Event",
        )
        assert len(failed) == 1 and failed[0]["type"] == "Warning"
        assert (
            failed[0]["message"].startswith("eu1: ManifestApplyFailed: Forbidden")
            and "limits are set locally" in failed[0]["message"]
        )
        refused = await eventually(
            lambda: template_events(fleet, "ConfigMap", "settings", "NotTakenOver"),
            within=20,
            what="NotTakenOver Event",
        )
        assert len(refused) == 1 and refused[0]["message"].startswith("eu1: the object exists on the member")
        # eu2 is fine: no Event names it
        async def applied_on_eu2() -> bool:
            return bool((await binding_item(fleet, "limits-configmap", "eu2")).get("applied"))

        await eventually(applied_on_eu2, what="limits applied on eu2")
        events = await fleet.hub_api.list("v1", "Event", namespace="shop")
        assert not [e for e in events.items if str(e.get("message", "")).startswith("eu2:")]
        # the member's own object is untouched
        live = await eu1.get("v1", "ConfigMap", name="settings", namespace="shop")
        assert live["data"] == {"color": "green"}
