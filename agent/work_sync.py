"""Apply one Work on the member and compute its status: the agent's main reconcile step.

``WorkSyncer.sync(work)`` reads → decides → writes, as a chain of small steps:

1. decode the manifests (a bad one fails alone) and resolve their kinds by discovery;
2. write ahead: record every resource about to be written, and a copy of the Work, in the
   Work's AppliedWork (one write, before the first write to the member);
3. apply wave by wave (namespaces/CRDs, config/RBAC, workloads, webhooks), waiting for a CRD
   the Work ships to be Established before its custom resources; each manifest is planned by
   ``takeover.plan_apply`` and written only when something must change: a manifest whose
   digest and object resourceVersion are those recorded at its last apply is not even compared;
   an object another Work holds is taken over only when that Work no longer carries it
   (``agent.ownership``);
4. complete the record with UIDs, digests and resourceVersions, remove (UID-checked) what the
   Work no longer carries — unless another Work takes it over — or orphan it when
   ``deleteOption.propagationPolicy`` is Orphan;
5. build the status (per manifest: applied, available, feedback, drift; the Work's conditions).

Removal (step 4, and ``remove`` for a deleted Work) lives in ``work_removal``. Both are idempotent: a pass cut
short by a crash is finished by the next one.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent import applied_work as aw
from agent import (
    availability,
    drift_record,
    feedback,
    guardrails,
    interpretation,
    ordering,
    ownership,
    replica_owners,
    report_diff,
    sealing_keys,
)
from agent.claims import WorkClaims
from agent.config import AgentConfig
from agent.drift import FieldDiff
from agent.manifests import (
    DecodedManifest,
    ManifestIdentifier,
    decode_manifests,
    unpacked_work,
    with_resource,
)
from agent.member_apply import MemberApplier, prepare
from agent.member_cache import MemberCache
from agent.status import (
    REASON_APPLIED,
    REASON_APPLY_FAILED,
    REASON_DECODING_ERRED,
    REASON_WAITING_FOR_CRD,
    ManifestResult,
    build_work_status,
)
from agent.takeover import (
    STRATEGY_REPORT_DIFF,
    WHEN_TO_APPLY_IF_NOT_DRIFTED,
    Action,
    ActionType,
    Strategy,
    is_owned,
    plan_apply,
)
from agent.work_removal import AppliedWorks, WorkRemover
from shared.api import names
from shared.api.meta import now_rfc3339
from shared.interpreter import InterpreterError
from shared.kube.client import KubeClient
from shared.kube.errors import ApiError, NotFound
from shared.kube.types import ResourceInfo
from shared.ops.logging import get_logger
from shared.ops.metrics import counter

_log = get_logger("agent.work_sync")
_APPLIES = counter(
    "agent_manifest_writes_total", "Manifest writes on the member by reason", labels=("reason",)
)
_PASSES = counter(
    "agent_work_passes_total",
    "Work passes by kind: full (decoded, compared), or unchanged (nothing it read changed since "
    "the last converged pass: no decoding, no digests)",
    labels=("kind",),
)
_DRIFTS = counter(
    "agent_drifts_total",
    "Drifts seen on the member (an applied object edited there), corrected or only reported",
    labels=("cluster", "result"),
)

ORPHAN = "Orphan"
REASON_CONFLICT = "AppliedByAnotherWork"
CRD_KIND = ("apiextensions.k8s.io", "CustomResourceDefinition")
# When to look again at a manifest that failed, by reason (None: only when the Work changes or
# at the periodic resync). Ownership conflicts are not watched, so they are polled slowly.
_RETRY_AFTER: dict[str, float | None] = {
    REASON_DECODING_ERRED: None,
    guardrails.REASON_FORBIDDEN: None,
    "NotTakenOver": 30.0,
    REASON_CONFLICT: 30.0,
    drift_record.REASON_FOUND_DRIFTS: None,  # the member watch wakes it when the object changes
}


@dataclass
class SyncOutcome:
    status: dict[str, Any]
    requeue_after: float | None
    failures: list[ManifestResult]
    unchanged: bool = False  # nothing the last converged pass read has changed: ``status`` is the Work's


@dataclass
class _Converged:
    """What a converged pass of one Work read, to tell the next pass nothing changed.

    Converged: every manifest applied (or its drift kept, IfNotDrifted), nothing to retry, to
    wait for or to hand over. The next pass of the same Work generation, labels, annotations
    and status, over the same record resourceVersion and the same resourceVersion of every
    member object, would decide the same; it returns at once (``WorkSyncer._unchanged``).
    """

    uid: Any
    generation: Any
    labels: Any
    annotations: Any
    applied_work: str
    record_version: str
    objects: tuple[tuple[str, str, str, str | None, str], ...]  # apiVersion, kind, name, namespace, rv
    hpa_targets: int
    keys: frozenset[str]
    status: dict[str, Any] | None = None  # the Work's status after the pass (``WorkSyncer.settle``)


def _work_meta(work: Mapping[str, Any]) -> tuple[str, str, int | None]:
    meta = work.get("metadata") or {}
    gen = meta.get("generation")
    return str(meta.get("namespace")), str(meta.get("name")), gen if isinstance(gen, int) else None


def _namespace_templates(work: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What the hub says the Work's namespaces look like (annotation ``work.waybill.dev/namespaces``)."""
    raw = ((work.get("metadata") or {}).get("annotations") or {}).get(names.ANNOTATION_NAMESPACE_TEMPLATES)
    try:
        data = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def _namespaces_needed(resolved: Iterable[tuple[ManifestIdentifier, ResourceInfo | None]]) -> set[str]:
    """Namespaces the Work's namespaced manifests live in, except those the Work itself ships."""
    shipped = {ident.name for ident, _ in resolved if (ident.group, ident.kind) == ("", "Namespace")}
    used = {ident.namespace or "default" for ident, info in resolved if info is not None and info.namespaced}
    return used - shipped - {"default"}


