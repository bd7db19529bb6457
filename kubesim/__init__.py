"""kubesim: an embedded, in-process Kubernetes-compatible API server for tests, demos and
benchmarks. Independent of every other Waybill package.

``SimServer`` (``kubesim.server``) is the entry point; ``kubesim.store`` documents the store API
in-process controllers use; ``kubesim.testing`` is the pytest plugin. See docs/kubesim.md.
"""

from kubesim.faults import Faults
from kubesim.server import SimServer

__all__ = ["Faults", "SimServer"]
