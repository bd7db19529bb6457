"""What kubesim's write path caches or skips gives the same answers as the full computation.

- ``ssa.record_update`` leaves out what the old and new object share (copy-on-write writes) and
  resolves paths through a memo: its managedFields are compared with the full walk of every
  path (``_reference_record_update``, the algorithm as it was before) on hand-made edge cases
  and on every ordinary write of the differential corpus;
- the defaulting walk of a CRD schema is kept per served ResourceType: a CRD update that adds or
  removes a ``default`` takes effect on the very next write.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from kubesim import corpus, crds, ssa
from kubesim.testing import Api, SimFactory
from tests.kubesim.test_crds import CRDS, WIDGETS, widget, widget_crd

CORPUS = Path(__file__).parent / "corpus"


def _reference_record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    now: str,
    schema: Any = None,
    subresource: str | None = None,
    operation: str = "Update",
) -> list[dict[str, Any]]:
    """``ssa.record_update`` as it was: every path of both objects walked and compared from the root."""
    api_version = str(new.get("apiVersion") or "")
    entries = ssa._entries(old)
    new_set = ssa.fields_of(new, schema=schema)
    old_set = ssa.fields_of(old, schema=schema) if old is not None else set()
    changed: set[tuple[str, ...]] = set()
    for path in new_set:
        if path not in old_set:
            changed.add(path)
            continue
        new_value = ssa._value_at(new, path)
        old_value = ssa._value_at(old, path)
        if ssa._is_leafish(new_value) and ssa._differs(new_value, old_value):
            changed.add(path)
    removed = old_set - new_set
    if not changed and not removed:
        return entries
    result: list[dict[str, Any]] = []
    mine_fields: set[tuple[str, ...]] | None = None
    for entry in entries:
        fields = ssa.fieldset_from_v1(entry.get("fieldsV1"))
        if (
            entry.get("manager") == manager
            and entry.get("operation") == operation
            and entry.get("subresource") == subresource
        ):
            mine_fields = (fields | changed) - removed
            continue
        remaining = fields - changed - removed
        if remaining == fields:
            result.append(entry)
        elif remaining:
            result.append({**entry, "fieldsV1": ssa.fieldset_to_v1(remaining)})
    if mine_fields is None:
        mine_fields = set(changed)
    if mine_fields:
        result.append(
            ssa._entry(
                manager=manager,
                operation=operation,
                api_version=api_version,
                now=now,
                fields=mine_fields,
                subresource=subresource,
            )
        )
    return result


def _both(old: dict[str, Any] | None, new: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    kwargs = {"manager": "writer", "now": "2026-01-01T00:00:00Z", **kwargs}
    want = _reference_record_update(copy.deepcopy(old), copy.deepcopy(new), **kwargs)
    got = ssa.record_update(old, new, **kwargs)
    assert json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True)
    return got


def _deployment(image: str, *, containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "labels": {"app": "web"},
            "managedFields": [
                {
                    "manager": "applier",
                    "operation": "Apply",
                    "apiVersion": "apps/v1",
                    "time": "2026-01-01T00:00:00Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {
                        "f:metadata": {"f:labels": {"f:app": {}}},
                        "f:spec": {
                            "f:replicas": {},
                            "f:template": {
                                "f:spec": {
                                    "f:containers": {
                                        'k:{"name":"web"}': {".": {}, "f:image": {}, "f:name": {}}
                                    }
                                }
                            },
                        },
                    },
                }
            ],
        },
        "spec": {
            "replicas": 2,
            "template": {"spec": {"containers": containers or [{"name": "web", "image": image}]}},
        },
        "status": {"replicas": 2, "conditions": [{"type": "Available", "status": "True"}]},
    }


MAP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "properties": {
                "items": {
                    "type": "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["id"],
                    "items": {"type": "object", "properties": {"id": {}, "v": {}}},
                },
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "blob": {"type": "array", "items": {"type": "string"}},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
    },
}


def test_record_update_edge_cases_match_the_full_walk() -> None:
    base = _deployment("nginx:1")
    # an image change, the rest copied: the writer takes the image from the applier
    changed = copy.deepcopy(base)
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:2"
    entries = _both(base, changed)
    assert [e["manager"] for e in entries] == ["applier", "writer"]
    assert "f:image" in json.dumps(entries[1]["fieldsV1"])  # the check can see a change
    # copy-on-write: status and labels are the old object's own, only the spec is new
    shared = {**base, "metadata": dict(base["metadata"]), "spec": copy.deepcopy(changed["spec"])}
    assert _both(base, shared) == entries
    # a /status write sharing the spec
    status = {**base, "metadata": dict(base["metadata"]), "status": {"replicas": 3}}
    _both(base, status, subresource="status")
    # nothing changed at all, and everything shared
    assert _both(base, {**base}) == base["metadata"]["managedFields"]
    # fields removed at the top level, in metadata and in a list item
    removed = copy.deepcopy(base)
    del removed["status"], removed["metadata"]["labels"], removed["spec"]["replicas"]
    del removed["spec"]["template"]["spec"]["containers"][0]["image"]
    _both(base, removed)
    _both(removed, base)
    # duplicate keys in an associative list: the first item counts on both sides
    dup_old = _deployment("x", containers=[{"name": "web", "image": "a"}, {"name": "web", "image": "b"}])
    dup_new = _deployment("x", containers=[{"name": "web", "image": "a"}, {"name": "web", "image": "c"}])
    _both(dup_old, dup_new)
    _both(dup_new, dup_old)
    # key values Python finds equal but JSON does not (1, 1.0, true), and ports keyed by two fields
    for a, b in ((1, True), (1, 1.0), (80, 80)):
        ports_old = _deployment("x", containers=[{"name": "web", "ports": [{"containerPort": a}]}])
        port = {"containerPort": b, "name": "p"}
        ports_new = _deployment("x", containers=[{"name": "web", "ports": [port]}])
        _both(ports_old, ports_new)
    # metadata that is not an object, None values, a create
    _both({**base, "metadata": None}, base)
    _both(base, {**base, "status": None})
    _both(None, base)


def test_record_update_with_a_schema_matches_the_full_walk() -> None:
    old = {
        "apiVersion": "example.com/v1",
        "kind": "Thing",
        "metadata": {"name": "t"},
        "spec": {
            "items": [{"id": "a", "v": 1}, {"id": "b", "v": 2}, {"id": 1, "v": 3}],
            "tags": ["x", "y"],
            "blob": ["p", "q"],
            "labels": {"k": "v"},
        },
        "status": {"deep": {"er": [1, 2]}},
    }
    edits = [
        lambda s: s["items"].__setitem__(1, {"id": "b", "v": 5}),
        lambda s: s["items"].append({"id": "c"}),
        lambda s: s["items"].pop(0),
        lambda s: s["tags"].append("z"),
        lambda s: s["blob"].reverse(),
        lambda s: s["labels"].update(k="w", n="m"),
        lambda s: s["items"].__setitem__(2, {"id": True, "v": 3}),
        lambda s: s.pop("labels"),
    ]
    for edit in edits:
        spec = copy.deepcopy(old["spec"])
        edit(spec)
        new = {**old, "metadata": dict(old["metadata"]), "spec": spec}  # status shared
        _both(old, new, schema=MAP_SCHEMA)
        _both(new, old, schema=MAP_SCHEMA)


def test_the_path_resolver_finds_what_value_at_finds() -> None:
    """``ssa._Resolver`` (record_update, apply's conflict check) against ``ssa._value_at``."""
    objects = [
        _deployment("nginx:1"),
        _deployment("x", containers=[{"name": "web", "image": "a"}, {"name": "web", "image": "b"}]),
        _deployment("x", containers=[{"name": "web", "ports": [{"containerPort": 1}, {"containerPort": True}]}]),  # noqa: E501
        _deployment("x", containers=[{"name": "web", "ports": [{"containerPort": 1.0, "protocol": "UDP"}]}]),
        _deployment("x", containers=[{"name": "a", "env": [{"name": "E", "value": "1"}, "odd"]}, "odd"]),
    ]
    paths = set().union(*(ssa.fields_of(o) for o in objects))
    assert len(paths) > 20
    for obj in objects:
        resolve = ssa._Resolver(obj)
        for path in sorted(paths):
            got, want = resolve(path), ssa._value_at(obj, path)
            # the same object, or for a set element (``v:``) the same freshly decoded value
            missing = ssa._MISSING
            decoded = missing not in (got, want) and not isinstance(want, dict)
            assert got is want or (decoded and ssa._canon(got) == ssa._canon(want)), path


@pytest.mark.parametrize("name", ["ssa", "crud", "crds", "workloads", "containers"])
async def test_record_update_matches_the_full_walk_on_the_corpus(
    name: str, sim_factory: SimFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[int] = []
    fast = ssa.record_update

    def checked(old: Any, new: Any, **kwargs: Any) -> list[dict[str, Any]]:
        want = _reference_record_update(copy.deepcopy(old), copy.deepcopy(new), **kwargs)
        got = fast(old, new, **kwargs)
        assert json.dumps(got, sort_keys=True) == json.dumps(want, sort_keys=True), (old, new)
        compared.append(1)
        return got

    monkeypatch.setattr(ssa, "record_update", checked)
    server = await sim_factory("corpus")
    target = corpus.Target(url=server.url, headers={"Authorization": f"Bearer {server.admin_token}"})
    outcomes = await corpus.run_suite(corpus.load(CORPUS / f"{name}.yaml"), target, retry_seconds=5)
    assert not list(corpus.iter_failures(outcomes))
    assert len(compared) >= 20, len(compared)  # the check ran on the suite's writes


async def test_a_crd_schema_update_takes_effect_at_once(api: Api) -> None:
    crd = widget_crd()
    assert (await api.post(CRDS, crd))[0] == 201
    status, w = await api.post(WIDGETS, widget("plain", size=1))
    assert status == 201 and "color" not in w["spec"]  # the schema has no default (and says so once)
    served = api.server.store.registry.lookup("example.com", "v1", "widgets")
    assert served is not None and crds.has_defaults(served) is False
    _, live = await api.get(f"{CRDS}/widgets.example.com")
    spec_schema = live["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec_schema["properties"]["color"]["default"] = "red"
    assert (await api.put(f"{CRDS}/widgets.example.com", live))[0] == 200
    status, w = await api.post(WIDGETS, widget("defaulted", size=1))  # the very next write
    assert status == 201 and w["spec"]["color"] == "red"
    _, live = await api.get(f"{CRDS}/widgets.example.com")
    del live["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["color"][
        "default"
    ]
    assert (await api.put(f"{CRDS}/widgets.example.com", live))[0] == 200
    status, w = await api.post(WIDGETS, widget("plain-again", size=1))
    assert status == 201 and "color" not in w["spec"]
    assert crds.has_defaults(served) is False  # the old served type kept its own answer