def _retain(
    interp: interpretation.WorkInterpretation,
    desired: dict[str, Any],
    live: Mapping[str, Any] | None,
    ident: ManifestIdentifier,
) -> dict[str, Any] | ManifestResult:
    """``desired`` after the kind's Retain script, or the failed result (nothing is written)."""
    try:
        return interp.retain(desired, live)
    except InterpreterError as exc:
        reason = interpretation.REASON_INTERPRETATION_FAILED
        return ManifestResult(ident, False, reason, interpretation.describe(exc)[:1000])


class WorkSyncer:
    """Applies Works on the member (``member_api``) and records what it applied."""

    def __init__(
        self,
        member_api: KubeClient,
        *,
        config: AgentConfig,
        cache: MemberCache,
        claims: WorkClaims | None = None,
        on_handover: Callable[[str], None] = lambda key: None,
        keyring: sealing_keys.Keyring | None = None,
        hpas: replica_owners.HorizontalPodAutoscalers | None = None,
    ) -> None:
        self.member_api = member_api
        self.replicas = replica_owners.ReplicaOwners(
            field_manager=config.field_manager, managers=config.replica_managers, hpas=hpas
        )
        self.keyring = keyring
        self.config = config
        self.cache = cache
        self.claims = claims
        # (AppliedWork name, record key) -> the resourceVersion this process's last write left
        # AppliedWork name -> record key -> (resourceVersion, digest) this process's last write of
        # the object left, until a record write carries it (``_prune_written``)
        self._written: dict[str, dict[aw.RecordKey, tuple[str, str]]] = {}
        self.drift_memory = drift_record.DriftMemory()
        for result in ("corrected", "reported"):  # exported from the start, at 0
            _DRIFTS.labels(config.cluster, result)
        self.applier = MemberApplier(member_api, field_manager=config.field_manager)
        self.records = AppliedWorks(member_api, field_manager=config.field_manager)
        self.interpreters = interpretation.AgentInterpreters()  # the Works' carried Lua scripts
        self._converged: dict[str, _Converged] = {}  # work key -> its last converged pass
        self.full_passes = 0  # passes that decoded the Work (an unchanged pass does not)
        self.remover = WorkRemover(
            records=self.records,
            applier=self.applier,
            cache=cache,
            claims=claims,
            handover_grace=config.handover_grace,
            on_handover=on_handover,
        )

    # ---- sync ----------------------------------------------------------------------------

    async def _resolve(self, manifest: DecodedManifest) -> tuple[ManifestIdentifier, ResourceInfo | None]:
        ident = manifest.identifier
        try:
            info = await self.member_api.resource_info(ident.api_version, ident.kind)
        except NotFound:
            self.member_api.invalidate_discovery(ident.api_version)
            return ident, None
        return with_resource(ident, info.plural, info.namespaced), info

    async def sync(self, work: Mapping[str, Any], *, from_copy: bool = False) -> SyncOutcome:
        """Apply ``work`` on the member and return its new status (not written here).

        ``from_copy``: ``work`` was rebuilt from the AppliedWork's copy because the hub has not
        answered since the agent started: apply and correct drift, but remove nothing and
        take nothing over (what other Works carry is unknown).
        """
        work_ns, work_name, generation = _work_meta(work)
        work_key = f"{work_ns}/{work_name}"
        if not from_copy:
            unchanged = self._unchanged(work_key, work)
            if unchanged is not None:
                _PASSES.labels("unchanged").inc()
                return unchanged
        self._converged.pop(work_key, None)
        self.full_passes += 1
        _PASSES.labels("full").inc()
        work = unpacked_work(work)  # the informer keeps the manifests packed
        spec = work.get("spec") or {}
        strategy = Strategy.from_spec(spec.get("applyStrategy"))
        decoded = decode_manifests((spec.get("workload") or {}).get("manifests") or [])
        decoded = sealing_keys.open_manifests(decoded, keys=self.keyring.by_id() if self.keyring else {})
        decoded, refused = guardrails.screen(decoded, rules=self.config.guardrails)
        results: dict[int, ManifestResult] = {}
        for m in decoded:
            if not m.ok:
                results[m.identifier.ordinal] = ManifestResult(
                    m.identifier, False, REASON_DECODING_ERRED, m.error or ""
                )
        results.update(refused)  # guard-rail refusals: reason Forbidden, not DecodingErred
        preview = report_diff.is_preview(work)
        if (why := report_diff.refusal(work, strategy)) is not None:  # a preview Work is only compared
            results.update(report_diff.refused(decoded, why))
            decoded, strategy = [], Strategy(type=STRATEGY_REPORT_DIFF)
        resolved: dict[int, tuple[ManifestIdentifier, ResourceInfo | None]] = {}
        for m in decoded:
            if m.ok:
                resolved[m.identifier.ordinal] = await self._resolve(m)
        crd_deps = ordering.crd_dependencies(decoded)
        writing = strategy.type != STRATEGY_REPORT_DIFF
        applied = await self.records.get(work_ns, work_name, create=writing and not from_copy)
        record = aw.records(applied)
        before = {aw.record_key(r): r for r in record}  # as the last pass left it
        aw_name = aw.applied_work_name(work_namespace=work_ns, work_name=work_name)
        owner = applied or {"metadata": {"name": aw_name, "uid": ""}}
        prepared: dict[int, tuple[dict[str, Any], str]] = {}
        for m in decoded:
            ident, info = resolved.get(m.identifier.ordinal, (m.identifier, None))
            if m.ok and info is not None:
                obj = prepare(m.obj or {}, info=info, applied_work=owner, work_namespace=work_ns,
                              work_name=work_name)
                prepared[ident.ordinal] = (obj, aw.digest_of(obj, strategy=strategy.describe()))
        desired_keys = {aw.identifier_key(ident) for ident, info in resolved.values()}
        needed_namespaces = _namespaces_needed(resolved.values())
        namespace_templates = _namespace_templates(work)
        desired_keys |= {("", "Namespace", "", ns) for ns in needed_namespaces}
        if writing and applied is not None and not from_copy:
            # Write ahead, in one write: new entries, the digests about to be written, the Work copy.
            idents = [ident for ident, _ in resolved.values()]
            digests = {aw.identifier_key(resolved[o][0]): d for o, (_, d) in prepared.items()}
            ahead = aw.with_digests(aw.with_write_ahead(record, idents), digests, {})
            copy = aw.work_copy(work)
            if ahead != record or aw.copy_of(applied) != copy:
                # resourceVersions seen since the last record write ride along (never a write of their own)
                # (not for a manifest about to change: its last write is not of this digest)
                known = {
                    k: version
                    for k, (version, _) in (self._written.get(aw_name) or {}).items()
                    if (before.get(k) or {}).get("digest") == digests.get(k)
                }
                ahead = aw.with_digests(ahead, {}, known)
                applied = await self.records.write(applied, ahead, work_copy=copy)
                record = ahead
        listed = await self._prefetch(decoded, resolved)
        states: dict[aw.RecordKey, aw.AppliedState] = {}
        requeue: float | None = None
        waiting_crds: set[str] = set()
        semaphore = asyncio.Semaphore(self.config.apply_concurrency)
        configs = [c for c in spec.get("manifestConfigs") or [] if isinstance(c, Mapping)]
        claims = None if from_copy else self.claims
        interp = self.interpreters.for_work(spec)
        if interp is not None and interp.problems and not interp.reported:
            # the hub writes these from validated customizations; the Work's schema checks them too
            interp.reported = True
            _log.warning(
                "work.interpreter_customizations_invalid",
                work=f"{work_ns}/{work_name}",
                problems=interp.problems,
            )
        recorded_uids = frozenset(str(r["uid"]) for r in record if r.get("uid"))
        seen: dict[int, tuple[str, str, str, str | None, str]] = {}  # ordinal -> the object read

        async def one(m: DecodedManifest) -> None:
            nonlocal requeue
            ident, info = resolved[m.identifier.ordinal]
            crd = crd_deps.get(ident.ordinal)
            if info is None and crd is not None:
                # The kind is served only once the CRD the Work ships is Established.
                if crd not in waiting_crds and await self.applier.wait_established(
                    crd, within=self.config.crd_established_timeout
                ):
                    ident, info = await self._resolve(m)
                else:
                    waiting_crds.add(crd)
            if info is None:
                reason = REASON_WAITING_FOR_CRD if crd is not None else REASON_APPLY_FAILED
                message = f"the member does not serve {ident.api_version} {ident.kind}"
                results[ident.ordinal] = ManifestResult(ident, False, reason, message)
                requeue = min(requeue or 5.0, 5.0)
                return
            async with semaphore:
                result, state = await self._sync_manifest(
                    m.obj or {},
                    ident,
                    info,
                    applied=applied,
                    recorded=before.get(aw.identifier_key(ident)),
                    prepared=prepared.get(ident.ordinal),
                    recorded_uids=recorded_uids,
                    strategy=strategy,
                    configs=configs,
                    work_key=work_key,
                    listed=listed,
                    claims=claims,
                    interp=interp,
                    namespace_templates=namespace_templates,
                    preview=preview,
                    seen=seen,
                )
            results[ident.ordinal] = result
            if state is not None:
                states[aw.identifier_key(ident)] = state

        for wave in ordering.waves(decoded):
            await asyncio.gather(*(one(m) for m in wave))
        if writing and applied is not None:
            uids: dict[aw.RecordKey, str] = {}
            for ns in sorted(needed_namespaces):
                created = await self.applier.ensure_namespace(
                    ns, work_key=work_key, template=namespace_templates.get(ns)
                )
                if created is not None:
                    ns_ident = ManifestIdentifier(
                        ordinal=0, version="v1", kind="Namespace", resource="namespaces", name=ns
                    )
                    record = aw.with_write_ahead(record, [ns_ident])
                    uids[aw.identifier_key(ns_ident)] = str(created["metadata"].get("uid") or "")
            completed = aw.with_uids(aw.with_applied(record, states), uids)
            if aw.needs_completion(record, completed):  # a new UID, or a digest not written ahead
                applied = await self.records.write(applied, completed)
                record = completed
            if not from_copy:
                record, pending = await self.remover.remove_stale(
                    applied, record, desired_keys, orphan=self._orphan(spec), work_key=work_key
                )
                if pending:
                    # soon at first; slower while a claimant keeps not taking it (ReportDiff, NotTakenOver)
                    age = self.remover.pending_for(aw_name)
                    handover_again = min(max(self.config.handover_retry, age / 2), 30.0)
                    requeue = min(requeue or handover_again, handover_again)
            self._prune_written(aw_name, record)
        ordered = [results[o] for o in sorted(results)]
        if any(r.applied and r.availability is not None and not r.availability.available for r in ordered):
            requeue = min(requeue or self.config.not_available_requeue, self.config.not_available_requeue)
        for r in ordered:
            if not r.applied and not r.report_diff:
                again = _RETRY_AFTER.get(r.reason, 5.0)
                if again is not None:
                    requeue = min(requeue or again, again)
        drifts_before = self.drift_memory.recall_all(work_key)
        for r in ordered:
            r.remembered_drift = self.drift_memory.recall(work_key, r.identifier.to_dict())
        now = now_rfc3339()
        status = build_work_status(
            ordered,
            generation=generation,
            existing=work.get("status"),
            now=now,
            limit_bytes=self.config.status_limit_bytes,
        )
        self._note_drifts(work_key, drifts_before, status, now=now)
        failures = [r for r in ordered if r.failed]
        if (
            writing
            and not from_copy
            and not preview
            and requeue is None
            and not failures
            and not waiting_crds
            and len(seen) == len(ordered)
        ):
            self._remember_converged(work_key, work, aw_name, seen)
        return SyncOutcome(status=status, requeue_after=requeue, failures=failures)

    # ---- unchanged passes ----------------------------------------------------------------

    def _remember_converged(
        self,
        work_key: str,
        work: Mapping[str, Any],
        aw_name: str,
        seen: Mapping[int, tuple[str, str, str, str | None, str]],
    ) -> None:
        version = self.records.kept_version(aw_name)
        if not version:
            return
        meta = work.get("metadata") or {}
        self._converged[work_key] = _Converged(
            uid=meta.get("uid"),
            generation=meta.get("generation"),
            labels=meta.get("labels") or {},
            annotations=meta.get("annotations") or {},
            applied_work=aw_name,
            record_version=version,
            objects=tuple(seen[o] for o in sorted(seen)),
            hpa_targets=self._hpa_targets(),
            keys=self._key_ids(),
        )

    def _key_ids(self) -> frozenset[str]:
        """The sealing keys held (a sealed manifest opens with them or not)."""
        return frozenset(self.keyring.by_id()) if self.keyring is not None else frozenset()

    def _hpa_targets(self) -> int:
        return self.replicas.hpas.targets_version if self.replicas.hpas is not None else 0

    def settle(self, work_key: str, status: dict[str, Any]) -> None:
        """The Work's status after this pass's report (written, or found unchanged): a converged
        pass counts for the next one only once its status is on the Work."""
        converged = self._converged.get(work_key)
        if converged is not None and converged.status is None:
            converged.status = status

    def _unchanged(self, work_key: str, work: Mapping[str, Any]) -> SyncOutcome | None:
        """The outcome of a pass over ``work`` when nothing the last converged pass read has
        changed since (see ``_Converged``), else None: a full pass.

        The events the agent causes itself (its status write on the Work, its AppliedWork write,
        the watch events of the objects it applied) and the periodic resync of an unchanged
        member end here; any member object whose resourceVersion moved is compared again.
        """
        last = self._converged.get(work_key)
        if last is None or last.status is None:
            return None
        meta = work.get("metadata") or {}
        status = work.get("status") or {}
        if (
            meta.get("uid") != last.uid
            or meta.get("generation") != last.generation
            or (meta.get("labels") or {}) != last.labels
            or (meta.get("annotations") or {}) != last.annotations
            or self._hpa_targets() != last.hpa_targets
            or self._key_ids() != last.keys
            or self.records.current_version(last.applied_work) != last.record_version
            or status != last.status
        ):
            return None
        cached_version = self.cache.cached_version
        for api_version, kind, name, namespace, version in last.objects:
            if cached_version(api_version, kind, name=name, namespace=namespace) != version:
                return None
        last.status = status  # the informer's copy (equal): one copy kept, not two
        return SyncOutcome(status=status, requeue_after=None, failures=[], unchanged=True)

    def _note_drifts(
        self, work_key: str, before: Mapping[int, Mapping[str, Any]], status: Mapping[str, Any], *, now: str
    ) -> None:
        """Remember the Work's drift records; count the new ones."""
        entries = status.get("manifestConditions") or []
        for record in drift_record.fresh_records(before, entries, now=now):
            _DRIFTS.labels(self.config.cluster, "corrected" if record.get("corrected") else "reported").inc()
        self.drift_memory.remember(work_key, entries)

    async def _prefetch(
        self,
        decoded: Sequence[DecodedManifest],
        resolved: Mapping[int, tuple[ManifestIdentifier, ResourceInfo | None]],
    ) -> dict[tuple[str, str, str], dict[str, Any]]:
        """One LIST per (kind, namespace) with many cache misses, instead of a GET for each."""
        misses: dict[tuple[str, str, str], int] = {}
        for m in decoded:
            ident, info = resolved.get(m.identifier.ordinal, (m.identifier, None))
            if info is None or m.obj is None:
                continue
            namespace = (ident.namespace or "default") if info.namespaced else ""
            await self.cache.watch_kind(info.api_version, ident.kind)
            if not self.cache.cached(
                info.api_version, ident.kind, name=ident.name, namespace=namespace or None
            ):
                group = (info.api_version, ident.kind, namespace)
                misses[group] = misses.get(group, 0) + 1
        listed: dict[tuple[str, str, str], dict[str, Any]] = {}
        for (api_version, kind, namespace), count in misses.items():
            if count >= self.config.list_threshold:
                _log.debug("member.prefetch", kind=kind, namespace=namespace, misses=count,
                           synced=self.cache.synced(api_version, kind))
                try:
                    listed[(api_version, kind, namespace)] = await self.cache.list_names(
                        api_version, kind, namespace=namespace or None,
                        unlabelled=self.cache.synced(api_version, kind),
                    )
                except ApiError as err:
                    _log.warning("member.prefetch_failed", kind=kind, namespace=namespace, error=str(err))
        return listed

    @staticmethod
    def _orphan(spec: Mapping[str, Any]) -> bool:
        return ((spec.get("deleteOption") or {}).get("propagationPolicy")) == ORPHAN

    async def _sync_manifest(
        self,
        manifest: Mapping[str, Any],
        ident: ManifestIdentifier,
        info: ResourceInfo,
        *,
        applied: Mapping[str, Any] | None,
        recorded: Mapping[str, Any] | None,
        prepared: tuple[dict[str, Any], str] | None,
        recorded_uids: frozenset[str],
        strategy: Strategy,
        configs: Sequence[Mapping[str, Any]],
        work_key: str,
        listed: Mapping[tuple[str, str, str], dict[str, Any]],
        claims: WorkClaims | None,
        interp: interpretation.WorkInterpretation | None = None,
        namespace_templates: Mapping[str, Mapping[str, Any]] | None = None,
        preview: bool = False,
        seen: dict[int, tuple[str, str, str, str | None, str]] | None = None,
    ) -> tuple[ManifestResult, aw.AppliedState | None]:
        work_ns, _, work_name = work_key.partition("/")
        aw_name = aw.applied_work_name(work_namespace=work_ns, work_name=work_name)
        if prepared is None:  # its kind was served only once the CRD the Work ships was Established
            owner = applied or {"metadata": {"name": aw_name, "uid": ""}}
            late = prepare(
                manifest, info=info, applied_work=owner, work_namespace=work_ns, work_name=work_name
            )
            prepared = (late, aw.digest_of(late, strategy=strategy.describe()))
        desired, digest = prepared
        key = aw.identifier_key(ident)
        written_version = ((self._written.get(aw_name) or {}).get(key) or ("", ""))[0] or None
        namespace = ident.namespace or None
        if info.namespaced:
            namespace = str(desired["metadata"]["namespace"])
        api_version = str(desired["apiVersion"])
        state: aw.AppliedState | None = None
        live: dict[str, Any] | None = None
        drifts: list[FieldDiff] = []
        try:
            live = await self.cache.get(
                api_version,
                ident.kind,
                name=ident.name,
                namespace=namespace,
                listed=listed.get((api_version, ident.kind, namespace or "")),
            )
            holder = ownership.holder(live, work_namespace=work_ns)
            holder_carries = claims is None or (holder is not None and claims.carries(holder, key))
            decision = ownership.claim(holder_key=holder, work_key=work_key, holder_carries=holder_carries)
            compare_only = strategy.type == STRATEGY_REPORT_DIFF  # writes nothing: no holder to fight
            if decision == ownership.Claim.CONFLICT and not compare_only:
                message = f"the object is applied by another Work, {holder}; a member object has one Work"
                return ManifestResult(ident, False, REASON_CONFLICT, message), None
            taking = decision == ownership.Claim.TAKE and not compare_only
            owned = taking or (
                live is not None and is_owned(live, applied_uids=recorded_uids, applied_work_name=aw_name)
            )
            replica_owner = self.replicas.owner(manifest, live)  # spec.replicas left to the member?
            if owned and not taking and aw.up_to_date(
                recorded, digest=digest, live=live, written_version=written_version
            ):
                # Exactly as written at the last apply, and nobody wrote it since: nothing to compare.
                action = Action(ActionType.APPLY, "Owned", "up to date")
            else:
                if interp is not None:
                    # the kind's Retain script keeps what the member's controllers set
                    retained = _retain(interp, desired, live, ident)
                    if isinstance(retained, ManifestResult):
                        return retained, None
                    desired = retained
                action = plan_apply(
                    desired,
                    live,
                    owned=owned,
                    strategy=strategy,
                    field_manager=self.config.field_manager,
                    respected_managers=self.config.respected_managers,
                    original=manifest,
                    left_alone=replica_owners.left_alone(replica_owner),
                )
            if action.type == ActionType.REPORT_DIFF:
                removed: list[FieldDiff] = []
                if preview and live is not None and holder is not None:  # Waybill's: what SSA would drop
                    removed = await self._removed_fields(desired, ident, namespace, action.respected)
                return report_diff.result(
                    ident, action, strategy=strategy, live=live, owned=owned, held=holder is not None,
                    removed=removed, desired=desired,
                ), None
            if action.type == ActionType.SKIP:
                return ManifestResult(ident, False, action.reason, action.message, diffs=action.diffs), None
            # A manifest that changed since its last apply is not drift: the member is merely behind.
            # (Also when the record says this digest but whether it was written is unknown: a
            # write-ahead not followed by a seen write, e.g. an agent killed in between.)
            changed = (
                recorded is None
                or recorded.get("digest") != digest
                or not (written_version or recorded.get("resourceVersion"))
            )
            drifts = [] if changed else action.drifts
            if live is None and not changed and recorded is not None and recorded.get("uid"):
                drifts = [drift_record.deleted()]  # applied, then deleted on the member: re-created
            current = (
                action.type == ActionType.APPLY and owned and not taking and not action.drifts and not changed
            )
            # whenToApply IfNotDrifted: the member keeps its edit, reported (a new manifest is applied)
            keep_edit = (
                live is not None and bool(drifts) and strategy.when_to_apply == WHEN_TO_APPLY_IF_NOT_DRIFTED
            )
            if (current or keep_edit) and live is not None:
                obj = live
                if keep_edit:
                    _log.info(
                        "manifest.drift_reported",
                        work=work_key,
                        manifest=ident.describe(),
                        paths=[d.path for d in drifts],
                    )
            else:
                if namespace and live is None and ident.kind != "Namespace":
                    await self.applier.ensure_namespace(
                        namespace, work_key=work_key, template=(namespace_templates or {}).get(namespace)
                    )
                if replica_owner is not None and replica_owner.needs_handover and live is not None:
                    await replica_owners.hand_over(self.member_api, live)
                obj = await self.applier.write(desired, live, action=action, strategy=strategy)
                self.cache.remember(obj)
                written = obj.get("metadata") or {}
                state = aw.AppliedState(
                    uid=str(written.get("uid") or ""),
                    digest=digest,
                    resource_version=str(written.get("resourceVersion") or ""),
                )
                self._written.setdefault(aw_name, {})[key] = (state.resource_version, digest)
                _APPLIES.labels("TakingOverFromWork" if taking else action.reason).inc()
                if taking:
                    _log.info(
                        "manifest.handed_over", work=work_key, manifest=ident.describe(), previous=holder
                    )
                elif drifts:
                    _log.info(
                        "manifest.drift_corrected",
                        work=work_key,
                        manifest=ident.describe(),
                        paths=[d.path for d in drifts],
                    )
        except ApiError as err:
            if isinstance(err, NotFound) and namespace:
                self.applier.forget_namespace(namespace)
            message = f"{err.reason}: {err.message}"
            failed_drift = self._drift(live, drifts, corrected=False, digest=digest)
            return ManifestResult(
                ident,
                False,
                REASON_APPLY_FAILED,
                message[:1000],
                drifts=drifts,
                drift=failed_drift,
                manifest_digest=digest if failed_drift else None,
            ), None
        if seen is not None:
            version = str((obj.get("metadata") or {}).get("resourceVersion") or "")
            shared_ns = sys.intern(namespace) if namespace else None  # kinds, namespaces repeat: shared
            kind = sys.intern(ident.kind)
            seen[ident.ordinal] = (sys.intern(api_version), kind, ident.name, shared_ns, version)
        health = interp.availability(obj) if interp is not None else availability.evaluate(obj)
        reflection = interp.reflect(obj) if interp is not None else None
        rules = feedback.rules_for(
            configs,
            group=ident.group,
            resource=ident.resource,
            kind=ident.kind,
            namespace=ident.namespace,
            name=ident.name,
        )
        values, _ = feedback.collect(obj, rules) if rules else ([], [])
        meta = obj.get("metadata") or {}
        gen = meta.get("generation")
        message = action.message if action.take_over else "applied"
        if taking:
            message = f"taken over from {holder}"
        if keep_edit:
            message = (
                f"{len(drifts)} field(s) changed on the member are left as they are "
                "(whenToApply IfNotDrifted): " + ", ".join(d.path for d in drifts[:5])
            )
        result = ManifestResult(
            ident,
            not keep_edit,
            drift_record.REASON_FOUND_DRIFTS if keep_edit else REASON_APPLIED,
            message,
            availability=health,
            feedback=values,
            drifts=drifts,
            observed_generation=gen if isinstance(gen, int) else None,
            reflected_status=reflection.status if reflection is not None else None,
            reflection=reflection.condition if reflection is not None else None,
            drift=self._drift(live, drifts, corrected=not keep_edit, digest=digest),
            manifest_digest=digest,
            extra_conditions=replica_owners.conditions(replica_owner, obj),
        )
        if state is None and recorded is not None and not recorded.get("uid") and meta.get("uid"):
            # written by an earlier pass that died before completing the record
            state = aw.AppliedState(
                uid=str(meta.get("uid")),
                digest=str(recorded.get("digest") or ""),
                resource_version=str(recorded.get("resourceVersion") or ""),
            )
        return result, state

    async def _removed_fields(
        self,
        desired: Mapping[str, Any],
        ident: ManifestIdentifier,
        namespace: str | None,
        respected: frozenset[tuple[str, ...]],
    ) -> list[FieldDiff]:
        """Read the object itself (the cache drops the agent's own managedFields) for
        ``report_diff.removed_fields``; only a preview's manifests of Waybill's objects get here
        (a preview Work lives for seconds; a plain ReportDiff Work is compared at every resync)."""
        try:
            live = await self.member_api.get(
                str(desired["apiVersion"]), ident.kind, name=ident.name, namespace=namespace
            )
        except NotFound:
            return []
        return report_diff.removed_fields(
            desired, live, field_manager=self.config.field_manager, skip=respected
        )

    def _drift(
        self, live: Mapping[str, Any] | None, drifts: Sequence[FieldDiff], *, corrected: bool, digest: str
    ) -> drift_record.DriftObservation | None:
        return drift_record.observe(
            live, drifts, corrected=corrected, field_manager=self.config.field_manager, manifest_digest=digest
        )

    async def flush(self) -> int:
        """Record the resourceVersions this process's writes left that no record holds yet.

        They ride along with the next record write (step 2), so a record misses them after a
        change until the next one. An agent stopping gracefully writes them now, once per
        AppliedWork that lacks some: otherwise the next agent cannot take those objects as
        written and applies each once more, and rewrites its record (a restart's resync would
        write). A record someone else wrote since is left alone (the write's resourceVersion is
        checked). Returns the records written.
        """
        flushed = 0
        for name, entries in list(self._written.items()):
            applied = self.records.kept(name)
            if applied is None:
                continue
            record = aw.records(applied)
            by_key = {aw.record_key(r): r for r in record}
            known = {
                key: version
                for key, (version, digest) in entries.items()
                if (by_key.get(key) or {}).get("digest") == digest
            }
            updated = aw.with_digests(record, {}, known)
            if updated == record:
                continue
            try:
                await self.records.write(applied, updated)
            except ApiError as err:
                _log.info("applied_work.flush_skipped", applied_work=name, error=str(err))
                continue
            self._prune_written(name, updated)
            flushed += 1
        return flushed

    def _prune_written(self, name: str, record: Sequence[Mapping[str, Any]]) -> None:
        """Forget the writes ``record`` (as the member holds it) carries: it answers for them now."""
        entries = self._written.get(name)
        if not entries:
            return
        by_key = {aw.record_key(r): r for r in record}
        for key, (version, digest) in list(entries.items()):
            rec = by_key.get(key)
            if rec is not None and rec.get("resourceVersion") == version and rec.get("digest") == digest:
                del entries[key]
        if not entries:
            del self._written[name]

    async def remove(self, *, work_namespace: str, work_name: str, orphan: bool) -> bool:
        """Undo a deleted Work (see ``WorkRemover.remove``); True when done."""
        self._converged.pop(f"{work_namespace}/{work_name}", None)
        done = await self.remover.remove(work_namespace=work_namespace, work_name=work_name, orphan=orphan)
        if done:
            self.drift_memory.forget(f"{work_namespace}/{work_name}")
        return done
