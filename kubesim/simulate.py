"""Member-cluster behaviour a bare API server lacks: workload controllers, Service IPs, Nodes.

``start_simulation(store, *, delay=0.2, nodes=3) -> Simulation`` (call it inside a running
event loop; ``await simulation.stop()`` to end it) -- or ``Simulator(store, nodes=3, delay=0.2)``
with ``.start()`` / ``await .stop()``, which ``SimServer(workloads=True)`` uses -- makes a
``kubesim.store.Store`` behave like a cluster with controllers, as KWOK does:

- Deployments, StatefulSets and DaemonSets get the status their controllers write: at once
  ``observedGeneration`` and progressing counts, then after ``delay`` seconds every replica
  ready and available (Deployment conditions ``Available``/``Progressing`` with the real reasons);
- Jobs start (``startTime``, ``active``) and after ``delay`` complete (``succeeded``,
  ``completionTime``, conditions ``SuccessCriteriaMet`` and ``Complete``); suspended Jobs don't;
- Services get ``clusterIP``/``clusterIPs`` (and node ports) when created, like the apiserver's
  allocator, plus the usual defaults (an admitter on the store);
- LoadBalancer Services get a ``status.loadBalancer.ingress`` IP after ``delay`` (as kind with
  cloud-provider-kind or MetalLB would give them);
- PersistentVolumeClaims get the ``standard`` StorageClass when created and are ``Bound`` to a
  ``pvc-<uid>`` volume after ``delay`` (as kind's local-path provisioner does);
- ``nodes`` fake Nodes with capacity/allocatable (cpu, memory, pods) and a ``Ready`` condition;
- a workload whose pod template names an image from the registry ``kubesim.invalid`` (e.g.
  ``kubesim.invalid/web:bad``) never becomes ready, as if its image could not be pulled: it stays
  progressing until its template changes (for tests of rollouts that must halt).

Status values are computed by pure functions (``deployment_status`` etc., tested by tables);
the ``Simulation`` class is the thin shell that reacts to store events and writes ``/status``
as ``kube-controller-manager``. No Pods or ReplicaSets are created (kept cheap for fleets).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from kubesim import meta
from kubesim.registry import ResourceType
from kubesim.store import Event, Store

__all__ = [
    "Simulation",
    "Simulator",
    "admit_pvc",
    "admit_service",
    "daemonset_status",
    "deployment_status",
    "job_status",
    "node_object",
    "pvc_binding",
    "pvc_status",
    "start_simulation",
    "statefulset_status",
    "template_hash",
    "unpullable",
]

Obj = dict[str, Any]
log = structlog.get_logger("kubesim.simulate")

CONTROLLER = "kube-controller-manager"
_DEPLOYMENTS = ("apps", "deployments")
_STATEFULSETS = ("apps", "statefulsets")
_DAEMONSETS = ("apps", "daemonsets")
_JOBS = ("batch", "jobs")
_NODES = ("", "nodes")
_SERVICES = ("", "services")
_PVCS = ("", "persistentvolumeclaims")
_WORKLOADS = frozenset({_DEPLOYMENTS, _STATEFULSETS, _DAEMONSETS, _JOBS})
_TRACKED = _WORKLOADS | {_SERVICES, _PVCS}
UNPULLABLE_REGISTRY = "kubesim.invalid"  # images from here "cannot be pulled": never ready
STORAGE_CLASS = "standard"
PROVISIONER = "rancher.io/local-path"
_SAFE = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: Any) -> str:
    """A stable pod-template-hash look-alike (10 characters from the safe alphabet)."""
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(_SAFE[b % len(_SAFE)] for b in digest[:10])


def _condition(
    previous: list[Obj],
    *,
    type_: str,
    status: str,
    reason: str,
    message: str,
    now: str,
    update_time: bool = True,
    probe_time: bool = False,
) -> Obj:
    """A condition keeping its timestamps when nothing about it changed."""
    old = next((c for c in previous if c.get("type") == type_), None)
    same_status = old is not None and old.get("status") == status
    same_all = (
        same_status and old is not None and old.get("reason") == reason and old.get("message") == message
    )
    cond: Obj = {"type": type_, "status": status}
    if probe_time:
        cond["lastProbeTime"] = old.get("lastProbeTime", now) if old and same_all else now
    if update_time:
        cond["lastUpdateTime"] = old.get("lastUpdateTime", now) if old and same_all else now
    cond["lastTransitionTime"] = old.get("lastTransitionTime", now) if old and same_status else now
    cond["reason"] = reason
    cond["message"] = message
    return cond


def _int_or_percent(value: Any, total: int, *, round_up: bool, default: str) -> int:
    raw = default if value is None else value
    if isinstance(raw, str) and raw.endswith("%"):
        scaled = int(raw[:-1]) * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    return int(raw)


def _omit_zero(status: Obj, *names: str) -> Obj:
    for name in names:
        if not status.get(name):
            status.pop(name, None)
    return status


def deployment_status(obj: Obj, *, ready: bool, template_changed: bool, now: str) -> Obj:
    """The status the Deployment controller reports (progressing, or ``ready`` after rollout)."""
    spec = obj.get("spec") or {}
    previous = obj.get("status") or {}
    replicas = int(spec.get("replicas", 1))
    name = obj["metadata"]["name"]
    rs_name = f"{name}-{template_hash(spec.get('template'))}"
    strategy = spec.get("strategy") or {}
    rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
    rolling_params = strategy.get("rollingUpdate") or {}
    surge = _int_or_percent(rolling_params.get("maxSurge"), replicas, round_up=True, default="25%")
    max_unavailable = _int_or_percent(
        rolling_params.get("maxUnavailable"), replicas, round_up=False, default="25%"
    )
    if not rolling or replicas == 0:
        max_unavailable, surge = 0, 0
    elif surge == 0 and max_unavailable == 0:
        max_unavailable = 1
    old_available = min(int(previous.get("availableReplicas") or 0), replicas)
    if ready:
        total = updated = available = replicas
    elif template_changed and rolling:
        updated = min(max(surge, 1), replicas)
        available = old_available
        total = available + updated
    else:
        total = updated = replicas
        available = old_available
    conditions = list(previous.get("conditions") or [])
    min_available = available >= replicas - max_unavailable
    status: Obj = {
        "observedGeneration": int(obj["metadata"].get("generation") or 1),
        "replicas": total,
        "updatedReplicas": updated,
        "readyReplicas": available,
        "availableReplicas": available,
        "unavailableReplicas": max(total - available, 0),
        "conditions": [
            _condition(
                conditions,
                type_="Available",
                status="True" if min_available else "False",
                reason="MinimumReplicasAvailable" if min_available else "MinimumReplicasUnavailable",
                message="Deployment has minimum availability."
                if min_available
                else "Deployment does not have minimum availability.",
                now=now,
            ),
            _condition(
                conditions,
                type_="Progressing",
                status="True",
                reason="NewReplicaSetAvailable" if ready else "ReplicaSetUpdated",
                message=f'ReplicaSet "{rs_name}" has successfully progressed.'
                if ready
                else f'ReplicaSet "{rs_name}" is progressing.',
                now=now,
            ),
        ],
    }
    return _omit_zero(
        status, "replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"
    )


def statefulset_status(obj: Obj, *, ready: bool, template_changed: bool, now: str) -> Obj:
    """The StatefulSet controller's status; revisions are ``<name>-<hash>``."""
    spec = obj.get("spec") or {}
    previous = obj.get("status") or {}
    replicas = int(spec.get("replicas", 1))
    revision = f"{obj['metadata']['name']}-{template_hash(spec.get('template'))}"
    old_ready = min(int(previous.get("readyReplicas") or 0), replicas)
    if ready:
        ready_n, updated, current_revision = replicas, replicas, revision
    elif template_changed:
        ready_n, updated = old_ready, 0
        current_revision = str(previous.get("currentRevision") or revision)
    else:
        ready_n, updated, current_revision = old_ready, replicas, revision
    status: Obj = {
        "observedGeneration": int(obj["metadata"].get("generation") or 1),
        "replicas": replicas,
        "readyReplicas": ready_n,
        "currentReplicas": replicas if current_revision == revision else replicas - updated,
        "updatedReplicas": updated,
        "availableReplicas": ready_n,
        "currentRevision": current_revision,
        "updateRevision": revision,
        "collisionCount": 0,
    }
    return _omit_zero(status, "readyReplicas", "currentReplicas", "updatedReplicas")


