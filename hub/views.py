"""Typed, read-only views of the hub's objects, parsed once per object version (pure).

The informers cache wire dicts; decisions read these views instead of digging through
``(x.get(...) or {}).get(...)`` chains. A view is made by ``shared.kube.informer.Views`` once per
resourceVersion and is immutable; expensive parts are computed on first use.

* :class:`WorkView`: a Work's manifests and manifest conditions by template identity, the
  generations they were rendered from, and per template a digest of what a binding's status
  reads from the Work (``changed_templates`` compares two versions).
* :class:`BindingView`: a (Cluster)ResourceBinding's template, policy, placement and the reason
  of its ``Scheduled`` condition.
* :class:`PolicyView` (defined in ``hub.matching``, which reads it): a policy's typed model and
  its validation (:class:`PolicyCheck`), from one parse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from hub.matching import PolicyCheck as PolicyCheck  # (re-exported: defined beside matching)
from hub.matching import PolicyRef, TemplateId, TemplateRef
from hub.matching import PolicyView as PolicyView
from hub.matching import check_policy as check_policy
from shared.api import names

Obj = Mapping[str, Any]

SLIM_DIGEST_FIELD = "waybill.dev/digest"  # hub.rendering.DIGEST_FIELD (views cannot import rendering)

# Work annotation: which template generation each of its manifests was rendered from, keyed by
# the template identity (``str(TemplateId)``).
ANNOTATION_GENERATIONS = "work.waybill.dev/template-generations"


def manifest_identity(identifier: Mapping[str, Any]) -> TemplateId:
    """The template identity a Work's ``manifestConditions[].identifier`` names."""
    return TemplateId(
        str(identifier.get("group") or ""),
        str(identifier.get("kind") or ""),
        str(identifier.get("namespace") or ""),
        str(identifier.get("name") or ""),
    )


def _condition(conditions: Any, kind: str) -> Mapping[str, Any] | None:
    for condition in conditions if isinstance(conditions, list) else []:
        if isinstance(condition, Mapping) and condition.get("type") == kind:
            return condition
    return None


def parse_generations(raw: Any) -> dict[str, int]:
    """The generations annotation (``{"Deployment.apps/default/web": 3}``); {} when unreadable."""
    try:
        parsed = json.loads(raw) if raw else {}
    except (TypeError, ValueError):
        return {}
    if not isinstance(parsed, dict):
        return {}
    out: dict[str, int] = {}
    for key, value in parsed.items():
        if isinstance(value, int) and not isinstance(value, bool):
            out[str(key)] = value
    return out


