"""The course on disk: its root, its nbgrader configuration, the gradebook and what the release holds.

Everything the grader knows about an assignment (which cells are graded, their points, the source of every
read-only cell, the kernelspec) comes from nbgrader's gradebook, as plain data (:class:`NotebookInfo`), so
that worker processes never open the database.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

CONFIG_NAME = "nbgrader_config.py"


class GradingError(ValueError):
    """A problem that stops the whole run, worth one line to the instructor."""


@dataclass
class Course:
    """The course directory as nbgrader sees it (``autograder/nbgrader_config.py``)."""

    root: Path
    config: object  # traitlets Config
    coursedir: object  # nbgrader CourseDirectory

    @property
    def config_file(self) -> Path:
        return self.root / "autograder" / CONFIG_NAME

    @property
    def db_url(self) -> str:
        return self.coursedir.db_url

    @property
    def course_id(self) -> str:
        return self.coursedir.course_id

    def path(self, step: str, student: str = ".", assignment: str = ".") -> Path:
        directory = getattr(self.coursedir, f"{step}_directory")
        return Path(os.path.normpath(self.coursedir.format_path(directory, student, assignment)))

    def gradebook(self):
        from nbgrader.api import Gradebook

        ensure_tools_on_path()
        _alembic_head_in_process()
        with _schema_lock(self.db_url):  # two graders starting at once on a new database
            return Gradebook(self.db_url, self.course_id)


def _alembic_head_in_process() -> None:
    """nbgrader stamps a new gradebook with its schema's revision, which it asks of ``alembic heads`` in a
    subprocess (2.7 s, most of it importing nbgrader again, for every new gradebook); the same revision is read
    here from nbgrader's own migration scripts, in this process (0.08 s), once."""
    import nbgrader.api

    if getattr(nbgrader.api.get_alembic_version, "_backproplab", False):
        return
    head: list[str] = []

    def get_alembic_version() -> str:
        if not head:
            from alembic.script import ScriptDirectory
            from nbgrader.dbutil import ALEMBIC_DIR

            head.append(ScriptDirectory(ALEMBIC_DIR).get_current_head())
        return head[0]

    get_alembic_version._backproplab = True
    nbgrader.api.get_alembic_version = get_alembic_version


@contextlib.contextmanager
def _schema_lock(url: str):
    """On a PostgreSQL gradebook, one process at a time creates nbgrader's tables (a session advisory lock:
    concurrent CREATE TYPE/TABLE of two runs collide); SQLite needs nothing."""
    if not url.startswith("postgresql"):
        yield
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(1717017)"))
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(1717017)"))
    finally:
        engine.dispose()


def ensure_tools_on_path() -> None:
    """nbgrader runs the ``alembic`` executable when it creates a gradebook: find the venv's one."""
    bindir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir, *parts])


def find_root(start: Path | None = None) -> Path:
    """The course root: the nearest folder above ``start`` (default: cwd) holding
    ``autograder/nbgrader_config.py``, else the checkout this package lives in."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "autograder" / CONFIG_NAME).is_file():
            return folder
    package_root = Path(__file__).resolve().parents[2]
    if (package_root / "autograder" / CONFIG_NAME).is_file():
        return package_root
    raise GradingError(f"no autograder/{CONFIG_NAME} above {here}; run the command inside the course folder "
                       "or pass --course")


def load_course(root: Path | None = None, db_url: str | None = None) -> Course:
    """The course at ``root`` (default: :func:`find_root`); ``db_url`` replaces the configuration's
    ``CourseDirectory.db_url`` (``backproplab grade --db``: e.g. ``postgresql://user@host/gradebook``)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(root).resolve() if root else find_root()
    config_file = root / "autograder" / CONFIG_NAME
    if not config_file.is_file():
        raise GradingError(f"no nbgrader configuration at {config_file}")
    ensure_tools_on_path()
    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    if db_url:
        config.CourseDirectory.db_url = check_db_url(db_url)
    log = logging.getLogger("backproplab.grading.nbgrader")
    coursedir = CourseDirectory(config=config, log=log)
    if Path(coursedir.root).resolve() != root:
        raise GradingError(f"{config_file} sets CourseDirectory.root to {coursedir.root}, not {root}")
    return Course(root=root, config=config, coursedir=coursedir)


def check_db_url(url: str) -> str:
    """``url`` if it names a gradebook nbgrader can use (SQLite, or PostgreSQL with the psycopg driver)."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme.startswith("sqlite"):
        return url
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise GradingError("a PostgreSQL gradebook needs the psycopg driver: pip install 'psycopg[binary]'") \
                from None
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    raise GradingError(f"--db {url!r}: not a gradebook URL (sqlite:///PATH or postgresql://USER@HOST/DATABASE)")


def source_assignments(course: Course) -> list[str]:
    """Assignments of the nbgrader source folder: its sub-folders holding at least one notebook."""
    source = course.path("source")
    if not source.is_dir():
        return []
    return sorted(p.name for p in source.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb")))


def regenerate_release(course: Course, assignments: list[str]) -> str:
    """Regenerate ``course/`` with ``backproplab.release.release`` (the ``make release`` code)."""
    try:
        from backproplab.release import release
    except ImportError:  # pragma: no cover - the release module ships with the package
        return "backproplab.release is not available: course/ not regenerated"
    release(assignments, source=course.path("source"), dest=course.path("release"),
            config_file=course.config_file)
    return f"regenerated {course.path('release').name}/ for {len(assignments)} assignment(s)"


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def source_digest(course: Course, assignment: str) -> str:
    """Changes when the assignment's source folder or the nbgrader configuration changes."""
    digest = hashlib.sha256(course.config_file.read_bytes())
    folder = course.path("source", ".", assignment)
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".ipynb_checkpoints" not in p.parts):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:24]


