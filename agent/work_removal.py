"""Removing what the agent applied: stale manifests, deleted Works, and the AppliedWork record.

``AppliedWorks`` reads and writes the per-Work record on the member. ``WorkRemover`` deletes
(UID-checked) or orphans recorded resources in the reverse of the apply order; a namespace the
agent created for a Work is kept while anything else lives in it. A resource that another Work
holds or carries is handed over instead (``agent.ownership.removal``): never deleted, dropped from
this record once the other Work has taken it. Both are idempotent: a pass cut short is finished
by the next one.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agent import applied_work as aw
from agent import ordering, ownership
from agent.claims import WorkClaims
from agent.manifests import ManifestIdentifier
from agent.member_apply import MemberApplier
from agent.member_cache import MemberCache
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists, ApiError, NotFound
from shared.kube.informer import Informer
from shared.ops.logging import get_logger
from shared.ops.metrics import counter

_log = get_logger("agent.work_removal")
_REMOVALS = counter(
    "agent_resource_removals_total", "Applied resources removed or orphaned", labels=("mode",)
)


def _revision(obj: Mapping[str, Any] | None) -> int | None:
    """An object's resourceVersion as a number (kube-apiserver's and kubesim's are), else None."""
    try:
        return int(str(((obj or {}).get("metadata") or {}).get("resourceVersion")))
    except ValueError:
        return None


