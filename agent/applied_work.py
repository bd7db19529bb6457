"""The AppliedWork record: which member resources this agent applied for one hub Work.

One cluster-scoped AppliedWork per Work lives on the member, named ``<work-namespace>.<work-name>``
(a hash when that would be too long). Its ``status.appliedResources`` is written **ahead** of
the first write of a resource (identity without UID), then completed with the UID the member
gave it, the digest of what was applied and the object's resourceVersion after the write (so
an unchanged manifest whose object nobody touched is not written again). The status also keeps a
copy of the Work itself (``status.work``: uid, generation, spec), written in the same write-ahead
step, so an agent restarted while the hub is unreachable still knows what to apply. Removal
deletes only resources whose live UID matches the record (or, for an entry a crash left without
UID, whose ownerReference points at this AppliedWork). Pure functions here; the shell reads and
writes the object.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agent.manifests import ManifestIdentifier
from shared.api import names

RecordKey = tuple[str, str, str, str]  # group, kind, namespace, name
APPLIED_WORK_API_VERSION = names.WORK_API_VERSION


def applied_work_name(*, work_namespace: str, work_name: str) -> str:
    """A DNS-1123 subdomain unique per Work."""
    name = f"{work_namespace}.{work_name}"
    if len(name) <= 253:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:40]
    return f"{work_name[:200]}.{digest}"


def applied_work_object(*, work_namespace: str, work_name: str) -> dict[str, Any]:
    return {
        "apiVersion": APPLIED_WORK_API_VERSION,
        "kind": names.KIND_APPLIED_WORK,
        "metadata": {
            "name": applied_work_name(work_namespace=work_namespace, work_name=work_name),
            "labels": {
                names.LABEL_MANAGED_BY: names.MANAGED_BY_VALUE,
                names.LABEL_WORK_NAMESPACE: work_namespace,
            },
        },
        "spec": {"workName": work_name, "workNamespace": work_namespace},
    }


def owner_reference(applied_work: Mapping[str, Any]) -> dict[str, Any]:
    meta = applied_work.get("metadata") or {}
    return {
        "apiVersion": APPLIED_WORK_API_VERSION,
        "kind": names.KIND_APPLIED_WORK,
        "name": meta.get("name"),
        "uid": meta.get("uid"),
        "blockOwnerDeletion": False,
    }


def records(applied_work: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    status = (applied_work or {}).get("status") or {}
    return [dict(r) for r in status.get("appliedResources") or [] if isinstance(r, Mapping)]


def record_key(record: Mapping[str, Any]) -> RecordKey:
    return (
        str(record.get("group") or ""),
        str(record.get("kind") or ""),
        str(record.get("namespace") or ""),
        str(record.get("name") or ""),
    )


def identifier_key(identifier: ManifestIdentifier) -> RecordKey:
    return (identifier.group, identifier.kind, identifier.namespace, identifier.name)


def record_for(identifier: ManifestIdentifier, uid: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "group": identifier.group,
        "version": identifier.version,
        "kind": identifier.kind,
        "resource": identifier.resource,
        "name": identifier.name,
    }
    if identifier.namespace:
        out["namespace"] = identifier.namespace
    if uid:
        out["uid"] = uid
    return out


def with_write_ahead(
    current: Sequence[Mapping[str, Any]], identifiers: Iterable[ManifestIdentifier]
) -> list[dict[str, Any]]:
    """The record plus an entry (no UID yet) for every identifier not recorded already."""
    out = [dict(r) for r in current]
    known = {record_key(r) for r in out}
    for ident in identifiers:
        key = identifier_key(ident)
        if key not in known:
            out.append(record_for(ident))
            known.add(key)
    return out


@dataclass(frozen=True)
class AppliedState:
    """What a write left on the member: the object's UID and resourceVersion, and what was written."""

    uid: str
    digest: str
    resource_version: str


