"""TemplateRevision and ClusterTemplateRevision (``work.waybill.dev/v1alpha1``): one kept
version of a template.

The hub records one revision per template generation for templates whose policy sets
``rolloutStrategy`` (type All included) and keeps the last ``revisionHistoryLimit`` of them
(default 10): a TemplateRevision in the template's namespace for a namespaced template, a
ClusterTemplateRevision for a cluster-scoped one (the namespaced/cluster twins of the policy
kinds; same fields, same labels). ``waybill rollout history`` lists them and ``waybill rollout
undo`` writes one back into the template (which then rolls out through the policy's strategy
like any edit).

Kinds the API server keeps no ``metadata.generation`` for (ConfigMap, Service, ClusterRole, ...)
are numbered by the hub: the newest kept revision's number while the template's content (every
top-level field but apiVersion, kind, metadata and status) equals that revision's content, else
the next number (``hub.controller_rollout``). The numbers so live in the revision objects and
survive hub restarts.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field

from shared.api import names
from shared.api.meta import AGE_COLUMN, ApiModel, CrdInfo, KubeObject, PrinterColumn, RawObject


class RevisionTemplate(ApiModel):
    """The template a revision belongs to."""

    api_version: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    namespace: str | None = None
    name: str = Field(min_length=1)


class TemplateRevisionSpec(ApiModel):
    """Which template, which generation, and its content then."""

    template: RevisionTemplate
    revision: int = Field(ge=1)
    """The template's ``metadata.generation`` this revision was taken from (for a kind without
    one, the hub's number: bumped when the content changes)."""
    content: RawObject = Field(default_factory=dict)
    """The template's fields other than apiVersion, kind, metadata and status (spec, data, ...)."""


class TemplateRevision(KubeObject):
    """One kept generation of a template (Waybill extension; listable by users)."""

    crd: ClassVar[CrdInfo] = CrdInfo(
        group=names.WORK_GROUP,
        version=names.VERSION,
        kind=names.KIND_TEMPLATE_REVISION,
        plural="templaterevisions",
        singular="templaterevision",
        scope="Namespaced",
        short_names=("trev",),
        printer_columns=(
            PrinterColumn(name="Kind", json_path=".spec.template.kind"),
            PrinterColumn(name="Template", json_path=".spec.template.name"),
            PrinterColumn(name="Revision", json_path=".spec.revision", type="integer"),
            AGE_COLUMN,
        ),
        description="One kept generation of a template, for `waybill rollout history` and `undo`.",
    )

    spec: TemplateRevisionSpec


class ClusterTemplateRevision(TemplateRevision):
    """One kept generation of a cluster-scoped template (the cluster-scoped twin of TemplateRevision)."""

    crd: ClassVar[CrdInfo] = CrdInfo(
        group=names.WORK_GROUP,
        version=names.VERSION,
        kind=names.KIND_CLUSTER_TEMPLATE_REVISION,
        plural="clustertemplaterevisions",
        singular="clustertemplaterevision",
        scope="Cluster",
        short_names=("ctrev",),
        printer_columns=TemplateRevision.crd.printer_columns,
        description=(
            "One kept generation of a cluster-scoped template, for `waybill rollout history` and `undo`."
        ),
    )


def revision_kind(namespace: str | None) -> str:
    """TemplateRevision for a namespaced template, ClusterTemplateRevision for a cluster-scoped one."""
    return names.KIND_TEMPLATE_REVISION if namespace else names.KIND_CLUSTER_TEMPLATE_REVISION


# --- helpers shared by the hub (which records revisions) and the CLI (which lists and restores) ---
_NOT_CONTENT = ("apiVersion", "kind", "metadata", "status")
DEFAULT_HISTORY_LIMIT = 10


def content_of(template: Mapping[str, Any]) -> dict[str, Any]:
    """What a revision keeps of a template: every top-level field but apiVersion, kind, metadata, status."""
    return {k: copy.deepcopy(v) for k, v in template.items() if k not in _NOT_CONTENT}


def same_content(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two versions of a template have the same content (``content_of``)."""
    return {k: v for k, v in a.items() if k not in _NOT_CONTENT} == {
        k: v for k, v in b.items() if k not in _NOT_CONTENT
    }


def content_digest(template: Mapping[str, Any]) -> str:
    """A digest of what a revision keeps of ``template`` (``content_of``)."""
    text = json.dumps(content_of(template), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _label_value(text: str) -> str:
    """A label value (at most 63 characters of [A-Za-z0-9_.-]); long values hashed."""
    clean = "".join(c if c.isalnum() or c in "_.-" else "-" for c in text).strip("_.-")
    if len(clean) <= 63:
        return clean
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{clean[:52].rstrip('_.-')}-{digest}"


def template_labels(api_version: str, kind: str, name: str) -> dict[str, str]:
    """The labels naming a revision's template (``kind`` carries the API group: two groups'
    kinds of one name keep apart)."""
    group = api_version.rpartition("/")[0]
    return {
        names.LABEL_REVISION_KIND: _label_value(f"{kind}.{group}" if group else kind),
        names.LABEL_REVISION_NAME: _label_value(name),
    }


def label_selector(api_version: str, kind: str, name: str) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(template_labels(api_version, kind, name).items()))


def revision_name(binding_name: str, revision: int) -> str:
    """``<binding name>-r<revision>`` (a binding name is at most 240 characters)."""
    return f"{binding_name}-r{revision}"


def revision_body(*, template: Mapping[str, Any], binding_name: str, revision: int) -> dict[str, Any]:
    """The (Cluster)TemplateRevision keeping ``template`` as it is at ``revision`` (its generation,
    or the hub's number for a kind without one)."""
    meta = template.get("metadata") or {}
    api_version, kind, name = str(template["apiVersion"]), str(template["kind"]), str(meta["name"])
    namespace = meta.get("namespace") or None
    return {
        "apiVersion": names.WORK_API_VERSION,
        "kind": revision_kind(namespace),
        "metadata": {
            "name": revision_name(binding_name, revision),
            **({"namespace": namespace} if namespace else {}),
            "labels": {
                names.LABEL_MANAGED_BY: names.MANAGED_BY_VALUE,
                **template_labels(api_version, kind, name),
            },
        },
        "spec": {
            "template": {
                "apiVersion": api_version,
                "kind": kind,
                **({"namespace": namespace} if namespace else {}),
                "name": name,
            },
            "revision": revision,
            "content": content_of(template),
        },
    }


def _merge_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386: the patch turning ``old`` into ``new`` (lists replaced whole)."""
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        before = old.get(key)
        if isinstance(value, Mapping) and isinstance(before, Mapping):
            nested = _merge_patch(before, value)
            if nested:
                patch[key] = nested
        elif before != value or key not in old:
            patch[key] = copy.deepcopy(value)
    return patch


def restore_patch(template: Mapping[str, Any], content: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON merge patch that puts ``content`` back into ``template`` (fields it lacks removed)."""
    return _merge_patch(content_of(template), content)
