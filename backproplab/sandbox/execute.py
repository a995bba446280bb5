"""Running one submission's notebook in a confined kernel: :func:`execute_confined`.

The notebook (already assembled: graded test cells are the release's, see
:mod:`backproplab.grading.sanitize`) runs cell by cell with nbclient in a kernel launched by
:mod:`.confine`, from a scratch copy in a fresh folder. Around every cell the grader (never the kernel)
enforces the wall-clock limits, caps the outputs it keeps and kills any process the cell left behind; around
every graded test cell it empties the record folder before and moves the records the cell wrote into the
caller's ``record_dir/<grade_id>/`` after, so that records written by any other cell, before or after, never
count. Whatever the learner's code does, the call returns.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import copy
import os
import re
import shutil
import stat
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from backproplab.sandbox.runsync import run_sync

from . import forked
from .cgroups import Cgroups
from .confine import (
    ACCEPT_WEAK_ENV,
    Scratch,
    UidLease,
    build_launch,
    can_confine,
    fork_request,
    kernel_env,
    running_as_root,
    template_env,
    userns_problem,
)
from .limits import DEFAULT_LIMITS, Limits
from .notebook import is_graded_test, read_notebook, with_cell_seeds
from .processes import cpu_seconds, kill_processes

#: Seconds a timed-out cell gets to stop after the interrupt before the kernel is killed. An interrupted kernel
#: first flushes what the cell printed: after a flood of output on a busy machine that took more than 5 s once
#: (the attack ``print_flood``, root mode, in a fresh clone's ``make test``), and the honest cells after it were
#: lost. An interrupt-proof loop costs this much more, once.
INTERRUPT_GRACE = 10.0
#: Largest record file accepted (bigger: the check's records count as unreadable).
MAX_RECORD_BYTES = 64 * 2**20
_RECORD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}\.(visible|hidden)\.\d{1,6}\.json$")


@dataclass
class Execution:
    """What :func:`execute_confined` returns."""

    nb: object  # the executed notebook (a copy; outputs capped)
    record_dir: Path  # trusted copies of the records, one folder per graded test cell: record_dir/<grade_id>/
    problem: str | None = None  # why the run stopped early (then later cells did not run), None if all ran
    incidents: list[str] = field(default_factory=list)  # timeouts, truncated outputs, killed processes
    graded_run: list[str] = field(default_factory=list)  # grade ids of the graded test cells that ran
    cell_seconds: dict[int, float] = field(default_factory=dict)  # cell index -> wall seconds it ran
    cell_cpu: dict[int, float] = field(default_factory=dict)  # cell index -> the kernel's CPU seconds in it
    timed_out: list[int] = field(default_factory=list)  # indexes of the cells interrupted at the cell timeout
    over_cpu: list[int] = field(default_factory=list)  # ... interrupted at the cell's CPU limit
    seconds: float = 0.0
    confinement: str = ""
    kernel_log: str = ""  # the end of the kernel's stderr (start-up failures)


def execute_confined(notebook, *, record_dir, seed: int, workdir=None, env: dict | None = None,
                     limits: Limits = DEFAULT_LIMITS, hide=(), keep=(), python: str | None = None,
                     files_from=None) -> Execution:
    """Run ``notebook`` (a path or a notebook node, never modified) in a confined kernel; never raises for
    anything the notebook's code does.

    ``record_dir``: a grader-owned folder that receives the trusted records (created if missing).
    ``seed``: the submission's grading seed (``BACKPROPLAB_GRADING_SEED`` of the kernel).
    ``workdir``: where the run's scratch folder is made (default: the system's temporary folder).
    ``env``: extra environment variables of the kernel (it inherits nothing from the grader).
    ``hide`` / ``keep``: extra paths to hide from / show read-only to the kernel.
    ``python``: the kernel's interpreter (default: this one; it must have ipykernel and backproplab).
    ``files_from``: a folder whose regular files (data next to the notebook; no links, no notebooks) are copied
    into the kernel's working folder. The notebook itself is never written to disk.
    """
    return run_sync(execute_confined_async(notebook, record_dir=record_dir, seed=seed, workdir=workdir,
                                              env=env, limits=limits, hide=hide, keep=keep, python=python,
                                              files_from=files_from))


async def execute_confined_async(notebook, *, record_dir, seed: int, workdir=None, env: dict | None = None,
                                 limits: Limits = DEFAULT_LIMITS, hide=(), keep=(),
                                 python: str | None = None, files_from=None) -> Execution:
    """:func:`execute_confined` as a coroutine: several runs can share one event loop."""
    nb = with_cell_seeds(copy.deepcopy(read_notebook(notebook)), seed)  # the kernel gets no seed of its own
    record_dir = Path(record_dir)
    record_dir.mkdir(parents=True, exist_ok=True)
    python = python or sys.executable
    start = time.monotonic()
    result = Execution(nb=nb, record_dir=record_dir)
    root = running_as_root()
    # root: mount namespaces work; an ordinary user: unprivileged user namespaces work
    problem = None if root else userns_problem()
    confined = can_confine() if root else problem is None
    if problem is not None and os.environ.get(ACCEPT_WEAK_ENV) != "1":  # never silently unconfined
        result.problem = (f"the grading kernel was not started: it could not be confined ({problem}); grade as "
                          f"root, or accept the weaker confinement (--accept-weak-confinement)")
        result.seconds = time.monotonic() - start
        return result
    lease = UidLease() if root else contextlib.nullcontext()
    with lease:
        uid = lease.uid if root else None
        scratch = cgroups = None
        try:
            scratch = Scratch.create(workdir, limits, uid, tmpfs=confined and root)
            if files_from is not None:
                skipped = _copy_files(Path(files_from), scratch.work, uid, limits.scratch_bytes // 2)
                if skipped:
                    result.incidents.append(f"{skipped} supporting file(s) not copied (links, or over the size limit)")
            if root:
                cgroups = Cgroups.create(f"backproplab-{uid}-{uuid.uuid4().hex[:8]}", limits)
            await _run(nb, result, scratch=scratch, cgroups=cgroups, uid=uid, seed=seed, env=env or {},
                       limits=limits, hide=list(hide), keep=list(keep), python=python, start=start,
                       namespace=confined)
        finally:
            if uid is not None:
                n = kill_processes(uid=uid)
                if n:
                    result.incidents.append(f"{n} process(es) left by the notebook were killed")
                lease.released_clean()  # nothing of the uid is left: the next run need not scan for it
            if cgroups is not None:
                cgroups.remove()
            if scratch is not None:
                scratch.remove()
    result.seconds = time.monotonic() - start
    return result


@dataclass
class _Session:
    """One confined run in progress: what :func:`_run`'s parts share."""

    nb: object
    result: Execution
    scratch: Scratch
    limits: Limits
    uid: int | None
    km: object
    client: object
    start: float
    kernel_pid: int | None = None
    scan_each_cell: bool = True


