"""kubesim.encoding: a stored object version is encoded once and the bytes are reused."""

from __future__ import annotations

import json
from typing import Any

from kubesim import encoding
from kubesim.store import Store


def test_committed_objects_are_served_from_the_remembered_bytes() -> None:
    store = Store()
    ns = store.resource("v1", "Namespace")
    cm = store.resource("v1", "ConfigMap")
    assert ns is not None and cm is not None
    store.create(ns, {"metadata": {"name": "default"}})
    body = {"metadata": {"name": "c", "namespace": "default"}, "data": {"a": "1"}}
    obj = store.create(cm, body, copy=False)
    data = encoding.dumps(obj)
    assert data is encoding.dumps(obj)  # the commit's encoding, not a new one
    assert json.loads(data) == obj
    assert data == json.dumps(obj, separators=(",", ":")).encode()


def test_other_objects_and_other_versions_are_encoded_afresh() -> None:
    obj = {"metadata": {"name": "c", "resourceVersion": "5"}, "data": {"a": "1"}}
    encoding.remember(obj, b"remembered")
    assert encoding.dumps(obj) == b"remembered"
    equal = json.loads(json.dumps(obj))
    assert json.loads(encoding.dumps(equal)) == obj  # equal is not the same object
    obj["metadata"]["resourceVersion"] = "6"
    assert json.loads(encoding.dumps(obj)) == obj
    encoding.clear()


def test_the_cache_is_bounded() -> None:
    for i in range(encoding.MAX_ENTRIES + 10):
        encoding.remember({"metadata": {"resourceVersion": str(i)}}, b"x")
    assert len(encoding._recent) == encoding.MAX_ENTRIES
    encoding.clear()


def test_lists_are_composed_from_the_items_bytes() -> None:
    items: list[dict[str, Any]] = [
        {"metadata": {"name": "a", "resourceVersion": "3"}},
        {"metadata": {"name": "b"}, "x": [1.5, "é"]},
    ]
    encoding.remember(items[0], json.dumps(items[0], separators=(",", ":")).encode())
    head = {"kind": "ThingList", "apiVersion": "v1", "metadata": {"resourceVersion": "9"}}
    expected = json.dumps({**head, "items": items}, separators=(",", ":")).encode()
    assert encoding.dumps_list(head, items) == expected
    assert encoding.dumps_list(head, []) == json.dumps({**head, "items": []}, separators=(",", ":")).encode()
    assert encoding.dumps_list({}, []) == b'{"items":[]}'
    encoding.clear()
