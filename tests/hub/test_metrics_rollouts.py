"""Rollout metrics: ``waybill_rollout_duration_seconds{strategy,outcome}`` observes a staged
rollout that completes and one that halts (once each), and ``waybill_rollouts_halted{strategy}``
counts the halted one — on a kubesim hub whose Works are answered by an in-test stand-in for the
agents (Available, or Applied=False for the template meant to fail)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from hub import fleet_metrics, rollout_metrics
from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import ApiError
from shared.ops.metrics import REGISTRY
from tests.hub.fleet import add_member, eventually, running_hub
from tests.hub.helpers import deployment, policy

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def count(strategy: str, outcome: str) -> float:
    labels = {"strategy": strategy, "outcome": outcome}
    return REGISTRY.get_sample_value("waybill_rollout_duration_seconds_count", labels) or 0.0


def rollout_status(phase: str, *, revision: int = 2, strategy: str = "Staged") -> dict[str, Any]:
    return {"strategy": strategy, "revision": revision, "phase": phase, "started": "2026-12-07T12:00:00.000Z"}


def test_a_rollout_is_observed_once_when_it_completes_or_halts() -> None:
    later = T0 + timedelta(seconds=90)
    progressing = rollout_status("Progressing")
    assert rollout_metrics.finished(progressing, rollout_status("Complete"), now=later) == (
        "Staged",
        "complete",
        90,
    )
    assert rollout_metrics.finished(None, rollout_status("Halted", strategy="RollingUpdate"), now=later) == (
        "RollingUpdate",
        "halted",
        90,
    )
    # the same end written again (a progress-only rewrite, a restart): not observed twice
    assert rollout_metrics.finished(rollout_status("Complete"), rollout_status("Complete"), now=later) is None
    # a new generation that completes is a new rollout
    assert rollout_metrics.finished(
        rollout_status("Complete", revision=1), rollout_status("Complete"), now=later
    )
    assert rollout_metrics.finished(None, progressing, now=later) is None
    before = count("Staged", "complete")
    rollout_metrics.record(progressing, rollout_status("Complete"), now=later)
    assert count("Staged", "complete") == before + 1


def test_the_halted_gauge_counts_halted_bindings_by_strategy() -> None:
    def binding(phase: str | None, strategy: str = "Staged") -> dict[str, Any]:
        return {"status": {"rollout": {"phase": phase, "strategy": strategy}} if phase else {}}

    facts = fleet_metrics.FleetFacts(
        namespaces=[],
        members=[],
        leases=[],
        works=[],
        bindings=[binding("Halted"), binding("Halted", "RollingUpdate"), binding("Complete"), binding(None)],
    )
    assert fleet_metrics.fleet_samples(facts).rollouts_halted == {"Staged": 1, "RollingUpdate": 1}


def test_the_halted_gauge_is_exported_by_a_leading_hub_only() -> None:
    halted = {"status": {"rollout": {"phase": "Halted", "strategy": "Staged"}}}
    facts = fleet_metrics.FleetFacts(namespaces=[], members=[], leases=[], works=[], bindings=[halted])

    def value(strategy: str) -> float | None:
        return REGISTRY.get_sample_value("waybill_rollouts_halted", {"strategy": strategy})

    standby = fleet_metrics.register_source(lambda: None)
    try:
        assert value("Staged") is None and value("RollingUpdate") is None
        leader = fleet_metrics.register_source(lambda: facts)
        try:
            assert (value("Staged"), value("RollingUpdate")) == (1.0, 0.0)
        finally:
            fleet_metrics.unregister_source(leader)
    finally:
        fleet_metrics.unregister_source(standby)


def work_status(work: Mapping[str, Any], *, failing: str) -> dict[str, Any]:
    """What an agent would report: every manifest applied and Available, but ``failing``'s apply fails."""
    generation = (work.get("metadata") or {}).get("generation")
    now = "2026-12-07T12:00:00Z"

    def cond(kind: str, status: str = "True") -> dict[str, Any]:
        reason = kind if status == "True" else "ApplyFailed"
        return {
            "type": kind,
            "status": status,
            "reason": reason,
            "lastTransitionTime": now,
            "observedGeneration": generation,
        }

    manifests = []
    for ordinal, manifest in enumerate(
        ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []
    ):
        group, _, version = str(manifest.get("apiVersion")).rpartition("/")
        meta = manifest.get("metadata") or {}
        failed = meta.get("name") == failing
        manifests.append(
            {
                "identifier": {
                    "ordinal": ordinal,
                    "group": group,
                    "version": version,
                    "kind": manifest.get("kind"),
                    "resource": str(manifest.get("kind")).lower() + "s",
                    "namespace": meta.get("namespace"),
                    "name": meta.get("name"),
                },
                "conditions": [cond(names.CONDITION_APPLIED, "False")]
                if failed
                else [cond(names.CONDITION_APPLIED), cond(names.CONDITION_AVAILABLE)],
            }
        )
    return {"conditions": [cond(names.CONDITION_APPLIED)], "manifestConditions": manifests}


