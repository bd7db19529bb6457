"""Sealed manifests (pure): hybrid encryption per member, and what the hub and the agent do with it."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from agent.manifests import decode_manifests
from agent.sealing_keys import KeySet, open_manifests
from hub import manifest_sealing
from hub.clusters import ClusterView
from shared import sealing

VALUE = "hunter2-very-secret"


def secret(name: str = "db", value: str = VALUE) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "team-a", "labels": {"app": "db"}},
        "type": "Opaque",
        "data": {"password": base64.b64encode(value.encode()).decode()},
        "stringData": {"plain": value},
    }


EU1 = sealing.PrivateKey.generate(created="2026-01-01T00:00:00Z")
EU2 = sealing.PrivateKey.generate()
SIGNER = sealing.Signer.generate()


def test_round_trip_and_nothing_readable_in_the_envelope() -> None:
    envelope = sealing.seal(secret(), recipient=EU1.public, derivation_secret=b"hub")
    text = json.dumps(envelope)
    assert VALUE not in text and base64.b64encode(VALUE.encode()).decode() not in text
    assert "labels" not in text and "password" not in text
    assert envelope["metadata"] == {"name": "db", "namespace": "team-a"}
    assert envelope["sealed"]["keyID"] == EU1.public.key_id
    assert sealing.open_sealed(envelope, keys={EU1.public.key_id: EU1}) == secret()


def test_same_content_same_envelope_within_a_hub_process_only() -> None:
    first = sealing.seal(secret(), recipient=EU1.public, derivation_secret=b"hub")
    assert sealing.seal(secret(), recipient=EU1.public, derivation_secret=b"hub") == first
    assert sealing.seal(secret(), recipient=EU1.public, derivation_secret=b"other") != first
    assert sealing.seal(secret(value="x"), recipient=EU1.public, derivation_secret=b"hub") != first


def test_only_the_recipient_opens_it() -> None:
    envelope = sealing.seal(secret(), recipient=EU1.public, derivation_secret=b"hub")
    with pytest.raises(sealing.SealingError, match="does not hold"):
        sealing.open_sealed(envelope, keys={EU2.public.key_id: EU2})
    # a forged key id pointing at the wrong private key does not help either
    with pytest.raises(sealing.SealingError, match="does not open"):
        sealing.open_sealed(envelope, keys={EU1.public.key_id: EU2})


@pytest.mark.parametrize(
    "tamper",
    [
        lambda e: e["metadata"].update(name="other"),  # moved to another object
        lambda e: e["metadata"].update(namespace="kube-system"),
        lambda e: e.update(kind="ConfigMap"),
        lambda e: e["sealed"].update(ciphertext=base64.b64encode(b"x" * 64).decode()),
    ],
)
def test_altered_or_moved_envelopes_do_not_open(tamper: Any) -> None:
    envelope = sealing.seal(secret(), recipient=EU1.public, derivation_secret=b"hub")
    tamper(envelope)
    with pytest.raises(sealing.SealingError):
        sealing.open_sealed(envelope, keys={EU1.public.key_id: EU1})


def test_published_key_is_checked() -> None:
    signed = SIGNER.sign(EU1.public)
    status = signed.to_status()
    assert sealing.PublicKey.from_status(status) == signed
    with pytest.raises(sealing.SealingError, match="not signed"):
        sealing.PublicKey.from_status(EU1.public.to_status())
    other = SIGNER.sign(EU2.public).to_status()
    with pytest.raises(sealing.SealingError, match="does not verify"):  # a signature of another key
        sealing.PublicKey.from_status({**status, "signature": other["signature"]})
    with pytest.raises(sealing.SealingError, match="keyID"):
        sealing.PublicKey.from_status({**status, "keyID": "0" * 16})
    with pytest.raises(sealing.SealingError, match="32-byte"):
        sealing.PublicKey.from_status({**status, "publicKey": base64.b64encode(b"short").decode()})
    with pytest.raises(sealing.SealingError, match="algorithm"):
        sealing.PublicKey.from_status({**status, "algorithm": "rot13"})


def view(
    key: sealing.PrivateKey | None, *, signer: sealing.Signer = SIGNER, pinned: sealing.Signer | None = SIGNER
) -> ClusterView:
    return ClusterView(
        name="eu1",
        sealing_key=signer.sign(key.public).to_status() if key else None,
        sealing_signer=base64.b64encode(pinned.public).decode() if pinned else None,
    )


def test_hub_seals_secrets_and_opted_in_kinds_only() -> None:
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a"}}
    assert manifest_sealing.seal_for(dict(configmap), cluster=view(EU1)) == configmap
    opted = {**configmap, "metadata": {**configmap["metadata"], "annotations": {"waybill.dev/seal": "true"}}}
    assert sealing.is_sealed(manifest_sealing.seal_for(opted, cluster=view(EU1)))
    assert sealing.is_sealed(manifest_sealing.seal_for(secret(), cluster=view(EU1)))


def test_member_without_a_key_gets_no_plain_text_secret() -> None:
    with pytest.raises(manifest_sealing.SealingRefused) as caught:
        manifest_sealing.seal_for(secret(), cluster=view(None))
    assert "Secret/team-a/db" in str(caught.value) and "cluster eu1" in str(caught.value)
    assert "status.sealingKey" in str(caught.value) and VALUE not in str(caught.value)
    broken = ClusterView(name="eu1", sealing_key={"publicKey": "!!"})
    with pytest.raises(manifest_sealing.SealingRefused, match="not base64"):
        manifest_sealing.seal_for(secret(), cluster=broken)


def test_only_keys_signed_by_the_pinned_signer_are_sealed_to() -> None:
    """Someone holding the agent's hub token may publish their own key: it is not used."""
    intruder = sealing.Signer.generate()
    with pytest.raises(manifest_sealing.SealingRefused, match="not by the signer pinned"):
        manifest_sealing.seal_for(secret(), cluster=view(EU2, signer=intruder))
    with pytest.raises(manifest_sealing.SealingRefused, match="has not pinned"):
        manifest_sealing.seal_for(secret(), cluster=view(EU1, pinned=None))
    pinned = base64.b64encode(SIGNER.public).decode()
    good = SIGNER.sign(EU1.public).to_status()
    bad = intruder.sign(EU2.public).to_status()
    assert manifest_sealing.signer_to_pin(good, pinned=None) == pinned  # trust on first use
    assert manifest_sealing.signer_to_pin(bad, pinned=pinned) is None  # never re-pinned by a report
    assert manifest_sealing.signer_to_pin({"publicKey": "x"}, pinned=None) is None
    assert manifest_sealing.key_condition(good, pinned=pinned) == (
        "True",
        "Pinned",
        f"key {EU1.public.key_id} is signed by the pinned signer",
    )
    condition = manifest_sealing.key_condition(bad, pinned=pinned)
    assert condition is not None and condition[:2] == ("False", "SignerNotPinned")
    assert manifest_sealing.key_condition(None, pinned=pinned) is None


