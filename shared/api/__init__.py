"""Waybill's API: pydantic models of every kind (the single source of truth for ``crds/``).

``ALL_KINDS`` lists the top-level classes; ``kind_for(api_version, kind)`` finds one and
``load(obj)`` parses a wire dict into its model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.api.binding import ClusterResourceBinding, ResourceBinding
from shared.api.cluster import MemberCluster
from shared.api.interpreter import ResourceInterpreterCustomization
from shared.api.meta import KubeObject
from shared.api.policy import (
    ClusterOverridePolicy,
    ClusterPropagationPolicy,
    OverridePolicy,
    PropagationPolicy,
)
from shared.api.revision import ClusterTemplateRevision, TemplateRevision
from shared.api.work import AppliedWork, Work

ALL_KINDS: tuple[type[KubeObject], ...] = (
    PropagationPolicy,
    ClusterPropagationPolicy,
    OverridePolicy,
    ClusterOverridePolicy,
    ResourceBinding,
    ClusterResourceBinding,
    Work,
    AppliedWork,
    MemberCluster,
    ResourceInterpreterCustomization,
    TemplateRevision,
    ClusterTemplateRevision,
)

_BY_KEY = {(cls.crd.api_version, cls.crd.kind): cls for cls in ALL_KINDS}


def kind_for(api_version: str, kind: str) -> type[KubeObject] | None:
    """The model class of a Waybill kind, or None if it is not one."""
    return _BY_KEY.get((api_version, kind))


def load(obj: Mapping[str, Any]) -> KubeObject:
    """Parse a Waybill object from its wire form; ValueError for a kind that is not Waybill's."""
    cls = kind_for(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    if cls is None:
        raise ValueError(f"not a Waybill kind: {obj.get('apiVersion')!r} {obj.get('kind')!r}")
    return cls.from_dict(obj)


__all__ = ["ALL_KINDS", "KubeObject", "kind_for", "load"]
