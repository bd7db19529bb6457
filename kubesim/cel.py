"""CEL: ``x-kubernetes-validations`` rules of CRD schemas, and expressions for admission policies.

Expressions are compiled and evaluated with cel-python (``celpy``), a maintained pure-Python CEL
implementation, plus the Kubernetes string and list extension functions Waybill's users reach
for (``lowerAscii``, ``split``, ``join``, ``isSorted``, ...). What this module decides, as
kube-apiserver's CRD validator does (``apiextensions-apiserver/pkg/apiserver/schema/cel``):

- a rule is evaluated on every non-null value of its schema node, with ``self`` the value (at
  the root: ``apiVersion``, ``kind``, ``metadata.name``/``generateName`` and the rest);
- a rule mentioning ``oldSelf`` is a *transition rule*: evaluated only on an update and only
  where the old value can be correlated (object properties, items of ``x-kubernetes-list-type:
  map`` lists by key; never in other lists);
- a failed rule reports ``<path>: Invalid value: "<schema type>": <message>``: ``message``, else
  the evaluated ``messageExpression``, else ``failed rule: <rule>``; ``reason`` picks Forbidden,
  Required or Duplicate instead, ``fieldPath`` moves the error below the node;
- an evaluation error reports ``<error> evaluating rule: <rule or message>``;
- cost: kube-apiserver meters every evaluation (1,000,000 per call, 10,000,000 per object).
  celpy has no cost meter, so the cost is *approximated* as the size of ``self`` raised to the
  number of comprehension macros in the rule (``all``, ``exists``, ``map``, ...), with the same
  limits and the same error texts.

Pure: no I/O; compiled programs are cached per expression.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError

from kubesim.schema import FieldError

__all__ = [
    "PER_CALL_LIMIT",
    "RUNTIME_BUDGET",
    "CelError",
    "compile_expression",
    "evaluate",
    "has_rules",
    "rule_problems",
    "to_cel",
    "validate",
]

JSON = Any
Schema = dict[str, Any]

PER_CALL_LIMIT = 1_000_000
RUNTIME_BUDGET = 10_000_000
_REASONS = ("FieldValueInvalid", "FieldValueForbidden", "FieldValueRequired", "FieldValueDuplicate")
_MACROS = re.compile(r"\.\s*(all|exists|exists_one|map|filter)\s*\(")
_OLD_SELF = re.compile(r"\boldSelf\b")
_OUT_OF_BUDGET = (
    "validation failed due to running out of cost budget, no further validation rules will be run"
)


class CelError(Exception):
    """An expression that does not compile, or an evaluation that failed (``str()`` says why)."""


# ------------------------------------------------------------------------ extension functions


def _s(value: str) -> celtypes.StringType:
    return celtypes.StringType(value)


def _split(text: str, sep: str, limit: int = -1) -> celtypes.ListType:
    parts = text.split(sep) if limit < 0 else text.split(sep, max(int(limit) - 1, 0)) if limit else []
    return celtypes.ListType([_s(p) for p in parts])


def _index_of(target: JSON, item: JSON, start: int = 0) -> celtypes.IntType:
    if isinstance(target, str):
        return celtypes.IntType(target.find(str(item), int(start)))
    values = list(target)
    return celtypes.IntType(values.index(item) if item in values else -1)


def _last_index_of(target: JSON, item: JSON) -> celtypes.IntType:
    if isinstance(target, str):
        return celtypes.IntType(target.rfind(str(item)))
    values = list(target)
    return celtypes.IntType(len(values) - 1 - values[::-1].index(item) if item in values else -1)


def _substring(text: str, start: int, end: int | None = None) -> celtypes.StringType:
    stop = len(text) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(text):
        raise CelError(f"index out of range: {start}")
    return _s(text[int(start) : stop])


def _sum(values: Iterable[Any]) -> Any:
    items = list(values)
    if not items:
        return celtypes.IntType(0)
    total = items[0]
    for item in items[1:]:
        total = total + item
    return total


def _min(values: Iterable[Any]) -> Any:
    items = list(values)
    if not items:
        raise CelError("min(list) argument must not be empty")
    return min(items)


def _max(values: Iterable[Any]) -> Any:
    items = list(values)
    if not items:
        raise CelError("max(list) argument must not be empty")
    return max(items)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "lowerAscii": lambda s: _s(str(s).lower()),
    "upperAscii": lambda s: _s(str(s).upper()),
    "trim": lambda s: _s(str(s).strip()),
    "split": _split,
    "join": lambda values, sep="": _s(str(sep).join(str(v) for v in values)),
    "replace": lambda s, old, new, n=-1: _s(str(s).replace(str(old), str(new), int(n))),
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "substring": _substring,
    "charAt": lambda s, i: _s(str(s)[int(i)] if int(i) < len(str(s)) else ""),
    "isSorted": lambda values: celtypes.BoolType(list(values) == sorted(values)),
    "sum": _sum,
    "min": _min,
    "max": _max,
    "reverse": lambda s: _s(str(s)[::-1]) if isinstance(s, str) else celtypes.ListType(list(s)[::-1]),
}

_ENV = celpy.Environment()


@functools.lru_cache(maxsize=4096)
def compile_expression(expression: str) -> Any:
    """A runnable program for ``expression``; ``CelError`` with the parser's message if it fails."""
    try:
        ast = _ENV.compile(expression)
        return _ENV.program(ast, functions=_FUNCTIONS)
    except Exception as exc:  # celpy raises several types (parse and lark errors)
        text = " ".join(str(exc).split())
        raise CelError(f"compilation failed: {text}") from None


