"""``shared.kube.informer.compact``: the same object, with its repeated strings shared."""

from __future__ import annotations

import json

from shared.kube.informer import compact


def test_compact_keeps_the_object_and_shares_keys_and_short_values() -> None:
    text = '{"metadata": {"name": "a", "labels": {"app": "web"}}, "data": {"k": "%s"}, "n": 1, "b": [true]}'
    long = "x" * 100
    first, second = json.loads(text % long), json.loads(text % long)
    assert first["metadata"]["labels"]["app"] is not second["metadata"]["labels"]["app"]  # as decoded
    a, b = compact(first), compact(second)
    assert a == first and b == second
    assert a["metadata"]["labels"]["app"] is b["metadata"]["labels"]["app"]
    assert next(iter(a["metadata"])) is next(iter(b["metadata"]))  # keys too
    assert a["data"]["k"] == long  # long values kept as they are (uids, data), not interned
