"""Which kubeconfig a command uses, merged the way kubectl merges them.

``--kubeconfig F`` names exactly one file. Otherwise every file of ``$KUBECONFIG`` (split on
``os.pathsep``, missing files skipped) is merged in order: the first file to define a cluster,
user or context of a given name wins, and so does the first ``current-context``; relative file
paths inside a file are resolved against that file's folder. Without ``$KUBECONFIG``:
``~/.kube/config``. ``--context`` picks a context other than the current one.

Everything here is pure or reads files; talking to a server is :mod:`waybill.connect`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from waybill.errors import UsageError

# Fields of clusters/users holding a file path, resolved relative to the kubeconfig's folder.
_PATH_FIELDS = {
    "clusters": ("certificate-authority",),
    "users": ("client-certificate", "client-key", "tokenFile"),
}
_SECTIONS = ("clusters", "users", "contexts")
SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


def in_cluster() -> bool:
    """Whether this process runs in a pod with a service account (in-cluster config works)."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and Path(SERVICE_ACCOUNT_TOKEN).is_file()


@dataclass(frozen=True)
class LoadedKubeconfig:
    """A merged kubeconfig: ``config`` (one dict), the files it came from, the chosen context."""

    config: dict[str, Any]
    sources: tuple[str, ...]
    context: str | None

    @property
    def context_name(self) -> str:
        return self.context or str(self.config.get("current-context") or "")

    def selected(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        """(context, cluster, user) of the chosen context; empty dicts where absent."""
        contexts = {c.get("name"): c.get("context") or {} for c in self.config.get("contexts") or []}
        context = contexts.get(self.context_name) or {}
        clusters = {c.get("name"): c.get("cluster") or {} for c in self.config.get("clusters") or []}
        users = {u.get("name"): u.get("user") or {} for u in self.config.get("users") or []}
        return (
            dict(context),
            dict(clusters.get(context.get("cluster")) or {}),
            dict(users.get(context.get("user")) or {}),
        )

    @property
    def namespace(self) -> str | None:
        """The chosen context's namespace, if it sets one."""
        ns = self.selected()[0].get("namespace")
        return str(ns) if ns else None

    @property
    def server(self) -> str:
        return str(self.selected()[1].get("server") or "")


def candidate_files(flag: str | None, *, environ: Mapping[str, str] | None = None) -> list[str]:
    """The files to read, in order (pure: no file is opened)."""
    env = os.environ if environ is None else environ
    if flag:
        return [flag]
    listed = [p for p in env.get("KUBECONFIG", "").split(os.pathsep) if p]
    if listed:
        return listed
    return [str(Path.home() / ".kube" / "config")]


def _resolve_paths(document: dict[str, Any], base: Path) -> dict[str, Any]:
    for section, fields in _PATH_FIELDS.items():
        inner = section[:-1]  # clusters -> cluster, users -> user
        for entry in document.get(section) or []:
            body = entry.get(inner) if isinstance(entry, dict) else None
            if not isinstance(body, dict):
                continue
            for key in fields:
                value = body.get(key)
                if isinstance(value, str) and value and not Path(value).is_absolute():
                    body[key] = str(base / value)
    return document


def parse_file(path: str, text: str) -> dict[str, Any]:
    """One kubeconfig file's content as a dict, or a usage error saying what is wrong with it."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise UsageError(f"kubeconfig {path} is not YAML{where}: fix or replace the file") from exc
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise UsageError(
            f"kubeconfig {path} is not a kubeconfig (expected a mapping with clusters, users, contexts)"
        )
    for section in _SECTIONS:
        entries = document.get(section)
        if entries is not None and (
            not isinstance(entries, list) or not all(isinstance(e, dict) and e.get("name") for e in entries)
        ):
            raise UsageError(f"kubeconfig {path}: {section} must be a list of entries with a name")
    return _resolve_paths(document, Path(path).resolve().parent)


def merge(documents: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """kubectl's merge: first definition of each named entry wins, first current-context wins."""
    merged: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [],
        "users": [],
        "contexts": [],
    }
    seen: dict[str, set[str]] = {section: set() for section in _SECTIONS}
    for document in documents:
        if not merged.get("current-context") and document.get("current-context"):
            merged["current-context"] = document["current-context"]
        for section in _SECTIONS:
            for entry in document.get(section) or []:
                if entry["name"] not in seen[section]:
                    seen[section].add(entry["name"])
                    merged[section].append(entry)
    return merged


def load(flag: str | None, *, context: str | None = None) -> LoadedKubeconfig:
    """Read and merge the kubeconfig files; usage errors for missing, unreadable or bad files."""
    files = candidate_files(flag)
    explicit = bool(flag) or len(files) == 1
    documents: list[dict[str, Any]] = []
    sources: list[str] = []
    for path in files:
        if not Path(path).is_file():
            if explicit:
                how = (
                    "--kubeconfig" if flag else ("$KUBECONFIG" if os.environ.get("KUBECONFIG") else "default")
                )
                raise UsageError(f"kubeconfig {path} does not exist ({how}); pass --kubeconfig FILE")
            continue
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read kubeconfig {path}: {exc.strerror}") from exc
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UsageError(f"kubeconfig {path} is not a text file: fix or replace the file") from exc
        documents.append(parse_file(path, text))
        sources.append(path)
    if not documents:
        raise UsageError(
            f"none of the $KUBECONFIG files exist ({os.pathsep.join(files)}); pass --kubeconfig FILE"
        )
    loaded = LoadedKubeconfig(config=merge(documents), sources=tuple(sources), context=context)
    names = [c["name"] for c in loaded.config["contexts"]]
    if context and context not in names:
        raise UsageError(f"context {context!r} is not in the kubeconfig (have: {', '.join(names) or 'none'})")
    if not loaded.context_name:
        raise UsageError(f"kubeconfig {', '.join(sources)} has no current-context; pass --context")
    if loaded.context_name not in names:
        raise UsageError(f"kubeconfig current-context {loaded.context_name!r} is not defined; pass --context")
    return loaded
