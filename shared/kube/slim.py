"""Load kubernetes-asyncio without its ~850 generated API and model modules.

Waybill's client (``shared/kube/client.py``) uses only kubernetes-asyncio's kubeconfig and
in-cluster loaders, its ``Configuration`` and its ``ApiClient`` REST machinery, always with raw
(unstructured) bodies. Importing the package normally also imports every generated API class
and model — about 33 MB of resident memory that an idle agent on every member would carry for
nothing (the idle-agent target is < 80 MB RSS).

:func:`install` registers the ``kubernetes_asyncio`` and ``kubernetes_asyncio.client`` packages
as plain package modules (same ``__path__``, so submodules still import from the real files)
and loads just the submodules the client needs. It must run before anything imports
kubernetes-asyncio; it refuses (returns False) when the package is already loaded. Long-running
processes opt in at start (``waybill agent``, ``waybill hub``); tests and libraries that want
the full generated client simply never call it.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

_PACKAGES = ("kubernetes_asyncio", "kubernetes_asyncio.client", "kubernetes_asyncio.client.models")


def install() -> bool:
    """Make later ``import kubernetes_asyncio...`` statements load the slim package; True if done."""
    if any(name in sys.modules for name in _PACKAGES):
        return False
    spec = importlib.util.find_spec("kubernetes_asyncio")
    if spec is None or spec.origin is None:
        return False
    root = Path(spec.origin).parent
    modules: dict[str, types.ModuleType] = {}
    for name in _PACKAGES:
        module = types.ModuleType(name)
        module.__path__ = [str(root.joinpath(*name.split(".")[1:]))]
        module.__package__ = name
        sys.modules[name] = module
        modules[name] = module
    top, client = modules["kubernetes_asyncio"], modules["kubernetes_asyncio.client"]
    top.client = client  # type: ignore[attr-defined]
    client.models = modules["kubernetes_asyncio.client.models"]  # type: ignore[attr-defined]
    try:
        configuration = importlib.import_module("kubernetes_asyncio.client.configuration")
        api_client = importlib.import_module("kubernetes_asyncio.client.api_client")
        client.Configuration = configuration.Configuration  # type: ignore[attr-defined]
        client.ApiClient = api_client.ApiClient  # type: ignore[attr-defined]
        client.rest = importlib.import_module("kubernetes_asyncio.client.rest")  # type: ignore[attr-defined]
        top.config = importlib.import_module("kubernetes_asyncio.config")  # type: ignore[attr-defined]
    except Exception:
        # A kubernetes-asyncio whose layout differs: fall back to the ordinary full import.
        for name in list(sys.modules):
            if name == "kubernetes_asyncio" or name.startswith("kubernetes_asyncio."):
                del sys.modules[name]
        return False
    return True
