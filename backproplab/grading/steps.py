"""THE path that grades one notebook: :func:`grade_notebook`, a declared list of steps.

``backproplab grade`` (through its workers, :mod:`.worker`), the attack suite and the benchmarks all grade a
notebook here, like nbgrader's ``autograde`` runs its declared preprocessors:

=====================  ===============================================================================
step                   what it does
=====================  ===============================================================================
``read``               the submitted file, read robustly (:mod:`.notebooks`); no file / not a notebook:
                       0 points and a note, and the path stops
``sanitize``           notes every deviation from the release (:mod:`.deviations`); repairs grading
                       metadata, clears outputs, disowns duplicated ids (:func:`.sanitize.sanitize`)
``assemble``           the release's tests, read-only cells, points and kernel put back, against the
                       release data from the gradebook (:func:`.sanitize.assemble`)
``run_confined``       runs it in a confined kernel (:func:`backproplab.sandbox.execute_confined`)
``judge``              the verdicts, outside the kernel: :func:`judge` (the one place where what the
                       learner's code produced becomes points; autograder/SECURITY.md)
``write``              nbgrader's post-execution preprocessors; the autograded notebook, atomically
=====================  ===============================================================================

The parent then records the :class:`~.protocol.NotebookResult` in the gradebook (the only writer) and has
the feedback page rendered from the gradebook's grades (:func:`.feedback.render_feedback`, the last step).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .protocol import CellVerdict, NotebookResult, NotebookTask, RunReport


@dataclass
class Work:
    """What the steps pass along: the notebook as it stands, nbconvert resources, the result so far."""

    task: NotebookTask
    result: NotebookResult
    nb: object = None
    resources: dict = field(default_factory=dict)
    execution: object = None  # backproplab.sandbox.Execution
    records: Path | None = None  # the trusted records of the graded checks (a temporary folder)

    @classmethod
    def start(cls, task: NotebookTask, records: Path) -> Work:
        """Nothing done yet: every graded cell at 0, the trusted records to go into ``records``."""
        return cls(task, NotebookResult(status="graded", grades={gid: 0.0 for gid in task.release.grade_cells}),
                   records=records)

    @property
    def notes(self) -> list[str]:
        return self.result.notes


def read(work: Work) -> bool:
    from .notebooks import Unreadable, read_notebook_bytes

    task = work.task
    if task.submission is None:
        work.result.status = "missing"
        work.notes.append(f"no {task.name}.ipynb was submitted: 0 points")
        return False
    try:
        work.nb, read_notes = read_notebook_bytes(Path(task.submission).read_bytes())
    except Unreadable as exc:
        work.result.status = "unreadable"
        work.notes.append(f"{exc}: 0 points")
        return False
    work.notes.extend(read_notes)
    work.resources = {"nbgrader": {"notebook": task.name, "assignment": task.assignment,
                                   "student": task.student, "db_url": None}}
    return True


def sanitize(work: Work) -> bool:
    from . import sanitize as steps
    from .deviations import diagnose

    diagnose(work.nb, work.task.release, work.notes)
    work.nb, work.resources = steps.sanitize(work.nb, work.task.release, work.resources, work.task.config,
                                             work.notes)
    return True


def assemble(work: Work) -> bool:
    from . import sanitize as steps

    work.nb, work.resources = steps.assemble(work.nb, work.task.release, work.resources, work.task.config,
                                             work.notes)
    return True


#: The kernel's environment besides what the sandbox sets.
KERNEL_ENV = {"NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "Agg",
              # N workers already use the N cores: one BLAS thread per kernel
              "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def run_confined(work: Work) -> bool:
    from backproplab.sandbox import execute_confined

    from .budgets import timeout_note

    task = work.task
    env = {**KERNEL_ENV,
           # figures in the feedback pages when the instructor asks (headless.py)
           "BACKPROPLAB_DRAW": os.environ.get("BACKPROPLAB_DRAW", "0")}
    work.execution = execute_confined(work.nb, record_dir=work.records, seed=task.seed, limits=task.limits,
                                      files_from=task.dest, env=env, hide=task.hide)
    run = work.execution
    work.nb = run.nb
    work.result.seconds = run.seconds
    work.result.run = RunReport(run.problem, list(run.incidents), run.confinement, run.seconds)
    if run.problem:
        work.notes.append(run.problem)
    work.notes.extend(timeout_note(index, task.limits, task.budget, over_cpu=True) for index in run.over_cpu)
    work.notes.extend(timeout_note(index, task.limits, task.budget, over_cpu=False) for index in run.timed_out)
    return True


def judge(work: Work) -> bool:
    """Every graded cell's score. A graded test cell that calls ``check.<exercise>(...)`` is judged outside
    the kernel from the source's test cell, the records its checks wrote and the grader's seed
    (:func:`backproplab.sandbox.score_submission`); its output becomes the verdict's message. Other graded
    cells (plain asserts an instructor added) keep nbgrader's in-kernel verdict; one that never ran scores 0."""
    import nbformat
    from nbgrader import utils

    from backproplab.sandbox import score_submission
    from backproplab.sandbox.notebook import graded_test_cells, read_notebook
    from backproplab.sandbox.scan import scan_submission

    task, result = work.task, work.result
    judged = {}
    if task.source.is_file():
        source = read_notebook(task.source)  # read once, scanned once (the scores and the notes alike)
        judgeable = {c.grade_id for c in graded_test_cells(source) if not c.error}
        if judgeable:
            findings = scan_submission(source, work.nb, strict=task.strict_scan, accepted=task.accepted)
            scores = score_submission(source, work.nb, work.records, task.seed, strict=task.strict_scan,
                                      accepted=task.accepted, findings=findings)
            work.notes.extend(_reported_findings(findings))
            judged = {gid: score for gid, score in scores.items() if gid in judgeable}
    for cell in work.nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if utils.is_grade(cell) and gid in judged:
            verdict = judged[gid]
            result.grades[gid] = float(verdict.points)
            result.verdicts[gid] = CellVerdict(float(verdict.points), float(verdict.max_points), verdict.message,
                                               [(c.name, c.hidden, c.passed) for c in verdict.checks],
                                               [f.message for f in verdict.findings])
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=verdict.message + "\n")]
            work.notes.extend(f"test cell '{gid}': {f.message}" for f in verdict.findings)
        elif utils.is_grade(cell) and gid in task.release.grade_cells:
            result.grades[gid] = _in_kernel_score(cell, gid, work.notes)
        if (utils.is_solution(cell) or utils.is_task(cell)) and gid:
            unchanged = cell.metadata.nbgrader.get("checksum") == utils.compute_checksum(cell)
            result.comments[gid] = "No response." if unchanged and not utils.is_task(cell) else None
    return True


