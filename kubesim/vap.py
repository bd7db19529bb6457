"""ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding (admissionregistration.k8s.io/v1).

``PolicyAdmission`` is a store admitter plus a DELETE hook. For every API write it finds the
bindings whose policy matches the request (``matchConstraints`` and the binding's
``matchResources``: resource rules with subresources and operations, excluded rules, resource
names, namespace and object selectors, ``matchPolicy``), checks ``matchConditions``, then
evaluates the policy's ``validations`` with CEL (``kubesim.cel``) over ``object``,
``oldObject``, ``request`` (``userInfo.username``/``groups``, ``operation``, ``subResource``,
...), ``namespaceObject`` and ``variables``. A failed validation with ``Deny`` answers as
kube-apiserver does::

    422 Invalid: works.work.waybill.dev "w" is forbidden: ValidatingAdmissionPolicy 'p' with
    binding 'b' denied request: <message>

(``reason`` Forbidden/Unauthorized/RequestEntityTooLarge picks 403/401/413); ``Warn`` adds a
``Warning`` header. What kubesim does not implement is refused when the policy or binding is
written (422 naming the field): ``paramKind``/``paramRef``, ``auditAnnotations``, the ``Audit``
action, expressions using ``authorizer``. Writes by in-process controllers (no HTTP request)
are not subject to policies.
"""

from __future__ import annotations

import contextvars
import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from kubesim import cel, errors, selectors
from kubesim.auth import User
from kubesim.registry import ResourceType
from kubesim.store import Store

Obj = dict[str, Any]
GROUP = "admissionregistration.k8s.io"
POLICIES = (GROUP, "validatingadmissionpolicies")
BINDINGS = (GROUP, "validatingadmissionpolicybindings")
_REASON_CODES = {"Invalid": 422, "Forbidden": 403, "Unauthorized": 401, "RequestEntityTooLarge": 413}
_AUTHORIZER = re.compile(r"\bauthorizer\b")


@dataclass(frozen=True)
class Request:
    """The admission attributes of one API write (set by the HTTP layer)."""

    operation: str  # DELETE, or "" for a write (CREATE or UPDATE, decided by the store)
    user: User
    target: tuple[str, str, str, str]  # group, plural, namespace, name ("" name: a create)
    subresource: str = ""
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list, compare=False)

    def concerns(self, rtype: ResourceType, obj: Obj) -> bool:
        """Whether ``obj`` is the request's own object (not a follow-up write of the server's)."""
        md = obj.get("metadata") or {}
        group, plural, namespace, name = self.target
        return (
            (rtype.group, rtype.plural) == (group, plural)
            and (md.get("namespace") or "") == namespace
            and (not name or md.get("name") == name)
        )


request_var: contextvars.ContextVar[Request | None] = contextvars.ContextVar(
    "kubesim_admission", default=None
)


# -------------------------------------------------------------------- refusing what is not built


def _cause(field_path: str, message: str, reason: str = "FieldValueForbidden") -> dict[str, str]:
    return {"reason": reason, "field": field_path, "message": message}


def _expression_causes(expression: Any, field_path: str) -> list[dict[str, str]]:
    if not isinstance(expression, str) or not expression.strip():
        return [_cause(field_path, "Required value", "FieldValueRequired")]
    if _AUTHORIZER.search(expression):
        return [_cause(field_path, "Forbidden: the authorizer variable is not supported by kubesim")]
    try:
        cel.compile_expression(expression)
    except cel.CelError as exc:
        return [_cause(field_path, f"Invalid value: {expression!r}: {exc}", "FieldValueInvalid")]
    return []


