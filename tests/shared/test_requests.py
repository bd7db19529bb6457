"""Paths, queries and bodies of Kubernetes requests, and parsing discovery documents."""

from __future__ import annotations

import pytest

from shared.kube.discovery import discovery_path, group_versions, parse_resource_list
from shared.kube.requests import delete_options, list_query, resource_path, write_query
from shared.kube.types import ResourceInfo, object_key, split_api_version

CM = ResourceInfo(api_version="v1", kind="ConfigMap", plural="configmaps", namespaced=True)
DEPLOY = ResourceInfo(api_version="apps/v1", kind="Deployment", plural="deployments", namespaced=True)
NS = ResourceInfo(api_version="v1", kind="Namespace", plural="namespaces", namespaced=False)


@pytest.mark.parametrize(
    ("info", "namespace", "name", "sub", "path"),
    [
        (CM, "default", "cfg", None, "/api/v1/namespaces/default/configmaps/cfg"),
        (CM, "default", None, None, "/api/v1/namespaces/default/configmaps"),
        (CM, None, None, None, "/api/v1/configmaps"),
        (DEPLOY, "a", "web", "status", "/apis/apps/v1/namespaces/a/deployments/web/status"),
        (NS, None, "kube-system", None, "/api/v1/namespaces/kube-system"),
        (NS, "ignored", "x", None, "/api/v1/namespaces/x"),
        (CM, "ns", "a:b", None, "/api/v1/namespaces/ns/configmaps/a%3Ab"),
    ],
)
def test_resource_path(
    info: ResourceInfo, namespace: str | None, name: str | None, sub: str | None, path: str
) -> None:
    assert resource_path(info, namespace=namespace, name=name, subresource=sub) == path


def test_namespaced_object_needs_namespace() -> None:
    with pytest.raises(ValueError, match="namespaced"):
        resource_path(CM, name="x")


def test_watch_query() -> None:
    query = list_query(
        label_selector="a=b", resource_version="7", watch=True, allow_bookmarks=True, timeout_seconds=30
    )
    assert query == (
        ("labelSelector", "a=b"),
        ("resourceVersion", "7"),
        ("watch", "true"),
        ("allowWatchBookmarks", "true"),
        ("timeoutSeconds", "30"),
    )


def test_write_query() -> None:
    assert write_query(field_manager="m", force=True, dry_run=True) == (
        ("fieldManager", "m"),
        ("force", "true"),
        ("dryRun", "All"),
    )
    assert write_query() == ()


def test_delete_options() -> None:
    body = delete_options(propagation_policy="Foreground", preconditions={"uid": "u"})
    assert body == {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "propagationPolicy": "Foreground",
        "preconditions": {"uid": "u"},
    }
    with pytest.raises(ValueError):
        delete_options(propagation_policy="Sometimes")


def test_parse_resource_list_folds_subresources() -> None:
    body = {
        "groupVersion": "apps/v1",
        "resources": [
            {
                "name": "deployments",
                "kind": "Deployment",
                "namespaced": True,
                "verbs": ["get", "list"],
                "shortNames": ["deploy"],
                "singularName": "deployment",
            },
            {"name": "deployments/status", "kind": "Deployment", "namespaced": True, "verbs": ["get"]},
            {"name": "deployments/scale", "kind": "Scale", "namespaced": True, "verbs": ["get"]},
        ],
    }
    parsed = parse_resource_list("apps/v1", body)
    assert list(parsed) == ["Deployment"]
    info = parsed["Deployment"]
    assert (info.plural, info.namespaced, info.group, info.version) == ("deployments", True, "apps", "v1")
    assert info.subresources == {"status", "scale"}
    assert info.verbs == {"get", "list"}
    assert info.short_names == ("deploy",)


def test_group_versions_and_paths() -> None:
    core = {"versions": ["v1"]}
    groups = {"groups": [{"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}]}]}
    assert group_versions(core, groups) == ["v1", "apps/v1"]
    assert discovery_path("v1") == "/api/v1"
    assert discovery_path("apps/v1") == "/apis/apps/v1"


def test_keys_and_versions() -> None:
    assert object_key({"metadata": {"name": "a", "namespace": "n"}}) == "n/a"
    assert object_key({"metadata": {"name": "a"}}) == "a"
    assert split_api_version("v1") == ("", "v1")
    assert split_api_version("work.waybill.dev/v1alpha1") == ("work.waybill.dev", "v1alpha1")
