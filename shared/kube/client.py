"""KubeClient: Waybill's Kubernetes client over unstructured dicts.

The only module in Waybill that imports kubernetes-asyncio. It borrows that library's kubeconfig
and in-cluster loading and its ``ApiClient`` (auth, TLS, connection pool), and sends raw REST
requests through it (``_preload_content=False``), so objects go in and out as plain dicts. Every
request has a timeout and runs in a bounded retry loop driven by the pure
:func:`shared.kube.retry.decide_retry`; failures surface as :mod:`shared.kube.errors`.
Request building is pure (:mod:`shared.kube.requests`), discovery cached per client
(:mod:`shared.kube.discovery`).
"""

from __future__ import annotations

import asyncio
import random
import time
import urllib.parse
import urllib.request
from collections.abc import AsyncGenerator, Mapping
from pathlib import Path
from typing import Any, cast

import aiohttp
import yaml
from kubernetes_asyncio import client as k8s_client
from kubernetes_asyncio import config as k8s_config

from shared.kube.discovery import DiscoveryCache, discovery_path, group_versions, parse_resource_list
from shared.kube.errors import AlreadyExists, ApiError, ConfigError, Gone, Timeout, status_error
from shared.kube.requests import (
    PATCH_CONTENT_TYPES,
    KubeRequest,
    PatchType,
    delete_options,
    list_query,
    resource_path,
    write_query,
)
from shared.kube.responses import (
    decode_body,
    object_identity,
    parse_event,
    retry_after,
    same_content,
    transport_error,
)
from shared.kube.retry import DEFAULT_POLICY, RetryPolicy, decide_retry, with_jitter
from shared.kube.types import (
    ApiGroupResources,
    Obj,
    ObjectList,
    ResourceInfo,
    ServerVersion,
    WatchEvent,
)
from shared.ops.logging import get_logger
from shared.ops.metrics import counter, histogram

__all__ = ["KubeClient"]

_log = get_logger("shared.kube.client")

_REQUESTS = counter("kube_requests_total", "Kubernetes API requests by client, verb and code",
                    labels=("client", "method", "code"))
_RETRIES = counter("kube_request_retries_total", "Kubernetes API request retries by client and reason",
                   labels=("client", "reason"))
_WATCH_SILENT = counter("kube_watch_silent_total",
                        "Watch streams ended by the client after its read deadline (stalled or quiet)",
                        labels=("client",))
_LATENCY = histogram("kube_request_duration_seconds", "Kubernetes API request latency (one attempt)",
                     labels=("client", "method"))

_CONFIG_ERRORS = (k8s_config.ConfigException, yaml.YAMLError, OSError, ValueError, KeyError, TypeError)
DEFAULT_PAGE_SIZE = 500
DEFAULT_WATCH_SECONDS = 300
WATCH_GRACE_SECONDS = 5.0
# The read deadline of a watch stream: silent this long, it is taken as stalled and ended, so the
# caller resumes from its last resourceVersion. kubesim sends bookmarks every 10 s and
# kube-apiserver about once a minute, so a healthy but quiet stream is at worst restarted (no
# relist) every 25 s, while a dead one (connection open, no bytes) is noticed within 30 s.
WATCH_STALL_SECONDS = 25.0


def _without_body_walk(api_client: Any) -> None:
    """Send request bodies as they are, without kubernetes-asyncio's per-request walk over them.

    ``ApiClient.sanitize_for_serialization`` turns generated models and datetimes into JSON
    types by copying every dict and list of a body, before ``json.dumps`` walks it again. Waybill
    sends only JSON-decoded dicts and lists, so that walk is pure cost — about four times the
    ``json.dumps`` of the same body (~45 ms for the status of a 1,000-manifest Work). Dicts and
    lists (bodies, headers, query parameters) now pass as they are; anything else still takes
    the library's path.
    """
    original = getattr(api_client, "sanitize_for_serialization", None)
    if original is None:
        return

    def as_is(obj: Any) -> Any:
        return obj if isinstance(obj, (dict, list)) else original(obj)

    api_client.sanitize_for_serialization = as_is


