"""The rollout gate: whether a cluster keeps its previous version of a template (pure).

The works controller asks ``held`` for every (binding, cluster) it renders. Under a policy
without ``rolloutStrategy`` (or type ``All``) nothing is ever held: rendering is exactly what it
was before rollouts existed. Under ``RollingUpdate`` or ``Staged`` a cluster gets the template's
current generation only once the rollout controller has released it there (``status.rollout``
on the binding lists it with that revision); until then its Work keeps the manifest it carries,
with the generation stamp it was rendered from (a cluster that has none yet gets none).

Kinds without ``metadata.generation`` (ConfigMap, Service, ClusterRole, ...) go by the number the
rollout controller gives the template's content (``generation_of``): ``status.rollout.revision``
while ``status.rollout.contentDigest`` is the digest of the template's current content; a content
the controller has not numbered yet holds every cluster (``UNNUMBERED``) until it has. Secrets
are not staged (their data is not copied into revisions): never held, and the binding says so
(``RolloutProgressing=False``, reason ``NotStaged``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from hub.views import ANNOTATION_GENERATIONS, parse_generations
from shared.api import revision
from shared.api.policy import RolloutStrategy

UNNUMBERED = 0
"""``generation_of`` for a content the rollout controller has not numbered yet (held everywhere:
released revisions are 1 and up)."""
# (group, kind) the hub does not stage: a revision would copy their data out of the Secret
NOT_STAGED: frozenset[tuple[str, str]] = frozenset({("", "Secret")})


def not_staged(api_version: str, kind: str) -> str | None:
    """Why a kind without ``metadata.generation`` is not rolled out through the strategy, if so."""
    if (api_version.rpartition("/")[0], kind) in NOT_STAGED:
        return f"{kind} data is not copied into revisions, so {kind}s are not staged"
    return None


def generation_of(
    template: Mapping[str, Any], binding: Mapping[str, Any], strategy: RolloutStrategy | None
) -> int | None:
    """The generation the gate and the Work's stamp go by: ``metadata.generation``; for a kind
    without one under a RollingUpdate or Staged strategy, the number the rollout controller gave
    its current content (``UNNUMBERED`` until it has); else None (never held)."""
    own = (template.get("metadata") or {}).get("generation")
    if isinstance(own, int):
        return own
    if strategy is None or not_staged(str(template.get("apiVersion")), str(template.get("kind"))):
        return None
    rollout = (binding.get("status") or {}).get("rollout") or {}
    number = rollout.get("revision")
    if isinstance(number, int) and rollout.get("contentDigest") == revision.content_digest(template):
        return number
    return UNNUMBERED


def strategy_of(policy: Mapping[str, Any] | None) -> RolloutStrategy | None:
    """The policy's staged or rolling strategy; None for All, unset, or unreadable (the policy's
    Valid condition reports that)."""
    raw = ((policy or {}).get("spec") or {}).get("rolloutStrategy")
    if not isinstance(raw, Mapping) or raw.get("type", "All") == "All":
        return None
    try:
        return RolloutStrategy.from_dict(raw)
    except ValidationError:
        return None


def released_revision(binding: Mapping[str, Any], cluster: str) -> int | None:
    """The revision the binding's rollout released to ``cluster`` (None: none)."""
    rollout = (binding.get("status") or {}).get("rollout") or {}
    for entry in rollout.get("clusters") or []:
        if isinstance(entry, Mapping) and entry.get("name") == cluster:
            revision = entry.get("revision")
            return revision if isinstance(revision, int) else None
    return None


def held(
    *, strategy: RolloutStrategy | None, binding: Mapping[str, Any], cluster: str, generation: Any
) -> bool:
    """Whether ``cluster`` must keep its previous version of the binding's template."""
    if strategy is None or not isinstance(generation, int):
        return False
    return released_revision(binding, cluster) != generation


def stamped_generation(works: Iterable[Mapping[str, Any]], identity: str) -> int | None:
    """The generation a template's manifest in these Works was rendered from."""
    for work in works:
        annotations = (work.get("metadata") or {}).get("annotations") or {}
        found = parse_generations(annotations.get(ANNOTATION_GENERATIONS)).get(identity)
        if found is not None:
            return found
    return None
