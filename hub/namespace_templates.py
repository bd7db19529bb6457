"""The namespace a namespaced template lives in, as members get it: labels and overrides (pure).

Karmada propagates a hub namespace to the members (its namespace sync controller), with its labels
and annotations and the ClusterOverridePolicies that select it, unless the namespace is reserved
(``default``, ``kube-*``, Karmada's own) or labelled ``namespace.karmada.io/skip-auto-propagation:
"true"``. Waybill's agent creates a missing namespace on a member when a Work needs it; the hub
tells it what that namespace looks like: each Work carries, in its annotation
``work.waybill.dev/namespaces``, the hub's Namespace object for every namespace its manifests live
in (server fields stripped, ClusterOverridePolicies for that member applied). The agent creates the
namespace from it, and keeps its labels and annotations as the hub says while it is the one that
created it; a namespace that already existed on the member is left as it is.

Reserved (never described): ``default``, ``kube-*``, ``karmada-*``, ``waybill-system`` and the
member namespaces; ``skip-auto-propagation: "true"`` (Karmada's label, or Waybill's spelling
``namespace.waybill.dev/skip-auto-propagation``): the namespace is created plainly, as before.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from shared.api import names

ANNOTATION_NAMESPACES = names.ANNOTATION_NAMESPACE_TEMPLATES
SKIP_LABELS = ("namespace.karmada.io/skip-auto-propagation", "namespace.waybill.dev/skip-auto-propagation")
RESERVED = frozenset({"default", "waybill-system"})
RESERVED_PREFIXES = ("kube-", "karmada-")


def reserved(name: str) -> bool:
    return name in RESERVED or name.startswith(RESERVED_PREFIXES)


def skipped(namespace: Mapping[str, Any]) -> bool:
    """Whether a hub namespace says it must not be propagated (the skip label is ``true``)."""
    labels = (namespace.get("metadata") or {}).get("labels") or {}
    return any(str(labels.get(key, "")).lower() == "true" for key in SKIP_LABELS)


def used_namespaces(manifests: Iterable[Mapping[str, Any]]) -> set[str]:
    """The namespaces a Work's namespaced manifests live in, but those it ships as Namespaces."""
    shipped = {
        str((m.get("metadata") or {}).get("name"))
        for m in manifests
        if m.get("apiVersion") == "v1" and m.get("kind") == "Namespace"
    }
    used = {str((m.get("metadata") or {}).get("namespace") or "") for m in manifests}
    return used - shipped - {""}


def describe(
    manifests: Iterable[Mapping[str, Any]],
    *,
    hub_namespace: Callable[[str], Mapping[str, Any] | None],
    is_member_namespace: Callable[[str], bool],
    render: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> str | None:
    """The Work's ``work.waybill.dev/namespaces`` annotation (None: nothing to describe).

    ``render`` gives a hub Namespace as this member gets it (overrides applied); it may raise, and
    a namespace it fails on is left out (created plainly)."""
    described: dict[str, Any] = {}
    for name in sorted(used_namespaces(list(manifests))):
        found = hub_namespace(name)
        if found is None or reserved(name) or is_member_namespace(name) or skipped(found):
            continue
        if (found.get("metadata") or {}).get("deletionTimestamp"):
            continue
        try:
            rendered = render(found)
        except ValueError:
            continue
        meta = rendered.get("metadata") or {}
        entry: dict[str, Any] = {"metadata": {}}
        for key in ("labels", "annotations"):
            if meta.get(key):
                entry["metadata"][key] = dict(sorted(meta[key].items()))
        if rendered.get("spec"):
            entry["spec"] = rendered["spec"]
        described[name] = entry
    return json.dumps(described, separators=(",", ":"), sort_keys=True) if described else None