def policy_problems(policy: Obj) -> list[dict[str, str]]:
    """Why a ValidatingAdmissionPolicy is refused (empty: accepted)."""
    spec = policy.get("spec") or {}
    causes: list[dict[str, str]] = []
    if spec.get("paramKind") is not None:
        causes.append(_cause("spec.paramKind", "Forbidden: policy parameters are not supported by kubesim"))
    if spec.get("auditAnnotations"):
        causes.append(
            _cause("spec.auditAnnotations", "Forbidden: audit annotations are not supported by kubesim")
        )
    if spec.get("failurePolicy", "Fail") not in ("Fail", "Ignore"):
        causes.append(
            _cause(
                "spec.failurePolicy",
                f'Unsupported value: "{spec.get("failurePolicy")}": supported values: "Fail", "Ignore"',
                "FieldValueNotSupported",
            )
        )
    policy_name = (spec.get("matchConstraints") or {}).get("matchPolicy", "Equivalent")
    if policy_name not in ("Equivalent", "Exact"):
        causes.append(
            _cause(
                "spec.matchConstraints.matchPolicy",
                f'Unsupported value: "{policy_name}": supported values: "Equivalent", "Exact"',
                "FieldValueNotSupported",
            )
        )
    if not isinstance(spec.get("matchConstraints"), dict) or not spec["matchConstraints"].get(
        "resourceRules"
    ):
        causes.append(_cause("spec.matchConstraints.resourceRules", "Required value", "FieldValueRequired"))
    if not spec.get("validations"):
        causes.append(
            _cause(
                "spec.validations",
                "Required value: validations or auditAnnotations must contain at least one item",
                "FieldValueRequired",
            )
        )
    for i, v in enumerate(spec.get("validations") or []):
        v = v if isinstance(v, dict) else {}
        causes += _expression_causes(v.get("expression"), f"spec.validations[{i}].expression")
        if v.get("messageExpression"):
            causes += _expression_causes(v["messageExpression"], f"spec.validations[{i}].messageExpression")
        if v.get("reason") is not None and v["reason"] not in _REASON_CODES:
            supported = ", ".join(
                f'"{r}"' for r in ("Forbidden", "Invalid", "RequestEntityTooLarge", "Unauthorized")
            )
            causes.append(
                _cause(
                    f"spec.validations[{i}].reason",
                    f'Unsupported value: "{v["reason"]}": supported values: {supported}',
                    "FieldValueNotSupported",
                )
            )
    for i, c in enumerate(spec.get("matchConditions") or []):
        c = c if isinstance(c, dict) else {}
        causes += _expression_causes(c.get("expression"), f"spec.matchConditions[{i}].expression")
    for i, v in enumerate(spec.get("variables") or []):
        v = v if isinstance(v, dict) else {}
        if not v.get("name"):
            causes.append(_cause(f"spec.variables[{i}].name", "Required value", "FieldValueRequired"))
        causes += _expression_causes(v.get("expression"), f"spec.variables[{i}].expression")
    return causes


def binding_problems(binding: Obj) -> list[dict[str, str]]:
    """Why a ValidatingAdmissionPolicyBinding is refused (empty: accepted)."""
    spec = binding.get("spec") or {}
    causes: list[dict[str, str]] = []
    if not spec.get("policyName"):
        causes.append(_cause("spec.policyName", "Required value", "FieldValueRequired"))
    if spec.get("paramRef") is not None:
        causes.append(_cause("spec.paramRef", "Forbidden: policy parameters are not supported by kubesim"))
    actions = spec.get("validationActions") or []
    if not actions:
        causes.append(_cause("spec.validationActions", "Required value", "FieldValueRequired"))
    for i, action in enumerate(actions):
        if action == "Audit":
            causes.append(
                _cause(
                    f"spec.validationActions[{i}]",
                    'Forbidden: the "Audit" action is not supported by kubesim',
                )
            )
        elif action not in ("Deny", "Warn"):
            causes.append(
                _cause(
                    f"spec.validationActions[{i}]",
                    f'Unsupported value: "{action}": supported values: "Audit", "Deny", "Warn"',
                    "FieldValueNotSupported",
                )
            )
    if "Deny" in actions and "Warn" in actions:
        causes.append(
            _cause(
                "spec.validationActions",
                'Forbidden: may not contain both "Deny" and "Warn"',
                "FieldValueForbidden",
            )
        )
    return causes


# -------------------------------------------------------------------------------- matching


def _rule_matches(
    rule: Obj, rtype: ResourceType, request: Request, name: str, *, equivalent: frozenset[str] = frozenset()
) -> bool:
    """``equivalent``: the resource's served versions (``matchPolicy: Equivalent``)."""

    def listed(values: Any, value: str) -> bool:
        return isinstance(values, list) and ("*" in values or value in values)

    if not listed(rule.get("operations"), request.operation):
        return False
    versions = rule.get("apiVersions")
    version_ok = listed(versions, rtype.version) or (
        isinstance(versions, list) and any(v in equivalent for v in versions)
    )
    if not listed(rule.get("apiGroups"), rtype.group) or not version_ok:
        return False
    scope = rule.get("scope", "*")
    if (scope == "Namespaced" and not rtype.namespaced) or (scope == "Cluster" and rtype.namespaced):
        return False
    wanted = f"{rtype.plural}/{request.subresource}" if request.subresource else rtype.plural
    ok = False
    for entry in rule.get("resources") or []:
        res, _, sub = str(entry).partition("/")
        if request.subresource:
            ok = (res in ("*", rtype.plural)) and sub in ("*", request.subresource)
        else:
            ok = res in ("*", rtype.plural) and not sub
        if ok or entry == wanted:
            ok = True
            break
    if not ok:
        return False
    names = rule.get("resourceNames") or []
    return not names or name in names


