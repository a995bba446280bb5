"""Grading on a Dask cluster while one process owns the gradebook.

One code path for one machine and for many: the tasks go to Dask's scheduler, either a
``LocalCluster`` this process starts (``jobs`` worker processes, one thread each) or an existing cluster
(``backproplab grade --cluster tcp://HOST:8786``). Every worker is made a grading worker once, by the
:class:`GradingWorker` plugin (imports done, the course configuration this process loaded:
:func:`.worker.init_worker`), and then grades one (student, assignment) at a time from a self-contained task —
the files, release data, seeds and budgets this process packed (:mod:`.shipping`: workers share no file
system with it) — and returns a plain :class:`~.protocol.TaskResult` holding the autograded notebooks. This
process is the only writer of the gradebook and of the course's folders: it writes each result's files as it
arrives, records the results in the gradebook a batch at a time (one transaction: ``flush``), marks them done in
the resume state, and submits their feedback pages, which a
worker renders from the grades read back and returns. Tasks are packed as they are submitted, at most
:func:`in_flight` ahead of the results, so the files of a whole class are never in memory at once.

What Dask gives for free, and why it replaced the home-made ``ProcessPoolExecutor`` pool: a worker lost
mid-run (killed, out of memory, its machine gone) costs nothing — the scheduler runs its tasks elsewhere and
each task's future resolves once, so nothing is recorded twice; a task that kills every worker it runs on
(``distributed.scheduler.allowed-failures``, 3 by default) becomes a zero with a reason. And an interrupted
run no longer shares queues and locks with processes it terminates (the old pool's hang: a surviving worker
blocked for ever on a call-queue lock its terminated sibling held): this process cancels the futures and
closes its client, and a local cluster's nannies kill their workers after :data:`STOP_GRACE` seconds.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable

from . import worker, workerprocs
from .protocol import FeedbackResult, FeedbackTask, GradingTask, TaskResult

#: seconds the workers of a local cluster get to stop after an interruption before they are killed;
#: an interrupted run ends within ``STOP_GRACE + CLOSE_TIMEOUT`` seconds (tests/grading/test_cluster.py)
STOP_GRACE = 10.0
CLOSE_TIMEOUT = 10.0
#: feedback pages before the next submissions: a page waits only for the task a worker is running
FEEDBACK_PRIORITY = 10


def _plugin_base():
    from distributed.diagnostics.plugin import WorkerPlugin

    return WorkerPlugin


class GradingWorker(_plugin_base()):
    """Dask worker plugin: makes every worker of the cluster (present and future) a grading worker."""

    name = "backproplab-grading"

    def __init__(self, config, log_path: str | None):
        from backproplab.sandbox.confine import ACCEPT_WEAK_ENV

        self.config, self.log_path = config, log_path  # the course's traitlets Config: no course folder needed
        self.accept_weak = os.environ.get(ACCEPT_WEAK_ENV)  # --accept-weak-confinement, for remote workers too

    def setup(self, worker=None) -> None:
        from backproplab.sandbox.confine import ACCEPT_WEAK_ENV

        from . import worker as grading_worker

        if self.accept_weak:
            os.environ[ACCEPT_WEAK_ENV] = self.accept_weak
        grading_worker.init_worker(self.config, self.log_path)
        _kill_kernels_on_exit()

    def teardown(self, worker=None) -> None:
        _kill_descendants()


def _kill_descendants(spare: int | None = None) -> None:
    """SIGKILL every process below this one (the confined kernels a worker started) but ``spare`` and its own:
    a worker that stops must not leave a kernel looping behind it."""
    from backproplab.sandbox import forked
    from backproplab.sandbox.processes import children_of

    forked.close_all()  # the kernel templates first: they kill and reap their kernels, and are reaped
    me = os.getpid()
    children = children_of()
    stack, below = [p for p in children.get(me, []) if p != spare], []
    while stack:
        pid = stack.pop()
        below.append(pid)
        stack.extend(children.get(pid, []))
    for pid in below:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _kill_kernels_on_exit() -> None:
    """A worker process stopped with SIGTERM (a nanny closing, a batch system's ``scancel``, Kubernetes)
    kills its kernels on the way out; so does a normal exit."""
    import atexit
    import threading

    atexit.register(_kill_descendants)
    if threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum, frame):
        _kill_descendants()
        if callable(previous):
            previous(signum, frame)
        else:
            raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_sigterm)


@contextlib.contextmanager
def connect(cluster: str | None, jobs: int, config, log_path: str | None):
    """A Dask client on the cluster at ``cluster`` (or on a new local one of ``jobs`` worker processes) whose
    workers are grading workers of the course configured by ``config``."""
    from distributed import Client, LocalCluster

    local = None
    forks = contextlib.ExitStack()  # a local cluster's workers: forked from a preloaded process (workerprocs.py)
    if cluster:
        client = Client(cluster, timeout=30)
        log_path = None  # remote workers log where their cluster logs
    else:
        forks.enter_context(workerprocs.forked_workers())
        try:
            # no dashboard; the scheduler's HTTP endpoints on a free port (by default 8787, taken by any other
            # cluster on the machine: "Port 8787 is already in use" in the instructor's terminal)
            local = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                                 dashboard_address=None,
                                 scheduler_kwargs={"dashboard_address": ":0", "dashboard": False},
                                 silence_logs=logging.ERROR, worker_class="distributed.Nanny")
        except BaseException:
            _abandon_starting_cluster()
            forks.close()
            raise
        client = Client(local)
    try:
        client.register_plugin(GradingWorker(config, log_path), name=GradingWorker.name)
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=CLOSE_TIMEOUT)
        if local is not None:
            with contextlib.suppress(Exception):
                local.close(timeout=STOP_GRACE)
        forks.close()


def _abandon_starting_cluster() -> None:
    """An interrupt (or a failure) while the local cluster starts: the cluster object was never returned, so
    nothing can close it. Kill its worker processes (this process's children) now, and spare distributed's
    exit hook and asyncio the half-started cluster they would report in tracebacks after "interrupted"."""
    import atexit

    from distributed.deploy import spec

    atexit.unregister(spec.close_clusters)
    for name in ("asyncio", "distributed", "tornado"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    from multiprocessing import resource_tracker

    _kill_descendants(spare=getattr(resource_tracker._resource_tracker, "_pid", None))  # it cleans up after them


#: tasks submitted ahead of the results: at least this many, and two per worker thread of the cluster
MIN_IN_FLIGHT = 8


def in_flight(client) -> int:
    """How many grading tasks to keep submitted: enough to keep every worker busy (two per thread, so a
    worker never waits for the next one), few enough that packed tasks do not pile up in memory."""
    try:
        threads = sum(client.nthreads().values())
    except Exception:
        threads = 0
    return max(MIN_IN_FLIGHT, 2 * threads)


def run(plans: list, *, pack: Callable[[object], GradingTask], feedback_tasks: list[FeedbackTask] = (),
        jobs: int, config, log_path: str | None, on_graded: Callable[[TaskResult], list[FeedbackTask]],
        on_feedback: Callable[[FeedbackResult], None], flush: Callable[[str], list[FeedbackTask]] | None = None,
        progress=None, cluster: str | None = None) -> None:
    """Grade ``plans`` on the cluster (``None``: a local one of ``jobs`` workers), each packed by ``pack(plan)``
    into a self-contained :class:`~.protocol.GradingTask` when it is submitted. ``on_graded(result)`` runs
    in this process, once per task, and returns feedback tasks to render; ``on_feedback(result)`` receives
    their outcomes (the rendered pages). ``flush(when)``, when given, is called after each result with
    ``"idle"`` (no other result is ready) or ``"busy"``, every :data:`TICK` seconds while nothing arrives
    (``"idle"``), and once every grading task has returned (``"final"``): it returns feedback tasks too (of the
    results ``on_graded`` kept to record later)."""
    if not plans and not feedback_tasks:
        return
    with connect(cluster, jobs, config, log_path) as client:
        _drive(client, (pack(plan) for plan in plans), list(feedback_tasks), on_graded, on_feedback, progress,
               flush or (lambda when: []))


#: seconds between two calls of ``flush("idle")`` while no result arrives
TICK = 0.5


def _next_done(pending, timeout: float):
    """The next completed future of ``pending``, None when none completed within ``timeout`` seconds; raises
    StopIteration when nothing is left."""
    deadline = time.monotonic() + timeout
    while not pending.has_ready():
        if pending.is_empty():
            raise StopIteration
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.02)
    return next(pending)


def _drive(client, grade_tasks, feedback_tasks, on_graded, on_feedback, progress, flush) -> None:
    """Submit the feedback tasks, then the grading tasks of the iterator ``grade_tasks`` as results come in
    (:func:`in_flight` ahead), and hand every result to its callback as it completes."""
    from distributed import as_completed

    kinds: dict = {}
    waiting = iter(grade_tasks)
    left = [True]  # grading tasks may still come out of `waiting`

    def submit(kind, task):
        fn, priority = ((worker.grade_task, 0) if kind == "grade" else (worker.render_feedback, FEEDBACK_PRIORITY))
        future = client.submit(fn, task, pure=False, priority=priority)
        kinds[future.key] = (kind, task)
        return future

    def refill(pending) -> None:
        grading = sum(1 for kind, _ in kinds.values() if kind == "grade")
        for _ in range(in_flight(client) - grading):
            task = next(waiting, None)
            if task is None:
                left[0] = False
                return
            pending.add(submit("grade", task))

    def flushed(pending, when: str) -> None:
        for feedback_task in flush(when):
            pending.add(submit("feedback", feedback_task))

    pending = as_completed([submit("feedback", t) for t in feedback_tasks])
    try:
        refill(pending)
        while True:
            if not left[0] and not any(kind == "grade" for kind, _ in kinds.values()):
                flushed(pending, "final")  # every result is in: record what waits
            try:
                future = _next_done(pending, TICK)
            except StopIteration:
                break
            if future is None:
                flushed(pending, "idle")
                continue
            kind, task = kinds.pop(future.key)
            try:
                result = future.result()
            except Exception as exc:  # KilledWorker (it killed every worker it ran on) or a bug in the grader
                if kind != "grade":
                    continue
                reason = ("the grading worker crashed" if type(exc).__name__ == "KilledWorker"
                          else f"grading failed ({type(exc).__name__}: {exc})")
                result = TaskResult.failed(task, reason)
            finally:
                future.release()
            if kind == "grade":
                for feedback_task in on_graded(result):
                    pending.add(submit("feedback", feedback_task))
                if progress is not None:
                    progress.update()
                refill(pending)
                flushed(pending, "busy" if pending.has_ready() else "idle")
            else:
                on_feedback(result)
    except BaseException:
        # interrupted: nothing more starts; running tasks are cancelled (their results are lost and redone
        # next time); the caller's `connect` closes the client and, for a local cluster, its workers
        with contextlib.suppress(Exception):
            client.cancel(list(pending.futures), force=True)
        raise
