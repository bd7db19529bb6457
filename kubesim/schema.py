"""OpenAPI v3 structural-schema validation and pruning for CustomResourceDefinitions.

Pure functions over plain JSON values (dicts, lists, str, int, float, bool, None):

- ``validate(obj, schema)`` returns ``FieldError``s worded like kube-apiserver's CRD validation
  (``spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0``);
- ``invalid_message(kind=..., group=..., name=..., errors=...)`` builds the 422 ``Invalid`` message;
- ``prune(obj, schema)`` drops fields the schema does not specify (unless preserved);
- ``apply_defaults(obj, schema)`` fills in ``default`` values, as the apiserver does on decode;
- ``structural_violations(schema)`` lists why a schema is not structural.

The server (``kubesim/server``) calls these; nothing here does I/O.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FieldError",
    "apply_defaults",
    "invalid_message",
    "mentions_default",
    "prune",
    "structural_violations",
    "validate",
]

JSON = Any
Schema = dict[str, Any]

# Type names as reported by the apiserver (go-openapi's naming).
_ERROR_TITLES = {
    "FieldValueRequired": "Required value",
    "FieldValueInvalid": "Invalid value",
    "FieldValueTypeInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueTooLong": "Too long",
    "FieldValueTooMany": "Too many",
    "FieldValueForbidden": "Forbidden",
}
_NO_VALUE_TYPES = {"FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong"}
_EMBEDDED_KEYS = ("apiVersion", "kind", "metadata")


def format_value(value: JSON) -> str:
    """Render a bad value like Go's field error printer (strings quoted, numbers bare)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def format_number(value: float | int) -> str:
    """Numbers as Go's ``%v`` prints a float64 bound: ``0``, ``1.5``."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class FieldError:
    """One validation failure: ``type`` is the metav1 StatusCause reason (``FieldValueInvalid``)."""

    path: str
    type: str
    message: str
    value: Any = None

    @property
    def reason(self) -> str:
        """The StatusCause ``reason`` (the type-invalid flavour reports as plain invalid)."""
        return "FieldValueInvalid" if self.type == "FieldValueTypeInvalid" else self.type

    def body(self) -> str:
        """The message without the field path, e.g. ``Required value``."""
        title = _ERROR_TITLES.get(self.type, "Invalid value")
        text = title if self.type in _NO_VALUE_TYPES else f"{title}: {format_value(self.value)}"
        if self.message:
            text += f": {self.message}"
        return text

    def __str__(self) -> str:
        return f"{self.path}: {self.body()}" if self.path else self.body()


def invalid_message(*, kind: str, group: str, name: str, errors: list[FieldError]) -> str:
    """The 422 message: ``Kind.group "name" is invalid: <err>`` or ``...: [<err>, <err>]``."""
    qualified = f"{kind}.{group}" if group else kind
    texts: list[str] = []
    for err in errors:
        text = str(err)
        if text not in texts:
            texts.append(text)
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    return f'{qualified} "{name}" is invalid: {joined}'


# ----------------------------------------------------------------------------------- validation


def json_type(value: JSON) -> str:
    """The OpenAPI type name of a JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


_PLAIN_TYPES: dict[str, type] = {"string": str, "object": dict, "array": list}


def _type_matches(expected: str, value: JSON) -> bool:
    plain = _PLAIN_TYPES.get(expected)
    if plain is not None:  # the common case, without naming the value's type
        return isinstance(value, plain)
    actual = json_type(value)
    if expected == "number":
        return actual in ("number", "integer")
    return actual == expected


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def validate(obj: JSON, schema: Schema, *, path: str = "") -> list[FieldError]:
    """Validate ``obj`` against a structural schema; ``path`` prefixes every error path."""
    errors: list[FieldError] = []
    _validate(obj, schema, path, errors)
    return errors


