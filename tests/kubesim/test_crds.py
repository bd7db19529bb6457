"""Conformance: CustomResourceDefinitions served, validated, pruned, printed and removed."""

from __future__ import annotations

import json
from typing import Any

from kubesim.testing import Api, wait_for

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def widget_crd(*, scope: str = "Namespaced") -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "scope": scope,
            "names": {
                "plural": "widgets",
                "singular": "widget",
                "kind": "Widget",
                "shortNames": ["wd"],
                "categories": ["all"],
            },
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                        {
                            "name": "Ready",
                            "type": "string",
                            "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
                        },
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "required": ["size"],
                                    "properties": {
                                        "size": {"type": "integer", "minimum": 0},
                                        "color": {"type": "string", "enum": ["red", "blue"]},
                                        "free": {
                                            "type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True,
                                        },
                                    },
                                },
                                "status": {
                                    "type": "object",
                                    "properties": {
                                        "conditions": {
                                            "type": "array",
                                            "items": {
                                                "type": "object",
                                                "properties": {
                                                    "type": {"type": "string"},
                                                    "status": {"type": "string"},
                                                },
                                            },
                                        }
                                    },
                                },
                            },
                        }
                    },
                }
            ],
        },
    }


def widget(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


async def _install(api: Api) -> dict[str, Any]:
    status, crd = await api.post(CRDS, widget_crd())
    assert status == 201, crd

    async def established() -> bool:
        _, live = await api.get(f"{CRDS}/widgets.example.com")
        conds = {c["type"]: c["status"] for c in live.get("status", {}).get("conditions", [])}
        return conds.get("Established") == "True" and conds.get("NamesAccepted") == "True"

    await wait_for(established)
    return crd


async def test_crd_serves_resource_and_discovery(api: Api) -> None:
    await _install(api)
    status, groups = await api.get("/apis")
    assert "example.com" in [g["name"] for g in groups["groups"]]
    status, res = await api.get("/apis/example.com/v1")
    assert status == 200
    widgets = next(r for r in res["resources"] if r["name"] == "widgets")
    assert widgets["kind"] == "Widget" and widgets["shortNames"] == ["wd"] and widgets["namespaced"] is True
    assert any(r["name"] == "widgets/status" for r in res["resources"])
    status, w = await api.post(WIDGETS, widget("w1", size=3))
    assert status == 201 and w["metadata"]["generation"] == 1


async def test_crd_name_must_match(api: Api) -> None:
    crd = widget_crd()
    crd["metadata"]["name"] = "wrong.example.com"
    status, body = await api.post(CRDS, crd)
    assert status == 422 and body["details"]["causes"][0]["field"] == "metadata.name"


async def test_schema_validation_422_with_field_paths(api: Api) -> None:
    await _install(api)
    status, body = await api.post(WIDGETS, widget("bad", size=-1, color="green"))
    assert status == 422 and body["reason"] == "Invalid"
    fields = {c["field"] for c in body["details"]["causes"]}
    assert fields == {"spec.size", "spec.color"}
    assert body["message"].startswith('Widget.example.com "bad" is invalid: [')
    status, body = await api.post(WIDGETS, {**widget("bad2"), "spec": {}})
    assert status == 422 and body["details"]["causes"][0]["reason"] == "FieldValueRequired"


async def test_unknown_fields_pruned_unless_preserved(api: Api) -> None:
    await _install(api)
    status, w = await api.post(WIDGETS, widget("w", size=1, extra="x", free={"any": {"thing": 1}}))
    assert status == 201
    assert "extra" not in w["spec"]
    assert w["spec"]["free"] == {"any": {"thing": 1}}


async def test_status_subresource_for_custom_resources(api: Api) -> None:
    await _install(api)
    body = widget("w", size=1)
    body["status"] = {"conditions": [{"type": "Ready", "status": "True"}]}
    _, w = await api.post(WIDGETS, body)
    assert "status" not in w
    status, w = await api.put(
        f"{WIDGETS}/w/status", {**w, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    )
    assert status == 200 and w["status"]["conditions"][0]["status"] == "True"
    assert w["metadata"]["generation"] == 1


async def test_printer_columns(api: Api) -> None:
    await _install(api)
    _, w = await api.post(WIDGETS, widget("w", size=4))
    await api.put(
        f"{WIDGETS}/w/status", {**w, "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    )
    status, table = await api.get(WIDGETS, headers={"Accept": TABLE})
    assert status == 200
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size", "Ready", "Age"]
    assert table["rows"][0]["cells"][:3] == ["w", 4, "True"]


async def test_strategic_merge_patch_unsupported_for_custom_resources(api: Api) -> None:
    await _install(api)
    await api.post(WIDGETS, widget("w", size=1))
    status, body = await api.patch(
        f"{WIDGETS}/w", {"spec": {"size": 2}}, content_type="application/strategic-merge-patch+json"
    )
    assert status == 415 and body["reason"] == "UnsupportedMediaType"


async def test_deleting_crd_removes_objects_and_resource(api: Api) -> None:
    await _install(api)
    await api.post(WIDGETS, widget("w", size=1))
    status, _ = await api.delete(f"{CRDS}/widgets.example.com")
    assert status == 200

    async def removed() -> bool:
        return (await api.get(f"{CRDS}/widgets.example.com"))[0] == 404

    await wait_for(removed)
    assert (await api.get(WIDGETS))[0] == 404
    assert (await api.get("/apis/example.com/v1"))[0] == 404
    await _install(api)
    _, lst = await api.get(WIDGETS)
    assert lst["items"] == []


async def test_cluster_scoped_crd(api: Api) -> None:
    crd = widget_crd(scope="Cluster")
    status, _ = await api.post(CRDS, crd)
    assert status == 201
    status, w = await api.post("/apis/example.com/v1/widgets", widget("cw", size=1))
    assert status == 201 and "namespace" not in w["metadata"]
    assert (await api.get(WIDGETS))[0] == 404


async def test_openapi_v3_includes_crd_schema(api: Api) -> None:
    await _install(api)
    _, root = await api.get("/openapi/v3")
    status, doc = await api.get(root["paths"]["apis/example.com/v1"]["serverRelativeURL"])
    assert status == 200
    schema = doc["components"]["schemas"]["com.example.v1.Widget"]
    assert schema["x-kubernetes-group-version-kind"] == [
        {"group": "example.com", "version": "v1", "kind": "Widget"}
    ]
    assert schema["properties"]["spec"]["properties"]["size"]["type"] == "integer"


async def test_custom_resource_update_needs_resource_version(api: Api) -> None:
    await _install(api)
    _, w = await api.post(WIDGETS, widget("w", size=1))
    del w["metadata"]["resourceVersion"]
    status, body = await api.put(f"{WIDGETS}/w", w)
    assert status == 422
    assert body["message"] == (
        'Widget.example.com "w" is invalid: metadata.resourceVersion: Invalid value: 0x0: '
        "must be specified for an update"
    )


async def test_multiple_served_versions_share_storage(api: Api) -> None:
    crd = widget_crd()
    v1 = crd["spec"]["versions"][0]
    beta = {
        **v1,
        "name": "v1beta1",
        "storage": False,
        "schema": {
            "openAPIV3Schema": {
                "type": "object",
                "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}},
            }
        },
    }
    crd["spec"]["versions"] = [v1, beta]
    status, _ = await api.post(CRDS, crd)
    assert status == 201
    body = {**widget("w", size=2, any="x"), "apiVersion": "example.com/v1beta1"}
    status, w = await api.post("/apis/example.com/v1beta1/namespaces/default/widgets", body)
    assert status == 201, w
    assert w["apiVersion"] == "example.com/v1beta1" and w["spec"]["any"] == "x"  # v1beta1's schema preserves
    status, same = await api.get(f"{WIDGETS}/w")
    assert status == 200 and same["apiVersion"] == "example.com/v1"
    assert same["metadata"]["uid"] == w["metadata"]["uid"]
    _, groups = await api.get("/apis/example.com")
    assert groups["preferredVersion"]["version"] == "v1"
    assert [v["version"] for v in groups["versions"]] == ["v1", "v1beta1"]


async def test_field_validation_strict_warn_ignore(api: Api) -> None:
    await _install(api)
    body = widget("w", size=1, extra="x")
    status, err = await api.post(WIDGETS, body, params={"fieldValidation": "Strict"})
    assert status == 400
    assert err["message"] == (
        'Widget in version "v1" cannot be handled as a Widget: '
        'strict decoding error: unknown field "spec.extra"'
    )
    async with api.session.post(WIDGETS, json=body) as resp:  # default: Warn
        assert resp.status == 201
        assert resp.headers["Warning"] == '299 - "unknown field \\"spec.extra\\""'
    status, _ = await api.post(WIDGETS, widget("w2", size=1, extra="x"), params={"fieldValidation": "Ignore"})
    assert status == 201


async def test_deletion_with_finalizer_bumps_generation(api: Api) -> None:
    await _install(api)
    body = widget("w", size=1)
    body["metadata"]["finalizers"] = ["example.com/hold"]
    _, w = await api.post(WIDGETS, body)
    status, deleting = await api.delete(f"{WIDGETS}/w")
    assert status == 200
    assert deleting["metadata"]["generation"] == w["metadata"]["generation"] + 1


async def test_selectable_fields(api: Api) -> None:
    crd = widget_crd()
    crd["spec"]["versions"][0]["selectableFields"] = [{"jsonPath": ".spec.color"}]
    assert (await api.post(CRDS, crd))[0] == 201
    await api.post(WIDGETS, widget("r", size=1, color="red"))
    await api.post(WIDGETS, widget("b", size=1, color="blue"))
    status, body = await api.get(WIDGETS, params={"fieldSelector": "spec.color=red"})
    assert status == 200 and [o["metadata"]["name"] for o in body["items"]] == ["r"]
    status, body = await api.get(WIDGETS, params={"fieldSelector": "spec.size=1"})
    assert status == 400 and body["message"] == "field label not supported: spec.size"


async def test_scale_subresource_with_custom_paths(api: Api) -> None:
    crd = widget_crd()
    version = crd["spec"]["versions"][0]
    version["subresources"]["scale"] = {
        "specReplicasPath": ".spec.size",
        "statusReplicasPath": ".status.count",
    }
    version["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]["count"] = {"type": "integer"}
    assert (await api.post(CRDS, crd))[0] == 201
    await api.post(WIDGETS, widget("w", size=2))
    status, scale = await api.get(f"{WIDGETS}/w/scale")
    assert status == 200 and scale["spec"] == {"replicas": 2} and scale["status"] == {"replicas": 0}
    status, scale = await api.patch(f"{WIDGETS}/w/scale", {"spec": {"replicas": 7}})
    assert status == 200 and scale["spec"]["replicas"] == 7
    _, w = await api.get(f"{WIDGETS}/w")
    assert w["spec"]["size"] == 7


async def test_schema_defaults_are_applied(api: Api) -> None:
    crd = widget_crd()
    spec_schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec_schema["properties"]["color"]["default"] = "red"
    assert (await api.post(CRDS, crd))[0] == 201
    status, w = await api.post(WIDGETS, widget("w", size=1))
    assert status == 201 and w["spec"]["color"] == "red"


async def test_custom_resource_finalizers_hold_crd_deletion(api: Api) -> None:
    await _install(api)
    held = widget("held", size=1)
    held["metadata"]["finalizers"] = ["example.com/hold"]
    await api.post(WIDGETS, held)
    await api.post(WIDGETS, widget("plain", size=1))
    await api.delete(f"{CRDS}/widgets.example.com")

    async def terminating() -> bool:
        _, crd = await api.get(f"{CRDS}/widgets.example.com")
        conds = {c["type"]: c for c in crd.get("status", {}).get("conditions", [])}
        return "Terminating" in conds and conds["Terminating"]["reason"] == "InstanceDeletionInProgress"

    await wait_for(terminating)
    assert (await api.get(f"{WIDGETS}/plain"))[0] == 404
    status, live = await api.get(f"{WIDGETS}/held")
    assert status == 200 and live["metadata"]["deletionTimestamp"]
    live["metadata"]["finalizers"] = []
    assert (await api.put(f"{WIDGETS}/held", live))[0] == 200

    async def crd_gone() -> bool:
        return (await api.get(f"{CRDS}/widgets.example.com"))[0] == 404

    await wait_for(crd_gone)
    assert (await api.get("/apis/example.com/v1"))[0] == 404


async def test_unchanged_parts_are_admitted_again_after_a_schema_change(api: Api) -> None:
    await _install(api)
    _, w = await api.post(WIDGETS, widget("w", size=1))
    status, w = await api.put(f"{WIDGETS}/w/status", {**w, "status": {"conditions": [{"type": "Ready"}]}})
    assert status == 200 and w["spec"] == {"size": 1}
    status, w = await api.patch(f"{WIDGETS}/w", {"spec": {"size": 2}})
    assert status == 200 and w["status"] == {"conditions": [{"type": "Ready"}]}
    _, live = await api.get(f"{CRDS}/widgets.example.com")
    live["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["color"][
        "default"
    ] = "red"
    assert (await api.put(f"{CRDS}/widgets.example.com", live))[0] == 200
    # the stored spec predates the new schema: a /status write defaults it like a full admission
    status, w = await api.put(f"{WIDGETS}/w/status", {**w, "status": {"conditions": [{"type": "Done"}]}})
    assert status == 200 and w["spec"] == {"size": 2, "color": "red"}


async def test_patches_leave_earlier_versions_intact_in_the_watch_history(api: Api) -> None:
    await _install(api)
    _, w = await api.post(WIDGETS, widget("w", size=1, free={"keep": [1, 2]}))
    start = str(int(w["metadata"]["resourceVersion"]) - 1)
    await api.patch(f"{WIDGETS}/w", {"spec": {"size": 2}, "metadata": {"labels": {"a": "b"}}})
    await api.patch(f"{WIDGETS}/w/status", {"status": {"conditions": [{"type": "Ready"}]}})
    await api.patch(f"{WIDGETS}/w", {"spec": {"color": "red"}})
    params = {"watch": "1", "resourceVersion": start}
    async with api.session.get(WIDGETS, params=params, timeout=None) as resp:
        events = [json.loads(await resp.content.readline()) for _ in range(4)]
    objects = [e["object"] for e in events]
    assert [o["spec"] for o in objects] == [
        {"size": 1, "free": {"keep": [1, 2]}},
        {"size": 2, "free": {"keep": [1, 2]}},
        {"size": 2, "free": {"keep": [1, 2]}},
        {"size": 2, "free": {"keep": [1, 2]}, "color": "red"},
    ]
    assert [o["metadata"]["generation"] for o in objects] == [1, 2, 2, 3]
    assert [o["metadata"].get("labels") for o in objects] == [None, {"a": "b"}, {"a": "b"}, {"a": "b"}]
    assert [o.get("status") for o in objects] == [None, None, *[{"conditions": [{"type": "Ready"}]}] * 2]
    assert len({o["metadata"]["resourceVersion"] for o in objects}) == 4


def controller_gen_crd() -> dict[str, Any]:
    """A CRD as controller-gen writes it: ``metadata: {type: object}`` at the root."""
    crd = widget_crd()
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    props["apiVersion"] = {"type": "string"}
    props["kind"] = {"type": "string"}
    props["metadata"] = {"type": "object"}
    props["spec"]["properties"]["template"] = {
        "type": "object",
        "x-kubernetes-embedded-resource": True,
        "properties": {"metadata": {"type": "object"}, "kind": {"type": "string"}},
    }
    return crd


async def test_controller_gen_metadata_object_keeps_object_meta(api: Api) -> None:
    status, _ = await api.post(CRDS, controller_gen_crd())
    assert status == 201
    body = widget("w", size=1)
    body["metadata"]["labels"] = {"a": "b"}
    body["spec"]["template"] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"x": "y"}},
    }
    status, w = await api.post(WIDGETS, body, params={"fieldValidation": "Strict"})  # kubectl's default
    assert status == 201, w
    assert w["metadata"]["name"] == "w" and w["metadata"]["labels"] == {"a": "b"}
    assert w["spec"]["template"]["metadata"] == {"name": "p", "labels": {"x": "y"}}
    status, w = await api.post(WIDGETS, {**widget("w2", size=1)})
    assert status == 201 and w["metadata"]["name"] == "w2"


def two_version_crd(**conversion: Any) -> dict[str, Any]:
    crd = controller_gen_crd()
    v1 = crd["spec"]["versions"][0]
    beta = {**v1, "name": "v1beta1", "storage": False, "deprecated": True}
    crd["spec"]["versions"] = [beta, v1]
    if conversion:
        crd["spec"]["conversion"] = conversion
    return crd


async def test_several_served_versions_with_none_conversion(api: Api) -> None:
    status, crd = await api.post(CRDS, two_version_crd(strategy="None"))
    assert status == 201, crd
    beta = "/apis/example.com/v1beta1/namespaces/default/widgets"
    async with api.session.post(
        beta, json={**widget("w", size=1), "apiVersion": "example.com/v1beta1"}
    ) as resp:
        assert resp.status == 201
        assert resp.headers.getall("Warning") == [
            '299 - "example.com/v1beta1 Widget is deprecated; use example.com/v1 Widget"'
        ]
    async with api.session.get(f"{WIDGETS}/w") as resp:
        assert resp.status == 200 and "Warning" not in resp.headers
        assert (await resp.json())["apiVersion"] == "example.com/v1"
    status, w = await api.get(f"{beta}/w")
    assert status == 200 and w["apiVersion"] == "example.com/v1beta1" and w["spec"] == {"size": 1}


async def test_webhook_conversion_and_duplicate_versions_refused(api: Api) -> None:
    crd = two_version_crd(strategy="Webhook", webhook={"conversionReviewVersions": ["v1"]})
    status, err = await api.post(CRDS, crd)
    assert status == 422
    assert {
        "reason": "FieldValueForbidden",
        "field": "spec.conversion.strategy",
        "message": 'Forbidden: "Webhook" conversion is not supported by kubesim (it calls no webhooks): '
        'use "None"',
    } in err["details"]["causes"]
    crd = two_version_crd()
    crd["spec"]["versions"][0]["name"] = "v1"
    status, err = await api.post(CRDS, crd)
    assert status == 422
    assert err["details"]["causes"][0] == {
        "reason": "FieldValueDuplicate",
        "field": "spec.versions[1].name",
        "message": 'Duplicate value: "v1"',
    }
