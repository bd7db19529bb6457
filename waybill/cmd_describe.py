"""``waybill describe KIND NAME`` (or ``KIND/NAME``): everything about one member or template.

A member (``cluster``, ``mc``, ``member``...): labels, mode, taints, versions, capacity,
heartbeat, conditions, its Works, what is placed on it, recent Events. A template (any kind
the hub serves, ``deploy/web``) or a binding (``rb``/``crb`` NAME): placement with the reason
for every member chosen or left out, per-member state, drift details, recent Events of the
binding, the template and their Works.
"""

from __future__ import annotations

import argparse
from typing import Any

from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import NotFound
from waybill import cmd_status, connect, describing, kinds, templates
from waybill.connect import add_kubeconfig, run_async
from waybill.errors import CommandFailed, UsageError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "describe",
        help="show details of a member or a template (placement reasons, state, drift, events)",
        description="Details of one member cluster, or of one template and its binding.",
    )
    parser.add_argument("what", nargs="+", metavar="KIND NAME | KIND/NAME")
    parser.add_argument(
        "-n", "--namespace", help="the template's namespace (default: the context's, else default)"
    )
    add_kubeconfig(parser)
    parser.set_defaults(handler=run)


def split(words: list[str]) -> tuple[str, str]:
    if len(words) == 1:
        return kinds.parse_target(words[0], example="cluster/eu1 or deploy/web")
    if len(words) == 2 and "/" not in words[0]:
        return words[0], words[1]
    raise UsageError("describe takes KIND NAME or KIND/NAME (e.g. describe cluster eu1)")


