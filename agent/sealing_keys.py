"""The agent's sealing keys: kept in a Secret on its member, published on the hub, used to open Works.

On start the agent reads the Secret ``waybill-system/waybill-agent-sealing-key`` on its member
(creating the namespace and a first key pair when missing), and from then on publishes the
newest public key in its MemberCluster's ``status.sealingKey``, signed by the agent's long-lived
Ed25519 signer (also in that Secret); the hub pins the first signer it sees and seals Secret
manifests for this member only to keys that signer signed (``shared.sealing``). Only this agent
opens them: the private keys never leave the member (in push mode: the process that holds the
member's kubeconfig).

Rotation (checked on every MemberCluster status write): a new key pair is generated when the
newest is older than ``max_age``, or when the Secret's annotation ``waybill.dev/rotate`` holds a
value not yet acted on (``kubectl annotate secret ... waybill.dev/rotate=$(date +%s)``). The
previous keys are kept (``KEEP`` in all) so that Works sealed before the hub saw the new key
still open; the hub re-seals the member's Works as soon as it sees the new key.

A Secret whose key list cannot be read is not overwritten: its content moves to
``keys.json.unreadable`` and a fresh key is used, so nothing is lost and the agent keeps going.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agent.manifests import DecodedManifest, validate_object
from shared import sealing
from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists, NotFound
from shared.ops.logging import get_logger

_log = get_logger("agent.sealing_keys")

SECRET_NAMESPACE = "waybill-system"
SECRET_NAME = "waybill-agent-sealing-key"
DATA_KEY = "keys.json"
UNREADABLE_KEY = "keys.json.unreadable"
ROTATE_ANNOTATION = "waybill.dev/rotate"
ROTATED_ANNOTATION = "waybill.dev/rotated-for"
KEEP = 3


def _now() -> datetime:
    return datetime.now(UTC)


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _age_seconds(created: str, now: datetime) -> float | None:
    try:
        born = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (now - (born if born.tzinfo else born.replace(tzinfo=UTC))).total_seconds()


@dataclass(frozen=True)
class KeySet:
    """The agent's private sealing keys, newest first, and the signing key that vouches for them."""

    keys: tuple[sealing.PrivateKey, ...]
    signer: sealing.Signer

    @classmethod
    def fresh(cls, *, now: datetime) -> KeySet:
        return cls((sealing.PrivateKey.generate(created=_rfc3339(now)),), sealing.Signer.generate())

    @property
    def published(self) -> sealing.PublicKey:
        """The active public key, signed."""
        return self.signer.sign(self.active.public)

    @property
    def active(self) -> sealing.PrivateKey:
        return self.keys[0]

    def by_id(self) -> dict[str, sealing.PrivateKey]:
        return {key.public.key_id: key for key in self.keys}

    def rotated(self, *, now: datetime) -> KeySet:
        return KeySet(
            (sealing.PrivateKey.generate(created=_rfc3339(now)), *self.keys[: KEEP - 1]), self.signer
        )

    def due(self, *, now: datetime, max_age: float | None) -> bool:
        if max_age is None:
            return False
        age = _age_seconds(self.active.created, now)
        return age is None or age >= max_age

    def to_data(self) -> str:
        return json.dumps(
            {"signer": self.signer.to_record(), "keys": [key.to_record() for key in self.keys]},
            separators=(",", ":"),
        )

    @classmethod
    def from_data(cls, text: str) -> KeySet:
        raw = json.loads(text)
        keys = raw.get("keys") if isinstance(raw, Mapping) else None
        if not isinstance(keys, list) or not keys or not all(isinstance(r, Mapping) for r in keys):
            raise sealing.SealingError(f"{DATA_KEY} has no list of keys")
        return cls(
            tuple(sealing.PrivateKey.from_record(r) for r in keys),
            sealing.Signer.from_record(raw.get("signer")),
        )


def _decode(secret: Mapping[str, Any]) -> KeySet | None:
    data = secret.get("data") or {}
    try:
        return KeySet.from_data(base64.b64decode(str(data.get(DATA_KEY) or "")).decode())
    except (ValueError, sealing.SealingError, UnicodeDecodeError):
        return None


