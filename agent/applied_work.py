"""The AppliedWork record: which member resources this agent applied for one hub Work.

One cluster-scoped AppliedWork per Work lives on the member, named ``<work-namespace>.<work-name>``
(a hash when that would be too long). Its ``status.appliedResources`` is written **ahead** of
the first write of a resource (identity without UID), then completed with the UID the member
gave it. Removal deletes only resources whose live UID matches the record (or, for an entry a
crash left without UID, whose ownerReference points at this AppliedWork). Pure functions here;
the shell reads and writes the object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
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
