"""Generate apiextensions.k8s.io/v1 CustomResourceDefinitions from the pydantic models.

The models are the single source of truth: ``crd_for(cls)`` walks a kind's fields and builds a
structural OpenAPI v3 schema (every node typed, no ``$ref``, ``nullable`` on optional fields,
``x-kubernetes-preserve-unknown-fields`` only under embedded manifests and raw values), adds the
names, scope, status subresource and printer columns from the kind's ``CrdInfo``. ``crd_files()``
renders one YAML file per kind; ``waybill crds --write crds/`` writes them and a test checks that
the committed ``crds/`` match. Pure functions, no I/O.
"""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
import yaml
from pydantic import BaseModel, JsonValue
from pydantic.fields import FieldInfo

from shared.api import ALL_KINDS
from shared.api.meta import INT_OR_PERCENT_PATTERN, KubeObject, ObjectMeta, SchemaHint
from shared.api.quantity import QUANTITY_PATTERN

Schema = dict[str, Any]
HEADER = "# Generated from shared/api by `waybill crds --write crds/`. Do not edit by hand.\n"
_TOP_LEVEL = ("api_version", "kind", "metadata")


def describe(cls: type[Any]) -> str:
    """The first paragraph of a class's docstring, on one line."""
    doc = inspect.getdoc(cls) or ""
    return " ".join(doc.split("\n\n", 1)[0].split()).replace("``", "`")


def _constraints(metadata: list[Any] | tuple[Any, ...], schema: Schema) -> None:
    is_array = schema.get("type") == "array"
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            schema["minimum"] = item.ge
        elif isinstance(item, annotated_types.Gt):
            schema["minimum"] = item.gt
            schema["exclusiveMinimum"] = True
        elif isinstance(item, annotated_types.Le):
            schema["maximum"] = item.le
        elif isinstance(item, annotated_types.Lt):
            schema["maximum"] = item.lt
            schema["exclusiveMaximum"] = True
        elif isinstance(item, annotated_types.MinLen):
            schema["minItems" if is_array else "minLength"] = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            schema["maxItems" if is_array else "maxLength"] = item.max_length
        elif getattr(item, "pattern", None):
            schema["pattern"] = item.pattern


def _hinted(hint: SchemaHint) -> Schema:
    if hint.kind == "int-or-string":
        # No anyOf [{type: integer}, {type: string}]: kube-apiserver allows it here but does not need it.
        return {"pattern": QUANTITY_PATTERN, "x-kubernetes-int-or-string": True}
    if hint.kind == "int-or-percent":
        # a count or a percentage, as intstr fields like maxUnavailable ("25%" or 1)
        return {"pattern": INT_OR_PERCENT_PATTERN, "x-kubernetes-int-or-string": True}
    if hint.kind == "embedded-object":
        return {
            "type": "object",
            "x-kubernetes-embedded-resource": True,
            "x-kubernetes-preserve-unknown-fields": True,
        }
    return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


def schema_for_type(tp: Any, metadata: tuple[Any, ...] = ()) -> tuple[Schema, bool]:
    """The schema of one type annotation, and whether it admits None (``nullable``)."""
    origin = get_origin(tp)
    if origin is typing.Annotated:
        base, *extra = get_args(tp)
        return schema_for_type(base, (*metadata, *extra))
    hints = [item for item in metadata if isinstance(item, SchemaHint)]
    if origin in (Union, types.UnionType):
        args = [arg for arg in get_args(tp) if arg is not type(None)]
        nullable = len(args) < len(get_args(tp))
        if hints:
            return _with_constraints(_hinted(hints[0]), metadata), nullable
        if len(args) != 1:
            raise TypeError(f"unions other than Optional need a SchemaHint: {tp!r}")
        schema, _ = schema_for_type(args[0], metadata)
        return schema, nullable
    if hints:
        return _with_constraints(_hinted(hints[0]), metadata), False
    if tp is JsonValue or tp is Any:
        return {"x-kubernetes-preserve-unknown-fields": True}, True
    if origin is Literal:
        values = list(get_args(tp))
        kind = "boolean" if isinstance(values[0], bool) else "string"
        return _with_constraints({"type": kind, "enum": values}, metadata), False
    if origin is list:
        (item,) = get_args(tp)
        items, _ = schema_for_type(item)
        array: Schema = {"type": "array", "items": items}
        keys = getattr(item, "LIST_MAP_KEYS", None) if isinstance(item, type) else None
        if keys:
            array["x-kubernetes-list-type"] = "map"
            array["x-kubernetes-list-map-keys"] = list(keys)
        return _with_constraints(array, metadata), False
    if origin is dict:
        _, value = get_args(tp)
        value_schema, _ = schema_for_type(value)
        return _with_constraints({"type": "object", "additionalProperties": value_schema}, metadata), False
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return schema_for_model(tp), False
    scalar = {bool: "boolean", int: "integer", float: "number", str: "string"}.get(tp)
    if scalar is None:
        raise TypeError(f"no schema mapping for {tp!r}")
    return _with_constraints({"type": scalar}, metadata), False


