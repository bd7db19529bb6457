"""hub.preemption: a claimed template stays with its policy unless one with preemption Always may take it."""

from __future__ import annotations

from typing import Any

import pytest

from hub import matching, preemption

TEMPLATE = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
}


def pol(
    name: str,
    *,
    kind: str = "PropagationPolicy",
    priority: int = 0,
    preempt: str | None = None,
    selector_name: str | None = "web",
) -> dict[str, Any]:
    selector: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "Deployment"}
    if selector_name:
        selector["name"] = selector_name
    spec: dict[str, Any] = {"resourceSelectors": [selector], "priority": priority}
    if preempt:
        spec["preemption"] = preempt
    meta = {"name": name, **({"namespace": "default"} if kind == "PropagationPolicy" else {})}
    return {"apiVersion": "policy.waybill.dev/v1alpha1", "kind": kind, "metadata": meta, "spec": spec}


CPP = "ClusterPropagationPolicy"
CASES = [
    # (id, holder, challenger, who ends up with the template)
    ("Never (default): a higher priority does not take over", pol("old"), pol("new", priority=10), "old"),
    ("explicit Never", pol("old"), pol("new", priority=10, preempt="Never"), "old"),
    ("Always with higher priority takes over", pol("old"), pol("new", priority=10, preempt="Always"), "new"),
    ("Always with equal priority does not", pol("old"), pol("new", preempt="Always"), "old"),
    ("PP Always preempts any CPP", pol("old", kind=CPP, priority=100), pol("new", preempt="Always"), "new"),
    ("PP without Always does not preempt a CPP", pol("old", kind=CPP), pol("new", priority=5), "old"),
    ("CPP never preempts a PP", pol("old"), pol("new", kind=CPP, priority=100, preempt="Always"), "old"),
    (
        "CPP Always preempts a lower CPP",
        pol("old", kind=CPP),
        pol("new", kind=CPP, priority=1, preempt="Always"),
        "new",
    ),
]


@pytest.mark.parametrize(
    ("holder", "challenger", "winner"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_preemption_rules(holder: dict[str, Any], challenger: dict[str, Any], winner: str) -> None:
    held = matching.PolicyRef.of(holder)
    chosen = preemption.choose_policy(TEMPLATE, [holder, challenger], holder=held)
    assert chosen is not None and chosen.name == winner


def test_unclaimed_template_goes_to_the_best_ranked() -> None:
    chosen = preemption.choose_policy(TEMPLATE, [pol("low"), pol("high", priority=3)], holder=None)
    assert chosen is not None and chosen.name == "high"


def test_holder_that_no_longer_selects_the_template_lets_it_go() -> None:
    holder = pol("old", selector_name="other")
    chosen = preemption.choose_policy(TEMPLATE, [holder, pol("new")], holder=matching.PolicyRef.of(holder))
    assert chosen is not None and chosen.name == "new"


def test_holder_being_deleted_lets_it_go() -> None:
    holder = pol("old")
    holder["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    chosen = preemption.choose_policy(TEMPLATE, [holder, pol("new")], holder=matching.PolicyRef.of(holder))
    assert chosen is not None and chosen.name == "new"


def test_best_of_several_preemptors() -> None:
    chosen = preemption.choose_policy(
        TEMPLATE,
        [
            pol("old"),
            pol("a", priority=5, preempt="Always"),
            pol("b", priority=7, preempt="Always"),
            pol("c", priority=9),
        ],
        holder=matching.PolicyRef(kind="PropagationPolicy", namespace="default", name="old"),
    )
    assert chosen is not None and chosen.name == "b"
