"""``waybill plan --diff``: what would change on each member, asked of the members' own agents.

The CLI holds only the user's hub credentials, never a member's. So it writes, per member, a
short-lived **preview Work** into the member's namespace on the hub carrying exactly what the
hub would put in that member's Works (rendered, overridden, Secrets sealed for that member)
with ``applyStrategy.type: ReportDiff``. The member's agent compares each manifest with the
live object and answers in the Work's status (``DiffReported``, per-field ``diffs`` with the
member's and the hub's values, Secret values redacted) without writing anything on the member.
The CLI prints the answers per member and deletes the Works — also on Ctrl-C, on timeout and
on error. A member whose agent does not answer within the timeout is listed as such.

A preview Work is labelled ``waybill.dev/preview=<id>`` and carries no ``managed-by`` label:
the hub's works controller (its informer selects ``managed-by=waybill``) never adopts, rewrites
or deletes it, and the agent neither lets it claim member objects nor counts it as a placement
(``agent.report_diff``). Each carries an expiry annotation: a later preview deletes expired
ones it finds in the namespaces it writes to (a CLI killed with SIGKILL leaves them behind).

``preview_works``, ``read_answer`` and ``render`` are pure; ``preview`` is the I/O shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hub import manifest_sealing, overrides, planning
from hub.clusters import ClusterView
from hub.matching import TemplateRef
from shared.api import names
from shared.api.meta import parse_time
from shared.kube.client import KubeClient
from shared.kube.errors import ApiError, NotFound

DEFAULT_TIMEOUT = 30.0
POLL_SECONDS = 0.2
WORK_SIZE_LIMIT = 800 * 1024  # like the hub's Works: a preview splits before the object limit
EXPIRY_SLACK = timedelta(minutes=5)  # a preview Work older than its timeout plus this is stale

# Per-manifest outcomes
CREATE = "create"  # not on the member: it would be created
CHANGE = "change"  # fields differ
SAME = "same"  # no field the manifest sets differs
NOT_COMPARED = "not-compared"  # the agent could not compare it (reason in the message)

ANSWERED = "answered"
NO_ANSWER = "no-answer"
NOT_WRITTEN = "not-written"


@dataclass(frozen=True)
class FieldChange:
    """One field: the member's value now and the value that would be applied (JSON text)."""

    path: str
    member: str | None
    hub: str | None


@dataclass(frozen=True)
class ManifestDiff:
    manifest: str  # Kind/ns/name
    outcome: str
    changes: tuple[FieldChange, ...] = ()
    message: str = ""


@dataclass
class MemberAnswer:
    """What one member's agent said (or that it said nothing)."""

    cluster: str
    state: str
    manifests: list[ManifestDiff] = field(default_factory=list)
    message: str = ""


@dataclass
class PreviewWork:
    """A preview Work to write, and which manifest each of its ordinals is."""

    cluster: str
    work: dict[str, Any]
    manifests: list[str]


def _size(manifest: Mapping[str, Any]) -> int:
    return len(json.dumps(manifest, separators=(",", ":"), sort_keys=True))


def work_name(preview_id: str, part: int) -> str:
    return f"waybill-preview-{preview_id}" + (f"-p{part}" if part else "")


def preview_works(
    plans: Sequence[planning.TemplatePlan],
    members: Sequence[Mapping[str, Any]],
    *,
    preview_id: str,
    expires: datetime,
) -> tuple[list[PreviewWork], dict[str, str]]:
    """The preview Works per member, and members that get none (cluster → why) (pure).

    Manifests are those the plan rendered; a Secret (or a manifest annotated for sealing) is
    sealed to the member's key as the hub would, so the preview Work reveals no more than a
    real Work does.
    """
    by_name = {str((m.get("metadata") or {}).get("name", "")): m for m in members}
    per_cluster: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    refused: dict[str, str] = {}
    for entry in plans:
        for cluster, manifest in entry.manifests.items():
            member = by_name.get(cluster)
            if member is None:
                refused[cluster] = "no MemberCluster of that name on the hub"
                continue
            try:
                sealed = manifest_sealing.seal_for(manifest, cluster=ClusterView.from_member(member))
            except overrides.OverrideError as exc:
                refused[cluster] = str(exc)
                continue
            per_cluster.setdefault(cluster, []).append((str(TemplateRef.of(manifest)), sealed))
    works: list[PreviewWork] = []
    stamp = expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for cluster, items in sorted(per_cluster.items()):
        namespace = str((by_name[cluster].get("metadata") or {}).get("namespace") or "")
        if not namespace:
            refused[cluster] = "its MemberCluster has no namespace"
            continue
        parts: list[list[tuple[str, dict[str, Any]]]] = [[]]
        used = 0
        for item in items:
            size = _size(item[1])
            if parts[-1] and used + size > WORK_SIZE_LIMIT:
                parts.append([])
                used = 0
            parts[-1].append(item)
            used += size
        for index, part in enumerate(parts):
            work = {
                "apiVersion": names.WORK_API_VERSION,
                "kind": names.KIND_WORK,
                "metadata": {
                    "name": work_name(preview_id, index),
                    "namespace": namespace,
                    "labels": {names.LABEL_PREVIEW: preview_id, names.LABEL_CLUSTER: cluster},
                    "annotations": {names.ANNOTATION_PREVIEW_EXPIRES: stamp},
                },
                "spec": {
                    "workload": {"manifests": [m for _, m in part]},
                    "applyStrategy": {"type": "ReportDiff"},
                },
            }
            works.append(PreviewWork(cluster=cluster, work=work, manifests=[ref for ref, _ in part]))
    return works, refused


