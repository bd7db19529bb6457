"""The ``kube`` library scripts get with ``local kube = require("kube")``, as in Karmada (pure).

Karmada's Lua VM offers three helpers, and so does Waybill, with the same names, arguments and
results:

- ``kube.resourceAdd(q1, q2, ...)``: the sum of resource quantities as a quantity string (nil
  arguments count as zero): ``kube.resourceAdd("1Gi", "512Mi") == "1536Mi"``.
- ``kube.accuratePodRequirements(podTemplate)``: what one replica needs, as a binding's
  ``replicaRequirements``: ``resourceRequest`` is the pod's effective request (the sum over
  containers, at least the largest init container, plus the pod overhead; a container's limits
  stand in for requests it does not set) and ``nodeClaim`` its ``nodeSelector``, ``tolerations``
  and required node affinity (``hardNodeAffinity``); nil when the template asks for nothing.
- ``kube.getPodDependencies(podTemplate, namespace)``: the ConfigMaps, Secrets, ServiceAccount and
  PersistentVolumeClaims the pod template refers to, as ``{apiVersion, kind, namespace, name}``
  references (namespace nil means ``default``).

Quantities are formatted as Kubernetes formats them (``1500m``, ``2``, ``128Mi``, ``1k``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from shared.api.quantity import BINARY_SUFFIXES, QuantityError, parse_quantity

_DECIMAL_STEPS = [("E", 18), ("P", 15), ("T", 12), ("G", 9), ("M", 6), ("k", 3), ("", 0), ("m", -3)]


def format_quantity(value: Decimal, *, binary: bool) -> str:
    """A quantity in the canonical form of its format (BinarySI or DecimalSI), as Go prints it."""
    if value == 0:
        return "0"
    if binary and value == value.to_integral_value() and abs(value) >= 1024:
        for suffix, factor in sorted(BINARY_SUFFIXES.items(), key=lambda item: -item[1]):
            if value % factor == 0:
                return f"{int(value / factor)}{suffix}"
    for suffix, exponent in _DECIMAL_STEPS:
        scaled = value / (Decimal(10) ** exponent)
        if scaled == scaled.to_integral_value():
            return f"{int(scaled)}{suffix}"
    millis = (value * 1000).to_integral_value(rounding="ROUND_CEILING")
    return f"{int(millis)}m"


def _is_binary(text: Any) -> bool:
    return isinstance(text, str) and text.strip()[-2:] in BINARY_SUFFIXES


def resource_add(*quantities: Any) -> str:
    """``kube.resourceAdd``: nil is zero; the result keeps the first operand's format."""
    total = Decimal(0)
    binary: bool | None = None
    for quantity in quantities:
        if quantity is None:
            continue
        if not isinstance(quantity, str):
            raise TypeError(f"resourceAdd: a quantity must be a string, got {type(quantity).__name__}")
        try:
            total += parse_quantity(quantity)
        except QuantityError as exc:
            raise ValueError(f"resourceAdd: {exc}") from None
        if binary is None:
            binary = _is_binary(quantity)
    return format_quantity(total, binary=bool(binary))


def _requests(container: Mapping[str, Any]) -> dict[str, Decimal]:
    """A container's requests, its limits standing in for requests it does not set."""
    resources = container.get("resources") or {}
    merged = dict(resources.get("limits") or {})
    merged.update(resources.get("requests") or {})
    out: dict[str, Decimal] = {}
    for name, quantity in merged.items():
        try:
            value = parse_quantity(quantity)
        except QuantityError as exc:
            raise ValueError(f"resources of container {container.get('name')!r}: {exc}") from None
        # CPU counts in whole millicores and everything else in whole units, rounded up as Kubernetes does.
        step = Decimal("0.001") if name == "cpu" else Decimal(1)
        out[str(name)] = (value / step).to_integral_value(rounding="ROUND_CEILING") * step
    return out


def _pod_spec(template: Any) -> Mapping[str, Any]:
    if not isinstance(template, Mapping):
        raise TypeError("expected a pod template (a table with spec)")
    spec = template.get("spec") or {}
    if not isinstance(spec, Mapping):
        raise TypeError("the pod template's spec is not a table")
    return spec


def pod_requests(spec: Mapping[str, Any]) -> dict[str, Decimal]:
    """The pod's effective request: max(sum of containers, each init container) plus overhead."""
    total: dict[str, Decimal] = {}
    for container in spec.get("containers") or []:
        for name, value in _requests(container).items():
            total[name] = total.get(name, Decimal(0)) + value
    for container in spec.get("initContainers") or []:
        for name, value in _requests(container).items():
            total[name] = max(total.get(name, Decimal(0)), value)
    for name, quantity in (spec.get("overhead") or {}).items():
        total[name] = total.get(name, Decimal(0)) + parse_quantity(quantity)
    return total


