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
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hub import interpretation, manifest_sealing, overrides, planning, rollout_checks
from hub.clusters import ClusterView
from hub.matching import PolicyRef, TemplateRef
from shared.api import names
from shared.api.meta import parse_time
from shared.interpreter import Interpreter
from shared.kube.client import KubeClient
from shared.kube.errors import ApiError, Forbidden, NotFound
from waybill import plan_sources

DEFAULT_TIMEOUT = 30.0
POLL_SECONDS = 0.25  # one list of this preview's Works per round, whatever the member count
WORK_SIZE_LIMIT = 800 * 1024  # like the hub's Works: a preview splits before the object limit
EXPIRY_SLACK = timedelta(minutes=5)  # a preview Work older than its timeout plus this is stale

# Per-manifest outcomes
CREATE = "create"  # not on the member: it would be created
CHANGE = "change"  # fields differ
SAME = "same"  # no field the manifest sets differs
NOT_COMPARED = "not-compared"  # the agent could not compare it (reason in the message)
NOT_TAKEN_OVER = "not-taken-over"  # on the member, not Waybill's: a real apply would leave it alone
REMOVE = "remove"  # placed there now, no longer: it would be removed from the member
SUSPENDED = "suspended"  # spec.suspension: the member's Works stay as they are (not sent)
HELD = "held"  # the rollout strategy is invalid: the hub releases nothing new (not sent)

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
    rollout: rollout_checks.MemberRollout | None = None
    """When the change would reach the member under a RollingUpdate or Staged strategy."""


@dataclass
class MemberAnswer:
    """What one member's agent said (or that it said nothing)."""

    cluster: str
    state: str
    manifests: list[ManifestDiff] = field(default_factory=list)
    message: str = ""
    seconds: float | None = None  # from writing its preview Work(s) to reading the last answer


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


@dataclass
class PreviewSet:
    """What ``preview_works`` decided: the Works to write, members that get none, and manifests
    not sent (a Secret that cannot be sealed for the member), as answers already known."""

    works: list[PreviewWork] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # cluster → why it gets no preview
    not_sent: dict[str, list[ManifestDiff]] = field(default_factory=dict)


def _parts(items: list[tuple[str, dict[str, Any]]]) -> list[list[tuple[str, dict[str, Any]]]]:
    parts: list[list[tuple[str, dict[str, Any]]]] = [[]]
    used = 0
    for item in items:
        size = _size(item[1])
        if parts[-1] and used + size > WORK_SIZE_LIMIT:
            parts.append([])
            used = 0
        parts[-1].append(item)
        used += size
    return parts


def _held(entry: planning.TemplatePlan, cluster: str) -> str | None:
    """Why the hub's rollout would release nothing new of the template to ``cluster`` (None: it would)."""
    member = entry.rollout.members.get(cluster) if entry.rollout is not None else None
    if member is None or member.state != rollout_checks.HELD:
        return None
    return f"held by the rollout ({member.reason}): {member.message}"