def open_manifests(
    decoded: Sequence[DecodedManifest], *, keys: Mapping[str, sealing.PrivateKey]
) -> list[DecodedManifest]:
    """Decoded manifests with every sealed one opened (or failed alone, saying why: never its content)."""
    out: list[DecodedManifest] = []
    for manifest in decoded:
        if not manifest.ok or manifest.obj is None or not sealing.is_sealed(manifest.obj):
            out.append(manifest)
            continue
        try:
            opened = sealing.open_sealed(manifest.obj, keys=keys)
            problem = validate_object(opened)
        except sealing.SealingError as exc:
            opened, problem = None, str(exc)
        if problem is not None or opened is None:
            out.append(DecodedManifest(manifest.identifier, None, f"cannot open sealed manifest: {problem}"))
        else:
            out.append(DecodedManifest(manifest.identifier, opened))
    return out


class Keyring:
    """The agent's key pair(s), persisted in a Secret on the member (``member_api``)."""

    def __init__(
        self,
        member_api: KubeClient,
        *,
        namespace: str = SECRET_NAMESPACE,
        name: str = SECRET_NAME,
        max_age: float | None = None,
    ) -> None:
        self.member_api = member_api
        self.namespace = namespace
        self.name = name
        self.max_age = max_age
        self.keys: KeySet | None = None

    def published(self) -> dict[str, Any]:
        """The ``status.sealingKey`` to publish ({} before the keys are loaded)."""
        if self.keys is None:
            return {}
        return {
            "sealingKey": {**self.keys.published.to_status(), "created": self.keys.active.created or None}
        }

    def by_id(self) -> dict[str, sealing.PrivateKey]:
        """The private keys held, by key id ({} before they are loaded)."""
        return self.keys.by_id() if self.keys else {}

    async def sync(self) -> bool:
        """Load the keys from the member (creating or rotating them as due); True when they changed."""
        now = _now()
        try:
            secret = await self.member_api.get("v1", "Secret", name=self.name, namespace=self.namespace)
        except NotFound:
            secret = None
        if secret is None:
            keys = self.keys.rotated(now=now) if self.keys else KeySet.fresh(now=now)
            await self._create(keys)
            return self._adopt(keys)
        loaded = _decode(secret)
        annotations = (secret.get("metadata") or {}).get("annotations") or {}
        requested = str(annotations.get(ROTATE_ANNOTATION) or "")
        asked = bool(requested) and requested != str(annotations.get(ROTATED_ANNOTATION) or "")
        if loaded is not None and not asked and not loaded.due(now=now, max_age=self.max_age):
            return self._adopt(loaded)
        if loaded is None:
            _log.warning("sealing_keys.unreadable", secret=f"{self.namespace}/{self.name}")
        # an unreadable Secret loses the signer too: the hub then needs its pin reset (security.md)
        keys = loaded.rotated(now=now) if loaded else KeySet.fresh(now=now)
        await self._update(secret, keys, unreadable=loaded is None, rotated_for=requested if asked else None)
        _log.info("sealing_keys.rotated", key=keys.active.public.key_id, requested=asked)
        return self._adopt(keys)

    def _adopt(self, keys: KeySet) -> bool:
        changed = self.keys is None or self.keys.published != keys.published
        self.keys = keys
        return changed

    def _body(self, keys: KeySet) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": self.name,
                "namespace": self.namespace,
                "labels": {"app.kubernetes.io/managed-by": "waybill-agent"},
            },
            "data": {DATA_KEY: base64.b64encode(keys.to_data().encode()).decode()},
        }

    async def _create(self, keys: KeySet) -> None:
        with contextlib.suppress(AlreadyExists):
            await self.member_api.create(
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}
            )
        # AlreadyExists (another replica was first) propagates: the next sync reads the winner's keys
        await self.member_api.create(self._body(keys))
        _log.info("sealing_keys.created", key=keys.active.public.key_id)

    async def _update(
        self, live: Mapping[str, Any], keys: KeySet, *, unreadable: bool, rotated_for: str | None
    ) -> None:
        body = self._body(keys)
        meta = live.get("metadata") or {}
        body["metadata"]["resourceVersion"] = meta.get("resourceVersion")
        body["metadata"]["annotations"] = dict(meta.get("annotations") or {})
        if rotated_for is not None:
            body["metadata"]["annotations"][ROTATED_ANNOTATION] = rotated_for
        data = {**(live.get("data") or {}), **body["data"]}
        if unreadable and (live.get("data") or {}).get(DATA_KEY):
            data[UNREADABLE_KEY] = (live.get("data") or {})[DATA_KEY]
        body["data"] = data
        await self.member_api.replace(body)
