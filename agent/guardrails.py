"""Member-side guard rails: what this member's administrator lets Works apply (pure).

The hub decides what a member should run; the member's administrator decides what it may run.
Every decoded manifest is screened before anything is written; a refused manifest fails alone
with reason ``Forbidden`` and a message naming the rule, and the rest of the Work is applied.
The rules, in the order they are checked:

* ``deny-namespaces``: no manifest in (and no Namespace object named) one of these namespaces;
* ``deny-kinds``: none of these kinds;
* ``allow-kinds``: when set, only these kinds;
* ``privileged-rbac`` (on unless ``allow_privileged_rbac``): no (Cluster)RoleBinding to the
  ``cluster-admin`` ClusterRole, and no (Cluster)Role granting the verbs ``*``, ``escalate``,
  ``bind`` or ``impersonate``, and no aggregated ClusterRole (``aggregationRule``) — a
  compromised hub or hub namespace must not be able to hand itself the member.

A kind is written ``Kind`` (any group) or ``group/Kind`` (``core/Kind`` for the core group), as
in ``--deny-kinds rbac.authorization.k8s.io/ClusterRoleBinding,core/Secret``. Namespaces are
the ones the manifest names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.manifests import DecodedManifest, ManifestIdentifier
from agent.status import ManifestResult

REASON_FORBIDDEN = "Forbidden"
RULE_DENY_NAMESPACES = "deny-namespaces"
RULE_DENY_KINDS = "deny-kinds"
RULE_ALLOW_KINDS = "allow-kinds"
RULE_PRIVILEGED_RBAC = "privileged-rbac"

RBAC_GROUP = "rbac.authorization.k8s.io"
PRIVILEGED_ROLES = frozenset({"cluster-admin"})
PRIVILEGED_VERBS = frozenset({"*", "escalate", "bind", "impersonate"})
_BINDINGS = frozenset({"RoleBinding", "ClusterRoleBinding"})
_ROLES = frozenset({"Role", "ClusterRole"})


class GuardrailError(ValueError):
    """A guard-rail setting that cannot be understood (names the option)."""


@dataclass(frozen=True)
class KindPattern:
    """``Kind`` (group None: any group) or ``group/Kind``."""

    kind: str
    group: str | None = None

    @classmethod
    def parse(cls, text: str, *, option: str) -> KindPattern:
        group, slash, kind = text.strip().rpartition("/")
        if not kind or (slash and not group):
            raise GuardrailError(
                f"{option}: {text!r} is not Kind or group/Kind (core/Kind for the core group)"
            )
        if not slash:
            return cls(kind=kind)
        return cls(kind=kind, group="" if group == "core" else group)

    def matches(self, *, group: str, kind: str) -> bool:
        return self.kind == kind and (self.group is None or self.group == group)

    def __str__(self) -> str:
        if self.group is None:
            return self.kind
        return f"{self.group or 'core'}/{self.kind}"


@dataclass(frozen=True)
class Guardrails:
    """The member administrator's rules (the defaults refuse only privileged RBAC)."""

    allow_kinds: tuple[KindPattern, ...] = ()
    deny_kinds: tuple[KindPattern, ...] = ()
    deny_namespaces: frozenset[str] = field(default_factory=frozenset)
    allow_privileged_rbac: bool = False

    @classmethod
    def from_options(
        cls,
        *,
        allow_kinds: Iterable[str] = (),
        deny_kinds: Iterable[str] = (),
        deny_namespaces: Iterable[str] = (),
        allow_privileged_rbac: bool = False,
    ) -> Guardrails:
        """From option values (each item may itself be a comma-separated list)."""
        return cls(
            allow_kinds=tuple(KindPattern.parse(k, option="--allow-kinds") for k in _items(allow_kinds)),
            deny_kinds=tuple(KindPattern.parse(k, option="--deny-kinds") for k in _items(deny_kinds)),
            deny_namespaces=frozenset(_items(deny_namespaces)),
            allow_privileged_rbac=allow_privileged_rbac,
        )


