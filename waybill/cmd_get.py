"""``waybill get clusters|bindings|works``: tables of the fleet as the hub sees it, like kubectl.

Also home of the small helpers the hub-side commands share (``connect``, ``run_async``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hub import conditions as hub_conditions
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import ApiError, NotFound
from waybill.cli import UsageError


def kubeconfig_path(value: str | None) -> str:
    """``--kubeconfig``, else ``$KUBECONFIG``, else ``~/.kube/config``; a usage error if missing."""
    path = (
        value
        or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
        or str(Path.home() / ".kube" / "config")
    )
    if not Path(path).is_file():
        raise UsageError(f"kubeconfig {path} does not exist (pass --kubeconfig)")
    return path


def add_kubeconfig(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kubeconfig", help="the hub's kubeconfig (default: $KUBECONFIG or ~/.kube/config)")


def run_async(main: Callable[[KubeClient], Awaitable[int]], kubeconfig: str) -> int:
    """Connect to the hub, run ``main``, map API errors to exit code 1 with a message."""

    async def runner() -> int:
        hub_api = await KubeClient.from_kubeconfig(kubeconfig)
        try:
            return await main(hub_api)
        finally:
            await hub_api.close()

    try:
        return asyncio.run(runner())
    except NotFound as exc:
        print(f"error: not found: {exc.message}", file=sys.stderr)
        return 1
    except ApiError as exc:
        print(f"error: hub API: {exc}", file=sys.stderr)
        return 1


def age(timestamp: str | None) -> str:
    if not timestamp:
        return "<unknown>"
    try:
        then = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    seconds = int((datetime.now(tz=UTC) - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{max(seconds, 0)}s"


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "   ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    )


def condition_status(obj: dict[str, Any], kind: str) -> str:
    found = hub_conditions.find((obj.get("status") or {}).get("conditions"), kind)
    return str(found.get("status")) if found else "-"


async def cluster_rows(hub_api: KubeClient) -> list[list[Any]]:
    members = (await hub_api.list(names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER)).items
    rows = []
    for member in sorted(members, key=lambda m: str(m["metadata"]["name"])):
        spec, status, meta = member.get("spec") or {}, member.get("status") or {}, member["metadata"]
        taints = ",".join(str(t.get("key")) for t in spec.get("taints") or []) or "-"
        labels = ",".join(f"{k}={v}" for k, v in sorted((meta.get("labels") or {}).items())) or "-"
        rows.append(
            [
                meta["name"],
                meta.get("namespace", ""),
                spec.get("syncMode", "Pull"),
                condition_status(member, names.CONDITION_READY),
                status.get("kubernetesVersion") or "-",
                status.get("nodeCount") if status.get("nodeCount") is not None else "-",
                spec.get("region") or "-",
                labels,
                taints,
                age(meta.get("creationTimestamp")),
            ]
        )
    return rows


async def binding_rows(hub_api: KubeClient, namespace: str | None) -> list[list[Any]]:
    items = (
        await hub_api.list(names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING, namespace=namespace)
    ).items
    if namespace is None:
        items += (await hub_api.list(names.WORK_API_VERSION, names.KIND_CLUSTER_RESOURCE_BINDING)).items
    rows = []
    for binding in sorted(items, key=lambda b: (b["metadata"].get("namespace", ""), b["metadata"]["name"])):
        spec = binding.get("spec") or {}
        resource, policy = spec.get("resource") or {}, spec.get("policy") or {}
        clusters = (
            ",".join(
                c["name"] if c.get("replicas") is None else f"{c['name']}({c['replicas']})"
                for c in spec.get("clusters") or []
            )
            or "-"
        )
        rows.append(
            [
                binding["metadata"].get("namespace") or "-",
                binding["metadata"]["name"],
                f"{resource.get('kind')}/{resource.get('name')}",
                policy.get("name", "-"),
                clusters,
                condition_status(binding, names.CONDITION_SCHEDULED),
                condition_status(binding, names.CONDITION_APPLIED),
                condition_status(binding, names.CONDITION_AVAILABLE),
            ]
        )
    return rows


async def work_rows(hub_api: KubeClient, namespace: str | None) -> list[list[Any]]:
    items = (await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace=namespace)).items
    rows = []
    for work in sorted(items, key=lambda w: (w["metadata"]["namespace"], w["metadata"]["name"])):
        labels = work["metadata"].get("labels") or {}
        manifests = ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []
        rows.append(
            [
                work["metadata"]["namespace"],
                work["metadata"]["name"],
                labels.get(names.LABEL_CLUSTER, "-"),
                labels.get(names.LABEL_POLICY_NAME, "-"),
                len(manifests),
                condition_status(work, names.CONDITION_APPLIED),
                condition_status(work, names.CONDITION_AVAILABLE),
                age(work["metadata"].get("creationTimestamp")),
            ]
        )
    return rows


HEADERS = {
    "clusters": (
        "NAME",
        "NAMESPACE",
        "MODE",
        "READY",
        "VERSION",
        "NODES",
        "REGION",
        "LABELS",
        "TAINTS",
        "AGE",
    ),
    "bindings": ("NAMESPACE", "NAME", "TEMPLATE", "POLICY", "CLUSTERS", "SCHEDULED", "APPLIED", "AVAILABLE"),
    "works": ("NAMESPACE", "NAME", "CLUSTER", "POLICY", "MANIFESTS", "APPLIED", "AVAILABLE", "AGE"),
}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "get",
        help="list clusters, bindings or works on the hub",
        description="Tables of the fleet as the hub sees it.",
    )
    parser.add_argument("what", choices=sorted(HEADERS), help="what to list")
    parser.add_argument("-n", "--namespace", help="only this namespace (bindings, works)")
    add_kubeconfig(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    kubeconfig = kubeconfig_path(args.kubeconfig)

    async def main(hub_api: KubeClient) -> int:
        if args.what == "clusters":
            rows = await cluster_rows(hub_api)
        elif args.what == "bindings":
            rows = await binding_rows(hub_api, args.namespace)
        else:
            rows = await work_rows(hub_api, args.namespace)
        if not rows:
            print(f"No {args.what} found.")
            return 0
        print(table(HEADERS[args.what], rows))
        return 0

    return run_async(main, kubeconfig)
