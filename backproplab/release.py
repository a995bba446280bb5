"""Generate the learner notebooks (``course/``) from the nbgrader source (``solutions/``).

``release()`` runs nbgrader's own ``GenerateAssignment`` converter with the course's
``autograder/nbgrader_config.py`` (the file instructors use with plain ``nbgrader`` commands), without
a gradebook, in a scratch folder; only when every notebook converted does it replace
``dest/NN_topic/``. The output is deterministic: no outputs, no execution counts, the source's cell
ids, volatile metadata dropped (see the config file), one JSON layout (``nbformat.write``).

Every cell that raises on the learner's stub (a graded test cell; an answer cell whose stub raises at the
top level) gets Jupyter's ``raises-exception`` tag, from :class:`TagRaisingCells`, the config file's last
GenerateAssignment step (so plain ``nbgrader generate_assignment`` tags them too): JupyterLab's *Run All*
goes on past such a cell, and ``pytest --nbval-lax course/`` expects its error. nbgrader's checksums do
not cover tags.
"""

from __future__ import annotations

import ast
import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "solutions"
DEST = ROOT / "course"
CONFIG = ROOT / "autograder" / "nbgrader_config.py"

_IGNORE = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc", ".DS_Store")


class ReleaseError(ValueError):
    """A release problem worth one line to the user (missing folder, unreadable notebook, ...)."""


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def discover(source: Path = SOURCE) -> list[str]:
    """Assignment names (``NN_topic``): the folders of ``source`` that hold at least one notebook."""
    source = Path(source)
    return sorted(
        p.name for p in source.iterdir()
        if p.is_dir() and not p.name.startswith(".") and any(p.glob("*.ipynb"))
    )


def read_source_notebook(path: Path) -> nbformat.NotebookNode:
    """Read and validate one source notebook; every cell must carry an nbformat id."""
    try:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # nbformat raises JSON, schema and OS errors
        raise ReleaseError(f"{_rel(path)}: not a valid notebook: {_first_line(exc)}") from exc
    if (nb.nbformat, nb.nbformat_minor) < (4, 5) or any("id" not in cell for cell in nb.cells):
        raise ReleaseError(f"{_rel(path)}: every cell needs an id (nbformat 4.5 or newer); "
                           "open and save it in JupyterLab 4")
    return nb


def _load_config(config_file: Path):
    from traitlets.config.loader import PyFileConfigLoader

    config_file = Path(config_file)
    if not config_file.is_file():
        raise ReleaseError(f"no nbgrader configuration at {_rel(config_file)}")
    return PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()


class _Capture(logging.Handler):
    """Keeps nbgrader's error records, to turn them into one line."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def summary(self) -> str:
        # nbgrader logs "There was an error processing ..." and then the traceback, whose last line
        # names the exception; prefer that line.
        for message in self.messages:
            if message.startswith("Traceback"):
                return [line for line in message.strip().splitlines() if line.strip()][-1].strip()
        return _first_line(self.messages[0]) if self.messages else "unknown nbgrader error"


def _generate(config, root: Path, assignment: str) -> None:
    from nbgrader.converters import GenerateAssignment
    from nbgrader.converters.base import NbGraderException
    from nbgrader.coursedir import CourseDirectory

    log = logging.getLogger(f"backproplab.release.{assignment}")
    log.propagate = False
    log.setLevel(logging.WARNING)
    capture = _Capture()
    log.handlers[:] = [capture]

    coursedir = CourseDirectory(config=config, log=log)
    coursedir.root = str(root)
    coursedir.source_directory = "solutions"
    coursedir.release_directory = "release"
    coursedir.db_url = f"sqlite:///{root / 'gradebook.db'}"  # never the course's gradebook (none is used anyway)
    coursedir.assignment_id = assignment
    coursedir.notebook_id = "*"
    converter = GenerateAssignment(coursedir=coursedir, config=config, log=log)
    converter.force = True
    try:
        converter.start()
    except NbGraderException as exc:
        raise ReleaseError(f"{assignment}: nbgrader failed: {capture.summary()}") from exc
    except Exception as exc:
        raise ReleaseError(f"{assignment}: nbgrader failed: {type(exc).__name__}: {_first_line(exc)}") from exc


RAISES = "raises-exception"  # Jupyter's standard cell tag: an error here is expected


def raises_on_stub(cell: nbformat.NotebookNode) -> bool:
    """Whether a released cell raises before the learner answers: a graded test cell (it checks the stub),
    or an answer cell whose stub ``raise NotImplementedError()`` is a top-level statement."""
    if cell.cell_type != "code":
        return False
    meta = cell.metadata.get("nbgrader", {})
    if meta.get("grade"):
        return True
    if not meta.get("solution"):
        return False
    try:
        return any(isinstance(node, ast.Raise) for node in ast.parse(cell.source).body)
    except SyntaxError:  # IPython syntax (magics): not a plain top-level raise
        return False


def tag_raising_cells(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Give exactly the cells that :func:`raises_on_stub` the ``raises-exception`` tag (other tags kept)."""
    for cell in nb.cells:
        tags = [tag for tag in cell.metadata.get("tags", []) if tag != RAISES]
        tags += [RAISES] if raises_on_stub(cell) else []
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
    return nb