def register_assignments(course: Course, assignments: list[str]) -> None:
    """Record every assignment's cells in the gradebook, as ``nbgrader generate_assignment`` does.

    nbgrader's own ``GenerateAssignment`` converter runs with the course configuration and the gradebook,
    writing its learner copies to a scratch folder (``course/`` is ``backproplab release``'s business).
    The gradebook then holds the graded cells, their points and the source of every read-only cell
    (hidden tests included) that autograding restores.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    ensure_tools_on_path()
    with tempfile.TemporaryDirectory(prefix="backproplab-register-") as scratch:
        for assignment in assignments:
            log = logging.getLogger(f"backproplab.grading.register.{assignment}")
            log.propagate = False
            capture = _Capture()
            log.handlers[:] = [capture]
            coursedir = CourseDirectory(config=course.config, log=log)
            coursedir.release_directory = os.path.join(scratch, "release")
            coursedir.assignment_id = assignment
            coursedir.notebook_id = "*"
            converter = GenerateAssignment(coursedir=coursedir, config=course.config, log=log)
            converter.force = True
            converter.no_database = False
            try:
                converter.start()
            except Exception as exc:
                detail = next((m for m in reversed(capture.messages) if "Cannot" in m or "Error" in m),
                              f"{type(exc).__name__}: {exc}")
                detail = detail.strip().splitlines()[-1]
                hint = (" (graded cells were added or removed after grading: see 'Grading again' in "
                        "autograder/INSTRUCTORS.md)" if "Cannot" in detail else "")
                raise GradingError(f"{assignment}: could not record the assignment in the gradebook: "
                                   f"{detail}{hint}") from exc
            shutil.rmtree(os.path.join(scratch, "release"), ignore_errors=True)


# ------------------------------------------------------------------------------------------- release data
@dataclass
class NotebookInfo:
    """One release notebook as the gradebook knows it (picklable, JSON-able)."""

    name: str
    kernelspec: str | None
    order: list[str]  # grade ids in the order of the source notebook
    source_cells: dict[str, dict]  # grade id -> {cell_type, locked, source, checksum}
    grade_cells: dict[str, float]  # grade id -> points (max score)
    solution_cells: list[str]
    task_cells: dict[str, float] = field(default_factory=dict)

    @property
    def max_score(self) -> float:
        return float(sum(self.grade_cells.values()) + sum(self.task_cells.values()))

    def to_dict(self) -> dict:
        return {"name": self.name, "kernelspec": self.kernelspec, "order": self.order,
                "source_cells": self.source_cells, "grade_cells": self.grade_cells,
                "solution_cells": self.solution_cells, "task_cells": self.task_cells}


@dataclass
class AssignmentInfo:
    name: str
    notebooks: dict[str, NotebookInfo]

    @property
    def grade_ids(self) -> set[str]:
        return {gid for nb in self.notebooks.values() for gid in nb.source_cells}

    @property
    def max_score(self) -> float:
        return sum(nb.max_score for nb in self.notebooks.values())

    def checksum(self) -> str:
        """Changes whenever the release's graded content changes (then every submission is re-graded)."""
        blob = json.dumps({k: v.to_dict() for k, v in sorted(self.notebooks.items())}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def read_assignment_info(course: Course, gb, assignment: str) -> AssignmentInfo:
    """The graded structure of ``assignment`` from the gradebook (and cell order from the source)."""
    import nbformat
    from nbgrader.api import MissingEntry

    try:
        record = gb.find_assignment(assignment)
    except MissingEntry as exc:
        raise GradingError(f"{assignment}: not in the gradebook") from exc
    notebooks = {}
    for nb in record.notebooks:
        source_cells = {c.name: {"cell_type": c.cell_type, "locked": bool(c.locked), "source": c.source,
                                 "checksum": c.checksum} for c in nb.source_cells}
        order = [c.name for c in nb.source_cells]
        source_path = course.path("source", ".", assignment) / f"{nb.name}.ipynb"
        if source_path.is_file():
            src = nbformat.read(source_path, as_version=4)
            ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in src.cells]
            ordered = [gid for gid in ids if gid in source_cells]
            order = ordered + [gid for gid in order if gid not in ordered]
        notebooks[nb.name] = NotebookInfo(
            name=nb.name,
            kernelspec=nb.kernelspec,
            order=order,
            source_cells=source_cells,
            grade_cells={c.name: float(c.max_score) for c in nb.grade_cells},
            solution_cells=sorted(c.name for c in nb.solution_cells),
            task_cells={c.name: float(c.max_score) for c in nb.task_cells},
        )
    if not notebooks:
        raise GradingError(f"{assignment}: the gradebook has no notebooks for it")
    return AssignmentInfo(name=assignment, notebooks=notebooks)