def preview_works(
    plans: Sequence[planning.TemplatePlan],
    members: Sequence[Mapping[str, Any]],
    *,
    preview_id: str,
    expires: datetime,
    takeover: Mapping[PolicyRef, str | None] | None = None,
    interpreter: Interpreter | None = None,
) -> PreviewSet:
    """The preview Works per member (pure).

    Manifests are those the plan rendered; a Secret (or a manifest annotated for sealing) is
    sealed to the member's key as the hub would, so the preview Work reveals no more than a
    real Work does. ``takeover`` is each policy's ``whenToTakeOver`` (its Works' strategy, from
    ``conflictResolution``): manifests of policies that differ go in different Works, so the
    agent says which objects a real apply would not take over. Like the hub's Works, each
    carries the ``interpreterCustomizations`` its manifests need on the member (health, status
    reflection, retention).
    """
    by_name = {str((m.get("metadata") or {}).get("name", "")): m for m in members}
    groups: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
    out = PreviewSet()
    for entry in plans:
        when = (takeover or {}).get(entry.policy) if entry.policy is not None else None
        for target in entry.decision.targets if entry.decision is not None else ():
            held = entry.suspended(target.cluster)
            if held is not None:
                # Karmada's suspension: nothing is applied there, so nothing is asked
                out.not_sent.setdefault(target.cluster, []).append(
                    ManifestDiff(str(entry.template), SUSPENDED, message=f"dispatching suspended by {held}")
                )
            elif _held(entry, target.cluster) is not None:
                # an invalid strategy: the hub releases nothing new, the member keeps what it has
                out.not_sent.setdefault(target.cluster, []).append(
                    ManifestDiff(str(entry.template), HELD, message=str(_held(entry, target.cluster)))
                )
        carried = [
            (cluster, manifest, f"{name} (dependency of {entry.template})")
            for cluster, deps in entry.dependencies.items()
            for name, manifest in deps.items()
        ]
        own = [
            (cluster, manifest, str(TemplateRef.of(manifest)))
            for cluster, manifest in entry.manifests.items()
            if _held(entry, cluster) is None
        ]
        for cluster, manifest, ref in [*own, *carried]:
            member = by_name.get(cluster)
            if member is None:
                out.refused[cluster] = "no MemberCluster of that name on the hub"
                continue
            try:
                sealed = manifest_sealing.seal_for(manifest, cluster=ClusterView.from_member(member))
            except overrides.OverrideError as exc:
                out.not_sent.setdefault(cluster, []).append(ManifestDiff(ref, NOT_COMPARED, message=str(exc)))
                continue
            groups.setdefault((cluster, when or ""), []).append((ref, sealed))
    stamp = expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    index: dict[str, int] = {}
    for (cluster, when), items in sorted(groups.items()):
        namespace = str((by_name[cluster].get("metadata") or {}).get("namespace") or "")
        if not namespace:
            out.refused[cluster] = "its MemberCluster has no namespace"
            continue
        strategy = {"type": "ReportDiff", **({"whenToTakeOver": when} if when else {})}
        for part in _parts(items):
            manifests = [m for _, m in part]
            spec: dict[str, Any] = {"workload": {"manifests": manifests}, "applyStrategy": strategy}
            scripts = interpretation.agent_customizations(manifests, interpreter)
            if scripts:
                spec["interpreterCustomizations"] = scripts
            number = index.get(namespace, 0)
            index[namespace] = number + 1
            work = {
                "apiVersion": names.WORK_API_VERSION,
                "kind": names.KIND_WORK,
                "metadata": {
                    "name": work_name(preview_id, number),
                    "namespace": namespace,
                    "labels": {names.LABEL_PREVIEW: preview_id, names.LABEL_CLUSTER: cluster},
                    "annotations": {names.ANNOTATION_PREVIEW_EXPIRES: stamp},
                },
                "spec": spec,
            }
            out.works.append(PreviewWork(cluster=cluster, work=work, manifests=[ref for ref, _ in part]))
    for cluster in out.refused:
        out.not_sent.pop(cluster, None)
    return out


def removals(
    plans: Sequence[planning.TemplatePlan], placed_now: Mapping[plan_sources.Identity, Collection[str]]
) -> dict[str, list[ManifestDiff]]:
    """Per member, the planned templates placed there now that the plan no longer places there
    (``placed_now``: template → its current clusters, from the bindings) (pure)."""
    out: dict[str, list[ManifestDiff]] = {}
    for entry in plans:
        if entry.decision is None:
            # unclaimed: the hub keeps the last placement (an orphaned binding); a placement
            # error: nothing is known to move
            continue
        ref = entry.template
        now = placed_now.get((ref.group, ref.kind, ref.namespace, ref.name)) or ()
        targets = {t.cluster for t in entry.decision.targets}
        for cluster in sorted(set(now) - targets):
            if entry.suspended(cluster) is not None:
                continue  # suspended: its Works stay as they are, nothing is removed
            out.setdefault(cluster, []).append(
                ManifestDiff(str(entry.template), REMOVE, message="no longer placed on this member")
            )
    return out


