"""Prometheus metrics: one Waybill registry and idempotent metric constructors.

All Waybill metrics live in :data:`REGISTRY` (not prometheus-client's global one) and are named
``waybill_<name>``. ``counter``/``gauge``/``histogram`` return the already-registered metric when
called again with the same name, so modules may declare metrics at import time and several
hubs or agents in one process (tests, the demo) share them, told apart by labels.

The registry also carries the standard process metrics (``process_cpu_seconds_total``,
``process_resident_memory_bytes``, ``process_open_fds``, ... and ``python_info``) and
``waybill_build_info{version,python}`` (always 1), so every scrape says what is running.
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Sequence
from typing import TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from shared.version import version

__all__ = ["PREFIX", "REGISTRY", "counter", "gauge", "histogram", "render"]

PREFIX = "waybill_"
REGISTRY = CollectorRegistry(auto_describe=True)
DEFAULT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_M = TypeVar("_M", Counter, Gauge, Histogram)
_metrics: dict[str, Counter | Gauge | Histogram] = {}
_lock = threading.Lock()


def _full_name(name: str) -> str:
    return name if name.startswith(PREFIX) else PREFIX + name


def _existing(name: str, kind: type[_M]) -> _M | None:
    found = _metrics.get(name)
    if found is None:
        return None
    if not isinstance(found, kind):
        raise ValueError(f"metric {name} already registered as {type(found).__name__}")
    return found


def counter(name: str, documentation: str, *, labels: Sequence[str] = ()) -> Counter:
    """The counter ``waybill_<name>`` (created on first use)."""
    full = _full_name(name)
    with _lock:
        found = _existing(full, Counter)
        if found is None:
            found = Counter(full, documentation, labelnames=tuple(labels), registry=REGISTRY)
            _metrics[full] = found
        return found


def gauge(name: str, documentation: str, *, labels: Sequence[str] = ()) -> Gauge:
    """The gauge ``waybill_<name>`` (created on first use)."""
    full = _full_name(name)
    with _lock:
        found = _existing(full, Gauge)
        if found is None:
            found = Gauge(full, documentation, labelnames=tuple(labels), registry=REGISTRY)
            _metrics[full] = found
        return found


def histogram(
    name: str,
    documentation: str,
    *,
    labels: Sequence[str] = (),
    buckets: Sequence[float] = DEFAULT_BUCKETS,
) -> Histogram:
    """The histogram ``waybill_<name>`` (created on first use)."""
    full = _full_name(name)
    with _lock:
        found = _existing(full, Histogram)
        if found is None:
            found = Histogram(
                full, documentation, labelnames=tuple(labels), buckets=tuple(buckets), registry=REGISTRY
            )
            _metrics[full] = found
        return found


ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)
BUILD_INFO = gauge("build_info", "Always 1; labels say which Waybill and Python are running",
                   labels=("version", "python"))
BUILD_INFO.labels(version(), platform.python_version()).set(1)


def render() -> tuple[bytes, str]:
    """The registry in Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