def _with_constraints(schema: Schema, metadata: tuple[Any, ...]) -> Schema:
    _constraints(metadata, schema)
    return schema


def _field_schema(info: FieldInfo) -> Schema:
    schema, nullable = schema_for_type(info.annotation, tuple(info.metadata))
    schema = dict(schema)
    if info.description:
        rest = {key: value for key, value in schema.items() if key != "description"}
        schema = {"description": " ".join(info.description.split()), **rest}
    if nullable:
        schema["nullable"] = True
    return schema


def schema_for_model(cls: type[BaseModel], *, top_level: bool = False) -> Schema:
    """The structural schema of a model: typed properties (camelCase) and the required ones."""
    properties: Schema = {}
    required: list[str] = []
    for name, info in cls.model_fields.items():
        key = info.alias or name
        if top_level and name == "metadata":
            # Left out on purpose: the API server owns ObjectMeta (a schema may only narrow name and
            # generateName), and a bare `metadata: {type: object}` makes naive pruners drop it all.
            continue
        if top_level and name in _TOP_LEVEL:
            properties[key] = {"type": "string"}
            continue
        if isinstance(info.annotation, type) and issubclass(info.annotation, ObjectMeta):
            properties[key] = {"type": "object"}
            continue
        properties[key] = _field_schema(info)
        if info.is_required():
            required.append(key)
    schema: Schema = {"description": describe(cls), "type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def crd_for(cls: type[KubeObject]) -> Schema:
    """The CustomResourceDefinition of one kind."""
    info = cls.crd
    root = schema_for_model(cls, top_level=True)
    if info.description:
        root["description"] = info.description
    version: Schema = {
        "name": info.version,
        "served": True,
        "storage": True,
        "schema": {"openAPIV3Schema": root},
    }
    if info.status_subresource:
        version["subresources"] = {"status": {}}
    if info.printer_columns:
        columns = []
        for column in info.printer_columns:
            entry: Schema = {"name": column.name, "type": column.type, "jsonPath": column.json_path}
            if column.description:
                entry["description"] = column.description
            if column.priority:
                entry["priority"] = column.priority
            columns.append(entry)
        version["additionalPrinterColumns"] = columns
    names: Schema = {
        "kind": info.kind,
        "listKind": f"{info.kind}List",
        "plural": info.plural,
        "singular": info.singular,
    }
    if info.short_names:
        names["shortNames"] = list(info.short_names)
    if info.categories:
        names["categories"] = list(info.categories)
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": info.crd_name,
            "labels": {"app.kubernetes.io/part-of": "waybill"},
        },
        "spec": {"group": info.group, "names": names, "scope": info.scope, "versions": [version]},
    }


def all_crds() -> list[Schema]:
    """Every Waybill CRD, in ``ALL_KINDS`` order."""
    return [crd_for(cls) for cls in ALL_KINDS]


def to_yaml(crd: Schema) -> str:
    """One CRD as YAML (key order kept, stable line width)."""
    return yaml.safe_dump(crd, sort_keys=False, width=100, allow_unicode=True)


def crd_files() -> dict[str, str]:
    """File name (``<plural>.<group>.yaml``) to file content, for every kind."""
    return {f"{cls.crd.crd_name}.yaml": HEADER + to_yaml(crd_for(cls)) for cls in ALL_KINDS}


def render_all() -> str:
    """Every CRD as one multi-document YAML stream."""
    return "".join("---\n" + to_yaml(crd) for crd in all_crds())