async def _run(nb, result: Execution, *, scratch: Scratch, cgroups, uid, seed, env, limits: Limits,
               hide, keep, python, start, namespace: bool) -> None:
    from .kernelclient import CappedClient, ConfinedKernelManager

    kernel_vars = {"BACKPROPLAB_RECORD_DIR": str(scratch.records),
                   "NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", **env}
    connection_file = str(scratch.run / "kernel.json")
    log_path = scratch.root / "kernel.log"
    log = open(log_path, "wb")  # noqa: SIM115 (closed below, after the kernel is gone)
    kernel_environment = kernel_env(scratch, kernel_vars, python)
    launch = spawn = None
    if forked.enabled():
        request, result.confinement = fork_request(
            scratch=scratch, connection_file=connection_file, env=kernel_environment, limits=limits, python=python,
            uid=uid, cgroups=cgroups, hide=hide, keep=keep, log=log_path, namespace=namespace)
        command = [python, "-m", "backproplab.sandbox.forkserver"]  # (what it is called; the template forks it)

        imports = {k: kernel_environment[k] for k in forked.IMPORT_ENV if k in kernel_environment}

        def spawn():
            return forked.template(python, {**template_env(python), **imports}).spawn(request)
    else:
        launch = build_launch(scratch=scratch, connection_file=connection_file, env=kernel_environment,
                              limits=limits, python=python, uid=uid, cgroups=cgroups, hide=hide, keep=keep,
                              namespace=namespace)
        command, result.confinement = launch.command, launch.description
    km = ConfinedKernelManager(kernel_name="python3", transport="ipc", ip=str(scratch.run / "kernel"),
                               connection_file=connection_file)
    km.setup(command, uid, log, limits.message_bytes, spawn=spawn)
    client = CappedClient(nb, km=km, timeout=max(1, int(limits.cell_timeout)), allow_errors=True,
                          interrupt_on_timeout=True, startup_timeout=int(limits.startup_timeout),
                          shutdown_kernel="immediate", iopub_timeout=2, raise_on_iopub_timeout=False,
                          record_timing=True, resources={"metadata": {"path": str(scratch.work)}})
    client.setup_caps(limits.output_bytes_per_cell, limits.output_bytes_total)
    session = _Session(nb, result, scratch, limits, uid, km, client, start)
    try:
        await _run_kernel(session, cgroups, namespace)
    finally:
        if uid is None and session.kernel_pid:
            n = kill_processes(session=session.kernel_pid)
            if n:
                result.incidents.append(f"{n} process(es) left by the notebook were killed")
        log.close()
        with contextlib.suppress(OSError):
            result.kernel_log = log_path.read_bytes()[-2000:].decode("utf-8", "replace")
        if launch is not None and launch.plan_path is not None:
            with contextlib.suppress(FileNotFoundError):
                launch.plan_path.unlink()
        _report_outputs(client, result, limits)


