"""``waybill rollout status|history|pause|resume|approve|undo KIND/NAME [-n NS]`` (docs/rollouts.md).

``status`` follows the rollout of the template's current generation per stage and cluster until
it completes (exit 0) or halts (exit 1), like ``kubectl rollout status``; ``--watch=false``
prints it once. ``pause``/``resume``/``approve`` write annotations on the template's binding,
which the hub's rollout controller reads; ``history`` lists the template's TemplateRevisions and
``undo`` writes one back into the template (the change then rolls out through the policy's
strategy like any edit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Mapping
from typing import Any

from shared.api import names, revision
from shared.kube.client import KubeClient
from shared.kube.errors import NotFound
from shared.kube.types import ResourceInfo
from waybill import connect, kinds, output, templates
from waybill.connect import add_kubeconfig, run_async
from waybill.errors import CommandFailed, UsageError

FOLLOW_INTERVAL = 0.5
ACTIONS = ("status", "history", "pause", "resume", "approve", "undo")
FINAL_PHASES = {"Complete": 0, "Halted": 1, "Invalid": 1}


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rollout",
        help="follow, pause, approve or undo a template's rollout",
        description="Rollouts of templates whose policy sets spec.rolloutStrategy (docs/rollouts.md).",
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("target", metavar="KIND/NAME")
    parser.add_argument(
        "-n", "--namespace", help="the template's namespace (default: the context's, else default)"
    )
    parser.add_argument("--stage", help="approve: the stage whose after.approval is given")
    parser.add_argument("--to-revision", type=int, default=None, help="undo: the revision to go back to")
    parser.add_argument(
        "-w",
        "--watch",
        type=_bool,
        default=True,
        metavar="BOOL",
        help="status: follow until done (default true)",
    )
    parser.add_argument("--timeout", type=float, default=0.0, help="status: give up after SECONDS (0: never)")
    add_kubeconfig(parser)
    parser.set_defaults(handler=run)


# ---- rendering (pure) -------------------------------------------------------------------------------
def summary(rollout: Mapping[str, Any], template: str) -> str:
    stage = f", stage {rollout['stage']}" if rollout.get("stage") else ""
    message = f": {rollout['message']}" if rollout.get("message") else ""
    return (
        f"{template}: revision {rollout.get('revision')} ({rollout.get('strategy')}) "
        f"{rollout.get('phase')}{stage}{message}"
    )


def render_status(rollout: Mapping[str, Any], template: str) -> str:
    rows = [
        [
            c.get("stage") or "-",
            c.get("name"),
            c.get("revision") if c.get("revision") is not None else "-",
            c.get("state"),
            c.get("message") or "",
        ]
        for c in rollout.get("clusters") or []
    ]
    body = (
        output.table(("STAGE", "CLUSTER", "REVISION", "STATE", "MESSAGE"), rows) if rows else "No clusters."
    )
    return f"{summary(rollout, template)}\n{body}"


def render_history(revisions: list[dict[str, Any]], current: int | None) -> str:
    rows = []
    for item in revisions:
        spec = item.get("spec") or {}
        number = spec.get("revision")
        rows.append(
            [
                number,
                "*" if number == current else "",
                output.age((item.get("metadata") or {}).get("creationTimestamp")),
                _change(spec.get("content") or {}),
            ]
        )
    return output.table(("REVISION", "CURRENT", "AGE", "CONTENT"), rows)


def _change(content: Mapping[str, Any]) -> str:
    """The images of a workload revision (what people compare); for other kinds (ConfigMaps,
    ClusterRoles...) a short digest of the content, so equal revisions read equal; "-" if empty."""
    pod = ((content.get("spec") or {}).get("template") or {}).get("spec") or {}
    images = [str(c.get("image")) for c in pod.get("containers") or [] if c.get("image")]
    if images:
        return ",".join(images)
    return f"digest {revision.content_digest(content)[:12]}" if content else "-"


def pick_revision(
    revisions: list[dict[str, Any]], *, current: int, content: Any, to: int | None
) -> dict[str, Any]:
    """The revision ``undo`` restores: ``to``, else the newest older one that differs from now."""
    numbers = [int((r.get("spec") or {}).get("revision") or 0) for r in revisions]
    if to is not None:
        for item, number in zip(revisions, numbers, strict=True):
            if number == to:
                return item
        kept = ", ".join(str(n) for n in sorted(numbers)) or "none"
        raise UsageError(f"--to-revision {to}: no such revision (kept: {kept})")
    older = [
        (number, item)
        for item, number in zip(revisions, numbers, strict=True)
        if number < current and (item.get("spec") or {}).get("content") != content
    ]
    if not older:
        raise CommandFailed("no earlier revision to go back to (`waybill rollout history` lists them)")
    return max(older, key=lambda pair: pair[0])[1]


def approval_problem(strategy: Mapping[str, Any] | None, stage: str | None, where: str) -> str | None:
    """Why ``approve --stage`` is wrong for this policy's strategy, naming the field; None if fine."""
    if not stage:
        return "approve needs --stage NAME"
    if not strategy or strategy.get("type") != "Staged":
        kind = (strategy or {}).get("type") or "All"
        return f"{where}: spec.rolloutStrategy.type is {kind}, not Staged: there are no stages to approve"
    stages = ((strategy.get("staged") or {}).get("stages")) or []
    for index, item in enumerate(stages):
        if item.get("name") == stage:
            if not (item.get("after") or {}).get("approval"):
                field = f"spec.rolloutStrategy.staged.stages[{index}].after.approval"
                return f"{where}: {field} is not set for {stage!r}: nothing to approve"
            return None
    known = ", ".join(str(s.get("name")) for s in stages)
    return f"{where}: spec.rolloutStrategy.staged.stages has no stage {stage!r} (stages: {known})"


