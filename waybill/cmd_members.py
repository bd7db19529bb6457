"""``waybill cordon|uncordon NAME`` and ``waybill taint clusters NAME KEY[=VALUE]:EFFECT[-]...``.

Taints live in ``MemberCluster.spec.taints`` on the hub; the hub's scheduler keeps policies that
do not tolerate a NoSchedule/NoExecute taint away. Writes carry the resourceVersion they read,
so a concurrent change (the hub's own unreachable taint) is never lost: a conflict is re-read
and retried.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import Conflict
from waybill import kinds, tainting
from waybill.connect import add_kubeconfig, run_async
from waybill.errors import CommandFailed, UsageError

Edit = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


async def find_member(hub_api: KubeClient, name: str) -> dict[str, Any]:
    found = (
        await hub_api.list(
            names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, field_selector=f"metadata.name={name}"
        )
    ).items
    if not found:
        raise CommandFailed(f'membercluster "{name}" not found (see waybill get clusters)')
    return found[0]


async def edit_taints(hub_api: KubeClient, name: str, edit: Edit) -> tuple[list[Any], list[Any]]:
    """(before, after) taints of member ``name`` after ``edit``, retried on conflicts."""
    for _ in range(5):
        member = await find_member(hub_api, name)
        before = list((member.get("spec") or {}).get("taints") or [])
        after = edit(before)
        if after == before:
            return before, after
        meta = member["metadata"]
        try:
            await hub_api.patch(
                names.CLUSTER_API_VERSION,
                names.KIND_MEMBER_CLUSTER,
                name=name,
                namespace=meta["namespace"],
                patch={"metadata": {"resourceVersion": meta["resourceVersion"]}, "spec": {"taints": after}},
            )
            return before, after
        except Conflict:
            continue
    raise CommandFailed(f"membercluster {name} kept changing; try again")


def register(subparsers: Any) -> None:
    for verb, helptext in (
        ("cordon", "mark a member unschedulable (no new placements; nothing is moved)"),
        ("uncordon", "mark a member schedulable again"),
    ):
        parser = subparsers.add_parser(verb, help=helptext, description=helptext)
        parser.add_argument("name", help="the member cluster")
        add_kubeconfig(parser)
        parser.set_defaults(handler=run_cordon, cordon=verb == "cordon")
    taint = subparsers.add_parser(
        "taint",
        help="add or remove taints on a member",
        description="Like kubectl taint: KEY=VALUE:EFFECT adds, KEY:EFFECT- or KEY- removes.",
    )
    taint.add_argument("what", metavar="clusters", help="the kind: clusters (membercluster, mc, ...)")
    taint.add_argument("name", help="the member cluster")
    taint.add_argument("taints", nargs="+", metavar="KEY[=VALUE]:EFFECT[-]")
    taint.add_argument(
        "--overwrite", action="store_true", help="replace a taint with the same key and effect"
    )
    add_kubeconfig(taint)
    taint.set_defaults(handler=run_taint)


def run_cordon(args: argparse.Namespace) -> int:
    change = tainting.TaintChange(
        key=tainting.TAINT_UNSCHEDULABLE, value=None, effect="NoSchedule", remove=not args.cordon
    )

    def edit(taints: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if tainting.cordoned(taints) == args.cordon:
            return taints
        return tainting.apply(taints, [change], overwrite=True)

    async def main(hub_api: KubeClient) -> int:
        before, after = await edit_taints(hub_api, args.name, edit)
        verb = "cordoned" if args.cordon else "uncordoned"
        print(
            f"membercluster/{args.name} {verb}"
            if before != after
            else f"membercluster/{args.name} already {verb}"
        )
        return 0

    return run_async(main, args)


def run_taint(args: argparse.Namespace) -> int:
    if not any(k.kind == names.KIND_MEMBER_CLUSTER for k in kinds.waybill_kinds(args.what)):
        raise UsageError(f"waybill taints members only: waybill taint clusters NAME ... (not {args.what!r})")
    changes = [tainting.parse(spec) for spec in args.taints]

    async def main(hub_api: KubeClient) -> int:
        await edit_taints(
            hub_api, args.name, lambda taints: tainting.apply(taints, changes, overwrite=args.overwrite)
        )
        print(f"membercluster/{args.name} tainted")
        return 0

    return run_async(main, args)
