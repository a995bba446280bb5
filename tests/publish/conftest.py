"""The learner build, published once per test run, in a process of its own started as soon as a test process
collects a test that needs it: publishing (about a minute of CPU) then runs beside the other tests instead of
before the tests that use it. Each test module gets its own copy (``build``): a module that runs kernels or a
JupyterLab on it (``__pycache__``, checkpoints) leaves the others' copies as published."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
#: Seconds a test waits for the build before it fails (publishing takes 60-160 s on 2 busy CPUs).
WAIT = 1200
#: Numpy's threads only fight the test processes for the CPUs (publishing's arrays are small).
ONE_THREAD = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
_STARTED: list[subprocess.Popen] = []  # the publishing process this test process started, if it did


def _folder(config) -> Path:
    """The run's publish folder: shared by every xdist worker of the run (the parent of their temp folders)."""
    base = config._tmp_path_factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "publish-once"


def _start(folder: Path) -> None:
    """Start publishing into ``folder`` unless a process of this run already did."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / "started").exists():
            return
        (folder / "started").write_text(str(os.getpid()))
        with open(folder / "log", "w") as log:
            _STARTED.append(subprocess.Popen([sys.executable, "-m", "tests.publish.build_once", str(folder)],
                                             cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=ONE_THREAD,
                                             start_new_session=True))


def pytest_collection_modifyitems(config, items):
    if any(HERE in item.path.parents and "build" in getattr(item, "fixturenames", ())
           for item in items):
        _start(_folder(config))


def pytest_sessionfinish(session):
    for proc in _STARTED:  # a run stopped early: no publishing left behind
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="session")
def published(request) -> tuple[Path, dict]:
    """``(folder, {file: bytes})`` of the run's build, once it is complete."""
    folder = _folder(request.config)
    _start(folder)
    deadline = time.monotonic() + WAIT
    while not (folder / "done.json").exists():
        if (folder / "failed").exists():
            pytest.fail("publishing the learner build failed:\n" + (folder / "failed").read_text()[-4000:],
                        pytrace=False)
        if any(proc.poll() not in (None, 0) for proc in _STARTED):
            pytest.fail("the publishing process died:\n" + (folder / "log").read_text()[-4000:], pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(f"the learner build is not published after {WAIT} s", pytrace=False)
        time.sleep(0.2)
    return folder / "learners", json.loads((folder / "done.json").read_text())


@pytest.fixture(scope="module")
def build(published, tmp_path_factory) -> Path:
    """This module's copy of the run's build."""
    source, files = published
    assert files and all(size > 0 or name.endswith(("__init__.py", "skipped.txt")) for name, size in files.items())
    out = tmp_path_factory.mktemp("publish") / "learners"
    shutil.copytree(source, out, symlinks=True)
    return out
