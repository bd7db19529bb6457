"""``waybill plan -f FILE``: what the hub would do with these objects, without writing anything.

FILE (``-`` for stdin) holds templates, policies, override policies and optionally
MemberClusters. With ``--kubeconfig`` the hub's current members and policies are added
(read-only); otherwise members come from FILE.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pydantic
import yaml

from hub import planning
from hub.clusters import ClusterView
from shared.api import names
from shared.api.cluster import MemberCluster
from shared.api.policy import (
    ClusterOverridePolicy,
    ClusterPropagationPolicy,
    OverridePolicy,
    PropagationPolicy,
)
from shared.kube.client import KubeClient
from waybill import connect
from waybill.errors import CommandFailed, UsageError
from waybill.output import table

# The schema each Waybill kind in FILE must satisfy (what the hub's CRDs would enforce).
_MODELS: dict[str, type[pydantic.BaseModel]] = {
    names.KIND_PROPAGATION_POLICY: PropagationPolicy,
    names.KIND_CLUSTER_PROPAGATION_POLICY: ClusterPropagationPolicy,
    names.KIND_OVERRIDE_POLICY: OverridePolicy,
    names.KIND_CLUSTER_OVERRIDE_POLICY: ClusterOverridePolicy,
    names.KIND_MEMBER_CLUSTER: MemberCluster,
}


def _read(path: str) -> str:
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path} is not a text file (byte {exc.start} is not UTF-8): pass a YAML file"
        ) from exc


def validate(path: str, obj: dict[str, Any]) -> None:
    """A usage error naming the object and field when ``obj`` breaks its kind's schema."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not meta.get("name"):
        raise UsageError(f"{path}: {obj.get('kind')} without metadata.name")
    model = _MODELS.get(str(obj.get("kind")))
    if model is None or str(obj.get("apiVersion", "")).split("/")[0] not in (
        names.POLICY_GROUP,
        names.CLUSTER_GROUP,
    ):
        return
    try:
        model.model_validate(obj)
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        where = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
        raise UsageError(f"{path}: {obj.get('kind')} {where}{meta['name']}: {field}: {first['msg']}") from exc


def load_objects(path: str) -> list[dict[str, Any]]:
    text = _read(path)
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(f"{path} is not valid YAML{where}") from exc
    objects: list[dict[str, Any]] = []
    for index, doc in enumerate(documents):
        if doc is None:
            continue
        if not isinstance(doc, dict) or not doc.get("kind") or not doc.get("apiVersion"):
            raise UsageError(f"{path}: document {index + 1} is not a Kubernetes object (apiVersion and kind)")
        items = doc.get("items") if doc.get("kind") == "List" else [doc]
        if not isinstance(items, list):
            raise UsageError(f"{path}: document {index + 1}: items must be a list")
        for item in items:
            if not isinstance(item, dict) or not item.get("kind") or not item.get("apiVersion"):
                raise UsageError(f"{path}: document {index + 1}: an item is not a Kubernetes object")
            validate(path, item)
            objects.append(item)
    return objects


async def _collect(hub_api: KubeClient, objects: list[dict[str, Any]]) -> int:
    for kind in (names.KIND_MEMBER_CLUSTER,):
        objects += (await hub_api.list(names.CLUSTER_API_VERSION, kind)).items
    for kind in (*planning.POLICY_KINDS, *planning.OVERRIDE_KINDS):
        objects += (await hub_api.list(names.POLICY_API_VERSION, kind)).items
    return 0


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
    parser.add_argument("--context", help="the kubeconfig context to use")
    parser.add_argument("--no-manifests", action="store_true", help="do not print the rendered manifests")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    objects = load_objects(args.filename)
    if args.kubeconfig or args.context:
        loaded = connect.load(args)
        code = connect.run_async(lambda hub_api: _collect(hub_api, objects), loaded)
        if code:
            return code
    groups = planning.split_objects(objects)
    invalid = planning.problems(groups)
    if invalid:
        raise UsageError("invalid policies (the hub would refuse them):\n" + "\n".join(invalid))
    if not groups["templates"]:
        raise UsageError(f"{args.filename} contains no resource templates to plan")
    clusters = [ClusterView.from_member(m) for m in groups["members"]]
    if not clusters:
        print("warning: no MemberClusters given (add them to the file or pass --kubeconfig)", file=sys.stderr)
    try:
        plans = planning.plan(
            templates=groups["templates"],
            policies=groups["policies"],
            override_policies=groups["overrides"],
            clusters=clusters,
        )
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        # The schema check above should catch bad input first; a planner surprise is still
        # one line naming the file, not a traceback.
        raise CommandFailed(f"cannot plan {args.filename}: {type(exc).__name__}: {exc}") from exc
    print(render(plans, manifests=not args.no_manifests))
    return 1 if any(p.errors for p in plans) else 0
