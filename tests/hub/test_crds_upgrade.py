"""The hub updates stale Waybill CRDs on start: it relies on their schema (list-map conditions
for its server-side applied binding status)."""

from __future__ import annotations

import copy
from typing import Any

from hub.crds import CRD_API, ensure_crds
from kubesim import SimServer
from shared.api import crdgen
from shared.kube.client import KubeClient


def _conditions_schema(crd: dict[str, Any]) -> dict[str, Any]:
    status = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
    return status["properties"]["conditions"]  # type: ignore[no-any-return]


async def test_a_stale_crd_is_updated(hub_sim: SimServer) -> None:
    generated = next(c for c in crdgen.all_crds() if c["metadata"]["name"].startswith("resourcebindings."))
    stale = copy.deepcopy(generated)
    conditions = _conditions_schema(stale)
    conditions.pop("x-kubernetes-list-type")
    conditions.pop("x-kubernetes-list-map-keys")
    async with await KubeClient.from_kubeconfig(str(hub_sim.kubeconfig_path)) as hub_api:
        await hub_api.create(stale)
        changed = await ensure_crds(hub_api)
        assert generated["metadata"]["name"] in changed
        live = await hub_api.get(CRD_API, "CustomResourceDefinition", name=generated["metadata"]["name"])
        assert _conditions_schema(live)["x-kubernetes-list-type"] == "map"
        assert _conditions_schema(live)["x-kubernetes-list-map-keys"] == ["type"]
        assert await ensure_crds(hub_api) == []  # up to date: nothing to write