def digest_of(obj: Mapping[str, Any], *, strategy: str = "") -> str:
    """A stable digest of what the agent writes for one manifest (and how it writes it)."""
    text = json.dumps({"object": obj, "strategy": strategy}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def with_uids(current: Sequence[Mapping[str, Any]], uids: Mapping[RecordKey, str]) -> list[dict[str, Any]]:
    """The record with UIDs filled in (or replaced: a recreated object has a new UID)."""
    out = []
    for rec in current:
        rec = dict(rec)
        uid = uids.get(record_key(rec))
        if uid:
            rec["uid"] = uid
        out.append(rec)
    return out


def with_applied(
    current: Sequence[Mapping[str, Any]], states: Mapping[RecordKey, AppliedState]
) -> list[dict[str, Any]]:
    """The record completed with what the writes of this pass left (UID, digest, resourceVersion)."""
    out = []
    for rec in current:
        rec = dict(rec)
        state = states.get(record_key(rec))
        if state is not None:
            if state.uid:
                rec["uid"] = state.uid
            rec["digest"] = state.digest
            rec["resourceVersion"] = state.resource_version
        out.append(rec)
    return out


def with_digests(
    current: Sequence[Mapping[str, Any]],
    digests: Mapping[RecordKey, str],
    known_versions: Mapping[RecordKey, str],
) -> list[dict[str, Any]]:
    """The write-ahead record: the digest each manifest is about to be written with.

    An entry whose digest changes loses its resourceVersion (the write may not happen: the next
    pass, even after a crash, cannot take the object as written). Entries whose write this agent
    has seen (``known_versions``) get that resourceVersion, carried along with this write.
    """
    out = []
    for rec in current:
        rec = dict(rec)
        key = record_key(rec)
        digest = digests.get(key)
        if digest is not None and rec.get("digest") != digest:
            rec["digest"] = digest
            rec["resourceVersion"] = ""
        elif known_versions.get(key) and rec.get("digest"):
            rec["resourceVersion"] = known_versions[key]
        out.append(rec)
    return out


def needs_completion(current: Sequence[Mapping[str, Any]], completed: Sequence[Mapping[str, Any]]) -> bool:
    """Whether completing the record changes a UID or a digest (resourceVersions alone wait)."""
    def essentials(records: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        return [(record_key(r), r.get("uid"), r.get("digest")) for r in records]

    return essentials(current) != essentials(completed)


def entry(current: Sequence[Mapping[str, Any]], key: RecordKey) -> Mapping[str, Any] | None:
    for rec in current:
        if record_key(rec) == key:
            return rec
    return None


def up_to_date(
    record: Mapping[str, Any] | None,
    *,
    digest: str,
    live: Mapping[str, Any] | None,
    written_version: str | None = None,
) -> bool:
    """Whether the object is exactly as this agent last wrote it: same digest, untouched since
    (its resourceVersion is the one the write left: ``written_version``, else the recorded one)."""
    if record is None or live is None or record.get("digest") != digest:
        return False
    meta = live.get("metadata") or {}
    expected = written_version or record.get("resourceVersion")
    return bool(expected) and meta.get("resourceVersion") == expected


# ---- the Work copy -------------------------------------------------------------------------


# A Work part may be ~800 KiB and the record also lists what was applied: above this size the
# copy's spec is kept gzip-compressed (base64) in ``specGzip``, so the record stays well under
# the API server's 1.5 MiB object limit (manifests compress about tenfold).
COMPRESS_ABOVE_BYTES = 128 * 1024


def work_copy(work: Mapping[str, Any]) -> dict[str, Any]:
    """What ``status.work`` keeps of a hub Work (deterministic: equal Works give equal copies)."""
    meta = work.get("metadata") or {}
    gen = meta.get("generation")
    spec = dict(work.get("spec") or {})
    copy: dict[str, Any] = {
        "uid": str(meta.get("uid") or ""),
        "generation": gen if isinstance(gen, int) else None,
    }
    encoded = json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()
    if len(encoded) > COMPRESS_ABOVE_BYTES:
        copy["specGzip"] = base64.b64encode(gzip.compress(encoded, compresslevel=6, mtime=0)).decode()
    else:
        copy["spec"] = spec
    return copy


def _copied_spec(copy: Mapping[str, Any]) -> dict[str, Any]:
    packed = copy.get("specGzip")
    if isinstance(packed, str) and packed:
        try:
            spec = json.loads(gzip.decompress(base64.b64decode(packed)))
        except (ValueError, OSError):  # a damaged copy is no copy
            return {}
        return dict(spec) if isinstance(spec, dict) else {}
    return dict(copy.get("spec") or {})


def copy_of(applied_work: Mapping[str, Any] | None) -> dict[str, Any] | None:
    copy = ((applied_work or {}).get("status") or {}).get("work")
    return dict(copy) if isinstance(copy, Mapping) else None


def work_from_copy(applied_work: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Work as last seen, rebuilt from an AppliedWork's copy (None: no copy was kept)."""
    copy = copy_of(applied_work)
    spec = applied_work.get("spec") or {}
    if copy is None or not spec.get("workName") or not spec.get("workNamespace"):
        return None
    return {
        "apiVersion": names.WORK_API_VERSION,
        "kind": names.KIND_WORK,
        "metadata": {
            "name": spec["workName"],
            "namespace": spec["workNamespace"],
            "uid": copy.get("uid") or "",
            "generation": copy.get("generation"),
        },
        "spec": _copied_spec(copy),
    }


def without(current: Sequence[Mapping[str, Any]], keys: Iterable[RecordKey]) -> list[dict[str, Any]]:
    drop = set(keys)
    return [dict(r) for r in current if record_key(r) not in drop]


def stale(current: Sequence[Mapping[str, Any]], desired: Iterable[RecordKey]) -> list[dict[str, Any]]:
    """Recorded resources the Work no longer carries."""
    keep = set(desired)
    return [dict(r) for r in current if record_key(r) not in keep]


def may_delete(record: Mapping[str, Any], live: Mapping[str, Any] | None, *, applied_work_name: str) -> bool:
    """UID check before deleting: the live object is the one this agent applied."""
    if live is None:
        return False
    meta = live.get("metadata") or {}
    uid = record.get("uid")
    if uid:
        return bool(meta.get("uid") == uid)
    return any(
        ref.get("kind") == names.KIND_APPLIED_WORK and ref.get("name") == applied_work_name
        for ref in meta.get("ownerReferences") or []
    )


def api_version_of(record: Mapping[str, Any]) -> str:
    group, version = str(record.get("group") or ""), str(record.get("version") or "v1")
    return f"{group}/{version}" if group else version
