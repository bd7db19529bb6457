"""``waybill agent``: run a member's agent (pull: inside the member; push: on the hub side).

Pull and push are the same command and the same code; only where it runs differs, and so which
kubeconfigs it is given: ``--hub-kubeconfig`` is the scoped hub identity ``waybill join``
wrote; ``--kubeconfig`` is the member (omitted: in-cluster config, the pull-mode default).
Serves ``/metrics``, ``/healthz``, ``/readyz`` on ``--metrics-port``; stops gracefully on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
from pathlib import Path
from typing import Any

from agent import identity
from agent.config import AgentConfig
from agent.guardrails import GuardrailError, Guardrails
from agent.runner import run_agent
from shared.ops import lifecycle
from shared.ops.logging import configure
from waybill import kubeconfigs
from waybill.errors import UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "agent",
        help="run a member cluster's agent (pull or push mode)",
        description="Apply the member's Works from the hub and report status, heartbeats and drift.",
    )
    parser.add_argument("--cluster", required=True, help="the member cluster's name (as joined)")
    parser.add_argument(
        "--hub-kubeconfig", required=True, type=Path, help="scoped hub kubeconfig from `waybill join`"
    )
    parser.add_argument(
        "--kubeconfig", type=Path, default=None, help="member kubeconfig (default: in-cluster)"
    )
    parser.add_argument(
        "--namespace",
        default=None,
        help="the member namespace on the hub (default: found by label, else member-<cluster>)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="port for /metrics, /healthz, /readyz (default 8080, or a free port when 8080 is taken)",
    )
    parser.add_argument(
        "--refused-retries",
        type=int,
        default=5,
        help="how often an identity the hub refuses (401/403) is retried before the agent exits (default 5)",
    )
    parser.add_argument(
        "--heartbeat-interval", type=float, default=10.0, help="Lease renewal period (seconds)"
    )
    parser.add_argument("--lease-duration", type=int, default=40, help="Lease duration (seconds)")
    parser.add_argument("--resync-interval", type=float, default=300.0, help="full re-apply period (seconds)")
    parser.add_argument(
        "--replica-managers",
        action="append",
        default=[],
        metavar="MANAGERS",
        help="field managers whose spec.replicas the agent leaves alone (comma-separated; HPAs and "
        "scale-subresource writers are always left alone)",
    )
    guard = parser.add_argument_group(
        "guard rails", "what this member lets Works apply (a refused manifest fails alone, reason Forbidden)"
    )
    guard.add_argument(
        "--allow-kinds",
        action="append",
        default=[],
        metavar="KINDS",
        help="only these kinds (Kind or group/Kind, comma-separated; core/Kind for the core group)",
    )
    guard.add_argument(
        "--deny-kinds", action="append", default=[], metavar="KINDS", help="never these kinds (same form)"
    )
    guard.add_argument(
        "--deny-namespaces",
        action="append",
        default=[],
        metavar="NAMESPACES",
        help="never anything in these namespaces (comma-separated)",
    )
    guard.add_argument(
        "--allow-privileged-rbac",
        action="store_true",
        help="apply bindings to cluster-admin and roles granting * / escalate / bind / impersonate "
        "(refused by default)",
    )
    parser.add_argument(
        "--sealing-key-namespace",
        default="waybill-system",
        help="member namespace of the Secret holding the agent's sealing keys (default waybill-system)",
    )
    parser.add_argument(
        "--sealing-key-max-days",
        type=float,
        default=90.0,
        help="rotate the member's sealing key pair after this many days (0: never; default 90)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("WAYBILL_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
        help="log level (default: $WAYBILL_LOG_LEVEL or info)",
    )
    parser.set_defaults(handler=run)


def holder_identity() -> str:
    """Who renews the heartbeat: host and pid (a pod's container restarts keep both: pid 1)."""
    return f"{socket.gethostname()}_{os.getpid()}"


def config_from_args(args: argparse.Namespace) -> AgentConfig:
    for path, flag in ((args.hub_kubeconfig, "--hub-kubeconfig"), (args.kubeconfig, "--kubeconfig")):
        if path is not None and not Path(path).is_file():
            raise UsageError(f"{flag}: no such file: {path}")
    if args.heartbeat_interval <= 0 or args.lease_duration <= args.heartbeat_interval:
        raise UsageError("--lease-duration must be longer than --heartbeat-interval (both positive)")
    for path, flag in ((args.hub_kubeconfig, "--hub-kubeconfig"), (args.kubeconfig, "--kubeconfig")):
        if path is not None:
            try:
                kubeconfigs.load(str(path))
            except UsageError as exc:
                raise UsageError(f"{flag}: {exc}") from exc
    if args.kubeconfig is None and not kubeconfigs.in_cluster():
        raise UsageError(
            "not running inside a cluster (no in-cluster service account), so there is no member to "
            "talk to: pass --kubeconfig MEMBER_KUBECONFIG (push mode runs the agent outside the member)"
        )
    if args.refused_retries < 1:
        raise UsageError("--refused-retries must be at least 1")
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        raise UsageError(f"--metrics-port {args.metrics_port} is not a port number")
    try:
        rails = Guardrails.from_options(
            allow_kinds=args.allow_kinds,
            deny_kinds=args.deny_kinds,
            deny_namespaces=args.deny_namespaces,
            allow_privileged_rbac=args.allow_privileged_rbac,
        )
    except GuardrailError as err:
        raise UsageError(str(err)) from None
    if args.sealing_key_max_days < 0:
        raise UsageError("--sealing-key-max-days must be 0 (never) or positive")
    return AgentConfig(
        guardrails=rails,
        sealing_key_namespace=args.sealing_key_namespace,
        sealing_key_max_age=args.sealing_key_max_days * 86400.0 if args.sealing_key_max_days else None,
        cluster=args.cluster,
        member_namespace=args.namespace,
        heartbeat_interval=args.heartbeat_interval,
        lease_duration_seconds=args.lease_duration,
        resync_interval=args.resync_interval,
        replica_managers=tuple(
            m.strip() for arg in args.replica_managers for m in arg.split(",") if m.strip()
        ),
        holder_identity=holder_identity(),
    )


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    configure(level=args.log_level, json=True)

    async def main(stop: asyncio.Event) -> int:
        return await run_agent(
            config=config,
            hub_kubeconfig=args.hub_kubeconfig,
            member_kubeconfig=args.kubeconfig,
            metrics_port=args.metrics_port,
            default_metrics_port=args.metrics_port is None,
            identity_attempts=args.refused_retries,
            stop=stop,
        )

    try:
        result = lifecycle.run(main, grace_period=15.0)
    except (identity.IdentityRefused, identity.AnotherAgent, identity.OpsPortInUse) as exc:
        print(f"error: agent {args.cluster}: {exc}", file=sys.stderr)
        return 1
    return 0 if result is None else int(result)