def _without_per_request_env_lookups(api_client: Any) -> None:
    """Stop aiohttp looking up ``~/.netrc`` and the proxy variables in a thread for every request.

    kubernetes-asyncio opens its aiohttp session with ``trust_env=True``, and aiohttp then runs
    two thread-pool jobs per request (a netrc lookup, then the proxy environment), the main cost
    on the request path after the request itself (``docs/performance.md``). Kubernetes clients
    take credentials from the kubeconfig, never from netrc; the proxy environment is read once
    here instead: when a proxy from the environment applies to this API server (and none is
    configured), the session is left as it is, so such setups behave exactly as before.
    """
    rest = getattr(api_client, "rest_client", None)
    session = getattr(rest, "pool_manager", None)
    if session is None or not getattr(session, "_trust_env", False):
        return
    if getattr(rest, "proxy", None) is None:
        configuration = getattr(api_client, "configuration", None)
        url = urllib.parse.urlsplit(str(getattr(configuration, "host", "") or ""))
        proxies = urllib.request.getproxies()
        if url.scheme in proxies and not urllib.request.proxy_bypass(url.hostname or ""):
            return  # a proxy from the environment applies: aiohttp keeps finding it per request
    session._trust_env = False


class KubeClient:
    """An async client for one API server; build it with ``from_kubeconfig``/``from_incluster``.

    ``name`` labels its metrics and logs (``hub``, ``member``); ``request_timeout`` bounds each
    attempt; ``retry_policy`` bounds the retries. Close it with ``await client.close()``.
    """

    def __init__(
        self,
        api_client: Any,
        *,
        name: str = "kube",
        retry_policy: RetryPolicy = DEFAULT_POLICY,
        request_timeout: float = 30.0,
    ) -> None:
        self._api = api_client
        _without_body_walk(api_client)
        _without_per_request_env_lookups(api_client)
        self.name = name
        self.retry_policy = retry_policy
        self.request_timeout = request_timeout
        self._discovery = DiscoveryCache(self._fetch_discovery)

    # ---- construction -------------------------------------------------------------------

    @classmethod
    async def from_kubeconfig(
        cls,
        path: str | Path | None = None,
        *,
        context: str | None = None,
        name: str = "kube",
        retry_policy: RetryPolicy = DEFAULT_POLICY,
        request_timeout: float = 30.0,
    ) -> KubeClient:
        """A client for the kubeconfig at ``path`` (default ``~/.kube/config``), its ``context``."""
        configuration = k8s_client.Configuration()
        try:
            await k8s_config.load_kube_config(
                config_file=str(path) if path is not None else None,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
        except _CONFIG_ERRORS as exc:
            raise ConfigError(f"kubeconfig {path or '~/.kube/config'}: {exc}") from exc
        return cls(k8s_client.ApiClient(configuration=configuration), name=name,
                   retry_policy=retry_policy, request_timeout=request_timeout)

    @classmethod
    async def from_kubeconfig_dict(
        cls,
        kubeconfig: Mapping[str, Any],
        *,
        context: str | None = None,
        name: str = "kube",
        retry_policy: RetryPolicy = DEFAULT_POLICY,
        request_timeout: float = 30.0,
    ) -> KubeClient:
        """A client for a kubeconfig already parsed into a dict (e.g. read from a Secret)."""
        configuration = k8s_client.Configuration()
        try:
            await k8s_config.load_kube_config_from_dict(
                config_dict=dict(kubeconfig), context=context, client_configuration=configuration
            )
        except _CONFIG_ERRORS as exc:
            raise ConfigError(f"kubeconfig: {exc}") from exc
        return cls(k8s_client.ApiClient(configuration=configuration), name=name,
                   retry_policy=retry_policy, request_timeout=request_timeout)

    @classmethod
    async def from_incluster(
        cls,
        *,
        name: str = "kube",
        retry_policy: RetryPolicy = DEFAULT_POLICY,
        request_timeout: float = 30.0,
    ) -> KubeClient:
        """A client from the pod's service account (in-cluster config)."""
        configuration = k8s_client.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
        except (k8s_config.ConfigException, OSError) as exc:
            raise ConfigError(f"in-cluster configuration: {exc}") from exc
        return cls(k8s_client.ApiClient(configuration=configuration), name=name,
                   retry_policy=retry_policy, request_timeout=request_timeout)

    @property
    def host(self) -> str:
        """The server URL this client talks to."""
        return str(self._api.configuration.host)

    def set_bearer_token(self, token: str) -> None:
        """Authenticate every request from now on with ``token`` (a rotated ServiceAccount token)."""
        self._api.configuration.api_key["BearerToken"] = f"Bearer {token}"

    async def close(self) -> None:
        """Close the connection pool."""
        await self._api.close()

    async def __aenter__(self) -> KubeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- transport ----------------------------------------------------------------------

    async def _open(self, req: KubeRequest, *, client_timeout: aiohttp.ClientTimeout) -> Any:
        """Send ``req``; the raw aiohttp response (any status). Transport errors mapped."""
        headers = {"Content-Type": req.content_type, "Accept": "application/json"}
        try:
            return await self._api.call_api(
                req.path,
                req.method,
                query_params=list(req.query),
                header_params=headers,
                body=req.body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=client_timeout,
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise transport_error(exc) from exc

    async def _send_once(self, req: KubeRequest) -> Any:
        """One attempt: the decoded 2xx body, or the mapped error."""
        started = time.monotonic()
        code = "error"
        try:
            async with asyncio.timeout(self.request_timeout + 1.0):
                resp = await self._open(
                    req, client_timeout=aiohttp.ClientTimeout(total=self.request_timeout)
                )
                try:
                    data = await resp.read()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    raise transport_error(exc) from exc
                finally:
                    resp.release()
            code = str(resp.status)
            body = decode_body(data)
            if 200 <= resp.status < 300:
                return body
            raise status_error(resp.status, body if isinstance(body, dict) else None,
                               retry_after=retry_after(resp.headers))
        except TimeoutError as exc:
            raise Timeout("request timed out") from exc
        finally:
            _REQUESTS.labels(self.name, req.method, code).inc()
            _LATENCY.labels(self.name, req.method).observe(time.monotonic() - started)

    async def _request(
        self,
        req: KubeRequest,
        *,
        ambiguous_ok: bool = False,
        failures: list[ApiError] | None = None,
    ) -> Any:
        """``req`` with bounded retries; ``failures`` collects the errors that were retried."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._send_once(req)
            except ApiError as err:
                decision = decide_retry(
                    err, attempt, idempotent=req.idempotent, ambiguous_ok=ambiguous_ok,
                    policy=self.retry_policy,
                )
                if not decision.retry:
                    raise
                if failures is not None:
                    failures.append(err)
                delay = with_jitter(decision.delay, fraction=self.retry_policy.jitter, sample=random.random())
                _RETRIES.labels(self.name, decision.reason).inc()
                _log.debug("kube.request.retry", client=self.name, method=req.method, path=req.path,
                           attempt=attempt, status=err.status, reason=err.reason, delay=round(delay, 3))
                await asyncio.sleep(delay)

    async def _fetch_discovery(self, path: str) -> dict[str, Any] | None:
        try:
            body = await self._request(KubeRequest(method="GET", path=path))
        except ApiError as err:
            if err.status == 404:
                return None
            raise
        return cast(dict[str, Any], body)

    # ---- discovery ----------------------------------------------------------------------

    async def resource_info(self, api_version: str, kind: str) -> ResourceInfo:
        """Discovery entry for a kind (cached; refreshed once when missing); ``NotFound`` if unserved."""
        return await self._discovery.resource_info(api_version, kind)

    def invalidate_discovery(self, api_version: str | None = None) -> None:
        """Drop cached discovery (one group/version, or all)."""
        self._discovery.invalidate(api_version)

    async def server_version(self) -> ServerVersion:
        """The server's ``/version``."""
        body = await self._request(KubeRequest(method="GET", path="/version"))
        return ServerVersion(
            major=str(body.get("major", "")),
            minor=str(body.get("minor", "")),
            git_version=str(body.get("gitVersion", "")),
            platform=str(body.get("platform", "")),
        )

    async def api_resources(self) -> list[ApiGroupResources]:
        """Every served group/version with its resources (subresources folded in)."""
        core = await self._request(KubeRequest(method="GET", path="/api"))
        groups = await self._request(KubeRequest(method="GET", path="/apis"))
        versions = group_versions(core, groups)
        bodies = await asyncio.gather(*(self._fetch_discovery(discovery_path(gv)) for gv in versions))
        out: list[ApiGroupResources] = []
        for gv, body in zip(versions, bodies, strict=True):
            resources = parse_resource_list(gv, body) if body else {}
            self._discovery.store(gv, resources)
            out.append(ApiGroupResources(group_version=gv, resources=tuple(resources.values())))
        return out

    # ---- reads --------------------------------------------------------------------------

    async def get(self, api_version: str, kind: str, *, name: str, namespace: str | None = None) -> Obj:
        """The object; ``NotFound`` if missing."""
        info = await self.resource_info(api_version, kind)
        path = resource_path(info, namespace=namespace, name=name)
        return cast(Obj, await self._request(KubeRequest(method="GET", path=path)))

    async def list(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> ObjectList:
        """All matching objects (every page) and the list's resourceVersion.

        ``namespace=None`` lists a namespaced kind across all namespaces. Items get their
        ``apiVersion``/``kind`` filled in.
        """
        info = await self.resource_info(api_version, kind)
        path = resource_path(info, namespace=namespace)
        items: list[Obj] = []
        token: str | None = None
        restarted = False
        while True:
            query = list_query(label_selector=label_selector, field_selector=field_selector,
                               limit=page_size, continue_token=token)
            try:
                body = await self._request(KubeRequest(method="GET", path=path, query=query))
            except Gone:
                if token is None or restarted:
                    raise
                items, token, restarted = [], None, True
                continue
            for item in body.get("items") or []:
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                items.append(item)
            meta = body.get("metadata") or {}
            token = meta.get("continue") or None
            if not token:
                return ObjectList(items=items, resource_version=str(meta.get("resourceVersion") or ""))

    # ---- writes -------------------------------------------------------------------------

    async def create(self, obj: Obj, *, field_manager: str | None = None, dry_run: bool = False) -> Obj:
        """Create ``obj``; ``AlreadyExists`` if its name is taken.

        A create whose earlier attempt failed ambiguously (the server may have stored it) is
        retried; if the retry then meets ``AlreadyExists`` and the live object holds what was
        sent, that object is returned as the create's result.
        """
        api_version, kind, name, namespace = object_identity(obj)
        info = await self.resource_info(api_version, kind)
        path = resource_path(info, namespace=namespace)
        req = KubeRequest(method="POST", path=path, body=obj, idempotent=False,
                          query=write_query(field_manager=field_manager, dry_run=dry_run))
        failures: list[ApiError] = []
        try:
            return cast(Obj, await self._request(req, ambiguous_ok=bool(name), failures=failures))
        except AlreadyExists:
            if not failures or not name:
                raise
            live = await self.get(api_version, kind, name=name, namespace=namespace)
            if not same_content(obj, live):
                raise
            _log.info("kube.create.recovered", client=self.name, kind=kind, name=name, namespace=namespace)
            return live

    async def replace(self, obj: Obj, *, field_manager: str | None = None, dry_run: bool = False) -> Obj:
        """PUT ``obj`` (with its resourceVersion for optimistic concurrency: ``Conflict`` if stale)."""
        return await self._put(obj, subresource=None, field_manager=field_manager, dry_run=dry_run)

    async def replace_status(self, obj: Obj, *, field_manager: str | None = None) -> Obj:
        """PUT ``obj`` to its ``/status`` subresource (only status changes)."""
        return await self._put(obj, subresource="status", field_manager=field_manager, dry_run=False)

    async def _put(
        self, obj: Obj, *, subresource: str | None, field_manager: str | None, dry_run: bool
    ) -> Obj:
        api_version, kind, name, namespace = object_identity(obj)
        info = await self.resource_info(api_version, kind)
        path = resource_path(info, namespace=namespace, name=name, subresource=subresource)
        req = KubeRequest(method="PUT", path=path, body=obj,
                          query=write_query(field_manager=field_manager, dry_run=dry_run))
        return cast(Obj, await self._request(req))

    async def patch(
        self,
        api_version: str,
        kind: str,
        *,
        name: str,
        patch: Any,
        namespace: str | None = None,
        patch_type: PatchType = "merge",
        field_manager: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """PATCH an object: ``patch_type`` ``merge`` (dict), ``json`` (list of ops) or ``strategic``."""
        return await self._patch(api_version, kind, name=name, patch=patch, namespace=namespace,
                                 patch_type=patch_type, field_manager=field_manager, dry_run=dry_run,
                                 subresource=None)

    async def patch_status(
        self,
        api_version: str,
        kind: str,
        *,
        name: str,
        patch: Any,
        namespace: str | None = None,
        patch_type: PatchType = "merge",
        field_manager: str | None = None,
    ) -> Obj:
        """PATCH an object's ``/status`` subresource."""
        return await self._patch(api_version, kind, name=name, patch=patch, namespace=namespace,
                                 patch_type=patch_type, field_manager=field_manager, dry_run=False,
                                 subresource="status")

    async def apply(self, obj: Obj, *, field_manager: str, force: bool = False, dry_run: bool = False) -> Obj:
        """Server-side apply ``obj`` as ``field_manager``; ``Conflict`` (other owners) unless ``force``."""
        api_version, kind, name, namespace = object_identity(obj)
        return await self._patch(api_version, kind, name=name, patch=obj, namespace=namespace,
                                 patch_type="apply", field_manager=field_manager, force=force,
                                 dry_run=dry_run, subresource=None)

    async def apply_status(self, obj: Obj, *, field_manager: str, force: bool = False) -> Obj:
        """Server-side apply ``obj``'s status to the ``/status`` subresource."""
        api_version, kind, name, namespace = object_identity(obj)
        return await self._patch(api_version, kind, name=name, patch=obj, namespace=namespace,
                                 patch_type="apply", field_manager=field_manager, force=force,
                                 dry_run=False, subresource="status")

    async def _patch(
        self,
        api_version: str,
        kind: str,
        *,
        name: str,
        patch: Any,
        namespace: str | None,
        patch_type: PatchType,
        field_manager: str | None,
        dry_run: bool,
        subresource: str | None,
        force: bool = False,
    ) -> Obj:
        if patch_type not in PATCH_CONTENT_TYPES:
            raise ValueError(f"patch_type must be one of {sorted(PATCH_CONTENT_TYPES)}, not {patch_type!r}")
        if patch_type == "apply" and not field_manager:
            raise ValueError("server-side apply needs a field_manager")
        info = await self.resource_info(api_version, kind)
        path = resource_path(info, namespace=namespace, name=name, subresource=subresource)
        req = KubeRequest(
            method="PATCH", path=path, body=patch, content_type=PATCH_CONTENT_TYPES[patch_type],
            query=write_query(field_manager=field_manager, force=force, dry_run=dry_run),
        )
        return cast(Obj, await self._request(req))

    async def create_subresource(
        self,
        api_version: str,
        kind: str,
        *,
        name: str,
        subresource: str,
        body: Obj,
        namespace: str | None = None,
    ) -> Obj:
        """POST to an object's subresource, e.g. a ServiceAccount's ``token`` (TokenRequest)."""
        info = await self.resource_info(api_version, kind)
        path = resource_path(info, namespace=namespace, name=name, subresource=subresource)
        req = KubeRequest(method="POST", path=path, body=body, idempotent=False)
        return cast(Obj, await self._request(req))

    async def delete(
        self,
        api_version: str,
        kind: str,
        *,
        name: str,
        namespace: str | None = None,
        propagation_policy: str | None = None,
        preconditions: dict[str, str] | None = None,
        grace_period_seconds: int | None = None,
        dry_run: bool = False,
    ) -> Obj:
        """DELETE an object; returns the server's answer (the object, or a Status); ``NotFound`` if gone.

        ``preconditions`` is ``{"uid": ..., "resourceVersion": ...}`` (``Conflict`` on mismatch).
        """
        info = await self.resource_info(api_version, kind)
        path = resource_path(info, namespace=namespace, name=name)
        body = delete_options(propagation_policy=propagation_policy, preconditions=preconditions,
                              grace_period_seconds=grace_period_seconds, dry_run=dry_run)
        return cast(Obj, await self._request(KubeRequest(method="DELETE", path=path, body=body)))

    # ---- watch --------------------------------------------------------------------------

    async def watch(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        allow_bookmarks: bool = True,
        timeout_seconds: int = DEFAULT_WATCH_SECONDS,
        idle_timeout: float | None = None,
    ) -> AsyncGenerator[WatchEvent, None]:
        """Watch events from ``resource_version`` until the server ends the stream.

        Opening the stream is retried like any GET; a broken stream raises ``ConnectionFailed``
        or ``Timeout`` (resume from the last event's resourceVersion), an ERROR event raises its
        error — ``Gone`` for 410 (relist, never resume). A stream silent for ``idle_timeout``
        seconds (default ``WATCH_STALL_SECONDS``, or ``timeout_seconds`` + 5 if shorter) may
        be stalled: it is ended like one the server closed, so the caller resumes from its last
        resourceVersion at once (not after an error backoff). Use ``contextlib.aclosing`` when
        leaving the loop early.
        """
        info = await self.resource_info(api_version, kind)
        path = resource_path(info, namespace=namespace)
        query = list_query(label_selector=label_selector, field_selector=field_selector,
                           resource_version=resource_version, watch=True, allow_bookmarks=allow_bookmarks,
                           timeout_seconds=timeout_seconds)
        req = KubeRequest(method="GET", path=path, query=query)
        idle = (idle_timeout if idle_timeout is not None
                else min(timeout_seconds + WATCH_GRACE_SECONDS, WATCH_STALL_SECONDS))
        resp = await self._open_stream(req, idle_timeout=idle)
        try:
            while True:
                try:
                    line = await resp.content.readline()
                except TimeoutError:
                    # the read deadline: nothing (not even a bookmark) for ``idle`` seconds
                    _WATCH_SILENT.labels(self.name).inc()
                    _log.debug("kube.watch.silent", client=self.name, path=path, seconds=idle)
                    return
                except aiohttp.ClientError as exc:
                    raise transport_error(exc) from exc
                if not line:
                    return
                if not line.strip():
                    continue
                event = parse_event(line, api_version=api_version, kind=kind)
                if event is not None:
                    yield event
        finally:
            resp.close()

    async def _open_stream(self, req: KubeRequest, *, idle_timeout: float) -> Any:
        """Open a streaming GET (retried); the response, whose status is 200."""
        timeout = aiohttp.ClientTimeout(total=None, connect=self.request_timeout,
                                        sock_connect=self.request_timeout, sock_read=idle_timeout)
        attempt = 0
        while True:
            attempt += 1
            try:
                async with asyncio.timeout(self.request_timeout + 1.0):
                    resp = await self._open(req, client_timeout=timeout)
                    if resp.status == 200:
                        _REQUESTS.labels(self.name, "WATCH", "200").inc()
                        return resp
                    try:
                        body = decode_body(await resp.read())
                    finally:
                        resp.release()
                _REQUESTS.labels(self.name, "WATCH", str(resp.status)).inc()
                raise status_error(resp.status, body if isinstance(body, dict) else None,
                                   retry_after=retry_after(resp.headers))
            except TimeoutError as exc:
                err: ApiError = Timeout("watch open timed out")
                err.__cause__ = exc
            except ApiError as exc:
                err = exc
            decision = decide_retry(err, attempt, policy=self.retry_policy)
            if not decision.retry:
                raise err
            _RETRIES.labels(self.name, decision.reason).inc()
            await asyncio.sleep(with_jitter(decision.delay, fraction=self.retry_policy.jitter,
                                            sample=random.random()))
