"""``waybill status KIND/NAME [-n NS]``: where a template went, per cluster, and how it is doing."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hub import conditions as hub_conditions
from hub import drift_status
from shared.api import names
from shared.kube.client import KubeClient
from waybill import connect, describing, kinds, output, presence_text, templates
from waybill.connect import add_kubeconfig, run_async
from waybill.output import table


def render(binding: dict[str, Any]) -> str:
    spec, status = binding.get("spec") or {}, binding.get("status") or {}
    resource, policy = spec.get("resource") or {}, spec.get("policy") or {}
    where = f"{resource.get('namespace')}/" if resource.get("namespace") else ""
    policy_where = f"{policy.get('namespace')}/" if policy.get("namespace") else ""
    lines = [
        f"Template:  {resource.get('kind')} {where}{resource.get('name')}",
        f"Policy:    {policy.get('kind')} {policy_where}{policy.get('name')}",
    ]
    if spec.get("replicas") is not None:
        lines.append(f"Replicas:  {spec['replicas']}")
    for kind in (names.CONDITION_SCHEDULED, names.CONDITION_APPLIED, names.CONDITION_AVAILABLE, "Rendered"):
        found = hub_conditions.find(status.get("conditions"), kind)
        if found:
            label = f"{kind}:"
            text = f"{label:<11}{found.get('status')} ({found.get('reason')}) {found.get('message', '')}"
            lines.append(text.rstrip())
    wanted = {c["name"]: c.get("replicas") for c in spec.get("clusters") or []}
    items = {i["clusterName"]: i for i in status.get("aggregatedStatus") or []}
    rows = []
    for cluster in sorted(wanted):
        item = items.get(cluster, {})
        feedback = item.get("status") or {}
        ready = feedback.get("ReadyReplicas", feedback.get("NumberReady"))
        rows.append(
            [
                cluster,
                presence_text.replicas_cell(wanted[cluster], item),
                "-" if ready is None else ready,
                presence_text.applied_cell(item),
                presence_text.available_cell(item),
                _drift_cell(item),
                "; ".join(item.get("errors") or []) or "-",
            ]
        )
    lines.append("")
    lines.append(
        table(("CLUSTER", "REPLICAS", "READY", "APPLIED", "AVAILABLE", "DRIFT", "ERRORS"), rows)
        if rows
        else "Not placed on any cluster."
    )
    drifts = [(c, items[c]["lastDrift"]) for c in sorted(wanted) if (items.get(c) or {}).get("lastDrift")]
    if drifts:
        lines.append("")
        lines.append("Last drift:")
        lines.extend(f"  {drift_status.describe(cluster, drift)}" for cluster, drift in drifts)
    decision = status.get("schedulingDecision") or {}
    rejected = decision.get("rejected") or []
    if rejected:
        lines.append("")
        lines.append("Left out:")
        lines.extend(f"  {r['cluster']}: {r['reason']} ({r.get('message', '')})" for r in rejected)
        lines.extend(describing.rejected_lines(decision))  # when more were left out than listed
    return "\n".join(lines)


def _drift_cell(item: dict[str, Any]) -> str:
    """DRIFT: ``no``; ``corrected`` (an edit on the member was undone); ``yes`` (the member keeps it)."""
    drift = item.get("lastDrift")
    if drift:
        return "corrected" if drift.get("corrected") else "yes"
    return "yes" if item.get("drifted") else "no"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="where a template went and how it is doing",
        description="Per-cluster placement and status of one template (KIND as kubectl accepts it: "
        "deploy, deployment, deployments.apps, ...).",
    )
    parser.add_argument("target", metavar="KIND/NAME")
    parser.add_argument(
        "-n", "--namespace", help="the template's namespace (default: the context's, else default)"
    )
    output.add_output(parser, table=False)
    add_kubeconfig(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    word, name = kinds.parse_target(args.target)
    fmt = output.check_format(args.output, table=False)
    loaded = connect.load(args)
    namespace = args.namespace or loaded.namespace or "default"

    async def main(hub_api: KubeClient) -> int:
        info = await templates.resolve_kind(hub_api, word)
        binding = await templates.find_binding(hub_api, info=info, name=name, namespace=namespace)
        if binding is None:
            where = f" in namespace {namespace}" if info.namespaced else ""
            print(
                f"error: no binding for {info.kind} {name}{where} "
                "(is it claimed by a propagation policy? `waybill get policies`)",
                file=sys.stderr,
            )
            return 1
        output.emit(
            render(binding) if fmt is None else output.render_document(fmt, [binding], single=True), fmt
        )
        return 0

    return run_async(main, loaded)