def _validate(value: JSON, schema: Schema, path: str, errors: list[FieldError]) -> None:
    if not schema:
        return
    shown = path or "<root>"
    if value is None:
        if schema.get("nullable") or (
            schema.get("x-kubernetes-preserve-unknown-fields") and "type" not in schema
        ):
            return
        expected = "integer,string" if schema.get("x-kubernetes-int-or-string") else schema.get("type")
        if expected:
            message = f'{shown} in body must be of type {expected}: "null"'
            errors.append(FieldError(path, "FieldValueTypeInvalid", message, "null"))
        return
    if schema.get("x-kubernetes-int-or-string"):
        if json_type(value) not in ("integer", "string"):
            actual = json_type(value)
            errors.append(
                FieldError(
                    path,
                    "FieldValueTypeInvalid",
                    f'{shown} in body must be of type integer,string: "{actual}"',
                    actual,
                )
            )
            return
    elif "type" in schema and not _type_matches(str(schema["type"]), value):
        actual = json_type(value)
        errors.append(
            FieldError(
                path,
                "FieldValueTypeInvalid",
                f'{shown} in body must be of type {schema["type"]}: "{actual}"',
                actual,
            )
        )
        return

    if "enum" in schema:
        _validate_enum(value, schema, path, errors)
    if isinstance(value, str):
        if "maxLength" in schema or "minLength" in schema or "pattern" in schema:
            _validate_string(value, schema, path, errors)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _validate_number(value, schema, path, errors)
    elif isinstance(value, list):
        _validate_array(value, schema, path, errors)
    elif isinstance(value, dict):
        _validate_object(value, schema, path, errors)
    if "allOf" in schema:
        for sub in schema["allOf"]:
            _validate(value, sub, path, errors)
    if "anyOf" in schema or "oneOf" in schema or "not" in schema:
        _validate_combinators(value, schema, path, errors)


def _validate_combinators(value: JSON, schema: Schema, path: str, errors: list[FieldError]) -> None:
    """``anyOf`` / ``oneOf`` / ``not`` value validations (go-openapi's wording)."""
    shown = path or "<root>"
    any_of = schema.get("anyOf")
    if any_of and not any(not validate(value, sub, path=path) for sub in any_of):
        message = f"{shown} must validate at least one schema (anyOf)"
        errors.append(FieldError(path, "FieldValueInvalid", message, value))
    one_of = schema.get("oneOf")
    if one_of:
        matches = sum(1 for sub in one_of if not validate(value, sub, path=path))
        if matches != 1:
            message = f"{shown} must validate one and only one schema (oneOf)"
            errors.append(FieldError(path, "FieldValueInvalid", message, value))
    negated = schema.get("not")
    if isinstance(negated, dict) and not validate(value, negated, path=path):
        errors.append(
            FieldError(path, "FieldValueInvalid", f"{shown} in body should not validate the schema", value)
        )


def _validate_enum(value: JSON, schema: Schema, path: str, errors: list[FieldError]) -> None:
    enum = schema.get("enum")
    if enum is None or value in enum:
        return
    supported = ", ".join(json.dumps(e) if isinstance(e, str) else format_value(e) for e in enum)
    errors.append(FieldError(path, "FieldValueNotSupported", f"supported values: {supported}", value))


_FORMAT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _validate_string(value: str, schema: Schema, path: str, errors: list[FieldError]) -> None:
    shown = path or "<root>"
    if "maxLength" in schema and len(value) > int(schema["maxLength"]):
        limit = int(schema["maxLength"])
        unit = "byte" if limit == 1 else "bytes"
        errors.append(FieldError(path, "FieldValueTooLong", f"may not be more than {limit} {unit}", value))
    if "minLength" in schema and len(value) < int(schema["minLength"]):
        errors.append(
            FieldError(
                path,
                "FieldValueInvalid",
                f"{shown} in body should be at least {int(schema['minLength'])} chars long",
                value,
            )
        )
    pattern = schema.get("pattern")
    if pattern is not None and re.search(str(pattern), value) is None:
        message = f"{shown} in body should match '{pattern}'"
        errors.append(FieldError(path, "FieldValueInvalid", message, value))


def _validate_number(value: float | int, schema: Schema, path: str, errors: list[FieldError]) -> None:
    shown = path or "<root>"
    if "minimum" in schema:
        low = schema["minimum"]
        if schema.get("exclusiveMinimum") and value <= low:
            errors.append(
                FieldError(
                    path,
                    "FieldValueInvalid",
                    f"{shown} in body should be greater than {format_number(low)}",
                    value,
                )
            )
        elif value < low:
            errors.append(
                FieldError(
                    path,
                    "FieldValueInvalid",
                    f"{shown} in body should be greater than or equal to {format_number(low)}",
                    value,
                )
            )
    if "maximum" in schema:
        high = schema["maximum"]
        if schema.get("exclusiveMaximum") and value >= high:
            errors.append(
                FieldError(
                    path,
                    "FieldValueInvalid",
                    f"{shown} in body should be less than {format_number(high)}",
                    value,
                )
            )
        elif value > high:
            errors.append(
                FieldError(
                    path,
                    "FieldValueInvalid",
                    f"{shown} in body should be less than or equal to {format_number(high)}",
                    value,
                )
            )
    multiple = schema.get("multipleOf")
    if multiple and not math.isclose(value / multiple, round(value / multiple)):
        errors.append(
            FieldError(
                path,
                "FieldValueInvalid",
                f"{shown} in body should be a multiple of {format_number(multiple)}",
                value,
            )
        )
    fmt = schema.get("format")
    if fmt in _FORMAT_RANGES and json_type(value) == "integer":
        low_r, high_r = _FORMAT_RANGES[str(fmt)]
        if not low_r <= value <= high_r:
            errors.append(
                FieldError(
                    path,
                    "FieldValueInvalid",
                    f"{shown} in body must be of type {fmt}: {format_value(value)}",
                    value,
                )
            )