def daemonset_status(obj: Obj, *, ready: bool, template_changed: bool, nodes: int) -> Obj:
    """The DaemonSet controller's status for ``nodes`` schedulable nodes."""
    previous = obj.get("status") or {}
    old_available = min(int(previous.get("numberAvailable") or 0), nodes)
    available = nodes if ready else old_available
    updated = nodes if ready or not template_changed else 0
    status: Obj = {
        "currentNumberScheduled": nodes,
        "desiredNumberScheduled": nodes,
        "numberMisscheduled": 0,
        "numberReady": available,
        "numberAvailable": available,
        "numberUnavailable": nodes - available,
        "observedGeneration": int(obj["metadata"].get("generation") or 1),
        "updatedNumberScheduled": updated,
    }
    return _omit_zero(status, "numberAvailable", "numberUnavailable", "updatedNumberScheduled")


def job_status(obj: Obj, *, ready: bool, now: str) -> Obj:
    """The Job controller's status: running, suspended, or complete once ``ready``."""
    spec = obj.get("spec") or {}
    previous = obj.get("status") or {}
    conditions = list(previous.get("conditions") or [])
    if any(c.get("type") == "Complete" and c.get("status") == "True" for c in conditions):
        return dict(previous)
    completions = spec.get("completions")
    parallelism = int(spec.get("parallelism", 1))
    if spec.get("suspend"):
        return {
            "conditions": [
                _condition(
                    conditions,
                    type_="Suspended",
                    status="True",
                    reason="JobSuspended",
                    message="Job suspended",
                    now=now,
                    update_time=False,
                    probe_time=True,
                )
            ]
        }
    start = str(previous.get("startTime") or now)
    status: Obj = {"startTime": start, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}}
    if not ready:
        status["active"] = min(parallelism, int(completions)) if completions is not None else parallelism
        return _omit_zero(status, "active")
    status["succeeded"] = int(completions) if completions is not None else 1
    status["completionTime"] = now
    message = "Reached expected number of succeeded pods"
    status["conditions"] = [
        _condition(
            conditions,
            type_=t,
            status="True",
            reason="CompletionsReached",
            message=message,
            now=now,
            update_time=False,
            probe_time=True,
        )
        for t in ("SuccessCriteriaMet", "Complete")
    ]
    return status


