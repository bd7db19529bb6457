"""The hub's calls into the resource interpreter (pure).

The hub reads four things out of a template that a ResourceInterpreterCustomization can define
for its kind (``shared.interpreter``): how many replicas it declares and what each needs
(``replicas``, for scheduling and division), how one member's share is written into its manifest
(``revise``, for rendering), how the members' reflected statuses sum up on the template
(``aggregate``, for the status controller) and what must go along with it (``dependencies``, for
``propagateDeps``). For each, a customization of the kind (or a defaults-layer one such as the
``--replica-path`` shorthand) wins; without one the hub keeps its own built-in rules for
Kubernetes' kinds (``hub.replica_paths``, ``hub.replicas.pod_requests``, ``hub.aggregation``,
``hub.dependencies``), exactly as before the interpreter existed.

A script's failure is an ``InterpreterError`` naming the customization and the operation; the
callers turn it into a condition (``REASON_INTERPRETATION_FAILED``) and keep their last good
output. ``agent_customizations`` picks what the agent needs of the customizations (health,
status reflection, retention) to copy into a Work: agents cannot read the hub's cluster-scoped
objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub import aggregation, reasons
from hub import dependencies as deps
from hub import replicas as replica_math
from hub.conditions import WantedCondition
from hub.replica_paths import DEFAULT_REPLICA_PATHS, replica_path, set_path, template_replicas
from shared.api.quantity import QuantityError, parse_quantity
from shared.interpreter import Interpreter, InterpreterError, KindKey, Operation
from shared.interpreter.errors import InvalidScriptResult
from shared.interpreter.shorthands import replica_path_customization

REASON_INTERPRETATION_FAILED = "InterpretationFailed"
CONDITION_STATUS_AGGREGATED = "StatusAggregated"
CONDITION_DEPENDENCIES_RESOLVED = "DependenciesResolved"
REASON_AGGREGATED = "Aggregated"
REASON_DEPENDENCIES_RESOLVED = "Resolved"
# The operations the agent runs on the member; the hub copies their scripts into the Works.
AGENT_OPERATIONS = (Operation.RETAIN, Operation.INTERPRET_STATUS, Operation.INTERPRET_HEALTH)
_AGENT_FIELDS = {
    "retention": Operation.RETAIN.field,
    "statusReflection": Operation.INTERPRET_STATUS.field,
    "healthInterpretation": Operation.INTERPRET_HEALTH.field,
}


def shorthand_defaults(replica_paths: Mapping[tuple[str, str], str]) -> list[dict[str, Any]]:
    """``--replica-path GROUP/KIND=PATH`` entries as defaults-layer customizations.

    Entries equal to the hub's built-in table are left out (the built-in rule already says so).
    """
    out = []
    for (group, kind), path in sorted(replica_paths.items()):
        if DEFAULT_REPLICA_PATHS.get((group, kind)) == path:
            continue
        out.append(replica_path_customization(group=group, kind=kind, path=path))
    return out


def target_kind(customization: Mapping[str, Any]) -> KindKey:
    """The kind (group and kind, any version) a customization (wire form) describes."""
    target = (customization.get("spec") or {}).get("target") or {}
    return KindKey.parse(str(target.get("apiVersion") or ""), str(target.get("kind") or ""))


def describe(error: InterpreterError) -> str:
    """A condition message: the customization, the operation, what went wrong and its reason."""
    return f"{error} ({error.reason})"


def _customized(interpreter: Interpreter | None, obj: Mapping[str, Any], operation: Operation) -> bool:
    return interpreter is not None and interpreter.rule_for(obj, operation) is not None


def _requests(name: str, requirements: Mapping[str, Any] | None) -> dict[str, float]:
    request = (requirements or {}).get("resourceRequest") or {}
    if not isinstance(request, Mapping):
        raise InvalidScriptResult(
            customization=name,
            operation=Operation.INTERPRET_REPLICA.value,
            message="the requirement's resourceRequest must be a table",
        )
    out: dict[str, float] = {}
    for resource, quantity in request.items():
        try:
            out[str(resource)] = float(parse_quantity(quantity))
        except (QuantityError, ValueError, TypeError):
            raise InvalidScriptResult(
                customization=name,
                operation=Operation.INTERPRET_REPLICA.value,
                message=f"resourceRequest.{resource}: {quantity!r} is not a quantity",
            ) from None
    return out


def replicas(
    template: Mapping[str, Any], interpreter: Interpreter | None = None
) -> tuple[int | None, dict[str, float]]:
    """The replicas to divide (None: the kind has none) and one replica's resource requests.

    Raises ``InterpreterError`` when the kind's customization fails.
    """
    if interpreter is not None:
        name = interpreter.rule_for(template, Operation.INTERPRET_REPLICA)
        if name is not None:
            result = interpreter.replicas(template)
            if result is None:  # pragma: no cover - a customization always answers
                return None, {}
            return result.replicas, _requests(name, result.requirements)
    total = template_replicas(template, DEFAULT_REPLICA_PATHS)
    return total, (replica_math.pod_requests(template) if total is not None else {})


def revise(
    manifest: dict[str, Any], replicas_: int | None, interpreter: Interpreter | None = None
) -> dict[str, Any]:
    """``manifest`` carrying one member's share of the replicas (None: leave it as it is).

    Raises ``InterpreterError`` when the kind's customization fails.
    """
    if replicas_ is None:
        return manifest
    if interpreter is not None and interpreter.rule_for(manifest, Operation.REVISE_REPLICA) is not None:
        revised = interpreter.revise_replicas(manifest, replicas_)
        return manifest if revised is None else revised
    path = replica_path(manifest, DEFAULT_REPLICA_PATHS)
    if path is not None:
        set_path(manifest, path, replicas_)
    return manifest


def aggregates(interpreter: Interpreter | None, template: Mapping[str, Any]) -> bool:
    """Whether a customization aggregates this kind's status (else ``hub.aggregation`` does)."""
    return _customized(interpreter, template, Operation.AGGREGATE_STATUS)


