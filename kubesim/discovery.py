"""Discovery documents: /version, /api, /apis, /apis/<g>, /api/v1, /apis/<g>/<v>.

Both the legacy documents (APIVersions, APIGroupList, APIGroup, APIResourceList) and the
aggregated ``apidiscovery.k8s.io/v2`` APIGroupDiscoveryList that kubectl asks for first.
Pure functions of the registry.
"""

from __future__ import annotations

from typing import Any

from kubesim.registry import Registry, ResourceType

Obj = dict[str, Any]

VERSION: Obj = {
    "major": "1",
    "minor": "34",
    "emulationMajor": "1",
    "emulationMinor": "34",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "33",
    "gitVersion": "v1.34.1+kubesim",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.24.6",
    "compiler": "gc",
    "platform": "linux/amd64",
}
AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"

# Subresources that answer with another kind.
_SUB_KIND: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "scale": ("autoscaling", "v1", "Scale", ("get", "patch", "update")),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ("create",)),
}


def _sub_verbs(sub: str) -> tuple[str, ...]:
    if sub in _SUB_KIND:
        return _SUB_KIND[sub][3]
    if sub == "finalize":
        return ("update",)
    return ("get", "patch", "update")


def api_versions(server_address: str) -> Obj:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group(group: str, versions: list[str]) -> Obj:
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def api_group_list(registry: Registry) -> Obj:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group(g, vs) for g, vs in registry.groups()],
    }


def api_group(registry: Registry, group: str) -> Obj | None:
    for g, vs in registry.groups():
        if g == group:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group(g, vs)}
    return None


def resource_list(registry: Registry, *, group: str, version: str) -> Obj | None:
    types = registry.resources(group, version)
    if not types:
        return None
    resources: list[Obj] = []
    for t in sorted(types, key=lambda t: t.plural):
        entry: Obj = {
            "name": t.plural,
            "singularName": t.singular_name,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": list(t.verbs),
        }
        if t.short_names:
            entry["shortNames"] = list(t.short_names)
        if t.categories:
            entry["categories"] = list(t.categories)
        resources.append(entry)
        for sub in t.subresources:
            sub_entry: Obj = {"name": f"{t.plural}/{sub}", "singularName": "", "namespaced": t.namespaced}
            if sub in _SUB_KIND:
                g, v, k, _ = _SUB_KIND[sub]
                sub_entry.update({"group": g, "version": v, "kind": k})
            else:
                sub_entry["kind"] = t.kind
            sub_entry["verbs"] = list(_sub_verbs(sub))
            resources.append(sub_entry)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": resources,
    }


def _aggregated_resource(t: ResourceType) -> Obj:
    entry: Obj = {
        "resource": t.plural,
        "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
        "scope": "Namespaced" if t.namespaced else "Cluster",
        "singularResource": t.singular_name,
        "verbs": list(t.verbs),
    }
    if t.short_names:
        entry["shortNames"] = list(t.short_names)
    if t.categories:
        entry["categories"] = list(t.categories)
    subs = []
    for sub in t.subresources:
        if sub in _SUB_KIND:
            g, v, k, _ = _SUB_KIND[sub]
            kind = {"group": g, "version": v, "kind": k}
        else:
            kind = {"group": t.group, "version": t.version, "kind": t.kind}
        subs.append({"subresource": sub, "responseKind": kind, "verbs": list(_sub_verbs(sub))})
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated(registry: Registry, *, core: bool, api_version: str) -> Obj:
    """The APIGroupDiscoveryList for /api (core) or /apis."""
    groups = [("", ["v1"])] if core else registry.groups()
    items = []
    for group, versions in groups:
        vs = []
        for v in versions:
            types = sorted(registry.resources(group, v), key=lambda t: t.plural)
            vs.append(
                {"version": v, "resources": [_aggregated_resource(t) for t in types], "freshness": "Current"}
            )
        items.append({"metadata": {"name": group, "creationTimestamp": None}, "versions": vs})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items}