# ---- the command ---------------------------------------------------------------------------------
def run(args: argparse.Namespace) -> int:
    word, name = kinds.parse_target(args.target)
    loaded = connect.load(args)
    namespace = args.namespace or loaded.namespace or "default"

    async def main(hub_api: KubeClient) -> int:
        info = await templates.resolve_kind(hub_api, word)
        where = f"{info.kind} {namespace + '/' if info.namespaced else ''}{name}"
        binding = await templates.find_binding(hub_api, info=info, name=name, namespace=namespace)
        if binding is None:
            raise CommandFailed(f"no binding for {where} (is it claimed by a propagation policy?)")
        policy = await _policy(hub_api, binding)
        strategy = ((policy or {}).get("spec") or {}).get("rolloutStrategy")
        if args.action == "status":
            return await _status(
                hub_api,
                binding,
                info=info,
                where=where,
                watch=args.watch,
                give_up_after=args.timeout,
                strategy=strategy,
            )
        scope = namespace if info.namespaced else None
        if args.action == "history":
            return await _history(hub_api, binding, info=info, name=name, namespace=scope, where=where)
        if args.action == "undo":
            return await _undo(
                hub_api, binding, info=info, name=name, namespace=scope, where=where, to=args.to_revision
            )
        if not strategy or strategy.get("type", "All") == "All":
            raise UsageError(
                f"{where}: its policy has no RollingUpdate or Staged spec.rolloutStrategy to {args.action}"
            )
        if args.action == "approve":
            problem = approval_problem(strategy, args.stage, where)
            if problem:
                raise UsageError(problem)
            rollout = (binding.get("status") or {}).get("rollout")
            if not rollout:
                raise UsageError(f"{where}: no rollout in progress (status.rollout is not set yet)")
            annotations = (binding.get("metadata") or {}).get("annotations") or {}
            try:
                approvals = json.loads(annotations.get(names.ANNOTATION_ROLLOUT_APPROVALS) or "{}")
            except ValueError:
                approvals = {}
            approvals = approvals if isinstance(approvals, dict) else {}
            approvals[str(args.stage)] = int(rollout["revision"])
            await _annotate(
                hub_api, binding, {names.ANNOTATION_ROLLOUT_APPROVALS: json.dumps(approvals, sort_keys=True)}
            )
            print(f"{where}: stage {args.stage} approved for revision {rollout['revision']}")
            return 0
        paused = args.action == "pause"
        await _annotate(hub_api, binding, {names.ANNOTATION_ROLLOUT_PAUSED: "true" if paused else None})
        print(f"{where}: rollout {'paused' if paused else 'resumed'}")
        return 0

    return run_async(main, loaded)


