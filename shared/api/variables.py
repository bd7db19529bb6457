"""Variables in override values: ``${MEMBER_CLUSTER_NAME}`` and ``${MEMBER_CLUSTER_LABEL:<key>}``.

The hub substitutes them per cluster when it renders overrides; validation reports unknown ones
when a policy is applied. Pure functions over JSON values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

VARIABLE_RE = re.compile(r"\$\{([^}]*)\}")
CLUSTER_NAME = "MEMBER_CLUSTER_NAME"
CLUSTER_LABEL_PREFIX = "MEMBER_CLUSTER_LABEL:"
_LABEL_KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


class VariableError(ValueError):
    """A variable that cannot be substituted (unknown, or a label the cluster does not have)."""


def variable_problem(name: str) -> str | None:
    """Why ``${name}`` is not a valid variable, or None if it is."""
    if name == CLUSTER_NAME:
        return None
    if name.startswith(CLUSTER_LABEL_PREFIX):
        key = name[len(CLUSTER_LABEL_PREFIX) :]
        if _LABEL_KEY_RE.match(key):
            return None
        return f"${{{name}}}: {key!r} is not a valid label key"
    return f"unknown variable ${{{name}}} (use ${{{CLUSTER_NAME}}} or ${{{CLUSTER_LABEL_PREFIX}<key>}})"


def string_problems(text: str) -> list[str]:
    """Problems with the variables used in one string."""
    problems = []
    for match in VARIABLE_RE.finditer(text):
        problem = variable_problem(match.group(1))
        if problem is not None:
            problems.append(problem)
    return problems


def substitute_string(text: str, *, cluster_name: str, cluster_labels: Mapping[str, str]) -> str:
    """``text`` with every variable replaced for one cluster; VariableError if one cannot be."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        problem = variable_problem(name)
        if problem is not None:
            raise VariableError(problem)
        if name == CLUSTER_NAME:
            return cluster_name
        key = name[len(CLUSTER_LABEL_PREFIX) :]
        if key not in cluster_labels:
            raise VariableError(f"cluster {cluster_name} has no label {key!r} (${{{name}}})")
        return cluster_labels[key]

    return VARIABLE_RE.sub(replace, text)


def substitute(value: Any, *, cluster_name: str, cluster_labels: Mapping[str, str]) -> Any:
    """A copy of a JSON value with variables replaced in every string (keys included)."""
    if isinstance(value, str):
        return substitute_string(value, cluster_name=cluster_name, cluster_labels=cluster_labels)
    if isinstance(value, list):
        return [substitute(item, cluster_name=cluster_name, cluster_labels=cluster_labels) for item in value]
    if isinstance(value, dict):
        return {
            substitute_string(key, cluster_name=cluster_name, cluster_labels=cluster_labels): substitute(
                item, cluster_name=cluster_name, cluster_labels=cluster_labels
            )
            for key, item in value.items()
        }
    return value
