"""``waybill promote KIND/NAME --cluster C --member-kubeconfig F [--deps]``: adopt a workload that
already runs on a member (see :mod:`waybill.promoting` for what is copied and why).

Reads the object (and with ``--deps`` what its pod template references) from the member,
creates it on the hub as a template plus a PropagationPolicy pinned to that member, then waits
until the member's agent has applied it and reports the member object's UID and generation
before and after — the proof that nothing was deleted or re-created.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from typing import Any

import yaml

from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists, NotFound
from waybill import connect, kinds, kubeconfigs, promoting, templates
from waybill.connect import add_kubeconfig
from waybill.errors import CommandFailed, UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "promote",
        help="adopt a workload running on a member (no delete, no re-create)",
        description="Copy an object from a member to the hub as a template with a policy pinned to "
        "that member; its agent takes the running object over in place.",
    )
    parser.add_argument("target", metavar="KIND/NAME", help="e.g. deploy/web")
    parser.add_argument("--cluster", "-c", required=True, help="the member the object runs on")
    parser.add_argument(
        "-n", "--namespace", help="the object's namespace (default: the member context's, else default)"
    )
    parser.add_argument("--member-kubeconfig", required=True, help="kubeconfig of the member cluster")
    parser.add_argument("--member-context", help="context in --member-kubeconfig")
    parser.add_argument(
        "-d",
        "--deps",
        action="store_true",
        help="also promote the ConfigMaps, Secrets, ServiceAccounts and PVCs it references",
    )
    parser.add_argument("--policy-name", help="name of the PropagationPolicy (default promote-KIND-NAME)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be created on the hub; write nothing"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=60.0,
        help="seconds to wait for the agent to take over (0: do not wait; default 60)",
    )
    add_kubeconfig(parser)
    parser.set_defaults(handler=run)


async def _get_or_none(api: KubeClient, api_version: str, kind: str, name: str, namespace: str | None) -> Any:
    try:
        return await api.get(api_version, kind, name=name, namespace=namespace)
    except NotFound:
        return None


async def _member_namespace(hub_api: KubeClient, cluster: str) -> str:
    found = (await hub_api.list("v1", "Namespace", label_selector=f"{names.LABEL_MEMBER}={cluster}")).items
    if not found:
        raise CommandFailed(f"{cluster!r} is not a member of this hub (see waybill get clusters)")
    return str(sorted(n["metadata"]["name"] for n in found)[0])


async def _work_applied(hub_api: KubeClient, *, member_namespace: str, objects: list[dict[str, Any]]) -> bool:
    """Whether a Work in the member namespace carries every object and is Applied."""
    wanted = {(o["kind"], o["metadata"]["name"]) for o in objects}
    covered: set[tuple[Any, Any]] = set()
    for work in (
        await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace=member_namespace)
    ).items:
        conditions = (work.get("status") or {}).get("conditions") or []
        applied = any(
            c.get("type") == names.CONDITION_APPLIED
            and c.get("status") == "True"
            and c.get("observedGeneration", work["metadata"].get("generation"))
            == work["metadata"].get("generation")
            for c in conditions
        )
        if not applied:
            continue
        for manifest in ((work.get("spec") or {}).get("workload") or {}).get("manifests") or []:
            covered.add((manifest.get("kind"), (manifest.get("metadata") or {}).get("name")))
    return wanted <= covered


async def promote(
    hub_api: KubeClient, member_api: KubeClient, args: argparse.Namespace, *, namespace: str
) -> int:
    word, name = kinds.parse_target(args.target)
    info = await templates.resolve_kind(member_api, word)
    ns = namespace if info.namespaced else None
    live = await _get_or_none(member_api, info.api_version, info.kind, name, ns)
    if live is None:
        where = f" in namespace {ns}" if ns else ""
        raise CommandFailed(f"{info.kind} {name} not found on {args.cluster}{where}")
    if promoting.waybill_managed(live):
        raise CommandFailed(f"{info.kind} {name} on {args.cluster} is already managed by Waybill")
    member_namespace = await _member_namespace(hub_api, args.cluster)
    members = [live]
    if args.deps:
        for dep in promoting.dependencies(live):
            obj = await _get_or_none(member_api, dep.api_version, dep.kind, dep.name, ns)
            if obj is None:
                print(
                    f"warning: {dep.kind} {dep.name} is referenced but not on {args.cluster}; skipped",
                    file=sys.stderr,
                )
                continue
            members.append(obj)
    new_templates = [promoting.as_template(o, cluster=args.cluster) for o in members]
    policy = promoting.pinned_policy(
        templates=new_templates,
        cluster=args.cluster,
        namespace=ns,
        name=args.policy_name or promoting.policy_name(info.kind, name),
    )
    for template in new_templates:
        exists = await _get_or_none(
            hub_api, template["apiVersion"], template["kind"], template["metadata"]["name"], ns
        )
        if exists is not None:
            raise CommandFailed(
                f"{template['kind']} {template['metadata']['name']} already exists on the hub; "
                "nothing to promote (edit the hub's template instead)"
            )
    if args.dry_run:
        print(yaml.safe_dump_all([*new_templates, policy], sort_keys=False).rstrip())
        return 0
    before = {
        (o["kind"], o["metadata"]["name"]): (o["metadata"]["uid"], o["metadata"].get("generation"))
        for o in members
    }
    if ns:
        with contextlib.suppress(AlreadyExists):
            await hub_api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for template in new_templates:
        await hub_api.create(template, field_manager=promoting.FIELD_MANAGER)
    try:
        await hub_api.create(policy, field_manager=promoting.FIELD_MANAGER)
    except AlreadyExists as exc:
        raise CommandFailed(
            f"{policy['kind']} {policy['metadata']['name']} already exists on the hub; pass --policy-name"
        ) from exc
    print(
        "promoted " + ", ".join(f"{o['kind']} {o['metadata']['name']}" for o in new_templates) + " "
        f"from {args.cluster} ({policy['kind']} {policy['metadata']['name']})"
    )
    if args.wait <= 0:
        return 0
    deadline = time.monotonic() + args.wait
    while not await _work_applied(hub_api, member_namespace=member_namespace, objects=new_templates):
        if time.monotonic() > deadline:
            raise CommandFailed(
                f"the agent of {args.cluster} has not applied the promoted objects within {args.wait:.0f}s "
                f"(see waybill status {info.kind.lower()}/{name}" + (f" -n {ns})" if ns else ")")
            )
        await asyncio.sleep(0.3)
    code = 0
    for obj in members:
        kind, obj_name = obj["kind"], obj["metadata"]["name"]
        now = await _get_or_none(member_api, obj["apiVersion"], kind, obj_name, ns)
        uid, generation = before[(kind, obj_name)]
        if now is None or now["metadata"]["uid"] != uid:
            print(f"error: {kind} {obj_name} on {args.cluster} was re-created (uid changed)", file=sys.stderr)
            code = 1
            continue
        print(
            f"  {kind} {obj_name}: adopted in place (uid {uid}, generation {generation} -> "
            f"{now['metadata'].get('generation')})"
        )
    return code


def run(args: argparse.Namespace) -> int:
    kinds.parse_target(args.target)
    member = kubeconfigs.load(args.member_kubeconfig, context=args.member_context)
    hub = connect.load(args)
    if member.server and member.server == hub.server:
        raise UsageError("--member-kubeconfig points at the hub itself; give the member's kubeconfig")
    namespace = args.namespace or member.namespace or "default"

    async def main(hub_api: KubeClient) -> int:
        member_api = await connect.client_for(member, name="member")
        try:
            return await promote(hub_api, member_api, args, namespace=namespace)
        finally:
            await member_api.close()

    return connect.run_async(main, hub)
