"""What the agent reports about its member in ``MemberCluster.status`` (pure).

Kubernetes version, node count, allocatable CPU and memory summed over Ready nodes, what is
still available after the requests of the pods running on them, the API resources the member
serves, and the agent's ``Ready`` condition (the hub overrides it with ``Unknown`` once the
heartbeat Lease expires). Also the heartbeat Lease body. The shell gathers the inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from shared.api import names
from shared.api.meta import stamp_wire_conditions
from shared.api.quantity import QuantityError, cpu_millis, format_bytes, format_cpu, memory_bytes

REASON_AGENT_HEALTHY = "AgentHealthy"
REASON_MEMBER_UNREACHABLE = "MemberUnreachable"


def _node_ready(node: Mapping[str, Any]) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return True  # no conditions reported: count it (kubesim's static nodes)


def _quantity(resources: Mapping[str, Any], key: str) -> tuple[int, int]:
    """(cpu millis, memory bytes) from a resource map; unparsable values count as 0."""
    value = resources.get(key)
    if value is None:
        return 0, 0
    try:
        return (cpu_millis(value), 0) if key == "cpu" else (0, memory_bytes(value))
    except QuantityError:
        return 0, 0


def _requests(pod: Mapping[str, Any]) -> tuple[int, int]:
    cpu = mem = 0
    for container in (pod.get("spec") or {}).get("containers") or []:
        requests = (container.get("resources") or {}).get("requests") or {}
        cpu += _quantity(requests, "cpu")[0]
        mem += _quantity(requests, "memory")[1]
    return cpu, mem


def resources(
    nodes: Sequence[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, str]]:
    """``{allocatable: {cpu, memory}, available: {cpu, memory}}`` over Ready, schedulable nodes."""
    usable = {
        (n.get("metadata") or {}).get("name")
        for n in nodes
        if _node_ready(n) and not (n.get("spec") or {}).get("unschedulable")
    }
    cpu = mem = 0
    for node in nodes:
        if (node.get("metadata") or {}).get("name") not in usable:
            continue
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        cpu += _quantity(allocatable, "cpu")[0]
        mem += _quantity(allocatable, "memory")[1]
    used_cpu = used_mem = 0
    for pod in pods:
        if (pod.get("spec") or {}).get("nodeName") not in usable:
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        pod_cpu, pod_mem = _requests(pod)
        used_cpu += pod_cpu
        used_mem += pod_mem
    return {
        "allocatable": {"cpu": format_cpu(cpu), "memory": format_bytes(mem)},
        "available": {
            "cpu": format_cpu(max(0, cpu - used_cpu)),
            "memory": format_bytes(max(0, mem - used_mem)),
        },
    }


def api_enablements(groups: Iterable[tuple[str, Iterable[tuple[str, str]]]]) -> list[dict[str, Any]]:
    """``[{groupVersion, resources: [{name, kind}]}]`` sorted, from (groupVersion, [(plural, kind)])."""
    out = []
    for group_version, res in groups:
        items = sorted({(name, kind) for name, kind in res if "/" not in name})
        out.append({"groupVersion": group_version, "resources": [{"name": n, "kind": k} for n, k in items]})
    return sorted(out, key=lambda e: str(e["groupVersion"]))


def ready_condition(*, member_reachable: bool, message: str = "") -> dict[str, Any]:
    if member_reachable:
        return {
            "type": names.CONDITION_READY,
            "status": "True",
            "reason": REASON_AGENT_HEALTHY,
            "message": message or "the agent reaches the member API server",
        }
    return {
        "type": names.CONDITION_READY,
        "status": "False",
        "reason": REASON_MEMBER_UNREACHABLE,
        "message": message or "the agent cannot reach the member API server",
    }


def member_status(
    *,
    kubernetes_version: str | None,
    agent_version: str,
    nodes: Sequence[Mapping[str, Any]],
    pods: Iterable[Mapping[str, Any]],
    enablements: list[dict[str, Any]],
) -> dict[str, Any]:
    """The agent-owned fields of ``MemberCluster.status`` (conditions merged by the caller)."""
    return {
        "kubernetesVersion": kubernetes_version,
        "agentVersion": agent_version,
        "nodeCount": len(nodes),
        "resources": resources(nodes, pods),
        "apiEnablements": enablements,
    }


def merge_member_status(
    old: Mapping[str, Any] | None, fields: Mapping[str, Any], ready: Mapping[str, Any], *, now: str
) -> dict[str, Any]:
    """Old status with the agent's fields and Ready condition set (other conditions kept)."""
    out = dict(old or {})
    out.update({k: v for k, v in fields.items() if v is not None})
    conditions = [dict(c) for c in out.get("conditions") or [] if c.get("type") != ready["type"]]
    # the one lastTransitionTime rule (shared.api.meta), as for Work conditions and the hub's
    stamped = stamp_wire_conditions([ready], (old or {}).get("conditions"), now=now)
    out["conditions"] = [*conditions, *stamped]
    return out


def lease_body(
    *, namespace: str, holder: str, duration_seconds: int, now_micro: str, acquired: str | None
) -> dict[str, Any]:
    """The heartbeat Lease (``coordination.k8s.io/v1``) as renewed now."""
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": names.HEARTBEAT_LEASE_NAME, "namespace": namespace},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration_seconds,
            "acquireTime": acquired or now_micro,
            "renewTime": now_micro,
        },
    }