def to_cel(value: JSON) -> Any:
    """A JSON value as CEL values (maps, lists, strings, ints, doubles, bools, null)."""
    return json_to_cel(value)


def evaluate(expression: str, activation: dict[str, Any]) -> Any:
    """Evaluate ``expression`` with ``activation`` (CEL values); ``CelError`` on failure."""
    program = compile_expression(expression)
    try:
        result = program.evaluate(activation)
    except CelError:
        raise
    except Exception as exc:  # CELEvalError, and Python errors from extension functions
        raise CelError(_eval_text(exc)) from None
    if isinstance(result, CELEvalError):
        raise CelError(_eval_text(result))
    return result


_MEMBER = re.compile(r"no such member in mapping: '([^']*)'")


def _eval_text(exc: BaseException) -> str:
    """celpy's evaluation error in cel-go's words (the ones kube-apiserver's messages carry)."""
    text = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
    member = _MEMBER.search(text)
    if member:
        return f"no such key: {member.group(1)}"
    if text.startswith("found no matching overload"):
        return "no such overload"
    if text == "modulus or divide by zero":
        return "division by zero"
    return text


# ---------------------------------------------------------------------- CRD schema rule checks


def rule_problems(schema: Schema, *, path: str) -> list[str]:
    """Why the ``x-kubernetes-validations`` of a CRD schema are refused (empty: accepted).

    ``path`` is the schema's field path (``spec.versions[0].schema.openAPIV3Schema``).
    """
    problems: list[str] = []
    _check_rules(schema, path, problems, correlatable=True, is_root=True)
    return problems


