"""The verdict, computed in the grader process: :func:`score_submission`.

For every graded test cell of the **source** notebook (the instructor's copy: never the submission's version
of a test cell), its ``check.<name>(...)`` calls are read with ``ast``; the cell earns its points iff
:func:`backproplab.trusted.judge` passes on the records of every call, judged from the grader's seed.
Whatever the kernel printed or raised (nbgrader's own pass/fail of the cell) does not count, and neither
does a record written by any other cell (records are collected per graded cell by :mod:`.execute`).
Answer cells that reach for the reference implementation or into the grading machinery
(:mod:`.scan`) lose the points of the exercises concerned.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .notebook import graded_test_cells, read_notebook
from .scan import Finding, scan_submission
from .seeds import cell_seed


@dataclass
class CheckVerdict:
    name: str
    hidden: bool
    passed: bool
    message: str


@dataclass
class CellScore:
    """The trusted score of one graded test cell."""

    grade_id: str
    points: float
    max_points: float
    message: str  # learner-facing: which check failed and why, in the learner's terms
    checks: list[CheckVerdict] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # integrity findings that cost this cell its points

    @property
    def passed(self) -> bool:
        return self.points >= self.max_points


def score_submission(source_notebook, executed_notebook, record_dir, seed: int, *,
                     scan: bool = True, strict: bool = False, accepted=(), findings=None) -> dict[str, CellScore]:
    """``{grade_id: CellScore}`` for every graded test cell of ``source_notebook``.

    ``record_dir`` holds the records :func:`~backproplab.sandbox.execute.execute_confined` collected, one
    folder per graded test cell (``record_dir/<grade_id>/``); ``seed`` is the seed the kernel was given.
    ``executed_notebook`` (may be None) is scanned for answer code that uses the reference implementation
    (``strict``: the instructor's policy for dynamic code; ``accepted``: ids of the cells the instructor
    accepted, see :func:`~backproplab.sandbox.scan.scan_submission`). ``findings``: what that scan of
    ``executed_notebook`` with ``strict`` and ``accepted`` found, when the caller has made it already.
    """
    from backproplab import trusted
    from backproplab.checks import REGISTRY

    source = read_notebook(source_notebook)
    if not scan or executed_notebook is None:
        findings = []
    elif findings is None:
        findings = scan_submission(source, read_notebook(executed_notebook), strict=strict, accepted=accepted)
    findings = [f for f in findings if f.blocking]
    record_dir = Path(record_dir)
    scores: dict[str, CellScore] = {}
    for cell in graded_test_cells(source):
        score = CellScore(cell.grade_id, 0.0, cell.points, "")
        scores[cell.grade_id] = score
        if cell.error:
            score.message = f"This test could not be graded ({cell.error}): please tell your instructor."
            continue
        folder = record_dir / cell.grade_id
        expected = Counter((c.name, c.hidden, c.seed) for c in cell.calls)
        for (name, hidden, own_seed), n_calls in expected.items():
            exercise = REGISTRY[name]
            if folder.is_dir():
                result = trusted.judge(exercise, folder, hidden=hidden,
                                       seed=cell_seed(seed, cell.grade_id) if own_seed is None else own_seed)
                n_records = len(list(folder.glob(f"{name}.{'hidden' if hidden else 'visible'}.*.json")))
            else:
                result, n_records = None, 0
            if result is None or result.mistake == "missing" or n_records < n_calls:
                message = (f"{name}{' (hidden tests)' if hidden else ''}: the graded check did not run (the "
                           f"kernel stopped before it, or an earlier check of this cell failed).")
                score.checks.append(CheckVerdict(name, hidden, False, message))
            else:
                score.checks.append(CheckVerdict(name, hidden, result.passed, result.message))
        concerned = [f for f in findings if f.exercises is None or f.exercises & {c.name for c in cell.calls}]
        failed = [c for c in score.checks if not c.passed]
        if concerned:
            score.findings = concerned
            score.message = " ".join(dict.fromkeys(f.message for f in concerned))
        elif failed:
            # The first failure says what to fix; a hidden check that did not run because the visible one
            # failed adds nothing.
            score.message = failed[0].message
        else:
            score.points = cell.points
            score.message = " ".join(c.message for c in score.checks)
    return scores
