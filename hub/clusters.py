"""A read-only view of a MemberCluster, as scheduling needs it (pure).

``ClusterView.from_member`` is the one place that knows where things live in a MemberCluster
object (spec: provider/region/zone/taints, status: conditions, served API resources, available
resources), so the scheduler works on plain, typed facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from shared.api.cluster import Taint, TaintEffect

__all__ = ["UNREACHABLE_TAINT", "ClusterView", "Taint"]

from hub import member_reports
from shared import sealing

UNREACHABLE_TAINT = "cluster.waybill.dev/unreachable"


@dataclass(frozen=True)
class ClusterView:
    """What the scheduler knows about one member."""

    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    provider: str | None = None
    region: str | None = None
    zone: str | None = None
    taints: tuple[Taint, ...] = ()
    ready: str = "Unknown"  # "True" | "False" | "Unknown"
    # "group/version/Kind" strings the member serves; None when not reported yet (no filtering).
    api_resources: frozenset[str] | None = None
    available: Mapping[str, str] | None = None  # e.g. {"cpu": "3500m", "memory": "6Gi"}
    sealing_key: Mapping[str, Any] | None = None  # status.sealingKey as published (hub.manifest_sealing)
    sealing_signer: str | None = None  # the signer the hub pinned for this member (annotation)

    @property
    def fields(self) -> dict[str, str | None]:
        return {"provider": self.provider, "region": self.region, "zone": self.zone}

    def serves(self, api_version: str, kind: str) -> bool:
        if self.api_resources is None:
            return True
        return f"{api_version}/{kind}" in self.api_resources

    @classmethod
    def from_member(cls, member: Mapping[str, Any]) -> ClusterView:
        meta = member.get("metadata") or {}
        spec = member.get("spec") or {}
        status = member.get("status") or {}
        ready = "Unknown"
        for condition in status.get("conditions") or []:
            if condition.get("type") == "Ready":
                ready = str(condition.get("status", "Unknown"))
        taints = tuple(
            # the one Taint model (shared.api.cluster); built without validation: a member
            # written by hand may be odd, scheduling still reads what it can
            Taint.model_construct(
                key=str(t.get("key", "")),
                value=str(t["value"]) if t.get("value") else None,
                effect=cast(TaintEffect, str(t.get("effect") or "NoSchedule")),
                time_added=str(t["timeAdded"]) if t.get("timeAdded") else None,
            )
            for t in spec.get("taints") or []
            if isinstance(t, Mapping)
        )
        return cls(
            name=str(meta.get("name", "")),
            labels=dict(meta.get("labels") or {}),
            provider=spec.get("provider"),
            region=spec.get("region"),
            zone=spec.get("zone"),
            taints=taints,
            ready=ready,
            api_resources=_api_resources(status.get("apiEnablements") or None),
            available=member_reports.check_capacity(status).available,  # implausible figures: none spare
            sealing_key=status.get("sealingKey") if isinstance(status.get("sealingKey"), Mapping) else None,
            sealing_signer=(meta.get("annotations") or {}).get(sealing.PIN_ANNOTATION),
        )


def _api_resources(raw: Any) -> frozenset[str] | None:
    """``status.apiEnablements`` (``[{groupVersion, resources: [{name, kind}]}]``); None: not reported."""
    if raw is None:
        return None
    served: set[str] = set()
    for entry in raw:
        if isinstance(entry, str):
            served.add(entry)
            continue
        group_version = str(entry.get("groupVersion") or entry.get("apiVersion") or "")
        for kind in entry.get("kinds") or []:
            served.add(f"{group_version}/{kind}")
        for resource in entry.get("resources") or []:
            if isinstance(resource, Mapping) and resource.get("kind"):
                served.add(f"{group_version}/{resource['kind']}")
        if entry.get("kind"):
            served.add(f"{group_version}/{entry['kind']}")
    return frozenset(served)
