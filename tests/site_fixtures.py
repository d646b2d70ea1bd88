"""Session fixtures: the repository's own scan, built once (both editions, with PDF) for the
site/PDF tests and the browser test.

``built_site``   -> Path of the output folder (``<out>/public``, ``<out>/restricted``).
``rebuilt_site`` -> Path of a second, independent build of the public edition with the same
                    SOURCE_DATE_EPOCH (for the determinism test). When a collected test asks for
                    it, it is started at the same time as the first build so the two overlap.

Registered in conftest.py (``from site_fixtures import ...``) so that every module shares one
build per session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# 2013-01-01T00:00:00Z: fixed, so that both builds (and the PDF dates) are reproducible.
SOURCE_DATE_EPOCH = "1356998400"
BUILD_TIMEOUT = 300


def _start(out: Path, *editions: str) -> subprocess.Popen:
    env = dict(os.environ, NO_COLOR="1", PYTHONDONTWRITEBYTECODE="1", SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH)
    return subprocess.Popen([sys.executable, "-m", "envscan.cli", "build", *editions, "--out", str(out), "-q"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen, out: Path) -> Path:
    try:
        stdout, stderr = proc.communicate(timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"envscan build into {out} did not finish in {BUILD_TIMEOUT} s")
    if proc.returncode != 0:
        errors = [ln for ln in stderr.splitlines() if "error" in ln.lower()]
        pytest.fail(f"envscan build failed (exit {proc.returncode}) into {out}:\n" + "\n".join(errors[:40])
                    + f"\n--- stdout tail ---\n{stdout[-2000:]}\n--- stderr tail ---\n{stderr[-3000:]}")
    return out


@pytest.fixture(scope="session")
def _site_builds(request, tmp_path_factory):
    """Starts the build(s) once; fixtures below wait for the one they need."""
    wants_rebuild = any("rebuilt_site" in getattr(item, "fixturenames", ()) for item in request.session.items)
    base = tmp_path_factory.mktemp("envscan-built")
    first = base / "a"
    procs = {"first": (_start(first), first)}
    if wants_rebuild:
        second = base / "b"
        procs["second"] = (_start(second, "public"), second)
    done: dict[str, Path | str] = {}

    def get(name: str) -> Path:
        if name not in done:
            if name not in procs:  # asked for although not announced at collection time
                out = base / "b"
                procs[name] = (_start(out, "public"), out)
            try:
                done[name] = _finish(*procs[name])
            except pytest.fail.Exception as exc:
                done[name] = str(exc)
        if isinstance(done[name], str):
            pytest.fail(done[name], pytrace=False)
        return done[name]

    yield get
    for proc, _ in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


@pytest.fixture(scope="session")
def built_site(_site_builds) -> Path:
    """Output folder of `envscan build --out DIR -q` (all editions, with PDF) of the repository."""
    return _site_builds("first")


@pytest.fixture(scope="session")
def rebuilt_site(_site_builds) -> Path:
    """A second build of the public edition (same SOURCE_DATE_EPOCH, another folder)."""
    return _site_builds("second")
