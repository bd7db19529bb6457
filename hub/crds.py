"""Install Waybill's CRDs on the hub when they are missing, and wait until they are served."""

from __future__ import annotations

import time
from typing import Any

from shared.api import crdgen
from shared.kube import errors
from shared.kube.client import KubeClient
from shared.ops.logging import get_logger
from shared.runtime.crds import CRD_API, wait_established

_log = get_logger("hub.crds")


FIELD_MANAGER = "waybill-hub"


async def ensure_crds(hub_api: KubeClient, *, wait_seconds: float = 30.0) -> list[str]:
    """Create every missing Waybill CRD and update stale ones; the names created or updated.

    Stale CRDs are updated because the hub relies on their schema: its status writers apply
    their own condition types server-side, which needs ``conditions`` to be a list map (an older
    CRD's atomic list would let each writer replace the other's conditions). Without the
    permission to update CRDs, a stale one is logged (``crd.stale``) and left as it is.
    """
    created = []
    for crd in crdgen.all_crds():
        name = str(crd["metadata"]["name"])
        try:
            await hub_api.create(crd)
        except errors.AlreadyExists:
            live = await hub_api.get(CRD_API, "CustomResourceDefinition", name=name)
            if live.get("spec") == crd["spec"]:
                continue
            try:
                await hub_api.apply(crd, field_manager=FIELD_MANAGER, force=True)
            except (errors.Forbidden, errors.Invalid) as exc:
                _log.warning("crd.stale", crd=name, error=str(exc))
                continue
            _log.info("crd.updated", crd=name)
            created.append(name)
            continue
        created.append(name)
        _log.info("crd.created", crd=name)
    deadline = time.monotonic() + wait_seconds
    for crd in crdgen.all_crds():
        name = str(crd["metadata"]["name"])

        async def current(name: str = name) -> dict[str, Any]:
            return await hub_api.get(CRD_API, "CustomResourceDefinition", name=name)

        if not await wait_established(current, within=max(0.0, deadline - time.monotonic()), max_delay=0.1):
            raise TimeoutError(f"CRD {name} not Established after {wait_seconds}s")
    if created:
        hub_api.invalidate_discovery()
    return created
