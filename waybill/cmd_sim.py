"""``waybill sim``: run a hub and member clusters as in-process kubesim API servers.

``waybill sim --hub hub --members eu1,us1 --dir DIR`` starts one server per name (HTTPS on
127.0.0.1, a free port each), writes ``DIR/<name>.kubeconfig`` (admin credentials, CA included)
and serves until SIGINT/SIGTERM, then stops every server gracefully. Members simulate workload
controllers, nodes and Service IPs unless ``--no-workloads``; the hub never does.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import Any

from kubesim import SimServer
from shared.ops import lifecycle
from waybill.errors import UsageError

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="run simulated hub and member clusters (kubesim) until interrupted",
        description="Run a hub and member clusters as local simulated Kubernetes API servers.",
    )
    parser.add_argument("--hub", default="hub", help="name of the hub cluster (default: hub)")
    parser.add_argument("--members", default="", help="comma-separated member cluster names, e.g. eu1,us1")
    parser.add_argument("--dir", type=Path, default=Path("sim"), help="where to write <name>.kubeconfig")
    parser.add_argument("--no-workloads", action="store_true", help="members do not simulate controllers")
    parser.add_argument(
        "--plain-http",
        action="store_true",
        help="serve plain HTTP (kubectl then refuses to send tokens; clients only)",
    )
    parser.add_argument("--nodes", type=int, default=3, help="fake nodes per member (default: 3)")
    parser.add_argument(
        "--workload-delay",
        type=float,
        default=0.2,
        help="seconds before simulated workloads become ready (default: 0.2)",
    )
    parser.set_defaults(handler=run)


def cluster_names(hub: str, members: str) -> list[str]:
    """Validated, de-duplicated names: the hub first, then the members in order."""
    names = [hub] + [m.strip() for m in members.split(",") if m.strip()]
    for name in names:
        if not _NAME.match(name) or len(name) > 63:
            raise UsageError(f"invalid cluster name {name!r}: must be a DNS-1123 label")
    if len(set(names)) != len(names):
        raise UsageError("cluster names must be unique")
    return names


async def serve(args: argparse.Namespace, stop: asyncio.Event) -> int:
    names = cluster_names(args.hub, args.members)
    directory: Path = args.dir
    servers: list[SimServer] = []
    try:
        for name in names:
            is_hub = name == args.hub
            server = SimServer(
                name,
                workloads=not is_hub and not args.no_workloads,
                tls=not args.plain_http,
                nodes=args.nodes,
                workload_delay=args.workload_delay,
                kubeconfig_dir=directory,
            )
            await server.start()
            servers.append(server)
            role = "hub" if is_hub else "member"
            print(f"{name}\t{role}\t{server.url}\t{server.kubeconfig_path}", flush=True)
        print("ready: press Ctrl-C to stop", flush=True)
        await stop.wait()
    finally:
        for server in reversed(servers):
            await server.close()
    return 0


def run(args: argparse.Namespace) -> int:
    cluster_names(args.hub, args.members)
    args.dir.mkdir(parents=True, exist_ok=True)

    async def main(stop: asyncio.Event) -> int:
        return await serve(args, stop)

    result = lifecycle.run(main, grace_period=5.0)
    print("stopped", file=sys.stderr, flush=True)
    return 0 if result is None else result
