"""docs/karmada.md's field table: a row per policy field, Unsupported exactly where the code refuses."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from hub.unsupported import documented_paths
from shared.api.meta import LabelSelector
from shared.api.policy import ClusterAffinity, OverrideSpec, PropagationSpec

DOC = Path(__file__).resolve().parents[2] / "docs" / "karmada.md"
EXAMPLES = Path(__file__).resolve().parent / "examples"
ROW = re.compile(r"^\| `([^`]+)` \| (\w+) \|")


def _rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    for line in DOC.read_text().splitlines():
        match = ROW.match(line)
        if match:
            # A field shared by both policy families (resourceSelectors) may have a row in each.
            assert rows.get(match.group(1), match.group(2)) == match.group(2), f"{match.group(1)} disagrees"
            rows[match.group(1)] = match.group(2)
    return rows


def _notes() -> dict[str, str]:
    return {m.group(1): line for line in DOC.read_text().splitlines() if (m := ROW.match(line)) is not None}


def _inner(tp: Any) -> tuple[Any, str]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _inner(args[0]) if len(args) == 1 else (tp, "")
    if origin is list:
        inner, _ = _inner(typing.get_args(tp)[0])
        return inner, "[]"
    if origin is typing.Annotated:
        return _inner(typing.get_args(tp)[0])
    return tp, ""


def _paths(cls: type[BaseModel], prefix: str) -> list[str]:
    out = []
    for name, info in cls.model_fields.items():
        tp, suffix = _inner(info.annotation)
        path = f"{prefix}.{info.alias or name}{suffix}"
        out.append(path)
        if isinstance(tp, type) and issubclass(tp, ClusterAffinity):
            # ClusterAffinity's own fields have their section; what a subclass adds is listed here.
            extra = [n for n in tp.model_fields if n not in ClusterAffinity.model_fields]
            for field_name in extra:
                _, sub_suffix = _inner(tp.model_fields[field_name].annotation)
                out.append(f"{path}.{tp.model_fields[field_name].alias or _camel(field_name)}{sub_suffix}")
        elif isinstance(tp, type) and issubclass(tp, BaseModel) and not issubclass(tp, LabelSelector):
            out += _paths(tp, path)
    return out


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _expected() -> set[str]:
    paths = set(_paths(PropagationSpec, "spec"))
    for path in _paths(OverrideSpec, "spec"):
        for prefix in ("spec.overrideRules[].overriders.", "spec.overriders."):
            if path.startswith(prefix):
                path = "overriders." + path.removeprefix(prefix)
        if not path.startswith("spec.resourceSelectors"):
            paths.add(path)
    paths |= {
        f"ClusterAffinity.{_camel(n)}{_inner(i.annotation)[1]}"
        for n, i in ClusterAffinity.model_fields.items()
    }
    return paths


def test_every_field_has_a_row() -> None:
    rows = _rows()
    missing = sorted(_expected() - set(rows))
    extra = sorted(set(rows) - _expected())
    assert not missing, f"docs/karmada.md lacks rows for {missing}"
    assert not extra, f"docs/karmada.md has rows for fields that do not exist: {extra}"
    assert set(rows.values()) <= {"Implemented", "Differs", "Unsupported", "Waybill"}


def test_unsupported_rows_are_exactly_what_the_hub_refuses() -> None:
    rows = _rows()
    refused = set(documented_paths())
    # The table spells list fields with a trailing [] (spec.dependentOverrides[]); the code without.
    unsupported = {path.removesuffix("[]") for path, status in rows.items() if status == "Unsupported"}
    # A refused field's sub-fields are Unsupported too; the field itself must be refused by the code.
    tops = {p for p in unsupported if not any(p != q and p.startswith(q + ".") for q in unsupported)}
    assert tops <= refused | {"spec.failover", "spec.placement.workloadAffinity"}, tops - refused
    # A field refused only for some values (schedulerName) is "Differs", its notes saying when.
    partly = {
        path.removesuffix("[]")
        for path, status in rows.items()
        if status == "Differs" and "(`Unsupported`)" in _notes()[path]
    }
    assert refused <= unsupported | partly, refused - unsupported - partly


def test_the_corpus_size_the_doc_quotes() -> None:
    count = sum(len([d for d in yaml.safe_load_all(p.read_text()) if d]) for p in EXAMPLES.glob("*.yaml"))
    assert f"({count} documents," in DOC.read_text()
