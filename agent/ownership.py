"""Which Work holds a member object, and handing it from one Work to another without deleting it.

Works are per policy (and split into parts), so a template that moves — a policy change, a Work
split or merge, a rename, a brief competing claim, a move between a namespaced and a
cluster-scoped policy — leaves one Work and enters another on the same member. The object is
*handed over*: the Work that still carries the manifest takes it (its labels and
ownerReference replace the old Work's; same object, same UID), and the Work that dropped it
removes it from its record without deleting it. Pure decisions here; the claims index
(``agent.claims``) says which Works carry what.

- ``claim``: a Work meets an object another Work holds. It takes it when that Work no longer
  carries the manifest (or is gone); while both carry it, the first holder keeps it and the
  newcomer fails ``AppliedByAnotherWork``.
- ``removal``: a Work no longer carries a recorded object. If another Work holds it, it was
  handed over (forget it); if another Work carries it, wait for that Work to take it; if it
  left this Work less than ``handover_grace`` ago, wait (the other Work may not have reached
  this agent yet); otherwise delete it (or orphan it).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from shared.api import names

RecordKey = tuple[str, str, str, str]  # group, kind, namespace, name


def normalized(key: RecordKey) -> RecordKey:
    """A key two Works agree on: a namespaced manifest without namespace lands in ``default``."""
    group, kind, namespace, name = key
    return (group, kind, namespace or "default", name)


def holder(live: Mapping[str, Any] | None, *, work_namespace: str) -> str | None:
    """The Work (``namespace/name``) holding a member object: its ownerReference to an AppliedWork
    of this agent's namespace, else Waybill's labels; None for an object Waybill does not hold."""
    meta = (live or {}).get("metadata") or {}
    prefix = f"{work_namespace}."
    for ref in meta.get("ownerReferences") or []:
        name = str(ref.get("name") or "")
        if ref.get("kind") == names.KIND_APPLIED_WORK and name.startswith(prefix):
            return f"{work_namespace}/{name[len(prefix) :]}"
    labels = meta.get("labels") or {}
    ns, work = labels.get(names.LABEL_WORK_NAMESPACE), labels.get(names.LABEL_WORK_NAME)
    return f"{ns}/{work}" if ns and work else None


def same_work(holder_key: str | None, work_key: str) -> bool:
    """Whether ``holder_key`` is ``work_key`` (labels keep only 63 characters of a Work's name)."""
    if holder_key is None:
        return False
    if holder_key == work_key:
        return True
    h_ns, _, h_name = holder_key.partition("/")
    w_ns, _, w_name = work_key.partition("/")
    return h_ns == w_ns and len(h_name) == 63 and w_name[:63] == h_name


class Claim(StrEnum):
    OURS = "Ours"  # this Work holds it, or nobody does
    TAKE = "Take"  # hand over: the holding Work no longer carries the manifest
    CONFLICT = "Conflict"  # another Work holds it and still carries it


def claim(*, holder_key: str | None, work_key: str, holder_carries: bool) -> Claim:
    """What a Work carrying a manifest does about the object's current holder."""
    if holder_key is None or same_work(holder_key, work_key):
        return Claim.OURS
    if holder_key.partition("/")[0] != work_key.partition("/")[0]:
        return Claim.CONFLICT  # another member namespace's agent: never taken from it
    return Claim.CONFLICT if holder_carries else Claim.TAKE


class Removal(StrEnum):
    REMOVE = "Remove"  # delete it (or orphan it, as the Work's deleteOption says)
    FORGET = "Forget"  # another Work took it over: drop it from the record, leave the object
    WAIT = "Wait"  # another Work carries it, or it only just left: keep it for now


def removal(
    *,
    holder_key: str | None,
    work_key: str,
    claimant: str | None,
    stale_for: float,
    handover_grace: float,
) -> Removal:
    """What to do with a recorded object the Work no longer carries (or a deleted Work's)."""
    if holder_key is not None and not same_work(holder_key, work_key):
        return Removal.FORGET
    if claimant is not None:
        return Removal.WAIT
    if stale_for < handover_grace:
        return Removal.WAIT
    return Removal.REMOVE
