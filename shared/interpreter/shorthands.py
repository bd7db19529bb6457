"""Customizations generated from short settings, for the interpreter's ``defaults`` layer (pure).

``replica_path_customization(group=..., kind=..., path=...)`` is what the hub's
``--replica-path GROUP/KIND=PATH`` means, written as a customization: ``GetReplicas`` reads the
dotted path (absent means 1, as the hub counts it today) and ``ReviseReplica`` writes it, making
the tables on the way. Given to ``Interpreter(defaults=[...])`` it ranks below every user
customization of the kind and above the built-in rules, so the flag becomes a shorthand.
"""

from __future__ import annotations

import re
from typing import Any

from shared.api import names

_PART = re.compile(r"^[A-Za-z0-9_-]+$")

_SCRIPT_GET = """
local PATH = {%(parts)s}
function GetReplicas(obj)
  local node = obj
  for i = 1, #PATH do
    if type(node) ~= "table" then return 1, nil end
    node = node[PATH[i]]
  end
  if node == nil then return 1, nil end
  return node, nil
end
"""

_SCRIPT_REVISE = """
local PATH = {%(parts)s}
function ReviseReplica(obj, desiredReplica)
  local node = obj
  for i = 1, #PATH - 1 do
    if type(node[PATH[i]]) ~= "table" then node[PATH[i]] = {} end
    node = node[PATH[i]]
  end
  node[PATH[#PATH]] = desiredReplica
  return obj
end
"""


def replica_path_customization(*, group: str, kind: str, path: str) -> dict[str, Any]:
    """A ResourceInterpreterCustomization (wire form) for a kind keeping its replicas at ``path``.

    ``group`` is the API group ("" for the core group); the target's version is ``*`` (any).
    ``ValueError`` for a path that is not dotted field names.
    """
    parts = path.split(".")
    if not kind or not all(_PART.match(part) for part in parts):
        raise ValueError(f"a replica path is dotted field names (spec.replicas), not {path!r}")
    quoted = ", ".join(f'"{part}"' for part in parts)
    return {
        "apiVersion": names.CONFIG_API_VERSION,
        "kind": names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
        "metadata": {"name": f"replica-path.{kind.lower()}.{group or 'core'}"},
        "spec": {
            "target": {"apiVersion": f"{group}/*" if group else "*", "kind": kind},
            "customizations": {
                "replicaResource": {"luaScript": _SCRIPT_GET % {"parts": quoted}},
                "replicaRevision": {"luaScript": _SCRIPT_REVISE % {"parts": quoted}},
            },
        },
    }