class AppliedWorks:
    """The AppliedWork objects on the member (``member_api``).

    The object this agent last read or wrote is kept (its Work copy as JSON text, which is
    smaller than the parsed copy) and served again without a GET while the AppliedWork informer
    (``attach``) shows nobody has written it since: its resourceVersion there is the kept one, or
    older (the informer has not delivered the agent's own write yet). Anything else — the
    informer not synced, not holding the object, or holding a newer version — reads the member.
    """

    def __init__(self, member_api: KubeClient, *, field_manager: str) -> None:
        self.member_api = member_api
        self.field_manager = field_manager
        self._informer: Informer | None = None
        self._known: dict[str, tuple[dict[str, Any], str | None]] = {}  # name -> (object w/o copy, copy JSON)
        self.reads = 0  # GETs of AppliedWorks (a kept object served instead is not counted)

    def attach(self, informer: Informer) -> None:
        """Use ``informer`` (AppliedWorks, status dropped is fine) to tell a kept object is current."""
        self._informer = informer

    def _keep(self, obj: dict[str, Any]) -> dict[str, Any]:
        name = str((obj.get("metadata") or {}).get("name"))
        status = dict(obj.get("status") or {})
        copy = status.pop("work", None)
        text = json.dumps(copy, separators=(",", ":")) if isinstance(copy, Mapping) else None
        self._known[name] = ({**obj, "status": status}, text)
        return obj

    def _kept(self, name: str) -> dict[str, Any] | None:
        if self.current_version(name) is None:
            return None  # not kept, gone, not delivered yet, or written by someone else since
        return self.kept(name)

    def kept_version(self, name: str) -> str | None:
        """The resourceVersion of the object as this agent last read or wrote it."""
        known = self._known.get(name)
        return None if known is None else str((known[0].get("metadata") or {}).get("resourceVersion") or "")

    def current_version(self, name: str) -> str | None:
        """``kept_version`` while the informer shows nobody wrote the object since, else None."""
        known = self._known.get(name)
        informer = self._informer
        if known is None or informer is None or not informer.has_synced:
            return None
        seen = _revision(informer.get(name))
        mine = _revision(known[0])
        if seen is None or mine is None or seen > mine:
            return None
        return str(known[0]["metadata"]["resourceVersion"])

    def kept(self, name: str) -> dict[str, Any] | None:
        """The object as this agent last read or wrote it (not checked against the informer)."""
        known = self._known.get(name)
        if known is None:
            return None
        obj, text = known
        # fresh top-level dicts (callers build write bodies from it); records are copied by aw.records
        status = dict(obj["status"])
        if text is not None:
            status["work"] = json.loads(text)
        return {**obj, "metadata": dict(obj.get("metadata") or {}), "status": status}

    def forget(self, name: str) -> None:
        self._known.pop(name, None)

    # ---- AppliedWork ---------------------------------------------------------------------

    async def get(self, work_namespace: str, work_name: str, *, create: bool) -> dict[str, Any] | None:
        name = aw.applied_work_name(work_namespace=work_namespace, work_name=work_name)
        kept = self._kept(name)
        if kept is not None:
            return kept
        try:
            self.reads += 1
            return self._keep(
                await self.member_api.get(aw.APPLIED_WORK_API_VERSION, names.KIND_APPLIED_WORK, name=name)
            )
        except NotFound:
            self.forget(name)
            if not create:
                return None
        body = aw.applied_work_object(work_namespace=work_namespace, work_name=work_name)
        try:
            return self._keep(await self.member_api.create(body, field_manager=self.field_manager))
        except AlreadyExists:
            self.reads += 1
            return self._keep(
                await self.member_api.get(aw.APPLIED_WORK_API_VERSION, names.KIND_APPLIED_WORK, name=name)
            )

    async def write(
        self,
        applied: dict[str, Any],
        record: list[dict[str, Any]],
        *,
        work_copy: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Replace the record (and the Work copy, when given; otherwise the current one is kept)."""
        body = dict(applied)
        status: dict[str, Any] = {"appliedResources": record}
        copy = work_copy if work_copy is not None else aw.copy_of(applied)
        if copy is not None:
            status["work"] = copy
        body["status"] = status
        try:
            written = await self.member_api.replace_status(body, field_manager=self.field_manager)
        except ApiError:
            self.forget(str((applied.get("metadata") or {}).get("name")))  # a 409 says it changed: read again
            raise
        return self._keep(written)

    async def delete(self, applied: Mapping[str, Any], *, orphan: bool) -> None:
        meta = applied.get("metadata") or {}
        self.forget(str(meta.get("name")))
        with contextlib.suppress(NotFound):
            await self.member_api.delete(
                aw.APPLIED_WORK_API_VERSION,
                names.KIND_APPLIED_WORK,
                name=str(meta.get("name")),
                propagation_policy="Orphan" if orphan else "Background",
                preconditions={"uid": str(meta.get("uid") or "")},
            )


class WorkRemover:
    """Removes (or orphans) the resources recorded for Works, handing over what another Work carries."""

    def __init__(
        self,
        *,
        records: AppliedWorks,
        applier: MemberApplier,
        cache: MemberCache,
        claims: WorkClaims | None = None,
        handover_grace: float = 0.0,
        on_handover: Callable[[str], None] = lambda key: None,
    ) -> None:
        self.records = records
        self.applier = applier
        self.cache = cache
        self.claims = claims
        self.handover_grace = handover_grace
        self.on_handover = on_handover
        self._stale_since: dict[tuple[str, aw.RecordKey], float] = {}

    async def remove_stale(
        self,
        applied: dict[str, Any],
        record: list[dict[str, Any]],
        desired: set[aw.RecordKey],
        *,
        orphan: bool,
        work_key: str,
    ) -> tuple[list[dict[str, Any]], bool]:
        """Remove what the Work no longer carries; the record left, and whether some wait for a handover."""
        aw_name = str((applied.get("metadata") or {}).get("name"))
        for key in [k for k in self._stale_since if k[0] == aw_name and k[1] in desired]:
            del self._stale_since[key]  # carried again
        stale = aw.stale(record, desired)
        if not stale:
            return record, False
        removed = await self.remove_records(applied, stale, orphan=orphan, work_key=work_key)
        remaining = aw.without(record, removed)
        if removed:
            await self.records.write(applied, remaining)
        return remaining, len(removed) != len(stale)

    def pending_for(self, applied_work_name: str) -> float:
        """How long the oldest resource of this AppliedWork has been waiting to be handed over."""
        now = time.monotonic()
        ages = [now - since for (name, _), since in self._stale_since.items() if name == applied_work_name]
        return max(ages, default=0.0)

    def _claimant(self, key: aw.RecordKey, *, work_key: str) -> str | None:
        return None if self.claims is None else self.claims.claimant(key, besides=work_key)

    async def remove_records(
        self,
        applied: Mapping[str, Any],
        stale: Sequence[Mapping[str, Any]],
        *,
        orphan: bool,
        work_key: str,
    ) -> list[aw.RecordKey]:
        """Delete (or orphan) recorded resources in reverse apply order; the keys handled.

        A resource another Work holds is forgotten (handled, left alone); one another Work
        carries, or that left this Work less than ``handover_grace`` ago, is kept (not handled).
        """
        aw_name = str((applied.get("metadata") or {}).get("name"))
        work_namespace = work_key.partition("/")[0]
        by_key = {aw.record_key(r): r for r in stale}
        idents = [
            ManifestIdentifier(ordinal=i, group=k[0], kind=k[1], namespace=k[2], name=k[3])
            for i, k in enumerate(by_key)
        ]
        handled: list[aw.RecordKey] = []
        now = time.monotonic()
        for ident in ordering.removal_order(idents):
            key = aw.identifier_key(ident)
            rec = by_key[key]
            try:
                live = await self.applier.get_live(
                    aw.api_version_of(rec), ident.kind, name=ident.name, namespace=ident.namespace or None
                )
            except ApiError as err:
                if err.status != 404:  # 404: the kind itself is gone (its CRD was removed)
                    _log.warning("resource.remove_failed", kind=ident.kind, name=ident.name, error=str(err))
                    continue
                live = None
            claimant = self._claimant(key, work_key=work_key)
            since = self._stale_since.setdefault((aw_name, key), now)
            decision = ownership.removal(
                holder_key=ownership.holder(live, work_namespace=work_namespace),
                work_key=work_key,
                claimant=claimant,
                stale_for=now - since,
                handover_grace=self.handover_grace,
            )
            if live is not None and decision == ownership.Removal.WAIT:
                if claimant is not None:
                    self.on_handover(claimant)
                continue
            try:
                if live is None or decision == ownership.Removal.FORGET:
                    _REMOVALS.labels("handed-over" if live is not None else "gone").inc()
                elif (ident.group, ident.kind) == ("", "Namespace") and await self._keep_namespace(
                    rec, orphan=orphan
                ):
                    _REMOVALS.labels("kept-namespace").inc()
                elif orphan:
                    await self.applier.orphan(rec, applied_work=applied, live=live)
                    _REMOVALS.labels("orphan").inc()
                else:
                    await self.applier.delete(rec, applied_work_name=aw_name, live=live)
                    _REMOVALS.labels("delete").inc()
            except ApiError as err:
                _log.warning("resource.remove_failed", kind=ident.kind, name=ident.name, error=str(err))
                continue
            if live is not None and decision == ownership.Removal.FORGET:
                _log.info("resource.handed_over", work=work_key, kind=ident.kind, name=ident.name)
            self.cache.forget(
                aw.api_version_of(rec), ident.kind, name=ident.name, namespace=ident.namespace or None
            )
            self._stale_since.pop((aw_name, key), None)
            handled.append(key)
        return handled

    async def _keep_namespace(self, record: Mapping[str, Any], *, orphan: bool) -> bool:
        """A namespace the agent created for a Work stays if anything else lives there (or Orphan)."""
        live = await self.applier.get_live("v1", "Namespace", name=str(record.get("name")), namespace=None)
        annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
        if live is None or names.ANNOTATION_CREATED_NAMESPACE not in annotations:
            return False  # shipped by the Work itself: removed like any manifest
        self.applier.forget_namespace(str(record.get("name")))
        return orphan or await self.applier.namespace_in_use(str(record.get("name")))

    async def remove(self, *, work_namespace: str, work_name: str, orphan: bool) -> bool:
        """Undo a deleted Work: remove (or orphan) everything recorded, then the AppliedWork.

        True when done; False when something is left to retry (a failed delete, or a resource
        waiting for the Work that carries it now to take it over).
        """
        applied = await self.records.get(work_namespace, work_name, create=False)
        if applied is None:
            return True
        record = aw.records(applied)
        work_key = f"{work_namespace}/{work_name}"
        handled = await self.remove_records(applied, record, orphan=orphan, work_key=work_key)
        if len(handled) != len(record):
            if handled:
                await self.records.write(applied, aw.without(record, handled))
            return False
        await self.records.delete(applied, orphan=orphan)
        _log.info("work.removed", work=work_key, orphan=orphan, resources=len(record))
        return True
