"""One submission, start to finish: assemble, execute confined, judge outside the kernel, feedback.

:func:`grade_submission` is what a grading tool calls per (student, notebook); it never raises for what the
submission contains or does.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from backproplab.sandbox.runsync import run_sync

from .assemble import assemble
from .execute import Execution, execute_confined_async
from .limits import DEFAULT_LIMITS, Limits
from .notebook import read_notebook
from .scan import Finding, scan_submission
from .scoring import CellScore, score_submission
from .seeds import derive_seed


@dataclass
class SubmissionGrade:
    """The trusted grade of one submitted notebook."""

    scores: dict[str, CellScore]
    execution: Execution
    seed: int
    notes: list[str] = field(default_factory=list)  # deviations from the release (edited/deleted cells, ...)
    findings: list[Finding] = field(default_factory=list)  # integrity scan, blocking first

    @property
    def points(self) -> float:
        return sum(s.points for s in self.scores.values())

    @property
    def max_points(self) -> float:
        return sum(s.max_points for s in self.scores.values())

    def feedback_notebook(self):
        from .feedback import feedback_notebook

        return feedback_notebook(self.execution.nb, self.scores, notes=self.notes, problem=self.execution.problem,
                                 findings=[f for f in self.findings if f.blocking])

    def feedback_html(self) -> str:
        from .feedback import feedback_html

        return feedback_html(self.feedback_notebook())


def grade_submission(submission, source, *, student: str, assignment: str, secret: bytes, notebook: str = "",
                     workdir=None, limits: Limits = DEFAULT_LIMITS, env: dict | None = None, hide=(), keep=(),
                     record_dir=None) -> SubmissionGrade:
    """Grade ``submission`` (path or notebook) against ``source`` (the instructor's notebook, path or node)."""

    return run_sync(grade_submission_async(submission, source, student=student, assignment=assignment,
                                              secret=secret, notebook=notebook, workdir=workdir, limits=limits,
                                              env=env, hide=hide, keep=keep, record_dir=record_dir))


async def grade_submission_async(submission, source, *, student: str, assignment: str, secret: bytes,
                                 notebook: str = "", workdir=None, limits: Limits = DEFAULT_LIMITS,
                                 env: dict | None = None, hide=(), keep=(), record_dir=None) -> SubmissionGrade:
    """:func:`grade_submission` as a coroutine (several submissions can share one event loop)."""
    source = read_notebook(source)
    seed = derive_seed(secret, student, assignment, notebook)
    nb, notes = assemble(source, submission)
    own_records = record_dir is None
    records = Path(tempfile.mkdtemp(prefix="backproplab-records-", dir=workdir)) if own_records else Path(record_dir)
    try:
        execution = await execute_confined_async(nb, record_dir=records, seed=seed, workdir=workdir, env=env,
                                                 limits=limits, hide=hide, keep=keep)
        scores = score_submission(source, execution.nb, records, seed)
    finally:
        if own_records:
            shutil.rmtree(records, ignore_errors=True)
    findings = scan_submission(source, execution.nb)
    return SubmissionGrade(scores, execution, seed, notes, findings)
