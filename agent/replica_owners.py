"""Replicas owned by the member: leave ``spec.replicas`` to whoever scales the workload there.

A member-side autoscaler owns a workload's replica count; the agent must not fight it. Who owns
``spec.replicas`` (``owner_of``, pure), in this order:

1. a ``HorizontalPodAutoscaler`` (``autoscaling/v2``) in the object's namespace whose
   ``scaleTargetRef`` names it (``HorizontalPodAutoscalers`` indexes them by target), even before
   it has scaled anything;
2. a manager that updated the count through the ``scale`` subresource (``managedFields`` entry
   with ``subresource: scale``: the HPA controller, KEDA, ``kubectl scale``);
3. a manager listed by the agent's ``--replica-managers``, or by the manifest's annotation
   ``waybill.dev/replica-managers`` (comma-separated; set on the template, or by the policy's
   ``spec.replicaManagers``, which the hub merges into it), that owns ``f:spec.f:replicas``.

With an owner, the agent applies the manifest without ``spec.replicas`` (so it neither overwrites
the count nor takes ownership back), does not report a different count as drift, and reports a
``ReplicasManagedOnMember`` condition on the manifest naming the owner; the hub then shows the
member's actual replicas (its status feedback) beside the count it wants.

Handing over without a reset: if nobody but the agent owns ``spec.replicas`` yet (an HPA that
has not scaled yet), dropping the field from the agent's apply would remove it and the workload
would fall back to one replica. So the agent first hands the field over, as the Kubernetes
documentation prescribes: it applies the live count alone under the field manager
``waybill-replica-handover``, without force — a conflict means the autoscaler took it first,
which is fine (``hand_over``). When the HPA is gone and only that manager is left, the agent
takes ``spec.replicas`` back (a forced apply).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import Conflict, NotFound
from shared.kube.informer import Informer
from shared.kube.types import split_api_version
from shared.ops.logging import get_logger

_log = get_logger("agent.replica_owners")

HPA_API_VERSION = "autoscaling/v2"
HPA_KIND = "HorizontalPodAutoscaler"
HANDOVER_MANAGER = "waybill-replica-handover"
ANNOTATION_REPLICA_MANAGERS = "waybill.dev/replica-managers"
CONDITION_REPLICAS_MANAGED = names.CONDITION_REPLICAS_MANAGED
REASON_HPA = "HorizontalPodAutoscaler"
REASON_SCALE = "ScaleSubresource"
REASON_MANAGER = "ReplicaManager"
REPLICAS_PATH: tuple[str, ...] = ("f:spec", "f:replicas")
INDEX_TARGET = "target"


def target_key(*, group: str, kind: str, namespace: str, name: str) -> str:
    return f"{group}/{kind}/{namespace}/{name}"


def hpa_target(hpa: Mapping[str, Any]) -> list[str]:
    """The index value of an HPA: the workload its ``scaleTargetRef`` names."""
    meta = hpa.get("metadata") or {}
    ref = (hpa.get("spec") or {}).get("scaleTargetRef") or {}
    if not ref.get("kind") or not ref.get("name"):
        return []
    group = split_api_version(str(ref.get("apiVersion") or ""))[0]
    return [
        target_key(
            group=group,
            kind=str(ref["kind"]),
            namespace=str(meta.get("namespace") or ""),
            name=str(ref["name"]),
        )
    ]


def listed_managers(manifest: Mapping[str, Any], configured: Iterable[str] = ()) -> frozenset[str]:
    """The managers to respect for this manifest: the agent's own list and the annotation's."""
    annotations = (manifest.get("metadata") or {}).get("annotations") or {}
    raw = str(annotations.get(ANNOTATION_REPLICA_MANAGERS) or "")
    return frozenset(m for m in (*configured, *(part.strip() for part in raw.split(","))) if m)


@dataclass(frozen=True)
class ReplicaOwner:
    """Who owns ``spec.replicas`` on the member, and whether the agent must hand it over first."""

    reason: str
    owner: str
    replicas: int | None
    needs_handover: bool = False

    def condition(self) -> dict[str, Any]:
        count = "" if self.replicas is None else f" (the member runs {self.replicas})"
        return {
            "type": CONDITION_REPLICAS_MANAGED,
            "status": "True",
            "reason": self.reason,
            "message": f"spec.replicas is left to {self.owner} on the member{count}",
        }


def _replica_managers(live: Mapping[str, Any], *, field_manager: str) -> list[Mapping[str, Any]]:
    """The managedFields entries (other than the agent's) that own ``f:spec.f:replicas``."""
    out = []
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if not isinstance(entry, Mapping) or entry.get("manager") == field_manager:
            continue
        spec = (entry.get("fieldsV1") or {}).get("f:spec")
        if isinstance(spec, Mapping) and "f:replicas" in spec:
            out.append(entry)
    return out


def owner_of(
    live: Mapping[str, Any] | None,
    *,
    field_manager: str,
    hpas: Iterable[Mapping[str, Any]] = (),
    managers: Iterable[str] = (),
) -> ReplicaOwner | None:
    """Who owns the live object's ``spec.replicas`` besides the agent (None: the agent applies it)."""
    if live is None or not isinstance((live.get("spec") or {}).get("replicas"), int):
        return None
    replicas = int(live["spec"]["replicas"])
    entries = _replica_managers(live, field_manager=field_manager)
    for hpa in sorted(hpas, key=lambda h: str((h.get("metadata") or {}).get("name"))):
        meta = hpa.get("metadata") or {}
        return ReplicaOwner(
            REASON_HPA,
            f"{HPA_KIND} {meta.get('namespace')}/{meta.get('name')}",
            replicas,
            needs_handover=not entries,
        )
    for entry in entries:
        if entry.get("subresource") == "scale":
            return ReplicaOwner(
                REASON_SCALE, f"{entry.get('manager')} (through the scale subresource)", replicas
            )
    listed = set(managers)
    for entry in entries:
        if entry.get("manager") in listed:
            return ReplicaOwner(REASON_MANAGER, str(entry.get("manager")), replicas)
    return None


async def hand_over(member_api: KubeClient, live: Mapping[str, Any]) -> None:
    """Give the live count to ``HANDOVER_MANAGER`` so the agent can stop applying it without the
    field being removed; a conflict means the autoscaler owns it already (nothing to do)."""
    meta = live.get("metadata") or {}
    body: dict[str, Any] = {
        "apiVersion": live.get("apiVersion"),
        "kind": live.get("kind"),
        "metadata": {"name": meta.get("name")},
        "spec": {"replicas": (live.get("spec") or {}).get("replicas")},
    }
    if meta.get("namespace"):
        body["metadata"]["namespace"] = meta["namespace"]
    try:
        await member_api.apply(body, field_manager=HANDOVER_MANAGER, force=False)
        _log.info(
            "replicas.handed_over",
            kind=live.get("kind"),
            name=meta.get("name"),
            namespace=meta.get("namespace"),
        )
    except (Conflict, NotFound):
        pass


def left_alone(owner: ReplicaOwner | None) -> frozenset[tuple[str, ...]]:
    """The field paths the agent neither applies nor calls drift."""
    return frozenset({REPLICAS_PATH}) if owner is not None else frozenset()


def retain_replicas(
    prepared: Mapping[str, Any], live: Mapping[str, Any] | None, left: Iterable[tuple[str, ...]]
) -> Mapping[str, Any]:
    """For client-side apply (a merge patch, no field ownership): the live count in place of the
    manifest's, so the patch leaves it as it is and the last-applied annotation records it."""
    replicas = ((live or {}).get("spec") or {}).get("replicas")
    if REPLICAS_PATH not in set(left) or not isinstance(replicas, int):
        return prepared
    if not isinstance(prepared.get("spec"), Mapping):
        return prepared
    return {**prepared, "spec": {**prepared["spec"], "replicas": replicas}}


def conditions(owner: ReplicaOwner | None, obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The manifest's ``ReplicasManagedOnMember`` condition, with the count the member runs now."""
    if owner is None:
        return []
    replicas = (obj.get("spec") or {}).get("replicas")
    now = ReplicaOwner(owner.reason, owner.owner, replicas if isinstance(replicas, int) else owner.replicas)
    return [now.condition()]


class ReplicaOwners:
    """``owner_of`` with this agent's settings and its member's HPAs (None: no HPA informer)."""

    def __init__(
        self,
        *,
        field_manager: str,
        managers: Iterable[str] = (),
        hpas: HorizontalPodAutoscalers | None = None,
    ) -> None:
        self.field_manager = field_manager
        self.managers = tuple(managers)
        self.hpas = hpas

    def owner(self, manifest: Mapping[str, Any], live: Mapping[str, Any] | None) -> ReplicaOwner | None:
        if live is None:
            return None
        return owner_of(
            live,
            field_manager=self.field_manager,
            hpas=self.hpas.targeting(live) if self.hpas is not None else (),
            managers=listed_managers(manifest, self.managers),
        )


class HorizontalPodAutoscalers:
    """The member's HPAs, indexed by target; ``on_change()`` when one appears, goes, or changes
    its target (not for its status, which the HPA controller rewrites every few seconds)."""

    def __init__(self, member_api: KubeClient, *, on_change: Callable[[], None]) -> None:
        self.informer = Informer(member_api, HPA_API_VERSION, HPA_KIND, name="member:HorizontalPodAutoscaler")
        self.informer.add_indexer(INDEX_TARGET, hpa_target)
        self.targets_version = 0  # bumped when an HPA appears, goes, or changes its target

        def changed(_key: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> None:
            if old is None or new is None or hpa_target(old) != hpa_target(new):
                self.targets_version += 1
                on_change()

        self.informer.add_update_handler(changed)

    def targeting(self, live: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        meta = live.get("metadata") or {}
        group = split_api_version(str(live.get("apiVersion") or ""))[0]
        key = target_key(
            group=group,
            kind=str(live.get("kind") or ""),
            namespace=str(meta.get("namespace") or ""),
            name=str(meta.get("name") or ""),
        )
        return list(self.informer.by_index(INDEX_TARGET, key))

    def start(self) -> None:
        self.informer.start()

    async def stop(self) -> None:
        await self.informer.stop()
