"""hub.activation: Lazy policies keep the rules a template was placed with until the template changes."""

from __future__ import annotations

from typing import Any

from hub import activation

OLD = {"activationPreference": "Lazy", "placement": {"clusterAffinity": {"clusterNames": ["m1"]}}}
NEW = {"activationPreference": "Lazy", "placement": {"clusterAffinity": {"clusterNames": ["m2"]}}}


def bound(spec: dict[str, Any], content: str) -> dict[str, Any]:
    _, annotations = activation.effective_spec(spec=spec, binding=None, held=False, content=content)
    return {"metadata": {"annotations": annotations}}


def test_first_placement_records_the_spec() -> None:
    spec, annotations = activation.effective_spec(spec=OLD, binding=None, held=False, content="c1")
    assert spec == OLD
    assert set(annotations) == {activation.ANNOTATION_SPEC, activation.ANNOTATION_CONTENT}


def test_policy_edit_waits_for_the_template() -> None:
    binding = bound(OLD, "c1")
    spec, annotations = activation.effective_spec(spec=NEW, binding=binding, held=True, content="c1")
    assert spec == OLD and annotations == {}
    spec, annotations = activation.effective_spec(spec=NEW, binding=binding, held=True, content="c2")
    assert spec == NEW and annotations[activation.ANNOTATION_CONTENT] == "c2"


def test_another_holder_or_a_non_lazy_policy_uses_the_current_spec() -> None:
    binding = bound(OLD, "c1")
    assert activation.effective_spec(spec=NEW, binding=binding, held=False, content="c1")[0] == NEW
    eager = {"placement": {}}
    spec, annotations = activation.effective_spec(spec=eager, binding=binding, held=True, content="c1")
    assert spec == eager
    assert annotations == {activation.ANNOTATION_SPEC: None, activation.ANNOTATION_CONTENT: None}
    assert activation.effective_spec(spec=eager, binding=None, held=False, content="c1")[1] == {}


def test_unreadable_annotations_are_ignored() -> None:
    binding = {
        "metadata": {
            "annotations": {activation.ANNOTATION_SPEC: "{nope", activation.ANNOTATION_CONTENT: "c1"}
        }
    }
    assert activation.effective_spec(spec=NEW, binding=binding, held=True, content="c1")[0] == NEW