def _check_rules(
    node: JSON, path: str, problems: list[str], *, correlatable: bool, is_root: bool = False
) -> None:
    if not isinstance(node, dict):
        return
    for index, rule in enumerate(node.get("x-kubernetes-validations") or []):
        at = f"{path}.x-kubernetes-validations[{index}]"
        if not isinstance(rule, dict) or not isinstance(rule.get("rule"), str) or not rule["rule"].strip():
            problems.append(f"{at}.rule: Required value")
            continue
        try:
            compile_expression(rule["rule"])
        except CelError as exc:
            problems.append(f"{at}.rule: Invalid value: {_quote(rule['rule'])}: {exc}")
        else:
            undefined = undefined_field(rule["rule"], node, root=is_root)
            if undefined:
                problems.append(
                    f"{at}.rule: Invalid value: {_quote(rule['rule'])}: compilation failed: "
                    f"ERROR: undefined field '{undefined}'"
                )
        expression = rule.get("messageExpression")
        if expression:
            try:
                compile_expression(str(expression))
            except CelError as exc:
                problems.append(f"{at}.messageExpression: Invalid value: {_quote(str(expression))}: {exc}")
        message = rule.get("message")
        if isinstance(message, str) and "\n" in message:
            problems.append(
                f"{at}.message: Invalid value: {_quote(message)}: message must not contain line breaks"
            )
        reason = rule.get("reason")
        if reason is not None and reason not in _REASONS:
            supported = ", ".join(f'"{r}"' for r in _REASONS)
            problems.append(f'{at}.reason: Unsupported value: "{reason}": supported values: {supported}')
        if rule.get("optionalOldSelf"):
            problems.append(
                f"{at}.optionalOldSelf: Forbidden: not supported by kubesim (see docs/kubesim.md)"
            )
        if _OLD_SELF.search(rule["rule"]) and not correlatable:
            problems.append(
                f"{at}.rule: Invalid value: {_quote(rule['rule'])}: oldSelf cannot be used on the "
                f"uncorrelatable portion of the schema within {path}"
            )
        field_path = rule.get("fieldPath")
        if field_path is not None and _split_field_path(str(field_path)) is None:
            problems.append(
                f"{at}.fieldPath: Invalid value: {_quote(str(field_path))}: fieldPath must be a valid path"
            )
    map_type = node.get("x-kubernetes-map-type")
    props_correlatable = correlatable and map_type in (None, "granular", "atomic")
    for name, sub in (node.get("properties") or {}).items():
        _check_rules(sub, f"{path}.properties[{name}]", problems, correlatable=props_correlatable)
    if isinstance(node.get("additionalProperties"), dict):
        _check_rules(
            node["additionalProperties"],
            f"{path}.additionalProperties",
            problems,
            correlatable=props_correlatable,
        )
    if isinstance(node.get("items"), dict):
        items_correlatable = correlatable and node.get("x-kubernetes-list-type") == "map"
        _check_rules(node["items"], f"{path}.items", problems, correlatable=items_correlatable)


_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_SELECT = re.compile(r"\b(?:self|oldSelf)((?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)+)(\s*\()?")


def undefined_field(rule: str, schema: Schema, *, root: bool = False) -> str | None:
    """A field a rule selects from ``self``/``oldSelf`` that the schema does not declare.

    cel-go type-checks rules against the schema when the CRD is written; celpy does not, so this
    approximates the check for plain selections (``self.a.b``; method calls, indexing and macro
    variables are not followed).
    """
    code = _LITERAL.sub("''", rule)
    for match in _SELECT.finditer(code):
        names = [n.strip() for n in match.group(1).split(".") if n.strip()]
        if match.group(2):  # the last name is a method call: self.name.startsWith(...)
            names = names[:-1]
        node: JSON = schema
        for depth, name in enumerate(names):
            if depth == 1 and names[0] == "metadata" and root:
                # a resource root's self.metadata has exactly name and generateName
                if name in ("name", "generateName"):
                    break
                return name
            if not isinstance(node, dict) or node.get("type") != "object":
                break
            properties = node.get("properties") or {}
            if name in properties:
                node = properties[name]
                continue
            if node.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in node:
                break  # a map or preserved object: any key may be there
            if name in ("apiVersion", "kind", "metadata") and node is schema:
                break
            return name
    return None


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_FIELD_PATH_PART = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]")


