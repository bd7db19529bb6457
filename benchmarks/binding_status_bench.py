"""How big one binding's ``status.schedulingDecision`` is, before and after bounding its rejections.

The fleet of ``scale_bench.py --scenarios fleet``: N members labelled ``slot=<index mod 10>``, a
policy placing a ConfigMap on the members of one slot (N/10 chosen, 9N/10 left out with
``LabelSelectorMismatch``), and 1 % of the members tainted ``gpu:NoSchedule`` (a second reason).
The decision is the scheduler's (``hub.scheduling.schedule``) and its status the controller's
(``hub.controller_scheduling.decision_status``); "before" is the same status with ``rejected``
listing every member left out (what the hub wrote before). Printed per status: JSON bytes, the
heap its decoded form holds (tracemalloc over ``json.loads``: what the hub's binding informer
keeps per binding), and the CPU time of one decode; then what 1,000 bindings take.

    python benchmarks/binding_status_bench.py [MEMBERS ...]   (default 50 1000 5000)
"""

from __future__ import annotations

import gc
import json
import sys
import time
import tracemalloc
from typing import Any

from hub import scheduling
from hub.clusters import ClusterView, Taint
from hub.controller_scheduling import decision_status
from shared.api.policy import Placement

BINDINGS = 1000


def fleet(members: int) -> list[ClusterView]:
    return [
        ClusterView(
            f"member-{index:05d}",
            labels={"slot": str(index % 10)},
            ready="True",
            taints=(Taint(key="gpu", value="", effect="NoSchedule"),) if index % 100 == 3 else (),
        )
        for index in range(members)
    ]


def statuses(members: int) -> tuple[dict[str, Any], dict[str, Any]]:
    template = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "bench"}}
    placement = Placement.model_validate(
        {"clusterAffinity": {"labelSelector": {"matchLabels": {"slot": "3"}}}}
    )
    decision = scheduling.schedule(placement=placement, template=template, clusters=fleet(members))
    after = decision_status(decision, generation=1)
    before = {k: v for k, v in after.items() if k not in ("rejectedByReason", "rejectedTotal")}
    before["rejected"] = [r.to_dict() for r in decision.rejections]
    return before, after


def heap(text: str, copies: int = 20) -> tuple[int, float]:
    """Net heap per decoded copy, and CPU seconds per decode."""
    gc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    kept = [json.loads(text) for _ in range(copies)]
    used = tracemalloc.get_traced_memory()[0] - start
    tracemalloc.stop()
    del kept
    cpu = time.process_time()
    for _ in range(copies):
        json.loads(text)
    return used // copies, (time.process_time() - cpu) / copies


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [50, 1000, 5000]
    print(
        f"{'members':>8} {'shape':>7} {'rejected':>9} {'JSON bytes':>11} {'heap bytes':>11} {'decode ms':>10}"
        f" {'x1,000 bindings (heap)':>23}"
    )
    for members in sizes:
        before, after = statuses(members)
        for shape, status in (("before", before), ("after", after)):
            text = json.dumps(status)
            used, cpu = heap(text)
            print(
                f"{members:>8} {shape:>7} {len(status['rejected']):>9} {len(text):>11,} {used:>11,}"
                f" {cpu * 1000:>10.3f} {used * BINDINGS / 2**20:>19.1f} MiB"
            )
        groups = ", ".join(f"{g['reason']}={g['count']}" for g in after["rejectedByReason"])
        print(f"{'':>8} after: rejectedTotal={after['rejectedTotal']} ({groups})")


if __name__ == "__main__":
    main(sys.argv[1:])
