"""``waybill demo``: an embedded fleet on kubesim converging in front of you.

Starts a hub and three members (eu1, eu2 in region eu; us1 in region us), the hub controller
and one agent per member (eu members in pull mode, us1 in push mode — the same agent), then:

1. applies a Namespace, a ConfigMap and a 6-replica Deployment with a PropagationPolicy that
   divides replicas by static weights (eu1:2, eu2:1, us1:3) and an OverridePolicy that points
   region us at its own image registry;
2. waits until every member runs its share and the hub's Deployment status sums them;
3. scales the template to 9 and times the change reaching every member and coming back;
4. edits the Deployment on a member behind Waybill's back and shows the agent correcting it.

Exit code 0 when every step converged, 1 otherwise. ``--keep`` leaves the fleet running with
kubeconfigs in ``--dir`` for kubectl until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from hub import replicas as hub_replicas
from shared.kube.errors import ApiError
from shared.ops import lifecycle
from shared.ops.logging import configure
from waybill.fleet import Fleet, MemberSpec, start_fleet

NAMESPACE = "shop"
WEIGHTS = {"eu1": 2, "eu2": 1, "us1": 3}
MEMBERS = (
    MemberSpec("eu1", labels={"env": "prod", "region": "eu"}, region="eu", mode="pull"),
    MemberSpec("eu2", labels={"env": "prod", "region": "eu"}, region="eu", mode="pull"),
    MemberSpec("us1", labels={"env": "prod", "region": "us"}, region="us", mode="push"),
)


def sample(replicas: int) -> list[dict[str, Any]]:
    """The demo's templates and policies, as a user would ``kubectl apply`` them on the hub."""
    labels = {"app": "web"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "web-config", "namespace": NAMESPACE, "labels": labels},
            "data": {"greeting": "hello from the hub"},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": NAMESPACE, "labels": labels},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "docker.io/library/nginx:1.27"}]},
                },
            },
        },
        {
            "apiVersion": "policy.waybill.dev/v1alpha1",
            "kind": "PropagationPolicy",
            "metadata": {"name": "web", "namespace": NAMESPACE},
            "spec": {
                "resourceSelectors": [
                    {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                    {"apiVersion": "v1", "kind": "ConfigMap", "labelSelector": {"matchLabels": labels}},
                ],
                "placement": {
                    "clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}},
                    "replicaScheduling": {
                        "replicaSchedulingType": "Divided",
                        "replicaDivisionPreference": "Weighted",
                        "weightPreference": {
                            "staticWeightList": [
                                {"targetCluster": {"clusterNames": [name]}, "weight": weight}
                                for name, weight in WEIGHTS.items()
                            ]
                        },
                    },
                },
            },
        },
        {
            "apiVersion": "policy.waybill.dev/v1alpha1",
            "kind": "OverridePolicy",
            "metadata": {"name": "us-registry", "namespace": NAMESPACE},
            "spec": {
                "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
                "overrideRules": [
                    {
                        "targetCluster": {"labelSelector": {"matchLabels": {"region": "us"}}},
                        "overriders": {
                            "imageOverrider": [
                                {
                                    "component": "Registry",
                                    "operator": "replace",
                                    "value": "registry.us.example",
                                }
                            ]
                        },
                    }
                ],
            },
        },
    ]


def expected_shares(total: int) -> dict[str, int]:
    """What static weights eu1:2, eu2:1, us1:3 give — the hub's own division, for the check."""
    return dict(hub_replicas.divide_by_weights(total, WEIGHTS).replicas)


async def _member_deployment(fleet: Fleet, member: str) -> dict[str, Any] | None:
    try:
        return await fleet.member_apis[member].get("apps/v1", "Deployment", name="web", namespace=NAMESPACE)
    except ApiError:
        return None


async def fleet_rows(fleet: Fleet) -> list[tuple[str, int, int, str]]:
    rows = []
    for member in fleet.members:
        dep = await _member_deployment(fleet, member)
        spec = (dep or {}).get("spec") or {}
        status = (dep or {}).get("status") or {}
        containers = (((spec.get("template") or {}).get("spec") or {}).get("containers")) or [{}]
        rows.append((member, int(spec.get("replicas") or 0), int(status.get("readyReplicas") or 0),
                     str(containers[0].get("image") or "-")))
    return rows


def print_rows(rows: list[tuple[str, int, int, str]]) -> None:
    print(f"    {'MEMBER':<8} {'REPLICAS':>8} {'READY':>6}  IMAGE")
    for member, replicas, ready, image in rows:
        print(f"    {member:<8} {replicas:>8} {ready:>6}  {image}")


