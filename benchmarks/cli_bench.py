"""How long the CLI takes to start and to give up on a dead API server (prints figures).

    python benchmarks/cli_bench.py [--runs 5]

Wall-clock figures depend on the machine; the tests pin only the attempt count.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml


def dead_kubeconfig(directory: Path) -> Path:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "dead",
        "clusters": [{"name": "dead", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
        "users": [{"name": "dead", "user": {"token": "x"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "dead"}}],
    }
    path = directory / "dead.kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


def timed(argv: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "waybill", *argv], capture_output=True, check=False)
        out.append(time.monotonic() - started)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dead = dead_kubeconfig(Path(tmp))
        for label, argv in (
            ("waybill version --client", ["version", "--client"]),
            ("waybill get clusters (dead API server)", ["get", "clusters", "--kubeconfig", str(dead)]),
        ):
            figures = timed(argv, args.runs)
            print(
                f"{label:<42} median {statistics.median(figures):.2f}s  min {min(figures):.2f}s  "
                f"max {max(figures):.2f}s  ({args.runs} runs)"
            )


if __name__ == "__main__":
    main()
