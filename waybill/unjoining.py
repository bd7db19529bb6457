"""``waybill unjoin``: deregistering a member without leaving a mess on either side.

1. The namespace's ``waybill.dev/member`` label is replaced by the ``waybill.dev/unjoining``
   annotation, so the hub stops placing anything there (and a re-run finds it again).
2. With ``--keep-workloads`` every Work gets ``deleteOption.propagationPolicy: Orphan`` first,
   so the agent lets go of what it applied instead of deleting it.
3. The Works are deleted. With a live agent (its heartbeat Lease is fresh) unjoin first puts
   its own finalizer (``waybill.dev/unjoin``) on each Work, so the deleted Works stay until the
   agent has removed — or orphaned — what it applied and says so with ``Removed=True`` in the
   Work's status; then unjoin lets them go. (The agent itself holds no finalizer on Works: its
   hub identity may not write them.) With the agent gone nothing can clean up the member:
   unjoin then prints exactly which objects will remain there and stops with exit 1 — unless
   ``--force``, which removes any Waybill finalizer left on the Works so the hub side finishes.
4. The namespace is deleted (MemberCluster, Lease, the agent's credentials go with it) and
   unjoin waits until it is gone: nothing is left Terminating.

The decisions (is the agent alive, what remains) are pure functions at the top.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.api import names
from shared.api.meta import parse_time
from shared.kube.client import KubeClient
from shared.kube.errors import Conflict, NotFound
from waybill.output import age

ANNOTATION_UNJOINING = "waybill.dev/unjoining"
_FINALIZER_PREFIXES = ("waybill.dev/", "cluster.waybill.dev/", "work.waybill.dev/")


@dataclass(frozen=True)
class AgentState:
    alive: bool
    description: str


def agent_state(lease: Mapping[str, Any] | None, *, now: datetime) -> AgentState:
    """Whether the member's agent is running, from its heartbeat Lease (pure)."""
    if lease is None:
        return AgentState(False, "no heartbeat Lease: the agent never connected")
    spec = lease.get("spec") or {}
    renewed = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
    if renewed is None:
        return AgentState(False, "its heartbeat Lease was never renewed")
    duration = float(spec.get("leaseDurationSeconds") or 40)
    ago = (now - renewed).total_seconds()
    if ago <= duration:
        return AgentState(True, f"heartbeat {ago:.0f}s ago")
    return AgentState(False, f"last heartbeat {age(renewed.isoformat(), now=now)} ago")


def remaining_objects(works: Iterable[Mapping[str, Any]]) -> list[str]:
    """``Kind namespace/name`` of every object the Works carry (what the agent applied), sorted."""
    found: set[str] = set()
    for work in works:
        for manifest in ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []:
            meta = manifest.get("metadata") or {}
            where = f"{meta['namespace']}/" if meta.get("namespace") else ""
            found.add(f"{manifest.get('kind')} {where}{meta.get('name')}")
    return sorted(found)


def waybill_finalizers(finalizers: Iterable[str]) -> list[str]:
    return [f for f in finalizers if f.startswith(_FINALIZER_PREFIXES)]


# ---- the I/O shell ----------------------------------------------------------------------------


async def member_namespaces(hub_api: KubeClient, cluster: str) -> list[str]:
    """Namespaces registering ``cluster``, or left half-unjoined by an earlier run."""
    labelled = (await hub_api.list("v1", "Namespace", label_selector=f"{names.LABEL_MEMBER}={cluster}")).items
    found = {str(n["metadata"]["name"]) for n in labelled}
    for namespace in (await hub_api.list("v1", "Namespace")).items:
        if ((namespace["metadata"].get("annotations") or {}).get(ANNOTATION_UNJOINING)) == cluster:
            found.add(str(namespace["metadata"]["name"]))
    return sorted(found)


async def _works(hub_api: KubeClient, namespace: str) -> list[dict[str, Any]]:
    return (await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace=namespace)).items


async def _lease(hub_api: KubeClient, namespace: str) -> dict[str, Any] | None:
    try:
        return await hub_api.get(
            "coordination.k8s.io/v1", "Lease", name=names.HEARTBEAT_LEASE_NAME, namespace=namespace
        )
    except NotFound:
        return None


