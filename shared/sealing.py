"""Sealed manifests: hybrid encryption of a manifest for one member's agent (pure).

Each agent owns an X25519 key pair (the private key stays in a Secret on its member) and
publishes the public key in its MemberCluster's ``status.sealingKey``. The hub seals a Secret
manifest (or any manifest that opts in) for that member before it goes into a Work:

* an ephemeral X25519 key is agreed with the member's public key; HKDF-SHA256 turns the shared
  secret into an AES-256-GCM key and nonce;
* the whole manifest (data, labels, annotations, everything) is the ciphertext; the envelope in
  the Work keeps only what the hub and the agent need to route it — apiVersion, kind, namespace,
  name — and that identity is the AEAD's associated data, so a sealed blob cannot be moved to
  another object or another member;
* the ephemeral key is derived from a secret of the hub process and the plaintext (HMAC), so
  re-rendering the same manifest yields the same envelope and the Work is not rewritten on every
  pass; without that secret, a guessed plaintext cannot be confirmed against the envelope.

Only the holder of the private key opens it. Each published sealing key is signed by the agent's
long-lived Ed25519 ``Signer``; the hub pins that signer (``PIN_ANNOTATION``) and seals only to keys
it signed, so whoever can write the MemberCluster's status cannot substitute a key of their own.
Nothing here does I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ALGORITHM = "X25519-HKDF-SHA256-A256GCM"
# On a MemberCluster (metadata, which the agent cannot write): the signer the hub pinned for it.
PIN_ANNOTATION = "cluster.waybill.dev/sealing-signer"
SEALED_FIELD = "sealed"
_INFO = b"waybill.dev sealed manifest v1"
_RAW = serialization.Encoding.Raw
_SIGNED = b"waybill.dev sealing key v1\0"


class SealingError(ValueError):
    """A manifest that cannot be sealed or opened (the message says why, never the content)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (ValueError, TypeError) as exc:
        raise SealingError(f"{what} is not base64") from exc


def key_id(public_key: bytes) -> str:
    """A short, stable name for a public key (what an envelope says it was sealed for)."""
    return hashlib.sha256(public_key).hexdigest()[:16]


@dataclass(frozen=True)
class PublicKey:
    """A member's published sealing key, signed by the agent's long-lived signing key.

    The hub pins the first signer it sees for a member; a sealing key signed by anyone else
    (someone holding the agent's hub token could publish their own key) is not used.
    """

    key_id: str
    public_key: bytes
    signer: bytes = b""
    signature: bytes = b""

    @property
    def signer_id(self) -> str:
        return _b64(self.signer)

    def to_status(self) -> dict[str, str]:
        status = {"keyID": self.key_id, "publicKey": _b64(self.public_key), "algorithm": ALGORITHM}
        if self.signer:
            status.update(signer=_b64(self.signer), signature=_b64(self.signature))
        return status

    @classmethod
    def from_status(cls, raw: Any) -> PublicKey:
        """From ``status.sealingKey``; raises SealingError when it is not a usable, signed key."""
        if not isinstance(raw, Mapping):
            raise SealingError("status.sealingKey is not an object")
        if raw.get("algorithm") not in (None, ALGORITHM):
            raise SealingError(f"status.sealingKey.algorithm {raw.get('algorithm')!r} is not {ALGORITHM}")
        public = _unb64(raw.get("publicKey"), "status.sealingKey.publicKey")
        if len(public) != 32:
            raise SealingError("status.sealingKey.publicKey is not a 32-byte X25519 key")
        kid = key_id(public)
        if raw.get("keyID") not in (None, kid):
            raise SealingError("status.sealingKey.keyID does not match its publicKey")
        if not raw.get("signer") or not raw.get("signature"):
            raise SealingError("status.sealingKey is not signed (signer, signature)")
        signer = _unb64(raw.get("signer"), "status.sealingKey.signer")
        signature = _unb64(raw.get("signature"), "status.sealingKey.signature")
        try:
            Ed25519PublicKey.from_public_bytes(signer).verify(signature, _SIGNED + public)
        except (InvalidSignature, ValueError) as exc:
            raise SealingError("status.sealingKey.signature does not verify with its signer") from exc
        return cls(key_id=kid, public_key=public, signer=signer, signature=signature)


@dataclass(frozen=True)
class Signer:
    """The agent's long-lived Ed25519 key: it signs each sealing key the agent publishes."""

    private_key: bytes

    @classmethod
    def generate(cls) -> Signer:
        return cls(private_key=Ed25519PrivateKey.generate().private_bytes_raw())

    @property
    def public(self) -> bytes:
        return Ed25519PrivateKey.from_private_bytes(self.private_key).public_key().public_bytes_raw()

    def sign(self, key: PublicKey) -> PublicKey:
        signature = Ed25519PrivateKey.from_private_bytes(self.private_key).sign(_SIGNED + key.public_key)
        return PublicKey(
            key_id=key.key_id, public_key=key.public_key, signer=self.public, signature=signature
        )

    def to_record(self) -> str:
        return _b64(self.private_key)

    @classmethod
    def from_record(cls, raw: Any) -> Signer:
        private = _unb64(raw, "signer")
        if len(private) != 32:
            raise SealingError("signer is not a 32-byte Ed25519 key")
        return cls(private_key=private)