def node_object(name: str, *, index: int, cpu: str, memory: str, pods: str, now: str) -> Obj:
    """A Ready fake Node (status included) with the labels kubelet sets."""
    resources = {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "100Gi"}
    pressure = [
        ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
        ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
        ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ]
    conditions = [
        {
            "type": t,
            "status": "False",
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
            "reason": r,
            "message": m,
        }
        for t, r, m in pressure
    ]
    conditions.append(
        {
            "type": "Ready",
            "status": "True",
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
        }
    )
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64",
                "type": "kwok",
            },
        },
        "spec": {"podCIDR": f"10.244.{index}.0/24", "podCIDRs": [f"10.244.{index}.0/24"]},
        "status": {
            "capacity": dict(resources),
            "allocatable": dict(resources),
            "conditions": conditions,
            "addresses": [
                {"type": "InternalIP", "address": f"10.0.0.{10 + index}"},
                {"type": "Hostname", "address": name},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "operatingSystem": "linux",
                "osImage": "kubesim",
                "kernelVersion": "kubesim",
                "kubeletVersion": "v1.31.0",
                "kubeProxyVersion": "v1.31.0",
                "containerRuntimeVersion": "kubesim://1.0",
                "machineID": "",
                "systemUUID": "",
                "bootID": "",
            },
            "phase": "Running",
        },
    }


def pvc_binding(obj: Obj) -> Obj:
    """The claim as the volume binder leaves it: ``volumeName`` set and bind annotations."""
    bound: Obj = meta.clone(obj)
    md = bound["metadata"]
    md["annotations"] = {
        **(md.get("annotations") or {}),
        "pv.kubernetes.io/bind-completed": "yes",
        "pv.kubernetes.io/bound-by-controller": "yes",
        "volume.beta.kubernetes.io/storage-provisioner": PROVISIONER,
        "volume.kubernetes.io/storage-provisioner": PROVISIONER,
    }
    bound.setdefault("spec", {})["volumeName"] = f"pvc-{md.get('uid', '')}"
    return bound


