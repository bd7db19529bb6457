"""Custom resource definitions that tests install on kubesim (one copy, shared by the suites)."""

from __future__ import annotations

from typing import Any

WIDGET_API = "example.com/v1"

#: A namespaced ``Widget`` CRD with a status subresource and an open schema: the custom kind the
#: interpreter tests (agent, hub and end to end) give health, replicas and status scripts to.
WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}
