"""The hub's CRDs at start-up: verify them, create the missing ones, or upgrade them — as allowed.

A hub installed by its Helm chart gets its CRDs from the chart and a role that may only *read*
CRDs, so start-up must never try to write one it does not need to (that was a 403 and exit 1
even with every CRD in place). Three modes, the hub's ``--crds`` flag:

* ``verify`` — every hub CRD must exist and be Established; a missing one is an error naming it
  and the command that installs it. Needs ``get`` on customresourcedefinitions.
* ``create`` (the CLI default) — like ``verify``, but missing CRDs are created first; existing
  ones are left as they are. Needs ``create`` too, only when one is missing.
* ``upgrade`` — server-side apply every hub CRD whose live spec differs from this hub's. Needs
  ``patch`` on the Waybill CRDs (the chart's ``crds.upgradeByHub`` grants exactly that).

``missing_or_stale`` is the pure decision; ``prepare_crds`` is the shell.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from shared.api import crdgen
from shared.kube import errors
from shared.kube.client import KubeClient
from shared.ops.logging import get_logger

__all__ = ["CRD_API", "CrdMode", "CrdPlan", "covers", "hub_crds", "missing_or_stale", "prepare_crds"]

_log = get_logger("hub.crd_startup")
CRD_API = "apiextensions.k8s.io/v1"
CrdMode = Literal["verify", "create", "upgrade"]
# Lives on members (the agent chart carries it); the hub never reads it.
MEMBER_SIDE_CRDS = frozenset({"appliedworks.work.waybill.dev"})


class CrdsNotReady(Exception):
    """The hub's CRDs are missing or not served, and this hub may not (or must not) install them."""


@dataclass(frozen=True, slots=True)
class CrdPlan:
    """What start-up has to do: CRDs to create (absent) and to apply (present, spec differs)."""

    missing: tuple[str, ...]
    stale: tuple[str, ...]


def hub_crds() -> dict[str, dict[str, Any]]:
    """The CRDs the hub serves from, by name (every Waybill CRD but the member-side ones)."""
    found = {str(crd["metadata"]["name"]): crd for crd in crdgen.all_crds()}
    return {name: crd for name, crd in found.items() if name not in MEMBER_SIDE_CRDS}


def covers(live: Any, desired: Any) -> bool:
    """Whether ``live`` holds every value ``desired`` sets (the server may add defaults, such as
    ``conversion.strategy``, that the generated CRD leaves out)."""
    if isinstance(desired, Mapping):
        return isinstance(live, Mapping) and all(k in live and covers(live[k], v) for k, v in desired.items())
    if isinstance(desired, list):
        return (
            isinstance(live, list)
            and len(live) == len(desired)
            and all(covers(a, b) for a, b in zip(live, desired, strict=True))
        )
    return bool(live == desired)


def missing_or_stale(
    desired: Mapping[str, Mapping[str, Any]], live: Mapping[str, Mapping[str, Any] | None]
) -> CrdPlan:
    """Which desired CRDs are absent from ``live``, and which are present with another spec."""
    missing = tuple(sorted(name for name in desired if live.get(name) is None))
    stale = tuple(
        sorted(
            name
            for name, crd in desired.items()
            if (found := live.get(name)) is not None and not covers(found.get("spec"), crd.get("spec"))
        )
    )
    return CrdPlan(missing=missing, stale=stale)


async def _live(hub_api: KubeClient, names: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    found: dict[str, dict[str, Any] | None] = {}
    for name in names:
        try:
            found[name] = await hub_api.get(CRD_API, "CustomResourceDefinition", name=name)
        except errors.NotFound:
            found[name] = None
    return found


def _established(crd: Mapping[str, Any] | None) -> bool:
    conditions = ((crd or {}).get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)


async def prepare_crds(hub_api: KubeClient, *, mode: CrdMode, wait_seconds: float = 30.0) -> CrdPlan:
    """Bring the hub's CRDs to what ``mode`` allows; raise :class:`CrdsNotReady` when they are not."""
    desired = hub_crds()
    plan = missing_or_stale(desired, await _live(hub_api, desired))
    if plan.missing and mode == "verify":
        raise CrdsNotReady(
            f"CRDs not installed: {', '.join(plan.missing)} (install them with "
            "`kubectl apply --server-side -f charts/waybill-hub/crds/`, or run the hub with --crds=create)"
        )
    for name in plan.missing:
        try:
            await hub_api.create(desired[name])
        except errors.AlreadyExists:
            continue  # another replica created it first
        _log.info("crd.created", crd=name)
    if mode == "upgrade":
        for name in plan.stale:
            await hub_api.apply(desired[name], field_manager="waybill-hub", force=True)
            _log.info("crd.upgraded", crd=name)
    elif plan.stale:
        _log.warning("crd.differs", crds=list(plan.stale), mode=mode)
    deadline = time.monotonic() + wait_seconds
    while True:
        live = await _live(hub_api, desired)
        waiting = sorted(name for name, crd in live.items() if not _established(crd))
        if not waiting:
            break
        if time.monotonic() > deadline:
            raise CrdsNotReady(f"CRDs not Established after {wait_seconds:g}s: {', '.join(waiting)}")
        await asyncio.sleep(0.1)
    if plan.missing or (mode == "upgrade" and plan.stale):
        hub_api.invalidate_discovery()
    return plan