def _matches(
    match: Obj,
    rtype: ResourceType,
    request: Request,
    obj: Obj | None,
    old: Obj | None,
    namespace_labels: dict[str, str] | None,
    *,
    versions: frozenset[str] = frozenset(),
) -> bool:
    name = ((obj or old or {}).get("metadata") or {}).get("name", "")
    if match.get("matchPolicy", "Equivalent") not in ("Equivalent", "Exact"):
        return False  # refused when the policy is written
    equivalent = versions if match.get("matchPolicy", "Equivalent") == "Equivalent" else frozenset()
    rules = match.get("resourceRules") or []
    if rules and not any(_rule_matches(r, rtype, request, name, equivalent=equivalent) for r in rules):
        return False
    excluded = match.get("excludeResourceRules") or []
    if any(_rule_matches(r, rtype, request, name, equivalent=equivalent) for r in excluded):
        return False
    ns_selector = match.get("namespaceSelector")
    if (
        ns_selector
        and rtype.namespaced
        and not selectors.match_selector_dict(ns_selector, namespace_labels or {})
    ):
        return False
    obj_selector = match.get("objectSelector")
    if obj_selector:
        labels = [((o or {}).get("metadata") or {}).get("labels") or {} for o in (obj, old) if o is not None]
        if not any(selectors.match_selector_dict(obj_selector, lab) for lab in labels):
            return False
    return True


# ------------------------------------------------------------------------------ evaluation


@dataclass(frozen=True)
class Denial:
    policy: str
    binding: str
    message: str
    reason: str


def _request_object(rtype: ResourceType, request: Request, obj: Obj | None, old: Obj | None) -> Obj:
    md = (obj or old or {}).get("metadata") or {}
    user = request.user
    return {
        "kind": {"group": rtype.group, "version": rtype.version, "kind": rtype.kind},
        "resource": {"group": rtype.group, "version": rtype.version, "resource": rtype.plural},
        "requestKind": {"group": rtype.group, "version": rtype.version, "kind": rtype.kind},
        "requestResource": {"group": rtype.group, "version": rtype.version, "resource": rtype.plural},
        "subResource": request.subresource,
        "name": md.get("name", ""),
        "namespace": md.get("namespace", ""),
        "operation": request.operation,
        "userInfo": {
            "username": user.name,
            "uid": user.uid,
            "groups": list(user.groups),
            "extra": dict(user.extra),
        },
        "dryRun": request.dry_run,
    }


def evaluate_policy(
    policy: Obj,
    *,
    binding_name: str,
    rtype: ResourceType,
    request: Request,
    obj: Obj | None,
    old: Obj | None,
    namespace: Obj | None,
) -> Denial | None:
    """The denial of one bound policy for one request, or None (allowed, or not applicable)."""
    spec = policy.get("spec") or {}
    name = policy["metadata"]["name"]
    ignore_errors = spec.get("failurePolicy", "Fail") == "Ignore"
    activation: dict[str, Any] = {
        "object": cel.to_cel(obj),
        "oldObject": cel.to_cel(old),
        "request": cel.to_cel(_request_object(rtype, request, obj, old)),
        "params": cel.to_cel(None),
        "namespaceObject": cel.to_cel(namespace),
    }
    variables: dict[str, Any] = {}
    activation["variables"] = cel.to_cel({})
    for var in spec.get("variables") or []:
        try:
            variables[var["name"]] = cel.evaluate(var["expression"], activation)
        except cel.CelError:
            continue  # an error only matters to an expression that uses it (then it fails there)
        activation["variables"] = _cel_map(variables)

    def failure(expression: str, exc: cel.CelError) -> Denial | None:
        if ignore_errors:
            return None
        return Denial(name, binding_name, f"expression '{expression}' resulted in error: {exc}", "Invalid")

    for cond in spec.get("matchConditions") or []:
        try:
            result = cel.evaluate(cond["expression"], activation)
        except cel.CelError as exc:
            return failure(cond["expression"], exc)
        if not bool(result):
            return None
    for validation in spec.get("validations") or []:
        expression = validation["expression"]
        try:
            result = cel.evaluate(expression, activation)
        except cel.CelError as exc:
            denied = failure(expression, exc)
            if denied is not None:
                return denied
            continue
        if bool(result):
            continue
        message = str(validation.get("message") or "").strip() or f"failed expression: {expression.strip()}"
        if validation.get("messageExpression"):
            try:
                evaluated = cel.evaluate(validation["messageExpression"], activation)
                if isinstance(evaluated, str) and evaluated.strip() and "\n" not in evaluated:
                    message = evaluated.strip()
            except cel.CelError:
                pass  # kube-apiserver falls back to the message
        return Denial(name, binding_name, message, str(validation.get("reason") or "Invalid"))
    return None


