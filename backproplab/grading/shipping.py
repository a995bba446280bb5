"""What travels with a grading task: workers need the course's environment, never its folder.

No shared file system is assumed between the parent (``backproplab grade``, the only process that reads the
course and writes the gradebook) and its workers (a local cluster's processes, or the machines of
``--cluster``). The parent packs, per (student, assignment), a self-contained
:class:`~.protocol.GradingTask` (:func:`pack`):

* the submitted notebooks' bytes, and the submission's other files;
* the instructor's source notebooks (hidden tests in: the judge's test cells, the scan's reference) and the
  release's supporting files (``solutions/<assignment>/`` but notebooks);
* the release data of every notebook (graded cells, points, read-only sources: from the gradebook);
* each notebook's grading seed, derived here (the course's grading secret never leaves the parent), and its
  measured time budget (``autograder/budgets.json``).

The course configuration (``autograder/nbgrader_config.py``, loaded by the parent) reaches every worker once,
with the worker plugin (:mod:`.parallel`). A worker writes a task's files into a temporary folder of its own
(:func:`unpack`), hidden from the kernel like the course folder (``NotebookTask.hide``), grades from there
and sends the autograded notebooks back in the result; the parent writes them into
``autograded/<student>/<assignment>/`` with the supporting files (:func:`store`). Feedback pages travel the
same way: the autograded notebook's text goes out with the :class:`~.protocol.FeedbackTask`, the rendered
pages come back (:func:`backproplab.grading.feedback.render_pages`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from .protocol import UNREADABLE_SUFFIX, GradingTask, TaskResult


def supporting_files(course, student: str, assignment: str) -> dict[str, bytes]:
    """The files that go next to the notebook when it runs, nbgrader's way: the submission's, then the
    release's (``solutions/<assignment>/``; the instructor's copies win); no notebook, nothing ignored."""
    from nbgrader.utils import find_all_files

    ignore = list(course.coursedir.ignore) + ["*.ipynb", "*" + UNREADABLE_SUFFIX]
    files: dict[str, bytes] = {}
    for folder in (course.path("submitted", student, assignment), course.path("source", ".", assignment)):
        if os.path.isdir(folder):
            for filename in find_all_files(str(folder), ignore):
                files[Path(os.path.relpath(filename, folder)).as_posix()] = Path(filename).read_bytes()
    return files


def pack(course, secret: bytes, *, student: str, assignment: str, info, files: dict[str, Path | None],
         checksum: str, accepted: list[str], strict_scan: bool) -> GradingTask:
    """The self-contained task for (``student``, ``assignment``): ``info`` its release data
    (:class:`~.course.AssignmentInfo`), ``files`` notebook -> the submitted file (None: not submitted)."""
    from backproplab.sandbox import derive_seed

    from .budgets import find_budget

    source_dir = course.path("source", ".", assignment)
    sources = {name: (source_dir / f"{name}.ipynb").read_bytes() for name in info.notebooks
               if (source_dir / f"{name}.ipynb").is_file()}
    budgets = {name: budget for name in info.notebooks
               if (budget := find_budget(course.root, assignment, source_dir / f"{name}.ipynb")) is not None}
    return GradingTask(
        student=student, assignment=assignment, checksum=checksum, info_checksum=info.checksum(),
        notebooks=dict(info.notebooks),
        submissions={name: (Path(path).read_bytes() if path else None) for name, path in files.items()},
        sources=sources, supporting=supporting_files(course, student, assignment),
        seeds={name: derive_seed(secret, student, assignment, name) for name in info.notebooks},
        budgets=budgets, accepted=list(accepted), strict_scan=strict_scan)


def _inside(folder: Path, relative: str) -> Path:
    """``folder / relative``, refusing a path that leaves ``folder`` (absolute, ``..``)."""
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or ".." in parts:
        raise ValueError(f"not a relative path inside the task: {relative!r}")
    return folder.joinpath(*parts)


def write_files(folder: Path, files: dict[str, bytes], mode: int | None = None) -> None:
    """Write ``files`` (relative path -> bytes) under ``folder``, replacing what is there."""
    for relative, data in files.items():
        target = _inside(folder, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() or target.is_symlink():
            target.unlink()
        target.write_bytes(data)
        if mode is not None:
            os.chmod(target, mode)


def write_text_atomic(path: Path, text: str, mode: int) -> None:
    """``path`` holds ``text`` (with ``mode``) or what it held before, never half of it."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.chmod(tmp, mode)
    os.replace(tmp, path)


class Unpacked:
    """A worker's temporary folder holding one task's files: ``submitted/``, ``source/`` and ``autograded/``
    (the supporting files; the autograded notebooks are written there). Removed on exit."""

    def __init__(self, task: GradingTask):
        self.task = task
        self.folder = Path(tempfile.mkdtemp(prefix="backproplab-task-"))
        os.chmod(self.folder, 0o700)

    def __enter__(self) -> Unpacked:
        task = self.task
        write_files(self.submitted, {f"{n}.ipynb": b for n, b in task.submissions.items() if b is not None})
        write_files(self.source, {f"{n}.ipynb": b for n, b in task.sources.items()})
        self.dest.mkdir()
        write_files(self.dest, task.supporting)
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def submitted(self) -> Path:
        return self.folder / "submitted"

    @property
    def source(self) -> Path:
        return self.folder / "source"

    @property
    def dest(self) -> Path:
        return self.folder / "autograded"

    def submission(self, name: str) -> Path | None:
        return self.submitted / f"{name}.ipynb" if self.task.submissions.get(name) is not None else None


def unpack(task: GradingTask) -> Unpacked:
    """``with unpack(task) as files:`` the task's files in a fresh temporary folder of this worker."""
    return Unpacked(task)


def store(course, result: TaskResult) -> None:
    """In the parent: a fresh ``autograded/<student>/<assignment>/`` with the supporting files and the
    autograded notebooks ``result`` brought back; each notebook's ``autograded`` then names its file."""
    dest = course.path("autograded", result.student, result.assignment)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    write_files(dest, supporting_files(course, result.student, result.assignment))
    mode = 0o664 if course.coursedir.groupshared else 0o444
    for name, nb in result.notebooks.items():
        if nb.notebook is not None:
            out = dest / f"{name}.ipynb"
            write_text_atomic(out, nb.notebook, mode)
            nb.autograded, nb.notebook = str(out), None
        else:
            nb.autograded = None
