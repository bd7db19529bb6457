"""Hub credentials rotation: the agent renews its own hub token before it expires.

The hub kubeconfig from ``waybill join`` carries a ServiceAccount token with an expiry. At
``REFRESH_FRACTION`` of its lifetime (kubelet's rule for projected tokens: 80 %), the agent
asks the hub's TokenRequest API for a new token for *its own* ServiceAccount — the Role
``waybill join`` creates allows ``create serviceaccounts/token`` for that one name only — and
from then on every request uses it. The token is also written back where the agent's
kubeconfig came from, so a restarted agent starts with a valid one:

* ``$WAYBILL_HUB_KUBECONFIG_SECRET=NAMESPACE/NAME`` (set by the agent chart): the Secret on the
  member holding the kubeconfig under ``kubeconfig`` (the chart lets the agent update that one
  Secret); kubelet then refreshes the mounted file too;
* otherwise the kubeconfig file itself, when it is writable (push mode, a local agent).

``$WAYBILL_HUB_TOKEN_SECONDS`` sets the lifetime asked for (default one day, at least 600 s).
A failed renewal is retried with backoff and never stops the agent; the old token keeps working
until its own expiry. Which ServiceAccount and when it expires are read from the token's claims
(not verified here: the hub verifies tokens; the claims only schedule the renewal). A token
without those claims (a static token) is not rotated. ``token_claims`` and ``refresh_at`` are
the pure decisions; :class:`CredentialRotator` is the shell.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shared.kube.client import KubeClient
from shared.kube.errors import ApiError, Forbidden
from shared.ops.logging import get_logger
from shared.ops.metrics import counter, gauge

__all__ = [
    "CredentialRotator",
    "RotationSettings",
    "TokenClaims",
    "refresh_at",
    "start_rotation",
    "token_claims",
    "with_token",
]

_log = get_logger("agent.credentials")
_ROTATIONS = counter("agent_hub_token_rotations_total", "Hub token renewals by result", labels=("result",))
_EXPIRY = gauge("agent_hub_token_expiry_timestamp_seconds", "When the agent's current hub token expires")

REFRESH_FRACTION = 0.8
DEFAULT_TOKEN_SECONDS = 24 * 3600
MIN_TOKEN_SECONDS = 600
RETRY_BASE = 2.0
RETRY_MAX = 120.0
ENV_SECRET = "WAYBILL_HUB_KUBECONFIG_SECRET"
ENV_SECONDS = "WAYBILL_HUB_TOKEN_SECONDS"


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a ServiceAccount token says about itself (unverified)."""

    namespace: str
    service_account: str
    issued_at: float
    expires_at: float


def token_claims(token: str) -> TokenClaims | None:
    """The ServiceAccount and lifetime in a JWT ServiceAccount token, or None for any other token."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
        k8s = claims["kubernetes.io"]
        return TokenClaims(
            namespace=str(k8s["namespace"]),
            service_account=str(k8s["serviceaccount"]["name"]),
            issued_at=float(claims.get("iat") or claims.get("nbf") or 0),
            expires_at=float(claims["exp"]),
        )
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None


def refresh_at(claims: TokenClaims, *, fraction: float = REFRESH_FRACTION) -> float:
    """When to renew: ``fraction`` of the token's lifetime after it was issued."""
    lifetime = max(0.0, claims.expires_at - claims.issued_at)
    return claims.issued_at + fraction * lifetime


def with_token(kubeconfig: Mapping[str, Any], token: str) -> dict[str, Any]:
    """``kubeconfig`` with the current context's user authenticating with ``token``."""
    config: dict[str, Any] = json.loads(json.dumps(kubeconfig))  # a deep copy of plain YAML data
    contexts = {c.get("name"): c.get("context") or {} for c in config.get("contexts") or []}
    context = contexts.get(config.get("current-context")) or next(iter(contexts.values()), {})
    user_name = context.get("user")
    for user in config.get("users") or []:
        if user.get("name") == user_name or user_name is None:
            user.setdefault("user", {})["token"] = token
            user["user"].pop("tokenFile", None)
    return config


@dataclass(frozen=True, slots=True)
class RotationSettings:
    """Where a renewed token is written back, and how long new tokens live."""

    secret: tuple[str, str] | None = None  # (namespace, name) of the kubeconfig Secret on the member
    token_seconds: int = DEFAULT_TOKEN_SECONDS

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> RotationSettings:
        env = os.environ if environ is None else environ
        secret: tuple[str, str] | None = None
        ref = env.get(ENV_SECRET, "").strip()
        if ref:
            namespace, sep, name = ref.partition("/")
            if not sep or not namespace or not name:
                raise ValueError(f"${ENV_SECRET}={ref!r} is not NAMESPACE/NAME")
            secret = (namespace, name)
        seconds_text = env.get(ENV_SECONDS, "").strip()
        try:
            seconds = int(seconds_text) if seconds_text else DEFAULT_TOKEN_SECONDS
        except ValueError:
            raise ValueError(f"${ENV_SECONDS}={seconds_text!r} is not a whole number of seconds") from None
        if seconds < MIN_TOKEN_SECONDS:
            raise ValueError(f"${ENV_SECONDS}={seconds} is below the API's minimum of {MIN_TOKEN_SECONDS}")
        return cls(secret=secret, token_seconds=seconds)


