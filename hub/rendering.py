"""From a scheduled template to Works (pure).

``render_manifest`` produces what one member gets: server-populated fields stripped, the
divided replicas set, then overrides applied. ``pack_works`` groups a policy's manifests for one
member into Work objects in that member's namespace: one Work per (policy, member), split into
parts before ~800 KiB, named deterministically and labelled to trace back to the policy.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
import sys
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub import interpretation, state_preservation
from hub.clusters import ClusterView
from hub.matching import PolicyRef, TemplateId
from hub.overrides import apply_overrides
from hub.views import SLIM_DIGEST_FIELD
from shared.api import names
from shared.interpreter import Interpreter
from shared.kube.types import split_api_version

WORK_SIZE_LIMIT = 800 * 1024
SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "managedFields",
    "creationTimestamp",
    "generation",
    "ownerReferences",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "finalizers",
)
HUB_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration", names.ANNOTATION_CLAIMED_BY)
HUB_LABELS = (names.LABEL_BINDING_NAME,)
WELL_KNOWN_STATUS_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "Service", "ReplicaSet")


def strip_server_fields(template: Mapping[str, Any]) -> dict[str, Any]:
    """A copy without what the hub's API server filled in (and the hub's own bookkeeping)."""
    obj = copy.deepcopy(dict(template))
    obj.pop("status", None)
    metadata = obj.setdefault("metadata", {})
    for field in SERVER_METADATA:
        metadata.pop(field, None)
    for field, drop in (("annotations", HUB_ANNOTATIONS), ("labels", HUB_LABELS)):
        values = metadata.get(field)
        if isinstance(values, dict):
            for key in drop:
                values.pop(key, None)
            if not values:
                metadata.pop(field)
    kind, spec = obj.get("kind"), obj.get("spec")
    if kind == "Service" and isinstance(spec, dict) and spec.get("clusterIP") not in (None, "None"):
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    if kind == "Job" and isinstance(spec, dict) and not spec.get("manualSelector"):
        # The hub's API server generated the selector; each member generates its own.
        spec.pop("selector", None)
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
        if isinstance(labels, dict):
            for key in (
                "controller-uid",
                "batch.kubernetes.io/controller-uid",
                "job-name",
                "batch.kubernetes.io/job-name",
            ):
                labels.pop(key, None)
    return obj


def content_digest(template: Mapping[str, Any]) -> str:
    """A digest of what members get of ``template`` before overrides (not its status)."""
    stripped = strip_server_fields(template)
    return hashlib.sha256(json.dumps(stripped, sort_keys=True, default=str).encode()).hexdigest()


def render_manifest(
    template: Mapping[str, Any],
    *,
    cluster: ClusterView,
    replicas: int | None,
    overrides: Sequence[Mapping[str, Any]],
    interpreter: Interpreter | None = None,
) -> dict[str, Any]:
    """What ``cluster`` gets for ``template``; raises ``OverrideError`` on a bad override and
    ``InterpreterError`` when the kind's ReviseReplica customization fails (``hub.interpretation``)."""
    manifest = interpretation.revise(strip_server_fields(template), replicas, interpreter)
    return apply_overrides(manifest, cluster=cluster, policies=overrides)


# ---------------------------------------------------------------- naming and packing

_DNS = re.compile(r"[^a-z0-9-]+")


