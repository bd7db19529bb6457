"""``waybill version``: this client's version, the hub API server's, and every member agent's
(as each agent reports it in its MemberCluster status). ``--client`` asks no server."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import yaml

from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import NotFound
from waybill import connect
from waybill.connect import add_kubeconfig
from waybill.version import client_version


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "version",
        help="print the client, hub and agent versions",
        description="Versions, like kubectl version.",
    )
    parser.add_argument(
        "--client", action="store_true", help="only the client's version (no server is asked)"
    )
    parser.add_argument("-o", "--output", choices=("json", "yaml"), help="json or yaml")
    add_kubeconfig(parser)
    parser.set_defaults(handler=run)


def show(info: dict[str, Any], fmt: str | None) -> None:
    if fmt == "json":
        print(json.dumps(info, indent=2))
        return
    if fmt == "yaml":
        print(yaml.safe_dump(info, sort_keys=False).rstrip())
        return
    print(f"Client Version: {info['clientVersion']}")
    if "hubVersion" in info:
        print(f"Hub API Server Version: {info['hubVersion']} ({info['hubServer']})")
        print("Member agents:" if info["agents"] else "Member agents: none joined")
        for name, agent in sorted(info["agents"].items()):
            print(f"  {name:<16} {agent}")


def run(args: argparse.Namespace) -> int:
    info: dict[str, Any] = {"clientVersion": client_version()}
    if args.client:
        show(info, args.output)
        return 0
    loaded = connect.load(args)

    async def main(hub_api: KubeClient) -> int:
        server = await hub_api.server_version()
        try:
            members = (await hub_api.list(names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER)).items
        except NotFound:
            members = []  # Waybill's CRDs are not installed yet: no members either
        info["hubVersion"] = server.git_version
        info["hubServer"] = loaded.server
        info["agents"] = {
            m["metadata"]["name"]: (m.get("status") or {}).get("agentVersion") or "<not reported>"
            for m in members
        }
        show(info, args.output)
        return 0

    code = connect.run_async(main, loaded)
    if code and "hubVersion" not in info:
        # Like kubectl: the client version is still worth printing when the hub cannot be asked.
        print(f"Client Version: {info['clientVersion']}", file=sys.stderr)
    return code