async def _orphan(hub_api: KubeClient, work: Mapping[str, Any]) -> None:
    option = ((work.get("spec") or {}).get("deleteOption") or {}).get("propagationPolicy")
    if option == "Orphan" or (work.get("metadata") or {}).get("deletionTimestamp"):
        return
    with contextlib.suppress(NotFound):
        await hub_api.patch(
            names.WORK_API_VERSION,
            names.KIND_WORK,
            name=work["metadata"]["name"],
            namespace=work["metadata"]["namespace"],
            patch={"spec": {"deleteOption": {"propagationPolicy": "Orphan"}}},
        )


async def _strip_finalizers(hub_api: KubeClient, obj: Mapping[str, Any]) -> bool:
    """Remove Waybill's finalizers from ``obj`` (a Work or MemberCluster); whether any were there."""
    meta = obj.get("metadata") or {}
    finalizers = list(meta.get("finalizers") or [])
    ours = waybill_finalizers(finalizers)
    if not ours:
        return False
    kept = [f for f in finalizers if f not in ours]
    api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
    with contextlib.suppress(NotFound, Conflict):  # Conflict: changed meanwhile; the next pass retries
        await hub_api.patch(
            api_version,
            kind,
            name=meta["name"],
            namespace=meta.get("namespace"),
            patch={"metadata": {"finalizers": kept or None, "resourceVersion": meta.get("resourceVersion")}},
        )
    return True


async def _deregister(hub_api: KubeClient, namespace: str, cluster: str) -> None:
    """Swap the member label for the unjoining annotation: the hub stops placing here."""
    with contextlib.suppress(NotFound):
        await hub_api.patch(
            "v1",
            "Namespace",
            name=namespace,
            patch={
                "metadata": {
                    "labels": {names.LABEL_MEMBER: None},
                    "annotations": {ANNOTATION_UNJOINING: cluster},
                }
            },
        )


def reported_removed(work: Mapping[str, Any]) -> bool:
    """Whether the agent says it removed (or let go of) what it applied for this deleted Work."""
    return any(
        isinstance(c, Mapping) and c.get("type") == names.CONDITION_REMOVED and c.get("status") == "True"
        for c in (work.get("status") or {}).get("conditions") or []
    )


async def _hold_and_delete(hub_api: KubeClient, work: Mapping[str, Any]) -> None:
    """Put unjoin's finalizer on ``work`` and delete it: it stays until the agent reports."""
    meta = work.get("metadata") or {}
    finalizers = list(meta.get("finalizers") or [])
    with contextlib.suppress(NotFound):
        if names.FINALIZER_UNJOIN not in finalizers and not meta.get("deletionTimestamp"):
            await hub_api.patch(
                names.WORK_API_VERSION,
                names.KIND_WORK,
                name=meta["name"],
                namespace=meta.get("namespace"),
                patch={"metadata": {"finalizers": [*finalizers, names.FINALIZER_UNJOIN]}},
            )
        if not meta.get("deletionTimestamp"):
            await hub_api.delete(
                names.WORK_API_VERSION, names.KIND_WORK, name=meta["name"], namespace=meta.get("namespace")
            )


async def _drain(hub_api: KubeClient, namespace: str, *, deadline: float) -> list[str]:
    """Delete every Work, held until the live agent reports it removed; the Works not reported."""
    for work in await _works(hub_api, namespace):
        await _hold_and_delete(hub_api, work)
    while True:
        pending = [w for w in await _works(hub_api, namespace) if not reported_removed(w)]
        if not pending or time.monotonic() >= deadline:
            return sorted(w["metadata"]["name"] for w in pending)
        for work in pending:  # a Work the hub wrote meanwhile is held and deleted too
            await _hold_and_delete(hub_api, work)
        await asyncio.sleep(0.2)


async def _wait_works_gone(
    hub_api: KubeClient, namespace: str, *, keep: bool, deadline: float, strip: bool
) -> list[dict[str, Any]]:
    """Delete Works until none is left or ``deadline``; the Works still there at the end."""
    while True:
        works = await _works(hub_api, namespace)
        if not works:
            return []
        for work in works:
            if keep:
                await _orphan(hub_api, work)
            if strip:
                await _strip_finalizers(hub_api, work)
            if not (work.get("metadata") or {}).get("deletionTimestamp"):
                with contextlib.suppress(NotFound):
                    await hub_api.delete(
                        names.WORK_API_VERSION,
                        names.KIND_WORK,
                        name=work["metadata"]["name"],
                        namespace=namespace,
                    )
        if time.monotonic() >= deadline:
            return await _works(hub_api, namespace)
        await asyncio.sleep(0.2)


