"""Test helpers: render the charts with real Helm, apply what they render to kubesim, record access.

Helm comes from the ``helm-python-sdk`` wheel (Helm's own Go SDK as a shared library, in the
``[test]`` extra); where it cannot be imported the chart tests skip with that reason.
``AccessLog`` wraps a kubesim server's authorizer, so a test sees every request an identity
made and every one it was denied.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim import SimServer
from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists

ROOT = Path(__file__).resolve().parents[2]
CHARTS = ROOT / "charts"


def helm() -> Any:
    """The ``helm_python`` module, or skip the test naming why it is missing."""
    try:
        import helm_python
    except (ImportError, OSError) as exc:  # OSError: the native library failed to load
        pytest.skip(f"no Helm implementation: helm-python-sdk not importable ({exc})")
    return helm_python


def render(
    chart: str, values: Mapping[str, Any] | None = None, *, release: str, namespace: str
) -> list[dict[str, Any]]:
    """The objects Helm renders for ``chart`` with ``values`` (NOTES.txt left out)."""
    with helm().Chart.load(str(CHARTS / chart)) as loaded:
        manifests = loaded.render(dict(values or {}), name=release, namespace=namespace, is_install=True)
    objects: list[dict[str, Any]] = []
    for path, text in sorted(manifests.items()):
        if path.endswith("NOTES.txt"):
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return objects


def notes(chart: str, values: Mapping[str, Any] | None = None, *, release: str, namespace: str) -> str:
    with helm().Chart.load(str(CHARTS / chart)) as loaded:
        manifests = loaded.render(dict(values or {}), name=release, namespace=namespace, is_install=True)
    return next(text for path, text in manifests.items() if path.endswith("NOTES.txt"))


def chart_crds(chart: str) -> list[dict[str, Any]]:
    """The CRDs Helm installs from the chart's crds/ directory."""
    return [yaml.safe_load(p.read_text()) for p in sorted((CHARTS / chart / "crds").glob("*.yaml"))]


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == kind]


async def install(
    admin: KubeClient, objects: list[dict[str, Any]], *, namespace: str, crds: list[dict[str, Any]]
) -> None:
    """What ``helm install --create-namespace`` does, in its order: namespace, CRDs, then objects."""
    with contextlib.suppress(AlreadyExists):
        await admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for crd in crds:
        with contextlib.suppress(AlreadyExists):
            await admin.create(crd)
    for obj in objects:
        await admin.create(obj)


@dataclass(frozen=True, slots=True)
class Access:
    user: str
    verb: str
    group: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str | None
    allowed: bool

    @property
    def what(self) -> str:
        resource = self.resource + (f"/{self.subresource}" if self.subresource else "")
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.verb} {self.group or 'core'}/{resource}{where} {self.name or ''}".rstrip()


@dataclass
class AccessLog:
    """Every authorization decision a kubesim server made, by user."""

    entries: list[Access] = field(default_factory=list)

    def of(self, user: str) -> list[Access]:
        return [a for a in self.entries if a.user == user]

    def denied(self, user: str | None = None) -> list[str]:
        return sorted({a.what for a in self.entries if not a.allowed and (user is None or a.user == user)})


@contextlib.contextmanager
def recording(server: SimServer, log: AccessLog) -> Iterator[AccessLog]:
    authz = server.authz
    original = authz.authorize

    def authorize(**kw: Any) -> tuple[bool, str]:
        allowed, reason = original(**kw)
        log.entries.append(
            Access(
                user=kw["user"].name,
                verb=kw["verb"],
                group=kw["api_group"],
                resource=kw["resource"],
                subresource=kw["subresource"],
                namespace=kw["namespace"],
                name=kw["name"],
                allowed=allowed,
            )
        )
        return allowed, reason

    authz.authorize = authorize  # type: ignore[method-assign]
    try:
        yield log
    finally:
        del authz.authorize


async def service_account_kubeconfig(
    server: SimServer, admin: KubeClient, *, namespace: str, name: str, path: Path, seconds: int = 3600
) -> Path:
    """A kubeconfig for ServiceAccount ``namespace/name`` with a TokenRequest token (what a pod mounts)."""
    answer = await admin.create_subresource(
        "v1",
        "ServiceAccount",
        name=name,
        namespace=namespace,
        subresource="token",
        body={
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"expirationSeconds": seconds},
        },
    )
    return server.write_kubeconfig(path, token=str(answer["status"]["token"]), user=f"{namespace}-{name}")


def sa_user(namespace: str, name: str) -> str:
    return f"system:serviceaccount:{namespace}:{name}"