@dataclass(frozen=True)
class PrivateKey:
    """An agent's private sealing key (kept in a Secret on its member)."""

    private_key: bytes
    created: str = ""

    @classmethod
    def generate(cls, *, created: str = "") -> PrivateKey:
        return cls(private_key=X25519PrivateKey.generate().private_bytes_raw(), created=created)

    @property
    def public(self) -> PublicKey:
        public = (
            X25519PrivateKey.from_private_bytes(self.private_key)
            .public_key()
            .public_bytes(_RAW, serialization.PublicFormat.Raw)
        )
        return PublicKey(key_id=key_id(public), public_key=public)

    def to_record(self) -> dict[str, str]:
        return {"keyID": self.public.key_id, "privateKey": _b64(self.private_key), "created": self.created}

    @classmethod
    def from_record(cls, raw: Mapping[str, Any]) -> PrivateKey:
        private = _unb64(raw.get("privateKey"), "privateKey")
        if len(private) != 32:
            raise SealingError("privateKey is not a 32-byte X25519 key")
        return cls(private_key=private, created=str(raw.get("created") or ""))


def identity(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The routing part of a manifest that stays readable: apiVersion, kind, namespace, name."""
    meta = manifest.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    routed: dict[str, Any] = {"name": meta.get("name")}
    if meta.get("namespace"):
        routed["namespace"] = meta.get("namespace")
    return {"apiVersion": manifest.get("apiVersion"), "kind": manifest.get("kind"), "metadata": routed}


def _associated_data(manifest: Mapping[str, Any], kid: str) -> bytes:
    return json.dumps([identity(manifest), kid], sort_keys=True, separators=(",", ":")).encode()


def _derive(shared: bytes, *, ephemeral: bytes, recipient: bytes) -> tuple[bytes, bytes]:
    okm = HKDF(algorithm=hashes.SHA256(), length=44, salt=ephemeral + recipient, info=_INFO).derive(shared)
    return okm[:32], okm[32:]


def is_sealed(manifest: Mapping[str, Any]) -> bool:
    return isinstance(manifest.get(SEALED_FIELD), Mapping)


def seal(manifest: Mapping[str, Any], *, recipient: PublicKey, derivation_secret: bytes) -> dict[str, Any]:
    """The envelope that replaces ``manifest`` in the Work for the holder of ``recipient``."""
    plaintext = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    aad = _associated_data(manifest, recipient.key_id)
    seed = hmac.new(derivation_secret, aad + b"\0" + plaintext, hashlib.sha256).digest()
    ephemeral = X25519PrivateKey.from_private_bytes(seed)
    ephemeral_public = ephemeral.public_key().public_bytes(_RAW, serialization.PublicFormat.Raw)
    shared = ephemeral.exchange(X25519PublicKey.from_public_bytes(recipient.public_key))
    key, nonce = _derive(shared, ephemeral=ephemeral_public, recipient=recipient.public_key)
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, aad)
    return {
        **identity(manifest),
        SEALED_FIELD: {
            "algorithm": ALGORITHM,
            "keyID": recipient.key_id,
            "ephemeralKey": _b64(ephemeral_public),
            "ciphertext": _b64(ciphertext),
        },
    }


def open_sealed(envelope: Mapping[str, Any], *, keys: Mapping[str, PrivateKey]) -> dict[str, Any]:
    """The manifest inside ``envelope``, opened with the key it names among ``keys``."""
    sealed = envelope.get(SEALED_FIELD)
    if not isinstance(sealed, Mapping):
        raise SealingError("the manifest is not sealed")
    if sealed.get("algorithm") != ALGORITHM:
        raise SealingError(f"sealed.algorithm {sealed.get('algorithm')!r} is not {ALGORITHM}")
    kid = str(sealed.get("keyID") or "")
    private = keys.get(kid)
    if private is None:
        held = ", ".join(sorted(keys)) or "none"
        raise SealingError(f"sealed for key {kid or '?'}, which this agent does not hold (it holds: {held})")
    ephemeral_public = _unb64(sealed.get("ephemeralKey"), "sealed.ephemeralKey")
    ciphertext = _unb64(sealed.get("ciphertext"), "sealed.ciphertext")
    try:
        shared = X25519PrivateKey.from_private_bytes(private.private_key).exchange(
            X25519PublicKey.from_public_bytes(ephemeral_public)
        )
        key, nonce = _derive(shared, ephemeral=ephemeral_public, recipient=private.public.public_key)
        plaintext = AESGCM(key).decrypt(nonce, ciphertext, _associated_data(envelope, kid))
    except (InvalidTag, ValueError) as exc:
        raise SealingError(
            "the sealed manifest does not open with this member's key (altered or moved)"
        ) from exc
    try:
        manifest = json.loads(plaintext)
    except ValueError as exc:
        raise SealingError("the sealed manifest is not JSON") from exc
    if not isinstance(manifest, dict) or identity(manifest) != identity(envelope):
        raise SealingError("the sealed manifest is not the object its envelope names")
    return manifest