def _reported_findings(findings) -> list[str]:
    """Scan findings that cost no points but that the instructor should see: dynamic code (the strict policy
    would have counted it) and cells the instructor accepted."""
    return [f"scan: {f.message}" for f in findings if not f.blocking and (f.accepted or f.kind == "dynamic")]


def _in_kernel_score(cell, gid: str, notes: list[str]) -> float | None:
    """nbgrader's ``determine_grade``; a test cell that never ran scores 0."""
    from nbgrader import utils

    if (cell.cell_type == "code" and not utils.is_solution(cell) and cell.source.strip()
            and cell.get("execution_count") is None):
        notes.append(f"test cell '{gid}' did not run: 0 points")
        return 0.0
    try:
        score, _ = utils.determine_grade(cell, logging.getLogger(__name__))
    except (ValueError, KeyError, TypeError) as exc:
        notes.append(f"test cell '{gid}' printed an invalid partial score ({exc}): 0 points")
        return 0.0
    return None if score is None else float(score)


def write(work: Work) -> bool:
    import nbformat
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import CheckCellMetadata, IgnorePattern, LimitOutput

    task = work.task
    nb, resources = work.nb, work.resources
    for pp in (IgnorePattern, ClearMetadataPreprocessor, LimitOutput, CheckCellMetadata):
        nb, resources = pp(config=task.config)(nb, resources)
    out = task.dest / f"{task.name}.ipynb"
    tmp = task.dest / f".{task.name}.ipynb.tmp"
    nbformat.write(nb, str(tmp))
    os.chmod(tmp, task.file_mode)
    os.replace(tmp, out)
    work.result.autograded = str(out)
    return True


#: The steps of :func:`grade_notebook`, in order; a step returning False ends the path (0 points, a note).
STEPS = (read, sanitize, assemble, run_confined, judge, write)


def run_steps(task: NotebookTask, steps=STEPS) -> Work:
    """``steps`` in turn on ``task`` (a step returning False ends the path); the work as it ends."""
    with tempfile.TemporaryDirectory(prefix="backproplab-records-") as records:
        work = Work.start(task, Path(records))
        for step in steps:
            if not step(work):
                break
    return work


def grade_notebook(task: NotebookTask) -> NotebookResult:
    """Grade one submitted notebook against its release: every step of :data:`STEPS` in turn."""
    return run_steps(task).result
