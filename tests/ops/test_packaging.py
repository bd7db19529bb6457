"""Packaging: the image's pins and labels, and a wheel built from the repo that installs in a
fresh virtualenv, knows its version and runs ``waybill demo`` from there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_dockerfile_pins_labels_and_user() -> None:
    text = (ROOT / "Dockerfile").read_text()
    image = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert image, "the base image is an ARG with a default"
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-[a-z]+", image.group(1)), "exact Python release and suite"
    assert re.findall(r"^FROM (\S+)", text, re.MULTILINE) == ["${PYTHON_IMAGE}", "${PYTHON_IMAGE}"]
    assert re.search(r"^ARG VERSION=(\S+)$", text, re.MULTILINE).group(1) == PROJECT["version"]  # type: ignore[union-attr]
    for label in ("title", "description", "version", "licenses", "source"):
        assert f"org.opencontainers.image.{label}=" in text, label
    assert re.search(r"^USER 65532:65532$", text, re.MULTILINE)
    assert 'ENTRYPOINT ["waybill"]' in text


def test_dependencies_have_upper_bounds() -> None:
    for requirement in PROJECT["dependencies"]:
        assert "<" in requirement, f"{requirement} has no upper bound"


def test_wheel_installs_in_a_fresh_venv_and_runs_the_demo(tmp_path: Path) -> None:
    # Build from a copy of what the Dockerfile copies, so no build/ directory is left in (or
    # reused from) the working tree.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, source / name)
    for package in ("hub", "agent", "shared", "kubesim", "waybill"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(source)],
        check=True,
        timeout=300,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = dist.glob("waybill-*.whl")
    assert wheel.name.startswith(f"waybill-{PROJECT['version']}-")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    # The dependencies come from this test run's environment (no index needed); the waybill
    # package itself only from the fresh venv: a path listed in a .pth is not scanned for .pth
    # files, so this environment's editable install of the repo stays out of sight.
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    Path(site, "zz-test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    where = subprocess.run(
        [str(python), "-c", "import waybill, hub; print(waybill.__file__, hub.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert all(path.startswith(str(venv)) for path in where.stdout.split()), where.stdout
    waybill = venv / "bin" / "waybill"
    version = subprocess.run(
        [str(python), "-c", "from shared.version import version; print(version())"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert version.stdout.strip() == PROJECT["version"]
    demo = subprocess.run(
        [str(waybill), "demo"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        env={**env, "TMPDIR": str(tmp_path)},
    )
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "The fleet converged" in demo.stdout
