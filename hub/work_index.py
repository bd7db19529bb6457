"""Which Work carries which template, and which manifests' state changed (pure bookkeeping).

Fed with every Work the hub's informer sees (``update(key, work)``, ``work=None`` when it is
gone), it answers ``carrying(ref, namespace)`` in O(1) and returns, per update, the templates
whose manifest or manifest status changed — so a Work status update from an agent wakes up only
the bindings it concerns, not every binding the Work carries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from hub.aggregation import rendered_generations
from hub.matching import TemplateRef
from hub.replica_paths import group_of
from shared.api import names


def _identity(identifier: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (
        str(identifier.get("group") or ""),
        str(identifier.get("kind") or ""),
        str(identifier.get("namespace") or ""),
        str(identifier.get("name") or ""),
    )


def manifest_digests(work: Mapping[str, Any]) -> dict[str, str]:
    """``str(TemplateRef)`` → digest of its manifest, its status in the Work and the Work's own state."""
    status = work.get("status") or {}
    by_identity = {_identity(m.get("identifier") or {}): m for m in status.get("manifestConditions") or []}
    meta = work.get("metadata") or {}
    # what a binding's status reads from the Work as a whole: whether the agent applied its
    # current generation (not the generation itself: a Work rewrite for one template must not
    # wake every other template it carries), and per template the generation it was rendered from
    applied = next(
        (c for c in status.get("conditions") or [] if c.get("type") == names.CONDITION_APPLIED), None
    )
    current = bool(applied and applied.get("observedGeneration") in (None, meta.get("generation")))
    shared = json.dumps([current, applied], sort_keys=True, default=str) if not current else "1"
    generations = rendered_generations(work)
    out: dict[str, str] = {}
    for manifest in ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []:
        ref = TemplateRef.of(manifest)
        condition = by_identity.get((group_of(ref.api_version), ref.kind, ref.namespace, ref.name))
        rendered = generations.get(str(ref))
        text = json.dumps([manifest, condition, rendered], sort_keys=True, default=str) + shared
        out[str(ref)] = hashlib.sha256(text.encode()).hexdigest()
    return out


class WorkIndex:
    """template → (member namespace → Work key), kept current from Work events."""

    def __init__(self) -> None:
        self._digests: dict[str, dict[str, str]] = {}  # work key → {template: digest}
        self._refs: dict[str, TemplateRef] = {}
        self._carrying: dict[str, dict[str, str]] = {}  # template → {namespace: work key}

    def update(self, key: str, work: Mapping[str, Any] | None) -> list[TemplateRef]:
        """Record the Work at ``key`` (None: deleted); the templates whose state there changed."""
        namespace = key.split("/", 1)[0]
        before = self._digests.pop(key, {})
        after: dict[str, str] = {}
        if work is not None:
            after = manifest_digests(work)
            for manifest in ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []:
                ref = TemplateRef.of(manifest)
                self._refs.setdefault(str(ref), ref)
            self._digests[key] = after
        for gone in set(before) - set(after):
            holders = self._carrying.get(gone, {})
            if holders.get(namespace) == key:
                holders.pop(namespace)
            if not holders:
                self._carrying.pop(gone, None)
        for name in after:
            self._carrying.setdefault(name, {})[namespace] = key
        changed = [name for name in set(before) | set(after) if before.get(name) != after.get(name)]
        return [self._refs[name] for name in sorted(changed) if name in self._refs]

    def carrying(self, ref: TemplateRef, namespace: str) -> str | None:
        """The key (``namespace/name``) of the Work carrying ``ref`` in ``namespace``, if any."""
        return self._carrying.get(str(ref), {}).get(namespace)