async def _policy(hub_api: KubeClient, binding: Mapping[str, Any]) -> dict[str, Any] | None:
    ref = (binding.get("spec") or {}).get("policy") or {}
    if not ref.get("name"):
        return None
    try:
        return await hub_api.get(
            names.POLICY_API_VERSION,
            str(ref.get("kind")),
            name=str(ref["name"]),
            namespace=ref.get("namespace"),
        )
    except NotFound:  # a policy removed meanwhile reads as "no strategy"
        return None


async def _annotate(
    hub_api: KubeClient, binding: Mapping[str, Any], annotations: dict[str, str | None]
) -> None:
    meta = binding.get("metadata") or {}
    await hub_api.patch(
        names.WORK_API_VERSION,
        str(binding.get("kind")),
        name=str(meta.get("name")),
        namespace=meta.get("namespace") or None,
        patch={"metadata": {"annotations": annotations}},
    )


def cluster_changes(
    before: Mapping[str, str], rollout: Mapping[str, Any]
) -> tuple[dict[str, str], list[str]]:
    """Per-cluster states now, and a line for each cluster whose state changed since ``before``."""
    now: dict[str, str] = {}
    lines: list[str] = []
    for cluster in rollout.get("clusters") or []:
        name = str(cluster.get("name"))
        stage = f" ({cluster['stage']})" if cluster.get("stage") else ""
        state = str(cluster.get("state"))
        now[name] = state
        if before and before.get(name) != state:  # (the first pass prints the table instead)
            message = f": {cluster['message']}" if cluster.get("message") else ""
            lines.append(f"  {name}{stage}: {state}{message}")
    return now, lines


NOT_STAGED = "NotStaged"  # hub.rollout.REASON_NOT_ROLLED_OUT (Secrets)


def not_rolled_out(binding: Mapping[str, Any]) -> str | None:
    """The hub's reason this template is not rolled out (``NotStaged``), if it gave one."""
    for condition in (binding.get("status") or {}).get("conditions") or []:
        if (
            condition.get("type") == names.CONDITION_ROLLOUT_PROGRESSING
            and condition.get("reason") == NOT_STAGED
        ):
            return str(condition.get("message") or "not rolled out")
    return None


async def _status(
    hub_api: KubeClient,
    binding: dict[str, Any],
    *,
    info: ResourceInfo,
    where: str,
    watch: bool,
    give_up_after: float,
    strategy: Mapping[str, Any] | None,
) -> int:
    meta = binding.get("metadata") or {}
    rollout = (binding.get("status") or {}).get("rollout")
    if not strategy or strategy.get("type", "All") == "All":
        raise CommandFailed(
            f"{where}: no rollout (its policy sets no RollingUpdate or Staged spec.rolloutStrategy)"
        )
    if not watch:
        if not rollout:
            reason = not_rolled_out(binding)
            raise CommandFailed(f"{where}: {reason}" if reason else f"{where}: no rollout started yet")
        print(render_status(rollout, where))
        return 0
    deadline = time.monotonic() + give_up_after if give_up_after > 0 else None
    shown: str | None = None
    states: dict[str, str] = {}
    while True:
        reason = not_rolled_out(binding)
        if reason is not None:
            raise CommandFailed(f"{where}: {reason}")
        generation = await _generation(hub_api, binding, info, rollout)
        if rollout and (generation is None or rollout.get("revision") == generation):
            if shown is None:
                print(render_status(rollout, where), flush=True)
                shown = summary(rollout, where)
            states, lines = cluster_changes(states, rollout)
            for line in lines:
                print(line, flush=True)
            line = summary(rollout, where)
            if line != shown:
                print(line, flush=True)
                shown = line
            phase = str(rollout.get("phase"))
            if phase in FINAL_PHASES:
                if phase != "Complete":
                    print(render_status(rollout, where), flush=True)
                return FINAL_PHASES[phase]
        if deadline is not None and time.monotonic() > deadline:
            raise CommandFailed(f"{where}: timed out waiting for the rollout ({shown or 'not started'})")
        await asyncio.sleep(FOLLOW_INTERVAL)
        binding = await hub_api.get(
            names.WORK_API_VERSION,
            str(binding.get("kind")),
            name=str(meta.get("name")),
            namespace=meta.get("namespace"),
        )
        rollout = (binding.get("status") or {}).get("rollout")


