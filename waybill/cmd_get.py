"""``waybill get KIND [NAME...]``: Waybill's objects on the hub, with kubectl's flags.

KIND is any word kubectl would accept for a Waybill kind (``clusters``, ``mc``, ``work``,
``works.work.waybill.dev``, ``rb``, ``pp``, ...; ``bindings`` and ``policies`` name both the
namespaced and the cluster-scoped kind); several kinds may be joined with commas, and
``KIND/NAME`` works too. ``-o json|yaml|wide|name|jsonpath=...``, ``-n NS`` / ``-A``, ``-l
SELECTOR`` and ``-w`` behave as in kubectl. Without ``-n`` every namespace is listed: Waybill's
objects live in many member namespaces, so that is the useful default.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.kube.client import KubeClient
from shared.kube.errors import ConnectionFailed, Gone, Timeout
from waybill import columns, kinds, output
from waybill.connect import add_kubeconfig, run_async
from waybill.errors import CommandFailed, UsageError

# Kept for callers of the old module (``age``/``table`` moved to waybill.output).
age = output.age
table = output.table


@dataclass(frozen=True)
class Query:
    """What to fetch: the kinds, the names (empty: all), namespace (None: all), selector."""

    kinds: tuple[kinds.KindInfo, ...]
    names: tuple[str, ...]
    namespace: str | None
    selector: str | None


def parse_query(words: Sequence[str], *, namespace: str | None, selector: str | None) -> Query:
    """``clusters``, ``mc eu1 us1``, ``work/x``, ``rb,works`` → a Query; usage errors otherwise."""
    if not words:
        raise UsageError(f"name a kind: {', '.join(kinds.all_kind_words())}")
    first, rest = words[0], list(words[1:])
    if "/" in first:
        if any("/" not in w for w in rest):
            raise UsageError("mix of KIND/NAME and plain names: use one form")
        pairs = [kinds.parse_target(w, example="work/web") for w in words]
        kind_words = sorted({k for k, _ in pairs})
        if len(kind_words) > 1:
            raise UsageError("KIND/NAME arguments must name one kind")
        first, rest = kind_words[0], [n for _, n in pairs]
    found: list[kinds.KindInfo] = []
    for word in first.split(","):
        matched = kinds.waybill_kinds(word)
        if not matched:
            raise UsageError(
                f"{word!r} is not a Waybill kind (try: clusters, bindings, works, policies, "
                "overridepolicies; for other kinds use kubectl)"
            )
        found.extend(k for k in matched if k not in found)
    return Query(kinds=tuple(found), names=tuple(rest), namespace=namespace, selector=selector)


async def fetch(hub_api: KubeClient, query: Query) -> dict[str, tuple[list[dict[str, Any]], str]]:
    """kind → (objects, list resourceVersion); a named object missing anywhere is an error."""
    out: dict[str, tuple[list[dict[str, Any]], str]] = {}
    for info in query.kinds:
        namespace = query.namespace if info.namespaced else None
        listed = await hub_api.list(
            info.api_version, info.kind, namespace=namespace, label_selector=query.selector
        )
        items = listed.items
        if query.names:
            items = [o for o in items if o["metadata"]["name"] in query.names]
        items.sort(key=lambda o: (o["metadata"].get("namespace") or "", o["metadata"]["name"]))
        out[info.kind] = (items, listed.resource_version)
    if query.names:
        present = {o["metadata"]["name"] for items, _ in out.values() for o in items}
        missing = [n for n in query.names if n not in present]
        if missing:
            where = f" in namespace {query.namespace}" if query.namespace else ""
            kind_word = query.kinds[0].kind.lower() if len(query.kinds) == 1 else "object"
            raise CommandFailed("; ".join(f'{kind_word} "{n}" not found{where}' for n in missing))
    return out


def render_tables(
    objects: dict[str, tuple[list[dict[str, Any]], str]], *, query: Query, wide: bool, headers: bool = True
) -> str:
    """One table per column layout (both binding kinds share one)."""
    groups: dict[int, list[dict[str, Any]]] = {}
    layout: dict[int, str] = {}
    for kind, (items, _) in objects.items():
        key = id(columns.BY_KIND[kind])
        groups.setdefault(key, []).extend(items)
        layout.setdefault(key, kind)
    blocks = []
    for key, items in groups.items():
        if not items:
            continue
        kind = layout[key]
        info = next(k for k in query.kinds if k.kind == kind)
        ns_col = info.namespaced and query.namespace is None
        rows = [columns.row(o, wide=wide, namespace_column=ns_col) for o in items]
        text = output.table(columns.headers(kind, wide=wide, namespace_column=ns_col), rows)
        blocks.append(text if headers else "\n".join(text.splitlines()[1:]))
    return "\n\n".join(blocks)


def show(objects: dict[str, tuple[list[dict[str, Any]], str]], *, query: Query, fmt: str | None) -> str:
    if fmt in (None, "wide"):
        return render_tables(objects, query=query, wide=fmt == "wide")
    flat = [o for items, _ in objects.values() for o in items]
    single = len(query.names) == 1 and len(query.kinds) == 1
    return output.render_document(fmt, flat, single=single)


def print_watched(obj: dict[str, Any], fmt: str) -> None:
    text = output.render_document(fmt, [obj], single=True)
    print(text, flush=True)


async def watch(hub_api: KubeClient, query: Query, *, fmt: str | None, since: dict[str, str]) -> None:
    """Print every change after ``since`` (kind → resourceVersion) until interrupted."""

    async def one(info: kinds.KindInfo) -> None:
        version = since[info.kind]
        namespace = query.namespace if info.namespaced else None
        while True:
            try:
                async with contextlib.aclosing(
                    hub_api.watch(
                        info.api_version,
                        info.kind,
                        namespace=namespace,
                        label_selector=query.selector,
                        resource_version=version,
                    )
                ) as events:
                    async for event in events:
                        if event.type == "BOOKMARK":
                            version = event.resource_version or version
                            continue
                        version = event.resource_version or version
                        obj = event.object
                        if query.names and obj.get("metadata", {}).get("name") not in query.names:
                            continue
                        single = {info.kind: ([obj], "")}
                        if fmt not in (None, "wide"):
                            print_watched(obj, fmt)
                            continue
                        text = render_tables(single, query=query, wide=fmt == "wide", headers=False)
                        print(text, flush=True)
            except Gone:
                version = (
                    await hub_api.list(info.api_version, info.kind, namespace=namespace)
                ).resource_version
            except (ConnectionFailed, Timeout):
                await asyncio.sleep(1.0)

    await asyncio.gather(*(one(info) for info in query.kinds))


def add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--namespace", help="only this namespace (default: all namespaces)")
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace (the default)")
    parser.add_argument("-l", "--selector", help="label selector, e.g. env=prod,tier!=db")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "get",
        help="list Waybill objects on the hub (clusters, bindings, works, policies)",
        description="Tables of the fleet as the hub sees it, with kubectl's flags.",
    )
    parser.add_argument(
        "what", nargs="+", metavar="KIND [NAME...]", help="e.g. clusters, work/NAME, rb,works"
    )
    add_selection(parser)
    output.add_output(parser)
    parser.add_argument(
        "-w", "--watch", action="store_true", help="after listing, print changes as they happen"
    )
    add_kubeconfig(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.namespace and args.all_namespaces:
        raise UsageError("-n and -A exclude each other")
    fmt = output.check_format(args.output)
    query = parse_query(args.what, namespace=args.namespace, selector=args.selector)

    async def main(hub_api: KubeClient) -> int:
        objects = await fetch(hub_api, query)
        if not any(items for items, _ in objects.values()) and fmt in (None, "wide"):
            where = f" in namespace {query.namespace}" if query.namespace else ""
            print(f"No resources found{where}.", file=sys.stderr)
        elif args.watch and fmt not in (None, "wide"):
            # As kubectl -w: every object on its own (a line each for jsonpath), then the changes.
            for items, _ in objects.values():
                for obj in items:
                    print_watched(obj, fmt)
        else:
            output.emit(show(objects, query=query, fmt=fmt), fmt)
        if args.watch:
            await watch(hub_api, query, fmt=fmt, since={k: rv for k, (_, rv) in objects.items()})
        return 0

    return run_async(main, args)
