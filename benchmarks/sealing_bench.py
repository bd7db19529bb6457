"""Sealing benchmark: what sealed Secrets cost the hub and the agent, per manifest.

Prints the time to seal one Secret manifest for a member (first time, and again from the hub's
envelope cache), to open it on the agent, and the size of the envelope against the plain
manifest. Pure CPU, no servers.

    python benchmarks/sealing_bench.py [--count 2000] [--bytes 256]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import time

from hub import manifest_sealing
from hub.clusters import ClusterView
from shared import sealing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--bytes", type=int, default=256, help="size of the Secret's value")
    args = parser.parse_args()
    key = sealing.PrivateKey.generate()
    member = ClusterView(name="eu1", sealing_key=key.public.to_status())
    manifests = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"s{i}", "namespace": "team-a", "labels": {"app": "db"}},
            "data": {"value": base64.b64encode(os.urandom(args.bytes)).decode()},
        }
        for i in range(args.count)
    ]
    start = time.perf_counter()
    envelopes = [manifest_sealing.seal_for(dict(m), cluster=member) for m in manifests]
    first = time.perf_counter() - start
    start = time.perf_counter()
    for m in manifests:
        manifest_sealing.seal_for(dict(m), cluster=member)
    cached = time.perf_counter() - start
    keys = {key.public.key_id: key}
    start = time.perf_counter()
    for envelope in envelopes:
        sealing.open_sealed(envelope, keys=keys)
    opened = time.perf_counter() - start
    plain = sum(len(json.dumps(m)) for m in manifests) / args.count
    sealed = sum(len(json.dumps(e)) for e in envelopes) / args.count
    print(f"manifests: {args.count} Secrets of {args.bytes} bytes")
    print(f"hub seal (first):   {first / args.count * 1e6:8.0f} us per manifest")
    print(f"hub seal (cached):  {cached / args.count * 1e6:8.0f} us per manifest")
    print(f"agent open:         {opened / args.count * 1e6:8.0f} us per manifest")
    print(f"size: plain {plain:.0f} B, sealed {sealed:.0f} B per manifest")


if __name__ == "__main__":
    main()