def aggregate(
    template: Mapping[str, Any], items: Sequence[Mapping[str, Any]], interpreter: Interpreter
) -> dict[str, Any] | None:
    """The template's status from the customization's ``AggregateStatus`` (None: it set none).

    ``items`` are the binding's ``aggregatedStatus`` entries (``status`` is each member's reflected
    status). Raises ``InterpreterError``.
    """
    wire = [{k: v for k, v in item.items() if k != "upToDate"} for item in items]
    desired = {k: v for k, v in template.items() if k != "status"}
    result = interpreter.aggregate_status(desired, wire)
    if result is None:
        return None
    status = result.get("status")
    if status is None:
        return None
    if not isinstance(status, dict):
        raise InvalidScriptResult(
            customization=interpreter.rule_for(template, Operation.AGGREGATE_STATUS) or "",
            operation=Operation.AGGREGATE_STATUS.value,
            message="the returned object's status must be a table",
        )
    return status


@dataclass(frozen=True)
class StatusOutcome:
    """What the status controller writes for one binding, as far as the interpreter decides.

    ``template_status``: the template's status to write (None: none, or keep the last good one);
    ``conditions``: StatusAggregated / DependenciesResolved for the binding, when they apply.
    """

    template_status: dict[str, Any] | None
    conditions: list[WantedCondition]


