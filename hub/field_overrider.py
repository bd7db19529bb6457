"""Karmada's ``fieldOverrider``: JSON-patch operations inside a JSON or YAML document held in a string.

A ConfigMap often carries a whole configuration file as one string (``data.config.yaml``).
``fieldOverrider`` points at that string (``fieldPath``, a JSON pointer), parses it as YAML
(``yaml`` operations) or JSON (``json`` operations), applies the operations at their ``subPath``
(a JSON pointer inside the document) and writes the document back as a string. Karmada applies
them after labels/annotations and before ``plaintext``. Where Karmada, given both ``yaml`` and
``json``, silently uses only ``yaml``, Waybill refuses the overrider naming the field.

Pure: ``apply_field_overriders(manifest, overriders)`` returns a new manifest or raises
``FieldOverrideError`` naming the overrider's field.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

import jsonpatch
import jsonpointer
import yaml

from shared.api.policy import FieldOverrider, FieldPatchOperation


class FieldOverrideError(ValueError):
    """A field overrider that cannot be applied; ``field`` is its path inside ``fieldOverrider[i]``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.detail = field, message


def _operations(operations: Sequence[FieldPatchOperation], where: str) -> list[dict[str, Any]]:
    patch = []
    for index, operation in enumerate(operations):
        entry: dict[str, Any] = {"op": operation.operator, "path": operation.sub_path}
        if operation.operator in ("add", "replace"):
            if operation.value is None:
                raise FieldOverrideError(
                    f"{where}[{index}].value", f"required when operator is {operation.operator}"
                )
            entry["value"] = operation.value
        patch.append(entry)
    return patch


def _patched(document: Any, patch: list[dict[str, Any]], where: str) -> Any:
    try:
        return jsonpatch.apply_patch(document, patch)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise FieldOverrideError(where, str(exc)) from exc


def apply_one(manifest: dict[str, Any], overrider: FieldOverrider, *, where: str = "fieldOverrider") -> None:
    """Apply one field overrider to ``manifest`` in place."""
    if overrider.json_patches and overrider.yaml_patches:
        raise FieldOverrideError(where, "set json or yaml, not both")
    try:
        pointer = jsonpointer.JsonPointer(overrider.field_path)
        text = pointer.resolve(manifest)
    except jsonpointer.JsonPointerException as exc:
        raise FieldOverrideError(f"{where}.fieldPath", f"{overrider.field_path}: {exc}") from exc
    if not isinstance(text, str):
        raise FieldOverrideError(f"{where}.fieldPath", f"{overrider.field_path} is not a string")
    if overrider.yaml_patches:
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise FieldOverrideError(
                f"{where}.fieldPath", f"{overrider.field_path} is not YAML: {exc}"
            ) from exc
        result = _patched(document, _operations(overrider.yaml_patches, f"{where}.yaml"), f"{where}.yaml")
        new_text = yaml.safe_dump(result, sort_keys=False, allow_unicode=True)
    elif overrider.json_patches:
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise FieldOverrideError(
                f"{where}.fieldPath", f"{overrider.field_path} is not JSON: {exc}"
            ) from exc
        result = _patched(document, _operations(overrider.json_patches, f"{where}.json"), f"{where}.json")
        new_text = json.dumps(result, separators=(",", ":"))
    else:
        return
    pointer.set(manifest, new_text)


def apply_field_overriders(
    manifest: Mapping[str, Any], overriders: Sequence[FieldOverrider], *, where: str = "fieldOverrider"
) -> dict[str, Any]:
    """A copy of ``manifest`` with every field overrider applied in order."""
    result = copy.deepcopy(dict(manifest))
    for index, overrider in enumerate(overriders):
        apply_one(result, overrider, where=f"{where}[{index}]")
    return result
