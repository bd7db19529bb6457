"""Preview Works (``waybill plan --diff``) and what a ReportDiff comparison adds (pure).

A **preview Work** is labelled ``waybill.dev/preview``: the CLI wrote it to ask what a change
would do on this member. The agent only ever compares it:

- ``refusal``: a preview Work whose ``applyStrategy.type`` is not ``ReportDiff`` is refused
  (every manifest ``Applied=False``, reason ``PreviewNotReportDiff``), never applied;
- ``carries_nothing``: a preview Work claims no member object (``agent.claims``), so it never
  holds up a handover or a removal of the Works that do hold them, and is no placement;
- a ReportDiff comparison ignores which Work holds the object (it writes nothing, so there is
  no conflict to report), and compares the hub's manifest as given (``takeover.plan_apply``).

``removed_fields`` is what a field-level diff of a server-side apply must add to the
partial comparison of ``agent.drift``: fields this agent's field manager applies today that the
new manifest no longer sets. Server-side apply removes those (unless another manager owns
them too), so the preview reports them with the member's value and no hub value.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from agent import drift
from agent.manifests import DecodedManifest, ManifestIdentifier
from agent.status import REASON_NOT_TAKEN_OVER, ManifestResult
from agent.takeover import STRATEGY_REPORT_DIFF, TAKEOVER_ALWAYS, TAKEOVER_IF_NO_DIFF, Action, Strategy
from shared.api import names

REASON_PREVIEW_NOT_REPORT_DIFF = "PreviewNotReportDiff"
# Never "removed": identity, status, and Waybill's own bookkeeping (ownerReferences to the
# AppliedWork of whichever Work applies the object).
_NEVER_REMOVED = {
    ("f:status",),
    ("f:apiVersion",),
    ("f:kind",),
    ("f:metadata", "f:name"),
    ("f:metadata", "f:namespace"),
    ("f:metadata", "f:ownerReferences"),
}


def is_preview(work: Mapping[str, Any]) -> bool:
    labels = (work.get("metadata") or {}).get("labels") or {}
    return names.LABEL_PREVIEW in labels


def carries_nothing(work: Mapping[str, Any]) -> bool:
    """Whether the Work's manifests claim no member object (a preview Work)."""
    return is_preview(work)


def refusal(work: Mapping[str, Any], strategy: Strategy) -> str | None:
    """Why this Work is not compared nor applied (None: go on)."""
    if is_preview(work) and strategy.type != STRATEGY_REPORT_DIFF:
        return (
            f"a preview Work (label {names.LABEL_PREVIEW}) is only compared: "
            f"spec.applyStrategy.type must be {STRATEGY_REPORT_DIFF}, not {strategy.type}"
        )
    return None


def takeover_refusal(
    strategy: Strategy, *, exists: bool, owned: bool, held: bool, differs: bool
) -> str | None:
    """Why a real apply with this strategy would leave the object alone (``NotTakenOver``): it is
    on the member, not Waybill's, and ``whenToTakeOver`` does not allow taking it; None when the
    apply would write it. A comparison reports this beside the differences."""
    if not exists or owned or held:
        return None
    when = strategy.when_to_take_over
    if when == TAKEOVER_ALWAYS or (when == TAKEOVER_IF_NO_DIFF and not differs):
        return None
    return f"not created by Waybill; whenToTakeOver={when} would leave it alone"


def result(
    ident: ManifestIdentifier,
    action: Action,
    *,
    strategy: Strategy,
    live: Mapping[str, Any] | None,
    owned: bool,
    held: bool,
    removed: list[drift.FieldDiff],
) -> ManifestResult:
    """A ReportDiff manifest's result: the differences plus the fields an apply would remove,
    and reason ``NotTakenOver`` when an apply would leave the object alone."""
    diffs = [*action.diffs, *removed]
    message = f"{len(diffs)} field(s) differ" if live is not None and diffs else action.message
    left_alone = takeover_refusal(
        strategy, exists=live is not None, owned=owned, held=held, differs=bool(diffs)
    )
    reason = REASON_NOT_TAKEN_OVER if left_alone else action.reason
    return ManifestResult(ident, False, reason, left_alone or message, diffs=diffs, report_diff=True)


def refused(decoded: Iterable[DecodedManifest], message: str) -> dict[int, ManifestResult]:
    return {
        m.identifier.ordinal: ManifestResult(m.identifier, False, REASON_PREVIEW_NOT_REPORT_DIFF, message)
        for m in decoded
        if m.ok
    }


