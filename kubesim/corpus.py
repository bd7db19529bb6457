"""The differential corpus: requests and the responses kube-apiserver gives, run against any server.

Each YAML file under ``tests/kubesim/corpus/`` is one *suite*::

    name: containers
    templates: {deploy: {...}}            # bodies cases start from
    setup: [<request>, ...]               # must succeed (or meet their own ``expect``)
    cleanup: [/apis/.../name, ...]        # cluster-scoped objects deleted afterwards
    cases:
      - name: container name with an underscore
        request: {method: POST, path: /apis/apps/v1/namespaces/{ns}/deployments,
                  body: {$template: deploy, $set: {"spec.template.spec.containers[0].name": Bad_Name}}}
        expect: {code: 422, reason: Invalid, fields: [spec.template.spec.containers[0].name]}
      - name: port numbers                 # a table: one case per row, "$value" replaced
        request: {...: "$value"}
        table: [{value: 0, code: 422, fields: [...]}, {value: 80, code: 201}]

A request has ``method``, ``path`` (``{ns}``: the suite's namespace, created for the run),
``body``, ``content_type``, ``params``, ``as`` (``{user:, groups: []}``, sent as impersonation
headers, so the same file runs with a cluster-admin kubeconfig on a real cluster), and for a
setup step ``retry: true`` (repeat until ``expect`` holds, 30 s: CRDs and policies take effect
asynchronously on a real server). ``expect`` checks ``code``, and optionally ``reason``,
``fields`` (the ``details.causes`` field paths, in any order), ``message`` (exact),
``message_contains``, ``body`` (a subset of the response; lists match item by item) and
``warnings`` (``Warning`` header texts). A case marked ``kubesim_only: true`` expects one of
kubesim's documented differences (docs/kubesim.md) and is skipped on a real server.

Run against a real API server (kind or any cluster; cluster-admin needed)::

    python -m kubesim.corpus --kubeconfig ~/.kube/config tests/kubesim/corpus/*.yaml

and against a fresh kubesim with ``--kubesim``. Prints one line per failed case and a summary;
exits 1 when a case fails.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import ssl
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from multidict import CIMultiDict

JSON = Any
_ABSENT = object()


@dataclass(frozen=True)
class Case:
    suite: str
    name: str
    request: dict[str, Any]
    expect: dict[str, Any]
    kubesim_only: bool = False  # a documented difference: skipped on a real server


@dataclass(frozen=True)
class Suite:
    name: str
    setup: tuple[dict[str, Any], ...]
    cleanup: tuple[str, ...]
    cases: tuple[Case, ...]


@dataclass
class Outcome:
    case: Case
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


# ------------------------------------------------------------------------------------ loading


def _substitute(value: JSON, placeholder: str, replacement: JSON) -> JSON:
    if isinstance(value, str):
        if value == placeholder:
            return replacement
        if placeholder in value:
            return value.replace(placeholder, str(replacement))
        return value
    if isinstance(value, dict):
        return {
            _substitute(k, placeholder, replacement): _substitute(v, placeholder, replacement)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_substitute(v, placeholder, replacement) for v in value]
    return value


def _path_parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for chunk in path.split("."):
        while "[" in chunk:
            head, _, rest = chunk.partition("[")
            if head:
                parts.append(head)
            index, _, chunk = rest.partition("]")
            parts.append(int(index))
        if chunk:
            parts.append(chunk)
    return parts


def _set(obj: JSON, path: str, value: JSON) -> None:
    parts = _path_parts(path)
    node = obj
    for part in parts[:-1]:
        node = node[part] if isinstance(part, int) else node.setdefault(part, {})
    if isinstance(parts[-1], int):
        node[parts[-1]] = value
    else:
        node[parts[-1]] = value


def _delete(obj: JSON, path: str) -> None:
    parts = _path_parts(path)
    node = obj
    for part in parts[:-1]:
        node = node[part]
    del node[parts[-1]]


def _build(body: JSON, templates: dict[str, JSON]) -> JSON:
    """Expand ``{$template: t, $set: {path: v}, $delete: [path]}`` bodies (recursively)."""
    if isinstance(body, dict) and "$template" in body:
        result = json.loads(json.dumps(templates[body["$template"]]))
        for path, value in (body.get("$set") or {}).items():
            _set(result, path, _build(value, templates))
        for path in body.get("$delete") or []:
            _delete(result, path)
        return result
    if isinstance(body, dict):
        return {k: _build(v, templates) for k, v in body.items()}
    if isinstance(body, list):
        return [_build(v, templates) for v in body]
    return body


def _expectation(row: dict[str, Any]) -> dict[str, Any]:
    if "expect" in row:
        return dict(row["expect"])
    return {k: v for k, v in row.items() if k not in ("value", "name")}


def load(path: Path) -> Suite:
    """One suite file, tables expanded and templates applied."""
    raw = yaml.safe_load(path.read_text())
    templates = raw.get("templates") or {}
    name = str(raw.get("name") or path.stem)
    cases: list[Case] = []
    for entry in raw.get("cases") or []:
        if "table" in entry:
            for row in entry["table"]:
                request = _substitute(entry["request"], "$value", row.get("value"))
                label = row.get("name") or json.dumps(row.get("value"))
                expect = _substitute(_expectation(row), "$value", row.get("value"))
                cases.append(Case(name, f"{entry['name']}: {label}", _build(request, templates), expect))
        else:
            cases.append(
                Case(
                    name,
                    str(entry["name"]),
                    _build(entry["request"], templates),
                    dict(entry["expect"]),
                    kubesim_only=bool(entry.get("kubesim_only")),
                )
            )
    setup = tuple(_build(step, templates) for step in raw.get("setup") or [])
    return Suite(name, setup, tuple(raw.get("cleanup") or ()), tuple(cases))


def load_all(paths: list[Path]) -> list[Suite]:
    files: list[Path] = []
    for p in paths:
        files += sorted(p.glob("*.yaml")) if p.is_dir() else [p]
    return [load(f) for f in files]


# ------------------------------------------------------------------------------------ running


@dataclass(frozen=True)
class Target:
    """Where the corpus runs: a base URL, TLS and the admin's headers."""

    url: str
    headers: dict[str, str]
    ssl_context: ssl.SSLContext | bool | None = None