def _items(values: Iterable[str]) -> list[str]:
    return [part.strip() for value in values for part in str(value).split(",") if part.strip()]


@dataclass(frozen=True)
class Refusal:
    rule: str
    message: str


def _privileged_rbac(identifier: ManifestIdentifier, obj: Mapping[str, Any]) -> str | None:
    if identifier.group != RBAC_GROUP:
        return None
    if identifier.kind in _BINDINGS:
        role_ref = obj.get("roleRef")
        role_ref = role_ref if isinstance(role_ref, Mapping) else {}
        if role_ref.get("kind") == "ClusterRole" and role_ref.get("name") in PRIVILEGED_ROLES:
            return f"it binds the ClusterRole {role_ref.get('name')}"
        return None
    if identifier.kind in _ROLES:
        if identifier.kind == "ClusterRole" and obj.get("aggregationRule"):
            # an aggregated ClusterRole collects the rules of others (admin's, cluster-admin's...)
            return "it has an aggregationRule (it would collect other roles' rules)"
        rules = obj.get("rules")
        for index, rule in enumerate(rules if isinstance(rules, list) else []):
            verbs = rule.get("verbs") if isinstance(rule, Mapping) else None
            granted = sorted(PRIVILEGED_VERBS & {str(v) for v in verbs or []})
            if granted:
                return f"rules[{index}] grants the verbs {', '.join(granted)}"
    return None


def refusal(identifier: ManifestIdentifier, obj: Mapping[str, Any], rules: Guardrails) -> Refusal | None:
    """Why ``rules`` refuse this manifest, or None when it may be applied."""
    group, kind = identifier.group, identifier.kind
    namespace = identifier.namespace or (identifier.name if (group, kind) == ("", "Namespace") else "")
    if namespace and namespace in rules.deny_namespaces:
        return Refusal(RULE_DENY_NAMESPACES, f"namespace {namespace} is in this member's deny-namespaces")
    denied = next((p for p in rules.deny_kinds if p.matches(group=group, kind=kind)), None)
    if denied is not None:
        return Refusal(RULE_DENY_KINDS, f"kind {denied} is in this member's deny-kinds")
    if rules.allow_kinds and not any(p.matches(group=group, kind=kind) for p in rules.allow_kinds):
        allowed = ", ".join(str(p) for p in rules.allow_kinds)
        return Refusal(
            RULE_ALLOW_KINDS, f"kind {group or 'core'}/{kind} is not in this member's allow-kinds ({allowed})"
        )
    if not rules.allow_privileged_rbac:
        why = _privileged_rbac(identifier, obj)
        if why:
            return Refusal(
                RULE_PRIVILEGED_RBAC,
                f"{why}; this member refuses privileged RBAC (its administrator may allow it with "
                "--allow-privileged-rbac)",
            )
    return None


def screen(
    decoded: Sequence[DecodedManifest], *, rules: Guardrails
) -> tuple[list[DecodedManifest], dict[int, ManifestResult]]:
    """The manifests with refused ones turned into errors, and a ``Forbidden`` result for each (by ordinal).

    A refused manifest is not applied (and, like an undecodable one, no longer counts as carried
    by the Work). The caller records the results after its own decoding errors.
    """
    kept: list[DecodedManifest] = []
    refused: dict[int, ManifestResult] = {}
    for manifest in decoded:
        found = refusal(manifest.identifier, manifest.obj, rules) if manifest.ok and manifest.obj else None
        if found is None:
            kept.append(manifest)
            continue
        message = f"refused by guard rail {found.rule}: {found.message}"
        kept.append(DecodedManifest(manifest.identifier, None, message))
        refused[manifest.identifier.ordinal] = ManifestResult(
            manifest.identifier, False, REASON_FORBIDDEN, message
        )
    return kept, refused
