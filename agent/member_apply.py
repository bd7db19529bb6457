"""Writes to the member cluster: prepare a manifest, apply it (SSA or CSA), read it, delete it.

The thin I/O half of applying one manifest; the decisions come from ``takeover.plan_apply``.
A prepared object carries Waybill's labels and an ownerReference to the Work's AppliedWork.
Server-side apply uses field manager ``waybill-agent`` and never sends the fields respected
managers own (an HPA's replicas); it forces ownership of the rest, which is how drift (a
human's ``kubectl edit``) is corrected, unless the Work says ``applyStrategy.force: false``.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Mapping
from typing import Any

from agent import applied_work as aw
from agent import csa, drift, replica_owners
from agent.takeover import STRATEGY_CSA, Action, Strategy
from shared.api import names
from shared.kube.client import KubeClient
from shared.kube.errors import AlreadyExists, NotFound
from shared.kube.types import ResourceInfo
from shared.ops.logging import get_logger
from shared.runtime.crds import CRD_API, wait_established

_log = get_logger("agent.member_apply")

_SERVER_FIELDS = (
    "uid",
    "resourceVersion",
    "managedFields",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)


def prepare(
    manifest: Mapping[str, Any],
    *,
    info: ResourceInfo,
    applied_work: Mapping[str, Any],
    work_namespace: str,
    work_name: str,
) -> dict[str, Any]:
    """The object the agent writes for ``manifest``: labels, ownerReference, no server fields."""
    obj = copy.deepcopy(dict(manifest))
    obj.pop("status", None)
    meta = obj.setdefault("metadata", {})
    for key in _SERVER_FIELDS:
        meta.pop(key, None)
    if info.namespaced:
        meta["namespace"] = meta.get("namespace") or "default"
    else:
        meta.pop("namespace", None)
    labels = meta.setdefault("labels", {})
    labels[names.LABEL_MANAGED_BY] = names.MANAGED_BY_VALUE
    labels[names.LABEL_WORK_NAMESPACE] = work_namespace
    labels[names.LABEL_WORK_NAME] = work_name[:63]
    owner = aw.owner_reference(applied_work)
    refs = [r for r in meta.get("ownerReferences") or [] if r.get("uid") != owner["uid"]]
    meta["ownerReferences"] = [*refs, owner]
    return obj


_NAMESPACE_CONTENT = (
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "ServiceAccount"),
    ("v1", "Service"),
    ("v1", "Pod"),
    ("v1", "PersistentVolumeClaim"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
)
_NAMESPACE_DEFAULTS = {("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")}


class MemberApplier:
    """The agent's writes to its member cluster (``member_api``)."""

    def __init__(self, member_api: KubeClient, *, field_manager: str) -> None:
        self.member_api = member_api
        self.field_manager = field_manager
        # namespace -> the live namespace as last read, created or relabelled (which Work created
        # it is its annotation: one cache for every Work, so no Work's answer is another's)
        self._namespaces: dict[str, dict[str, Any]] = {}

    async def get_live(
        self, api_version: str, kind: str, *, name: str, namespace: str | None
    ) -> dict[str, Any] | None:
        try:
            return await self.member_api.get(api_version, kind, name=name, namespace=namespace)
        except NotFound:
            return None

    async def write(
        self,
        prepared: Mapping[str, Any],
        live: Mapping[str, Any] | None,
        *,
        action: Action,
        strategy: Strategy,
    ) -> dict[str, Any]:
        """Apply ``prepared`` as the plan says; the live object afterwards."""
        if strategy.type == STRATEGY_CSA:  # no field ownership: keep the count a member-side owner set
            retained = replica_owners.retain_replicas(prepared, live, action.respected)
            return await self._client_side_apply(retained, live)
        body = drift.strip_fields(prepared, action.respected)
        force = True if strategy.force is None else strategy.force
        return await self.member_api.apply(body, field_manager=self.field_manager, force=force)

    async def _client_side_apply(
        self, prepared: Mapping[str, Any], live: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        meta = prepared.get("metadata") or {}
        if live is None:
            try:
                return await self.member_api.create(
                    csa.with_last_applied(prepared), field_manager=self.field_manager
                )
            except AlreadyExists:
                live = await self.get_live(
                    str(prepared["apiVersion"]),
                    str(prepared["kind"]),
                    name=str(meta.get("name")),
                    namespace=meta.get("namespace"),
                )
                if live is None:
                    raise
        return await self.member_api.patch(
            str(prepared["apiVersion"]),
            str(prepared["kind"]),
            name=str(meta.get("name")),
            namespace=meta.get("namespace"),
            patch=csa.merge_patch(prepared, live),
            patch_type="merge",
            field_manager=self.field_manager,
        )

    async def ensure_namespace(
        self, namespace: str, *, work_key: str, template: Mapping[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Create ``namespace`` if it is missing, annotated as created for ``work_key``.

        ``template`` is the hub's description of it (``work.waybill.dev/namespaces``: labels,
        annotations, spec, overrides applied): it is created from it, and while this Work is the one
        that created it, its labels and annotations are brought back to it. Returns the namespace
        when this Work created it (now, or on an earlier pass: the annotation says so), None when it
        belongs to someone else (left as it is).
        """
        live = self._namespaces.get(namespace)
        if live is None:
            live = await self._read_or_create(namespace, work_key=work_key, template=template)
            if live is None:
                return None
            self._namespaces[namespace] = live
        annotations = (live.get("metadata") or {}).get("annotations") or {}
        ours = live if annotations.get(names.ANNOTATION_CREATED_NAMESPACE) == work_key else None
        if ours is not None and template is not None and not _carries(ours, template):
            ours = await self._relabel(ours, template)
            self._namespaces[namespace] = ours
        return ours

    async def _read_or_create(
        self, namespace: str, *, work_key: str, template: Mapping[str, Any] | None
    ) -> dict[str, Any] | None:
        live = await self.get_live("v1", "Namespace", name=namespace, namespace=None)
        if live is None:
            wanted = (template or {}).get("metadata") or {}
            body: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": namespace,
                    "labels": {
                        **(wanted.get("labels") or {}),
                        names.LABEL_MANAGED_BY: names.MANAGED_BY_VALUE,
                    },
                    "annotations": {
                        **(wanted.get("annotations") or {}),
                        names.ANNOTATION_CREATED_NAMESPACE: work_key,
                    },
                },
            }
            if (template or {}).get("spec"):
                body["spec"] = (template or {})["spec"]
            try:
                live = await self.member_api.create(body, field_manager=self.field_manager)
                _log.info("member.namespace.created", namespace=namespace, work=work_key)
            except AlreadyExists:
                live = await self.get_live("v1", "Namespace", name=namespace, namespace=None)
        return live

    async def _relabel(self, live: dict[str, Any], template: Mapping[str, Any]) -> dict[str, Any]:
        """Bring the labels and annotations of a namespace this agent created to the hub's."""
        wanted = template.get("metadata") or {}
        patch = {
            "metadata": {
                "labels": dict(wanted.get("labels") or {}),
                "annotations": dict(wanted.get("annotations") or {}),
            }
        }
        name = str((live.get("metadata") or {}).get("name"))
        updated = await self.member_api.patch(
            "v1", "Namespace", name=name, patch=patch, field_manager=self.field_manager
        )
        _log.info("member.namespace.relabelled", namespace=name)
        return updated

    def created_namespace(self, namespace: str) -> dict[str, Any] | None:
        """The namespace as last seen, if a Work of this agent created it (see ``ensure_namespace``)."""
        live = self._namespaces.get(namespace)
        annotations = ((live or {}).get("metadata") or {}).get("annotations") or {}
        return live if names.ANNOTATION_CREATED_NAMESPACE in annotations else None

    def forget_namespace(self, namespace: str) -> None:
        self._namespaces.pop(namespace, None)

    async def namespace_in_use(self, namespace: str) -> bool:
        """Whether anything besides the defaults Kubernetes puts there lives in ``namespace``."""
        for api_version, kind in _NAMESPACE_CONTENT:
            try:
                items = (await self.member_api.list(api_version, kind, namespace=namespace)).items
            except NotFound:
                continue
            for item in items:
                meta = item.get("metadata") or {}
                if (kind, meta.get("name")) in _NAMESPACE_DEFAULTS:
                    continue
                if kind == "Secret" and item.get("type") == "kubernetes.io/service-account-token":
                    continue
                return True
        return False

    async def delete(
        self, record: Mapping[str, Any], *, applied_work_name: str, live: Mapping[str, Any] | None = None
    ) -> bool:
        """Delete the recorded resource if the live one (read unless given) is the one applied.

        UID-checked, and the delete carries the UID as a precondition.
        """
        api_version = aw.api_version_of(record)
        kind, name = str(record.get("kind")), str(record.get("name"))
        namespace = record.get("namespace") or None
        try:
            if live is None:
                live = await self.get_live(api_version, kind, name=name, namespace=namespace)
        except NotFound:  # the kind itself is gone (its CRD was removed)
            return True
        if live is None:
            return True
        if not aw.may_delete(record, live, applied_work_name=applied_work_name):
            _log.warning("member.delete.skipped_foreign", kind=kind, name=name, namespace=namespace)
            return False
        uid = str((live.get("metadata") or {}).get("uid") or "")
        with contextlib.suppress(NotFound):
            await self.member_api.delete(
                api_version,
                kind,
                name=name,
                namespace=namespace,
                propagation_policy="Background",
                preconditions={"uid": uid},
            )
        return True

    async def orphan(
        self,
        record: Mapping[str, Any],
        *,
        applied_work: Mapping[str, Any],
        live: Mapping[str, Any] | None = None,
    ) -> None:
        """Leave the resource on the member: drop the ownerReference (so GC keeps it) and Waybill's labels."""
        api_version = aw.api_version_of(record)
        kind, name = str(record.get("kind")), str(record.get("name"))
        namespace = record.get("namespace") or None
        try:
            if live is None:
                live = await self.get_live(api_version, kind, name=name, namespace=namespace)
        except NotFound:
            return
        if live is None or not aw.may_delete(
            record, live, applied_work_name=str(applied_work["metadata"]["name"])
        ):
            return
        meta = live.get("metadata") or {}
        owner_uid = (applied_work.get("metadata") or {}).get("uid")
        refs = [r for r in meta.get("ownerReferences") or [] if r.get("uid") != owner_uid]
        patch = {
            "metadata": {
                "ownerReferences": refs or None,
                "labels": {
                    names.LABEL_WORK_NAME: None,
                    names.LABEL_WORK_NAMESPACE: None,
                    names.LABEL_MANAGED_BY: None,
                },
                "resourceVersion": meta.get("resourceVersion"),
            }
        }
        await self.member_api.patch(
            api_version, kind, name=name, namespace=namespace, patch=patch, patch_type="merge"
        )

    async def wait_established(self, crd_name: str, *, within: float) -> bool:
        """Wait (polling, bounded) until the CRD reports Established."""

        async def live() -> dict[str, Any] | None:
            return await self.get_live(CRD_API, "CustomResourceDefinition", name=crd_name, namespace=None)

        return await wait_established(live, within=within)


def _carries(live: Mapping[str, Any], template: Mapping[str, Any]) -> bool:
    """Whether a namespace has every label and annotation the hub's description gives it."""
    meta = live.get("metadata") or {}
    wanted = template.get("metadata") or {}
    return all(
        (meta.get(key) or {}).get(k) == v
        for key in ("labels", "annotations")
        for k, v in (wanted.get(key) or {}).items()
    )
