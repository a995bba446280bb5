"""A synthetic class for grading tests: a course copy in a temporary folder and submissions made from its
solution (perfect), release (blank) and mixed (partial) notebooks, plus every kind of bad input."""

from __future__ import annotations

import copy
import json
import shutil
import zipfile
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[2]
FIXTURE = "99_fixture"
FIXTURE_POINTS = {"test-square": 2.0, "test-cube": 3.0}

FALLBACK_CONFIG = '''
import os, sys
from pathlib import Path
c = get_config()  # noqa: F821
ROOT = Path(__file__).resolve().parent.parent
c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = "backproplab"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "course"
c.CourseDirectory.submitted_directory = "autograder/submitted"
c.CourseDirectory.autograded_directory = "autograder/autograded"
c.CourseDirectory.feedback_directory = "autograder/feedback"
c.CourseDirectory.db_url = f"sqlite:///{ROOT / 'autograder' / 'gradebook.db'}"
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}
'''


def _meta(cell_id, **nbgrader):
    return {"nbgrader": {"grade_id": cell_id, "schema_version": 3, "grade": False, "solution": False,
                         "locked": False, **nbgrader}}


def fixture_notebook():
    """Two exercises, two graded cells of 2 and 3 points (hidden tests included), a read-only set-up."""
    cells = [
        new_markdown_cell("# Fixture\nTwo exercises.", id="intro"),
        new_code_cell("import math", id="setup", metadata=_meta("setup", locked=True)),
        new_code_cell("def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
                      id="ex-square", metadata=_meta("ex-square", solution=True)),
        new_code_cell("square(3)", id="try-square"),
        new_code_cell("def cube(x):\n    ### BEGIN SOLUTION\n    return x ** 3\n    ### END SOLUTION",
                      id="ex-cube", metadata=_meta("ex-cube", solution=True)),
        new_code_cell("assert square(3) == 9\n### BEGIN HIDDEN TESTS\nassert square(-2) == 4\n"
                      "### END HIDDEN TESTS", id="test-square",
                      metadata=_meta("test-square", grade=True, locked=True, points=2)),
        new_code_cell("assert math.isclose(cube(1.5), 3.375)\n### BEGIN HIDDEN TESTS\nassert cube(-1) == -1\n"
                      "### END HIDDEN TESTS", id="test-cube",
                      metadata=_meta("test-cube", grade=True, locked=True, points=3)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def make_course(tmp_path: Path, real: list[str] = ()) -> Path:
    """A course root in ``tmp_path`` (the repository's nbgrader config, pointing at the copy), with the
    fixture assignment and copies of the ``real`` solution notebooks, released to ``course/``."""
    from backproplab.release import release

    root = tmp_path / "course-root"
    (root / "autograder").mkdir(parents=True)
    config = REPO / "autograder" / "nbgrader_config.py"
    if config.is_file():
        shutil.copy(config, root / "autograder" / "nbgrader_config.py")
    else:
        (root / "autograder" / "nbgrader_config.py").write_text(FALLBACK_CONFIG)
    (root / "solutions" / FIXTURE).mkdir(parents=True)
    nbformat.write(fixture_notebook(), root / "solutions" / FIXTURE / f"{FIXTURE}.ipynb")
    for name in real:
        shutil.copytree(REPO / "solutions" / name, root / "solutions" / name,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    release(None, source=root / "solutions", dest=root / "course",
            config_file=root / "autograder" / "nbgrader_config.py")
    return root


def real_assignments() -> list[str]:
    folder = REPO / "solutions"
    return sorted(p.parent.name for p in folder.glob("*/*.ipynb") if p.stem == p.parent.name)


def solution(root: Path, name: str = FIXTURE):
    return nbformat.read(root / "solutions" / name / f"{name}.ipynb", as_version=4)


def blank(root: Path, name: str = FIXTURE):
    return nbformat.read(root / "course" / name / f"{name}.ipynb", as_version=4)


def cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def partial(root: Path, name: str, blank_ids: list[str]):
    """The solution with the answer cells ``blank_ids`` replaced by the release's stubs."""
    nb = solution(root, name)
    stub = blank(root, name)
    for gid in blank_ids:
        cell(nb, gid).source = cell(stub, gid).source
    return nb


def dumps(nb) -> bytes:
    return nbformat.writes(nb).encode()


def without(nb, *grade_ids):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") not in grade_ids]
    return nb


def as_v3(nb) -> bytes:
    old = nbformat.convert(copy.deepcopy(nb), 3)
    return json.dumps(old).encode()


def write_tree(folder: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


def write_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for rel, data in sorted(files.items()):
            zf.writestr(rel, data)
    return path


def snapshot(path: Path) -> dict[str, tuple[bytes, int]]:
    """Bytes and mtimes of every file under ``path`` (or of the file itself)."""
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return {str(p): (p.read_bytes(), p.stat().st_mtime_ns) for p in files}
