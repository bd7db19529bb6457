"""Label and field selectors: parsing the query-string forms and matching objects.

Pure functions. ``parse_labels("app=web,tier in (a,b),!legacy")`` returns requirements;
``match_labels(reqs, labels)`` tests them. Field selectors support the fields kube-apiserver
supports per kind; anything else is rejected with the real server's 400 message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kubesim import errors

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?"


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        if self.op == "=":
            return present and labels[self.key] == self.values[0]
        if self.op == "!=":
            return not present or labels[self.key] != self.values[0]
        if self.op == "in":
            return present and labels[self.key] in self.values
        if self.op == "notin":
            return not present or labels[self.key] not in self.values
        if self.op == "exists":
            return present
        return not present  # "!"


def _split_top(text: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


_SET_RE = re.compile(r"^(\S+)\s+(in|notin)\s*\(([^)]*)\)$")
_EQ_RE = re.compile(r"^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$")


def parse_labels(text: str | None) -> list[Requirement]:
    """Parse a labelSelector query value; raise a 400 ``ApiError`` when it is malformed."""
    if not text:
        return []
    reqs = []
    for part in _split_top(text):
        m = _SET_RE.match(part)
        if m:
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            _check_key(m.group(1), text)
            reqs.append(Requirement(m.group(1), m.group(2), values))
            continue
        m = _EQ_RE.match(part)
        if m:
            _check_key(m.group(1), text)
            _check_value(m.group(3), text)
            reqs.append(Requirement(m.group(1), "!=" if m.group(2) == "!=" else "=", (m.group(3),)))
            continue
        if part.startswith("!"):
            _check_key(part[1:].strip(), text)
            reqs.append(Requirement(part[1:].strip(), "!"))
            continue
        _check_key(part, text)
        reqs.append(Requirement(part, "exists"))
    return reqs


def _check_key(key: str, text: str) -> None:
    if not re.fullmatch(_KEY, key) or key.count("/") > 1:
        raise errors.bad_request(
            f'unable to parse requirement: <nil>: Invalid value: "{key}": '
            f"name part must consist of alphanumeric characters, '-', '_' or '.', "
            f"and must start and end with an alphanumeric character"
        )


def _check_value(value: str, text: str) -> None:
    if not re.fullmatch(_VALUE, value) or len(value) > 63:
        raise errors.bad_request(
            f"unable to parse requirement: values[0][{value}]: Invalid value: "
            f'"{value}": a valid label must be an empty string or consist of '
            f"alphanumeric characters, '-', '_' or '.', and must start and end "
            f"with an alphanumeric character"
        )


def match_labels(reqs: list[Requirement], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return all(r.matches(labels) for r in reqs)


def match_selector_dict(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """Match a ``metav1.LabelSelector`` object (matchLabels + matchExpressions); empty matches all."""
    if selector is None:
        return False
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!"}.get(
            expr.get("operator", "")
        )
        if op is None:
            return False
        if not Requirement(expr["key"], op, tuple(expr.get("values") or ())).matches(labels):
            return False
    return True


# ---------------------------------------------------------------- field selectors

_COMMON_FIELDS = ("metadata.name", "metadata.namespace")
_KIND_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "pods"): (
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ),
    ("", "events"): (
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ),
    ("", "secrets"): ("type",),
    ("", "namespaces"): ("status.phase",),
    ("", "nodes"): ("spec.unschedulable",),
    ("", "replicationcontrollers"): ("status.replicas",),
    ("apps", "replicasets"): ("status.replicas",),
    ("batch", "jobs"): ("status.successful",),
}


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    field: str
    value: str
    negate: bool


def parse_fields(
    text: str | None, *, group: str, plural: str, extra: tuple[str, ...] = ()
) -> list[FieldRequirement]:
    if not text:
        return []
    allowed = _COMMON_FIELDS + _KIND_FIELDS.get((group, plural), ()) + extra
    reqs = []
    for part in _split_top(text):
        m = re.match(r"^([^=!]+)(==|=|!=)(.*)$", part)
        if not m:
            raise errors.bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field = m.group(1).strip()
        if field not in allowed:
            if (group, plural) in _KIND_FIELDS or extra:
                raise errors.bad_request(f"field label not supported: {field}")
            raise errors.bad_request(
                f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"'
            )
        reqs.append(FieldRequirement(field, m.group(3).strip(), m.group(2) == "!="))
    return reqs


def field_value(obj: dict[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def match_fields(reqs: list[FieldRequirement], obj: dict[str, Any]) -> bool:
    for r in reqs:
        if r.field == "source":
            value = field_value(obj, "source.component")
        else:
            value = field_value(obj, r.field)
        if (value == r.value) == r.negate:
            return False
    return True