def status_outcome(
    *,
    template: Mapping[str, Any] | None,
    items: Sequence[Mapping[str, Any]],
    interpreter: Interpreter | None,
    propagates_deps: bool,
    existing: Sequence[Mapping[str, Any]] | None = None,
) -> StatusOutcome:
    """The template's status (a customization's AggregateStatus, else ``hub.aggregation``) and
    the binding conditions that report a failed script: ``StatusAggregated`` while a
    customization aggregates the kind, ``DependenciesResolved`` while one interprets its
    dependencies under ``propagateDeps``. A condition set earlier turns True once its rule is
    the built-in one again (``existing``: the binding's conditions). Never raises."""
    if template is None:
        return StatusOutcome(None, [])
    present = {str(c.get("type")) for c in existing or []}
    wanted: list[WantedCondition] = []
    status: dict[str, Any] | None
    if interpreter is not None and aggregates(interpreter, template):
        try:
            status = aggregate(template, items, interpreter)
        except InterpreterError as exc:
            status = None
            wanted.append(
                WantedCondition(
                    CONDITION_STATUS_AGGREGATED, "False", REASON_INTERPRETATION_FAILED, describe(exc)
                )
            )
        else:
            name = interpreter.rule_for(template, Operation.AGGREGATE_STATUS)
            wanted.append(
                WantedCondition(
                    CONDITION_STATUS_AGGREGATED,
                    "True",
                    REASON_AGGREGATED,
                    f"aggregated by ResourceInterpreterCustomization {name!r}",
                )
            )
    else:
        status = aggregation.template_status(template=template, items=items)
        if CONDITION_STATUS_AGGREGATED in present:
            wanted.append(
                WantedCondition(CONDITION_STATUS_AGGREGATED, "True", REASON_AGGREGATED, "the built-in rule")
            )
    if propagates_deps and _customized(interpreter, template, Operation.INTERPRET_DEPENDENCY):
        try:
            found = dependencies(template, interpreter)
        except InterpreterError as exc:
            wanted.append(
                WantedCondition(
                    CONDITION_DEPENDENCIES_RESOLVED,
                    "False",
                    REASON_INTERPRETATION_FAILED,
                    describe(exc) + "; the last good dependencies are kept",
                )
            )
        else:
            listed = ", ".join(str(ref) for ref in found) or "none"
            wanted.append(
                WantedCondition(CONDITION_DEPENDENCIES_RESOLVED, "True", REASON_DEPENDENCIES_RESOLVED, listed)
            )
    elif CONDITION_DEPENDENCIES_RESOLVED in present:
        wanted.append(
            WantedCondition(
                CONDITION_DEPENDENCIES_RESOLVED, "True", REASON_DEPENDENCIES_RESOLVED, "the built-in rule"
            )
        )
    return StatusOutcome(status, wanted)


def render_reason(problems: Sequence[str]) -> str:
    """The binding's Rendered=False reason for its members' render problems."""
    if problems and all(p.startswith(_INTERPRETER_PREFIX) for p in problems):
        return REASON_INTERPRETATION_FAILED
    return reasons.OVERRIDE_FAILED


_INTERPRETER_PREFIX = "ResourceInterpreterCustomization "


def dependencies(
    template: Mapping[str, Any], interpreter: Interpreter | None = None
) -> list[deps.DependencyRef]:
    """What ``propagateDeps`` carries along with ``template``: its customization's
    ``GetDependencies`` or the built-in rule (``hub.dependencies.dependencies_of``).

    A customization may name the kinds the hub propagates as dependencies
    (``hub.dependencies.DEPENDENCY_KINDS``) by name; anything else (another kind, a
    ``labelSelector``, another namespace) is refused with an ``InterpreterError``.
    """
    name = interpreter.rule_for(template, Operation.INTERPRET_DEPENDENCY) if interpreter else None
    if interpreter is None or name is None:
        return deps.dependencies_of(template)
    found = interpreter.dependencies(template) or []
    namespace = str((template.get("metadata") or {}).get("namespace") or "")
    out: set[deps.DependencyRef] = set()
    for index, ref in enumerate(found):

        def refuse(message: str, index: int = index) -> InvalidScriptResult:
            return InvalidScriptResult(
                customization=name,
                operation=Operation.INTERPRET_DEPENDENCY.value,
                message=f"dependency [{index}]: {message}",
            )

        if (ref.api_version, ref.kind) not in deps.DEPENDENCY_KINDS:
            kinds = ", ".join(kind for _, kind in deps.DEPENDENCY_KINDS)
            raise refuse(f"{ref.api_version} {ref.kind} is not a kind propagated as a dependency ({kinds})")
        if ref.name is None:
            raise refuse("a labelSelector is not supported: name the object")
        if ref.namespace not in (None, namespace):
            raise refuse(f"namespace {ref.namespace!r} is not the workload's ({namespace!r})")
        out.add(deps.DependencyRef(ref.api_version, ref.kind, namespace, ref.name))
    return sorted(out)