def pvc_status(obj: Obj, *, bound: bool) -> Obj:
    """``Pending``, or ``Bound`` with the requested access modes and capacity."""
    if not bound:
        return {"phase": "Pending"}
    spec = obj.get("spec") or {}
    requests = (spec.get("resources") or {}).get("requests") or {}
    status: Obj = {"phase": "Bound", "accessModes": list(spec.get("accessModes") or ["ReadWriteOnce"])}
    if "storage" in requests:
        status["capacity"] = {"storage": requests["storage"]}
    return status


def admit_pvc(obj: Obj, old: Obj | None) -> Obj:
    """Default StorageClass admission and ``volumeMode`` defaulting at create."""
    if old is None:
        spec = obj.setdefault("spec", {})
        spec.setdefault("storageClassName", STORAGE_CLASS)
        spec.setdefault("volumeMode", "Filesystem")
    return obj


# ------------------------------------------------------------------------------------- services


@dataclass
class _Allocator:
    """Sequential ClusterIP (10.96.0.0/12) and NodePort (30000-32767) allocation."""

    used_ips: set[str] = field(default_factory=set)
    used_ports: set[int] = field(default_factory=set)
    next_ip: int = int(ipaddress.IPv4Address("10.96.0.10"))
    next_port: int = 30000
    next_lb_ip: int = int(ipaddress.IPv4Address("172.18.255.200"))

    def lb_ip(self) -> str:
        while str(ipaddress.IPv4Address(self.next_lb_ip)) in self.used_ips:
            self.next_lb_ip += 1
        address = str(ipaddress.IPv4Address(self.next_lb_ip))
        self.used_ips.add(address)
        return address

    def ip(self) -> str:
        while str(ipaddress.IPv4Address(self.next_ip)) in self.used_ips:
            self.next_ip += 1
        address = str(ipaddress.IPv4Address(self.next_ip))
        self.used_ips.add(address)
        return address

    def port(self) -> int:
        while self.next_port in self.used_ports:
            self.next_port += 1
        self.used_ports.add(self.next_port)
        return self.next_port


def admit_service(obj: Obj, old: Obj | None, allocator: _Allocator) -> Obj:
    """Service defaults and allocations done by the apiserver (ClusterIP immutable once set)."""
    spec = obj.setdefault("spec", {})
    old_spec = (old or {}).get("spec") or {}
    spec.setdefault("type", "ClusterIP")
    kind = spec["type"]
    if kind != "ExternalName":
        if old_spec.get("clusterIP") and not spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
        if not spec.get("clusterIP"):
            spec["clusterIP"] = allocator.ip()
        spec["clusterIPs"] = [spec["clusterIP"]]
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    spec.setdefault("sessionAffinity", "None")
    if kind in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    old_ports = {p.get("port"): p for p in old_spec.get("ports") or [] if isinstance(p, dict)}
    for port in spec.get("ports") or []:
        if not isinstance(port, dict):
            continue
        port.setdefault("protocol", "TCP")
        if kind != "ExternalName":
            port.setdefault("targetPort", port.get("port"))
        if kind in ("NodePort", "LoadBalancer") and not port.get("nodePort"):
            previous = old_ports.get(port.get("port"), {}).get("nodePort")
            port["nodePort"] = previous or allocator.port()
    return obj


# ------------------------------------------------------------------------------------ the shell


@dataclass
class _Track:
    generation: int
    ready_at: float
    template: str
    ready_template: str | None


