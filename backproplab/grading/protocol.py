"""What the parent and the grading workers hand each other: typed, picklable, JSON-able records.

The parent builds a :class:`GradingTask` per (student, assignment) from the gradebook's release data
(:class:`~backproplab.grading.course.NotebookInfo`) and the bytes of the files it needs (:mod:`.shipping`:
no shared file system is assumed); a worker writes them into a temporary folder of its own, turns each
notebook into a :class:`NotebookTask` for :func:`backproplab.grading.steps.grade_notebook` and returns a
:class:`TaskResult` holding the autograded notebooks; the parent writes them into ``autograded/``, records
the grades in the gradebook and sends a :class:`FeedbackTask` (grades read back from the gradebook, the
autograded notebook's text) to be rendered into pages the parent writes. Nothing here opens the gradebook.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from .course import NotebookInfo

#: A submitted file that is not a notebook is kept as ``<notebook>.ipynb`` + this (nbgrader sees no notebook)
UNREADABLE_SUFFIX = ".unreadable"
#: ``NotebookResult.status``: graded (it ran), missing (no file), unreadable (not a notebook), failed (our bug)
STATUSES = ("graded", "missing", "unreadable", "failed")


@dataclass
class CellVerdict:
    """The trusted verdict of one graded test cell (judged outside the kernel: :mod:`backproplab.sandbox`)."""

    points: float
    max_points: float
    message: str
    checks: list[tuple[str, bool, bool]] = field(default_factory=list)  # (check, hidden, passed)
    findings: list[str] = field(default_factory=list)  # integrity findings that cost this cell its points

    @property
    def passed(self) -> bool:
        return self.points >= self.max_points


@dataclass
class RunReport:
    """How the confined kernel ran (see :class:`backproplab.sandbox.execute.Execution`)."""

    problem: str | None = None
    incidents: list[str] = field(default_factory=list)
    confinement: str = ""
    seconds: float = 0.0


@dataclass
class NotebookResult:
    """One graded notebook: the scores the parent records and what the learner is told."""

    status: str
    grades: dict[str, float | None]  # graded cell -> auto score (None: needs a manual grade)
    comments: dict[str, str | None] = field(default_factory=dict)  # answer cell -> auto comment
    notes: list[str] = field(default_factory=list)  # deviations from the release, problems, decisions
    autograded: str | None = None  # the autograded notebook (the parent's file, once it wrote it)
    notebook: str | None = None  # the autograded notebook's text, from the worker to the parent (then None)
    seconds: float = 0.0
    verdicts: dict[str, CellVerdict] = field(default_factory=dict)  # graded test cells judged outside
    run: RunReport | None = None

    @classmethod
    def zero(cls, info: NotebookInfo, status: str, note: str) -> NotebookResult:
        return cls(status=status, grades={gid: 0.0 for gid in info.grade_cells}, notes=[note])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> NotebookResult:
        data = dict(data)
        data["verdicts"] = {gid: CellVerdict(**{**v, "checks": [tuple(c) for c in v.get("checks", [])]})
                            for gid, v in (data.get("verdicts") or {}).items()}
        data["run"] = RunReport(**data["run"]) if data.get("run") else None
        return cls(**data)


@dataclass
class GradingTask:
    """Grade every notebook of one (student, assignment): self-contained, no path of the parent's disk in it
    (:mod:`.shipping` builds it)."""

    student: str
    assignment: str
    checksum: str  # of the submitted copy (resume state)
    info_checksum: str  # of the release data it is graded against
    notebooks: dict[str, NotebookInfo]  # release data per notebook, read from the gradebook by the parent
    submissions: dict[str, bytes | None]  # notebook -> the submitted file's bytes (None: not submitted)
    sources: dict[str, bytes]  # notebook -> the instructor's source notebook (hidden tests in)
    supporting: dict[str, bytes]  # relative path -> bytes: the submission's files, then the release's
    seeds: dict[str, int]  # notebook -> grading seed (derived by the parent: the secret never leaves it)
    budgets: dict[str, object] = field(default_factory=dict)  # notebook -> budgets.Budget (absent: none)
    accepted: list[str] = field(default_factory=list)  # cells whose scan findings the instructor accepted
    strict_scan: bool = False  # dynamic code costs points too

    def size(self) -> int:
        """Bytes of files this task carries."""
        return (sum(len(b) for b in self.submissions.values() if b) + sum(map(len, self.sources.values()))
                + sum(map(len, self.supporting.values())))


@dataclass
class TaskResult:
    student: str
    assignment: str
    checksum: str
    info_checksum: str
    notebooks: dict[str, NotebookResult]
    seconds: float = 0.0
    maxrss_kb: int = 0
    kernel_maxrss_kb: int = 0
    pid: int = 0

    @classmethod
    def failed(cls, task: GradingTask, message: str) -> TaskResult:
        """Zero for every notebook of ``task``, with ``message`` as the reason."""
        return cls(task.student, task.assignment, task.checksum, task.info_checksum,
                   {name: NotebookResult.zero(info, "failed", f"{message}: 0 points")
                    for name, info in task.notebooks.items()})


@dataclass
class NotebookTask:
    """One notebook to grade: everything :func:`~backproplab.grading.steps.grade_notebook` needs."""

    name: str
    student: str
    assignment: str
    release: NotebookInfo
    submission: Path | None  # the submitted file (None: not submitted)
    source: Path  # the instructor's source notebook (hidden tests in): the judge's test cells
    dest: Path  # autograded/<student>/<assignment>/ (already holds the supporting files)
    seed: int  # the submission's grading seed
    limits: object  # backproplab.sandbox.Limits
    config: object  # the course's traitlets Config (nbgrader's preprocessors)
    file_mode: int = 0o444
    accepted: tuple[str, ...] = ()  # cells whose scan findings the instructor accepted
    strict_scan: bool = False
    budget: object = None  # backproplab.grading.budgets.Budget the limits were derived from (None: none)
    hide: tuple[str, ...] = ()  # more folders the kernel must not see (the worker's copy of the task's files)


@dataclass
class CellGrade:
    """A cell's grade and comment as the gradebook holds them (manual grades included)."""

    score: float | None = None
    max_score: float | None = None
    comment: str | None = None


@dataclass
class FeedbackNotebook:
    autograded: str | None  # the autograded notebook's file (read when ``notebook`` is None)
    notes: list[str]
    cells: dict[str, CellGrade]
    score: float
    max_score: float
    late_penalty: float
    notebook: str | None = None  # the autograded notebook's text, read by the parent: it travels with the task


@dataclass
class FeedbackTask:
    """Render ``feedback/<student>/<assignment>/<notebook>.html`` from the gradebook's grades (a worker renders
    the pages, :attr:`FeedbackResult.pages`; the parent writes them into ``feedback_dir``)."""

    student: str
    assignment: str
    feedback_dir: str
    notebooks: dict[str, FeedbackNotebook]


@dataclass
class FeedbackResult:
    student: str
    assignment: str
    written: list[str]
    pages: dict[str, str] = field(default_factory=dict)  # notebook -> page, from the worker to the parent
