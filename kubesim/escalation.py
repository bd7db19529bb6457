"""RBAC escalation prevention: you cannot grant permissions you do not hold.

As kube-apiserver's policy-based RBAC storage does: writing a Role/ClusterRole needs either the
``escalate`` verb on it or every permission it grants; writing a (Cluster)RoleBinding needs either
``bind`` on the referenced role or every permission that role grants (in the binding's namespace).
``system:masters`` is exempt. ``Can`` answers one atomic permission for the writing user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Obj = dict[str, Any]
# can(verb=, api_group=, resource=, subresource=, namespace=, name=, path=) -> bool
Can = Callable[..., bool]


def _q(values: list[str]) -> str:
    return "[" + " ".join(f'"{v}"' for v in values) + "]"


def ungranted(rules: list[Obj], *, namespace: str | None, can: Can) -> list[str]:
    """The atomic permissions in ``rules`` the user does not hold, worded as kube-apiserver lists them."""
    missing: list[str] = []
    for rule in rules:
        verbs = rule.get("verbs") or []
        if rule.get("nonResourceURLs"):
            for url in rule["nonResourceURLs"]:
                for verb in verbs:
                    if not can(
                        verb=verb,
                        api_group="",
                        resource="",
                        subresource=None,
                        namespace=None,
                        name=None,
                        path=url,
                    ):
                        missing.append(f"{{NonResourceURLs:{_q([url])}, Verbs:{_q([verb])}}}")
            continue
        names = rule.get("resourceNames") or [None]
        for group in rule.get("apiGroups") or [""]:
            for resource in rule.get("resources") or []:
                base, _, sub = resource.partition("/")
                for name in names:
                    for verb in verbs:
                        if can(
                            verb=verb,
                            api_group=group,
                            resource=base,
                            subresource=sub or None,
                            namespace=namespace,
                            name=name,
                            path=None,
                        ):
                            continue
                        text = f"{{APIGroups:{_q([group])}, Resources:{_q([resource])}"
                        if name:
                            text += f", ResourceNames:{_q([name])}"
                        missing.append(text + f", Verbs:{_q([verb])}}}")
    return missing


def message(*, plural: str, name: str, user: str, groups: tuple[str, ...], missing: list[str]) -> str:
    who = "[" + ",".join(f'"{g}"' for g in groups) + "]"
    return (
        f'{plural}.rbac.authorization.k8s.io "{name}" is forbidden: user "{user}" (groups={who}) is '
        f"attempting to grant RBAC permissions not currently held:\n" + "\n".join(missing)
    )
