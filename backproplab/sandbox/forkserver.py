"""A kernel template: one process per grading worker that has imported, once, what every grading kernel imports
(numpy, matplotlib's Agg backend, ipywidgets, IPython, ipykernel, the ``backproplab`` package with its poisoned
references), and forks a fresh child for each kernel. Started by :mod:`.forked`:
``python -P -m backproplab.sandbox.forkserver FD`` (``FD``: its end of a socket pair with the grader).

The template itself never runs learner code: it reads requests from the grader only, and each child confines
itself completely before the kernel exists, in the order the ``exec`` path of :mod:`.confine` uses:

1. its output goes to the run's log, its input is ``/dev/null``, every other inherited descriptor is closed,
   and it leads a session of its own (the grader kills a run's strays by session);
2. its namespaces: as root, private mount, network and IPC namespaces; as an ordinary user, a user namespace
   of its own first (uid and gid mapped to the grading user's, ``setgroups`` denied), like ``unshare``;
3. :func:`.enter.apply`: the run's cgroups, the mounts that hide the course, ``/proc``, Landlock;
4. no privilege left: ``no_new_privs``, an empty bounding set, then as root the leased uid (no groups), and in
   every mode no capability at all, checked in ``/proc/self/status`` (a child that still has one stops);
5. the resource limits of :class:`.limits.Limits` (what ``prlimit`` sets on the other path);
6. the kernel's whole environment (nothing of the template's), fresh random seeds, default signal handlers;
7. :func:`.kernel.start`: the seccomp filter, then the kernel.

Each kernel is a new process: no interpreter state passes from one submission to the next (the template's
memory holds only imported modules and the grader's requests: folder names and seeds, never a learner's code
or output). A child that fails a step exits with status 97 before any learner code exists; the grader then
reports a kernel that did not start, never an unconfined one.

Protocol (one JSON object a line): the grader sends ``{"request": ...}``; the template answers
``{"spawned": PID}`` or ``{"failed": WHY}``, and ``{"exited": PID, "status": CODE}`` when a child ends. On end of
file (the grader has gone, even killed: its end of the socket is closed then) the template kills its
children and exits. (Not ``PR_SET_PDEATHSIG``: it fires when the thread that started the template ends.)
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import resource
import selectors
import signal
import sys

CLONE_NEWNS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x08000000, 0x10000000, 0x40000000
PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 24, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522
#: Exit status of a child that could not confine itself (the same as :mod:`.enter`'s).
FAILED = 97

_libc = ctypes.CDLL(None, use_errno=True)

_RLIMITS = {"cpu": resource.RLIMIT_CPU, "as": resource.RLIMIT_AS, "nproc": resource.RLIMIT_NPROC,
            "fsize": resource.RLIMIT_FSIZE, "nofile": resource.RLIMIT_NOFILE, "core": resource.RLIMIT_CORE}


#: What a kernel imported after the fork, in its start-up and first cells, before they were preloaded here (about
#: 20 ms of CPU time per kernel; ``tests/grading/test_kernel_costs.py`` checks that a kernel imports nothing at
#: start-up that the template has not).
KERNEL_START_IMPORTS = (
    "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.logger", "IPython.core.oinspect",
    "IPython.extensions.storemagic", "IPython.utils.wildcard", "bdb", "cmd", "faulthandler", "pdb", "sqlite3",
    "importlib.readers", "importlib.resources.readers", "tornado.platform.asyncio", "unicodedata", "secrets",
    "numpy.random",  # the child's fresh seeds (_fresh_state)
)


def preload() -> None:
    """What every grading kernel imports before its first cell, and what the course's notebooks import first.

    The template's environment holds the kernel's :data:`.forked.IMPORT_ENV` (``NBGRADER_EXECUTION``,
    ``BACKPROPLAB_DRAW``), so :mod:`backproplab.plots` and :mod:`backproplab.widgets` are imported exactly as a
    kernel would import them: stand-ins while grading (:mod:`backproplab.headless`; matplotlib and ipywidgets
    then stay unloaded, as in a kernel started the other way), the real modules when drawing."""
    from backproplab.sandbox import kernel

    kernel.prepare()
    import ipykernel.debugger  # noqa: F401  (finds debugpy unimportable: kernel.NOT_IMPORTED)
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.zmqshell  # noqa: F401

    for name in KERNEL_START_IMPORTS:
        importlib.import_module(name)

    import backproplab.plots  # noqa: F401
    import backproplab.widgets  # noqa: F401
    from backproplab import headless
    from backproplab.sandbox import enter, landlock, seccomp  # noqa: F401

    if not headless.active():
        import ipywidgets  # noqa: F401
        import matplotlib.pyplot  # noqa: F401


# ------------------------------------------------------------------------------------------ the child
def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _write(path: str, text: str) -> None:
    with open(path, "w") as fh:
        fh.write(text)


def _namespaces(mode: str) -> None:
    if mode == "root":
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare")
    elif mode == "userns":
        uid, gid = os.getuid(), os.getgid()
        _check(_libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC), "unshare --user")
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"0 {uid} 1")
        _write("/proc/self/gid_map", f"0 {gid} 1")


def _last_cap() -> int:
    with open("/proc/sys/kernel/cap_last_cap") as fh:
        return int(fh.read())


def _drop_privileges(uid: int | None) -> None:
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    # root, or root of its own user namespace; an ordinary user without namespaces has no capability to drop
    # (and may not empty its bounding set, which then never grants one: no_new_privs)
    privileged = os.geteuid() == 0
    for cap in range(_last_cap() + 1) if privileged else ():
        _check(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"dropping capability {cap}")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    if uid is not None:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    header = (ctypes.c_uint32 * 2)(_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    _check(_libc.capset(header, data), "capset")
    _verify(uid, bounding=privileged)


def _verify(uid: int | None, bounding: bool) -> None:
    """Fail closed unless ``/proc/self/status`` shows no capability (and, if it was ``bounding``, an empty
    bounding set), ``no_new_privs`` and the expected uid."""
    with open("/proc/self/status") as fh:
        status = dict(line.rstrip("\n").split(":\t", 1) for line in fh if ":\t" in line)
    for name in ("CapInh", "CapPrm", "CapEff", "CapAmb", *(["CapBnd"] if bounding else [])):
        if int(status.get(name, "1"), 16) != 0:
            raise OSError(1, f"{name} is {status.get(name)} after dropping every capability")
    if status.get("NoNewPrivs", "0").strip() != "1":
        raise OSError(1, "no_new_privs is not set")
    if uid is not None and set(status["Uid"].split()) != {str(uid)}:
        raise OSError(1, f"uids {status['Uid']} instead of {uid}")


def _limit(limits: dict) -> None:
    for name, value in limits.items():
        resource.setrlimit(_RLIMITS[name], (int(value), int(value)))


def _fresh_state(env: dict) -> None:
    os.environ.clear()
    os.environ.update(env)
    signal.set_wakeup_fd(-1)
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    import random

    import numpy

    random.seed()
    numpy.random.seed()


def child(request: dict) -> None:
    """Confine this (just forked) process as ``request`` says and run the kernel in it; never returns."""
    try:
        log = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    except OSError:  # the run that asked is gone, its folder with it: nobody to tell (not the template's stderr)
        os._exit(FAILED)
    try:
        null = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        os.setsid()
        _namespaces(request["mode"])
        from backproplab.sandbox import enter

        if request.get("plan") is not None:
            enter.apply(request["plan"])
        else:
            os.chdir(request["cwd"])
        _drop_privileges(request.get("uid"))
        _limit(request["limits"])
        _fresh_state(request["env"])
    except BaseException as exc:  # noqa: BLE001 (any failure: the kernel never starts)
        try:
            os.write(2, f"backproplab sandbox: {type(exc).__name__}: {exc}\n".encode())
        finally:
            os._exit(FAILED)
    from backproplab.sandbox import kernel

    try:
        kernel.start(request["argv"])
    except BaseException:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


# --------------------------------------------------------------------------------------- the template
def _send(fd: int, message: dict, children: set[int]) -> None:
    """``message`` to the grader; when it has gone (its end closed: a broken pipe), the template leaves with its
    kernels, as on end of file."""
    data = (json.dumps(message) + "\n").encode()
    try:
        while data:
            data = data[os.write(fd, data):]
    except ConnectionError:
        _leave(children)


def _leave(children: set[int]) -> None:
    """The grader has gone: kill and reap the kernels (their CPU time counts), and exit."""
    for pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in children:
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
    os._exit(0)


def serve(fd: int) -> None:
    """Answer the grader's requests on ``fd`` until it closes its end."""
    children: set[int] = set()
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    selector.register(wake_r, selectors.EVENT_READ)
    buffer = b""
    while True:
        for key, _ in selector.select():
            if key.fd == wake_r:
                while True:
                    try:
                        if not os.read(wake_r, 4096):
                            break
                    except BlockingIOError:
                        break
                _reap(fd, children)
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except ConnectionError:
                chunk = b""
            if not chunk:  # the grader has gone: so do its kernels (reaped: their CPU time counts)
                _leave(children)
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                _spawn(fd, json.loads(line)["request"], children)
        _reap(fd, children)


def _spawn(fd: int, request: dict, children: set[int]) -> None:
    tasks = os.listdir("/proc/self/task")
    if len(tasks) != 1:  # forking a process with other threads could copy a lock in use
        _send(fd, {"failed": f"the kernel template has {len(tasks)} threads"}, children)
        return
    try:
        pid = os.fork()
    except OSError as exc:
        _send(fd, {"failed": f"fork: {exc}"}, children)
        return
    if pid == 0:
        child(request)
    children.add(pid)
    _send(fd, {"spawned": pid}, children)


def _reap(fd: int, children: set[int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        children.discard(pid)
        _send(fd, {"exited": pid, "status": os.waitstatus_to_exitcode(status)}, children)


def main(argv: list[str]) -> None:
    fd = int(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the grader's to handle
    preload()
    _send(fd, {"ready": os.getpid()}, set())
    serve(fd)


if __name__ == "__main__":
    main(sys.argv)
