"""Server-side printing: objects as ``meta.k8s.io/v1`` Tables for ``kubectl get``.

Column sets mirror kube-apiserver's printers for the kinds people look at (pods, deployments,
namespaces, nodes, services, ...); CRDs use their ``additionalPrinterColumns`` (JSONPath);
everything else gets Name and Age. Ages are rendered server-side like ``duration.HumanDuration``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from kubesim import jsonpath, scale
from kubesim.registry import ResourceType

Obj = dict[str, Any]
Cell = Callable[[Obj], Any]

_NAME_DESC = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name automatically."
)
_AGE_DESC = "CreationTimestamp is a timestamp representing the server time when this object was created."


def human_duration(seconds: float) -> str:
    s = int(seconds)
    if seconds < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return f"{hours // 24 // 365}y{(hours // 24) % 365}d"
    return f"{hours // 24 // 365}y"


def age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    try:
        when = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except ValueError:
        return "<invalid>"
    return human_duration((datetime.datetime.now(datetime.UTC) - when).total_seconds())


def _get(obj: Obj, *path: str, default: Any = None) -> Any:
    cur: Any = obj
    for p in path:
        if not isinstance(cur, dict):
            return default
        cur = cur.get(p)
    return default if cur is None else cur


def _ready_pods(o: Obj) -> str:
    statuses = _get(o, "status", "containerStatuses", default=[])
    total = len(_get(o, "spec", "containers", default=[]))
    return f"{sum(1 for c in statuses if c.get('ready'))}/{total}"


def _node_status(o: Obj) -> str:
    for c in _get(o, "status", "conditions", default=[]):
        if c.get("type") == "Ready":
            status = "Ready" if c.get("status") == "True" else "NotReady"
            return status + (",SchedulingDisabled" if _get(o, "spec", "unschedulable") else "")
    return "Unknown"


def _node_roles(o: Obj) -> str:
    roles = sorted(
        k.split("/", 1)[1]
        for k in (_get(o, "metadata", "labels", default={}))
        if k.startswith("node-role.kubernetes.io/")
    )
    return ",".join(roles) or "<none>"


def _ports(o: Obj) -> str:
    ports = _get(o, "spec", "ports", default=[])
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _job_status(o: Obj) -> str:
    for c in _get(o, "status", "conditions", default=[]):
        if c.get("status") == "True" and c.get("type") in ("Complete", "Failed", "Suspended"):
            return str(c["type"])
    return "Running"


def _col(name: str, kind: str = "string", fmt: str = "", priority: int = 0) -> Obj:
    return {"name": name, "type": kind, "format": fmt, "description": name, "priority": priority}


def _n(name: str) -> Cell:
    return lambda o: _get(o, *name.split("."), default=0)


_COLUMNS: dict[tuple[str, str], list[tuple[Obj, Cell]]] = {
    ("", "pods"): [
        (_col("Ready"), _ready_pods),
        (_col("Status"), lambda o: _get(o, "status", "reason") or _get(o, "status", "phase", default="")),
        (
            _col("Restarts", "string"),
            lambda o: str(
                sum(c.get("restartCount", 0) for c in _get(o, "status", "containerStatuses", default=[]))
            ),
        ),
        (_col("IP", priority=1), lambda o: _get(o, "status", "podIP", default="<none>")),
        (_col("Node", priority=1), lambda o: _get(o, "spec", "nodeName", default="<none>")),
    ],
    ("apps", "deployments"): [
        (
            _col("Ready"),
            lambda o: (
                f"{_get(o, 'status', 'readyReplicas', default=0)}/{_get(o, 'spec', 'replicas', default=1)}"
            ),
        ),
        (_col("Up-to-date", "integer"), _n("status.updatedReplicas")),
        (_col("Available", "integer"), _n("status.availableReplicas")),
    ],
    ("apps", "statefulsets"): [
        (
            _col("Ready"),
            lambda o: (
                f"{_get(o, 'status', 'readyReplicas', default=0)}/{_get(o, 'spec', 'replicas', default=1)}"
            ),
        ),
    ],
    ("apps", "replicasets"): [
        (_col("Desired", "integer"), lambda o: _get(o, "spec", "replicas", default=1)),
        (_col("Current", "integer"), _n("status.replicas")),
        (_col("Ready", "integer"), _n("status.readyReplicas")),
    ],
    ("apps", "daemonsets"): [
        (_col("Desired", "integer"), _n("status.desiredNumberScheduled")),
        (_col("Current", "integer"), _n("status.currentNumberScheduled")),
        (_col("Ready", "integer"), _n("status.numberReady")),
        (_col("Up-to-date", "integer"), _n("status.updatedNumberScheduled")),
        (_col("Available", "integer"), _n("status.numberAvailable")),
    ],
    ("batch", "jobs"): [
        (_col("Status"), _job_status),
        (
            _col("Completions"),
            lambda o: (
                f"{_get(o, 'status', 'succeeded', default=0)}/{_get(o, 'spec', 'completions', default=1)}"
            ),
        ),
    ],
    ("batch", "cronjobs"): [
        (_col("Schedule"), lambda o: _get(o, "spec", "schedule", default="")),
        (_col("Suspend", "boolean"), lambda o: bool(_get(o, "spec", "suspend", default=False))),
        (_col("Active", "integer"), lambda o: len(_get(o, "status", "active", default=[]))),
    ],
    ("", "namespaces"): [(_col("Status"), lambda o: _get(o, "status", "phase", default="Active"))],
    ("", "nodes"): [
        (_col("Status"), _node_status),
        (_col("Roles"), _node_roles),
        (_col("Version"), lambda o: _get(o, "status", "nodeInfo", "kubeletVersion", default="")),
    ],
    ("", "configmaps"): [
        (_col("Data", "integer"), lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))
    ],
    ("", "secrets"): [
        (_col("Type"), lambda o: o.get("type", "Opaque")),
        (_col("Data", "integer"), lambda o: len(o.get("data") or {})),
    ],
    ("", "services"): [
        (_col("Type"), lambda o: _get(o, "spec", "type", default="ClusterIP")),
        (_col("Cluster-IP"), lambda o: _get(o, "spec", "clusterIP", default="<none>")),
        (_col("External-IP"), lambda o: "<none>"),
        (_col("Port(s)"), _ports),
    ],
    ("", "serviceaccounts"): [(_col("Secrets", "integer"), lambda o: len(o.get("secrets") or []))],
    ("", "persistentvolumeclaims"): [
        (_col("Status"), lambda o: _get(o, "status", "phase", default="Pending")),
        (_col("Volume"), lambda o: _get(o, "spec", "volumeName", default="")),
        (_col("Capacity"), lambda o: _get(o, "status", "capacity", "storage", default="")),
        (
            _col("Access Modes"),
            lambda o: ",".join(
                {
                    "ReadWriteOnce": "RWO",
                    "ReadOnlyMany": "ROX",
                    "ReadWriteMany": "RWX",
                    "ReadWriteOncePod": "RWOP",
                }.get(m, m)
                for m in _get(o, "status", "accessModes", default=[])
            ),
        ),
        (_col("StorageClass"), lambda o: _get(o, "spec", "storageClassName", default="<unset>")),
    ],
    ("rbac.authorization.k8s.io", "rolebindings"): [
        (
            _col("Role"),
            lambda o: f"{_get(o, 'roleRef', 'kind', default='')}/{_get(o, 'roleRef', 'name', default='')}",
        ),
    ],
    ("rbac.authorization.k8s.io", "clusterrolebindings"): [
        (
            _col("Role"),
            lambda o: f"{_get(o, 'roleRef', 'kind', default='')}/{_get(o, 'roleRef', 'name', default='')}",
        ),
    ],
    ("policy", "poddisruptionbudgets"): [
        (_col("Min Available"), lambda o: str(_get(o, "spec", "minAvailable", default="N/A"))),
        (_col("Max Unavailable"), lambda o: str(_get(o, "spec", "maxUnavailable", default="N/A"))),
        (_col("Allowed Disruptions", "integer"), _n("status.disruptionsAllowed")),
    ],
    ("networking.k8s.io", "ingresses"): [
        (_col("Class"), lambda o: _get(o, "spec", "ingressClassName", default="<none>")),
        (
            _col("Hosts"),
            lambda o: ",".join(r.get("host", "*") for r in _get(o, "spec", "rules", default=[])) or "*",
        ),
        (
            _col("Address"),
            lambda o: ",".join(
                i.get("ip") or i.get("hostname", "")
                for i in _get(o, "status", "loadBalancer", "ingress", default=[])
            ),
        ),
        (_col("Ports"), lambda o: "80, 443" if _get(o, "spec", "tls") else "80"),
    ],
    ("storage.k8s.io", "storageclasses"): [
        (_col("Provisioner"), lambda o: o.get("provisioner", "")),
        (_col("ReclaimPolicy"), lambda o: o.get("reclaimPolicy", "Delete")),
        (_col("VolumeBindingMode"), lambda o: o.get("volumeBindingMode", "Immediate")),
    ],
    ("coordination.k8s.io", "leases"): [
        (_col("Holder"), lambda o: _get(o, "spec", "holderIdentity", default="")),
    ],
}


def _containers(o: Obj) -> list[Obj]:
    return list(_get(o, "spec", "template", "spec", "containers", default=[]))


_WIDE_WORKLOAD: list[tuple[Obj, Cell]] = [
    (_col("Containers", priority=1), lambda o: ",".join(c.get("name", "") for c in _containers(o))),
    (_col("Images", priority=1), lambda o: ",".join(c.get("image", "") for c in _containers(o))),
    (_col("Selector", priority=1), lambda o: _selector_text(_get(o, "spec", "selector"))),
]
for _key in (
    ("apps", "deployments"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("apps", "replicasets"),
    ("batch", "jobs"),
):
    _COLUMNS[_key] = _COLUMNS.get(_key, []) + _WIDE_WORKLOAD


def _selector_text(selector: Any) -> str:
    return scale.selector_string(selector) or "<none>"


def _crd_columns(rtype: ResourceType) -> list[tuple[Obj, Cell]]:
    out: list[tuple[Obj, Cell]] = []
    for col in rtype.printer_columns:
        path = col.get("jsonPath", "")
        kind = col.get("type", "string")

        def cell(o: Obj, path: str = path, kind: str = kind) -> Any:
            got = jsonpath.evaluate(path, o)
            if not got:
                return None
            value = got[0]
            if kind == "date" and isinstance(value, str):
                return age(value)
            if isinstance(value, dict | list):
                import json

                return json.dumps(value, separators=(",", ":"))
            return value

        definition = {
            "name": col.get("name", ""),
            "type": kind,
            "format": col.get("format", ""),
            "description": col.get("description", ""),
            "priority": col.get("priority", 0),
        }
        out.append((definition, cell))
    return out


def _event_last_seen(o: Obj) -> str:
    series = o.get("series") or {}
    when = (
        o.get("lastTimestamp")
        or series.get("lastObservedTime")
        or o.get("eventTime")
        or o["metadata"].get("creationTimestamp")
    )
    return age(str(when)[:19] + "Z" if when else None)


def _event_object(o: Obj) -> str:
    ref = o.get("involvedObject") or o.get("regarding") or {}
    kind = str(ref.get("kind", "")).lower()
    return f"{kind}/{ref.get('name', '')}" if kind else str(ref.get("name", ""))


def _event_columns(name: tuple[Obj, Cell]) -> list[tuple[Obj, Cell]]:
    """kube-apiserver's event printer: Last Seen, Type, Reason, Object, Message (Name only wide)."""
    wide_name = ({**name[0], "priority": 1}, name[1])
    return [
        (_col("Last Seen"), _event_last_seen),
        (_col("Type"), lambda o: o.get("type", "")),
        (_col("Reason"), lambda o: o.get("reason", "")),
        (_col("Object"), _event_object),
        (_col("Message"), lambda o: str(o.get("message") or o.get("note") or "").strip()),
        wide_name,
    ]


