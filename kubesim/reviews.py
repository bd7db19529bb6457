"""Requests answered without storing anything: TokenRequest and the authn/authz reviews.

``token_request`` issues a ServiceAccount token (``kubectl create token``); ``review`` answers
SelfSubjectReview (``auth whoami``), SelfSubjectAccessReview / SubjectAccessReview
(``auth can-i``), SelfSubjectRulesReview (``auth can-i --list``) and TokenReview.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from aiohttp import web

from kubesim import errors, rules_review
from kubesim.auth import Authenticator, User
from kubesim.httpio import Call, read_body, respond
from kubesim.store import Store

Obj = dict[str, Any]
Authorize = Callable[..., tuple[bool, str]]


async def token_request(call: Call, *, store: Store, auth: Authenticator) -> web.Response:
    t = call.target
    assert t.name is not None and t.namespace is not None
    sa = store.peek(t.rtype, t.name, t.namespace)
    if sa is None:
        raise errors.not_found(group="", plural="serviceaccounts", name=t.name)
    body = await read_body(call.request) or {}
    spec = body.get("spec") or {}
    expiration = int(spec.get("expirationSeconds") or 3600)
    if expiration < 600:
        raise errors.invalid(
            group="authentication.k8s.io",
            kind="TokenRequest",
            name=t.name,
            causes=[
                errors.field_cause(
                    kind="Invalid",
                    field="spec.expirationSeconds",
                    value=expiration,
                    detail="may not specify a duration less than 10 minutes",
                )
            ],
        )
    audiences = list(spec.get("audiences") or ["https://kubernetes.default.svc.cluster.local"])
    token = auth.issue_sa(
        namespace=t.namespace,
        name=t.name,
        uid=sa["metadata"]["uid"],
        expiration=expiration,
        audiences=audiences,
    )
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=expiration)
    return respond(
        {
            "kind": "TokenRequest",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": t.name, "namespace": t.namespace, "creationTimestamp": None},
            "spec": {
                "audiences": audiences,
                "expirationSeconds": expiration,
                "boundObjectRef": spec.get("boundObjectRef"),
            },
            "status": {"token": token, "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
        },
        status=201,
    )


async def review(
    call: Call, *, authorize: Authorize, auth: Authenticator, store: Store, rules: Any = None
) -> web.Response:
    """Self/SubjectAccessReview, SelfSubjectRulesReview, SelfSubjectReview, TokenReview (never stored)."""
    t = call.target
    body = await read_body(call.request) or {}
    spec = body.get("spec") or {}
    user: User = call.user
    out: Obj = {
        "kind": t.rtype.kind,
        "apiVersion": t.rtype.api_version,
        "metadata": {"creationTimestamp": None},
        "spec": spec,
    }
    if t.rtype.plural == "selfsubjectreviews":
        out.pop("spec")
        out["status"] = {
            "userInfo": {
                "username": user.name,
                "groups": list(user.groups),
                **({"uid": user.uid} if user.uid else {}),
            }
        }
        return respond(out, status=201)
    if t.rtype.plural == "selfsubjectrulesreviews":
        out["status"] = rules_review.rules_for(
            user=user.name, groups=user.groups, namespace=spec.get("namespace") or "default", source=rules
        )
        return respond(out, status=201)
    if t.rtype.plural == "tokenreviews":
        who = auth.authenticate(
            "Bearer " + str(spec.get("token", "")), sa_uid=lambda ns, n: _sa_uid(store, ns, n)
        )
        out["status"] = (
            {"authenticated": True, "user": {"username": who.name, "groups": list(who.groups)}}
            if who
            else {"authenticated": False}
        )
        return respond(out, status=201)
    if t.rtype.plural == "subjectaccessreviews":
        user = User(name=spec.get("user", ""), groups=tuple(spec.get("groups") or ()))
    attrs = spec.get("resourceAttributes")
    if attrs:
        allowed, reason = authorize(
            user=user,
            verb=attrs.get("verb", ""),
            api_group=attrs.get("group", ""),
            resource=attrs.get("resource", ""),
            subresource=attrs.get("subresource"),
            namespace=attrs.get("namespace"),
            name=attrs.get("name"),
            path=None,
        )
    else:
        nra = spec.get("nonResourceAttributes") or {}
        allowed, reason = authorize(
            user=user,
            verb=nra.get("verb", ""),
            api_group="",
            resource="",
            subresource=None,
            namespace=None,
            name=None,
            path=nra.get("path", ""),
        )
    out["status"] = {"allowed": allowed, **({"reason": reason} if reason else {})}
    return respond(out, status=201)


def _sa_uid(store: Store, namespace: str, name: str) -> str | None:
    t = store.registry.lookup("", "v1", "serviceaccounts")
    assert t is not None
    sa = store.peek(t, name, namespace)
    return None if sa is None else str(sa["metadata"]["uid"])
