"""Decode and validate the manifests of a Work, one by one.

A Work carries ``spec.workload.manifests[]``: each entry should be one Kubernetes object
(a JSON object, or a JSON/YAML string). Decoding is per manifest so that a bad manifest fails
alone: every entry gets a ``ManifestIdentifier`` (its ordinal, plus group/version/kind/
namespace/name when they can be read) and either a decoded object or an error.

Rejected: undecodable entries, missing ``apiVersion``/``kind``/``metadata.name``,
``generateName`` (the agent must be able to find what it created), invalid names and
duplicates of an earlier manifest. Pure functions only; the agent's I/O shell comes next.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from shared.kube.types import split_api_version

REASON_DECODING_ERRED = "DecodingErred"

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class ManifestIdentifier:
    """Which manifest of a Work this is, in the Work API's ``identifier`` shape."""

    ordinal: int
    group: str = ""
    version: str = ""
    kind: str = ""
    resource: str = ""
    namespace: str = ""
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "ordinal": self.ordinal,
            "group": self.group,
            "version": self.version,
            "kind": self.kind,
            "resource": self.resource,
            "namespace": self.namespace,
            "name": self.name,
        }

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def object_key(self) -> tuple[str, str, str, str]:
        """What makes two manifests the same object on the member (version does not)."""
        return (self.group, self.kind, self.namespace, self.name)

    def describe(self) -> str:
        scope = f"{self.namespace}/" if self.namespace else ""
        return f"#{self.ordinal} {self.kind or '?'} {scope}{self.name or '?'}"


@dataclass(frozen=True)
class DecodedManifest:
    """One manifest after decoding: ``obj`` when valid, ``error`` (a message) otherwise."""

    identifier: ManifestIdentifier
    obj: dict[str, Any] | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.obj is not None and self.error is None


def _load(raw: Any) -> Any:
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str | bytes):
        text = raw.decode() if isinstance(raw, bytes) else raw
        try:
            return json.loads(text)
        except ValueError:
            docs = [d for d in yaml.safe_load_all(text) if d is not None]
            if len(docs) != 1:
                raise ValueError(f"expected one object, found {len(docs)} documents") from None
            return docs[0]
    raise ValueError(f"a manifest must be an object, not {type(raw).__name__}")


def _identify(ordinal: int, obj: Mapping[str, Any]) -> ManifestIdentifier:
    api_version = obj.get("apiVersion")
    kind = obj.get("kind")
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    group, version = split_api_version(api_version) if isinstance(api_version, str) else ("", "")
    name = meta.get("name")
    namespace = meta.get("namespace")
    return ManifestIdentifier(
        ordinal=ordinal,
        group=group,
        version=version,
        kind=kind if isinstance(kind, str) else "",
        namespace=namespace if isinstance(namespace, str) else "",
        name=name if isinstance(name, str) else "",
    )


def validate_object(obj: Mapping[str, Any]) -> str | None:
    """Return why ``obj`` cannot be applied as a manifest, or None when it can."""
    api_version = obj.get("apiVersion")
    if not isinstance(api_version, str) or not api_version or api_version.count("/") > 1:
        return "apiVersion is missing or malformed"
    _, version = split_api_version(api_version)
    if not version or api_version.startswith("/"):
        return f"apiVersion {api_version!r} has no version"
    kind = obj.get("kind")
    if not isinstance(kind, str) or not kind:
        return "kind is missing"
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return "metadata is missing"
    if meta.get("generateName"):
        return "metadata.generateName is not supported: a manifest needs a fixed metadata.name"
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        return "metadata.name is missing"
    if len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        return f"metadata.name {name!r} is not a valid DNS-1123 subdomain"
    namespace = meta.get("namespace")
    if namespace is not None and (
        not isinstance(namespace, str) or (namespace and not _DNS_LABEL.match(namespace))
    ):
        return f"metadata.namespace {namespace!r} is not a valid DNS-1123 label"
    return None


def decode_manifests(raw_manifests: Sequence[Any]) -> list[DecodedManifest]:
    """Decode every manifest of a Work; each result carries its ordinal (0-based)."""
    results: list[DecodedManifest] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    for ordinal, raw in enumerate(raw_manifests):
        try:
            obj = _load(raw)
        except (ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
            message = f"cannot decode manifest: {exc}"
            results.append(DecodedManifest(ManifestIdentifier(ordinal=ordinal), None, message))
            continue
        if not isinstance(obj, dict):
            message = f"cannot decode manifest: expected an object, found {type(obj).__name__}"
            results.append(DecodedManifest(ManifestIdentifier(ordinal=ordinal), None, message))
            continue
        identifier = _identify(ordinal, obj)
        error = validate_object(obj)
        if error is None:
            key = identifier.object_key()
            if key in seen:
                error = f"duplicate of manifest #{seen[key]} (same group, kind, namespace and name)"
            else:
                seen[key] = ordinal
        results.append(DecodedManifest(identifier, None if error else obj, error))
    return results


def with_resource(identifier: ManifestIdentifier, resource: str, namespaced: bool) -> ManifestIdentifier:
    """The identifier completed from discovery (plural, and no namespace on cluster-scoped kinds)."""
    return ManifestIdentifier(
        ordinal=identifier.ordinal,
        group=identifier.group,
        version=identifier.version,
        kind=identifier.kind,
        resource=resource,
        namespace=identifier.namespace if namespaced else "",
        name=identifier.name,
    )


# ---- a Work's manifests as the agent caches them ----------------------------------------------


class PackedManifests(bytes):
    """A Work's ``spec.workload.manifests`` as compact JSON, as the agent's Work informer caches
    them: a full pass (rare: see ``WorkSyncer._unchanged``) decodes them again; as Python objects
    they took several times the memory."""


def packed_work(work: Mapping[str, Any]) -> dict[str, Any]:
    """``work`` with its manifests packed (an informer transform; other fields unchanged)."""
    spec = work.get("spec")
    workload = spec.get("workload") if isinstance(spec, Mapping) else None
    manifests = workload.get("manifests") if isinstance(workload, Mapping) else None
    if not isinstance(spec, Mapping) or not isinstance(workload, Mapping) or not isinstance(manifests, list):
        return dict(work)
    packed = PackedManifests(json.dumps(manifests, separators=(",", ":")).encode())
    return {**work, "spec": {**spec, "workload": {**workload, "manifests": packed}}}


def work_manifests(work: Mapping[str, Any]) -> list[Any]:
    """The Work's manifests, packed or not."""
    manifests = ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []
    if isinstance(manifests, PackedManifests):
        decoded = json.loads(manifests)
        return decoded if isinstance(decoded, list) else []
    return list(manifests) if isinstance(manifests, list) else []


def unpacked_work(work: Mapping[str, Any]) -> Mapping[str, Any]:
    """``work`` as the hub wrote it (its manifests decoded if packed)."""
    spec = work.get("spec") or {}
    workload = spec.get("workload") or {}
    if not isinstance(workload.get("manifests"), PackedManifests):
        return work
    return {**work, "spec": {**spec, "workload": {**workload, "manifests": work_manifests(work)}}}