def _cel_map(values: dict[str, Any]) -> Any:
    from celpy import celtypes

    return celtypes.MapType({celtypes.StringType(k): v for k, v in values.items()})


class PolicyAdmission:
    """Enforces the stored policies on API writes; refuses policies it cannot enforce."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.admitters.append(self._admit)

    def _admit(self, rtype: ResourceType, obj: Obj, old: Obj | None) -> Obj:
        if rtype.key == POLICIES:
            causes = policy_problems(obj)
            if causes:
                raise errors.invalid(
                    group=GROUP, kind=rtype.kind, name=obj["metadata"].get("name", ""), causes=causes
                )
        elif rtype.key == BINDINGS:
            causes = binding_problems(obj)
            if causes:
                raise errors.invalid(
                    group=GROUP, kind=rtype.kind, name=obj["metadata"].get("name", ""), causes=causes
                )
        if not self.store.holds_any(BINDINGS):
            return obj  # no binding: no policy applies (the common case, kept cheap)
        request = request_var.get()
        if request is not None and not request.operation and request.concerns(rtype, obj):
            operation = "CREATE" if old is None else "UPDATE"
            self.check(rtype, dataclasses.replace(request, operation=operation), obj=obj, old=old)
        return obj

    def check(self, rtype: ResourceType, request: Request, *, obj: Obj | None, old: Obj | None) -> None:
        """Raise the denial of the first bound policy that denies this request; collect warnings."""
        if not self.store.holds_any(BINDINGS):
            return
        policy_type = self.store.registry.lookup(GROUP, "v1", "validatingadmissionpolicies")
        binding_type = self.store.registry.lookup(GROUP, "v1", "validatingadmissionpolicybindings")
        if policy_type is None or binding_type is None:
            return
        bindings = self.store.scan(binding_type)
        if not bindings:
            return
        namespace: Obj | None = None
        ns_name = ((obj or old or {}).get("metadata") or {}).get("namespace")
        if rtype.namespaced and ns_name:
            ns_type = self.store.registry.lookup("", "v1", "namespaces")
            namespace = self.store.peek(ns_type, ns_name) if ns_type is not None else None
        ns_labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
        served = self.store.registry.crd_types(rtype.crd) if rtype.crd else (rtype,)
        versions = frozenset(t.version for t in served)
        for binding in sorted(bindings, key=lambda b: str(b["metadata"]["name"])):
            spec = binding.get("spec") or {}
            policy = self.store.peek(policy_type, str(spec.get("policyName", "")))
            if policy is None:
                continue
            constraints = (policy.get("spec") or {}).get("matchConstraints") or {}
            if not _matches(constraints, rtype, request, obj, old, ns_labels, versions=versions):
                continue
            if spec.get("matchResources") and not _matches(
                spec["matchResources"], rtype, request, obj, old, ns_labels, versions=versions
            ):
                continue
            denial = evaluate_policy(
                policy,
                binding_name=str(binding["metadata"]["name"]),
                rtype=rtype,
                request=request,
                obj=obj,
                old=old,
                namespace=namespace,
            )
            if denial is None:
                continue
            if "Deny" in (spec.get("validationActions") or []):
                raise _denied(rtype, denial, name=((obj or old or {}).get("metadata") or {}).get("name", ""))
            request.warnings.append(
                f"Validation failed for ValidatingAdmissionPolicy '{denial.policy}' with binding "
                f"'{denial.binding}': {denial.message}"
            )


def _denied(rtype: ResourceType, denial: Denial, *, name: str) -> errors.ApiError:
    cause = (
        f"ValidatingAdmissionPolicy '{denial.policy}' with binding '{denial.binding}' "
        f"denied request: {denial.message}"
    )
    resource = f"{rtype.plural}.{rtype.group}" if rtype.group else rtype.plural
    subject = f'{resource} "{name}"' if name else resource
    details: Obj = {"name": name}
    if rtype.group:
        details["group"] = rtype.group
    details.update({"kind": rtype.plural, "causes": [{"message": cause}]})
    return errors.ApiError(
        code=_REASON_CODES.get(denial.reason, 422),
        reason=denial.reason,
        message=f"{subject} is forbidden: {cause}",
        details=details,
    )
