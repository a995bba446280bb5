"""A grading worker process: warm (imports done, configuration and secret loaded, exporter built), it
grades one (student, assignment) at a time and renders feedback pages, without ever opening the gradebook.

For each :class:`~.protocol.GradingTask` it rebuilds ``autograded/<student>/<assignment>/`` with the
supporting files and grades every notebook through the one path, :func:`.steps.grade_notebook`; the
:class:`~.protocol.TaskResult` goes back to the parent, which records it. For each
:class:`~.protocol.FeedbackTask` it renders the pages (:func:`.feedback.render_feedback`).
"""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import sys
import time
import traceback
from pathlib import Path

from .protocol import (
    UNREADABLE_SUFFIX,
    FeedbackResult,
    FeedbackTask,
    GradingTask,
    NotebookResult,
    NotebookTask,
    TaskResult,
)

_STATE: dict = {}


# --------------------------------------------------------------------------------------------- set-up
def init_worker(root: str, log_path: str | None = None) -> None:
    """Make this process a grading worker (a Dask worker plugin calls it: :mod:`.parallel`): load the course
    configuration once; send this process's (and its kernels') stderr to ``log_path``."""
    if log_path:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format=f"[worker {os.getpid()}] %(levelname)s %(name)s: %(message)s")
    from backproplab.nbexec import patch_reply_polling
    from backproplab.sandbox import load_secret

    from . import metadata
    from .course import load_course

    patch_reply_polling()  # jupyter/nbclient#312, for nbclient and the sandbox in this worker
    metadata.install()  # nbgrader's metadata checks with each schema compiled once (metadata.py)
    course = load_course(Path(root))
    _STATE.clear()
    _STATE.update(course=course, config=course.config,
                  secret=load_secret(Path(course.root) / "autograder" / "grading_secret"))


def _course():
    if not _STATE:
        raise RuntimeError("init_worker() was not called in this process")
    return _STATE["course"]


# ------------------------------------------------------------------------------------------ grading
def _prepare_destination(task: GradingTask) -> Path:
    """A fresh ``autograded/<student>/<assignment>/`` with the submission's and then the release's
    supporting files (nbgrader's order: the instructor's copies win)."""
    from nbgrader.utils import find_all_files

    course = _course()
    dest = Path(task.autograded_dir)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    ignore = list(course.coursedir.ignore) + ["*.ipynb", "*" + UNREADABLE_SUFFIX]
    for folder in (task.submitted_dir, task.source_dir):
        if not os.path.isdir(folder):
            continue
        for filename in find_all_files(folder, ignore):
            target = dest / os.path.relpath(filename, folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target.unlink()
            shutil.copy(filename, target)
    return dest


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


def notebook_task(task: GradingTask, name: str, dest: Path) -> NotebookTask:
    """The one-notebook task for :func:`.steps.grade_notebook`, with this worker's course settings."""
    from backproplab.sandbox import derive_seed

    from .budgets import find_budget

    course, config = _course(), _STATE["config"]
    submitted = task.files.get(name)
    source = Path(task.source_dir) / f"{name}.ipynb"
    budget = find_budget(course.root, task.assignment, source)
    return NotebookTask(
        name=name, student=task.student, assignment=task.assignment, release=task.notebooks[name],
        submission=Path(submitted) if submitted else None,
        source=source, dest=dest,
        seed=derive_seed(_STATE["secret"], task.student, task.assignment, name),
        limits=notebook_limits(config, source, budget), config=config, budget=budget,
        file_mode=0o664 if course.coursedir.groupshared else 0o444,
        accepted=tuple(task.accepted), strict_scan=task.strict_scan)


def grade_task(task: GradingTask) -> TaskResult:
    """Grade every notebook of one (student, assignment). Never raises: failures become zero scores
    with a reason, so one bad submission cannot stop the batch."""
    from .steps import grade_notebook

    start = time.perf_counter()
    out = TaskResult(task.student, task.assignment, task.checksum, task.info_checksum, {})
    try:
        dest, setup_error = _prepare_destination(task), None
    except Exception as exc:
        dest, setup_error = None, f"could not prepare {task.autograded_dir}: {exc}"
    for name, info in task.notebooks.items():
        try:
            if dest is None:
                raise RuntimeError(setup_error)
            out.notebooks[name] = grade_notebook(notebook_task(task, name, dest))
        except Exception as exc:
            logging.getLogger(__name__).error("%s/%s/%s:\n%s", task.student, task.assignment, name,
                                              traceback.format_exc())
            out.notebooks[name] = NotebookResult.zero(
                info, "failed", f"could not be graded ({type(exc).__name__}: {str(exc).strip()[:200]}): 0 points")
    out.seconds = time.perf_counter() - start
    out.maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out.kernel_maxrss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out.pid = os.getpid()
    return out


# ------------------------------------------------------------------------------------------ feedback
def render_feedback(task: FeedbackTask) -> FeedbackResult:
    """Render ``task``'s pages with this worker's (warm) exporter."""
    from . import feedback

    if "exporter" not in _STATE:
        _STATE["exporter"] = feedback.make_exporter(_course())
    mode = 0o664 if _course().coursedir.groupshared else 0o644
    return feedback.render_feedback(task, _STATE["exporter"], mode)
