"""``waybill demo`` end to end, as a newcomer runs it: a subprocess that must converge."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.timeout(180)
def test_demo_converges_and_exits_zero() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "waybill", "demo", "--timeout", "60"],
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "converged in" in out
    assert "status back on the hub in" in out
    assert "corrected the drift" in out
    # The default kubeconfig folder is temporary and gone by now: the demo must not point at it.
    assert "waybill-demo-" not in out
    # us1's copy carries the OverridePolicy's registry, the eu members the template's image.
    rows = {
        line.split()[0]: line.split()
        for line in out.splitlines()
        if line.startswith("    eu") or line.startswith("    us")
    }
    assert rows["us1"][3].startswith("registry.us.example/")
    assert rows["eu1"][3].startswith("docker.io/")
    # After scaling to 9, weights eu1:2 eu2:1 us1:3 give 3 / 1.5 / 4.5: the spare replica goes to
    # the heavier of the tied remainders (us1), as Karmada does; all replicas ready.
    assert (rows["eu1"][1], rows["eu2"][1], rows["us1"][1]) == ("3", "1", "5")
    assert all(row[1] == row[2] for row in rows.values())
