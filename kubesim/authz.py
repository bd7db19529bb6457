"""Authorization for one server: RBAC decisions, impersonation and escalation prevention.

``Authorizer.authorize(user=..., verb=..., ...)`` answers one request (``system:masters`` and
``enabled=False`` allow everything); ``impersonate(headers, user)`` applies ``Impersonate-*``
headers when the user may; ``admit`` is a store admitter refusing RBAC writes that grant more
than the writing user (``writer`` context variable, set by the HTTP layer) holds.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from typing import Any

from kubesim import errors, escalation, rbac, rules_review
from kubesim.auth import User, sa_user
from kubesim.registry import ResourceType
from kubesim.store import Store

Obj = dict[str, Any]
writer: contextvars.ContextVar[User | None] = contextvars.ContextVar("kubesim_writer", default=None)
_RBAC_GROUP = "rbac.authorization.k8s.io"


class Rules:
    """``rbac.RulesSource`` over the store's RBAC objects."""

    def __init__(self, store: Store) -> None:
        self.store = store
        reg = store.registry
        self.types = {
            p: reg.lookup("rbac.authorization.k8s.io", "v1", p)
            for p in ("roles", "rolebindings", "clusterroles", "clusterrolebindings")
        }

    def _scan(self, plural: str, namespace: str | None = None) -> Iterable[Obj]:
        t = self.types[plural]
        assert t is not None
        return self.store.scan(t, namespace)

    def roles(self, namespace: str) -> Iterable[Obj]:
        return self._scan("roles", namespace)

    def role_bindings(self, namespace: str) -> Iterable[Obj]:
        return self._scan("rolebindings", namespace)

    def cluster_roles(self) -> Iterable[Obj]:
        return self._scan("clusterroles")

    def cluster_role_bindings(self) -> Iterable[Obj]:
        return self._scan("clusterrolebindings")


class Authorizer:
    """RBAC over one store (see module docstring)."""

    def __init__(self, store: Store, *, enabled: bool = True) -> None:
        self.store = store
        self.enabled = enabled
        self.rules = Rules(store)

    def authorize(
        self,
        *,
        user: User,
        verb: str,
        api_group: str,
        resource: str,
        subresource: str | None,
        namespace: str | None,
        name: str | None,
        path: str | None,
    ) -> tuple[bool, str]:
        if not self.enabled or user.is_master:
            return True, ""
        decision = rbac.authorize(
            user=user.name,
            groups=user.groups,
            verb=verb,
            api_group=api_group,
            resource=resource,
            subresource=subresource,
            namespace=namespace,
            name=name,
            path=path,
            rules_source=self.rules,
        )
        return decision.allowed, decision.reason

    def admit(self, rtype: ResourceType, obj: Obj, old: Obj | None) -> Obj:
        """Store admitter: refuse RBAC writes that grant more than the writing user holds."""
        user = writer.get()
        if user is None or not self.enabled or user.is_master or rtype.group != _RBAC_GROUP:
            return obj
        md = obj["metadata"]
        namespace = md.get("namespace") if rtype.namespaced else None
        if rtype.plural in ("roles", "clusterroles"):
            if old is not None and (old.get("rules"), old.get("aggregationRule")) == (
                obj.get("rules"),
                obj.get("aggregationRule"),
            ):
                return obj
            if self.can(
                user,
                verb="escalate",
                api_group=_RBAC_GROUP,
                resource=rtype.plural,
                subresource=None,
                namespace=namespace,
                name=md["name"],
                path=None,
            ):
                return obj
            rules = list(obj.get("rules") or [])
        else:
            ref = obj.get("roleRef") or {}
            if old is not None and (old.get("roleRef"), old.get("subjects")) == (ref, obj.get("subjects")):
                return obj
            ref_plural = "clusterroles" if ref.get("kind") == "ClusterRole" else "roles"
            if self.can(
                user,
                verb="bind",
                api_group=_RBAC_GROUP,
                resource=ref_plural,
                subresource=None,
                namespace=namespace,
                name=ref.get("name"),
                path=None,
            ):
                return obj
            rules = rules_review.role_rules(ref, namespace=namespace or "", source=self.rules)
        missing = escalation.ungranted(rules, namespace=namespace, can=lambda **kw: self.can(user, **kw))
        if missing:
            raise errors.forbidden(
                group=_RBAC_GROUP,
                plural=rtype.plural,
                name=md["name"],
                message=escalation.message(
                    plural=rtype.plural, name=md["name"], user=user.name, groups=user.groups, missing=missing
                ),
            )
        return obj

    def can(self, user: User, **kwargs: Any) -> bool:
        return self.authorize(user=user, **kwargs)[0]

    def impersonate(self, headers: Any, user: User) -> User:
        """Act as ``Impersonate-User``/``Impersonate-Group`` if ``user`` may impersonate them."""
        name = headers.get("Impersonate-User", "")
        groups = tuple(headers.getall("Impersonate-Group", []))
        if not name:
            raise errors.bad_request("requested [Impersonate-Group] without impersonating a user")
        checks: list[tuple[str, str | None, str]] = []
        if name.startswith("system:serviceaccount:") and name.count(":") == 3:
            _, _, sa_ns, sa_name = name.split(":")
            checks.append(("serviceaccounts", sa_ns, sa_name))
        else:
            checks.append(("users", None, name))
        checks += [("groups", None, g) for g in groups]
        for resource, namespace, target in checks:
            allowed, reason = self.authorize(
                user=user,
                verb="impersonate",
                api_group="",
                resource=resource,
                subresource=None,
                namespace=namespace,
                name=target,
                path=None,
            )
            if not allowed:
                raise errors.forbidden(
                    group="",
                    plural=resource,
                    name=target,
                    message=rbac.forbidden_message(
                        user=user.name,
                        verb="impersonate",
                        resource=resource,
                        namespace=namespace,
                        name=target,
                        reason=reason,
                    ),
                )
        if checks[0][0] == "serviceaccounts":
            base = sa_user(checks[0][1] or "", checks[0][2])
            return User(name=base.name, groups=tuple(dict.fromkeys(base.groups + groups)))
        return User(name=name, groups=tuple(dict.fromkeys((*groups, "system:authenticated"))))

    def check_path(self, user: User, path: str) -> None:
        allowed, reason = self.authorize(
            user=user,
            verb="get",
            api_group="",
            resource="",
            subresource=None,
            namespace=None,
            name=None,
            path=path,
        )
        if not allowed:
            raise errors.ApiError(
                code=403,
                reason="Forbidden",
                details={},
                message=rbac.forbidden_message(user=user.name, verb="get", path=path, reason=reason),
            )
