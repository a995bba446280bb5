"""The grader's side of :mod:`.forkserver`: one kernel template per grading process and interpreter, started on
first use, and :class:`ForkedKernel`, the handle :mod:`.kernelclient` gives jupyter_client in place of a
``Popen`` (``poll``, ``wait``, ``send_signal``, ``kill``, ``terminate``).

A kernel forked from the template costs what its own code costs: the template has imported numpy, matplotlib,
ipywidgets, IPython and the package once, so a child skips about half a second of CPU time per notebook. The
template is switched off with ``BACKPROPLAB_KERNEL_TEMPLATE=0`` (every kernel is then a fresh interpreter
started through ``unshare``/``setpriv``/``prlimit``, see :func:`.confine.build_launch`).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

#: ``0`` turns the kernel template off (each kernel then starts a new interpreter).
SWITCH_ENV = "BACKPROPLAB_KERNEL_TEMPLATE"
#: Variables of a kernel's environment that decide what its imports do (:mod:`backproplab.headless`): a template
#: is started with the kernel's values, and kernels with other values get another template.
IMPORT_ENV = ("NBGRADER_EXECUTION", "BACKPROPLAB_DRAW")
#: Seconds the template may take to import what it preloads.
START_TIMEOUT = 120.0


def enabled() -> bool:
    return os.environ.get(SWITCH_ENV, "1") != "0"


class TemplateError(RuntimeError):
    """The template could not be started or could not fork a kernel."""


class Template:
    """One running kernel template (``python -P -m backproplab.sandbox.forkserver``)."""

    def __init__(self, python: str, env: dict[str, str]):
        self.python = python
        self._lock = threading.Lock()
        self._exits: dict[int, int] = {}
        self._buffer = b""
        ours, theirs = socket.socketpair()
        self._home = tempfile.mkdtemp(prefix="backproplab-template-")
        env = {**env, "HOME": self._home, "MPLCONFIGDIR": os.path.join(self._home, "matplotlib"),
               "IPYTHONDIR": os.path.join(self._home, "ipython")}
        try:
            self.process = subprocess.Popen([python, "-P", "-m", "backproplab.sandbox.forkserver",
                                             str(theirs.fileno())], pass_fds=[theirs.fileno()], env=env,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            theirs.close()
        self._sock = ours
        ready = self._read(START_TIMEOUT, "ready")
        if "ready" not in ready:
            raise TemplateError(f"the kernel template did not start: {ready}")

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def spawn(self, request: dict) -> ForkedKernel:
        with self._lock:
            self._sock.sendall((json.dumps({"request": request}) + "\n").encode())
            answer = self._read(30.0, "spawned", "failed")
        if "spawned" not in answer:
            raise TemplateError(f"the kernel template could not fork a kernel: {answer.get('failed', answer)}")
        return ForkedKernel(int(answer["spawned"]), self)

    def exit_status(self, pid: int) -> int | None:
        """The child's exit status once the template has reaped it (None while it runs)."""
        with self._lock:
            self._drain()
            if pid in self._exits:
                return self._exits[pid]
        if not self.alive and not os.path.exists(f"/proc/{pid}"):  # the template is gone: ask /proc
            return -1
        return None

    def forget(self, pid: int) -> None:
        with self._lock:
            self._exits.pop(pid, None)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()  # the template kills its kernels and exits
        with contextlib.suppress(Exception):
            self.process.wait(10)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self._home, ignore_errors=True)

    # messages -------------------------------------------------------------------------------------
    def _take(self, message: dict) -> dict | None:
        if "exited" in message:
            self._exits[int(message["exited"])] = int(message["status"])
            return None
        return message

    def _drain(self) -> None:
        """Read what the template has said without waiting (exit notices)."""
        if self._sock.fileno() < 0:  # closed
            return
        self._sock.setblocking(False)
        try:
            while True:
                chunk = self._sock.recv(1 << 16)
                if not chunk:
                    break
                self._buffer += chunk
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                self._sock.setblocking(True)
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            self._take(json.loads(line))

    def _read(self, timeout: float, *wanted: str) -> dict:
        """The next message with one of the ``wanted`` keys (exit notices on the way are kept)."""
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                message = self._take(json.loads(line))
                if message is not None and any(k in message for k in wanted):
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                return {"failed": f"no answer within {timeout:g} s"}
            self._sock.settimeout(left)
            try:
                chunk = self._sock.recv(1 << 16)
            except TimeoutError:
                continue
            finally:
                self._sock.settimeout(None)
            if not chunk:
                return {"failed": f"the template exited (status {self.process.wait()})"}
            self._buffer += chunk


class ForkedKernel:
    """A kernel forked by a :class:`Template`, with the part of ``subprocess.Popen`` jupyter_client uses."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, template: Template):
        self.pid = pid
        self.returncode: int | None = None
        self._template = template

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self._template.exit_status(self.pid)
            if self.returncode is not None:
                self._template.forget(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:  # not reaped: the pid is still this kernel's
            os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


_TEMPLATES: dict[tuple, Template] = {}
_STARTING = threading.Lock()


def template(python: str, env: dict[str, str]) -> Template:
    """This process's template for ``python`` and the environment ``env`` (started, or restarted if it died)."""
    key = (python, os.getpid(), tuple(sorted(env.items())))
    with _STARTING:
        current = _TEMPLATES.get(key)
        if current is None or not current.alive:
            if current is not None:
                current.close()
            current = _TEMPLATES[key] = Template(python, env)
    return current


def templates() -> list[Template]:
    """This process's templates."""
    return [found for key, found in _TEMPLATES.items() if key[1] == os.getpid()]


@atexit.register
def close_all() -> None:
    for key, found in list(_TEMPLATES.items()):
        if key[1] == os.getpid():
            found.close()
        _TEMPLATES.pop(key, None)