class CredentialRotator:
    """Renews the hub token of ``hub_api`` before it expires (see module docstring)."""

    def __init__(
        self,
        *,
        hub_api: KubeClient,
        member_api: KubeClient | None,
        kubeconfig_path: Path,
        token: str,
        settings: RotationSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hub_api = hub_api
        self.member_api = member_api
        self.kubeconfig_path = kubeconfig_path
        self.token = token
        self.settings = settings
        self._clock = clock
        self.rotations = 0

    async def rotate_once(self, claims: TokenClaims) -> TokenClaims:
        """Request a new token, switch to it, write it back; the new token's claims."""
        answer = await self.hub_api.create_subresource(
            "v1",
            "ServiceAccount",
            name=claims.service_account,
            namespace=claims.namespace,
            subresource="token",
            body={
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "TokenRequest",
                "spec": {"expirationSeconds": self.settings.token_seconds},
            },
        )
        token = str((answer.get("status") or {}).get("token") or "")
        fresh = token_claims(token)
        if fresh is None:
            raise ValueError("the hub's TokenRequest answer carries no ServiceAccount token")
        self.hub_api.set_bearer_token(token)
        self.token = token
        self.rotations += 1
        _EXPIRY.set(fresh.expires_at)
        await self._persist(token)
        return fresh

    async def _persist(self, token: str) -> None:
        text = await asyncio.to_thread(self.kubeconfig_path.read_text, encoding="utf-8")
        updated = yaml.safe_dump(with_token(yaml.safe_load(text) or {}, token), sort_keys=False)
        if self.settings.secret is not None and self.member_api is not None:
            namespace, name = self.settings.secret
            encoded = base64.b64encode(updated.encode()).decode()
            await self.member_api.patch(
                "v1", "Secret", name=name, namespace=namespace, patch={"data": {"kubeconfig": encoded}}
            )
            _log.info("credentials.persisted", secret=f"{namespace}/{name}")
            return
        try:
            await asyncio.to_thread(_write_private, self.kubeconfig_path, updated)
        except OSError as exc:  # a read-only mount without a Secret to update
            _log.warning("credentials.not_persisted", path=str(self.kubeconfig_path), error=str(exc))
            return
        _log.info("credentials.persisted", path=str(self.kubeconfig_path))

    async def run(self) -> None:
        """Renew before every expiry, forever; failures are retried with backoff."""
        claims = token_claims(self.token)
        if claims is None:
            _log.info("credentials.not_rotated", reason="the hub token is not a ServiceAccount token")
            return
        _EXPIRY.set(claims.expires_at)
        failures = 0
        while True:
            wait = refresh_at(claims) - self._clock()
            if failures:
                wait = min(RETRY_MAX, RETRY_BASE * 2 ** (failures - 1))
            await asyncio.sleep(max(0.0, wait))
            try:
                claims = await self.rotate_once(claims)
            except (ApiError, ValueError, OSError) as exc:
                failures += 1
                _ROTATIONS.labels("forbidden" if isinstance(exc, Forbidden) else "error").inc()
                _log.warning(
                    "credentials.rotation_failed",
                    attempt=failures,
                    error=str(exc),
                    expires_in=round(claims.expires_at - self._clock(), 1),
                )
                continue
            failures = 0
            _ROTATIONS.labels("ok").inc()
            _log.info(
                "credentials.rotated",
                service_account=f"{claims.namespace}/{claims.service_account}",
                expires_in=round(claims.expires_at - self._clock(), 1),
            )


def _write_private(path: Path, text: str) -> None:
    # Replace atomically so a reader never sees half a kubeconfig; keep it owner-only.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)


class Rotation:
    """A running rotator task; ``await stop()`` ends it."""

    def __init__(self, task: asyncio.Task[None] | None) -> None:
        self._task = task

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def start_rotation(
    *, hub_api: KubeClient, member_api: KubeClient | None, hub_kubeconfig: Path
) -> Rotation:
    """The agent runner's hook: rotate the token of ``hub_kubeconfig`` in the background."""
    try:
        settings = RotationSettings.from_environment()
        text = await asyncio.to_thread(hub_kubeconfig.read_text, encoding="utf-8")
        config = yaml.safe_load(text) or {}
        contexts = {c.get("name"): c.get("context") or {} for c in config.get("contexts") or []}
        context = contexts.get(config.get("current-context")) or next(iter(contexts.values()), {})
        users = {u.get("name"): u.get("user") or {} for u in config.get("users") or []}
        token = str((users.get(context.get("user")) or next(iter(users.values()), {})).get("token") or "")
    except (OSError, ValueError, yaml.YAMLError, AttributeError) as exc:
        _log.warning("credentials.not_rotated", reason=str(exc))
        return Rotation(None)
    rotator = CredentialRotator(
        hub_api=hub_api, member_api=member_api, kubeconfig_path=hub_kubeconfig, token=token, settings=settings
    )
    return Rotation(asyncio.create_task(rotator.run(), name="agent-credentials"))