async def stand_in_agents(hub_api: KubeClient, *, failing: str) -> None:
    """Answer each Work generation (polling: a test stand-in, not a measurement)."""
    while True:
        with contextlib.suppress(ApiError):
            for work in (await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK)).items:
                meta = work["metadata"]
                conds = (work.get("status") or {}).get("conditions") or []
                applied: dict[str, Any] = next(
                    (c for c in conds if c.get("type") == names.CONDITION_APPLIED), {}
                )
                if applied.get("observedGeneration") != meta.get("generation"):
                    await hub_api.patch_status(
                        names.WORK_API_VERSION,
                        names.KIND_WORK,
                        name=meta["name"],
                        namespace=meta["namespace"],
                        patch={"status": work_status(work, failing=failing)},
                    )
        await asyncio.sleep(0.1)


async def phase_of(hub_api: KubeClient, binding: str) -> str | None:
    found = await hub_api.get(
        names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, name=binding, namespace="default"
    )
    return ((found.get("status") or {}).get("rollout") or {}).get("phase")


async def test_a_completed_and_a_halted_staged_rollout_are_measured(hub_sim: SimServer) -> None:
    complete_before, halted_before = count("Staged", "complete"), count("Staged", "halted")
    async with running_hub(str(hub_sim.kubeconfig_path)) as (hub, hub_api):
        for name, ring in (("a", "0"), ("b", "1")):
            await add_member(hub_api, name, labels={"ring": ring})
        stages = [{"name": "canary", "labelSelector": {"matchLabels": {"ring": "0"}}}, {"name": "rest"}]
        for template in ("good", "bad"):
            rolled = policy(
                template, selectors=[{"apiVersion": "apps/v1", "kind": "Deployment", "name": template}]
            )
            rolled["spec"]["rolloutStrategy"] = {"type": "Staged", "staged": {"stages": stages}}
            await hub_api.create(rolled)
            await hub_api.create(deployment(template))
        agents = asyncio.create_task(stand_in_agents(hub_api, failing="bad"))
        try:

            async def ended(binding: str, phase: str) -> bool:
                return await phase_of(hub_api, binding) == phase

            await eventually(lambda: ended("good-deployment", "Complete"), within=30, what="good: Complete")
            await eventually(lambda: ended("bad-deployment", "Halted"), within=30, what="bad: Halted")
        finally:
            agents.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await agents
        assert count("Staged", "complete") == complete_before + 1
        assert count("Staged", "halted") == halted_before + 1

        async def halted_now() -> dict[str, int] | None:
            # at scrape time, from the hub's bindings cache (which follows the API server)
            facts = fleet_metrics.FleetFacts(
                namespaces=[], members=[], leases=[], works=[], bindings=hub.state.all_bindings()
            )
            found = dict(fleet_metrics.fleet_samples(facts).rollouts_halted)
            return found if found else None

        assert await eventually(halted_now, what="the halted rollout counted") == {"Staged": 1}
