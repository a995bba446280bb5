"""Browser tests: the course as a learner sees it, in JupyterLab driven by headless Chromium.

One JupyterLab server (the environment's own ``jupyter lab``, with the learner settings of
``scripts/learner_setup.py``) and one Chromium serve the whole session. The server runs on a free loopback port
with a random token and throwaway config, data, runtime, settings and workspace directories, so the user's
Jupyter configuration is neither read nor written; the environment's labextensions are still found because
``sys.prefix/share/jupyter`` stays on the data path.

Chromium is the first of ``$BACKPROPLAB_CHROMIUM``, ``chromium``, ``chromium-browser``, ``google-chrome``,
``google-chrome-stable`` found on PATH (``make test`` installs Debian's when none is; a browser downloaded by
Playwright is never used). Without one the tests fail.

``BACKPROPLAB_BROWSER_ROOT`` points the tests at another tree holding ``course/*/*.ipynb`` and
``solutions/*/*.ipynb`` (for developing these tests); by default that is the repository.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

# tests/browser/lab_driver.py and scripts.learner_setup, whatever pytest's import mode is.
for _p in (str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[2])):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from lab_driver import ARTIFACTS, REPORT, ROOT, descendants  # noqa: E402

CHROMIUM_ENV = "BACKPROPLAB_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives JupyterLab in headless Chromium (tests/browser)")


# ------------------------------------------------------------------------------------------- timing
_TIMES: dict[str, float] = {}
_BROWSER_TESTS: set[str] = set()


def pytest_collection_modifyitems(items):
    _BROWSER_TESTS.update(item.nodeid for item in items if item.get_closest_marker("browser"))


def pytest_runtest_logreport(report):
    if report.nodeid in _BROWSER_TESTS:
        _TIMES["total"] = _TIMES.get("total", 0.0) + report.duration
        if report.when == "call":
            _TIMES["tests"] = _TIMES.get("tests", 0) + 1


def pytest_terminal_summary(terminalreporter):
    if not _TIMES.get("tests"):
        return
    tr = terminalreporter
    tr.write_sep("-", "browser tests (JupyterLab + headless Chromium)")
    tr.write_line(f"{_TIMES['tests']} browser tests in {_TIMES['total']:.1f} s "
                  f"(server start {_TIMES.get('server_start', 0.0):.1f} s)")
    for key in ("memory", "screenshots"):
        if key in REPORT:
            tr.write_line(REPORT[key])


# ------------------------------------------------------------------------------------------- server
def find_chromium() -> str | None:
    for name in (os.environ.get(CHROMIUM_ENV, ""), *CHROMIUM_NAMES):
        if name and (path := shutil.which(name)):
            return path
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    proc: subprocess.Popen
    log: Path

    def get(self, path: str, **params) -> tuple[int, str]:
        query = "&".join(f"{k}={v}" for k, v in {**params, "token": self.token}.items())
        try:
            with urllib.request.urlopen(f"{self.url}{path}?{query}", timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")

    def saved_files(self) -> list[str]:
        """Files the server wrote through its contents API (it logs every save)."""
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return []
        return [line.split("Saving file at", 1)[1].strip() for line in lines if "Saving file at" in line]

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"


def _start_server(base: Path, root: Path = ROOT, env_extra: dict | None = None) -> LabServer:
    """A JupyterLab server on ``root`` (default: the course), its kernels with ``env_extra`` in their environment
    (a learner build's test puts the build's package first: ``PYTHONPATH``)."""
    from scripts import learner_setup

    # The learner settings, written by the real script into a throwaway prefix placed first on the config path.
    prefix = base / "learner-prefix"
    prefix.mkdir()
    learner_setup.setup(prefix)
    # Test-only user settings: never autosave (the tests must not write outputs into committed notebooks).
    user_settings = base / "user-settings"
    (user_settings / "@jupyterlab" / "docmanager-extension").mkdir(parents=True)
    (user_settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings").write_text(
        json.dumps({"autosave": False}))
    env = {k: v for k, v in os.environ.items()
           if k not in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "JUPYTERLAB_DIR", "JUPYTER_NO_CONFIG")}
    env.update(
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(user_settings),
        JUPYTER_CONFIG_PATH=str(prefix / "etc" / "jupyter"),
        IPYTHONDIR=str(base / "ipython"),
        PYTHONNOUSERSITE="1",  # no ~/.local/{etc,share}/jupyter either
        PYTHONUNBUFFERED="1",
        **(env_extra or {}),
    )
    token = secrets.token_hex(24)
    log = base / "server.log"
    last_error = ""
    for _attempt in range(3):  # a free port can be taken between probing and binding
        port = _free_port()
        cmd = [
            sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            f"--LabApp.app_settings_dir={prefix / 'share' / 'jupyter' / 'lab' / 'settings'}",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, as JupyterLab's own UI tests use
            f"--FileCheckpoints.checkpoint_dir={base / 'checkpoints'}",  # no .ipynb_checkpoints/ in the tree
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--ServerApp.allow_root=True")
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        server = LabServer(f"http://127.0.0.1:{port}", token, root, proc, log)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if server.get("/api/status")[0] == 200:
                    return server
            except OSError:
                pass
            time.sleep(0.2)
        last_error = server.log_tail()
        _stop_server(server)
    pytest.fail(f"JupyterLab did not start. Server log:\n{last_error}", pytrace=False)


def _stop_server(server: LabServer) -> None:
    proc = server.proc
    if proc.poll() is None:
        kids = descendants(proc.pid)
        proc.send_signal(signal.SIGTERM)  # the server shuts its kernels down
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        for pid in kids:  # only processes this server started
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    t0 = time.perf_counter()
    server = _start_server(tmp_path_factory.mktemp("jupyterlab"))
    _TIMES["server_start"] = time.perf_counter() - t0
    yield server
    _stop_server(server)
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(server.log, ARTIFACTS / "jupyterlab-server.log")


@pytest.fixture(scope="session")
def browser():
    exe = find_chromium()
    if exe is None:
        names = ", ".join([f"${CHROMIUM_ENV}", *CHROMIUM_NAMES])
        pytest.fail(f"No Chromium or Chrome found on PATH (looked for {names}). Run `make browser` "
                    f"(scripts/ensure-chromium.sh installs Debian's chromium) or set {CHROMIUM_ENV}.",
                    pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("The Python package `playwright` is missing: `pip install -e '.[dev]'`.", pytrace=False)
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
    except Exception as exc:
        pw.stop()
        pytest.fail(f"Could not launch {exe}: {exc}", pytrace=False)
    yield chromium
    chromium.close()
    pw.stop()


@pytest.fixture(scope="session")
def page(browser, lab_server):
    context = browser.new_context(viewport=VIEWPORT)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.bplab_errors = []  # uncaught page errors, reported on failure
    pg.on("pageerror", lambda exc: pg.bplab_errors.append(str(exc)))
    pg.on("dialog", lambda dialog: dialog.accept())  # "leave this page?" when a test fails mid-notebook
    yield pg
    context.close()


@pytest.fixture(scope="session")
def lab(page, lab_server):
    from lab_driver import Lab

    return Lab(page, lab_server)


def in_a_thread(fn, seconds: float = 600):
    """``fn()`` in a thread of its own; returns what it returns and raises what it raises (a test's failure too).
    For Playwright's sync API outside this folder's fixtures: it refuses a thread whose asyncio loop is running,
    and a test process that ran tests/browser holds the session's Playwright, whose loop counts as running in the
    main thread."""
    out: dict = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as exc:  # noqa: BLE001  (re-raised in the caller's thread)
            out["error"] = exc

    thread = threading.Thread(target=run, name=getattr(fn, "__name__", "browser"))
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"the browser session did not end within {seconds:.0f} s"
    if "error" in out:
        raise out["error"]
    return out.get("value")
