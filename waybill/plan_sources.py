"""Where ``waybill plan`` gets its objects: the file, and (with a hub) the hub's live objects.

The file's objects **replace** the hub's objects of the same identity (group, kind, namespace,
name): a changed policy is planned instead of its live version, never beside it. From the hub
come the MemberClusters, the four policy kinds, ResourceInterpreterCustomizations (where the
hub serves the kind), the bindings (where each template is placed now: ``placements``) and
the **live templates** that the file's propagation and override
policies select — in their new and in their live versions, so a template a narrowed policy
lets go is planned too. A template the file holds replaces its live copy. A kind the hub does
not serve (NotFound) or the user may not read (Forbidden) is a warning, not a failure.

The file's templates are planned **as the hub's API server would store them**: each is sent
as a server-side dry run (a replace of its live version, or a create), so defaults the server
adds (a Deployment's ``strategy``, ``revisionHistoryLimit``...) are in the plan as they are in
the live templates; otherwise a diff would show them as removed. A template the server refuses
is a usage error naming it; one it cannot check (kind not served, Forbidden, namespace missing)
is planned as written, with a warning.

``relevant_templates``, ``merge`` and ``placements`` are pure; ``read_hub`` and ``as_stored``
are the I/O shell.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hub import matching, overrides, planning, rollout_checks, views
from hub.dependencies import DependencyRef
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import ApiError, BadRequest, Forbidden, Invalid, NotFound
from shared.kube.types import split_api_version
from waybill.errors import UsageError

Obj = Mapping[str, Any]
DRY_RUN_CONCURRENCY = 8
Identity = tuple[str, str, str, str]  # group, kind, namespace, name
ListScope = tuple[str, str, str | None]  # apiVersion, kind, namespace (None: every namespace)


@dataclass(frozen=True)
class Placement:
    """Where a template is placed now (its binding on the hub)."""

    policy: str
    clusters: Mapping[str, int | None]


@dataclass
class HubObjects:
    """What was read from the hub, and what could not be."""

    objects: list[Obj] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    live_templates: set[Identity] = field(default_factory=set)  # templates planned from the hub
    placements: dict[Identity, Placement] = field(default_factory=dict)  # by template, from bindings


def placements(bindings: Iterable[Obj]) -> dict[Identity, Placement]:
    """Each bound template's current policy and clusters (pure)."""
    out: dict[Identity, Placement] = {}
    for binding in bindings:
        ref = views.binding_template(binding)
        if ref is None:
            continue
        policy = views.binding_policy(binding)
        key = (ref.group, ref.kind, ref.namespace, ref.name)
        out[key] = Placement("" if policy is None else str(policy), views.binding_clusters(binding))
    return out


def identity(obj: Obj) -> Identity:
    meta = obj.get("metadata") or {}
    group = split_api_version(str(obj.get("apiVersion", "")))[0]
    return (group, str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta.get("name", "")))


def merge(file_objects: Sequence[Obj], hub_objects: Iterable[Obj]) -> list[Obj]:
    """The file's objects, then the hub's objects the file does not replace (pure)."""
    in_file = {identity(o) for o in file_objects}
    return [*file_objects, *(o for o in hub_objects if identity(o) not in in_file)]


def _selector_policies(file_objects: Sequence[Obj], live_policies: Sequence[Obj]) -> list[Obj]:
    """The file's (override) policies and the hub's versions of them: whose selectors matter."""
    groups = planning.split_objects(file_objects)
    changed = [*groups["policies"], *groups["overrides"]]
    ids = {identity(p) for p in changed}
    return [*changed, *(p for p in live_policies if identity(p) in ids)]


def list_scopes(policies: Sequence[Obj]) -> set[ListScope]:
    """Which (apiVersion, kind, namespace) lists hold the templates ``policies`` may select (pure)."""
    scopes: set[ListScope] = set()
    for policy in policies:
        kind = str(policy.get("kind", ""))
        policy_ns = str((policy.get("metadata") or {}).get("namespace") or "") or None
        namespaced = kind in (names.KIND_PROPAGATION_POLICY, names.KIND_OVERRIDE_POLICY)
        spec = policy.get("spec") or {}
        for selector in spec.get("resourceSelectors") or []:
            if not isinstance(selector, Mapping):
                continue
            api_version, sel_kind = selector.get("apiVersion"), selector.get("kind")
            if not (isinstance(api_version, str) and api_version and isinstance(sel_kind, str) and sel_kind):
                continue
            namespace = policy_ns if namespaced else (selector.get("namespace") or None)
            scopes.add((api_version, sel_kind, namespace))
    return scopes


def relevant_templates(
    live_templates: Iterable[Obj], *, policies: Sequence[Obj], file_identities: set[Identity]
) -> list[Obj]:
    """The live templates one of ``policies`` selects (and the file does not replace) (pure)."""
    out = []
    for template in live_templates:
        if identity(template) in file_identities:
            continue
        for policy in policies:
            if policy.get("kind") in planning.OVERRIDE_KINDS:
                selected = bool((policy.get("spec") or {}).get("resourceSelectors")) and overrides.applies_to(
                    policy, template
                )
            else:
                selected = matching.policy_specificity(policy, template) > 0
            if selected:
                out.append(template)
                break
    return out


async def _list(
    hub_api: KubeClient, api_version: str, kind: str, *, namespace: str | None, warnings: list[str], why: str
) -> list[Obj]:
    where = f" in namespace {namespace}" if namespace else ""
    try:
        return list((await hub_api.list(api_version, kind, namespace=namespace)).items)
    except NotFound:
        warnings.append(f"the hub does not serve {api_version} {kind} ({why}): none read")
    except Forbidden:
        warnings.append(f"may not list {api_version} {kind}{where} on the hub ({why}): none read")
    return []


