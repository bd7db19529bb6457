"""Text of ``waybill describe``: a member, or a template with its binding. Pure formatting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import yaml

from waybill import columns, tainting
from waybill.output import age, table


def _kv(lines: list[str], key: str, value: Any) -> None:
    lines.append(f"{key + ':':<20}{value}")


def _conditions(lines: list[str], conditions: Sequence[Mapping[str, Any]]) -> None:
    lines.append("Conditions:")
    if not conditions:
        lines.append("  <none>")
        return
    rows = [
        [
            c.get("type"),
            c.get("status"),
            c.get("reason") or "-",
            age(c.get("lastTransitionTime")),
            c.get("message") or "",
        ]
        for c in conditions
    ]
    lines.extend(
        "  " + line for line in table(("TYPE", "STATUS", "REASON", "AGE", "MESSAGE"), rows).splitlines()
    )


def events_text(events: Sequence[Mapping[str, Any]], *, now: datetime | None = None) -> list[str]:
    """The ``Events:`` block, newest last, like kubectl describe."""
    lines = ["Events:"]
    if not events:
        lines.append("  <none>")
        return lines

    def when(e: Mapping[str, Any]) -> str:
        return str(
            e.get("lastTimestamp")
            or e.get("eventTime")
            or (e.get("metadata") or {}).get("creationTimestamp")
            or ""
        )

    rows = []
    for event in sorted(events, key=when)[-20:]:
        source = (event.get("source") or {}).get("component") or event.get("reportingComponent") or "-"
        count = event.get("count") or 1
        rows.append(
            [
                event.get("type") or "Normal",
                event.get("reason") or "-",
                age(when(event), now=now) + (f" (x{count})" if count > 1 else ""),
                source,
                event.get("message") or "",
            ]
        )
    lines.extend(
        "  " + line for line in table(("TYPE", "REASON", "AGE", "FROM", "MESSAGE"), rows).splitlines()
    )
    return lines


def member_text(
    member: Mapping[str, Any],
    *,
    lease: Mapping[str, Any] | None,
    works: Sequence[Mapping[str, Any]],
    bindings: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
) -> str:
    meta, spec, status = member.get("metadata") or {}, member.get("spec") or {}, member.get("status") or {}
    lines: list[str] = []
    _kv(lines, "Name", meta.get("name"))
    _kv(lines, "Namespace", meta.get("namespace"))
    _kv(
        lines,
        "Labels",
        ", ".join(f"{k}={v}" for k, v in sorted((meta.get("labels") or {}).items())) or "<none>",
    )
    _kv(lines, "Mode", spec.get("syncMode", "Pull"))
    for key in ("provider", "region", "zone"):
        if spec.get(key):
            _kv(lines, key.capitalize(), spec[key])
    _kv(lines, "Taints", columns.taints_text(spec).replace(",", ", ") if spec.get("taints") else "<none>")
    _kv(lines, "Unschedulable", "true (cordoned)" if tainting.cordoned(spec.get("taints") or []) else "false")
    _kv(lines, "Kubernetes", status.get("kubernetesVersion") or "<unknown>")
    _kv(lines, "Agent", status.get("agentVersion") or "<unknown>")
    _kv(lines, "Nodes", status.get("nodeCount") if status.get("nodeCount") is not None else "<unknown>")
    resources = status.get("resources") or {}
    for key in ("allocatable", "available"):
        if resources.get(key):
            _kv(lines, key.capitalize(), ", ".join(f"{k}={v}" for k, v in sorted(resources[key].items())))
    if lease is not None:
        lspec = lease.get("spec") or {}
        _kv(
            lines,
            "Heartbeat",
            f"{age(lspec.get('renewTime'))} ago by {lspec.get('holderIdentity')} "
            f"(lease {lspec.get('leaseDurationSeconds')}s)",
        )
    else:
        _kv(lines, "Heartbeat", "<never>: no agent has connected")
    _conditions(lines, status.get("conditions") or [])
    lines.append(f"Works ({len(works)}):")
    if works:
        rows = [columns.row(dict(w), wide=False, namespace_column=False) for w in works]
        header = ["NAME", *columns.BY_KIND["Work"].headers]
        lines.extend("  " + line for line in table(header, rows).splitlines())
    else:
        lines.append("  <none>")
    placed = []
    for binding in bindings:
        resource = (binding.get("spec") or {}).get("resource") or {}
        for target in (binding.get("spec") or {}).get("clusters") or []:
            if target.get("name") == meta.get("name"):
                where = f"{resource['namespace']}/" if resource.get("namespace") else ""
                replicas = f" ({target['replicas']} replicas)" if target.get("replicas") is not None else ""
                placed.append(f"  {resource.get('kind')} {where}{resource.get('name')}{replicas}")
    lines.append(f"Placed here ({len(placed)}):")
    lines.extend(placed or ["  <none>"])
    lines.extend(events_text(events))
    return "\n".join(lines)


def carries(work: Mapping[str, Any], *, resource: Mapping[str, Any]) -> bool:
    """Whether ``work`` carries the template ``resource`` names."""
    for manifest in ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []:
        meta = manifest.get("metadata") or {}
        if (manifest.get("kind"), meta.get("name"), meta.get("namespace") or "") == (
            resource.get("kind"),
            resource.get("name"),
            resource.get("namespace") or "",
        ):
            return True
    return False


def drift_lines(works: Sequence[Mapping[str, Any]], *, resource: Mapping[str, Any]) -> list[str]:
    """``cluster: path member=... hub=...`` for the template's manifest in every Work."""
    out = []
    for work in works:
        cluster = ((work.get("metadata") or {}).get("labels") or {}).get("waybill.dev/cluster", "?")
        for manifest in (work.get("status") or {}).get("manifestConditions") or []:
            ident = manifest.get("identifier") or {}
            if ident.get("kind") != resource.get("kind") or ident.get("name") != resource.get("name"):
                continue
            if (ident.get("namespace") or "") != (resource.get("namespace") or ""):
                continue
            when = manifest.get("observedDriftTime")
            for cond in manifest.get("conditions") or []:
                if cond.get("type") == "Drifted" and cond.get("status") == "True":
                    out.append(
                        f"  {cluster}: {cond.get('reason')}: {cond.get('message', '')} "
                        f"({age(cond.get('lastTransitionTime'))} ago)"
                    )
                elif cond.get("type") == "Applied" and cond.get("reason") == "NotTakenOver":
                    out.append(f"  {cluster}: NotTakenOver: {cond.get('message', '')}")
            record = manifest.get("lastDrift")
            if record:
                who = ", ".join(record.get("changedBy") or []) or "an unknown manager"
                done = "corrected" if record.get("corrected") else "not corrected"
                out.append(f"  {cluster}: last drift {age(record.get('observedTime'))} ago by {who}; {done}")
                if not manifest.get("drifts"):  # the pass that saw it lists them below
                    out.extend(
                        f"  {cluster}: {d.get('path')}: member={d.get('memberValue')} hub={d.get('hubValue')}"
                        for d in record.get("fields") or []
                    )
            for detail in [*(manifest.get("drifts") or []), *(manifest.get("diffs") or [])]:
                out.append(
                    f"  {cluster}: {detail.get('path')}: member={detail.get('memberValue')} "
                    f"hub={detail.get('hubValue')}" + (f" (seen {age(when)} ago)" if when else "")
                )
    return out


