"""``waybill join`` / ``waybill unjoin``: register a member on the hub, or deregister it cleanly.

``join NAME`` creates (idempotently) the member namespace ``member-NAME``, the MemberCluster, and
the agent's hub identity: a ServiceAccount with a Role and RoleBinding in that namespace holding
exactly what the agent needs (ARCHITECTURE §3; rules in
``shared.membership_rbac``), then writes the agent's hub kubeconfig with a
token from the TokenRequest API. The namespace gets its ``waybill.dev/member`` label last, so
the hub never registers a half-made member.

``unjoin NAME`` deletes the member's Works first (a running agent removes what it applied, as
each Work's deleteOption says), waits for them to go, then deletes the namespace (MemberCluster,
Lease and credentials go with it).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from hub import member_presence
from hub.crds import ensure_crds
from shared import membership_rbac
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists, NotFound
from waybill import connect, kubeconfigs, unjoining
from waybill.connect import add_kubeconfig, run_async
from waybill.errors import CommandFailed, UsageError

FIELD_MANAGER = "waybill-join"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def parse_labels(pairs: list[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--label {pair!r} is not KEY=VALUE")
        labels[key] = value
    return labels


def agent_kubeconfig(
    *, hub_kubeconfig: str | kubeconfigs.LoadedKubeconfig, token: str, cluster: str, namespace: str
) -> dict[str, Any]:
    """A kubeconfig for the agent: the hub's server and CA from ``hub_kubeconfig``, the SA token."""
    loaded = kubeconfigs.load(hub_kubeconfig) if isinstance(hub_kubeconfig, str) else hub_kubeconfig
    server = loaded.selected()[1]
    ca_file = server.pop("certificate-authority", None)
    if ca_file and "certificate-authority-data" not in server:
        server["certificate-authority-data"] = base64.b64encode(Path(ca_file).read_bytes()).decode()
    user = f"waybill-agent-{cluster}"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": user,
        "clusters": [{"name": "waybill-hub", "cluster": server}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [
            {"name": user, "context": {"cluster": "waybill-hub", "user": user, "namespace": namespace}}
        ],
    }


def write_private(path: Path, text: str) -> None:
    """Write a credentials file readable only by its owner."""
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)


async def _ensure(hub_api: KubeClient, obj: dict[str, Any]) -> None:
    await hub_api.apply(obj, field_manager=FIELD_MANAGER, force=True)


async def _create_not_ready(hub_api: KubeClient, member: dict[str, Any]) -> None:
    """A new member is created with the not-ready NoSchedule taint (the hub removes it at its
    agent's first heartbeat), so nothing is scheduled to it before then. An existing one is
    left as it is; the taint is not part of join's own apply, so re-running join keeps the
    hub's taints."""
    meta = member["metadata"]
    try:
        await hub_api.get(
            names.CLUSTER_API_VERSION,
            names.KIND_MEMBER_CLUSTER,
            name=meta["name"],
            namespace=meta["namespace"],
        )
        return
    except NotFound:
        pass
    taint = member_presence.not_ready_taint(datetime.now(tz=UTC))
    body = {**member, "spec": {**member["spec"], "taints": [taint]}}
    with contextlib.suppress(AlreadyExists):
        await hub_api.create(body, field_manager=FIELD_MANAGER)