def _validate_array(value: list[JSON], schema: Schema, path: str, errors: list[FieldError]) -> None:
    shown = path or "<root>"
    if "maxItems" in schema and len(value) > int(schema["maxItems"]):
        errors.append(
            FieldError(
                path, "FieldValueTooMany", f"must have at most {int(schema['maxItems'])} items", len(value)
            )
        )
    if "minItems" in schema and len(value) < int(schema["minItems"]):
        errors.append(
            FieldError(
                path,
                "FieldValueInvalid",
                f"{shown} in body should have at least {int(schema['minItems'])} items",
                len(value),
            )
        )
    if schema.get("uniqueItems") or schema.get("x-kubernetes-list-type") == "set":
        seen: set[str] = set()
        for index, item in enumerate(value):
            key = json.dumps(item, sort_keys=True)
            if key in seen:
                errors.append(FieldError(f"{path}[{index}]", "FieldValueDuplicate", "", item))
            seen.add(key)
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            _validate(item, items, f"{path}[{index}]", errors)
    if schema.get("x-kubernetes-list-type") == "map":
        _validate_list_map(value, schema, path, errors)


def _validate_list_map(value: list[JSON], schema: Schema, path: str, errors: list[FieldError]) -> None:
    keys = list(schema.get("x-kubernetes-list-map-keys") or [])
    seen: set[tuple[str, ...]] = set()
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            continue
        ident = tuple(json.dumps(item.get(k)) for k in keys)
        if ident in seen:
            shown = {k: item.get(k) for k in keys}
            errors.append(FieldError(f"{path}[{index}]", "FieldValueDuplicate", "", shown))
        seen.add(ident)


def _validate_object(value: dict[str, JSON], schema: Schema, path: str, errors: list[FieldError]) -> None:
    if "required" in schema:
        for name in schema["required"]:
            if name not in value:
                errors.append(FieldError(_child(path, name), "FieldValueRequired", "", ""))
    if "maxProperties" in schema and len(value) > int(schema["maxProperties"]):
        errors.append(
            FieldError(
                path,
                "FieldValueTooMany",
                f"must have at most {int(schema['maxProperties'])} items",
                len(value),
            )
        )
    if "minProperties" in schema and len(value) < int(schema["minProperties"]):
        shown = path or "<root>"
        message = f"{shown} in body should have at least {int(schema['minProperties'])} properties"
        errors.append(FieldError(path, "FieldValueInvalid", message, len(value)))
    if schema.get("x-kubernetes-embedded-resource"):
        for key in ("apiVersion", "kind"):
            if not value.get(key):
                errors.append(FieldError(_child(path, key), "FieldValueRequired", "must not be empty", ""))
    properties: dict[str, Schema] = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    if not properties and not isinstance(additional, dict):
        return  # nothing below is described (preserved or embedded contents)
    prefix = f"{path}." if path else ""
    for key, item in value.items():
        if key in properties:
            _validate(item, properties[key], prefix + key, errors)
        elif isinstance(additional, dict):
            _validate(item, additional, f"{path}[{key}]" if path else key, errors)


# ------------------------------------------------------------------------------------- pruning


def prune(obj: JSON, schema: Schema, *, is_root: bool = True, copy: bool = True) -> JSON:
    """Return a copy of ``obj`` without fields the schema does not specify.

    ``apiVersion``, ``kind`` and ``metadata`` survive at the root and in embedded resources;
    subtrees under ``x-kubernetes-preserve-unknown-fields: true`` keep unknown fields.
    With ``copy=False`` only objects and arrays that lost a field are new: everything else is
    ``obj``'s own (identical objects; ``obj`` itself when nothing was dropped), and ``obj`` is
    never changed in place.
    """
    return _prune(_clone(obj) if copy else obj, schema, embedded=is_root)


