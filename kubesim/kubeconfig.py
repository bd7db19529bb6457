"""kubeconfig files for a server: cluster URL, optional CA, one token user, one context."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import yaml


def render(*, cluster: str, server: str, token: str, user: str, ca_pem: str | None = None) -> str:
    cluster_entry: dict[str, object] = {"server": server}
    if ca_pem:
        cluster_entry["certificate-authority-data"] = base64.b64encode(ca_pem.encode()).decode()
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": cluster_entry}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
        "preferences": {},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path
