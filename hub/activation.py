"""``activationPreference: Lazy``: policy changes reach a template only when the template changes (pure).

Karmada: with ``Lazy`` a policy edit does not re-propagate the templates it already holds; each
one follows the new rules at its next own change, so a risky edit can be rolled out template by
template. Waybill records, on each binding of a Lazy policy, the policy spec it was scheduled
with and a digest of the template's content at that time (two annotations). While the template
is unchanged the scheduler keeps using the recorded spec (member changes — a new cluster, a
taint — are still acted on, under the recorded rules); once the template changes, or the policy
is no longer Lazy, the current spec applies and is recorded anew.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

ANNOTATION_SPEC = "policy.waybill.dev/lazy-applied-spec"
ANNOTATION_CONTENT = "policy.waybill.dev/lazy-template-digest"
LAZY = "Lazy"


def is_lazy(spec: Mapping[str, Any]) -> bool:
    return spec.get("activationPreference") == LAZY


def recorded(binding: Mapping[str, Any] | None) -> tuple[dict[str, Any], str] | None:
    """The (policy spec, template digest) a binding was last scheduled with under a Lazy policy."""
    annotations = ((binding or {}).get("metadata") or {}).get("annotations") or {}
    raw, digest = annotations.get(ANNOTATION_SPEC), annotations.get(ANNOTATION_CONTENT)
    if not raw or not digest:
        return None
    try:
        spec = json.loads(raw)
    except ValueError:
        return None
    return (spec, str(digest)) if isinstance(spec, dict) else None


def effective_spec(
    *, spec: Mapping[str, Any], binding: Mapping[str, Any] | None, held: bool, content: str
) -> tuple[Mapping[str, Any], dict[str, str | None]]:
    """The policy spec to schedule with, and the annotations the binding should get (None: remove).

    ``held``: the binding already belongs to this policy; ``content``: the template's digest now.
    """
    before = recorded(binding)
    if not is_lazy(spec):
        return spec, ({ANNOTATION_SPEC: None, ANNOTATION_CONTENT: None} if before else {})
    if held and before is not None and before[1] == content:
        return before[0], {}  # the template has not changed: keep the rules it was placed with
    return spec, {
        ANNOTATION_SPEC: json.dumps(spec, sort_keys=True, separators=(",", ":")),
        ANNOTATION_CONTENT: content,
    }
