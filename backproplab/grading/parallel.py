"""Grading in parallel worker processes while one process owns the gradebook.

Design: ``N`` long-lived worker processes (``spawn``, so no inherited database handles) each grade one
(student, assignment) at a time from plain data — the release's graded cells, read once from the gradebook
by the parent — and return plain results. The parent is the only writer of ``gradebook.db``: it records
each result as it arrives (one transaction), marks it done in the resume state, and queues the feedback
page, which a worker renders from the grades the parent read back. SQLite never sees two writers, a worker
crash costs only its own task, and an interrupted run keeps everything recorded so far.

Why not N copies of ``nbgrader autograde``: each would need its own gradebook (merging rows back is
fragile) and pays nbgrader's start-up for every call; a warm worker pays only the kernel start.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from . import worker
from .protocol import FeedbackResult, FeedbackTask, GradingTask, TaskResult

MAX_ATTEMPTS = 2
#: seconds the running tasks get to finish after an interruption before their workers are terminated
STOP_GRACE = 20.0


def stop(pool: ProcessPoolExecutor, grace: float) -> None:
    """Shut ``pool`` down without waiting on it forever: ``shutdown(wait=True)`` can hang when an interruption
    hit the pool's own locks; join its workers for ``grace`` seconds, then terminate the ones still running."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + grace
    for process in workers:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in workers:
        if process.is_alive():
            process.terminate()
    for process in workers:
        process.join(10.0)


def _submit(pool, queue: deque, pending: dict, window: int) -> None:
    """Submit feedback pages as they come and grading tasks up to ``window`` in flight."""
    grading = sum(1 for kind, _ in pending.values() if kind == "grade")
    while queue and (queue[0][0] == "feedback" or grading < window):
        kind, task = queue.popleft()
        fn = worker.grade_task if kind == "grade" else worker.render_feedback
        pending[pool.submit(fn, task)] = (kind, task)
        grading += kind == "grade"


def _collect(future, kind: str, task, attempts: dict, queue: deque):
    """``(result, the pool broke)``. The result is None when the task was queued again (its worker crashed)
    or a feedback page failed; a grading task that cannot be done gets a failed result (zero, with why)."""
    try:
        return future.result(), False
    except BrokenProcessPool:
        n = attempts[id(task)] = attempts.get(id(task), 0) + 1
        if n < MAX_ATTEMPTS:
            queue.appendleft((kind, task))
            return None, True
        return (TaskResult.failed(task, "the grading worker crashed") if kind == "grade" else None), True
    except Exception as exc:  # a bug in the grader for this task: zero, and go on
        failed = TaskResult.failed(task, f"grading failed ({type(exc).__name__}: {exc})") if kind == "grade" else None
        return failed, False


def run(grade_tasks: list[GradingTask], *, feedback_tasks: list[FeedbackTask] = (), jobs: int, root: str,
        log_path: str | None, on_graded: Callable[[TaskResult], list[FeedbackTask]],
        on_feedback: Callable[[FeedbackResult], None],
        progress=None) -> None:
    """Grade ``grade_tasks`` on ``jobs`` workers. ``on_graded(result)`` runs in this process for each
    result and returns feedback tasks to render; ``on_feedback(result)`` receives their outcomes."""
    queue = deque([("feedback", t) for t in feedback_tasks] + [("grade", t) for t in grade_tasks])
    if not queue:
        return
    attempts: dict[int, int] = {}
    window = max(1, jobs) + 1  # grading tasks in flight: keeps feedback pages from waiting behind them

    def make_pool():
        return ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=multiprocessing.get_context("spawn"),
                                   initializer=worker.init_worker, initargs=(root, log_path))

    pool = make_pool()
    pending: dict = {}
    pool_restarts = 0
    finished_in_pool = 0  # a pool that breaks before finishing anything cannot start workers at all
    try:
        while queue or pending:
            _submit(pool, queue, pending, window)
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                kind, task = pending.pop(future)
                result, crashed = _collect(future, kind, task, attempts, queue)
                broken |= crashed
                if result is None:
                    continue
                finished_in_pool += 1
                if kind == "grade":
                    for feedback_task in on_graded(result):
                        queue.appendleft(("feedback", feedback_task))
                    if progress is not None:
                        progress.update()
                else:
                    on_feedback(result)
            if broken:
                if finished_in_pool == 0 and pool_restarts:
                    raise RuntimeError("the grading worker processes die as they start; see " + str(log_path))
                pool_restarts += 1
                finished_in_pool = 0
                for kind, task in list(pending.values()):
                    queue.appendleft((kind, task))
                pending.clear()
                pool.shutdown(wait=True, cancel_futures=True)
                pool = make_pool()
    except BaseException:
        # interrupted: drop what has not started; the few running tasks get STOP_GRACE seconds to finish
        # (their results are lost and redone next time), then their workers are terminated (each stops its
        # kernel on the way out), so that no worker outlives this call or writes into autograded/ after it
        stop(pool, STOP_GRACE)
        raise
    else:
        pool.shutdown(wait=True)
