"""Models and generated schemas agree: a full object of every kind survives parse, dump, validation, pruning.

Every field of every model gets a value (built from the type annotations), so a field the schema
forgot would be pruned by the API server, and a constraint the two disagree on would fail here.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

import pytest
from pydantic import BaseModel, JsonValue

from kubesim.crds import crd_problems
from kubesim.schema import prune, validate
from shared.api import ALL_KINDS, crdgen
from shared.api.meta import KubeObject, SchemaHint

SAMPLE_STRINGS = {
    "^(/([^/~]|~[01])*)*$": "/spec/template/spec/containers/0/image",
}


def sample(tp: Any, metadata: tuple[Any, ...] = (), *, field: str = "") -> Any:
    """A valid value of a type annotation (every optional member filled)."""
    origin = get_origin(tp)
    if origin is typing.Annotated:
        base, *extra = get_args(tp)
        return sample(base, (*metadata, *extra), field=field)
    hints = [m for m in metadata if isinstance(m, SchemaHint)]
    if hints:
        return {
            "int-or-string": "1500m",
            "int-or-percent": "25%",
            "embedded-object": {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "c"},
                "data": {},
            },
            "preserve-unknown": {"readyReplicas": 2, "nested": {"list": [1, "a"]}},
        }[hints[0].kind]
    if origin in (Union, types.UnionType):
        (inner,) = [a for a in get_args(tp) if a is not type(None)]
        return sample(inner, metadata, field=field)
    if tp is JsonValue:
        return {"any": ["json", 1, True]}
    if origin is Literal:
        return get_args(tp)[-1]
    if origin is list:
        return [sample(get_args(tp)[0], field=field)]
    if origin is dict:
        return {"example.com/key": sample(get_args(tp)[1], field=field)}
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return sample_model(tp)
    if tp is bool:
        return True
    if tp is int:
        return 3
    if tp is str:
        for item in metadata:
            pattern = getattr(item, "pattern", None)
            if pattern in SAMPLE_STRINGS:
                return SAMPLE_STRINGS[pattern]
        if field == "reason":
            return "SomeReason"
        return f"{field or 'value'}-1"
    raise TypeError(tp)


def sample_model(cls: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        key = info.alias or name
        if name == "metadata":
            out[key] = {"name": "sample", "labels": {"a": "b"}}
            continue
        out[key] = sample(info.annotation, tuple(info.metadata), field=key)
    return out


def full_object(cls: type[KubeObject]) -> dict[str, Any]:
    obj = sample_model(cls)
    obj["apiVersion"] = cls.crd.api_version
    obj["kind"] = cls.crd.kind
    return obj


@pytest.mark.parametrize("cls", ALL_KINDS, ids=lambda c: c.crd.kind)
def test_a_full_object_round_trips_through_model_schema_and_pruning(cls: type[KubeObject]) -> None:
    obj = full_object(cls)
    crd = crdgen.crd_for(cls)
    assert crd_problems(crd) == []
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert [str(e) for e in validate(obj, schema)] == []
    assert prune(obj, schema) == obj, "the schema would prune fields the model has"
    model = cls.from_dict(obj)
    assert model.to_dict() == obj
    assert cls.from_dict(model.to_dict()) == model


def test_the_sample_really_fills_nested_fields() -> None:
    (policy,) = [c for c in ALL_KINDS if c.crd.kind == "PropagationPolicy"]
    obj = full_object(policy)
    weights = obj["spec"]["placement"]["replicaScheduling"]["weightPreference"]["staticWeightList"]
    assert weights[0]["targetCluster"]["fieldSelector"]["matchExpressions"][0]["key"] == "zone"
    assert obj["spec"]["placement"]["maxClusters"] == 3


def test_unknown_fields_are_pruned_by_the_schema_and_ignored_by_the_model() -> None:
    (work,) = [c for c in ALL_KINDS if c.crd.kind == "Work"]
    obj = full_object(work)
    noisy = {**obj, "spec": {**obj["spec"], "surprise": 1}}
    schema = crdgen.crd_for(work)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert prune(noisy, schema) == obj
    assert work.from_dict(noisy).to_dict() == obj