async def _wait_namespace_gone(hub_api: KubeClient, namespace: str, *, deadline: float, strip: bool) -> bool:
    with contextlib.suppress(NotFound):
        await hub_api.delete("v1", "Namespace", name=namespace)
    while True:
        try:
            await hub_api.get("v1", "Namespace", name=namespace)
        except NotFound:
            return True
        if strip:
            for kind, api_version in (
                (names.KIND_WORK, names.WORK_API_VERSION),
                (names.KIND_MEMBER_CLUSTER, names.CLUSTER_API_VERSION),
            ):
                with contextlib.suppress(NotFound):
                    for obj in (await hub_api.list(api_version, kind, namespace=namespace)).items:
                        await _strip_finalizers(hub_api, obj)
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.2)


def _print_remaining(cluster: str, objects: list[str], *, why: str, out: Any = sys.stderr) -> None:
    print(
        f"{why}; these {len(objects)} object(s) will remain on {cluster}, no longer managed by Waybill:",
        file=out,
    )
    for line in objects:
        print(f"  {line}", file=out)


async def unjoin(hub_api: KubeClient, *, cluster: str, wait: float, force: bool, keep_workloads: bool) -> int:
    found = await member_namespaces(hub_api, cluster)
    if not found:
        print(
            f"error: no member namespace registers {cluster!r} (see `waybill get clusters`)", file=sys.stderr
        )
        return 1
    code = 0
    for namespace in found:
        deadline = time.monotonic() + wait
        works = await _works(hub_api, namespace)
        agent = agent_state(await _lease(hub_api, namespace), now=datetime.now(tz=UTC))
        objects = remaining_objects(works)
        if works and not agent.alive and not force:
            _print_remaining(
                cluster,
                objects,
                why=f"error: the agent of {cluster} is not running ({agent.description}),"
                " so nothing can clean up the member",
            )
            print(
                "Start its agent and run unjoin again, or pass --force to finish the hub side anyway.",
                file=sys.stderr,
            )
            return 1
        if keep_workloads:
            for work in works:
                await _orphan(hub_api, work)
        await _deregister(hub_api, namespace, cluster)
        unreported = await _drain(hub_api, namespace, deadline=deadline) if agent.alive else []
        if unreported and not force:
            print(
                f"error: the agent of {cluster} has not reported {len(unreported)} Work(s) in {namespace} "
                f"removed after {wait:.0f}s ({agent.description}): {', '.join(unreported)}",
                file=sys.stderr,
            )
            print(
                "Run unjoin again to keep waiting, or pass --force to finish the hub side anyway.",
                file=sys.stderr,
            )
            return 1
        left = await _wait_works_gone(
            hub_api,
            namespace,
            keep=keep_workloads,
            deadline=deadline if agent.alive else time.monotonic(),
            strip=agent.alive or force,  # alive: only unjoin's own finalizer is left, the agent reported
        )
        if left and not force:
            print(
                f"error: {len(left)} Work(s) in {namespace} still finalizing after {wait:.0f}s "
                f"({agent.description}): {', '.join(w['metadata']['name'] for w in left)}",
                file=sys.stderr,
            )
            print(
                "Run unjoin again to keep waiting, or pass --force to finish the hub side anyway.",
                file=sys.stderr,
            )
            return 1
        if left:
            left = await _wait_works_gone(
                hub_api, namespace, keep=keep_workloads, deadline=time.monotonic() + wait, strip=True
            )
        if not await _wait_namespace_gone(
            hub_api, namespace, deadline=max(deadline, time.monotonic() + 5), strip=force
        ):
            print(
                f"error: namespace {namespace} is still Terminating after {wait:.0f}s "
                "(pass --force to remove Waybill's finalizers)",
                file=sys.stderr,
            )
            code = 1
            continue
        if objects and (keep_workloads or not agent.alive):
            why = (
                "--keep-workloads"
                if keep_workloads and agent.alive
                else f"the agent of {cluster} is not running ({agent.description})"
            )
            _print_remaining(cluster, objects, why=f"note: {why}", out=sys.stdout)
        elif objects:
            # Each Work was held until its agent reported Removed=True: this is done, not pending.
            print(f"removed {len(objects)} object(s) Waybill had applied on {cluster}")
        print(f"member {cluster} unjoined (namespace {namespace} deleted)")
    return code