async def _run_kernel(session: _Session, cgroups, namespace: bool) -> None:
    """Start the kernel, run the cells, stop it (whatever happened)."""
    client, km, result, limits = session.client, session.km, session.result, session.limits
    # nbclient's setup adds loop handlers for SIGINT and SIGTERM and, removing them, leaves SIGTERM at SIG_DFL:
    # the caller's own handlers (``backproplab grade`` stopping cleanly on SIGTERM) would be gone for good
    asyncio.get_running_loop().add_signal_handler = _keep_the_callers_signal_handlers
    try:
        setup = client.async_setup_kernel()
        await asyncio.wait_for(setup.__aenter__(), limits.startup_timeout + 10)
    except Exception as exc:  # the kernel did not start: nothing of the notebook ran
        result.problem = f"the grading kernel did not start ({type(exc).__name__}: {str(exc)[:200]})"
        atexit.unregister(client._cleanup_kernel)
        await _kill(km)
        return
    try:
        session.kernel_pid = kernel_pid = km.provisioner.pid if km.provisioner else None
        if cgroups is not None and not namespace and kernel_pid:  # enter.py joins them otherwise
            for procs in cgroups.procs_files:
                with contextlib.suppress(OSError), open(procs, "w") as fh:
                    fh.write(str(kernel_pid))
        status = _seccomp_status(kernel_pid, limits)
        result.confinement += "; " + status
        # Under the seccomp filter the kernel cannot start a process: the scan for strays once the kernel is gone
        # (every process of the run's uid, or of the kernel's session, in the callers' ``finally``) is enough. A
        # scan of /proc reads two files per process of the machine: 4-8 ms of CPU time each, and it was made
        # after every cell, then again at the end with the kernel alive (issue 20).
        session.scan_each_cell = not status.startswith("seccomp: no new processes")
        await _run_cells(session)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(setup.__aexit__(None, None, None), 15)
        await _kill(km)
        client.close_clients()


def _keep_the_callers_signal_handlers(*_args, **_kwargs):
    raise RuntimeError("signal handlers belong to the caller of execute_confined")  # nbclient skips them then


