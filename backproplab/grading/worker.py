"""A grading worker process: warm (imports done, course configuration loaded, exporter built), it grades
one (student, assignment) at a time and renders feedback pages, without ever opening the gradebook or the
course's folder.

For each :class:`~.protocol.GradingTask` (self-contained: :mod:`.shipping`) it writes the task's files into
a temporary folder of its own, grades every notebook from there through the one path,
:func:`.steps.grade_notebook`, and returns a :class:`~.protocol.TaskResult` with the autograded notebooks;
the parent writes and records it. For each :class:`~.protocol.FeedbackTask` it renders the pages
(:func:`.feedback.render_pages`) and returns them.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import time
import traceback
from pathlib import Path

from .protocol import (
    FeedbackResult,
    FeedbackTask,
    GradingTask,
    NotebookResult,
    NotebookTask,
    TaskResult,
)

_STATE: dict = {}


# --------------------------------------------------------------------------------------------- set-up
def init_worker(config, log_path: str | None = None) -> None:
    """Make this process a grading worker (a Dask worker plugin calls it: :mod:`.parallel`) of the course
    whose nbgrader configuration is ``config`` (loaded by the parent: the worker needs no course folder);
    send this process's (and its kernels') stderr to ``log_path``."""
    if log_path:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format=f"[worker {os.getpid()}] %(levelname)s %(name)s: %(message)s")
    from backproplab.nbexec import patch_reply_polling

    from . import metadata

    patch_reply_polling()  # jupyter/nbclient#312, for nbclient and the sandbox in this worker
    metadata.install()  # nbgrader's metadata checks with each schema compiled once (metadata.py)
    metadata.install_output_validation()  # the kernel's outputs checked with nbformat's fast backend
    _STATE.clear()
    _STATE.update(config=config)


def _config():
    if not _STATE:
        raise RuntimeError("init_worker() was not called in this process")
    return _STATE["config"]


def notebook_limits(config, source: Path, budget=None):
    """The kernel's :class:`~backproplab.sandbox.Limits`: the defaults, ``c.Execute.timeout`` per cell, tightened
    to the notebook's time budget (:mod:`.budgets`) when it has one, then the course's
    ``c.SandboxLimits.<field>`` and the source notebook's ``metadata.backproplab.limits`` (both the
    instructor's; never the submission's)."""
    from backproplab.sandbox import DEFAULT_LIMITS

    from .budgets import budget_limits

    ceiling = float(config.Execute.timeout or DEFAULT_LIMITS.cell_timeout)
    limits = budget_limits(DEFAULT_LIMITS.with_(cell_timeout=ceiling), budget, ceiling)
    changes = dict(config.get("SandboxLimits", {}))
    try:
        meta = json.loads(source.read_text(encoding="utf-8")).get("metadata", {})
        changes.update(meta.get("backproplab", {}).get("limits", {}))
    except (OSError, ValueError, AttributeError):
        pass
    if "cell_timeout" in changes:  # the instructor's own time per cell replaces the measured budget's
        changes.setdefault("cell_cpu_seconds", None)
    return limits.with_(**changes)


def notebook_task(task: GradingTask, name: str, files) -> NotebookTask:
    """The one-notebook task for :func:`.steps.grade_notebook`, on this worker's copy ``files``
    (:class:`.shipping.Unpacked`) of the task's files."""
    config = _config()
    source = files.source / f"{name}.ipynb"
    budget = task.budgets.get(name)
    return NotebookTask(
        name=name, student=task.student, assignment=task.assignment, release=task.notebooks[name],
        submission=files.submission(name), source=source, dest=files.dest, seed=task.seeds[name],
        limits=notebook_limits(config, source, budget), config=config, budget=budget,
        accepted=tuple(task.accepted), strict_scan=task.strict_scan, hide=(str(files.folder),))


def grade_task(task: GradingTask) -> TaskResult:
    """Grade every notebook of one (student, assignment). Never raises: failures become zero scores
    with a reason, so one bad submission cannot stop the batch."""
    from .shipping import unpack

    start = time.perf_counter()
    out = TaskResult(task.student, task.assignment, task.checksum, task.info_checksum, {})
    try:
        with unpack(task) as files:
            for name, info in task.notebooks.items():
                out.notebooks[name] = _grade_one(task, name, info, files)
    except OSError as exc:  # the task's files could not be written here
        for name, info in task.notebooks.items():
            out.notebooks.setdefault(name, NotebookResult.zero(
                info, "failed", f"could not be graded (the worker could not write its files: {exc}): 0 points"))
    out.seconds = time.perf_counter() - start
    out.maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.kernel_maxrss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out.pid = os.getpid()
    return out


def _grade_one(task: GradingTask, name: str, info, files) -> NotebookResult:
    """One notebook through :func:`.steps.grade_notebook`, its autograded notebook read back for the parent."""
    from .steps import grade_notebook

    try:
        result = grade_notebook(notebook_task(task, name, files))
        if result.autograded:
            result.notebook = Path(result.autograded).read_text(encoding="utf-8")
            result.autograded = None
        return result
    except Exception as exc:
        logging.getLogger(__name__).error("%s/%s/%s:\n%s", task.student, task.assignment, name,
                                          traceback.format_exc())
        return NotebookResult.zero(
            info, "failed", f"could not be graded ({type(exc).__name__}: {str(exc).strip()[:200]}): 0 points")


# ------------------------------------------------------------------------------------------ feedback
def render_feedback(task: FeedbackTask) -> FeedbackResult:
    """Render ``task``'s pages with this worker's (warm) exporter; the parent writes them."""
    from nbgrader.coursedir import CourseDirectory

    from . import feedback
    from .course import Course

    if "exporter" not in _STATE:
        config = _config()
        course = Course(root=Path.cwd(), config=config, coursedir=CourseDirectory(config=config))
        _STATE["exporter"] = feedback.make_exporter(course)
    return FeedbackResult(task.student, task.assignment, [], feedback.render_pages(task, _STATE["exporter"]))
