"""Built-in retention (``Retain``): values a member's own controllers set that Waybill keeps (pure).

When the desired object leaves them out, these come from the observed object on the member (the
core of Karmada's built-in retention; Karmada keeps a few more Pod fields): a Service's
``clusterIP``/``clusterIPs``, ``healthCheckNodePort`` and each port's ``nodePort``; a
ServiceAccount's ``secrets``; a PVC's ``volumeName``; a PV's ``claimRef``; a Pod's ``nodeName``; a
Job's ``selector`` and the pod template labels the Job controller adds. Other kinds: no rule
(None), the desired object is applied as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from shared.interpreter.rules import KindKey, Obj, deep_copy, section


def _keep(desired: Obj, observed: Mapping[str, Any], path: tuple[str, ...]) -> None:
    source: Any = observed
    for part in path:
        source = source.get(part) if isinstance(source, Mapping) else None
    if source is None:
        return
    target = desired
    for part in path[:-1]:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            return
    target.setdefault(path[-1], deep_copy({"v": source})["v"])


def _service(desired: Obj, observed: Mapping[str, Any]) -> None:
    for field in ("clusterIP", "clusterIPs", "healthCheckNodePort"):
        _keep(desired, observed, ("spec", field))
    observed_ports = {
        (p.get("port"), p.get("protocol") or "TCP"): p.get("nodePort")
        for p in section(observed, "spec").get("ports") or []
    }
    for port in section(desired, "spec").get("ports") or []:
        node_port = observed_ports.get((port.get("port"), port.get("protocol") or "TCP"))
        if node_port is not None and "nodePort" not in port:
            port["nodePort"] = node_port


_JOB_LABELS = (
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "batch.kubernetes.io/job-name",
)


def _job(desired: Obj, observed: Mapping[str, Any]) -> None:
    _keep(desired, observed, ("spec", "selector"))
    labels = section(observed, "spec", "template", "metadata", "labels")
    for label in _JOB_LABELS:
        if label in labels:
            _keep(desired, observed, ("spec", "template", "metadata", "labels", label))


RULES: dict[KindKey, Callable[[Obj, Mapping[str, Any]], None]] = {
    KindKey("", "Service"): _service,
    KindKey("", "ServiceAccount"): lambda d, o: _keep(d, o, ("secrets",)),
    KindKey("", "PersistentVolumeClaim"): lambda d, o: _keep(d, o, ("spec", "volumeName")),
    KindKey("", "PersistentVolume"): lambda d, o: _keep(d, o, ("spec", "claimRef")),
    KindKey("", "Pod"): lambda d, o: _keep(d, o, ("spec", "nodeName")),
    KindKey("batch", "Job"): _job,
}


def retain(desired: Mapping[str, Any], observed: Mapping[str, Any]) -> Obj | None:
    rule = RULES.get(KindKey.of(desired))
    if rule is None:
        return None
    out = deep_copy(desired)
    rule(out, observed)
    return out