@dataclass
class Simulation:
    """Reacts to store events and writes controller status (see module docstring)."""

    store: Store
    delay: float
    clock: Callable[[], str] = meta.now
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.get_running_loop)
    _tracks: dict[tuple[tuple[str, str], str, str], _Track] = field(default_factory=dict)
    _timers: dict[tuple[tuple[str, str], str, str], asyncio.TimerHandle] = field(default_factory=dict)
    _unsubscribe: Callable[[], None] | None = None
    _allocator: _Allocator = field(default_factory=_Allocator)
    _admitter: Callable[[ResourceType, Obj, Obj | None], Obj] | None = None

    def start(self, *, nodes: int, node_prefix: str, node_cpu: str, node_memory: str, node_pods: str) -> None:
        services = self.store.resource("v1", "Service")
        if services is not None:
            for svc in self.store.scan(services):
                spec = svc.get("spec") or {}
                if spec.get("clusterIP"):
                    self._allocator.used_ips.add(str(spec["clusterIP"]))
                for ingress in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
                    if isinstance(ingress, dict) and ingress.get("ip"):
                        self._allocator.used_ips.add(str(ingress["ip"]))
                for port in spec.get("ports") or []:
                    if isinstance(port, dict) and port.get("nodePort"):
                        self._allocator.used_ports.add(int(port["nodePort"]))

        def admit(rtype: ResourceType, obj: Obj, old: Obj | None) -> Obj:
            if rtype.key == _SERVICES:
                return admit_service(obj, old, self._allocator)
            if rtype.key == _PVCS:
                return admit_pvc(obj, old)
            return obj

        self._admitter = admit
        self.store.admitters.append(admit)
        self._create_nodes(nodes, node_prefix, node_cpu, node_memory, node_pods)
        self._unsubscribe = self.store.subscribe(self._on_event)
        for key in sorted(_TRACKED):
            rtype = self._rtype(key)
            if rtype is None:
                continue
            for obj in self.store.scan(rtype):
                self._schedule((key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"]), 0.0)

    async def stop(self) -> None:
        """Stop reacting; pending status writes are cancelled."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._admitter is not None and self._admitter in self.store.admitters:
            self.store.admitters.remove(self._admitter)
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _rtype(self, key: tuple[str, str]) -> ResourceType | None:
        return self.store.registry.storage_type(*key)

    def _create_nodes(self, count: int, prefix: str, cpu: str, memory: str, pods: str) -> None:
        rtype = self._rtype(_NODES)
        if rtype is None:
            return
        for index in range(1, count + 1):
            name = f"{prefix}-{index}"
            if self.store.peek(rtype, name) is not None:
                continue
            node = node_object(name, index=index, cpu=cpu, memory=memory, pods=pods, now=self.clock())
            created = self.store.create(rtype, node, manager="kubelet")
            created["status"] = node["status"]
            self.store.update(rtype, created, subresource="status", manager="kubelet")

    def _on_event(self, event: Event) -> None:
        key = event.rtype.key
        if key in _TRACKED:
            md = event.obj["metadata"]
            self._schedule((key, md.get("namespace", ""), md["name"]), 0.0)
        elif key == _NODES:
            rtype = self._rtype(_DAEMONSETS)
            for ds in self.store.scan(rtype) if rtype else []:
                self._schedule(
                    (_DAEMONSETS, ds["metadata"].get("namespace", ""), ds["metadata"]["name"]), 0.0
                )

    def _schedule(self, ident: tuple[tuple[str, str], str, str], after: float) -> None:
        timer = self._timers.get(ident)
        when = self._loop.time() + after
        if timer is not None and not timer.cancelled() and timer.when() <= when:
            return
        if timer is not None:
            timer.cancel()
        self._timers[ident] = self._loop.call_at(when, self._reconcile, ident)

    def _reconcile(self, ident: tuple[tuple[str, str], str, str]) -> None:
        self._timers.pop(ident, None)
        key, namespace, name = ident
        rtype = self._rtype(key)
        obj = self.store.peek(rtype, name, namespace or None) if rtype else None
        if rtype is None or obj is None or obj["metadata"].get("deletionTimestamp"):
            self._tracks.pop(ident, None)
            return
        try:
            self._sync(ident, rtype, obj)
        except Exception as error:  # a racing write: retry shortly, never kill the loop
            log.warning(
                "simulate.sync_failed", kind=rtype.kind, namespace=namespace, name=name, error=str(error)
            )
            self._schedule(ident, max(self.delay, 0.05))

    def _sync(self, ident: tuple[tuple[str, str], str, str], rtype: ResourceType, obj: Obj) -> None:
        key = ident[0]
        if key in (_SERVICES, _PVCS) and _settled(key, obj):
            self._tracks.pop(ident, None)
            return
        now = self._loop.time()
        generation = int(obj["metadata"].get("generation") or 1)
        template = template_hash((obj.get("spec") or {}).get("template"))
        track = self._tracks.get(ident)
        if track is None:
            converged = _looks_converged(ident[0], obj, generation)
            track = _Track(
                generation, now if converged else now + self.delay, template, template if converged else None
            )
            self._tracks[ident] = track
        elif track.generation != generation:
            track.generation, track.ready_at, track.template = generation, now + self.delay, template
        stuck = key in _WORKLOADS and unpullable(obj)
        ready = now >= track.ready_at and not stuck
        if ready:
            track.ready_template = template
        changed = track.ready_template is not None and track.ready_template != template
        stamp = self.clock()
        if key == _SERVICES:
            if not ready:
                self._schedule(ident, track.ready_at - now)
                return
            status = {
                **(obj.get("status") or {}),
                "loadBalancer": {"ingress": [{"ip": self._allocator.lb_ip(), "ipMode": "VIP"}]},
            }
        elif key == _PVCS:
            if ready and not (obj.get("spec") or {}).get("volumeName"):
                obj = self.store.update(rtype, pvc_binding(obj), manager=CONTROLLER)
            status = pvc_status(obj, bound=ready)
        elif key == _DEPLOYMENTS:
            status = deployment_status(obj, ready=ready, template_changed=changed, now=stamp)
        elif key == _STATEFULSETS:
            status = statefulset_status(obj, ready=ready, template_changed=changed, now=stamp)
        elif key == _DAEMONSETS:
            nodes_type = self._rtype(_NODES)
            count = len(self.store.scan(nodes_type)) if nodes_type else 0
            status = daemonset_status(obj, ready=ready, template_changed=changed, nodes=count)
        else:
            status = job_status(obj, ready=ready, now=stamp)
        if status != obj.get("status"):
            self.store.update(rtype, {**obj, "status": status}, subresource="status", manager=CONTROLLER)
        if not ready and not stuck:
            self._schedule(ident, track.ready_at - now)


def unpullable(obj: Obj) -> bool:
    """Whether the workload's pod template names an image of ``UNPULLABLE_REGISTRY``."""
    spec = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    return any(str(c.get("image") or "").startswith(UNPULLABLE_REGISTRY + "/") for c in containers)


def _settled(key: tuple[str, str], obj: Obj) -> bool:
    """Nothing (more) to do: not a LoadBalancer, already has an ingress, or already Bound."""
    status = obj.get("status") or {}
    if key == _SERVICES:
        if (obj.get("spec") or {}).get("type") != "LoadBalancer":
            return True
        return bool((status.get("loadBalancer") or {}).get("ingress"))
    return status.get("phase") == "Bound"


def _looks_converged(key: tuple[str, str], obj: Obj, generation: int) -> bool:
    """Whether a pre-existing object (e.g. after a restart) already shows its final status."""
    status = obj.get("status") or {}
    if key == _JOBS:
        return any(c.get("type") == "Complete" for c in status.get("conditions") or [])
    if int(status.get("observedGeneration") or 0) != generation:
        return False
    replicas = int((obj.get("spec") or {}).get("replicas", 1))
    if key == _DAEMONSETS:
        return bool(status.get("desiredNumberScheduled")) and (
            status.get("numberAvailable") == status.get("desiredNumberScheduled")
        )
    return int(status.get("availableReplicas") or 0) == replicas


def start_simulation(
    store: Store,
    *,
    delay: float = 0.2,
    nodes: int = 3,
    node_prefix: str = "node",
    node_cpu: str = "8",
    node_memory: str = "32Gi",
    node_pods: str = "110",
    clock: Callable[[], str] = meta.now,
) -> Simulation:
    """Start simulating controllers on ``store`` (inside a running loop); ``await sim.stop()``."""
    simulation = Simulation(store=store, delay=delay, clock=clock)
    simulation.start(
        nodes=nodes, node_prefix=node_prefix, node_cpu=node_cpu, node_memory=node_memory, node_pods=node_pods
    )
    return simulation


class Simulator:
    """``SimServer``'s handle: ``Simulator(store, nodes=3, delay=0.2)``, ``.start()``, ``await .stop()``."""

    def __init__(
        self, store: Store, *, nodes: int = 3, delay: float = 0.2, node_prefix: str = "node"
    ) -> None:
        self.store = store
        self.nodes = nodes
        self.delay = delay
        self.node_prefix = node_prefix
        self.simulation: Simulation | None = None

    def start(self) -> None:
        """Start (inside a running event loop); a second call is a no-op."""
        if self.simulation is None:
            self.simulation = start_simulation(
                self.store, delay=self.delay, nodes=self.nodes, node_prefix=self.node_prefix
            )

    async def stop(self) -> None:
        simulation, self.simulation = self.simulation, None
        if simulation is not None:
            await simulation.stop()