def _fill(value: JSON, ns: str) -> JSON:
    return _substitute(value, "{ns}", ns)


async def _send(
    session: aiohttp.ClientSession, target: Target, request: dict[str, Any], ns: str
) -> tuple[int, JSON, list[str]]:
    request = _fill(request, ns)
    headers = dict(target.headers)
    data = None
    if "body" in request:
        body = request["body"]
        data = body if isinstance(body, str) else json.dumps(body)
        headers["Content-Type"] = request.get("content_type") or "application/json"
    who = request.get("as")
    if who:
        headers["Impersonate-User"] = who["user"]
    params = {
        k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in (request.get("params") or {}).items()
    }
    sent = CIMultiDict(headers)
    for group in (who or {}).get("groups") or []:
        sent.add("Impersonate-Group", group)
    async with session.request(
        request.get("method", "GET"),
        target.url + request["path"],
        data=data,
        headers=sent,
        params=params,
        ssl=target.ssl_context if target.ssl_context is not None else True,
    ) as resp:
        text = await resp.text()
        try:
            parsed: JSON = json.loads(text)
        except ValueError:
            parsed = text
        return resp.status, parsed, list(resp.headers.getall("Warning", []))


def _subset(expected: JSON, actual: JSON, path: str = "") -> list[str]:
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path or '<body>'}: expected an object, got {json.dumps(actual)[:200]}"]
        out: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                out.append(f"{path}.{key}: missing")
            else:
                out += _subset(value, actual[key], f"{path}.{key}")
        return out
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        out = []
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            out += _subset(want, got, f"{path}[{index}]")
        return out
    if expected != actual:
        return [f"{path or '<body>'}: expected {json.dumps(expected)}, got {json.dumps(actual)[:300]}"]
    return []