async def _run_cells(session: _Session) -> None:
    """Every code cell in turn, within the notebook's deadline; stops at the first that ends the run."""
    limits, result = session.limits, session.result
    deadline = session.start + limits.total_timeout
    for index, cell in enumerate(session.nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 1:
            result.problem = (f"the notebook ran longer than {limits.total_timeout:g} s: it was stopped "
                              f"before cell {index + 1}")
            return
        if not await _run_cell(session, cell, index, remaining):
            return


async def _run_cell(session: _Session, cell, index: int, remaining: float) -> bool:
    """Run one cell under the cell timeout; around a graded test cell, empty the record folder before and
    harvest its records after. False when the run cannot go on (``result.problem`` says why)."""
    from nbclient.exceptions import DeadKernelError

    client, limits, result, scratch = session.client, session.limits, session.result, session.scratch
    graded = is_graded_test(cell)
    gid = cell.metadata.get("nbgrader", {}).get("grade_id") if graded else None
    if graded:
        _empty(scratch.records)
    client.timeout = max(1, int(min(limits.cell_timeout, remaining)))
    client.reset_cell_cap()
    began, cpu_began = time.monotonic(), cpu_seconds(session.kernel_pid)
    over_cpu = False
    try:
        over_cpu = await _execute_cell(session, cell, index, min(limits.cell_timeout + INTERRUPT_GRACE, remaining),
                                       cpu_began)
    except DeadKernelError:
        result.problem = (f"the kernel died in cell {index + 1} (it exited, was killed, or ran out "
                          f"of memory or CPU time): the cells after it did not run")
        return False
    except _Stuck as stuck:
        result.problem = (f"cell {index + 1} did not stop when interrupted {stuck}: the kernel was stopped and "
                          f"the cells after it did not run")
        await _kill(session.km)
        return False
    except Exception as exc:  # protocol trouble with a misbehaving kernel: stop here
        result.problem = f"cell {index + 1} could not be run ({type(exc).__name__}: {str(exc)[:160]})"
        await _kill(session.km)
        return False
    finally:
        strays = _kill_strays(session.uid, session.kernel_pid) if session.scan_each_cell else 0
        if strays:
            result.incidents.append(f"cell {index + 1}: {strays} process(es) it started were killed")
        if graded and gid:
            _harvest(scratch.records, result.record_dir / _safe(gid))
        cell.get("metadata", {}).pop("execution", None)  # nbclient's timings (:func:`_replied`)
    result.cell_seconds[index] = time.monotonic() - began
    cpu_ended = cpu_seconds(session.kernel_pid)
    if cpu_began is not None and cpu_ended is not None:
        result.cell_cpu[index] = cpu_ended - cpu_began
    if over_cpu:
        result.over_cpu.append(index)
        result.incidents.append(f"cell {index + 1} computed for more than {limits.cell_cpu_seconds:g} s of CPU "
                                f"time and was interrupted")
    elif result.cell_seconds[index] >= limits.cell_timeout:
        result.timed_out.append(index)
        result.incidents.append(f"cell {index + 1} ran longer than {limits.cell_timeout:g} s and was interrupted")
    if graded and gid and cell.get("execution_count") is not None:
        result.graded_run.append(gid)
    return True


def _report_outputs(client, result: Execution, limits: Limits) -> None:
    for index in sorted(client.lost_output):
        result.incidents.append(f"cell {index + 1}: output lost (a message over "
                                f"{limits.message_bytes / 2**20:.0f} MB, or output that did not stop)")
    for index in sorted(client.truncated):
        result.incidents.append(f"cell {index + 1}: output past the limits ({limits.output_bytes_per_cell / 2**10:g} "
                                f"KB a cell, {limits.output_bytes_total / 2**10:g} KB in all) not kept")


def _seccomp_status(pid, limits: Limits) -> str:
    try:
        with open(f"/proc/{pid}/status") as fh:
            mode = next((line.split()[1] for line in fh if line.startswith("Seccomp:")), "0")
    except OSError:
        mode = "?"
    if mode != "2":
        return "WARNING: no seccomp filter: the kernel may signal other processes of its user and start processes"
    if limits.no_new_processes:
        return "seccomp: no new processes, signals to itself only"
    return "seccomp: signals to itself only; new processes allowed up to the process limit"


class _Stuck(Exception):
    """A cell still running ``INTERRUPT_GRACE`` seconds after its interrupt (the text says which limit)."""


#: Seconds the grader may take to collect a cell's output after the kernel has replied, besides nbclient's
#: ``iopub_timeout`` (reopening a lost output channel: :meth:`.kernelclient.CappedClient._iopub_ready`).
IOPUB_PATIENCE = 12.0
#: How often the kernel's CPU time is read while a cell runs under a CPU limit (seconds).
CPU_POLL = 0.1


async def _execute_cell(session: _Session, cell, index, hard_timeout: float, cpu_began: float | None) -> bool:
    """nbclient's ``async_execute_cell`` with a hard wall-clock deadline and, under a CPU limit, an interrupt
    once the kernel has computed for ``limits.cell_cpu_seconds`` in this cell. True if that interrupt was sent.
    (Cancelling the cell makes nbclient raise ``DeadKernelError``, so the deadline is told apart here.)"""
    client, limits = session.client, session.limits
    task = asyncio.ensure_future(client.async_execute_cell(cell, index))
    deadline = time.monotonic() + hard_timeout
    watch_cpu = limits.cell_cpu_seconds is not None and cpu_began is not None
    over_cpu = extended = False
    while True:
        now = time.monotonic()
        step = deadline - now
        if watch_cpu and not over_cpu:
            step = min(step, CPU_POLL)
        done, _ = await asyncio.wait({task}, timeout=max(0.0, step))
        if done:
            break
        now = time.monotonic()
        if now >= deadline and not extended and _replied(cell):
            # the kernel has answered: what is left is the grader collecting its output (nbclient waits up to
            # iopub_timeout for it, and a lost output channel is reopened); the kernel is not stuck
            extended, deadline = True, now + client.iopub_timeout + IOPUB_PATIENCE
            continue
        if now >= deadline:
            task.cancel()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await task
            raise _Stuck(f"after {limits.cell_cpu_seconds:g} s of CPU time" if over_cpu
                         else f"after {limits.cell_timeout:g} s")
        used = cpu_seconds(session.kernel_pid) if watch_cpu and not over_cpu else None
        if used is not None and used - cpu_began > limits.cell_cpu_seconds:
            over_cpu = True
            with contextlib.suppress(Exception):
                await session.km.interrupt_kernel()
            deadline = min(deadline, now + INTERRUPT_GRACE)
    task.result()
    return over_cpu


def _replied(cell) -> bool:
    """Whether the kernel's reply to ``cell`` has arrived (nbclient's ``record_timing`` notes when)."""
    return "shell.execute_reply" in cell.get("metadata", {}).get("execution", {})


async def _kill(km) -> None:
    with contextlib.suppress(Exception):
        if km.has_kernel:
            await asyncio.wait_for(km.shutdown_kernel(now=True), 10)


def _kill_strays(uid: int | None, kernel_pid: int | None) -> int:
    if uid is not None:
        return kill_processes(uid=uid, exclude=kernel_pid)
    if kernel_pid:
        return kill_processes(session=kernel_pid, exclude=kernel_pid)
    return 0


def _copy_files(src: Path, dest: Path, uid: int | None, budget: int) -> int:
    """Copy the regular files under ``src`` (no symbolic links, no notebooks) into ``dest``; returns how many
    were skipped."""
    skipped = 0
    for folder, dirs, files in os.walk(src, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(folder, d))]
        for name in files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            if name.endswith(".ipynb"):
                continue
            if not stat.S_ISREG(st.st_mode) or st.st_size > budget:
                skipped += 1
                continue
            budget -= st.st_size
            target = dest / os.path.relpath(path, src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target, follow_symlinks=False)
            if uid is not None:
                owned = target
                while owned != dest:
                    os.chown(owned, uid, uid)
                    owned = owned.parent
    return skipped


