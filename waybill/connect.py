"""Connecting a CLI command to a cluster, and turning every API failure into one line.

A command builds its client with :func:`client_for` (merged kubeconfig, ``--context``, a short
retry policy: a person at a terminal wants an answer in a second or two, not the controllers'
patient backoff) and runs its coroutine with :func:`run_async`, which maps API errors to
``error: ...`` on stderr and exit code 1 — never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from shared.kube.client import KubeClient
from shared.kube.errors import (
    ApiError,
    ConfigError,
    ConnectionFailed,
    Forbidden,
    NotFound,
    Timeout,
    Unauthorized,
)
from shared.kube.retry import RetryPolicy
from waybill import kubeconfigs
from waybill.errors import CommandFailed, UsageError

# Two tries, well under two seconds in all against a dead server.
CLI_RETRY = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0)
CLI_REQUEST_TIMEOUT = 15.0


def add_kubeconfig(parser: argparse.ArgumentParser, *, what: str = "the hub's") -> None:
    """``--kubeconfig`` and ``--context``, as kubectl has them."""
    parser.add_argument(
        "--kubeconfig",
        help=f"{what} kubeconfig (default: $KUBECONFIG, merged like kubectl, or ~/.kube/config)",
    )
    parser.add_argument("--context", help="the kubeconfig context to use (default: its current-context)")


def load(args: argparse.Namespace) -> kubeconfigs.LoadedKubeconfig:
    return kubeconfigs.load(getattr(args, "kubeconfig", None), context=getattr(args, "context", None))


async def client_for(loaded: kubeconfigs.LoadedKubeconfig, *, name: str = "hub") -> KubeClient:
    try:
        return await KubeClient.from_kubeconfig_dict(
            loaded.config,
            context=loaded.context_name,
            name=name,
            retry_policy=CLI_RETRY,
            request_timeout=CLI_REQUEST_TIMEOUT,
        )
    except ConfigError as exc:
        raise UsageError(f"{exc} ({', '.join(loaded.sources)})") from exc


def describe_api_error(exc: ApiError, *, server: str, context: str) -> str:
    """One line saying what went wrong and what to do (pure)."""
    where = f"the API server {server} (context {context})"
    if isinstance(exc, ConnectionFailed | Timeout):
        detail = exc.message.split(" [")[0] if exc.message else exc.reason
        return f"cannot reach {where}: {detail}; is it running, and is --kubeconfig/--context right?"
    if exc.reason == "TLSError":
        return f"TLS handshake with {where} failed: {exc.message}"
    if isinstance(exc, Unauthorized):
        return f"{where} refused the credentials (401 Unauthorized): the token may be expired or revoked"
    if isinstance(exc, Forbidden):
        return f"forbidden by {where}: {exc.message}"
    if isinstance(exc, NotFound):
        if "resource type" in exc.message and "waybill.dev/" in exc.message:
            return (
                f"not found: {exc.message}: Waybill's CRDs are not installed on {server} "
                "(waybill hub installs them, or: waybill crds | kubectl apply -f -)"
            )
        return f"not found: {exc.message}"
    return f"{where}: {exc}"


def run_async(
    main: Callable[[KubeClient], Awaitable[int]],
    args_or_loaded: argparse.Namespace | kubeconfigs.LoadedKubeconfig,
    *,
    name: str = "hub",
) -> int:
    """Connect, run ``main``, close; API errors become ``error: ...`` and exit code 1."""
    loaded = (
        args_or_loaded if isinstance(args_or_loaded, kubeconfigs.LoadedKubeconfig) else load(args_or_loaded)
    )

    async def runner() -> int:
        api = await client_for(loaded, name=name)
        try:
            return await main(api)
        finally:
            await api.close()

    try:
        return asyncio.run(runner())
    except ApiError as exc:
        print(
            f"error: {describe_api_error(exc, server=loaded.server, context=loaded.context_name)}",
            file=sys.stderr,
        )
        return 1
    except CommandFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def shorten(value: Any, limit: int = 200) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