def with_rollouts(answers: Sequence[MemberAnswer], plans: Sequence[planning.TemplatePlan]) -> None:
    """Mark each template's manifest in the answers with when its change would reach that
    member under the policy's RollingUpdate or Staged strategy (``TemplatePlan.rollout``)."""
    by_template = {str(p.template): p.rollout for p in plans if p.rollout is not None and p.rollout.staged}
    for answer in answers:
        for index, diff in enumerate(answer.manifests):
            planned = by_template.get(diff.manifest)
            member = planned.members.get(answer.cluster) if planned is not None else None
            if member is not None and member.state != rollout_checks.HELD:
                answer.manifests[index] = replace(diff, rollout=member)


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
    message = str(reported.get("message") or "")
    if any(c.path == "/" and c.member is None for c in changes):
        return ManifestDiff(name, CREATE, message=message)
    if reported.get("reason") == "NotTakenOver":
        return ManifestDiff(name, NOT_TAKEN_OVER, changes, message)
    return ManifestDiff(name, CHANGE if changes else SAME, changes, message)


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


def _key(work: Mapping[str, Any]) -> tuple[str, str]:
    meta = work.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


async def _read_back(
    hub_api: KubeClient, pending: Sequence[PreviewWork], *, preview_id: str, listing: bool
) -> dict[tuple[str, str], Mapping[str, Any]] | None:
    """The pending preview Works as they are now: one labelled list across namespaces (or, when
    the user may not list Works cluster-wide, one GET each); None after a blip or a Forbidden list."""
    if listing:
        selector = f"{names.LABEL_PREVIEW}={preview_id}"
        found = await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, label_selector=selector)
        return {_key(w): w for w in found.items}

    async def one(item: PreviewWork) -> Mapping[str, Any] | None:
        namespace, name = _key(item.work)
        try:
            return await hub_api.get(names.WORK_API_VERSION, names.KIND_WORK, name=name, namespace=namespace)
        except NotFound:
            return None

    got = await asyncio.gather(*(one(item) for item in pending))
    return {_key(w): w for w in got if w is not None}