async def join(
    hub_api: KubeClient, args: argparse.Namespace, *, hub_kubeconfig: str | kubeconfigs.LoadedKubeconfig
) -> int:
    cluster = args.name
    namespace = args.namespace or f"{names.MEMBER_NAMESPACE_PREFIX}{cluster}"
    await ensure_crds(hub_api)
    try:
        existing = await hub_api.get("v1", "Namespace", name=namespace)
    except NotFound:
        existing = None
    owner = ((existing or {}).get("metadata", {}).get("labels") or {}).get(names.LABEL_MEMBER)
    if owner and owner != cluster:
        print(f"error: namespace {namespace} already registers member {owner!r}", file=sys.stderr)
        return 1
    if existing is None:
        await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    spec: dict[str, Any] = {"syncMode": "Push" if args.mode == "push" else "Pull"}
    for field in ("provider", "region", "zone"):
        if getattr(args, field):
            spec[field] = getattr(args, field)
    member = {
        "apiVersion": names.CLUSTER_API_VERSION,
        "kind": names.KIND_MEMBER_CLUSTER,
        "metadata": {"name": cluster, "namespace": namespace, "labels": parse_labels(args.label or [])},
        "spec": spec,
    }
    await _create_not_ready(hub_api, member)
    await _ensure(hub_api, member)
    for obj in membership_rbac.agent_identity_objects(namespace=namespace, cluster=cluster):
        await _ensure(hub_api, obj)
    await hub_api.patch(
        "v1", "Namespace", name=namespace, patch={"metadata": {"labels": {names.LABEL_MEMBER: cluster}}}
    )
    answer = await hub_api.create_subresource(
        "v1",
        "ServiceAccount",
        name=membership_rbac.AGENT_IDENTITY,
        namespace=namespace,
        subresource="token",
        body={
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": args.token_seconds},
        },
    )
    token = str((answer.get("status") or {}).get("token") or "")
    if not token:
        print("error: the hub returned no token for the agent's ServiceAccount", file=sys.stderr)
        return 1
    out = Path(args.out or f"{cluster}-hub.kubeconfig")
    config = agent_kubeconfig(
        hub_kubeconfig=hub_kubeconfig, token=token, cluster=cluster, namespace=namespace
    )
    try:
        await asyncio.to_thread(write_private, out, yaml.safe_dump(config, sort_keys=False))
    except OSError as exc:
        raise CommandFailed(
            f"member {cluster} joined, but its agent kubeconfig could not be written to {out}: "
            f"{exc.strerror}; run join again with another --out"
        ) from exc
    print(
        f"member {cluster} joined (namespace {namespace}, mode {spec['syncMode']}); agent kubeconfig: {out}"
    )
    return 0


async def unjoin(hub_api: KubeClient, args: argparse.Namespace) -> int:
    return await unjoining.unjoin(
        hub_api,
        cluster=args.name,
        wait=args.wait,
        force=args.force,
        keep_workloads=args.keep_workloads,
    )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "join",
        help="register a member cluster on the hub",
        description="Register a member and write its agent's hub kubeconfig.",
    )
    parser.add_argument("name", help="the member cluster's name (DNS label)")
    add_kubeconfig(parser)
    parser.add_argument("--label", action="append", metavar="KEY=VALUE", help="a cluster label (repeatable)")
    parser.add_argument("--mode", choices=("pull", "push"), default="pull", help="agent mode (default pull)")
    parser.add_argument("--provider")
    parser.add_argument("--region")
    parser.add_argument("--zone")
    parser.add_argument("--namespace", help="member namespace (default member-NAME)")
    parser.add_argument(
        "--out", help="where to write the agent's hub kubeconfig (default NAME-hub.kubeconfig)"
    )
    parser.add_argument(
        "--token-seconds",
        type=int,
        default=365 * 24 * 3600,
        help="lifetime of the agent's token (default one year)",
    )
    parser.set_defaults(handler=run_join)
    unparser = subparsers.add_parser(
        "unjoin",
        help="deregister a member cluster",
        description="Deregister a member: its agent removes what Waybill applied (or leaves it, "
        "--keep-workloads), then the member namespace goes. With the agent gone, says what will "
        "remain on the member and stops, unless --force.",
    )
    unparser.add_argument("name")
    add_kubeconfig(unparser)
    unparser.add_argument(
        "--wait",
        type=float,
        default=60.0,
        help="seconds to wait for the agent to clean up Works, and for the namespace to go (default 60)",
    )
    unparser.add_argument(
        "--force",
        action="store_true",
        help="finish the hub side even if the agent cannot clean up (what it applied stays on the member)",
    )
    unparser.add_argument(
        "--keep-workloads",
        action="store_true",
        help="leave what Waybill applied running on the member, no longer managed",
    )
    unparser.set_defaults(handler=run_unjoin)


def _check_name(name: str) -> None:
    if not _NAME.match(name) or len(name) > 63 - len(names.MEMBER_NAMESPACE_PREFIX):
        raise UsageError(f"member name {name!r} must be a DNS label (lowercase letters, digits, '-')")


def run_join(args: argparse.Namespace) -> int:
    _check_name(args.name)
    parse_labels(args.label or [])
    loaded = connect.load(args)
    return run_async(lambda hub_api: join(hub_api, args, hub_kubeconfig=loaded), loaded)


def run_unjoin(args: argparse.Namespace) -> int:
    _check_name(args.name)
    return run_async(lambda hub_api: unjoin(hub_api, args), args)


__all__ = ["join", "register", "unjoin"]
