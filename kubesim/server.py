"""``SimServer``: one simulated cluster's API server (aiohttp, in-process, in memory).

Lifecycle: ``await start()`` binds 127.0.0.1 (a free port, or ``port``), writes the admin
kubeconfig, serves until ``await stop()``; ``restart()`` rebinds the same port with the state
kept. Each request goes: fault injection -> authentication (bearer token, 401) -> routing
(discovery, OpenAPI, resources; unknown paths 404) -> RBAC authorization (403) -> handler.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

from kubesim import (
    audit,
    auth,
    authz,
    certs,
    crds,
    discovery,
    errors,
    faults,
    gc,
    httpio,
    kubeconfig,
    meta,
    openapi,
    rbac,
    reads,
    reviews,
    simulate,
    vap,
    writes,
)
from kubesim.httpio import Call, Target, respond
from kubesim.registry import VIRTUAL, Registry, ResourceType
from kubesim.store import Store

Obj = dict[str, Any]
_log = structlog.get_logger("kubesim.server")
_PUBLIC = frozenset({"/healthz", "/livez", "/readyz"})
_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def _verb(method: str, *, name: str | None, watch: bool) -> str:
    """The Kubernetes verb of a resource request (405 for methods the API does not have)."""
    if method == "GET":
        if watch:
            return "watch"  # also a named object's watch, and the deprecated /watch/ prefix
        return "get" if name is not None else "list"
    if method == "DELETE":
        return "delete" if name else "deletecollection"
    if method in _VERBS:
        return _VERBS[method]
    raise errors.method_not_allowed()


class SimServer:
    """A simulated Kubernetes API server (see module docstring and docs/kubesim.md)."""

    def __init__(
        self,
        name: str,
        *,
        workloads: bool = False,
        tls: bool = False,
        rbac: bool = True,
        workload_delay: float = 0.2,
        nodes: int = 3,
        kubeconfig_dir: Path | None = None,
        port: int = 0,
        history: int = 2000,
        bookmark_interval: float = 10.0,
    ) -> None:
        self.name = name
        self.workloads = workloads
        self.tls = tls
        self.rbac_enabled = rbac
        self.workload_delay = workload_delay
        self.nodes = nodes
        self.port = port
        self.bookmark_interval = bookmark_interval
        self._kubeconfig_dir = kubeconfig_dir
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self.faults = faults.Faults()
        self.audit = audit.Audit()
        self.store = Store(Registry(), history=history)
        self.auth = auth.Authenticator()
        self._ca_pem: str | None = None
        self._ssl: Any = None
        if tls:
            bundle = certs.serving_bundle()
            self._ca_pem = bundle.ca_pem.decode()
            self._ssl = certs.server_ssl_context(bundle)
        self.crds = crds.CrdController(self.store)
        self.authz = authz.Authorizer(self.store, enabled=rbac)
        self.store.admitters.append(self.authz.admit)
        self.policies = vap.PolicyAdmission(self.store)
        self.gc = gc.GarbageCollector(self.store, root_ca=self._ca_pem or "")
        self.admin_token = self.auth.issue(user="kubernetes-admin", groups=("system:masters",))
        self._runner: web.AppRunner | None = None
        self._streams: set[asyncio.Queue[Any]] = set()
        self._simulator: simulate.Simulator | None = None
        self._bootstrapped = False
        self.kubeconfig_path = Path()
        self.url = ""

    # ------------------------------------------------------------------ lifecycle
    def _bootstrap(self) -> None:
        ns = self.store.registry.lookup("", "v1", "namespaces")
        crole = self.store.registry.lookup("rbac.authorization.k8s.io", "v1", "clusterroles")
        cbind = self.store.registry.lookup("rbac.authorization.k8s.io", "v1", "clusterrolebindings")
        assert ns is not None and crole is not None and cbind is not None
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.store.create(ns, {"metadata": {"name": name}}, manager="kube-apiserver")
        svc = self.store.registry.lookup("", "v1", "services")
        assert svc is not None
        # the apiserver's own Service, as kube-apiserver keeps it in "default" (kind's layout)
        self.store.create(
            svc,
            {
                "metadata": {
                    "name": "kubernetes",
                    "namespace": "default",
                    "labels": {"component": "apiserver", "provider": "kubernetes"},
                },
                "spec": {
                    "type": "ClusterIP",
                    "clusterIP": "10.96.0.1",
                    "clusterIPs": ["10.96.0.1"],
                    "ipFamilies": ["IPv4"],
                    "ipFamilyPolicy": "SingleStack",
                    "sessionAffinity": "None",
                    "internalTrafficPolicy": "Cluster",
                    "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                },
            },
            namespace="default",
            manager="kube-apiserver",
        )
        for role in rbac.BOOTSTRAP_CLUSTER_ROLES:
            self.store.create(crole, role, manager="kube-apiserver")
        for binding in rbac.BOOTSTRAP_CLUSTER_ROLE_BINDINGS:
            self.store.create(cbind, binding, manager="kube-apiserver")
        # kube-root-ca.crt carries the (process-wide, cached) kubesim CA even on plain-HTTP servers
        self.gc.root_ca = self._ca_pem or certs.serving_bundle().ca_pem.decode()

    async def start(self) -> None:
        if self._runner is not None:
            return
        if not self._bootstrapped:
            self._bootstrap()
            self._bootstrapped = True
        app = web.Application(client_max_size=8 * 1024 * 1024, handler_args={"access_log": None})
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port, ssl_context=self._ssl, reuse_address=True)
        await site.start()
        self._runner = runner
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        if self._kubeconfig_dir is None:
            self._tmpdir = tempfile.TemporaryDirectory(prefix=f"kubesim-{self.name}-")
            self._kubeconfig_dir = Path(self._tmpdir.name)
        self.kubeconfig_path = self.write_kubeconfig(
            self._kubeconfig_dir / f"{self.name}.kubeconfig", token=self.admin_token, user="admin"
        )
        if self.workloads and self._simulator is None:
            self._start_simulator()
        await asyncio.sleep(0)

    def _start_simulator(self) -> None:
        self._simulator = simulate.Simulator(self.store, nodes=self.nodes, delay=self.workload_delay)
        self._simulator.start()

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        for queue in list(self._streams):
            queue.put_nowait(None)
        await runner.cleanup()

    async def close(self) -> None:
        """Stop for good: also stops simulated controllers and removes temporary files."""
        await self.stop()
        simulator, self._simulator = self._simulator, None
        if simulator is not None:
            await simulator.stop()
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def running(self) -> bool:
        return self._runner is not None

    # ------------------------------------------------------------------ credentials
    def issue_token(self, *, user: str, groups: Sequence[str] = ()) -> str:
        return self.auth.issue(user=user, groups=tuple(groups))

    def write_kubeconfig(self, path: Path, *, token: str, user: str = "user") -> Path:
        text = kubeconfig.render(
            cluster=self.name, server=self.url, token=token, user=user, ca_pem=self._ca_pem
        )
        return kubeconfig.write(Path(path), text)

    @property
    def ca_pem(self) -> str | None:
        return self._ca_pem

    # ------------------------------------------------------------------ requests
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if not self.audit.enabled:
            return await self._answer(request)
        response = await self._answer(request)
        pending: audit.Pending | None = request.get(audit.PENDING)
        if pending is not None:
            body = getattr(response, "body", None)
            size = len(body) if isinstance(body, bytes | bytearray) else (response.content_length or 0)
            self.audit.record(pending.finish(code=response.status, response_bytes=size))
        return response

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._dispatch(request)
        except errors.ApiError as exc:
            return httpio.error_response(exc)
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a kubesim bug: answer like the apiserver does, and log it
            _log.exception(
                "kubesim.internal_error", server=self.name, method=request.method, path=request.path
            )
            return httpio.error_response(errors.internal_error(f"{type(exc).__name__}: {exc}"))

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path, method = request.path, request.method
        if self.faults.rules:
            rule = self.faults.take(("latency",), method, path)
            if rule is not None:
                await asyncio.sleep(rule.seconds)
            rule = self.faults.take(("error", "reset"), method, path)
            if rule is not None and rule.kind == "reset":
                if request.transport is not None:
                    request.transport.abort()
                raise errors.service_unavailable("connection reset by fault injection")
            if rule is not None:
                if rule.code == 429:
                    raise errors.too_many_requests(rule.retry_after)
                if rule.code == 503:
                    exc = errors.service_unavailable()
                    exc.headers["Retry-After"] = str(rule.retry_after)
                    raise exc
                raise errors.ApiError(
                    code=rule.code,
                    reason="InternalError" if rule.code == 500 else "Unknown",
                    message=f"Internal error occurred: injected fault ({rule.code})",
                    details={"causes": [{"message": "injected fault"}]},
                )
        if path in _PUBLIC:
            return web.Response(text="ok")
        user = self.auth.authenticate(request.headers.get("Authorization"), sa_uid=self._sa_uid)
        if user is None:
            raise errors.unauthorized()
        if "Impersonate-User" in request.headers or "Impersonate-Group" in request.headers:
            user = self.authz.impersonate(request.headers, user)
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] not in ("api", "apis"):
            return await self._non_resource(request, user, parts)
        if parts[0] == "api":
            if len(parts) == 1:
                return self._discovery_root(request, user, core=True)
            if parts[1] != "v1":
                raise errors.resource_not_found()
            group, version, rest = "", "v1", parts[2:]
        else:
            if len(parts) == 1:
                return self._discovery_root(request, user, core=False)
            group = parts[1]
            if len(parts) == 2:
                self.authz.check_path(user, path)
                doc = discovery.api_group(self.store.registry, group)
                if doc is None:
                    raise errors.resource_not_found()
                return respond(doc)
            version, rest = parts[2], parts[3:]
        if not rest:
            self.authz.check_path(user, path)
            doc = discovery.resource_list(self.store.registry, group=group, version=version)
            if doc is None:
                raise errors.resource_not_found()
            return respond(doc)
        legacy_watch = bool(rest) and rest[0] == "watch" and method == "GET"
        if legacy_watch:
            rest = rest[1:]
        target = httpio.parse_path(rest, self.store.registry, group=group, version=version)
        if target is None:  # authorization comes first, as in kube-apiserver's filter chain
            namespace, resource, name, sub = httpio.request_attributes(rest)
            verb = _verb(method, name=name, watch=legacy_watch or httpio.flag(request.query.get("watch")))
            allowed, reason = self.authz.authorize(
                user=user,
                verb=verb,
                api_group=group,
                resource=resource,
                subresource=sub,
                namespace=namespace,
                name=name,
                path=None,
            )
            if not allowed:
                raise errors.forbidden(
                    group=group,
                    plural=resource,
                    name=name,
                    message=rbac.forbidden_message(
                        user=user.name,
                        verb=verb,
                        api_group=group,
                        resource=resource,
                        subresource=sub,
                        namespace=namespace,
                        name=name,
                        reason=reason,
                    ),
                )
            raise errors.resource_not_found()
        return await self._resource(request, user, target, legacy_watch=legacy_watch)

    def _audit_start(self, request: web.Request, user: auth.User, target: Target, verb: str) -> None:
        content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
        if verb == "patch" and content_type in (writes.APPLY_PATCH, writes.APPLY_CBOR):
            verb = "apply"
        request[audit.PENDING] = audit.Pending(
            user=user.name,
            verb=verb,
            group=target.rtype.group,
            resource=target.rtype.plural,
            subresource=target.subresource,
            namespace=target.namespace,
            name=target.name,
            request_bytes=request.content_length or 0,
        )

    def _sa_uid(self, namespace: str, name: str) -> str | None:
        t = self.store.registry.lookup("", "v1", "serviceaccounts")
        assert t is not None
        sa = self.store.peek(t, name, namespace)
        return None if sa is None else str(sa["metadata"]["uid"])

    def _discovery_root(self, request: web.Request, user: auth.User, *, core: bool) -> web.Response:
        self.authz.check_path(user, request.path)
        accept = request.headers.get("Accept", "")
        for wanted, api_version in (
            (discovery.AGGREGATED_V2, "apidiscovery.k8s.io/v2"),
            (discovery.AGGREGATED_V2BETA1, "apidiscovery.k8s.io/v2beta1"),
        ):
            marker = "v=" + api_version.split("/")[1] + ";as=APIGroupDiscoveryList"
            if marker in accept.replace(" ", ""):
                body = discovery.aggregated(self.store.registry, core=core, api_version=api_version)
                return respond(body, content_type=wanted)
        if core:
            return respond(discovery.api_versions(f"127.0.0.1:{self.port}"))
        return respond(discovery.api_group_list(self.store.registry))

    async def _non_resource(self, request: web.Request, user: auth.User, parts: list[str]) -> web.Response:
        path = request.path
        self.authz.check_path(user, path)
        if parts == ["version"]:
            return respond(discovery.VERSION)
        if parts[:2] == ["openapi", "v3"]:
            if len(parts) == 2:
                return respond(openapi.root(self.store.registry))
            rest = parts[2:]
            group, version = (
                ("", rest[1])
                if rest[0] == "api" and len(rest) == 2
                else ((rest[1], rest[2]) if rest[0] == "apis" and len(rest) == 3 else ("", ""))
            )
            body = (
                openapi.document_bytes(self.store.registry, group=group, version=version) if version else None
            )
            if body is None:
                raise errors.resource_not_found()
            return web.Response(body=body, headers={"Content-Type": "application/json"})
        raise errors.ApiError(
            code=404,
            reason="NotFound",
            message="the server could not find the requested resource",
            details={},
        )

    async def _resource(
        self, request: web.Request, user: auth.User, target: Target, *, legacy_watch: bool = False
    ) -> web.StreamResponse:
        method = request.method
        rtype = target.rtype
        watch = legacy_watch or (httpio.flag(request.query.get("watch")) and target.subresource is None)
        verb = _verb(method, name=target.name, watch=watch)
        if self.audit.enabled:
            self._audit_start(request, user, target, verb)
        if verb == "watch":  # counted only while the audit is enabled, but for streams opened before
            request[audit.ON_EVENT] = self.audit.event_counter(user.name)
        allowed, reason = self.authz.authorize(
            user=user,
            verb=verb,
            api_group=rtype.group,
            resource=rtype.plural,
            subresource=target.subresource,
            namespace=target.namespace,
            name=target.name,
            path=None,
        )
        if not allowed:
            raise errors.forbidden(
                group=rtype.group,
                plural=rtype.plural,
                name=target.name,
                message=rbac.forbidden_message(
                    user=user.name,
                    verb=verb,
                    api_group=rtype.group,
                    resource=rtype.plural,
                    subresource=target.subresource,
                    namespace=target.namespace,
                    name=target.name,
                    reason=reason,
                ),
            )
        self._check_verb(rtype, target, verb=verb)
        call = Call(request, user, target, verb)
        if rtype.key in VIRTUAL:
            return await reviews.review(
                call, authorize=self.authz.authorize, auth=self.auth, store=self.store, rules=self.authz.rules
            )
        if verb in ("create", "update", "patch"):
            directive = request.query.get("fieldValidation") or "Warn"
            if directive not in ("Strict", "Warn", "Ignore"):
                raise errors.bad_request(
                    f"fieldValidation parameter unsupported: {directive}; use Ignore, Warn or Strict"
                )
            meta.field_validation.set(directive)
            authz.writer.set(call.user)
            collected: list[str] = [rtype.deprecation] if rtype.deprecation else []
            meta.warnings.set(collected)
            response = await self._write(call, verb)
            for text in collected:
                response.headers.add("Warning", '299 - "' + text.replace('"', '\\"') + '"')
            return response
        if verb in ("get", "list"):
            response = reads.get(call, self.store) if verb == "get" else reads.list_(call, self.store)
            if rtype.deprecation:
                response.headers.add("Warning", '299 - "' + rtype.deprecation.replace('"', '\\"') + '"')
            return response
        if verb == "watch":
            return await reads.watch(
                call,
                self.store,
                bookmark_interval=self.bookmark_interval,
                stream_fault=self._stream_fault(request),
                streams=self._streams,
            )
        return await self._write(call, verb)

    async def _write(self, call: Call, verb: str) -> web.StreamResponse:
        if not self.store.holds_any(vap.BINDINGS):
            return await self._write_call(call, verb)  # no admission policy is bound
        target = call.target
        rtype = target.rtype
        request = vap.Request(
            operation="DELETE" if verb == "delete" else "",
            user=call.user,
            target=(rtype.group, rtype.plural, target.namespace or "", target.name or ""),
            subresource=target.subresource or "",
            dry_run=call.dry_run,
        )
        token = vap.request_var.set(request)
        try:
            if verb == "delete" and target.name is not None:
                stored = self.store.peek(rtype, target.name, target.namespace)
                if stored is not None:
                    self.policies.check(rtype, request, obj=None, old=stored)
            response = await self._write_call(call, verb)
        finally:
            vap.request_var.reset(token)
        for text in request.warnings:
            response.headers.add("Warning", '299 - "' + text.replace('"', '\\"') + '"')
        return response

    async def _write_call(self, call: Call, verb: str) -> web.StreamResponse:
        target = call.target
        if verb == "create":
            if target.subresource == "token":
                return await reviews.token_request(call, store=self.store, auth=self.auth)
            return await writes.create(call, self.store)
        if verb == "update":
            return await writes.update(call, self.store)
        if verb == "patch":
            return await writes.patch(call, self.store)
        if verb == "delete":
            return await writes.delete(call, self.store)
        return await writes.delete_collection(call, self.store)

    @staticmethod
    def _check_verb(rtype: ResourceType, target: Target, *, verb: str) -> None:
        if target.subresource is not None:
            allowed = {"token": ("create",), "finalize": ("update",)}.get(
                target.subresource, ("get", "update", "patch")
            )
            if verb not in allowed:
                raise errors.method_not_allowed()
            return
        if verb == "create" and target.name is not None:
            raise errors.method_not_allowed()
        if verb in ("update", "patch") and target.name is None:
            raise errors.method_not_allowed()
        if verb not in rtype.verbs and not (verb == "watch" and "list" in rtype.verbs):
            raise errors.method_not_allowed()

    def _stream_fault(self, request: web.Request) -> Any:
        path = request.path

        def check(phase: str) -> str | None:
            if not self.faults.rules:
                return None
            if phase == "start":
                rule = self.faults.take(
                    ("expire_watch", "drop_watch", "abort_watch", "stall_watch"), "GET", path
                )
            else:
                rule = self.faults.take(("drop_watch", "abort_watch", "stall_watch"), "GET", path)
            if rule is None:
                return None
            return {
                "expire_watch": "gone",
                "drop_watch": "drop",
                "abort_watch": "abort",
                "stall_watch": "stall",
            }[rule.kind]

        return check