def _condition(conditions: Any, type_: str) -> Mapping[str, Any] | None:
    for cond in conditions or []:
        if isinstance(cond, Mapping) and cond.get("type") == type_:
            return cond
    return None


def _manifest_diff(name: str, entry: Mapping[str, Any] | None) -> ManifestDiff:
    if entry is None:
        return ManifestDiff(name, NOT_COMPARED, message="the agent reported nothing for it")
    conditions = entry.get("conditions")
    reported = _condition(conditions, "DiffReported")
    if reported is None:
        applied = _condition(conditions, names.CONDITION_APPLIED) or {}
        reason = str(applied.get("reason") or "Unknown")
        return ManifestDiff(name, NOT_COMPARED, message=f"{reason}: {applied.get('message') or ''}".strip())
    changes = tuple(
        FieldChange(str(d.get("path", "")), d.get("memberValue"), d.get("hubValue"))
        for d in entry.get("diffs") or []
        if isinstance(d, Mapping)
    )
    if any(c.path == "/" and c.member is None for c in changes):
        return ManifestDiff(name, CREATE, message=str(reported.get("message") or ""))
    return ManifestDiff(name, CHANGE if changes else SAME, changes, str(reported.get("message") or ""))


def read_answer(preview: PreviewWork, live: Mapping[str, Any]) -> list[ManifestDiff] | None:
    """The agent's answer in ``live`` (the preview Work as read back), None while it has not
    answered this generation (pure)."""
    generation = (live.get("metadata") or {}).get("generation")
    status = live.get("status") or {}
    observed = [
        c.get("observedGeneration")
        for c in status.get("conditions") or []
        if isinstance(c, Mapping) and c.get("type") in ("DiffReported", names.CONDITION_APPLIED)
    ]
    if not observed or (generation is not None and generation not in observed):
        return None
    by_ordinal: dict[int, Mapping[str, Any]] = {}
    for entry in status.get("manifestConditions") or []:
        ordinal = ((entry or {}).get("identifier") or {}).get("ordinal")
        if isinstance(ordinal, int):
            by_ordinal[ordinal] = entry
    return [_manifest_diff(name, by_ordinal.get(i)) for i, name in enumerate(preview.manifests)]


def _ready(member: Mapping[str, Any] | None) -> str:
    cond = _condition(((member or {}).get("status") or {}).get("conditions"), "Ready") or {}
    return str(cond.get("status") or "Unknown")


async def _wait(hub_api: KubeClient, preview: PreviewWork, *, deadline: float) -> list[ManifestDiff] | None:
    loop = asyncio.get_running_loop()
    meta = preview.work["metadata"]
    while True:
        try:
            live = await hub_api.get(
                names.WORK_API_VERSION, names.KIND_WORK, name=meta["name"], namespace=meta["namespace"]
            )
        except NotFound:
            return None  # deleted under us (the member namespace went away)
        except ApiError:
            live = None  # a blip (the client already retried): look again until the deadline
        answer = read_answer(preview, live) if live is not None else None
        if answer is not None:
            return answer
        if loop.time() >= deadline:
            return None
        await asyncio.sleep(min(POLL_SECONDS, max(deadline - loop.time(), 0.0)))


async def _delete(hub_api: KubeClient, work: Mapping[str, Any]) -> None:
    meta = work["metadata"]
    with contextlib.suppress(NotFound):
        await hub_api.delete(
            names.WORK_API_VERSION, names.KIND_WORK, name=meta["name"], namespace=meta["namespace"]
        )


