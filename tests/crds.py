"""Custom resource definitions that tests install on kubesim (one copy, shared by the suites)."""

from __future__ import annotations

from typing import Any

WIDGET_API = "example.com/v1"

OPEN_SCHEMA: dict[str, Any] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def widget_crd(*, status: bool = True, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A namespaced ``Widget`` CRD (``example.com/v1``), with a status subresource unless
    ``status=False``, and an open schema unless one is given."""
    version: dict[str, Any] = {
        "name": "v1",
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": schema if schema is not None else OPEN_SCHEMA},
    }
    if status:
        version["subresources"] = {"status": {}}
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [version],
        },
    }


#: The one the interpreter tests (agent, hub and end to end) give health, replicas and status
#: scripts to: a status subresource and an open schema.
WIDGET_CRD: dict[str, Any] = widget_crd()
