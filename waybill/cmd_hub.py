"""``waybill hub --kubeconfig F``: run the hub controller (with leader election and /metrics)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from hub.process import HubOptions, run_hub
from hub.replica_paths import DEFAULT_REPLICA_PATHS, parse_replica_path
from shared.kube.errors import ApiError
from shared.ops import lifecycle
from shared.ops.logging import configure
from waybill import kubeconfigs
from waybill.errors import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "hub",
        help="run the hub controller",
        description="Run the hub: match, schedule, render Works, aggregate status.",
    )
    parser.add_argument(
        "--kubeconfig",
        help="the hub's kubeconfig (default: in-cluster in a pod, else $KUBECONFIG merged like kubectl, "
        "else ~/.kube/config)",
    )
    parser.add_argument("--context", help="the kubeconfig context to use")
    parser.add_argument("--metrics-port", type=int, help="serve /metrics, /healthz, /readyz on this port")
    parser.add_argument(
        "--no-leader-elect", action="store_true", help="run without leader election (one replica)"
    )
    parser.add_argument("--identity", help="leader-election identity (default host-pid)")
    parser.add_argument(
        "--grace-seconds",
        type=float,
        default=40.0,
        help="heartbeat grace before a member is marked unreachable (default 40)",
    )
    parser.add_argument(
        "--status-hold",
        type=float,
        default=0.5,
        metavar="SECONDS",
        help="hold a binding's status while its members' reports of a change come in: written when "
        "all reported, or SECONDS after the first report (10x SECONDS before any); 0 writes at once "
        "(default 0.5)",
    )
    parser.add_argument("--workers", type=int, default=16, help="workers per controller (default 16)")
    parser.add_argument(
        "--scheduler-name",
        action="append",
        default=[],
        metavar="NAME",
        help="place the templates of policies with this schedulerName (repeatable; default "
        "default-scheduler); others are left to their scheduler",
    )
    parser.add_argument(
        "--replica-path",
        action="append",
        default=[],
        metavar="GROUP/KIND=PATH",
        help="teach the hub where a kind keeps its replicas, e.g. example.com/Widget=spec.size",
    )
    parser.add_argument("--log-level", default="info")
    parser.add_argument("--no-install-crds", action="store_true", help="same as --crds=verify")
    parser.add_argument(
        "--crds",
        choices=("verify", "create", "upgrade"),
        default=None,
        help="at start-up: only check the CRDs (verify), also create missing ones (create, the default), "
        "or also apply this version's CRDs over older ones (upgrade)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    paths = dict(DEFAULT_REPLICA_PATHS)
    for text in args.replica_path:
        try:
            key, path = parse_replica_path(text)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        paths[key] = path
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if not args.status_hold >= 0:
        raise UsageError("--status-hold must be 0 or more seconds")
    if any(not name for name in args.scheduler_name):
        raise UsageError("--scheduler-name must not be empty")
    if args.log_level.lower() not in ("debug", "info", "warning", "error"):
        raise UsageError(f"--log-level {args.log_level!r} is not debug, info, warning or error")
    try:
        configure(level=args.log_level)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    kubeconfig, private = hub_kubeconfig(args)  # last: a private merged file is removed below
    options = HubOptions(
        kubeconfig=kubeconfig,
        metrics_port=args.metrics_port,
        leader_elect=not args.no_leader_elect,
        grace_seconds=args.grace_seconds,
        status_hold=args.status_hold,
        workers=args.workers,
        scheduler_names=tuple(args.scheduler_name) or ("default-scheduler",),
        install_crds=not args.no_install_crds,
        crds=args.crds,
        replica_paths=paths,
        **({"identity": args.identity} if args.identity else {}),
    )

    async def main(stop: asyncio.Event) -> int:
        return await run_hub(options, stop)

    try:
        return lifecycle.run(main) or 0
    except ApiError as exc:
        print(f"error: hub API: {exc}", file=sys.stderr)
        return 1
    finally:
        if private is not None:
            private.unlink(missing_ok=True)


def hub_kubeconfig(args: argparse.Namespace) -> tuple[str | None, Path | None]:
    """(path for the hub, a private merged file to delete afterwards or None).

    In a pod without --kubeconfig/--context: None (in-cluster). Otherwise the kubeconfig is
    read as every client command reads it (one-line errors naming the file); a single file used
    as is is passed by path, anything merged or re-pointed by --context is written to a private
    (0600) temporary file, since the hub's client takes a path.
    """
    if not args.kubeconfig and not args.context and kubeconfigs.in_cluster():
        return None, None
    loaded = kubeconfigs.load(args.kubeconfig, context=args.context)
    if len(loaded.sources) == 1 and not args.context:
        return loaded.sources[0], None
    config = {**loaded.config, "current-context": loaded.context_name}
    fd, name = tempfile.mkstemp(prefix="waybill-hub-", suffix=".kubeconfig")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle)
    os.chmod(name, 0o600)
    return name, Path(name)
