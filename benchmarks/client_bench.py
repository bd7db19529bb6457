"""Client benchmark: CPU per request of Waybill's Kubernetes client against an in-process kubesim.

Client and server run in this process, so the figure is the CPU (all threads) of one request
end to end: building it, the HTTP exchange, the server's handling, decoding the answer. Prints
it for GETs of a small ConfigMap and for status patches of a 1,000-manifest-sized Work status,
the two requests the agent makes most (the status one twice as large as in a real Work).

    python benchmarks/client_bench.py [--requests 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from hub.crds import ensure_crds
from kubesim import SimServer
from shared.api import names
from shared.kube.client import KubeClient


def status_of(manifests: int) -> dict[str, Any]:
    return {
        "manifestConditions": [
            {
                "identifier": {"kind": "ConfigMap", "name": f"c{i}", "namespace": "app", "ordinal": i},
                "conditions": [
                    {"type": "Applied", "status": "True", "reason": "Applied", "message": "applied",
                     "lastTransitionTime": "2026-01-01T00:00:00Z"}
                ],
            }
            for i in range(manifests)
        ]
    }


async def per_request(label: str, n: int, step: Any) -> None:
    for _ in range(min(50, n)):
        await step()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        await step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label}: {wall / n * 1e6:.0f} us wall, {cpu / n * 1e6:.0f} us CPU per request ({n} requests)")


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sim = SimServer("bench", kubeconfig_dir=Path(tmp))
        await sim.start()
        client = await KubeClient.from_kubeconfig(sim.kubeconfig_path, name="bench")
        try:
            await ensure_crds(client)
            meta = {"name": "c", "namespace": "default"}  # a ConfigMap and a Work of that name
            configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"a": "1"}}
            await client.create(configmap)
            await client.create(
                {"apiVersion": names.WORK_API_VERSION, "kind": names.KIND_WORK, "metadata": meta, "spec": {}}
            )

            async def get() -> None:
                await client.get("v1", "ConfigMap", name="c", namespace="default")

            await per_request("GET ConfigMap", n, get)
            flip = [status_of(1000), status_of(1000)]
            flip[1]["manifestConditions"][0]["conditions"][0]["message"] = "changed"

            async def patch() -> None:
                flip.reverse()
                await client.patch_status(
                    names.WORK_API_VERSION, names.KIND_WORK, name="c", namespace="default",
                    patch={"status": flip[0]},
                )

            await per_request("PATCH Work status of 1,000 manifests", max(1, n // 20), patch)
        finally:
            await client.close()
            await sim.close()


if __name__ == "__main__":
    from shared.ops.logging import configure

    configure(level="warning")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    asyncio.run(main(parser.parse_args().requests))