async def converged(fleet: Fleet, total: int) -> bool:
    """Every member runs its share, ready, with the right image, and the hub's status sums them."""
    shares = expected_shares(total)
    for member, replicas, ready, image in await fleet_rows(fleet):
        want_registry = "registry.us.example" if member == "us1" else "docker.io"
        if replicas != shares[member] or ready != replicas or not image.startswith(want_registry):
            return False
    template = await fleet.hub_api.get("apps/v1", "Deployment", name="web", namespace=NAMESPACE)
    return int((template.get("status") or {}).get("readyReplicas") or 0) == total


async def wait_until(check: Callable[[], Awaitable[bool]], *, within: float) -> float | None:
    """Seconds until ``check`` held, or None on timeout."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if await check():
            return time.monotonic() - started
        await asyncio.sleep(0.05)
    return None


async def run_demo(
    *, directory: Path, step_timeout: float, keep: bool, stop: asyncio.Event, temporary: bool = False
) -> int:
    print("Waybill demo: a hub and three members on kubesim (embedded Kubernetes API servers)")
    fleet = await start_fleet(MEMBERS, directory=directory)
    try:
        for spec in MEMBERS:
            print(f"  joined {spec.name:<4} labels={spec.labels} mode={spec.mode}")
        print("\n1. apply on the hub: Namespace, ConfigMap, Deployment web (6 replicas),")
        print("   PropagationPolicy (Divided, weights eu1:2 eu2:1 us1:3), OverridePolicy (us registry)")
        for obj in sample(6):
            await fleet.hub_api.apply(obj, field_manager="kubectl", force=True)
        took = await wait_until(lambda: converged(fleet, 6), within=step_timeout)
        print_rows(await fleet_rows(fleet))
        if took is None:
            print(f"   NOT converged within {step_timeout:.0f}s")
            return 1
        print(f"   converged in {took:.2f}s; the hub's Deployment status reports 6/6 ready")

        print("\n2. scale the template on the hub to 9 replicas")
        await fleet.hub_api.patch("apps/v1", "Deployment", name="web", namespace=NAMESPACE,
                                  patch={"spec": {"replicas": 9}})
        took = await wait_until(lambda: converged(fleet, 9), within=step_timeout)
        print_rows(await fleet_rows(fleet))
        if took is None:
            print(f"   NOT converged within {step_timeout:.0f}s")
            return 1
        print(f"   change applied on every member and status back on the hub in {took * 1000:.0f} ms")

        print("\n3. someone edits the Deployment directly on eu1 (image -> evil:latest)")
        await fleet.member_apis["eu1"].patch(
            "apps/v1", "Deployment", name="web", namespace=NAMESPACE, patch_type="strategic",
            patch={"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "evil:latest"}]}}}},
        )
        took = await wait_until(lambda: converged(fleet, 9), within=step_timeout)
        if took is None:
            print("   drift NOT corrected")
            return 1
        print(f"   the eu1 agent corrected the drift in {took * 1000:.0f} ms")
        if keep or not temporary:
            print("\nThe fleet converged. Kubeconfigs (hub, members, agents) are in", directory)
        else:
            # The temporary folder goes with this process: do not send anyone looking for it.
            print("\nThe fleet converged. (--keep keeps it running, --dir DIR keeps its kubeconfigs.)")
        if keep:
            print("Try: kubectl --kubeconfig", directory / "hub.kubeconfig", "get deploy,pp,rb -n", NAMESPACE)
            print("     waybill get clusters --kubeconfig", directory / "hub.kubeconfig")
            print("Serving until interrupted (Ctrl-C).")
            await stop.wait()
        return 0
    finally:
        await fleet.stop()


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run an embedded demo fleet on kubesim and show it converge",
        description="Start a hub and three members on kubesim, run the hub and agents, apply a sample.",
    )
    parser.add_argument("--dir", help="where to write kubeconfigs (default: a temporary directory)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds each step may take (default 60)")
    parser.add_argument("--keep", action="store_true", help="keep the fleet running until interrupted")
    parser.add_argument("--log-level", default="warning", help="hub/agent log level (default warning)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    configure(level=args.log_level)

    async def main(stop: asyncio.Event) -> int:
        options = {"step_timeout": args.timeout, "keep": args.keep, "stop": stop}
        if args.dir:
            return await run_demo(directory=Path(args.dir), **options)
        with tempfile.TemporaryDirectory(prefix="waybill-demo-") as tmp:
            return await run_demo(directory=Path(tmp), temporary=True, **options)

    result = lifecycle.run(main, grace_period=15.0)
    return 1 if result is None else result
