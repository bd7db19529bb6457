"""The ResourceInterpreterCustomization kind: Karmada's objects parse and pass the CRD schema with
only the apiVersion changed; wrong ones are refused naming the field; the hub serves it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pydantic
import pytest
import yaml

from hub.crds import ensure_crds
from kubesim.schema import validate
from shared.api import crdgen, kind_for, names
from shared.api.interpreter import ResourceInterpreterCustomization
from shared.api.validation import problems_from_error, validate_object
from shared.kube.client import KubeClient
from shared.kube.errors import Invalid
from tests.e2e.e2e_fleet import SimFactory

DATA = Path(__file__).parent / "data" / "karmada"
KARMADA = [DATA / "cloneset" / "customizations.yaml", DATA / "karmadactl-interpret" / "customization.yaml"]
SCHEMA = crdgen.crd_for(ResourceInterpreterCustomization)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def waybill_object(path: Path) -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load(path.read_text())
    obj["apiVersion"] = names.CONFIG_API_VERSION
    return obj


@pytest.mark.parametrize("path", KARMADA, ids=lambda p: p.parent.name)
def test_karmada_customizations_parse_and_pass_the_schema(path: Path) -> None:
    obj = waybill_object(path)
    assert kind_for(obj["apiVersion"], obj["kind"]) is ResourceInterpreterCustomization
    model = ResourceInterpreterCustomization.from_dict(obj)
    assert validate(obj, SCHEMA) == []
    assert validate_object(obj) == []
    assert model.to_dict() == obj  # every field kept, nothing added


def test_crd_is_cluster_scoped_without_status() -> None:
    crd = crdgen.crd_for(ResourceInterpreterCustomization)
    assert crd["metadata"]["name"] == "resourceinterpretercustomizations.config.waybill.dev"
    assert crd["spec"]["scope"] == "Cluster"
    assert crd["spec"]["names"]["shortNames"] == ["ric"]
    assert "subresources" not in crd["spec"]["versions"][0]
    fields = SCHEMA["properties"]["spec"]["properties"]["customizations"]["properties"]
    assert sorted(fields) == sorted(
        [
            "retention",
            "replicaResource",
            "replicaRevision",
            "statusReflection",
            "statusAggregation",
            "healthInterpretation",
            "dependencyInterpretation",
        ]
    )
    assert all(field["required"] == ["luaScript"] for field in fields.values())


def _without(obj: dict[str, Any], *path: str) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    node = out
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return out


def _empty_script(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["spec"]["customizations"]["retention"]["luaScript"] = ""
    return out


EXAMPLE = waybill_object(KARMADA[1])
WRONG = [
    ("no spec", _without(EXAMPLE, "spec"), "spec"),
    ("no target kind", _without(EXAMPLE, "spec", "target", "kind"), "spec.target.kind"),
    ("no customizations", _without(EXAMPLE, "spec", "customizations"), "spec.customizations"),
    (
        "no luaScript",
        _without(EXAMPLE, "spec", "customizations", "retention", "luaScript"),
        "spec.customizations.retention.luaScript",
    ),
    ("empty luaScript", _empty_script(EXAMPLE), "spec.customizations.retention.luaScript"),
]


@pytest.mark.parametrize(("obj", "path"), [(w[1], w[2]) for w in WRONG], ids=[w[0] for w in WRONG])
def test_wrong_customizations_are_refused_naming_the_field(obj: dict[str, Any], path: str) -> None:
    assert [e.path for e in validate(obj, SCHEMA)] == [path]
    with pytest.raises(pydantic.ValidationError) as raised:
        ResourceInterpreterCustomization.from_dict(obj)
    assert [p.path for p in problems_from_error(raised.value)] == [path]


async def test_the_hub_serves_the_kind(sim_factory: SimFactory) -> None:
    hub = await sim_factory("hub")
    hub_api = await KubeClient.from_kubeconfig(hub.kubeconfig_path, name="hub")
    try:
        assert "resourceinterpretercustomizations.config.waybill.dev" in await ensure_crds(hub_api)
        created = await hub_api.create(waybill_object(KARMADA[0]))
        assert created["spec"]["customizations"]["replicaResource"]["luaScript"].startswith("local kube")
        listed = await hub_api.list(names.CONFIG_API_VERSION, names.KIND_RESOURCE_INTERPRETER_CUSTOMIZATION)
        assert [item["metadata"]["name"] for item in listed.items] == ["declarative-configuration-cloneset"]
        with pytest.raises(Invalid) as raised:
            await hub_api.create({**_without(EXAMPLE, "spec", "target", "kind")})
        assert "spec.target.kind" in str(raised.value)
    finally:
        await hub_api.close()