@dataclass(frozen=True, eq=False)
class WorkView:
    """One version of a Work, as the hub reads it."""

    obj: Obj

    @classmethod
    def of(cls, obj: Obj) -> WorkView:
        return cls(obj)

    @cached_property
    def meta(self) -> Mapping[str, Any]:
        meta = self.obj.get("metadata")
        return meta if isinstance(meta, Mapping) else {}

    @property
    def namespace(self) -> str:
        return str(self.meta.get("namespace") or "")

    @property
    def name(self) -> str:
        return str(self.meta.get("name") or "")

    def manifests(self) -> dict[TemplateId, Mapping[str, Any]]:
        """Manifest by template identity (the first of a duplicated identity); built on each call
        (not kept: ``digests`` answers "does this Work carry T")."""
        spec = self.obj.get("spec") or {}
        out: dict[TemplateId, Mapping[str, Any]] = {}
        for manifest in (spec.get("workload") or {}).get("manifests") or []:
            if isinstance(manifest, Mapping):
                out.setdefault(TemplateId.of(manifest), manifest)
        return out

    @cached_property
    def manifest_conditions(self) -> dict[TemplateId, Mapping[str, Any]]:
        out: dict[TemplateId, Mapping[str, Any]] = {}
        for condition in (self.obj.get("status") or {}).get("manifestConditions") or []:
            if isinstance(condition, Mapping):
                out.setdefault(manifest_identity(condition.get("identifier") or {}), condition)
        return out

    @cached_property
    def generations(self) -> dict[str, int]:
        return parse_generations((self.meta.get("annotations") or {}).get(ANNOTATION_GENERATIONS))

    def carries(self, identity: TemplateId) -> bool:
        return identity in self.digests

    def rendered_generation(self, identity: TemplateId) -> int | None:
        return self.generations.get(str(identity))

    @cached_property
    def applied(self) -> Mapping[str, Any] | None:
        """The Work's own ``Applied`` condition."""
        return _condition((self.obj.get("status") or {}).get("conditions"), names.CONDITION_APPLIED)

    @cached_property
    def current(self) -> bool:
        """Whether the agent reported on this generation of the Work."""
        applied = self.applied
        return bool(applied and applied.get("observedGeneration") in (None, self.meta.get("generation")))

    @cached_property
    def digests(self) -> dict[TemplateId, int]:
        """Per carried template, a digest of what its binding's status reads from this Work.

        The Work as a whole contributes only whether the agent applied its current generation
        (not the generation itself: a Work rewrite for one template must not wake every other
        template it carries).
        """
        shared = "1" if self.current else json.dumps([False, self.applied], sort_keys=True, default=str)
        out: dict[TemplateId, int] = {}
        for identity, manifest in self.manifests().items():
            # the hub's Work cache keeps a manifest as identity + content digest: the digest will do
            content = manifest.get(SLIM_DIGEST_FIELD) or manifest
            text = json.dumps(
                [content, self.manifest_conditions.get(identity), self.rendered_generation(identity)],
                sort_keys=True,
                default=str,
            )
            # only ever compared within this process: the str hash (64 bits) is enough
            out[identity] = hash(text + shared)
        return out


def changed_templates(old: WorkView | None, new: WorkView | None) -> list[TemplateId]:
    """Templates whose manifest or manifest status differs between two versions of a Work."""
    before = old.digests if old is not None else {}
    after = new.digests if new is not None else {}
    return sorted(i for i in set(before) | set(after) if before.get(i) != after.get(i))


@dataclass(frozen=True)
class Placement:
    """What a binding says about where its template goes."""

    policy: PolicyRef | None
    clusters: tuple[tuple[str, int | None], ...]
    template: TemplateRef | None
    scheduled_reason: str | None


def binding_template(binding: Obj) -> TemplateRef | None:
    resource = (binding.get("spec") or {}).get("resource") or {}
    if not resource.get("kind") or not resource.get("name"):
        return None
    return TemplateRef(
        str(resource.get("apiVersion", "")),
        str(resource["kind"]),
        str(resource.get("namespace") or ""),
        str(resource["name"]),
    )


def binding_policy(binding: Obj) -> PolicyRef | None:
    policy = (binding.get("spec") or {}).get("policy") or {}
    if not policy.get("name"):
        return None
    return PolicyRef(str(policy.get("kind", "")), str(policy.get("namespace") or ""), str(policy["name"]))


def binding_clusters(binding: Obj) -> dict[str, int | None]:
    return {
        str(c["name"]): c.get("replicas")
        for c in (binding.get("spec") or {}).get("clusters") or []
        if isinstance(c, Mapping) and c.get("name")
    }


@dataclass(frozen=True, eq=False)
class BindingView:
    """One version of a (Cluster)ResourceBinding, parsed once (``Views``)."""

    template: TemplateRef | None
    policy: PolicyRef | None
    clusters: Mapping[str, int | None]
    placement: Placement

    @classmethod
    def of(cls, binding: Obj) -> BindingView:
        placement = placement_of(binding)
        assert placement is not None
        return cls(
            template=placement.template,
            policy=placement.policy,
            clusters=dict(placement.clusters),
            placement=placement,
        )


def placement_of(binding: Obj | None) -> Placement | None:
    """A binding's placement (None for no binding): what Works, status and counts depend on."""
    if binding is None:
        return None
    scheduled = _condition((binding.get("status") or {}).get("conditions"), names.CONDITION_SCHEDULED)
    return Placement(
        policy=binding_policy(binding),
        clusters=tuple(sorted(binding_clusters(binding).items())),
        template=binding_template(binding),
        scheduled_reason=None if scheduled is None else str(scheduled.get("reason") or ""),
    )