def _prune(value: JSON, schema: Schema | None, *, embedded: bool) -> JSON:
    if schema is None:
        return value
    if isinstance(value, dict):
        properties: dict[str, Schema] = schema.get("properties") or {}
        additional = schema.get("additionalProperties")
        preserve = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
        is_embedded = embedded or bool(schema.get("x-kubernetes-embedded-resource"))
        result: dict[str, JSON] = {}
        changed = False
        for key, item in value.items():
            if is_embedded and key in _EMBEDDED_KEYS and (key == "metadata" or key not in properties):
                # kube-apiserver never prunes a resource's ObjectMeta by the schema: controller-gen
                # writes ``metadata: {type: object}``, which would otherwise drop ``name``
                kept = item
            elif key in properties:
                kept = _prune(item, properties[key], embedded=False)
            elif isinstance(additional, dict):
                kept = _prune(item, additional, embedded=False)
            elif additional is True or preserve:
                kept = item
            else:
                changed = True
                continue
            changed = changed or kept is not item
            result[key] = kept
        return result if changed else value  # unchanged values stay the very same objects
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            pruned = [_prune(item, items, embedded=False) for item in value]
            return pruned if any(a is not b for a, b in zip(pruned, value, strict=True)) else value
        return value
    return value


# ------------------------------------------------------------------------------------ defaulting


def apply_defaults(obj: JSON, schema: Schema, *, copy: bool = True, has_defaults: bool | None = None) -> JSON:
    """Return a copy of ``obj`` with schema ``default``s set where fields are absent.

    ``copy=False``: the result shares what defaulting did not change with ``obj`` (which is
    never changed in place). ``has_defaults``: ``mentions_default(schema)`` when the caller
    keeps it (the server does, per served CRD version), else computed here.

    A ``null`` in a non-nullable field that has a default is replaced by the default, as
    kube-apiserver does (other nulls are left for validation to report).
    """
    if has_defaults is None:
        has_defaults = mentions_default(schema)  # a walk over the schema, not over the (large) object
    if not has_defaults:
        return _clone(obj) if copy else obj
    return _default(_clone(obj) if copy else obj, schema)


def mentions_default(schema: JSON) -> bool:
    """Whether any node of ``schema`` has a ``default`` (or a property so named: harmless)."""
    if isinstance(schema, dict):
        return "default" in schema or any(mentions_default(v) for v in schema.values())
    if isinstance(schema, list):
        return any(mentions_default(v) for v in schema)
    return False


def _default(value: JSON, schema: Schema | None) -> JSON:
    """``value`` with defaults; copy-on-write: new containers only where a default was set."""
    if not isinstance(schema, dict):
        return value
    if isinstance(value, dict):
        result = value
        properties = schema.get("properties") or {}
        for key, sub in properties.items():
            if not isinstance(sub, dict):
                continue
            current = result.get(key, _ABSENT)
            if "default" in sub and (current is _ABSENT or (current is None and not sub.get("nullable"))):
                new = _default(_clone(sub["default"]), sub)
            elif current is not _ABSENT:
                new = _default(current, sub)
            else:
                continue
            if new is not current:
                if result is value:
                    result = dict(value)
                result[key] = new
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for key in list(result):
                if key not in properties:
                    current = result[key]
                    new = _default(current, additional)
                    if new is not current:
                        if result is value:
                            result = dict(value)
                        result[key] = new
        return result
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        defaulted = [_default(item, schema["items"]) for item in value]
        return defaulted if any(a is not b for a, b in zip(defaulted, value, strict=True)) else value
    return value


_ABSENT = object()


