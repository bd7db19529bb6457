"""Builders of plain objects for the hub's table tests."""

from __future__ import annotations

from typing import Any


def deployment(
    name: str = "web",
    *,
    namespace: str = "default",
    replicas: int | None = 3,
    labels: dict[str, str] | None = None,
    cpu: str | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app", "image": "nginx:1.25"}
    if cpu:
        container["resources"] = {"requests": {"cpu": cpu}}
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [container]}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "spec": spec,
    }


def configmap(
    name: str = "cfg", *, namespace: str = "default", labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
        "data": {"k": "v"},
    }


def policy(
    name: str,
    *,
    namespace: str | None = "default",
    selectors: list[dict[str, Any]],
    priority: int | None = None,
    placement: dict[str, Any] | None = None,
) -> dict[str, Any]:
    kind = "PropagationPolicy" if namespace else "ClusterPropagationPolicy"
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    spec: dict[str, Any] = {"resourceSelectors": selectors, "placement": placement or {}}
    if priority is not None:
        spec["priority"] = priority
    return {"apiVersion": "policy.waybill.dev/v1alpha1", "kind": kind, "metadata": meta, "spec": spec}