def _split_field_path(field_path: str) -> list[str] | None:
    """``.spec.x['a.b'][0]`` as path suffixes (``.spec``, ``.x``, ``[a.b]``, ``[0]``); None: invalid."""
    out: list[str] = []
    pos = 0
    while pos < len(field_path):
        match = _FIELD_PATH_PART.match(field_path, pos)
        if match is None:
            return None
        name, key, index = match.groups()
        out.append(f".{name}" if name is not None else f"[{key if key is not None else index}]")
        pos = match.end()
    return out or None


# --------------------------------------------------------------------------------- validation


@dataclass
class _Budget:
    remaining: int = RUNTIME_BUDGET
    exhausted: bool = False


def has_rules(schema: Schema) -> bool:
    """Whether any node of ``schema`` has ``x-kubernetes-validations`` (cached per schema object)."""
    return _has_rules(id(schema), schema)


def validate(obj: JSON, schema: Schema, *, old: JSON = None, path: str = "") -> list[FieldError]:
    """CEL rule failures of ``obj`` (``old``: the stored object on an update, else None)."""
    errors: list[FieldError] = []
    if not _has_rules(id(schema), schema):
        return errors
    _walk(obj, old, schema, path, errors, _Budget(), root=True)
    return errors


_RULES_CACHE: dict[int, tuple[Schema, bool]] = {}


def _has_rules(key: int, schema: JSON) -> bool:
    cached = _RULES_CACHE.get(key)
    if cached is not None and cached[0] is schema:
        return cached[1]
    found = _mentions_rules(schema)
    if isinstance(schema, dict):
        if len(_RULES_CACHE) > 4096:
            _RULES_CACHE.clear()
        _RULES_CACHE[key] = (schema, found)
    return found