def _warning_text(header: str) -> str:
    """The text of a ``Warning: 299 - "text"`` header (quotes inside escaped)."""
    text = header.split(" ", 2)[-1]
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        text = text[1:-1]
    return text.replace('\\"', '"')


def check(expect: dict[str, Any], *, code: int, body: JSON, warnings: list[str]) -> list[str]:
    """What differs between a response and its expectation (empty: it matches)."""
    problems: list[str] = []
    if code != expect["code"]:
        shown = body.get("message", "") if isinstance(body, dict) else str(body)[:200]
        problems.append(f"code {code}, expected {expect['code']} ({shown})")
        return problems
    status = body if isinstance(body, dict) else {}
    if "reason" in expect and status.get("reason") != expect["reason"]:
        problems.append(f"reason {status.get('reason')!r}, expected {expect['reason']!r}")
    if "fields" in expect:
        got = sorted(str(c.get("field", "")) for c in (status.get("details") or {}).get("causes") or [])
        if got != sorted(expect["fields"]):
            problems.append(f"fields {got}, expected {sorted(expect['fields'])}")
    if "message" in expect and status.get("message") != expect["message"]:
        problems.append(f"message {status.get('message')!r}, expected {expect['message']!r}")
    for fragment in [expect["message_contains"]] if "message_contains" in expect else []:
        if fragment not in str(status.get("message", "")):
            problems.append(f"message {status.get('message')!r} lacks {fragment!r}")
    if "body" in expect:
        problems += _subset(expect["body"], body)
    if "warnings" in expect:
        texts = [_warning_text(w) for w in warnings]
        if texts != expect["warnings"]:
            problems.append(f"warnings {texts}, expected {expect['warnings']}")
    return problems


async def run_suite(
    suite: Suite, target: Target, *, retry_seconds: float = 30.0, real: bool = False
) -> list[Outcome]:
    """Run one suite in a namespace of its own; returns one outcome per case run.

    ``real``: the target is a real API server, so ``kubesim_only`` cases (documented
    differences) are skipped.
    """
    ns = f"corpus-{suite.name}-{uuid.uuid4().hex[:6]}"
    timeout = aiohttp.ClientTimeout(total=30)
    outcomes: list[Outcome] = []
    async with aiohttp.ClientSession(timeout=timeout) as session:
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        code, body, _ = await _send(
            session, target, {"method": "POST", "path": "/api/v1/namespaces", "body": namespace}, ns
        )
        if code != 201:
            raise RuntimeError(f"cannot create namespace {ns}: {code} {body}")
        try:
            for index, step in enumerate(suite.setup):
                await _setup_step(
                    session,
                    target,
                    step,
                    ns,
                    retry_seconds=retry_seconds,
                    where=f"{suite.name} setup[{index}]",
                )
            for case in suite.cases:
                if real and case.kubesim_only:
                    continue
                code, body, warnings = await _send(session, target, case.request, ns)
                outcomes.append(
                    Outcome(case, check(_fill(case.expect, ns), code=code, body=body, warnings=warnings))
                )
        finally:
            for path in suite.cleanup:
                await _send(session, target, {"method": "DELETE", "path": path}, ns)
            await _send(session, target, {"method": "DELETE", "path": f"/api/v1/namespaces/{ns}"}, ns)
    return outcomes


