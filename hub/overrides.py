"""OverridePolicy / ClusterOverridePolicy: per-cluster changes to a rendered manifest (pure).

Order (fixed, documented in docs/hub.md):

* policies: every ClusterOverridePolicy, then every OverridePolicy (of the template's namespace),
  each group by name — so a namespaced policy, closer to the application, has the last word;
* within a policy: ``overrideRules`` in list order (then the older top-level
  ``targetCluster``/``overriders`` form), a rule only for the clusters its ``targetCluster`` selects;
* within a rule: imageOverrider, commandOverrider, argsOverrider, labelsOverrider,
  annotationsOverrider, fieldOverrider (JSON/YAML inside string fields, ``hub.field_overrider``),
  then plaintext (JSON-patch operations).

String values may use ``${MEMBER_CLUSTER_NAME}`` and ``${MEMBER_CLUSTER_LABEL:<key>}``. Anything
that cannot be applied raises ``OverrideError`` naming the policy, object, cluster and field.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jsonpatch
from pydantic import ValidationError

from hub import field_overrider, matching, tenancy
from hub.clusters import ClusterView
from hub.scheduling import PlacementError, affinity_rejection
from shared.api import variables
from shared.api.policy import FieldOverrider

CLUSTER_OVERRIDE = "ClusterOverridePolicy"
NAMESPACED_OVERRIDE = "OverridePolicy"

# Where pod specs live, per kind (JSON pointers without the trailing container list).
POD_SPEC_PATHS: Mapping[str, str] = {
    "Pod": "/spec",
    "Deployment": "/spec/template/spec",
    "StatefulSet": "/spec/template/spec",
    "DaemonSet": "/spec/template/spec",
    "ReplicaSet": "/spec/template/spec",
    "Job": "/spec/template/spec",
    "CronJob": "/spec/jobTemplate/spec/template/spec",
}


class OverrideError(ValueError):
    """An override that cannot be applied: names the policy, object, cluster and field."""

    def __init__(self, *, policy: str, obj: str, cluster: str, field: str, message: str) -> None:
        super().__init__(f"{policy}: cannot override {obj} for cluster {cluster}: {field}: {message}")
        self.policy, self.obj, self.cluster, self.field, self.detail = policy, obj, cluster, field, message


def _describe(obj: Mapping[str, Any]) -> str:
    return str(matching.TemplateRef.of(obj))


def policy_ref(policy: Mapping[str, Any]) -> str:
    meta = policy.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{policy.get('kind', 'OverridePolicy')}/{where}{meta.get('name', '')}"


def applies_to(policy: Mapping[str, Any], template: Mapping[str, Any]) -> bool:
    """Whether an override policy selects ``template`` (no selectors: all in its scope)."""
    meta = policy.get("metadata") or {}
    template_ns = (template.get("metadata") or {}).get("namespace") or ""
    if not tenancy.may_act_on(
        policy_kind=str(policy.get("kind") or ""),
        policy_namespace=str(meta.get("namespace") or ""),
        template_namespace=str(template_ns),
    ):
        return False
    selectors = (policy.get("spec") or {}).get("resourceSelectors") or []
    return not selectors or any(matching.selector_specificity(s, template) for s in selectors)


def ordered(policies: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Override policies in application order: cluster-scoped first, then by name."""

    def key(policy: Mapping[str, Any]) -> tuple[int, str, str]:
        meta = policy.get("metadata") or {}
        return (
            0 if policy.get("kind") == CLUSTER_OVERRIDE else 1,
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
        )

    return sorted(policies, key=key)


