"""``waybill status KIND/NAME [-n NS]``: where a template went, per cluster, and how it is doing."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from hub import conditions as hub_conditions
from shared.api import names
from shared.kube.client import KubeClient
from waybill.cli import UsageError
from waybill.cmd_get import add_kubeconfig, kubeconfig_path, run_async, table


def parse_target(text: str) -> tuple[str, str]:
    kind, sep, name = text.partition("/")
    if not sep or not kind or not name:
        raise UsageError(f"{text!r} is not KIND/NAME (e.g. deployment/web)")
    return kind.split(".")[0].lower(), name


def _kind_matches(wanted: str, kind: str) -> bool:
    kind = kind.lower()
    return wanted in (kind, f"{kind}s", f"{kind}es") or (kind.endswith("y") and wanted == f"{kind[:-1]}ies")


async def find_binding(hub_api: KubeClient, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
    candidates = (
        await hub_api.list(names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, namespace=namespace)
    ).items
    candidates += (await hub_api.list(names.WORK_API_VERSION, names.KIND_CLUSTER_RESOURCE_BINDING)).items
    for binding in candidates:
        resource = (binding.get("spec") or {}).get("resource") or {}
        same_ns = (resource.get("namespace") or "") in ("", namespace)
        if resource.get("name") == name and _kind_matches(kind, str(resource.get("kind", ""))) and same_ns:
            return binding
    return None


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
                "-" if wanted[cluster] is None else wanted[cluster],
                "-" if ready is None else ready,
                "yes" if item.get("applied") else "no",
                {True: "yes", False: "no"}.get(item.get("available"), "-"),
                "yes" if item.get("drifted") else "no",
                "; ".join(item.get("errors") or []) or "-",
            ]
        )
    lines.append("")
    lines.append(
        table(("CLUSTER", "REPLICAS", "READY", "APPLIED", "AVAILABLE", "DRIFT", "ERRORS"), rows)
        if rows
        else "Not placed on any cluster."
    )
    rejected = (status.get("schedulingDecision") or {}).get("rejected") or []
    if rejected:
        lines.append("")
        lines.append("Left out:")
        lines.extend(f"  {r['cluster']}: {r['reason']} ({r.get('message', '')})" for r in rejected)
    return "\n".join(lines)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="where a template went and how it is doing",
        description="Per-cluster placement and status of one template.",
    )
    parser.add_argument("target", metavar="KIND/NAME")
    parser.add_argument("-n", "--namespace", default="default")
    add_kubeconfig(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    kind, name = parse_target(args.target)
    kubeconfig = kubeconfig_path(args.kubeconfig)

    async def main(hub_api: KubeClient) -> int:
        binding = await find_binding(hub_api, kind, name, args.namespace)
        if binding is None:
            print(
                f"error: no binding for {args.target} in namespace {args.namespace} "
                "(is it claimed by a propagation policy?)",
                file=sys.stderr,
            )
            return 1
        print(render(binding))
        return 0

    return run_async(main, kubeconfig)