def _formatted(requests: Mapping[str, Decimal]) -> dict[str, str]:
    out = {}
    for name, value in sorted(requests.items()):
        if value == 0:
            continue
        binary = name in ("memory", "ephemeral-storage") or name.startswith("hugepages-")
        out[name] = format_quantity(value, binary=binary)
    return out


def accurate_pod_requirements(*args: Any) -> dict[str, Any] | None:
    """``kube.accuratePodRequirements(podTemplate)``: replica requirements, or nil if none."""
    if len(args) != 1:
        raise TypeError("accuratePodRequirements only accepts one argument")
    spec = _pod_spec(args[0])
    node_claim: dict[str, Any] = {}
    if spec.get("nodeSelector"):
        node_claim["nodeSelector"] = spec["nodeSelector"]
    if spec.get("tolerations"):
        node_claim["tolerations"] = spec["tolerations"]
    required = ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if required:
        node_claim["hardNodeAffinity"] = required
    requests = _formatted(pod_requests(spec))
    if not node_claim and not requests:
        return None
    out: dict[str, Any] = {}
    if node_claim:
        out["nodeClaim"] = node_claim
    if requests:
        out["resourceRequest"] = requests
    return out


def _containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from spec.get(key) or []


def _volume_refs(spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for volume in spec.get("volumes") or []:
        if (volume.get("configMap") or {}).get("name"):
            yield "ConfigMap", volume["configMap"]["name"]
        if (volume.get("secret") or {}).get("secretName"):
            yield "Secret", volume["secret"]["secretName"]
        if (volume.get("persistentVolumeClaim") or {}).get("claimName"):
            yield "PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]
        for source in (volume.get("projected") or {}).get("sources") or []:
            if (source.get("configMap") or {}).get("name"):
                yield "ConfigMap", source["configMap"]["name"]
            if (source.get("secret") or {}).get("name"):
                yield "Secret", source["secret"]["name"]
        for key in ("azureFile",):
            if (volume.get(key) or {}).get("secretName"):
                yield "Secret", volume[key]["secretName"]
        for key in ("cephfs", "cinder", "flexVolume", "rbd", "scaleIO", "iscsi", "storageos", "csi"):
            ref = (volume.get(key) or {}).get("secretRef") or (volume.get(key) or {}).get(
                "nodePublishSecretRef"
            )
            if isinstance(ref, Mapping) and ref.get("name"):
                yield "Secret", ref["name"]


def _env_refs(spec: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    for container in _containers(spec):
        for source in container.get("envFrom") or []:
            if (source.get("configMapRef") or {}).get("name"):
                yield "ConfigMap", source["configMapRef"]["name"]
            if (source.get("secretRef") or {}).get("name"):
                yield "Secret", source["secretRef"]["name"]
        for env in container.get("env") or []:
            value_from = env.get("valueFrom") or {}
            if (value_from.get("configMapKeyRef") or {}).get("name"):
                yield "ConfigMap", value_from["configMapKeyRef"]["name"]
            if (value_from.get("secretKeyRef") or {}).get("name"):
                yield "Secret", value_from["secretKeyRef"]["name"]


def pod_dependencies(spec: Mapping[str, Any], namespace: str) -> list[dict[str, str]]:
    """ConfigMaps, Secrets, the ServiceAccount and PVCs of a pod spec; each kind sorted by name."""
    found: dict[str, set[str]] = {"ConfigMap": set(), "Secret": set(), "ServiceAccount": set()}
    found["PersistentVolumeClaim"] = set()
    for kind, name in (*_volume_refs(spec), *_env_refs(spec)):
        found[kind].add(str(name))
    for secret in spec.get("imagePullSecrets") or []:
        if secret.get("name"):
            found["Secret"].add(str(secret["name"]))
    account = spec.get("serviceAccountName")
    if account and account != "default":
        found["ServiceAccount"].add(str(account))
    return [
        {"apiVersion": "v1", "kind": kind, "namespace": namespace, "name": name}
        for kind, names in found.items()
        for name in sorted(names)
    ]


def get_pod_dependencies(*args: Any) -> list[dict[str, str]]:
    """``kube.getPodDependencies(podTemplate, namespace)``."""
    if len(args) != 2:
        raise TypeError("getPodDependencies only accepts two argument")
    namespace = args[1]
    if namespace is None:
        namespace = "default"
    elif isinstance(namespace, int | float) and not isinstance(namespace, bool):
        namespace = str(namespace)
    elif not isinstance(namespace, str):
        raise TypeError("getPodDependencies: the namespace must be a string")
    return pod_dependencies(_pod_spec(args[0]), namespace)


FUNCTIONS = {
    "resourceAdd": resource_add,
    "accuratePodRequirements": accurate_pod_requirements,
    "getPodDependencies": get_pod_dependencies,
}
