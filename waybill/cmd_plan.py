"""``waybill plan -f FILE``: what the hub would do with these objects, without writing anything.

FILE (``-`` for stdin) holds templates, policies, override policies and optionally
MemberClusters. With ``--kubeconfig``/``--context`` (or ``--diff``) the hub is read too
(``waybill.plan_sources``): its members, policies and the live templates the file's policies
select, the file's objects replacing their live versions — so a policy change alone is planned
over the templates live on the hub. Without a hub, members come from FILE. ``--diff`` then asks
each member's agent what would change there (``waybill.diffing``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
import yaml

from hub import planning, reasons, rendering, rollout_checks, schedule_priority, scheduling
from hub.clusters import ClusterView
from hub.dependencies import DEPENDENCY_KINDS, DependencyRef
from hub.matching import PolicyRef
from shared.api import names
from shared.api.cluster import MemberCluster
from shared.api.interpreter import ResourceInterpreterCustomization
from shared.api.policy import (
    ClusterOverridePolicy,
    ClusterPropagationPolicy,
    OverridePolicy,
    PropagationPolicy,
)
from shared.interpreter import Interpreter
from shared.kube.client import KubeClient
from waybill import connect, diffing, plan_sources
from waybill.errors import CommandFailed, UsageError
from waybill.output import table

# The schema each Waybill kind in FILE must satisfy (what the hub's CRDs would enforce).
_MODELS: dict[str, type[pydantic.BaseModel]] = {
    names.KIND_PROPAGATION_POLICY: PropagationPolicy,
    names.KIND_CLUSTER_PROPAGATION_POLICY: ClusterPropagationPolicy,
    names.KIND_OVERRIDE_POLICY: OverridePolicy,
    names.KIND_CLUSTER_OVERRIDE_POLICY: ClusterOverridePolicy,
    names.KIND_MEMBER_CLUSTER: MemberCluster,
    names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION: ResourceInterpreterCustomization,
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
        names.CONFIG_GROUP,
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


def _replicas(value: int | None) -> str:
    return "-" if value is None else str(value)


def _rows(
    decision: scheduling.Decision,
    now: plan_sources.Placement | None,
    *,
    with_now: bool,
    suspended: Callable[[str], str | None] = lambda _cluster: None,
) -> tuple[tuple[str, ...], list[list[Any]]]:
    """CLUSTER, REPLICAS (and NOW: the current placement, with a hub) rows of one template."""
    current = dict(now.clusters) if now is not None else {}

    def was(cluster: str) -> str:
        return _replicas(current.pop(cluster)) if cluster in current else "not placed"

    def planned(target: scheduling.Target) -> str:
        held = suspended(target.cluster)
        if held is None:
            return _replicas(target.replicas)
        return f"{_replicas(target.replicas)} (suspended by {held}: gets nothing new)"

    rows: list[list[Any]] = [[t.cluster, planned(t), was(t.cluster)] for t in decision.targets]
    rows += [[r.cluster, f"left out: {r.reason} ({r.message})", was(r.cluster)] for r in decision.rejections]
    rows += [[cluster, "removed", _replicas(replicas)] for cluster, replicas in sorted(current.items())]
    if not with_now:
        return ("CLUSTER", "REPLICAS"), [row[:2] for row in rows]
    return ("CLUSTER", "REPLICAS", "NOW"), rows


def render(
    plans: list[planning.TemplatePlan],
    *,
    manifests: bool,
    live: Collection[plan_sources.Identity] = (),
    placements: Mapping[plan_sources.Identity, plan_sources.Placement] | None = None,
) -> str:
    """The plan as text; with ``placements`` (read from a hub) also where each template is now."""
    out: list[str] = []
    sent_with = {name: str(p.template) for p in plans for deps in p.dependencies.values() for name in deps}
    for entry in plans:
        ref = entry.template
        key = (ref.group, ref.kind, ref.namespace, ref.name)
        source = " (live on the hub)" if key in live else ""
        out.append(f"== {ref}{source}")
        now = (placements or {}).get(key)
        moved = now is not None and now.policy and now.policy != str(entry.policy)
        was = f" (now: {now.policy})" if now is not None and moved else ""
        if entry.policy is None:
            sent = f" (sent as a dependency of {sent_with[str(ref)]})" if str(ref) in sent_with else ""
            out.append(f"   not claimed by any propagation policy{was}{sent}")
            continue
        out.append(f"   policy: {entry.policy}{was}")
        out.extend(f"   error: {e}" for e in entry.errors)
        out.extend(
            f"   error: {p} (the hub would release nothing new: RolloutStrategyValid=False)"
            for p in entry.rollout_problems
        )
        if entry.not_served is not None:
            kept = (
                " (the binding keeps the clusters it has, and their Works follow the template)"
                if entry.decision is not None
                else ""
            )
            out.append(
                f"   not placed by this hub ({reasons.SCHEDULER_NOT_SERVED}): {entry.not_served}{kept}"
            )
        out.extend(_dependency_lines(entry))
        decision = entry.decision
        if decision is None:
            continue
        if decision.message:
            out.append(f"   note: {decision.message}")
        header, rows = _rows(decision, now, with_now=placements is not None, suspended=entry.suspended)
        out.append("\n".join("   " + line for line in table(header, rows).splitlines()))
        out.extend(_rollout_lines(entry))
        if manifests:
            for cluster, manifest in entry.manifests.items():
                out.append(f"--- # {ref} on {cluster}")
                out.append(yaml.safe_dump(manifest, sort_keys=False).rstrip())
            for cluster, carried in entry.dependencies.items():
                for name, manifest in carried.items():
                    out.append(f"--- # {name} on {cluster} (dependency of {ref})")
                    out.append(yaml.safe_dump(manifest, sort_keys=False).rstrip())
    return "\n".join(out)


def document(
    plans: list[planning.TemplatePlan],
    *,
    manifests: bool,
    live: Collection[plan_sources.Identity] = (),
    placements: Mapping[plan_sources.Identity, plan_sources.Placement] | None = None,
    answers: list[diffing.MemberAnswer] | None = None,
) -> dict[str, Any]:
    """The plan (and the members' diffs) as one JSON/YAML document (``-o json|yaml``): per
    template its members, each with its replicas and its ``rollout``."""
    templates: list[dict[str, Any]] = []
    for entry in plans:
        ref = entry.template
        key = (ref.group, ref.kind, ref.namespace, ref.name)
        now = (placements or {}).get(key)
        current = dict(now.clusters) if now is not None else {}
        item: dict[str, Any] = {
            "template": str(ref),
            "live": key in live,
            "policy": None if entry.policy is None else str(entry.policy),
            "errors": [*entry.errors, *entry.rollout_problems],
        }
        if now is not None and now.policy:
            item["policyNow"] = now.policy
        if entry.not_served is not None:
            item["notServed"] = entry.not_served
        planned = entry.rollout
        if planned is not None:
            item["rollout"] = {"strategy": planned.strategy, "summary": planned.summary}
            if planned.problem is not None:
                item["rollout"]["problem"] = planned.problem
        decision = entry.decision
        members: list[dict[str, Any]] = []
        for target in decision.targets if decision is not None else ():
            member: dict[str, Any] = {"cluster": target.cluster, "replicas": target.replicas}
            if placements is not None:
                member["now"] = current.pop(target.cluster) if target.cluster in current else "not placed"
            held = entry.suspended(target.cluster)
            if held is not None:
                member["suspended"] = held
            found = planned.members.get(target.cluster) if planned is not None else None
            member["rollout"] = None if found is None or held is not None else found.to_dict()
            members.append(member)
        item["members"] = members
        if decision is not None and decision.rejections:
            item["leftOut"] = [
                {"cluster": r.cluster, "reason": r.reason, "message": r.message} for r in decision.rejections
            ]
        if decision is not None and current:
            item["removed"] = [{"cluster": c, "now": r} for c, r in sorted(current.items())]
        if entry.dependency_refs:
            missing = set(entry.missing_dependencies)
            item["dependencies"] = [
                {
                    "name": str(dep),
                    "clusters": sorted(c for c, carried in entry.dependencies.items() if str(dep) in carried),
                    **({"onHub": False} if dep in missing else {}),
                }
                for dep in entry.dependency_refs
            ]
        if manifests:
            item["manifests"] = dict(entry.manifests)
        templates.append(item)
    out: dict[str, Any] = {"templates": templates}
    if answers is not None:
        out["diff"] = [_answer_document(a) for a in answers]
    return out


def _answer_document(answer: diffing.MemberAnswer) -> dict[str, Any]:
    out: dict[str, Any] = {"cluster": answer.cluster, "state": answer.state}
    if answer.message:
        out["message"] = answer.message
    if answer.seconds is not None:
        out["seconds"] = round(answer.seconds, 3)
    out["manifests"] = [
        {
            "manifest": m.manifest,
            "outcome": m.outcome,
            **({"message": m.message} if m.message else {}),
            **(
                {"changes": [{"path": c.path, "memberValue": c.member, "hubValue": c.hub} for c in m.changes]}
                if m.changes
                else {}
            ),
            "rollout": None if m.rollout is None else m.rollout.to_dict(),
        }
        for m in answer.manifests
    ]
    return out


def _dump(fmt: str, doc: Mapping[str, Any]) -> str:
    if fmt == "json":
        return json.dumps(doc, indent=2)
    return yaml.safe_dump(dict(doc), sort_keys=False).rstrip()


def _rollout_lines(entry: planning.TemplatePlan) -> list[str]:
    """How a new generation would reach the members under a RollingUpdate or Staged strategy
    (``hub.rollout_checks.plan_rollout``: the hub's own decisions); nothing for type All."""
    planned = entry.rollout
    if planned is None or not planned.staged or not planned.members:
        return []
    what = "of a new generation of the template" if planned.new_generation else "of this change"
    lines = [f"   rollout ({planned.strategy}) {what}: {planned.summary}"]
    order = sorted(planned.members.items(), key=lambda item: (item[1].batch or 1 << 30, item[0]))
    for cluster, member in order:
        if member.state == rollout_checks.AT_ONCE or (
            planned.new_generation and member.state == rollout_checks.HELD
        ):
            continue  # said once, in the line above
        held = entry.suspended(cluster)
        text = member.text if held is None else f"suspended by {held}: gets nothing new"
        lines.append(f"     {cluster}: {text}")
    return lines


def _dependency_lines(entry: planning.TemplatePlan) -> list[str]:
    """What ``propagateDeps`` sends along: each dependency and the members it goes to."""
    if not entry.dependency_refs:
        return []
    where: dict[str, list[str]] = {}
    for cluster, carried in sorted(entry.dependencies.items()):
        for name in carried:
            where.setdefault(name, []).append(cluster)
    lines = ["   dependencies (propagateDeps):"]
    missing = set(entry.missing_dependencies)
    for dep in entry.dependency_refs:
        name = str(dep)
        if dep in missing:
            lines.append(f"     {name}: not on the hub, nothing is sent for it")
        elif name in where:
            lines.append(f"     {name} -> {', '.join(where[name])}")
        else:
            lines.append(f"     {name}: carried by another binding or policy (or no member gets it)")
    return lines


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="show what the hub would do, without writing",
        description=(
            "Clusters, replicas and rendered manifests per cluster. With a hub (--kubeconfig, "
            "--context or --diff) the file's objects are planned over the hub's live members, "
            "policies and templates; --diff also shows, per member, the fields that would change."
        ),
    )
    parser.add_argument(
        "-f", "--filename", required=True, help="YAML file with templates and policies ('-': stdin)"
    )
    parser.add_argument(
        "--kubeconfig", help="also read members, policies and live templates from this hub (read-only)"
    )
    parser.add_argument("--context", help="the kubeconfig context to use")
    parser.add_argument("--no-manifests", action="store_true", help="do not print the rendered manifests")
    parser.add_argument(
        "-o",
        "--output",
        choices=("json", "yaml"),
        help="print the plan (and the diffs) as one JSON or YAML document, a rollout field per member",
    )
    parser.add_argument(
        "--diff",
        action="store_true",
        help="ask each member's agent what would change there (short-lived ReportDiff Works on the hub)",
    )
    parser.add_argument(
        "--scheduler-name",
        action="append",
        default=[],
        metavar="NAME",
        help="a schedulerName the hub serves, as its own --scheduler-name (repeatable; default "
        f"{schedule_priority.DEFAULT_SCHEDULER}): policies naming another are not placed by the hub",
    )
    parser.add_argument(
        "--diff-timeout",
        type=_seconds,
        default=diffing.DEFAULT_TIMEOUT,
        metavar="S",
        help=f"how long to wait for the agents' answers (default {diffing.DEFAULT_TIMEOUT:g} s)",
    )
    parser.set_defaults(handler=run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--diff-timeout: {text!r} is not a number of seconds") from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError(f"--diff-timeout: {text} is not between 0 and 3600 seconds")
    return value


@dataclass
class Planned:
    """The plan of a file, and what it was made from."""

    plans: list[planning.TemplatePlan]
    members: list[Mapping[str, Any]]
    takeover: dict[PolicyRef, str | None]  # each policy's whenToTakeOver (from conflictResolution)
    interpreter: Interpreter  # with the ResourceInterpreterCustomizations of FILE and the hub
    live: set[plan_sources.Identity] = field(default_factory=set)


def _is_customization(obj: Mapping[str, Any]) -> bool:
    group = str(obj.get("apiVersion", "")).split("/")[0]
    return group == names.CONFIG_GROUP and obj.get("kind") == names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION


def interpreter_of(customizations: list[Mapping[str, Any]]) -> Interpreter:
    """The hub's interpreter for these customizations (the hub's ``--replica-path`` shorthands
    aside); one that does not parse is left out and one whose script does not compile is kept as
    that error (its operation fails in the plan as on the hub), each with a warning naming it."""
    interpreter = Interpreter()
    for ric in sorted(customizations, key=lambda c: str((c.get("metadata") or {}).get("name"))):
        name = (ric.get("metadata") or {}).get("name")
        try:
            problems = interpreter.set_customization(ric)
        except ValueError as exc:  # pydantic's ValidationError too
            print(f"warning: ResourceInterpreterCustomization {name} is left out: {exc}", file=sys.stderr)
            continue
        for problem in problems:
            print(f"warning: ResourceInterpreterCustomization {name}: {problem}", file=sys.stderr)
    return interpreter


def make_plan(
    filename: str,
    objects: list[Mapping[str, Any]],
    *,
    hub: bool,
    scheduler_names: Collection[str] = (schedule_priority.DEFAULT_SCHEDULER,),
    dependency_objects: list[Mapping[str, Any]] | None = None,
    propagated: Collection[DependencyRef] = (),
    current: Mapping[plan_sources.Identity, Mapping[str, int | None]] | None = None,
    unchanged: Collection[plan_sources.Identity] = (),
) -> Planned:
    """Validate and plan ``objects`` (pure but for warnings on stderr); UsageError on bad input.

    ``dependency_objects``: the hub's copies of the dependencies ``propagateDeps`` sends along
    (read by ``_with_hub``); ``propagated``: dependency-kind templates bound in their own right."""
    customizations = [o for o in objects if _is_customization(o)]
    groups = planning.split_objects([o for o in objects if not _is_customization(o)])
    invalid = planning.problems(groups)
    if invalid:
        raise UsageError("invalid policies (the hub would refuse them):\n" + "\n".join(invalid))
    if not groups["templates"]:
        if hub:
            raise UsageError(
                f"{filename} contains no resource templates, and its policies select none of the hub's"
            )
        raise UsageError(
            f"{filename} contains no resource templates to plan "
            "(pass --kubeconfig to plan its policies over the hub's live templates)"
        )
    clusters = [ClusterView.from_member(m) for m in groups["members"]]
    if not clusters:
        print("warning: no MemberClusters given (add them to the file or pass --kubeconfig)", file=sys.stderr)
    interpreter = interpreter_of(customizations)
    try:
        plans = planning.plan(
            templates=groups["templates"],
            policies=groups["policies"],
            override_policies=groups["overrides"],
            clusters=clusters,
            interpreter=interpreter,
            scheduler_names=scheduler_names,
            dependency_objects=dependency_objects or (),
            propagated=propagated,
            current=current,
            unchanged=unchanged,
        )
    except (AttributeError, TypeError, KeyError, ValueError) as exc:
        # The schema check above should catch bad input first; a planner surprise is still
        # one line naming the file, not a traceback.
        raise CommandFailed(f"cannot plan {filename}: {type(exc).__name__}: {exc}") from exc
    takeover = {
        PolicyRef.of(p): rendering.WorkOptions.for_policy(p.get("spec") or {}).when_to_take_over
        for p in groups["policies"]
    }
    return Planned(plans=plans, members=list(groups["members"]), takeover=takeover, interpreter=interpreter)


async def _with_hub(hub_api: KubeClient, args: argparse.Namespace, file_objects: list[dict[str, Any]]) -> int:
    """Plan over the hub's live objects; with ``--diff`` ask the members' agents too."""
    read = await plan_sources.read_hub(hub_api, file_objects)
    templates = [t for t in planning.split_objects(file_objects)["templates"] if not _is_customization(t)]
    others = [o for o in file_objects if not any(o is t for t in templates)]
    unchanged = set(read.live_templates)  # the file does not change them: no new generation
    stored = await plan_sources.as_stored(
        hub_api, args.filename, templates, warnings=read.warnings, unchanged=unchanged
    )
    for warning in read.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    merged = plan_sources.merge([*others, *stored], read.objects)
    schedulers = _scheduler_names(args)
    propagated = {
        DependencyRef("v1", kind, namespace, name)
        for group, kind, namespace, name in read.placements
        if group == "" and ("v1", kind) in DEPENDENCY_KINDS
    }
    current = {key: now.clusters for key, now in read.placements.items()}
    planned = make_plan(
        args.filename,
        merged,
        hub=True,
        scheduler_names=schedulers,
        propagated=propagated,
        current=current,
        unchanged=unchanged,
    )
    missing = sorted({dep for p in planned.plans for dep in p.missing_dependencies})
    if missing:
        # propagateDeps: the hub sends its own copies of what the workloads reference
        unread: list[str] = []
        found = await plan_sources.read_dependencies(hub_api, missing, warnings=unread)
        for warning in unread:
            print(f"warning: {warning}", file=sys.stderr)
        if found:
            planned = make_plan(
                args.filename,
                merged,
                hub=True,
                scheduler_names=schedulers,
                dependency_objects=found,
                propagated=propagated,
                current=current,
                unchanged=unchanged,
            )
    planned.live = read.live_templates
    fmt = getattr(args, "output", None)
    if fmt is None:
        print(
            render(
                planned.plans, manifests=not args.no_manifests, live=planned.live, placements=read.placements
            )
        )
    code = _exit_code(planned.plans)
    answered: list[diffing.MemberAnswer] | None = None
    if args.diff:
        sys.stdout.flush()
        answered = await diffing.preview(
            hub_api,
            plans=planned.plans,
            members=planned.members,
            wait_seconds=args.diff_timeout,
            takeover=planned.takeover,
            interpreter=planned.interpreter,
            placed_now={key: list(now.clusters) for key, now in read.placements.items()},
        )
        if fmt is None:
            print(diffing.render(answered))
        code = max(code, diffing.exit_code(answered))
    if fmt is not None:
        doc = document(
            planned.plans,
            manifests=not args.no_manifests,
            live=planned.live,
            placements=read.placements,
            answers=answered,
        )
        print(_dump(fmt, doc))
    return code


_PLANNED_WAYBILL_KINDS = {
    *planning.POLICY_KINDS,
    *planning.OVERRIDE_KINDS,
    names.KIND_MEMBER_CLUSTER,
    names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
}


def warn_unplanned(filename: str, objects: list[dict[str, Any]]) -> None:
    """A warning for each Waybill object in FILE that plan does not use (Works, bindings...)."""
    for obj in objects:
        group = str(obj.get("apiVersion", "")).split("/")[0]
        ours = group in (names.WORK_GROUP, names.CLUSTER_GROUP, names.POLICY_GROUP, names.CONFIG_GROUP)
        if ours and obj.get("kind") not in _PLANNED_WAYBILL_KINDS:
            meta = obj.get("metadata") or {}
            where = f"{meta.get('namespace')}/" if meta.get("namespace") else ""
            print(
                f"warning: {filename}: {obj.get('kind')} {where}{meta.get('name')} is not planned "
                "(the hub writes that kind itself)",
                file=sys.stderr,
            )


def run(args: argparse.Namespace) -> int:
    objects = load_objects(args.filename)
    warn_unplanned(args.filename, objects)
    if args.kubeconfig or args.context or args.diff:
        return connect.run_async(lambda hub_api: _with_hub(hub_api, args, objects), connect.load(args))
    planned = make_plan(args.filename, list(objects), hub=False, scheduler_names=_scheduler_names(args))
    fmt = getattr(args, "output", None)
    if fmt is not None:
        print(_dump(fmt, document(planned.plans, manifests=not args.no_manifests)))
    else:
        print(render(planned.plans, manifests=not args.no_manifests))
    return _exit_code(planned.plans)


def _scheduler_names(args: argparse.Namespace) -> tuple[str, ...]:
    names_given = tuple(getattr(args, "scheduler_name", None) or ())
    if any(not name for name in names_given):
        raise UsageError("--scheduler-name: an empty name")
    return names_given or (schedule_priority.DEFAULT_SCHEDULER,)


def _exit_code(plans: list[planning.TemplatePlan]) -> int:
    """1 when a template's plan has an error (a placement, a render, a rollout stage no member answers)."""
    return 1 if any(p.errors or p.rollout_problems for p in plans) else 0