def binding_dependencies(
    policy_spec: Mapping[str, Any],
    template: Mapping[str, Any],
    interpreter: Interpreter | None,
    *,
    previous: Sequence[Mapping[str, Any]] | None,
) -> list[dict[str, str]]:
    """The binding's ``spec.dependencies`` (``hub.dependencies.binding_dependencies``) through
    the interpreter; on a script error the binding keeps ``previous`` (its last good list).
    Never raises."""
    if not deps.propagates_deps({"spec": policy_spec}):
        return []
    try:
        refs = dependencies(template, interpreter)
    except InterpreterError:
        return [dict(entry) for entry in previous or []]
    return [
        {"apiVersion": ref.api_version, "kind": ref.kind, "namespace": ref.namespace, "name": ref.name}
        for ref in refs
    ]


def listed_dependencies(binding: Mapping[str, Any] | None) -> list[deps.DependencyRef]:
    """The dependencies a binding lists in ``spec.dependencies`` (its last good list)."""
    out = []
    for entry in ((binding or {}).get("spec") or {}).get("dependencies") or []:
        if isinstance(entry, Mapping) and entry.get("kind") and entry.get("name"):
            out.append(
                deps.DependencyRef(
                    str(entry.get("apiVersion") or "v1"),
                    str(entry["kind"]),
                    str(entry.get("namespace") or ""),
                    str(entry["name"]),
                )
            )
    return out


def agent_customizations(
    manifests: Sequence[Mapping[str, Any]], interpreter: Interpreter | None
) -> list[dict[str, Any]]:
    """What a Work carries for its agent (``spec.interpreterCustomizations``): each
    customization that answers an agent operation for a carried manifest, with only those
    scripts (``retention``, ``statusReflection``, ``healthInterpretation``), sorted by name.
    One that only aggregates the kind's status is listed without scripts: the agent then reports
    the manifest's ``reflectedStatus`` by the built-in rule."""
    if interpreter is None:
        return []
    wanted: dict[str, set[str]] = {}
    for manifest in manifests:
        # AggregateStatus: the agent must reflect the status the hub aggregates (the default
        # rule when no statusReflection script is given)
        for operation in (*AGENT_OPERATIONS, Operation.AGGREGATE_STATUS):
            name = interpreter.rule_for(manifest, operation)
            if name is not None:
                wanted.setdefault(name, set()).add(operation.field)
    out = []
    for name in sorted(wanted):
        customization = interpreter.customization(name)
        if customization is None:  # a defaults-layer rule: the hub's own, not an agent operation
            continue
        wire = customization.to_dict()
        spec = wire.get("spec") or {}
        scripts = {
            field: script
            for field, script in (spec.get("customizations") or {}).items()
            if field in _AGENT_FIELDS and _AGENT_FIELDS[field] in wanted[name]
        }
        out.append({"name": name, "target": dict(spec.get("target") or {}), "customizations": scripts})
    return out


__all__ = [
    "CONDITION_DEPENDENCIES_RESOLVED",
    "CONDITION_STATUS_AGGREGATED",
    "REASON_INTERPRETATION_FAILED",
    "agent_customizations",
    "aggregate",
    "dependencies",
    "describe",
    "replicas",
    "revise",
]