# ------------------------------------------------------------------------------------------ records
def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(name))[:120] or "_"


def _empty(folder: Path) -> None:
    """Remove everything in ``folder`` (the kernel's record folder) without following links."""
    with os.scandir(folder) as entries:
        for entry in entries:
            path = os.path.join(folder, entry.name)
            try:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except OSError:
                pass


def _harvest(folder: Path, dest: Path) -> None:
    """Move the records a graded test cell wrote into ``dest`` (regular files with a record's name only)."""
    dest.mkdir(parents=True, exist_ok=True)
    with os.scandir(folder) as entries:
        names = [e.name for e in entries]
    for name in names:
        path = os.path.join(folder, name)
        if _RECORD_NAME.match(name):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue
            try:
                st = os.fstat(fd)
                if stat.S_ISREG(st.st_mode):
                    data = os.read(fd, MAX_RECORD_BYTES + 1) if st.st_size <= MAX_RECORD_BYTES else b"{}"
                    target = dest / name
                    n = 0
                    while target.exists():  # a cell that checks the same exercise twice keeps both
                        n += 1
                        target = dest / re.sub(r"\.(\d+)\.json$", f".{n}.json", name)
                    target.write_bytes(data[:MAX_RECORD_BYTES + 1])
            finally:
                os.close(fd)
    _empty(folder)
