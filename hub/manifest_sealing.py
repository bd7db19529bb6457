"""Which manifests the hub seals for a member, and sealing them (pure but for one process secret).

A ``v1`` Secret is always sealed; any other manifest is sealed when its template carries the
annotation ``waybill.dev/seal: "true"``. The envelope (``shared.sealing``) is sealed to the public
key the member's agent publishes in ``MemberCluster.status.sealingKey``; a member that has not
published one (yet) gets nothing: the manifest fails for that cluster with a ``Rendered=False``
condition saying so, and goes out once the key is there (a key change re-renders the member's
Works, see ``hub.app._facts``).

Envelopes are derived from ``DERIVATION_SECRET``, random per hub process: the same content gives
the same envelope while the process lives (no Work rewrites), and each sealed manifest is
re-sealed once when a new leader takes over (the member's object does not change).
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from hub import matching
from hub.clusters import ClusterView
from hub.overrides import OverrideError
from shared import sealing

SEAL_ANNOTATION = "waybill.dev/seal"
DERIVATION_SECRET = secrets.token_bytes(32)
CACHE_SIZE = 10_000
# (key id, digest of the manifest) → envelope: sealing costs ~0.2 ms and every pass over a
# (policy, member) re-renders all its manifests; the envelope is the same anyway (see above)
_envelopes: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()


class SealingRefused(OverrideError):
    """A manifest that must be sealed for a member that cannot receive sealed manifests."""

    def __init__(self, *, obj: str, cluster: str, message: str) -> None:
        ValueError.__init__(self, f"cannot seal {obj} for cluster {cluster}: status.sealingKey: {message}")
        self.policy, self.obj, self.cluster, self.field, self.detail = (
            "",
            obj,
            cluster,
            "status.sealingKey",
            message,
        )


def pin_problem(key: sealing.PublicKey, *, pinned: str | None) -> str | None:
    """Why ``key`` may not be sealed to, given the signer pinned for the member (None: it may)."""
    if pinned is None:
        return f"the hub has not pinned this member's signer yet (annotation {sealing.PIN_ANNOTATION})"
    if key.signer_id != pinned:
        return (
            f"the key is signed by {key.signer_id}, not by the signer pinned in {sealing.PIN_ANNOTATION}; "
            "a cluster admin who trusts the new signer removes the annotation"
        )
    return None


def must_seal(manifest: Mapping[str, Any]) -> bool:
    """Secrets always; anything else when its template opts in with ``waybill.dev/seal: "true"``."""
    if (manifest.get("apiVersion"), manifest.get("kind")) == ("v1", "Secret"):
        return True
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    return isinstance(annotations, Mapping) and str(annotations.get(SEAL_ANNOTATION, "")).lower() == "true"


def seal_for(manifest: dict[str, Any], *, cluster: ClusterView) -> dict[str, Any]:
    """``manifest`` as it goes into ``cluster``'s Work: sealed for its agent when it must be."""
    if not must_seal(manifest):
        return manifest
    obj = str(matching.TemplateRef.of(manifest))
    if cluster.sealing_key is None:
        raise SealingRefused(
            obj=obj,
            cluster=cluster.name,
            message="the member's agent has not published a sealing key yet (not sent in plain text)",
        )
    try:
        recipient = sealing.PublicKey.from_status(cluster.sealing_key)
    except sealing.SealingError as exc:
        raise SealingRefused(obj=obj, cluster=cluster.name, message=str(exc)) from exc
    problem = pin_problem(recipient, pinned=cluster.sealing_signer)
    if problem is not None:
        raise SealingRefused(obj=obj, cluster=cluster.name, message=problem)
    digest = hashlib.sha256(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    key = (recipient.key_id, digest)
    envelope = _envelopes.get(key)
    if envelope is None:
        envelope = sealing.seal(manifest, recipient=recipient, derivation_secret=DERIVATION_SECRET)
        _envelopes[key] = envelope
        if len(_envelopes) > CACHE_SIZE:
            _envelopes.popitem(last=False)
    else:
        _envelopes.move_to_end(key)
    return copy.deepcopy(envelope)


CONDITION_SEALING_KEY_TRUSTED = "SealingKeyTrusted"


def key_condition(raw: Mapping[str, Any] | None, *, pinned: str | None) -> tuple[str, str, str] | None:
    """The ``SealingKeyTrusted`` condition (status, reason, message); None: nothing to say yet."""
    if raw is None:
        return None
    try:
        key = sealing.PublicKey.from_status(raw)
    except sealing.SealingError as exc:
        return ("False", "InvalidSealingKey", f"{exc}; Secrets are not sent to this member")
    if pinned is None:
        return None  # pinned on this pass; the next one reports
    problem = pin_problem(key, pinned=pinned)
    if problem is not None:
        return ("False", "SignerNotPinned", f"{problem}; Secrets are not sent to this member")
    return ("True", "Pinned", f"key {key.key_id} is signed by the pinned signer")


def signer_to_pin(raw: Mapping[str, Any] | None, *, pinned: str | None) -> str | None:
    """The signer to pin for a member (trust on first use): only when none is pinned and the key verifies."""
    if pinned is not None or raw is None:
        return None
    try:
        return sealing.PublicKey.from_status(raw).signer_id
    except sealing.SealingError:
        return None