def _rules(spec: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    rules = list(spec.get("overrideRules") or [])
    if spec.get("overriders"):
        rules.append({"targetCluster": spec.get("targetCluster"), "overriders": spec["overriders"]})
    return rules


def substitute(value: Any, cluster: ClusterView) -> Any:
    """Replace the cluster variables in every string inside ``value`` (``shared.api.variables``:
    the one substitution, also what validation checks); ``VariableError`` names what is wrong."""
    return variables.substitute(value, cluster_name=cluster.name, cluster_labels=cluster.labels)


# ---------------------------------------------------------------- images


def split_image(image: str) -> tuple[str, str, str]:
    """``[registry/]repository[:tag|@digest]`` → (registry, repository, tag-with-separator)."""
    rest, at, digest = image.partition("@")
    suffix = f"@{digest}" if at else ""
    if not at:
        slash = rest.rfind("/")
        colon = rest.rfind(":")
        if colon > slash:
            rest, suffix = rest[:colon], rest[colon:]
    registry = ""
    first, slash_found, remainder = rest.partition("/")
    if slash_found and ("." in first or ":" in first or first == "localhost"):
        registry, rest = first, remainder
    return registry, rest, suffix


def join_image(registry: str, repository: str, suffix: str) -> str:
    return (f"{registry}/" if registry else "") + repository + suffix


def override_image(image: str, overrider: Mapping[str, Any]) -> str:
    registry, repository, suffix = split_image(image)
    component, operator = overrider.get("component"), overrider.get("operator")
    value = str(overrider.get("value") or "")
    if component == "Tag":
        tag = suffix[1:] if suffix.startswith(":") else ""
        tag = {"add": tag + value, "replace": value, "remove": ""}.get(str(operator), tag)
        if suffix.startswith("@") and operator != "remove":
            suffix = f"@{value}" if operator == "replace" and value.startswith("sha256:") else suffix
        else:
            suffix = f":{tag}" if tag else ""
        return join_image(registry, repository, suffix)
    parts = {"Registry": registry, "Repository": repository}
    if component not in parts:
        raise ValueError(f"component {component!r} is not Registry, Repository or Tag")
    current = parts[str(component)]
    if operator == "add":
        current += value
    elif operator == "replace":
        current = value
    elif operator == "remove":
        current = ""
    else:
        raise ValueError(f"operator {operator!r} is not add, remove or replace")
    parts[str(component)] = current
    if not parts["Repository"]:
        raise ValueError("the image would have no repository")
    return join_image(parts["Registry"], parts["Repository"], suffix)


def _image_pointers(manifest: Mapping[str, Any]) -> list[str]:
    base = POD_SPEC_PATHS.get(str(manifest.get("kind", "")))
    if base is None:
        return []
    pod_spec = jsonpatch.JsonPointer(base).resolve(manifest, None)
    if not isinstance(pod_spec, dict):
        return []
    pointers = []
    for field in ("initContainers", "containers"):
        for index, container in enumerate(pod_spec.get(field) or []):
            if isinstance(container, dict) and "image" in container:
                pointers.append(f"{base}/{field}/{index}/image")
    return pointers


def _apply_image(manifest: dict[str, Any], overrider: Mapping[str, Any]) -> str:
    predicate = overrider.get("predicate") or {}
    pointers = [predicate["path"]] if predicate.get("path") else _image_pointers(manifest)
    for pointer in pointers:
        target = jsonpatch.JsonPointer(pointer)
        image = target.resolve(manifest, None)
        if not isinstance(image, str):
            return f"{pointer}: no image string there"
        try:
            new = override_image(image, overrider)
        except ValueError as exc:
            return f"{pointer}: {exc}"
        parent, last = target.to_last(manifest)
        parent[last] = new
    return ""


# ---------------------------------------------------------------- command, args, labels


def _containers(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    base = POD_SPEC_PATHS.get(str(manifest.get("kind", "")))
    pod_spec = jsonpatch.JsonPointer(base).resolve(manifest, None) if base else None
    if not isinstance(pod_spec, dict):
        return []
    return [c for c in (pod_spec.get("containers") or []) if isinstance(c, dict)]


def _command_args(field: str) -> Callable[[dict[str, Any], Mapping[str, Any]], str]:
    def apply(manifest: dict[str, Any], overrider: Mapping[str, Any]) -> str:
        name, operator = overrider.get("containerName"), overrider.get("operator")
        values = [str(v) for v in overrider.get("value") or []]
        for container in _containers(manifest):
            if container.get("name") != name:
                continue
            current = list(container.get(field) or [])
            if operator == "add":
                current.extend(values)
            elif operator == "remove":
                current = [v for v in current if v not in values]
            else:
                return f"operator {operator!r} is not add or remove"
            container[field] = current
        return ""

    return apply


def _metadata_map(field: str) -> Callable[[dict[str, Any], Mapping[str, Any]], str]:
    def apply(manifest: dict[str, Any], overrider: Mapping[str, Any]) -> str:
        metadata = manifest.setdefault("metadata", {})
        current: dict[str, str] = dict(metadata.get(field) or {})
        operator = overrider.get("operator")
        for key, value in (overrider.get("value") or {}).items():
            if operator == "add":
                current[key] = str(value)
            elif operator == "replace":
                if key in current:
                    current[key] = str(value)
            elif operator == "remove":
                current.pop(key, None)
            else:
                return f"operator {operator!r} is not add, remove or replace"
        metadata[field] = current
        return ""

    return apply


def _plaintext(manifest: dict[str, Any], overrider: Mapping[str, Any]) -> str:
    operation: dict[str, Any] = {"op": overrider.get("operator"), "path": overrider.get("path")}
    if operation["op"] != "remove":
        operation["value"] = overrider.get("value")
    try:
        patched = jsonpatch.apply_patch(manifest, [operation])
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError) as exc:
        return f"{operation['op']} {operation['path']}: {exc}"
    manifest.clear()
    manifest.update(patched)
    return ""


def _field(manifest: dict[str, Any], overrider: Mapping[str, Any]) -> str:
    try:
        field_overrider.apply_one(manifest, FieldOverrider.from_dict(overrider), where="")
    except field_overrider.FieldOverrideError as exc:
        return f"{exc.field.lstrip('.') or 'fieldOverrider'}: {exc.detail}"
    except ValidationError as exc:
        return str(exc.errors()[0]["msg"])
    return ""


# Karmada's order: fieldOverrider after the label/annotation overriders, before plaintext.
_OVERRIDERS: tuple[tuple[str, Callable[[dict[str, Any], Mapping[str, Any]], str]], ...] = (
    ("imageOverrider", _apply_image),
    ("commandOverrider", _command_args("command")),
    ("argsOverrider", _command_args("args")),
    ("labelsOverrider", _metadata_map("labels")),
    ("annotationsOverrider", _metadata_map("annotations")),
    ("fieldOverrider", _field),
    ("plaintext", _plaintext),
)


def apply_overrides(
    manifest: Mapping[str, Any], *, cluster: ClusterView, policies: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """``manifest`` with every applicable override for ``cluster`` applied (a new dict)."""
    result = copy.deepcopy(dict(manifest))
    for policy in ordered([p for p in policies if applies_to(p, manifest)]):
        name = policy_ref(policy)
        for rule_index, rule in enumerate(_rules(policy.get("spec") or {})):
            try:
                if affinity_rejection(rule.get("targetCluster"), cluster) is not None:
                    continue
            except PlacementError as exc:
                field = f"overrideRules[{rule_index}].targetCluster"
                raise OverrideError(
                    policy=name, obj=_describe(manifest), cluster=cluster.name, field=field, message=str(exc)
                ) from exc
            overriders = rule.get("overriders") or {}
            for field, apply in _OVERRIDERS:
                for index, overrider in enumerate(overriders.get(field) or []):
                    where = f"overrideRules[{rule_index}].overriders.{field}[{index}]"
                    try:
                        concrete = substitute(overrider, cluster)
                    except variables.VariableError as exc:
                        raise OverrideError(
                            policy=name,
                            obj=_describe(manifest),
                            cluster=cluster.name,
                            field=where,
                            message=str(exc),
                        ) from exc
                    problem = apply(result, concrete) or tenancy.identity_problem(
                        manifest, result, path=concrete.get("path")
                    )
                    if problem:
                        raise OverrideError(
                            policy=name,
                            obj=_describe(manifest),
                            cluster=cluster.name,
                            field=where,
                            message=problem,
                        )
    return result
