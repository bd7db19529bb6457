"""hub.work_index: which Work carries a template, and which templates' state changed."""

from __future__ import annotations

import copy
from typing import Any

from hub.matching import TemplateRef
from hub.work_index import WorkIndex
from tests.hub.helpers import configmap, deployment

WEB = TemplateRef("apps/v1", "Deployment", "default", "web")
CFG = TemplateRef("v1", "ConfigMap", "default", "cfg")


def work(*manifests: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "w", "namespace": "member-a", "generation": 1},
        "spec": {"workload": {"manifests": list(manifests)}},
    }


def test_index_tracks_carrying_and_changes() -> None:
    index = WorkIndex()
    first = work(deployment(), configmap())
    assert index.update("member-a/w", first) == [CFG, WEB]
    assert index.carrying(WEB, "member-a") == "member-a/w"
    assert index.carrying(WEB, "member-b") is None
    assert index.update("member-a/w", copy.deepcopy(first)) == []
    with_status = copy.deepcopy(first)
    with_status["status"] = {
        "manifestConditions": [
            {
                "identifier": {"group": "", "kind": "ConfigMap", "namespace": "default", "name": "cfg"},
                "conditions": [{"type": "Applied", "status": "True"}],
            }
        ]
    }
    assert index.update("member-a/w", with_status) == [CFG]
    assert index.update("member-a/w", work(deployment())) == [CFG]
    assert index.carrying(CFG, "member-a") is None
    assert index.update("member-a/w", None) == [WEB]
    assert index.carrying(WEB, "member-a") is None
