"""The nbgrader pipeline, notebook by notebook.

Each learner notebook is executed once by nbgrader's own ``Validator`` (``scripts/bench_notebooks.validate``,
in worker processes, see conftest.py); the tests below read that run:

- the solution runs top to bottom without an error, every graded cell and hidden test included: nbval runs
  it (``pytest --nbval-lax solutions/``, part of ``make test``);
- the learner stub runs to the end with errors only where nbgrader expects them (``NotImplementedError`` in
  answer cells, failed checks in graded cells; nbval-lax over course/ accepts errors in the cells the release
  tags ``raises-exception``, these tests say which errors), every graded cell fails, checksums hold;
- ``course/`` is exactly what ``backproplab release`` makes from ``solutions/``.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from backproplab.cli import main as cli_main
from backproplab.release import CONFIG, release
from tests.conftest import COURSE, EXPECTED_NOTEBOOKS, SOLUTIONS, notebook_names, notebook_params, require

NAMES = notebook_names(SOLUTIONS)
PARAMS = notebook_params(NAMES)

#: errors a learner stub may raise, by nbgrader role of the cell
ALLOWED_STUB_ERRORS = {"solution": {"NotImplementedError"}, "grade": {"AssertionError", "NotImplementedError"}}


def _where(cell: dict) -> str:
    first = next((line for line in cell["source"].splitlines() if line.strip()), "")
    return f"cell {cell['index']} (id {cell['id']!r}: {first[:60]!r})"


def _errors(cell: dict) -> str:
    return "; ".join(f"{e['ename']}: {e['evalue']}" for e in cell["errors"])


def test_solutions_exist():
    assert NAMES, "no notebooks in solutions/ (expected solutions/NN_topic/NN_topic.ipynb)"
    found = {Path(name).parent.name for name in NAMES}
    missing = [name for name in EXPECTED_NOTEBOOKS if name not in found]
    assert not missing, f"notebooks of the course map missing from solutions/: {', '.join(missing)}"


def test_course_has_no_orphans():
    orphans = sorted(set(notebook_names(COURSE)) - set(NAMES))
    assert not orphans, f"course/ holds notebooks without a source in solutions/: {', '.join(orphans)}"


# ---- solutions ---------------------------------------------------------------------------------------------
# Every cell of every solution notebook, graded cells and hidden tests included, runs under nbval: make test
# runs pytest over solutions/ and course/ with --nbval-lax (pyproject.toml's testpaths and addopts).
def test_nbval_runs_every_notebook():
    config = tomllib.loads((SOLUTIONS.parent / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["pytest"]
    options = config["ini_options"]
    assert {"solutions", "course"} <= set(options["testpaths"]), options["testpaths"]
    assert "--nbval-lax" in options["addopts"].split(), options["addopts"]


@pytest.mark.parametrize("name", PARAMS)
def test_solution_has_graded_cells(name):
    nb = nbformat.read(SOLUTIONS / require(name), as_version=4)
    graded = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")]
    assert graded, f"solutions/{name} has no graded test cell (nbgrader grade: true)"


# ---- learner stubs -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", PARAMS)
def test_stub_errors_only_in_answer_and_graded_cells(name, course_run):
    assert course_run["executed"], f"nbgrader did not execute course/{name}: {course_run['results']}"
    unexpected = []
    for cell in course_run["cells"]:
        role = "grade" if cell["grade"] else "solution" if cell["solution"] else None
        allowed = ALLOWED_STUB_ERRORS.get(role, set())
        bad = [e for e in cell["errors"] if e["ename"] not in allowed]
        if bad:
            unexpected.append(f"{_where(cell)} [{role or 'plain cell'}]: "
                              + "; ".join(f"{e['ename']}: {e['evalue']}" for e in bad))
    assert not unexpected, (f"course/{name} (learner stubs) raised where no error is expected:\n"
                            + "\n".join(unexpected))


@pytest.mark.parametrize("name", PARAMS)
def test_graded_cells_fail_on_stub(name, course_run):
    results = course_run["results"]
    assert not results.get("changed"), f"course/{name}: locked cells do not match their checksums"
    graded = [c for c in course_run["cells"] if c["grade"] and c["cell_type"] == "code"]
    assert graded, f"course/{name} has no graded test cell"
    passing = [_where(c) for c in graded if c["score"] == c["max_score"]]
    assert not passing and not results.get("passed"), (
        f"graded cells pass on the unanswered notebook course/{name}:\n" + "\n".join(passing))


# ---- course/ is the release of solutions/ --------------------------------------------------------------------
def _first_difference(expected: dict, actual: dict) -> str:
    def dump(value):
        return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False).splitlines()

    for key in sorted((set(expected) | set(actual)) - {"cells"}):
        if expected.get(key) != actual.get(key):
            diff = difflib.unified_diff(dump(expected.get(key)), dump(actual.get(key)),
                                        "release", "course/", lineterm="")
            return f"notebook {key!r} differs:\n" + "\n".join(diff)
    cells_e, cells_a = expected.get("cells", []), actual.get("cells", [])
    for i, (ce, ca) in enumerate(zip(cells_e, cells_a, strict=False)):
        if ce != ca:
            diff = difflib.unified_diff(dump(ce), dump(ca), "release", "course/", lineterm="")
            return f"first differing cell: {i} (id {ce.get('id')!r}):\n" + "\n".join(diff)
    if len(cells_e) != len(cells_a):
        return f"release has {len(cells_e)} cells, course/ has {len(cells_a)}"
    return "no difference"


@pytest.mark.parametrize("name", PARAMS)
def test_course_is_release_of_solutions(name, released):
    name = require(name)
    committed = COURSE / name
    assert committed.exists(), f"course/{name} is missing: run `make release`"
    expected = json.loads((released / name).read_text(encoding="utf-8"))
    actual = json.loads(committed.read_text(encoding="utf-8"))
    if expected != actual:
        pytest.fail(f"course/{name} is not the release of solutions/{name}: run `make release`.\n"
                    + _first_difference(expected, actual), pytrace=False)


# ---- release and CLI on a small demo notebook ---------------------------------------------------------------
def _cell(factory, cell_id, source, **nbgrader):
    cell = factory(source)
    cell.id = cell_id
    if nbgrader:
        cell.metadata["nbgrader"] = {"grade": False, "locked": False, "schema_version": 3, "solution": False,
                                     "task": False, "grade_id": cell_id, **nbgrader}
    return cell


def make_demo_source(folder: Path, name: str = "99_demo") -> Path:
    """An nbgrader source notebook in the course's format, with volatile metadata to be dropped."""
    nb = new_notebook(metadata={
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.11.7"},
        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}},
    })
    nb.cells = [
        _cell(new_markdown_cell, "title", "# 99 · Demo\n\nA demo."),
        _cell(new_code_cell, "setup", "import numpy as np\nimport backproplab", locked=True),
        _cell(new_code_cell, "ex-square", "def square(x):\n    ### BEGIN SOLUTION\n    return np.square(x)\n"
                                          "    ### END SOLUTION", solution=True),
        _cell(new_code_cell, "try-square", "print(square(3) if False else 'try me')"),
        _cell(new_code_cell, "ex-nine", "### BEGIN SOLUTION\nnine = square(3)\n### END SOLUTION", solution=True),
        _cell(new_code_cell, "test-square", "assert square(3) == 9\n### BEGIN HIDDEN TESTS\nassert square(4) == 16\n"
                                            "### END HIDDEN TESTS", grade=True, locked=True, points=1),
    ]
    nb.cells[1].execution_count = 4
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="old output")]
    nb.cells[1].metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    path = folder / name / f"{name}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    (path.parent / "data.txt").write_text("copied along\n")
    return path


