"""``spec.suspension``: which members a policy stops dispatching to (pure).

Karmada's suspension: ``dispatching: true`` stops every member's Works, and
``dispatchingOnClusters.clusterNames`` the named ones'. A suspended member's Works stay exactly
as they are — nothing is created, updated or deleted there — until dispatching resumes. The
scheduler still places the template (the binding is written as usual). The works controller
(``hub.controller_works``) and ``waybill plan`` ask the same question here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FIELD_DISPATCHING = "spec.suspension.dispatching"
FIELD_ON_CLUSTERS = "spec.suspension.dispatchingOnClusters.clusterNames"


def suspended(policy: Mapping[str, Any], cluster: str) -> bool:
    """Whether ``spec.suspension`` stops dispatching to ``cluster``."""
    return suspension_field(policy, cluster) is not None


def suspension_field(policy: Mapping[str, Any], cluster: str) -> str | None:
    """The field that suspends dispatching to ``cluster`` (None: it is not suspended)."""
    suspension = (policy.get("spec") or {}).get("suspension") or {}
    if not isinstance(suspension, Mapping):
        return None
    if suspension.get("dispatching"):
        return FIELD_DISPATCHING
    on_clusters = (suspension.get("dispatchingOnClusters") or {}).get("clusterNames") or []
    return FIELD_ON_CLUSTERS if cluster in on_clusters else None
