"""The agent's keyring on a kubesim member: created once, persisted, rotated, never destroyed."""

from __future__ import annotations

import base64
from typing import Any

from agent import sealing_keys
from agent.sealing_keys import Keyring
from shared.kube.client import KubeClient
from tests.e2e.e2e_fleet import SimFactory


async def stored(api: KubeClient) -> dict[str, Any]:
    return await api.get(
        "v1", "Secret", name=sealing_keys.SECRET_NAME, namespace=sealing_keys.SECRET_NAMESPACE
    )


async def test_keys_persist_rotate_by_age_and_survive_corruption(sim_factory: SimFactory) -> None:
    member = await sim_factory("eu1")
    api = await KubeClient.from_kubeconfig(member.kubeconfig_path, name="member")
    try:
        first = Keyring(api)
        assert first.published() == {}
        assert await first.sync() is True
        kid = first.published()["sealingKey"]["keyID"]
        # a restarted agent reads the same key: nothing changes, nothing is rewritten
        version = (await stored(api))["metadata"]["resourceVersion"]
        again = Keyring(api)
        await again.sync()
        assert again.published()["sealingKey"]["keyID"] == kid
        assert (await stored(api))["metadata"]["resourceVersion"] == version
        # past its age, the key is replaced and the old one kept for Works sealed before
        aged = Keyring(api, max_age=0.0)
        assert await aged.sync() is True
        assert aged.published()["sealingKey"]["keyID"] != kid and kid in aged.by_id()
        # an unreadable key list is set aside, not overwritten
        live = await stored(api)
        live["data"][sealing_keys.DATA_KEY] = base64.b64encode(b"not json").decode()
        await api.replace(live)
        fresh = Keyring(api)
        await fresh.sync()
        kept = (await stored(api))["data"]
        assert base64.b64decode(kept[sealing_keys.UNREADABLE_KEY]) == b"not json"
        assert fresh.published()["sealingKey"]["keyID"] not in (kid,)
    finally:
        await api.close()