def _clone(value: JSON) -> JSON:
    """A deep copy of a JSON value (several times faster than ``copy.deepcopy``)."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


# ----------------------------------------------------------------------------- structural checks

_VALIDATION_ONLY = {
    "description",
    "nullable",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "multipleOf",
    "format",
    "default",
    "example",
    "title",
    "x-kubernetes-validations",
}
_ALLOWED_KEYS = _VALIDATION_ONLY | {
    "type",
    "properties",
    "additionalProperties",
    "items",
    "required",
    "allOf",
    "anyOf",
    "oneOf",
    "not",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
    "x-kubernetes-embedded-resource",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "externalDocs",
}
_TYPES = {"object", "array", "string", "integer", "number", "boolean"}


def structural_violations(schema: Schema, *, path: str = "openAPIV3Schema") -> list[str]:
    """Why ``schema`` is not a structural schema (empty list: it is)."""
    problems: list[str] = []
    if schema.get("type") != "object":
        problems.append(
            f"{path}.type: Unsupported value: {format_value(schema.get('type', ''))}: "
            f'supported values: "object"'
        )
    _structural(schema, path, problems, root=True)
    return problems


def _structural(node: Schema, path: str, problems: list[str], *, root: bool = False) -> None:
    if not isinstance(node, dict):
        problems.append(f"{path}: Invalid value: {format_value(node)}: must be a schema object")
        return
    for key in node:
        if key == "$ref":
            problems.append(f"{path}.$ref: Forbidden: $ref is not allowed")
        elif key not in _ALLOWED_KEYS:
            problems.append(f"{path}.{key}: Forbidden: {key} is not supported")
    typ = node.get("type")
    if typ is not None and typ not in _TYPES:
        supported = ", ".join(json.dumps(t) for t in sorted(_TYPES))
        problems.append(f"{path}.type: Unsupported value: {format_value(typ)}: supported values: {supported}")
    untyped_ok = node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields")
    if not typ and not untyped_ok:
        problems.append(f"{path}.type: Required value: must not be empty for specified fields")
    if node.get("x-kubernetes-int-or-string") and typ:
        problems.append(
            f"{path}.type: Invalid value: {format_value(typ)}: "
            "must be empty if x-kubernetes-int-or-string is true"
        )
    if node.get("x-kubernetes-embedded-resource") and typ != "object":
        problems.append(
            f"{path}.type: Required value: must be object if x-kubernetes-embedded-resource is true"
        )
    if "properties" in node and "additionalProperties" in node:
        problems.append(
            f"{path}.additionalProperties: Forbidden: additionalProperties and properties "
            "are mutual exclusive"
        )
    if typ == "array" and not isinstance(node.get("items"), dict):
        problems.append(f"{path}.items: Required value: must be specified")
    _list_markers(node, path, problems)
    for name, sub in (node.get("properties") or {}).items():
        _structural(sub, f"{path}.properties[{name}]", problems)
        if root and name == "metadata" and isinstance(sub, dict):
            extra = set(sub.get("properties") or {}) - {"name", "generateName"}
            if extra:
                problems.append(
                    f"{path}.properties[metadata]: Forbidden: must not specify anything other "
                    "than name and generateName, but metadata is implicitly specified"
                )
    if isinstance(node.get("additionalProperties"), dict):
        _structural(node["additionalProperties"], f"{path}.additionalProperties", problems)
    if isinstance(node.get("items"), dict):
        _structural(node["items"], f"{path}.items", problems)
    for combinator in ("allOf", "anyOf", "oneOf"):
        for index, sub in enumerate(node.get(combinator) or []):
            for key in ("type", "additionalProperties", "items", "x-kubernetes-preserve-unknown-fields"):
                if isinstance(sub, dict) and key in sub:
                    problems.append(
                        f"{path}.{combinator}[{index}].{key}: Forbidden: must not be specified "
                        "in value validation"
                    )


def _list_markers(node: Schema, path: str, problems: list[str]) -> None:
    """``x-kubernetes-list-type`` / ``-list-map-keys`` / ``-map-type`` consistency (as the CRD
    validation of kube-apiserver words it)."""
    list_type = node.get("x-kubernetes-list-type")
    keys = node.get("x-kubernetes-list-map-keys") or []
    if list_type is not None and list_type not in ("atomic", "map", "set"):
        problems.append(
            f"{path}.x-kubernetes-list-type: Unsupported value: {format_value(list_type)}: "
            'supported values: "atomic", "map", "set"'
        )
    map_type = node.get("x-kubernetes-map-type")
    if map_type is not None and map_type not in ("atomic", "granular"):
        problems.append(
            f"{path}.x-kubernetes-map-type: Unsupported value: {format_value(map_type)}: "
            'supported values: "atomic", "granular"'
        )
    if keys and list_type != "map":
        problems.append(
            f"{path}.x-kubernetes-list-type: Invalid value: {format_value(list_type or '')}: "
            "must be map if x-kubernetes-list-map-keys is non-empty"
        )
    if list_type != "map":
        return
    if not keys:
        problems.append(
            f"{path}.x-kubernetes-list-map-keys: Required value: "
            "must not be empty if x-kubernetes-list-type is map"
        )
    items = node.get("items")
    if not isinstance(items, dict):
        return
    if items.get("type") != "object":
        problems.append(
            f"{path}.items.type: Invalid value: {format_value(items.get('type', ''))}: "
            "must be object if parent array's x-kubernetes-list-type is map"
        )
        return
    required = set(items.get("required") or [])
    for key in keys:
        prop = (items.get("properties") or {}).get(key)
        if prop is None:
            problems.append(
                f"{path}.x-kubernetes-list-map-keys: Invalid value: {format_value(key)}: "
                "entries must all be names of item properties"
            )
        elif key not in required and "default" not in prop:
            problems.append(
                f"{path}.items.properties[{key}]: Required value: this property is in "
                "x-kubernetes-list-map-keys, so it must have a default or be a required property"
            )