async def _remove_expired(hub_api: KubeClient, namespaces: set[str], *, now: datetime) -> None:
    """Delete preview Works past their expiry in ``namespaces`` (left by a killed CLI)."""
    for namespace in sorted(namespaces):
        try:
            found = await hub_api.list(
                names.WORK_API_VERSION,
                names.KIND_WORK,
                namespace=namespace,
                label_selector=names.LABEL_PREVIEW,
            )
        except ApiError:
            continue  # a best-effort sweep; the preview itself will say what is wrong
        for work in found.items:
            annotations = (work.get("metadata") or {}).get("annotations") or {}
            expiry = parse_time(annotations.get(names.ANNOTATION_PREVIEW_EXPIRES))
            if expiry is not None and expiry < now:
                with contextlib.suppress(ApiError):
                    await _delete(hub_api, work)


async def preview(
    hub_api: KubeClient,
    *,
    plans: Sequence[planning.TemplatePlan],
    members: Sequence[Mapping[str, Any]],
    wait_seconds: float,
    preview_id: str | None = None,
) -> list[MemberAnswer]:
    """Write the preview Works, wait up to ``wait_seconds`` for the agents, remove the Works."""
    preview_id = preview_id or secrets.token_hex(4)
    now = datetime.now(UTC)
    works, refused = preview_works(
        plans, members, preview_id=preview_id, expires=now + timedelta(seconds=wait_seconds) + EXPIRY_SLACK
    )
    by_name = {str((m.get("metadata") or {}).get("name", "")): m for m in members}
    answers: dict[str, MemberAnswer] = {
        cluster: MemberAnswer(cluster, NOT_WRITTEN, message=why) for cluster, why in refused.items()
    }
    await _remove_expired(hub_api, {str(w.work["metadata"]["namespace"]) for w in works}, now=now)
    written: list[PreviewWork] = []
    try:
        for item in works:
            written.append(item)  # before the create: cancelled in flight, it is still deleted
            try:
                await hub_api.create(item.work)
            except ApiError as exc:
                written.remove(item)
                why = f"cannot write its preview Work: {exc.reason}: {exc.message}"
                answers[item.cluster] = MemberAnswer(item.cluster, NOT_WRITTEN, message=why)
                continue
        deadline = asyncio.get_running_loop().time() + wait_seconds
        results = await asyncio.gather(*(_wait(hub_api, w, deadline=deadline) for w in written))
        for item, result in zip(written, results, strict=True):
            current = answers.get(item.cluster)
            if current is not None and current.state != ANSWERED:
                continue  # another part already failed: the member's answer is incomplete
            if result is None:
                ready = _ready(by_name.get(item.cluster))
                why = (
                    f"no answer within {wait_seconds:g} s "
                    f"(its agent may be down; MemberCluster Ready={ready})"
                )
                answers[item.cluster] = MemberAnswer(item.cluster, NO_ANSWER, message=why)
                continue
            answer = current or MemberAnswer(item.cluster, ANSWERED)
            answer.manifests.extend(result)
            answers[item.cluster] = answer
    finally:
        # Also when cancelled (Ctrl-C): asyncio.run cancels this task once and lets it finish.
        for item in written:
            with contextlib.suppress(ApiError):
                await _delete(hub_api, item.work)
    return [answers[c] for c in sorted(answers)]


_OUTCOME_TEXT = {
    CREATE: "would be created (not on the member)",
    SAME: "no change",
    NOT_COMPARED: "not compared",
}


def _value(text: str | None) -> str:
    return "(unset)" if text is None else text


def render(answers: Sequence[MemberAnswer]) -> str:
    """The diffs per member, as text (pure)."""
    out: list[str] = []
    if not answers:
        return "== diff: nothing would be placed on any member"
    for answer in answers:
        if answer.state != ANSWERED:
            out.append(f"== diff on {answer.cluster}: {answer.message}")
            continue
        changed = sum(1 for m in answer.manifests if m.outcome in (CHANGE, CREATE))
        total = len(answer.manifests)
        out.append(f"== diff on {answer.cluster}: {changed} of {total} manifests would change")
        for manifest in answer.manifests:
            if manifest.outcome == CHANGE:
                out.append(f"   {manifest.manifest}: {len(manifest.changes)} field(s)")
                for change in manifest.changes:
                    out.append(f"     {change.path}: {_value(change.member)} -> {_value(change.hub)}")
            else:
                why = manifest.outcome == NOT_COMPARED and manifest.message
                detail = f": {manifest.message}" if why else ""
                out.append(f"   {manifest.manifest}: {_OUTCOME_TEXT[manifest.outcome]}{detail}")
    return "\n".join(out)


def exit_code(answers: Sequence[MemberAnswer]) -> int:
    """1 when a member's diff is missing (not answered, not written, or a manifest not compared)."""
    incomplete = any(
        a.state != ANSWERED or any(m.outcome == NOT_COMPARED for m in a.manifests) for a in answers
    )
    return 1 if incomplete else 0