def binding_text(
    binding: Mapping[str, Any],
    *,
    status_text: str,
    works: Sequence[Mapping[str, Any]],
    events: Sequence[Mapping[str, Any]],
) -> str:
    """``status_text`` (the per-member table from ``waybill status``) plus placement reasons,
    drift details and events."""
    meta, status = binding.get("metadata") or {}, binding.get("status") or {}
    resource = (binding.get("spec") or {}).get("resource") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    lines = [
        f"Binding:   {binding.get('kind')} {where}{meta.get('name')}",
        status_text,
        "",
    ]
    decision = status.get("schedulingDecision") or {}
    lines.append(
        f"Placement: {decision.get('result', '<not scheduled yet>')}"
        + (f" — {decision['summary']}" if decision.get("summary") else "")
    )
    rows = [
        [
            t.get("cluster"),
            "chosen",
            t.get("reason") or "Scheduled",
            f"{t['replicas']} replicas" if t.get("replicas") is not None else "",
        ]
        for t in decision.get("targets") or []
    ]
    rows += [
        [r.get("cluster"), "left out", r.get("reason"), r.get("message") or ""]
        for r in decision.get("rejected") or []
    ]
    if rows:
        lines.extend(
            "  " + line for line in table(("CLUSTER", "DECISION", "REASON", "DETAIL"), rows).splitlines()
        )
    lines.extend(rejected_lines(decision))
    drifts = drift_lines(works, resource=resource)
    lines.append("Drift:" if drifts else "Drift:     none reported")
    lines.extend(drifts)
    lines.extend(events_text(events))
    return "\n".join(lines)


def rejected_lines(decision: Mapping[str, Any]) -> list[str]:
    """The clusters left out, counted per reason (``rejectedByReason``): how many, the first
    names and one message. Empty when ``rejected`` lists every cluster left out already (a small
    fleet, or a decision written before the hub grouped them)."""
    groups = [g for g in decision.get("rejectedByReason") or [] if isinstance(g, Mapping)]
    total = decision.get("rejectedTotal")
    if not isinstance(total, int):
        total = sum(g.get("count") or 0 for g in groups)
    listed = len(decision.get("rejected") or [])
    if not groups or total <= listed:
        return []
    lines = [f"Left out by reason: {total} clusters ({listed} listed above)"]
    rows = []
    for g in groups:
        count = g.get("count") or 0
        names_ = [str(c) for c in g.get("clusters") or []]
        more = count - len(names_)
        rows.append(
            [
                g.get("reason") or "",
                str(count),
                ", ".join(names_) + (f", +{more} more" if more > 0 and names_ else ""),
                g.get("message") or "",
            ]
        )
    lines.extend("  " + line for line in table(("REASON", "COUNT", "CLUSTERS", "EXAMPLE"), rows).splitlines())
    return lines


def policy_text(
    policy: Mapping[str, Any], *, claimed: Sequence[Mapping[str, Any]], events: Sequence[Mapping[str, Any]]
) -> str:
    """A policy's spec (as YAML), conditions, the bindings it claims and its Events."""
    meta, status = policy.get("metadata") or {}, policy.get("status") or {}
    lines: list[str] = []
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    _kv(lines, "Policy", f"{policy.get('kind')} {where}{meta.get('name')}")
    if status.get("claimedTemplates") is not None:
        _kv(lines, "Claimed templates", status["claimedTemplates"])
    lines.append("Spec:")
    lines.extend(
        "  " + line for line in yaml.safe_dump(policy.get("spec") or {}, sort_keys=False).splitlines()
    )
    _conditions(lines, status.get("conditions") or [])
    lines.append(f"Bindings ({len(claimed)}):")
    for binding in claimed:
        resource = (binding.get("spec") or {}).get("resource") or {}
        rwhere = f"{resource['namespace']}/" if resource.get("namespace") else ""
        lines.append(
            f"  {resource.get('kind')} {rwhere}{resource.get('name')} -> "
            f"{columns.clusters_of(binding.get('spec') or {})}"
        )
    if not claimed:
        lines.append("  <none>")
    lines.extend(events_text(events))
    return "\n".join(lines)