async def read_hub(hub_api: KubeClient, file_objects: Sequence[Obj]) -> HubObjects:
    """Members, policies, interpreter customizations and the relevant live templates, from the hub."""
    found = HubObjects()
    warn = found.warnings
    found.objects += await _list(
        hub_api,
        names.CLUSTER_API_VERSION,
        names.KIND_MEMBER_CLUSTER,
        namespace=None,
        warnings=warn,
        why="the members to plan for",
    )
    live_policies: list[Obj] = []
    for kind in (*planning.POLICY_KINDS, *planning.OVERRIDE_KINDS):
        live_policies += await _list(
            hub_api, names.POLICY_API_VERSION, kind, namespace=None, warnings=warn, why="live policies"
        )
    found.objects += live_policies
    found.objects += await _list(
        hub_api,
        names.CONFIG_API_VERSION,
        names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION,
        namespace=None,
        warnings=warn,
        why="interpreter customizations",
    )
    selecting = _selector_policies(file_objects, live_policies)
    for policy in selecting:
        unselective = not (policy.get("spec") or {}).get("resourceSelectors")
        if policy.get("kind") in planning.OVERRIDE_KINDS and unselective:
            warn.append(
                f"{overrides.policy_ref(policy)} has no resourceSelectors (it applies to every template in "
                "its scope): only the file's templates are planned with it, add the others to the file"
            )
    listed: list[Obj] = []
    scopes = sorted(list_scopes(selecting), key=lambda s: (s[0], s[1], s[2] or ""))
    for api_version, kind, namespace in scopes:
        why = "templates the policies select"
        listed += await _list(hub_api, api_version, kind, namespace=namespace, warnings=warn, why=why)
    file_identities = {identity(o) for o in file_objects}
    templates = relevant_templates(listed, policies=selecting, file_identities=file_identities)
    unique = {identity(t): t for t in templates}
    found.live_templates = set(unique)
    found.objects += list(unique.values())
    bindings: list[Obj] = []
    for kind in (names.KIND_RESOURCE_BINDING, names.KIND_CLUSTER_RESOURCE_BINDING):
        bindings += await _list(
            hub_api, names.WORK_API_VERSION, kind, namespace=None, warnings=warn, why="current placements"
        )
    found.placements = placements(bindings)
    return found


async def read_dependencies(
    hub_api: KubeClient, refs: Sequence[DependencyRef], *, warnings: list[str]
) -> list[Obj]:
    """The hub's copies of the dependencies ``propagateDeps`` sends along (one GET each; one
    missing is left to the plan, which says nothing is sent for it, as the hub sends nothing)."""
    gate = asyncio.Semaphore(DRY_RUN_CONCURRENCY)

    async def one(ref: DependencyRef) -> Obj | None:
        async with gate:
            try:
                return await hub_api.get(ref.api_version, ref.kind, name=ref.name, namespace=ref.namespace)
            except NotFound:
                return None
            except ApiError as exc:
                warnings.append(f"cannot read dependency {ref} on the hub ({exc.reason}): not planned")
                return None

    return [found for found in await asyncio.gather(*(one(ref) for ref in refs)) if found is not None]


def _describe(obj: Obj) -> str:
    return str(matching.TemplateRef.of(obj))


async def _dry_run(hub_api: KubeClient, template: Obj) -> tuple[Obj, Obj | None]:
    """The template as stored, and its live version (None: not on the hub)."""
    api_version, kind = str(template.get("apiVersion", "")), str(template.get("kind", ""))
    meta = dict(template.get("metadata") or {})
    try:
        live = await hub_api.get(
            api_version, kind, name=str(meta.get("name", "")), namespace=meta.get("namespace")
        )
    except NotFound:
        live = None
    if live is None:
        return await hub_api.create(dict(template), dry_run=True), None
    meta["resourceVersion"] = (live.get("metadata") or {}).get("resourceVersion")
    return await hub_api.replace({**template, "metadata": meta}, dry_run=True), live


async def as_stored(
    hub_api: KubeClient,
    filename: str,
    templates: Sequence[Obj],
    *,
    warnings: list[str],
    unchanged: set[Identity] | None = None,
) -> list[Obj]:
    """``templates`` as the hub's API server would store them (server-side dry runs, nothing
    written). ``unchanged`` collects those whose rollout generation the change leaves as it is
    (``hub.rollout_checks.same_generation``: a label edit, an unchanged spec)."""
    gate = asyncio.Semaphore(DRY_RUN_CONCURRENCY)

    async def one(template: Obj) -> tuple[Obj, str | None]:
        async with gate:
            try:
                stored, live = await _dry_run(hub_api, template)
                if unchanged is not None and rollout_checks.same_generation(live, stored):
                    unchanged.add(identity(stored))
                return stored, None
            except (Invalid, BadRequest) as exc:
                why = f"{filename}: {_describe(template)}: the hub refuses it: {exc.message}"
                raise UsageError(why) from exc
            except ApiError as exc:
                why = f"{exc.reason}: {exc.message}"
                return template, (
                    f"{_describe(template)}: planned as written (the hub could not check it: {why})"
                )

    out: list[Obj] = []
    for stored, warning in await asyncio.gather(*(one(t) for t in templates)):
        out.append(stored)
        if warning is not None:
            warnings.append(warning)
    return out