async def _setup_step(
    session: aiohttp.ClientSession,
    target: Target,
    step: dict[str, Any],
    ns: str,
    *,
    retry_seconds: float,
    where: str,
) -> None:
    expect = step.get("expect")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + retry_seconds
    delay = 0.05
    while True:
        code, body, warnings = await _send(session, target, step, ns)
        problems = (
            check(_fill(expect, ns), code=code, body=body, warnings=warnings)
            if expect
            else ([] if code < 300 else [f"code {code}: {body}"])
        )
        if not problems:
            return
        # a cluster-scoped object of an earlier run may still be terminating on a real server
        leftover = code == 409 and step.get("method") == "POST"
        if not (step.get("retry") or leftover) or loop.time() > deadline:
            raise RuntimeError(f"{where} failed: {'; '.join(problems)}")
        await asyncio.sleep(delay)  # a real server applies CRDs and policies asynchronously
        delay = min(delay * 2, 1.0)


# -------------------------------------------------------------------------------- kubeconfig


def target_from_kubeconfig(path: Path) -> Target:
    """The current context of a kubeconfig: server, CA, bearer token or client certificate."""
    config = yaml.safe_load(path.read_text())
    context_name = config.get("current-context")
    context = next(c["context"] for c in config["contexts"] if c["name"] == context_name)
    cluster = next(c["cluster"] for c in config["clusters"] if c["name"] == context["cluster"])
    user: dict[str, Any] = next(
        (u["user"] for u in config.get("users") or [] if u["name"] == context.get("user")), {}
    )
    ctx: ssl.SSLContext | bool = True
    if str(cluster["server"]).startswith("https"):
        ctx = ssl.create_default_context()
        if cluster.get("insecure-skip-tls-verify"):
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif cluster.get("certificate-authority-data"):
            ctx.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        elif cluster.get("certificate-authority"):
            ctx.load_verify_locations(cafile=cluster["certificate-authority"])
        cert, key = _client_files(user)
        if cert:
            ctx.load_cert_chain(cert, key)
    headers = {"Accept": "application/json"}
    if user.get("token"):
        headers["Authorization"] = f"Bearer {user['token']}"
    return Target(url=str(cluster["server"]).rstrip("/"), headers=headers, ssl_context=ctx)


def _client_files(user: dict[str, Any]) -> tuple[str | None, str | None]:
    if user.get("client-certificate-data"):
        folder = Path(tempfile.mkdtemp(prefix="corpus-"))
        cert, key = folder / "client.crt", folder / "client.key"
        cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
        key.write_bytes(base64.b64decode(user["client-key-data"]))
        key.chmod(0o600)
        return str(cert), str(key)
    return user.get("client-certificate"), user.get("client-key")


# ----------------------------------------------------------------------------------------- CLI


def iter_failures(outcomes: list[Outcome]) -> Iterator[str]:
    for outcome in outcomes:
        if not outcome.passed:
            yield f"FAIL {outcome.case.suite} / {outcome.case.name}: {'; '.join(outcome.problems)}"


async def _main(suites: list[Suite], real: Target | None) -> int:
    server = None
    if real is None:
        from kubesim.server import SimServer

        server = SimServer("corpus")
        await server.start()
        target = Target(url=server.url, headers={"Authorization": f"Bearer {server.admin_token}"})
    else:
        target = real
    total = failed = 0
    try:
        for suite in suites:
            outcomes = await run_suite(suite, target, real=real is not None)
            total += len(outcomes)
            for line in iter_failures(outcomes):
                failed += 1
                print(line)
    finally:
        if server is not None:
            await server.close()
    print(f"{total - failed}/{total} cases passed ({len(suites)} suites)")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubesim.corpus", description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", help="suite files or directories")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--kubeconfig", help="run against the current context of this kubeconfig")
    where.add_argument("--kubesim", action="store_true", help="run against a fresh in-process kubesim")
    args = parser.parse_args(argv)
    suites = load_all([Path(p) for p in args.files])
    real = None if args.kubesim else target_from_kubeconfig(Path(args.kubeconfig).expanduser())
    return asyncio.run(_main(suites, real))


if __name__ == "__main__":
    sys.exit(main())