# ---- fields a server-side apply would remove ---------------------------------------------------


def _leaves(fields: Mapping[str, Any], prefix: tuple[str, ...]) -> Iterable[tuple[str, ...]]:
    for key, child in fields.items():
        if key == ".":
            continue
        path = (*prefix, key)
        if isinstance(child, Mapping) and any(k != "." for k in child):
            yield from _leaves(child, path)
        else:
            yield path


def _owned_by(
    live: Mapping[str, Any], *, managers: Iterable[str] | None, exclude: str | None
) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    wanted = set(managers) if managers is not None else None
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(entry, Mapping) or entry.get("fieldsType", "FieldsV1") != "FieldsV1":
            continue
        manager = str(entry.get("manager") or "")
        if (wanted is not None and manager not in wanted) or manager == exclude:
            continue
        if wanted is not None and entry.get("operation") != "Apply":
            continue
        if isinstance(entry.get("fieldsV1"), Mapping):
            out.update(_leaves(entry["fieldsV1"], ()))
    return out


def _step(value: Any, token: str) -> tuple[Any, str] | None:
    """Follow one managedFields token in ``value``: (the child, its JSON-pointer token)."""
    kind, _, rest = token.partition(":")
    if kind == "f" and isinstance(value, Mapping):
        return (value[rest], rest.replace("~", "~0").replace("/", "~1")) if rest in value else None
    if kind == "k" and isinstance(value, list):
        try:
            key = json.loads(rest)
        except ValueError:
            return None
        for index, item in enumerate(value):
            if isinstance(item, Mapping) and all(item.get(k) == v for k, v in key.items()):
                return item, str(index)
        return None
    if kind == "v" and isinstance(value, list):
        try:
            wanted = json.loads(rest)
        except ValueError:
            return None
        for index, item in enumerate(value):
            if item == wanted:
                return item, str(index)
        return None
    if kind == "i" and isinstance(value, list) and rest.isdigit() and int(rest) < len(value):
        return value[int(rest)], rest
    return None


def _resolve(obj: Mapping[str, Any], path: tuple[str, ...]) -> tuple[Any, str] | None:
    """The value at a managedFields path and its JSON pointer; None where ``obj`` lacks it."""
    current: Any = obj
    pointer = ""
    for token in path:
        found = _step(current, token)
        if found is None:
            return None
        current, part = found
        pointer += "/" + part
    return current, pointer


def removed_fields(
    desired: Mapping[str, Any],
    live: Mapping[str, Any],
    *,
    field_manager: str,
    skip: Iterable[drift.FieldPath] = (),
    limit: int = drift.MAX_DIFFS,
) -> list[drift.FieldDiff]:
    """Fields ``field_manager`` applied on ``live`` that ``desired`` no longer sets and no other
    manager owns: a server-side apply of ``desired`` would remove them. Secret values redacted."""
    mine = _owned_by(live, managers=[field_manager], exclude=None)
    others = _owned_by(live, managers=None, exclude=field_manager)
    skipped = set(skip)
    secret = live.get("kind") == "Secret" and live.get("apiVersion") == "v1"
    wanted = drift.normalize_secret(desired) if secret else desired
    out: list[drift.FieldDiff] = []
    seen: set[str] = set()
    for path in sorted(mine - others):
        if path[:1] in _NEVER_REMOVED or path[:2] in _NEVER_REMOVED:
            continue
        if any(path[:n] in skipped for n in range(1, len(path) + 1)):
            continue
        if _resolve(wanted, path) is not None:
            continue
        # Report the outermost part the new manifest drops (a whole container, not each of its
        # fields), unless another manager keeps something inside it.
        for n in range(1, len(path) + 1):
            prefix = path[:n]
            if _resolve(wanted, prefix) is None and not any(o[:n] == prefix for o in others):
                break
        else:  # pragma: no cover - the full path is absent from ``wanted`` (checked above)
            prefix = path
        found = _resolve(live, prefix)
        if found is None:
            continue
        value, pointer = found
        if pointer in seen or any(pointer.startswith(p + "/") for p in seen):
            continue
        seen.add(pointer)
        if secret and prefix[:1] in (("f:data",), ("f:stringData",)):
            value = drift.REDACTED
        out.append(drift.FieldDiff(pointer, value, None))
        if len(out) >= limit:
            break
    return out
