"""``waybill plan -f FILE``: what the hub would do with these objects, without writing anything.

FILE (``-`` for stdin) holds templates, policies, override policies and optionally
MemberClusters. With ``--kubeconfig`` the hub's current members and policies are added
(read-only); otherwise members come from FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

import yaml

from hub import planning
from hub.clusters import ClusterView
from shared.api import names
from shared.kube.client import KubeClient
from waybill.cli import UsageError
from waybill.cmd_get import kubeconfig_path, table


def load_objects(path: str) -> list[dict[str, Any]]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        documents = list(yaml.safe_load_all(text))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise UsageError(f"{path} is not valid YAML: {exc}") from exc
    objects: list[dict[str, Any]] = []
    for index, doc in enumerate(documents):
        if doc is None:
            continue
        if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion"):
            raise UsageError(f"{path}: document {index + 1} is not a Kubernetes object (apiVersion and kind)")
        if doc.get("kind") == "List":
            objects.extend(doc.get("items") or [])
        else:
            objects.append(doc)
    return objects


async def hub_objects(kubeconfig: str) -> list[dict[str, Any]]:
    async with await KubeClient.from_kubeconfig(kubeconfig) as hub_api:
        found: list[dict[str, Any]] = []
        for kind in (names.KIND_MEMBER_CLUSTER,):
            found += (await hub_api.list(names.CLUSTER_API_VERSION, kind)).items
        for kind in (*planning.POLICY_KINDS, *planning.OVERRIDE_KINDS):
            found += (await hub_api.list(names.POLICY_API_VERSION, kind)).items
        return found


def render(plans: list[planning.TemplatePlan], *, manifests: bool) -> str:
    out: list[str] = []
    for entry in plans:
        out.append(f"== {entry.template}")
        if entry.policy is None:
            out.append("   not claimed by any propagation policy")
            continue
        out.append(f"   policy: {entry.policy}")
        out.extend(f"   error: {e}" for e in entry.errors)
        decision = entry.decision
        if decision is None:
            continue
        rows = [[t.cluster, "-" if t.replicas is None else t.replicas] for t in decision.targets]
        rows += [[r.cluster, f"left out: {r.reason} ({r.message})"] for r in decision.rejections]
        if decision.message:
            out.append(f"   note: {decision.message}")
        out.append("\n".join("   " + line for line in table(("CLUSTER", "REPLICAS"), rows).splitlines()))
        if manifests:
            for cluster, manifest in entry.manifests.items():
                out.append(f"--- # {entry.template} on {cluster}")
                out.append(yaml.safe_dump(manifest, sort_keys=False).rstrip())
    return "\n".join(out)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="show what the hub would do, without writing",
        description="Clusters, replicas and rendered manifests per cluster.",
    )
    parser.add_argument(
        "-f", "--filename", required=True, help="YAML file with templates and policies ('-': stdin)"
    )
    parser.add_argument("--kubeconfig", help="also read members and policies from this hub (read-only)")
    parser.add_argument("--no-manifests", action="store_true", help="do not print the rendered manifests")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    objects = load_objects(args.filename)
    if args.kubeconfig:
        objects += asyncio.run(hub_objects(kubeconfig_path(args.kubeconfig)))
    groups = planning.split_objects(objects)
    invalid = planning.problems(groups)
    if invalid:
        raise UsageError("invalid policies (the hub would refuse them):\n" + "\n".join(invalid))
    if not groups["templates"]:
        raise UsageError(f"{args.filename} contains no resource templates to plan")
    clusters = [ClusterView.from_member(m) for m in groups["members"]]
    if not clusters:
        print("warning: no MemberClusters given (add them to the file or pass --kubeconfig)", file=sys.stderr)
    plans = planning.plan(
        templates=groups["templates"],
        policies=groups["policies"],
        override_policies=groups["overrides"],
        clusters=clusters,
    )
    print(render(plans, manifests=not args.no_manifests))
    return 1 if any(p.errors for p in plans) else 0