async def _events(
    hub_api: KubeClient, namespace: str | None, wanted: set[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Events in ``namespace`` about any (kind, name) in ``wanted``."""
    try:
        items = (await hub_api.list("v1", "Event", namespace=namespace)).items
    except NotFound:
        return []
    return [
        e
        for e in items
        if ((e.get("involvedObject") or {}).get("kind"), (e.get("involvedObject") or {}).get("name"))
        in wanted
    ]


async def describe_member(hub_api: KubeClient, name: str) -> str:
    found = (
        await hub_api.list(
            names.CLUSTER_API_VERSION, names.KIND_MEMBER_CLUSTER, field_selector=f"metadata.name={name}"
        )
    ).items
    if not found:
        raise CommandFailed(f'membercluster "{name}" not found (see waybill get clusters)')
    member = found[0]
    namespace = member["metadata"]["namespace"]
    try:
        lease = await hub_api.get(
            "coordination.k8s.io/v1", "Lease", name=names.HEARTBEAT_LEASE_NAME, namespace=namespace
        )
    except NotFound:
        lease = None
    works = (await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK, namespace=namespace)).items
    bindings = (await hub_api.list(names.WORK_API_VERSION, names.KIND_RESOURCE_BINDING)).items
    bindings += (await hub_api.list(names.WORK_API_VERSION, names.KIND_CLUSTER_RESOURCE_BINDING)).items
    wanted = {(names.KIND_MEMBER_CLUSTER, name), *((names.KIND_WORK, w["metadata"]["name"]) for w in works)}
    events = await _events(hub_api, namespace, wanted)
    return describing.member_text(member, lease=lease, works=works, bindings=bindings, events=events)


async def describe_binding(hub_api: KubeClient, binding: dict[str, Any]) -> str:
    spec = binding.get("spec") or {}
    resource = spec.get("resource") or {}
    chosen = {c.get("name") for c in spec.get("clusters") or []}
    works = [
        w
        for w in (await hub_api.list(names.WORK_API_VERSION, names.KIND_WORK)).items
        if (w["metadata"].get("labels") or {}).get(names.LABEL_CLUSTER) in chosen
        and describing.carries(w, resource=resource)
    ]
    wanted = {(binding["kind"], binding["metadata"]["name"]), (resource.get("kind"), resource.get("name"))}
    events = await _events(hub_api, binding["metadata"].get("namespace") or "default", wanted)
    for work in works:
        events += await _events(
            hub_api, work["metadata"]["namespace"], {(names.KIND_WORK, work["metadata"]["name"])}
        )
    return describing.binding_text(
        binding, status_text=cmd_status.render(binding), works=works, events=events
    )


async def find_named_binding(
    hub_api: KubeClient, kinds_named: set[str], *, name: str, namespace: str
) -> dict[str, Any]:
    for kind in (names.KIND_RESOURCE_BINDING, names.KIND_CLUSTER_RESOURCE_BINDING):
        if kind not in kinds_named:
            continue
        ns = namespace if kind == names.KIND_RESOURCE_BINDING else None
        try:
            return await hub_api.get(names.WORK_API_VERSION, kind, name=name, namespace=ns)
        except NotFound:
            continue
    raise CommandFailed(f'binding "{name}" not found (see waybill get bindings)')


POLICY_KINDS = (
    names.KIND_PROPAGATION_POLICY,
    names.KIND_CLUSTER_PROPAGATION_POLICY,
    names.KIND_OVERRIDE_POLICY,
    names.KIND_CLUSTER_OVERRIDE_POLICY,
)


async def describe_policy(hub_api: KubeClient, kinds_named: set[str], *, name: str, namespace: str) -> str:
    """A policy: its spec, conditions (the hub's verdict), the bindings it claims, its Events."""
    for kind in POLICY_KINDS:
        if kind not in kinds_named:
            continue
        ns = namespace if not kind.startswith("Cluster") else None
        try:
            policy = await hub_api.get(names.POLICY_API_VERSION, kind, name=name, namespace=ns)
        except NotFound:
            continue
        claimed = []
        if kind in (names.KIND_PROPAGATION_POLICY, names.KIND_CLUSTER_PROPAGATION_POLICY):
            for binding_kind in (names.KIND_RESOURCE_BINDING, names.KIND_CLUSTER_RESOURCE_BINDING):
                for binding in (await hub_api.list(names.WORK_API_VERSION, binding_kind)).items:
                    ref = (binding.get("spec") or {}).get("policy") or {}
                    if (
                        ref.get("kind") == kind
                        and ref.get("name") == name
                        and (ref.get("namespace") or None) == ns
                    ):
                        claimed.append(binding)
        events = await _events(hub_api, ns or "default", {(kind, name)})
        return describing.policy_text(policy, claimed=claimed, events=events)
    raise CommandFailed(f'policy "{name}" not found (see waybill get policies)')


def run(args: argparse.Namespace) -> int:
    word, name = split(args.what)
    loaded = connect.load(args)
    namespace = args.namespace or loaded.namespace or "default"
    waybill_kind = {k.kind for k in kinds.waybill_kinds(word)}

    async def main(hub_api: KubeClient) -> int:
        if names.KIND_MEMBER_CLUSTER in waybill_kind:
            print(await describe_member(hub_api, name))
            return 0
        if waybill_kind & {names.KIND_RESOURCE_BINDING, names.KIND_CLUSTER_RESOURCE_BINDING}:
            binding = await find_named_binding(hub_api, waybill_kind, name=name, namespace=namespace)
            print(await describe_binding(hub_api, binding))
            return 0
        policy_kinds = waybill_kind & set(POLICY_KINDS)
        if policy_kinds:
            print(await describe_policy(hub_api, policy_kinds, name=name, namespace=namespace))
            return 0
        if waybill_kind:
            raise UsageError(
                f"describe shows members, policies, bindings and templates; for {word} use kubectl describe"
            )
        info = await templates.resolve_kind(hub_api, word)
        found = await templates.find_binding(hub_api, info=info, name=name, namespace=namespace)
        if found is None:
            where = f" in namespace {namespace}" if info.namespaced else ""
            raise CommandFailed(
                f"no binding for {info.kind} {name}{where} (is it claimed by a propagation policy?)"
            )
        print(await describe_binding(hub_api, found))
        return 0

    return run_async(main, loaded)