def test_release_of_demo(tmp_path):
    make_demo_source(tmp_path / "solutions")
    written = release(source=tmp_path / "solutions", dest=tmp_path / "course")
    out = tmp_path / "course" / "99_demo" / "99_demo.ipynb"
    assert written == [out]
    assert (out.parent / "data.txt").exists()
    first = out.read_bytes()
    nb = nbformat.read(out, as_version=4)
    assert [c.id for c in nb.cells] == ["title", "setup", "ex-square", "try-square", "ex-nine", "test-square"]
    assert all(c.outputs == [] and c.execution_count is None for c in nb.cells if c.cell_type == "code")
    assert nb.metadata == {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                          "name": "python3"}, "language_info": {"name": "python"}}
    assert "execution" not in nb.cells[1].metadata
    assert nb.cells[2].source == "def square(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    assert nb.cells[5].source == "assert square(3) == 9"
    assert nb.cells[5].metadata["nbgrader"]["checksum"]
    # the cells that raise on the stub (the graded test, the top-level answer) are tagged, no other
    assert {c.id for c in nb.cells if "raises-exception" in c.metadata.get("tags", [])} == {"ex-nine", "test-square"}
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    # deterministic: a second release (into an existing folder) writes the same bytes
    release(["99_demo"], source=tmp_path / "solutions", dest=tmp_path / "course")
    assert out.read_bytes() == first


def test_nbgrader_cli_from_autograder_matches_release(tmp_path):
    """`cd autograder && nbgrader generate_assignment` (the instructors' way) gives the same notebook."""
    make_demo_source(tmp_path / "solutions")
    (tmp_path / "autograder").mkdir()
    shutil.copy(CONFIG, tmp_path / "autograder" / "nbgrader_config.py")
    nbgrader = Path(sys.executable).with_name("nbgrader")
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # not activated: the config must find alembic itself
    proc = subprocess.run([str(nbgrader), "generate_assignment", "99_demo"], cwd=tmp_path / "autograder",
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "autograder" / "gradebook.db").exists()
    release(source=tmp_path / "solutions", dest=tmp_path / "released")
    by_cli = json.loads((tmp_path / "course" / "99_demo" / "99_demo.ipynb").read_text())
    by_release = json.loads((tmp_path / "released" / "99_demo" / "99_demo.ipynb").read_text())
    assert by_cli == by_release, _first_difference(by_release, by_cli)


def test_cli_release(tmp_path, capsys):
    make_demo_source(tmp_path / "solutions")
    code = cli_main(["release", "--source", str(tmp_path / "solutions"), "--dest", str(tmp_path / "course")])
    assert code == 0
    assert "99_demo.ipynb" in capsys.readouterr().out


@pytest.mark.parametrize("problem", ["missing-folder", "unknown-assignment", "corrupt-notebook", "no-end-solution"])
def test_cli_release_errors_are_one_line(tmp_path, capsys, problem):
    source = tmp_path / "solutions"
    args = []
    if problem != "missing-folder":
        path = make_demo_source(source)
    if problem == "unknown-assignment":
        args = ["42_nothing"]
    elif problem == "corrupt-notebook":
        path.write_text('{"cells": [')
    elif problem == "no-end-solution":
        path.write_text(path.read_text().replace("### END SOLUTION", ""))
    code = cli_main(["release", *args, "--source", str(source), "--dest", str(tmp_path / "course")])
    err = capsys.readouterr().err
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and err.startswith("backproplab release: error: "), err
    assert not (tmp_path / "course").exists()