async def _generation(
    hub_api: KubeClient, binding: Mapping[str, Any], info: ResourceInfo, rollout: Mapping[str, Any] | None
) -> int | None:
    """The revision to follow: the template's generation; for a kind without one, the rollout's
    revision once it numbers the template's current content (-1 before: keep waiting)."""
    resource = (binding.get("spec") or {}).get("resource") or {}
    try:
        template = await hub_api.get(
            info.api_version, info.kind, name=str(resource.get("name")), namespace=resource.get("namespace")
        )
    except NotFound:  # a template deleted meanwhile: follow what the binding says
        return None
    return current_revision(template, rollout, [])


def current_revision(
    template: Mapping[str, Any], rollout: Mapping[str, Any] | None, revisions: list[dict[str, Any]]
) -> int:
    """The template's revision number: ``metadata.generation``; for a kind without one (ConfigMap,
    ClusterRole, ...) the number the hub gave its content (``status.rollout`` while its
    ``contentDigest`` matches, else the newest kept revision with the same content); -1 when the
    hub has not numbered this content yet."""
    generation = (template.get("metadata") or {}).get("generation")
    if isinstance(generation, int):
        return generation
    digest = revision.content_digest(template)
    if rollout and rollout.get("contentDigest") == digest and isinstance(rollout.get("revision"), int):
        return int(rollout["revision"])
    content = revision.content_of(template)
    if revisions and (revisions[-1].get("spec") or {}).get("content") == content:
        return int(revisions[-1]["spec"].get("revision") or 0)
    return -1


async def _revisions(
    hub_api: KubeClient, *, info: ResourceInfo, name: str, namespace: str | None
) -> list[dict[str, Any]]:
    """The template's kept revisions (ClusterTemplateRevisions for a cluster-scoped one), oldest first."""
    found = await hub_api.list(
        names.WORK_API_VERSION,
        revision.revision_kind(namespace),
        namespace=namespace,
        label_selector=revision.label_selector(info.api_version, info.kind, name),
    )
    items = [r for r in found.items if ((r.get("spec") or {}).get("template") or {}).get("name") == name]
    return sorted(items, key=lambda r: int((r.get("spec") or {}).get("revision") or 0))


async def _history(
    hub_api: KubeClient,
    binding: Mapping[str, Any],
    *,
    info: ResourceInfo,
    name: str,
    namespace: str | None,
    where: str,
) -> int:
    items = await _revisions(hub_api, info=info, name=name, namespace=namespace)
    if not items:
        raise CommandFailed(f"{where}: no revisions kept (its policy sets no spec.rolloutStrategy?)")
    template = await hub_api.get(info.api_version, info.kind, name=name, namespace=namespace)
    rollout = (binding.get("status") or {}).get("rollout")
    print(render_history(items, current_revision(template, rollout, items)))
    return 0


async def _undo(
    hub_api: KubeClient,
    binding: Mapping[str, Any],
    *,
    info: ResourceInfo,
    name: str,
    namespace: str | None,
    where: str,
    to: int | None,
) -> int:
    items = await _revisions(hub_api, info=info, name=name, namespace=namespace)
    template = await hub_api.get(info.api_version, info.kind, name=name, namespace=namespace)
    current = current_revision(template, (binding.get("status") or {}).get("rollout"), items)
    if current < 0:  # content the hub has not numbered yet: newer than every kept revision
        current = max((int((r.get("spec") or {}).get("revision") or 0) for r in items), default=0) + 1
    chosen = pick_revision(items, current=current, content=revision.content_of(template), to=to)
    spec = chosen.get("spec") or {}
    patch = revision.restore_patch(template, spec.get("content") or {})
    if not patch:
        print(f"{where}: already at the content of revision {spec.get('revision')}")
        return 0
    written = await hub_api.patch(info.api_version, info.kind, name=name, namespace=namespace, patch=patch)
    generation = (written.get("metadata") or {}).get("generation")
    now = f"now generation {generation}" if isinstance(generation, int) else "a new revision"
    print(f"{where}: rolled back to revision {spec.get('revision')} ({now})")
    return 0