def columns_for(rtype: ResourceType) -> list[tuple[Obj, Cell]]:
    name: tuple[Obj, Cell] = (
        {"name": "Name", "type": "string", "format": "name", "description": _NAME_DESC, "priority": 0},
        lambda o: o["metadata"]["name"],
    )
    age_col: tuple[Obj, Cell] = (
        {"name": "Age", "type": "string", "format": "", "description": _AGE_DESC, "priority": 0},
        lambda o: age(o["metadata"].get("creationTimestamp")),
    )
    if rtype.crd:
        if rtype.printer_columns:
            return [name, *_crd_columns(rtype)]
        return [
            name,
            (
                {"name": "Age", "type": "date", "format": "", "description": _AGE_DESC, "priority": 0},
                lambda o: age(o["metadata"].get("creationTimestamp")),
            ),
        ]
    if rtype.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
        return [
            name,
            (
                {"name": "Created At", "type": "date", "format": "", "description": _AGE_DESC, "priority": 0},
                lambda o: o["metadata"].get("creationTimestamp"),
            ),
        ]
    if rtype.key in (("", "events"), ("events.k8s.io", "events")):
        return _event_columns(name)
    extra = _COLUMNS.get(rtype.key, [])
    main = [c for c in extra if c[0]["priority"] == 0]
    wide = [c for c in extra if c[0]["priority"] != 0]
    return [name, *main, age_col, *wide]


def row(rtype: ResourceType, obj: Obj, *, include: str, cols: list[tuple[Obj, Cell]]) -> Obj:
    out: Obj = {"cells": [fn(obj) for _, fn in cols]}
    if include == "Object":
        out["object"] = obj
    elif include != "None":
        out["object"] = {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"],
        }
    return out


def table(
    rtype: ResourceType,
    objs: list[Obj],
    *,
    rv: str,
    include: str = "Metadata",
    cont: str = "",
    remaining: int | None = None,
) -> Obj:
    cols = columns_for(rtype)
    md: Obj = {"resourceVersion": rv}
    if cont:
        md["continue"] = cont
    if remaining:
        md["remainingItemCount"] = remaining
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": md,
        "columnDefinitions": [c for c, _ in cols],
        "rows": [row(rtype, o, include=include, cols=cols) for o in objs],
    }