def _mentions_rules(schema: JSON) -> bool:
    if isinstance(schema, dict):
        return "x-kubernetes-validations" in schema or any(_mentions_rules(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_mentions_rules(v) for v in schema)
    return False


def _walk(
    value: JSON,
    old: JSON,
    schema: Schema,
    path: str,
    errors: list[FieldError],
    budget: _Budget,
    *,
    root: bool,
) -> None:
    if value is None or budget.exhausted or not isinstance(schema, dict):
        return
    rules = schema.get("x-kubernetes-validations")
    if rules:
        self_value = _root_view(value) if root and isinstance(value, dict) else value
        old_value = _root_view(old) if root and isinstance(old, dict) else old
        _run_rules(rules, self_value, old_value, schema, path, errors, budget)
    if isinstance(value, dict):
        correlatable = schema.get("x-kubernetes-map-type") in (None, "granular", "atomic")
        old_map = old if isinstance(old, dict) and correlatable else {}
        properties = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        for key, item in value.items():
            sub = properties.get(key)
            if sub is not None:
                if root and key == "metadata":
                    continue
                _walk(
                    item, old_map.get(key), sub, f"{path}.{key}" if path else key, errors, budget, root=False
                )
            elif isinstance(additional, dict):
                _walk(item, old_map.get(key), additional, f"{path}[{key}]", errors, budget, root=False)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        items = schema["items"]
        olds = _correlate(schema, old)
        for index, item in enumerate(value):
            _walk(item, olds(item), items, f"{path}[{index}]", errors, budget, root=False)


def _root_view(obj: dict[str, JSON]) -> dict[str, JSON]:
    """``self`` at a resource root: its metadata shows only name and generateName."""
    raw = obj.get("metadata")
    md: dict[str, JSON] = raw if isinstance(raw, dict) else {}
    view = dict(obj)
    view["metadata"] = {k: md[k] for k in ("name", "generateName") if k in md}
    return view


def _correlate(schema: Schema, old: JSON) -> Callable[[JSON], JSON]:
    """Old list item of a new one: by key in ``x-kubernetes-list-type: map`` lists, else none."""
    if schema.get("x-kubernetes-list-type") != "map" or not isinstance(old, list):
        return lambda _item: None
    keys = tuple(schema.get("x-kubernetes-list-map-keys") or ())
    index = {tuple(repr(i.get(k)) for k in keys): i for i in old if isinstance(i, dict)}
    return lambda item: index.get(tuple(repr(item.get(k)) for k in keys)) if isinstance(item, dict) else None


def _cost(rule: str, value: JSON) -> int:
    macros = len(_MACROS.findall(rule))
    if not macros:
        return 1
    size = len(value) if isinstance(value, list | dict | str) else 1
    return int(max(size, 1) ** macros)


def _run_rules(
    rules: list[JSON],
    value: JSON,
    old: JSON,
    schema: Schema,
    path: str,
    errors: list[FieldError],
    budget: _Budget,
) -> None:
    type_name = str(schema.get("type") or "")
    activation: dict[str, Any] | None = None
    for rule in rules:
        if not isinstance(rule, dict) or not rule.get("rule"):
            continue
        text = str(rule["rule"])
        transition = bool(_OLD_SELF.search(text))
        if transition and old is None:
            continue  # transition rules need a comparable existing value
        if budget.remaining <= 0:
            errors.append(
                FieldError(
                    path,
                    "FieldValueInvalid",
                    _OUT_OF_BUDGET,
                    type_name,
                )
            )
            budget.exhausted = True
            return
        if activation is None:
            activation = {"self": to_cel(value)}
            if old is not None:
                activation["oldSelf"] = to_cel(old)
        shown = str(rule.get("message") or "").strip() or text.strip()
        cost = _cost(text, value)
        if cost > PER_CALL_LIMIT:
            errors.append(
                FieldError(
                    path,
                    "FieldValueInvalid",
                    "'operation cancelled: actual cost limit exceeded': no further validation rules "
                    f"will be run due to call cost exceeds limit for rule: {shown}",
                    type_name,
                )
            )
            budget.exhausted = True
            return
        if cost > budget.remaining:
            errors.append(
                FieldError(
                    path,
                    "FieldValueInvalid",
                    _OUT_OF_BUDGET,
                    type_name,
                )
            )
            budget.exhausted = True
            return
        budget.remaining -= cost
        try:
            result = evaluate(text, activation)
        except CelError as exc:
            if str(exc).startswith("compilation failed"):
                message = f"rule compile error: {exc}"
            elif str(exc).startswith("no such overload"):
                message = (
                    f"'{exc}': call arguments did not match a supported operator, function or macro "
                    f"signature for rule: {shown}"
                )
            else:
                message = f"{exc} evaluating rule: {shown}"
            errors.append(FieldError(path, "FieldValueInvalid", message, type_name))
            continue
        if result is True or (isinstance(result, celtypes.BoolType) and bool(result)):
            continue
        errors.append(_failure(rule, activation, path, type_name))


def _failure(rule: dict[str, JSON], activation: dict[str, Any], path: str, type_name: str) -> FieldError:
    message = str(rule.get("message") or "").strip()
    detail = message or f"failed rule: {str(rule['rule']).strip()}"
    expression = rule.get("messageExpression")
    if expression:
        try:
            evaluated = evaluate(str(expression), activation)
            text = str(evaluated).strip() if isinstance(evaluated, str) else ""
            if text and "\n" not in text and len(text) <= 5000:
                detail = text
        except CelError:
            pass  # kube-apiserver logs it and falls back to the message
    suffix = _split_field_path(str(rule["fieldPath"])) if rule.get("fieldPath") else None
    if suffix:
        joined = "".join(suffix)
        path = (path + joined) if path else joined.lstrip(".")
    reason = rule.get("reason") or "FieldValueInvalid"
    if reason == "FieldValueForbidden":
        return FieldError(path, "FieldValueForbidden", detail)
    if reason == "FieldValueRequired":
        return FieldError(path, "FieldValueRequired", detail)
    if reason == "FieldValueDuplicate":
        return FieldError(path, "FieldValueDuplicate", "", type_name)
    return FieldError(path, "FieldValueInvalid", detail, type_name)