class TagRaisingCells(Preprocessor):
    """The last GenerateAssignment step (``autograder/nbgrader_config.py``): :func:`tag_raising_cells`."""

    enabled = Bool(True).tag(config=True)  # nbconvert's preprocessors are off unless enabled

    def preprocess(self, nb, resources):
        return tag_raising_cells(nb), resources


def _normalise(generated: Path, source_nb: nbformat.NotebookNode, source_path: Path) -> None:
    """Give the learner notebook the source's cell ids and a clean, canonical JSON layout."""
    nb = nbformat.read(generated, as_version=4)
    if [c.cell_type for c in nb.cells] != [c.cell_type for c in source_nb.cells]:
        raise ReleaseError(f"{_rel(source_path)}: nbgrader changed the cell structure; cannot keep cell ids")
    for cell, src in zip(nb.cells, source_nb.cells, strict=True):
        cell.id = src.id  # nbgrader 0.9.6 keeps ids; this pins them whatever the version does
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.nbformat, nb.nbformat_minor = 4, max(5, source_nb.nbformat_minor)
    nbformat.write(nb, generated)
    generated.chmod(0o644)


def release(
    assignments: Iterable[str] | None = None,
    source: Path | str = SOURCE,
    dest: Path | str = DEST,
    *,
    config_file: Path | str = CONFIG,
) -> list[Path]:
    """Regenerate ``dest/NN_topic/`` from ``source/NN_topic/`` for the given (default: all) assignments.

    Returns the written notebooks. Raises ``ReleaseError`` with a one-line message on any problem,
    leaving ``dest`` untouched.
    """
    source, dest = Path(source), Path(dest)
    if not source.is_dir():
        raise ReleaseError(f"no solutions folder at {_rel(source)}")
    available = discover(source)
    if assignments is None:
        names = available
        if not names:
            raise ReleaseError(f"no notebooks in {_rel(source)} (expected {_rel(source)}/NN_topic/NN_topic.ipynb)")
    else:
        names = sorted(set(assignments))
        unknown = [name for name in names if name not in available]
        if unknown:
            raise ReleaseError(f"no assignment {unknown[0]!r} in {_rel(source)} "
                               f"(available: {', '.join(available) or 'none'})")

    sources = {name: {p.name: (p, read_source_notebook(p)) for p in sorted((source / name).glob("*.ipynb"))}
               for name in names}
    config = _load_config(Path(config_file))
    # the `nbgrader generate_assignment --no-db` equivalent: no gradebook is read or written
    config.SaveCells.enabled = False
    config.GenerateAssignment.no_database = True

    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="backproplab-release-") as tmp:
        root = Path(tmp)
        for name in names:
            shutil.copytree(source / name, root / "solutions" / name, ignore=_IGNORE)
            _generate(config, root, name)
            for filename, (path, nb) in sources[name].items():
                _normalise(root / "release" / name / filename, nb, path)
        dest.mkdir(parents=True, exist_ok=True)
        for name in names:
            target = dest / name
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(root / "release" / name, target)
            written += [target / filename for filename in sources[name]]
    return written
