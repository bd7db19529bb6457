"""hub.views: typed Work views, and which templates' state changed between two Work versions."""

from __future__ import annotations

import copy
from typing import Any

from hub.matching import TemplateId, TemplateRef
from hub.views import WorkView, changed_templates, manifest_identity
from tests.hub.helpers import configmap, deployment

WEB = TemplateRef("apps/v1", "Deployment", "default", "web")
CFG = TemplateRef("v1", "ConfigMap", "default", "cfg")


def work(*manifests: dict[str, Any]) -> WorkView:
    return WorkView.of(
        {
            "metadata": {"name": "w", "namespace": "member-a", "generation": 1},
            "spec": {"workload": {"manifests": list(manifests)}},
        }
    )


def test_changed_templates_between_versions() -> None:
    first = work(deployment(), configmap())
    assert changed_templates(None, first) == [CFG.identity, WEB.identity]
    assert changed_templates(first, WorkView.of(copy.deepcopy(first.obj))) == []
    with_status = copy.deepcopy(dict(first.obj))
    with_status["status"] = {
        "manifestConditions": [
            {
                "identifier": {"group": "", "kind": "ConfigMap", "namespace": "default", "name": "cfg"},
                "conditions": [{"type": "Applied", "status": "True"}],
            }
        ]
    }
    assert changed_templates(first, WorkView.of(with_status)) == [CFG.identity]
    assert changed_templates(WorkView.of(with_status), work(deployment())) == [CFG.identity]
    assert changed_templates(work(deployment()), None) == [WEB.identity]


def test_identity_includes_the_group_not_the_version() -> None:
    a = TemplateRef("cert-manager.io/v1", "Certificate", "shop", "web")
    b = TemplateRef("example.com/v1", "Certificate", "shop", "web")
    a_beta = TemplateRef("cert-manager.io/v1beta1", "Certificate", "shop", "web")
    assert a.identity != b.identity
    assert a.identity == a_beta.identity
    assert str(a.identity) == "Certificate.cert-manager.io/shop/web"
    identifier = {"group": "example.com", "kind": "Certificate", "namespace": "shop", "name": "web"}
    assert manifest_identity(identifier) == b.identity
    assert TemplateId("", "ConfigMap", "", "x").__str__() == "ConfigMap/x"