def test_agent_opens_its_manifests_and_fails_others_alone() -> None:
    keys = KeySet((EU1,), SIGNER)
    for_me = sealing.seal(secret("mine"), recipient=EU1.public, derivation_secret=b"hub")
    for_other = sealing.seal(secret("theirs"), recipient=EU2.public, derivation_secret=b"hub")
    plain = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "a"}}
    opened = open_manifests(decode_manifests([for_me, for_other, plain]), keys=keys.by_id())
    assert opened[0].ok and opened[0].obj == secret("mine")
    assert not opened[1].ok and "does not hold" in (opened[1].error or "")
    assert VALUE not in (opened[1].error or "")
    assert opened[2].obj == plain


def test_rotation_keeps_previous_keys_for_works_sealed_before() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 6, 1, tzinfo=UTC)
    keys = KeySet((EU1,), SIGNER)
    assert keys.due(now=now, max_age=3600) and not keys.due(now=now, max_age=None)
    rotated = keys.rotated(now=now)
    assert rotated.active != EU1 and rotated.keys[1] == EU1
    assert not rotated.due(now=now, max_age=3600)
    old_envelope = sealing.seal(secret(), recipient=EU1.public, derivation_secret=b"hub")
    assert sealing.open_sealed(old_envelope, keys=rotated.by_id()) == secret()
    for _ in range(5):
        rotated = rotated.rotated(now=now)
    assert len(rotated.keys) == 3 and EU1.public.key_id not in rotated.by_id()
    assert KeySet.from_data(rotated.to_data()) == rotated
    assert rotated.signer == SIGNER  # rotation keeps the signer the hub pinned
    assert sealing.PublicKey.from_status(rotated.published.to_status()).signer == SIGNER.public


def test_hub_envelope_cache_is_bounded_and_returns_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manifest_sealing, "CACHE_SIZE", 2)
    monkeypatch.setattr(manifest_sealing, "_envelopes", type(manifest_sealing._envelopes)())
    first = manifest_sealing.seal_for(secret("a"), cluster=view(EU1))
    first["metadata"]["name"] = "mutated by a caller"
    assert manifest_sealing.seal_for(secret("a"), cluster=view(EU1))["metadata"]["name"] == "a"
    for name in ("b", "c", "d"):
        manifest_sealing.seal_for(secret(name), cluster=view(EU1))
    assert len(manifest_sealing._envelopes) == 2
    # a new key means new envelopes, never a cached one for the old key
    assert manifest_sealing.seal_for(secret("d"), cluster=view(EU2))["sealed"]["keyID"] == EU2.public.key_id


def test_status_feedback_cannot_read_secret_data() -> None:
    """A Work's manifestConfigs could ask the agent to report any path: Secret data is out of reach."""
    from agent import feedback

    live = {**secret(), "status": {}}
    rules = [
        {
            "type": "JSONPaths",
            "jsonPaths": [
                {"name": "p", "path": ".data.password"},
                {"name": "q", "path": "{.data}"},
                {"name": "r", "path": ".stringData.plain"},
            ],
        },
        {"type": "WellKnownStatus"},
    ]
    values, _ = feedback.collect(live, rules)
    assert values == []