def _digest(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def label_value(text: str) -> str:
    """``text`` if it is a valid label value, otherwise a readable prefix plus a hash."""
    if len(text) <= 63 and re.fullmatch(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?", text):
        return text
    cleaned = re.sub(r"[^-A-Za-z0-9_.]", "-", text)[:50].strip("-_.")
    return f"{cleaned}-{_digest(text)}" if cleaned else _digest(text)


def work_base_name(policy: PolicyRef) -> str:
    """Deterministic Work name for a policy: readable, DNS-1123, unique per policy identity."""
    readable = _DNS.sub("-", f"{policy.namespace}-{policy.name}".lower()).strip("-")[:40].strip("-")
    prefix = "cpp" if policy.kind == "ClusterPropagationPolicy" else "pp"
    return f"{prefix}-{readable}-{_digest(str(policy))}"


@functools.lru_cache(maxsize=4096)  # pure; asked for on every status pass per member
def policy_label_values(policy: PolicyRef) -> tuple[str, str]:
    """The values of a policy's Work labels: (policy namespace, policy name)."""
    return label_value(policy.namespace), label_value(policy.name)


def policy_labels(policy: PolicyRef) -> dict[str, str]:
    namespace, name = policy_label_values(policy)
    return {
        names.LABEL_MANAGED_BY: names.MANAGED_BY_VALUE,
        names.LABEL_POLICY_NAME: name,
        names.LABEL_POLICY_NAMESPACE: namespace,
    }


def manifest_key(manifest: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = manifest.get("metadata") or {}
    return (
        str(manifest.get("apiVersion", "")),
        str(manifest.get("kind", "")),
        str(meta.get("namespace") or ""),
        str(meta.get("name", "")),
    )


def _size(manifest: Mapping[str, Any]) -> int:
    return len(json.dumps(manifest, separators=(",", ":"), sort_keys=True))


@dataclass(frozen=True)
class WorkOptions:
    """Apply settings a policy passes on to its Works."""

    when_to_take_over: str | None = None  # Always | IfNoDiff | Never; None: the agent's default
    when_to_apply: str | None = None  # IfNotDrifted: report drift, do not correct it; None: Always
    state_paths: tuple[tuple[str, str], ...] = ()
    """failover.application.statePreservation: (aliasLabelName, path) the members report for each manifest."""
    replica_managers: tuple[str, ...] = ()  # spec.replicaManagers: member-side owners of replicas

    @classmethod
    def for_policy(cls, policy_spec: Mapping[str, Any]) -> WorkOptions:
        # Karmada's default is Abort: never adopt an object that exists on the member, even an
        # identical one (only Overwrite takes over).
        resolution = policy_spec.get("conflictResolution") or "Abort"
        when_to_apply = (policy_spec.get("applyStrategy") or {}).get("whenToApply")
        return cls(
            when_to_take_over="Always" if resolution == "Overwrite" else "Never",
            # only the non-default is written: Works of policies without it stay as they were
            when_to_apply=when_to_apply if when_to_apply == "IfNotDrifted" else None,
            state_paths=tuple((p["name"], p["path"]) for p in state_preservation.feedback_paths(policy_spec)),
            replica_managers=tuple(str(m) for m in policy_spec.get("replicaManagers") or [] if m),
        )

    @classmethod
    def of_strategy(cls, strategy: Mapping[str, Any]) -> WorkOptions:
        """The options an existing Work's ``applyStrategy`` carries (its policy is gone)."""
        return cls(
            when_to_take_over=strategy.get("whenToTakeOver"), when_to_apply=strategy.get("whenToApply")
        )

    def apply_strategy(self) -> dict[str, Any] | None:
        """The Works' ``spec.applyStrategy`` (None: the agent's defaults)."""
        if not self.when_to_take_over and not self.when_to_apply:
            return None
        out: dict[str, Any] = {"type": "ServerSideApply"}
        if self.when_to_take_over:
            out["whenToTakeOver"] = self.when_to_take_over
        if self.when_to_apply:
            out["whenToApply"] = self.when_to_apply
        return out


ANNOTATION_REPLICA_MANAGERS = "waybill.dev/replica-managers"  # read by the agent (agent.replica_owners)


def with_replica_managers(manifest: Mapping[str, Any], managers: Sequence[str]) -> Mapping[str, Any]:
    """A manifest with replicas gets the policy's replica managers in its annotation (merged with
    the template's, order kept, no duplicates); others are returned as they are."""
    if not managers or not isinstance((manifest.get("spec") or {}).get("replicas"), int):
        return manifest
    meta = dict(manifest.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    raw = str(annotations.get(ANNOTATION_REPLICA_MANAGERS) or "")
    listed = [m.strip() for m in raw.split(",") if m.strip()]
    merged = list(dict.fromkeys([*listed, *managers]))
    annotations[ANNOTATION_REPLICA_MANAGERS] = ",".join(merged)
    meta["annotations"] = annotations
    return {**manifest, "metadata": meta}


def _feedback_configs(
    manifests: Sequence[Mapping[str, Any]], state_paths: Sequence[tuple[str, str]] = ()
) -> list[dict[str, Any]]:
    configs = []
    for manifest in manifests:
        rules: list[dict[str, Any]] = []
        if manifest.get("kind") in WELL_KNOWN_STATUS_KINDS:
            rules.append({"type": "WellKnownStatus"})
        if state_paths:
            rules.append({"type": "JSONPaths", "jsonPaths": [{"name": n, "path": p} for n, p in state_paths]})
        if not rules:
            continue
        api_version, kind, namespace, name = manifest_key(manifest)
        identifier: dict[str, Any] = {
            "group": split_api_version(api_version)[0],
            "kind": kind,
            "name": name,
        }
        if namespace:
            identifier["namespace"] = namespace
        configs.append({"resourceIdentifier": identifier, "feedbackRules": rules})
    return configs


def part_name(policy: PolicyRef, index: int) -> str:
    """The name of a policy's Work part ``index`` (0: the base name, then ``-p1``, ``-p2``...)."""
    base = work_base_name(policy)
    return base if index == 0 else f"{base}-p{index}"


def part_index(policy: PolicyRef, name: str) -> int | None:
    """Which part of ``policy``'s Works ``name`` is (None: not one of its parts)."""
    base = work_base_name(policy)
    if name == base:
        return 0
    prefix = f"{base}-p"
    if name.startswith(prefix) and name[len(prefix) :].isdigit():
        index = int(name[len(prefix) :])
        return index if index > 0 else None
    return None


def part_assignment(policy: PolicyRef, works: Sequence[Mapping[str, Any]]) -> dict[TemplateId, int]:
    """Which part each template is in now, from a (policy, member)'s existing Works."""
    out: dict[TemplateId, int] = {}
    for work in works:
        index = part_index(policy, str((work.get("metadata") or {}).get("name") or ""))
        if index is None:
            continue
        for manifest in ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []:
            out.setdefault(TemplateId.of(manifest), index)
    return out


def assign_parts(
    sizes: Mapping[TemplateId, int], *, previous: Mapping[TemplateId, int], limit: int
) -> dict[TemplateId, int]:
    """A part index per template, moving as few templates as possible (pure).

    Templates stay in the part they were in; a part grown past ``limit`` gives up its largest
    templates first; new and displaced templates go, in identity order, to the lowest part with
    room, else to the lowest unused index. So adding or removing one template moves no other.
    """
    parts: dict[int, list[TemplateId]] = {}
    used: dict[int, int] = {}
    loose: list[TemplateId] = []
    for identity in sorted(sizes):
        index = previous.get(identity)
        if index is None:
            loose.append(identity)
        else:
            parts.setdefault(index, []).append(identity)
            used[index] = used.get(index, 0) + sizes[identity]
    for index, members in parts.items():
        by_size = sorted(members, key=lambda i: (-sizes[i], i))
        while used[index] > limit and len(members) > 1:
            largest = by_size.pop(0)
            members.remove(largest)
            used[index] -= sizes[largest]
            loose.append(largest)
    out = {identity: index for index, members in parts.items() for identity in members}
    for identity in sorted(loose):
        size = sizes[identity]
        fits = [i for i in sorted(used) if parts.get(i) and used[i] + size <= limit]
        if fits:
            index = fits[0]
        else:
            index = next(i for i in range(len(used) + 1) if not parts.get(i))
        parts.setdefault(index, []).append(identity)
        used[index] = used.get(index, 0) + size
        out[identity] = index
    return out


def pack_works(
    *,
    policy: PolicyRef,
    cluster: str,
    member_namespace: str,
    manifests: Sequence[Mapping[str, Any]],
    options: WorkOptions = WorkOptions(),
    limit: int = WORK_SIZE_LIMIT,
    previous: Mapping[TemplateId, int] | None = None,
) -> list[dict[str, Any]]:
    """The Works carrying ``manifests`` for one (policy, member); [] when there is nothing to carry.

    ``previous`` (``part_assignment`` of the existing Works) keeps each template in its part:
    see ``assign_parts``. Without it, manifests are packed in identity order.
    """
    by_identity = {TemplateId.of(m): m for m in manifests}
    sizes = {identity: _size(m) for identity, m in by_identity.items()}
    assignment = assign_parts(sizes, previous=previous or {}, limit=limit)
    parts: dict[int, list[Mapping[str, Any]]] = {}
    for identity in sorted(by_identity, key=lambda i: manifest_key(by_identity[i])):
        parts.setdefault(assignment[identity], []).append(by_identity[identity])
    count = max(parts, default=-1) + 1
    works = []
    for index, part in sorted(parts.items()):
        carried = [dict(with_replica_managers(m, options.replica_managers)) for m in part]
        spec: dict[str, Any] = {"workload": {"manifests": carried}}
        strategy = options.apply_strategy()
        if strategy is not None:
            spec["applyStrategy"] = strategy
        configs = _feedback_configs(part, options.state_paths)
        if configs:
            spec["manifestConfigs"] = configs
        works.append(
            {
                "apiVersion": names.WORK_API_VERSION,
                "kind": names.KIND_WORK,
                "metadata": {
                    "name": part_name(policy, index),
                    "namespace": member_namespace,
                    "labels": {**policy_labels(policy), names.LABEL_CLUSTER: label_value(cluster)},
                    # part i of the highest part index in use (a removal may leave a gap)
                    "annotations": {names.ANNOTATION_WORK_PART: f"{index + 1}/{count}"},
                },
                "spec": spec,
            }
        )
    return works


# ---------------------------------------------------------------- rendered manifests, kept

RenderKey = tuple[str, str, str]  # (template identity, member, use: "binding" or "dependency")


def manifest_digest(manifest: Mapping[str, Any]) -> str:
    """A short digest of a manifest's content (the same for equal manifests, in any key order)."""
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


class RenderCache:
    """The last rendering of each (template, member, use), reused while its inputs are the same.

    ``signature`` is everything the rendering reads (the template's resourceVersion, the
    member's, the override policies', ...; the caller builds it). Equal renderings (one
    template, members that no override tells apart) share one dict, found by content digest,
    so the cache holds about one manifest per template rather than one per placed manifest.
    Cached manifests are shared: never mutate them. Entries go with ``drop``.
    """

    def __init__(self) -> None:
        self._entries: dict[RenderKey, tuple[Any, str]] = {}  # key → (signature, digest)
        self._pool: dict[str, list[Any]] = {}  # digest → [manifest, number of entries using it]
        self.renders = 0  # renderings done (misses), for tests and benchmarks

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: RenderKey, signature: Any) -> dict[str, Any] | None:
        """The kept rendering of ``key`` if it was made from exactly ``signature``."""
        entry = self._entries.get(key)
        if entry is None or entry[0] != signature:
            return None
        manifest: dict[str, Any] = self._pool[entry[1]][0]
        return manifest

    def last(self, key: RenderKey) -> tuple[str, dict[str, Any]] | None:
        """The last rendering of ``key`` whatever it was made from: (digest, manifest)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        return entry[1], self._pool[entry[1]][0]

    def put(self, key: RenderKey, signature: Any, manifest: dict[str, Any]) -> dict[str, Any]:
        """Keep a new rendering of ``key``; the kept (possibly shared) equal manifest."""
        self.renders += 1
        digest = sys.intern(manifest_digest(manifest))  # one string for every entry rendered alike
        key = (sys.intern(key[0]), sys.intern(key[1]), key[2])
        pooled = self._pool.get(digest)
        if pooled is None:
            pooled = self._pool[digest] = [manifest, 0]
        pooled[1] += 1
        self._release(key)
        self._entries[key] = (signature, digest)
        kept: dict[str, Any] = pooled[0]
        return kept

    def drop(self, key: RenderKey) -> None:
        self._release(key)

    def _release(self, key: RenderKey) -> None:
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        pooled = self._pool[entry[1]]
        pooled[1] -= 1
        if pooled[1] <= 0:
            del self._pool[entry[1]]


# ---------------------------------------------------------------- the hub's slim Work cache

DIGEST_FIELD = SLIM_DIGEST_FIELD  # only in the hub's cache: a manifest's content digest


class _Slim(dict[str, Any]):
    """A slim manifest: a dict that can be weakly referenced (so equal ones are shared)."""

    __slots__ = ("__weakref__",)


# content digest → its slim manifest, while some cached Work holds it: a template placed on
# 1,000 members the same way is one slim dict, not 1,000
_SLIM: weakref.WeakValueDictionary[str, _Slim] = weakref.WeakValueDictionary()


def slim_manifest(manifest: Any) -> Any:
    """What the hub's Work cache keeps of a manifest: its identity and a digest of its content
    (equal manifests share one; never mutate it). Idempotent: a slim manifest is returned as it is."""
    if not isinstance(manifest, Mapping) or DIGEST_FIELD in manifest:
        return manifest
    digest = manifest_digest(manifest)
    shared = _SLIM.get(digest)
    if shared is not None:
        return shared
    out = _Slim({DIGEST_FIELD: digest})
    for field in ("apiVersion", "kind"):
        if isinstance(value := manifest.get(field), str):
            out[field] = sys.intern(value)
    meta = manifest.get("metadata")
    if isinstance(meta, Mapping):
        identity = {k: sys.intern(v) for k in ("name", "namespace") if isinstance(v := meta.get(k), str)}
        if identity:
            out["metadata"] = identity
    _SLIM[digest] = out
    return out


def slim_work_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A Work spec with its manifests slim (``slim_manifest``); everything else as it is."""
    workload = spec.get("workload")
    if not isinstance(workload, Mapping) or not isinstance(workload.get("manifests"), list):
        return dict(spec)
    manifests = [slim_manifest(m) for m in workload["manifests"]]
    return {**spec, "workload": {**workload, "manifests": manifests}}


def slim_work(work: dict[str, Any]) -> dict[str, Any]:
    """The hub's Work informer ``transform``: no managedFields, manifests slim. The hub reads a
    Work's manifests only for their identity (parts, what a Work carries, status) and to keep a
    manifest's last good version, which the works controller then reads from the API server."""
    meta = work.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        work = {**work, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    spec = work.get("spec")
    if isinstance(spec, Mapping):
        work = {**work, "spec": slim_work_spec(spec)}
    return work


def is_slim(manifest: Mapping[str, Any]) -> bool:
    return DIGEST_FIELD in manifest
