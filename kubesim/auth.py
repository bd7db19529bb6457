"""Authentication: bearer tokens -> users, and ServiceAccount tokens (TokenRequest).

Tokens are opaque random strings (ServiceAccount tokens are JWT-shaped, with the usual claims,
but not signed by anything clients could verify). A ServiceAccount token stops working when its
ServiceAccount is deleted or recreated (bound to the uid), like bound tokens on a real cluster.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_master(self) -> bool:
        return "system:masters" in self.groups


@dataclass(frozen=True, slots=True)
class _SaToken:
    namespace: str
    name: str
    uid: str
    expires: float


def sa_user(namespace: str, name: str, uid: str = "") -> User:
    return User(
        name=f"system:serviceaccount:{namespace}:{name}",
        groups=("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
        uid=uid,
    )


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


class Authenticator:
    """Maps bearer tokens to users."""

    def __init__(self, *, issuer: str = "https://kubernetes.default.svc.cluster.local") -> None:
        self.issuer = issuer
        self._static: dict[str, User] = {}
        self._sa: dict[str, _SaToken] = {}

    def issue(self, *, user: str, groups: tuple[str, ...] | list[str] = ()) -> str:
        token = "kubesim-" + secrets.token_urlsafe(24)
        groups = tuple(groups)
        if "system:authenticated" not in groups:
            groups = (*groups, "system:authenticated")
        self._static[token] = User(name=user, groups=groups)
        return token

    def issue_sa(self, *, namespace: str, name: str, uid: str, expiration: int, audiences: list[str]) -> str:
        now = int(time.time())
        claims = {
            "aud": audiences,
            "exp": now + expiration,
            "iat": now,
            "iss": self.issuer,
            "kubernetes.io": {"namespace": namespace, "serviceaccount": {"name": name, "uid": uid}},
            "nbf": now,
            "sub": f"system:serviceaccount:{namespace}:{name}",
        }
        token = ".".join((_b64({"alg": "RS256", "kid": "kubesim"}), _b64(claims), secrets.token_urlsafe(32)))
        self._sa[token] = _SaToken(namespace, name, uid, now + expiration)
        return token

    def authenticate(self, header: str | None, *, sa_uid: Any) -> User | None:
        """The user behind ``Authorization: Bearer <token>``; ``sa_uid(ns, name)`` checks SA tokens."""
        if not header or not header.startswith("Bearer "):
            return None
        token = header[7:].strip()
        user = self._static.get(token)
        if user is not None:
            return user
        sa = self._sa.get(token)
        if sa is None or sa.expires < time.time() or sa_uid(sa.namespace, sa.name) != sa.uid:
            return None
        return sa_user(sa.namespace, sa.name, sa.uid)