async def _wait(
    hub_api: KubeClient, written: Sequence[PreviewWork], *, preview_id: str, deadline: float
) -> dict[tuple[str, str], tuple[list[ManifestDiff], float]]:
    """Each preview Work's answer and when it was read (loop time), by namespace/name, for those
    answered before ``deadline``."""
    loop = asyncio.get_running_loop()
    answers: dict[tuple[str, str], tuple[list[ManifestDiff], float]] = {}
    pending = list(written)
    listing = True
    while pending:
        try:
            current = await _read_back(hub_api, pending, preview_id=preview_id, listing=listing)
        except Forbidden:
            listing, current = False, None  # namespace-scoped rights: GET each Work instead
        except ApiError:
            current = None  # a blip (the client already retried): look again until the deadline
        if current is not None:
            for item in list(pending):
                live = current.get(_key(item.work))
                if live is None:
                    pending.remove(item)  # deleted under us (its member namespace went away)
                    continue
                answer = read_answer(item, live)
                if answer is not None:
                    answers[_key(item.work)] = (answer, loop.time())
                    pending.remove(item)
        if not pending or loop.time() >= deadline:
            return answers
        await asyncio.sleep(min(POLL_SECONDS, max(deadline - loop.time(), 0.0)))
    return answers


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
    takeover: Mapping[PolicyRef, str | None] | None = None,
    placed_now: Mapping[plan_sources.Identity, Collection[str]] | None = None,
    interpreter: Interpreter | None = None,
) -> list[MemberAnswer]:
    """Write the preview Works, wait up to ``wait_seconds`` for the agents, remove the Works.

    ``placed_now`` (template → its clusters now) adds the templates a member would lose."""
    preview_id = preview_id or secrets.token_hex(4)
    now = datetime.now(UTC)
    planned = preview_works(
        plans,
        members,
        preview_id=preview_id,
        expires=now + timedelta(seconds=wait_seconds) + EXPIRY_SLACK,
        takeover=takeover,
        interpreter=interpreter,
    )
    works = planned.works
    by_name = {str((m.get("metadata") or {}).get("name", "")): m for m in members}
    answers: dict[str, MemberAnswer] = {
        cluster: MemberAnswer(cluster, NOT_WRITTEN, message=why) for cluster, why in planned.refused.items()
    }
    for cluster, diffs in planned.not_sent.items():
        answers[cluster] = MemberAnswer(cluster, ANSWERED, list(diffs))
    for cluster, diffs in removals(plans, placed_now or {}).items():
        known = answers.setdefault(cluster, MemberAnswer(cluster, ANSWERED))
        if known.state == ANSWERED:
            known.manifests.extend(diffs)
    await _remove_expired(hub_api, {str(w.work["metadata"]["namespace"]) for w in works}, now=now)
    written: list[PreviewWork] = []
    loop = asyncio.get_running_loop()
    started = loop.time()
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
        deadline = loop.time() + wait_seconds
        results = await _wait(hub_api, written, preview_id=preview_id, deadline=deadline)
        for item in written:
            found = results.get(_key(item.work))
            current = answers.get(item.cluster)
            if current is not None and current.state != ANSWERED:
                continue  # another part already failed: the member's answer is incomplete
            if found is None:
                ready = _ready(by_name.get(item.cluster))
                why = (
                    f"no answer within {wait_seconds:g} s "
                    f"(its agent may be down; MemberCluster Ready={ready})"
                )
                answers[item.cluster] = MemberAnswer(item.cluster, NO_ANSWER, message=why)
                continue
            answer = current or MemberAnswer(item.cluster, ANSWERED)
            answer.manifests[:0] = found[0]  # the agent's answers first, then removals
            answer.seconds = max(answer.seconds or 0.0, found[1] - started)
            answers[item.cluster] = answer
    finally:
        # Also when cancelled (Ctrl-C): asyncio.run cancels this task once and lets it finish.
        for item in written:
            with contextlib.suppress(ApiError):
                await _delete(hub_api, item.work)
    out = [answers[c] for c in sorted(answers)]
    with_rollouts(out, plans)
    return out


_OUTCOME_TEXT = {
    CREATE: "would be created (not on the member)",
    REMOVE: "would be removed (no longer placed on this member)",
    SAME: "no change",
    NOT_COMPARED: "not compared",
    SUSPENDED: "nothing would be applied (the member keeps what it has)",
    HELD: "nothing would be applied (the member keeps what it has)",
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
        changed = sum(1 for m in answer.manifests if m.outcome in (CHANGE, CREATE, REMOVE))
        total = len(answer.manifests)
        took = f" (answered in {answer.seconds:.1f} s)" if answer.seconds is not None else ""
        out.append(f"== diff on {answer.cluster}: {changed} of {total} manifests would change{took}")
        for manifest in answer.manifests:
            if manifest.outcome in (CHANGE, NOT_TAKEN_OVER):
                note = f" ({manifest.message})" if manifest.outcome == NOT_TAKEN_OVER else ""
                out.append(f"   {manifest.manifest}: {len(manifest.changes)} field(s) differ{note}")
                for change in manifest.changes:
                    out.append(f"     {change.path}: {_value(change.member)} -> {_value(change.hub)}")
            else:
                why = manifest.outcome in (NOT_COMPARED, SUSPENDED, HELD) and manifest.message
                detail = f": {manifest.message}" if why else ""
                out.append(f"   {manifest.manifest}: {_OUTCOME_TEXT[manifest.outcome]}{detail}")
            if manifest.rollout is not None and manifest.outcome in (CHANGE, CREATE, NOT_TAKEN_OVER):
                out.append(f"     rollout ({manifest.rollout.strategy}): {manifest.rollout.text}")
    return "\n".join(out)


def exit_code(answers: Sequence[MemberAnswer]) -> int:
    """1 when a member's diff is missing (not answered, not written, or a manifest not compared)."""
    incomplete = any(
        a.state != ANSWERED or any(m.outcome == NOT_COMPARED for m in a.manifests) for a in answers
    )
    return 1 if incomplete else 0
