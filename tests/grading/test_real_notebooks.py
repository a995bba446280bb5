"""The course's own notebooks through ``backproplab grade --jobs 2``: a perfect submission of each gets
every point; the learner's release (stubs) none; a partial one (the last exercise left as the release's
stub) of the first and the last notebook gets exactly the points its answers earn; and an answer replaced
by a call to the package's reference implementation loses that exercise's points.

Parametrized on the notebooks in ``solutions/``; with none there, the test fails (it does not skip)."""

from __future__ import annotations

import ast
import copy
import importlib

import pytest

from backproplab.checks import REGISTRY
from backproplab.sandbox.notebook import graded_test_cells, is_solution
from tests.grading.classbuilder import (
    REPO,
    blank,
    cell,
    dumps,
    make_course,
    partial,
    real_assignments,
    solution,
    write_tree,
)
from tests.grading.test_grade import read_csv, report_lines, run_grade

NAMES = real_assignments()
PARAMS = [pytest.param(n, id=n) for n in NAMES] or [pytest.param(None, id="no-notebooks-in-solutions")]


MACHINERY = ("backproplab.checks", "backproplab.checking")


def _cheat(nb):
    """(submission, exercise): the solution ``nb`` with one answer replaced by a call to the reference, or
    (None, None)."""
    nb = copy.deepcopy(nb)
    for code in nb.cells:
        if not is_solution(code) or code.cell_type != "code":
            continue
        try:
            defined = [n.name for n in ast.parse(code.source).body if isinstance(n, ast.FunctionDef)]
        except SyntaxError:
            continue
        for name in defined:
            ref = getattr(REGISTRY.get(name), "reference", None)
            module = getattr(ref, "__module__", "") or ""
            if ref is None or module.startswith(MACHINERY) or \
                    getattr(importlib.import_module(module), getattr(ref, "__name__", ""), None) is not ref:
                continue
            code.source = (f"from {module} import {ref.__name__} as _reference\n\n"
                           f"def {name}(*args, **kwargs):\n    return _reference(*args, **kwargs)")
            return nb, name
    return None, None


#: Notebooks with an answer that a learner could replace by a call to a public reference (not 01: its
#: scalar exercises have no reference in the package's public modules).
CHEATABLE = [n for n in NAMES if _cheat(solution(REPO, n))[0] is not None]


def _graded_ids(nb, kind):
    return [c.metadata.nbgrader["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get(kind)]


@pytest.fixture(scope="module")
def real_class(tmp_path_factory):
    if not NAMES:
        return None
    tmp = tmp_path_factory.mktemp("real-class")
    root = make_course(tmp, NAMES)
    files, expected, cheats = {}, {}, {}
    for name in NAMES:
        nb = solution(root, name)
        points = {gid: float(cell(nb, gid).metadata.nbgrader["points"]) for gid in _graded_ids(nb, "grade")}
        last = _graded_ids(nb, "solution")[-1]
        test = "test-" + last.removeprefix("ex-")
        assert test in points, f"{name}: no graded cell {test!r} for the answer cell {last!r}"
        files[f"perfect/{name}.ipynb"] = dumps(nb)
        expected[("perfect", name)] = sum(points.values())
        files[f"stub/{name}.ipynb"] = dumps(blank(root, name))
        expected[("stub", name)] = 0.0
        cheat, exercise = _cheat(nb)
        if cheat is not None:
            files[f"cheat/{name}.ipynb"] = dumps(cheat)
            cheats[name] = exercise
        if name in (NAMES[0], NAMES[-1]):
            files[f"partial/{name}.ipynb"] = dumps(partial(root, name, [last]))
            expected[("partial", name)] = sum(points.values()) - points[test]
    export = write_tree(tmp / "export", files)
    out = tmp / "reports"
    rc, text = run_grade(export, "--course", root, "--jobs", 2, "--out", out, *sum((["-a", n] for n in NAMES), []))
    return {"rc": rc, "text": text, "out": out, "expected": expected, "root": root, "cheats": cheats}


@pytest.mark.parametrize("name", PARAMS)
def test_real_notebook_scores(real_class, name):
    assert name is not None, "no notebooks in solutions/ (expected solutions/NN_topic/NN_topic.ipynb)"
    assert real_class["rc"] == 0, real_class["text"]
    rows = {(r["student_id"], r["assignment"]): float(r["score"]) for r in read_csv(real_class["out"] / "grades.csv")}
    for student in ("perfect", "stub", "partial"):
        if (student, name) in real_class["expected"]:
            assert rows[(student, name)] == real_class["expected"][(student, name)], (student, real_class["text"])
    lines = report_lines(real_class["out"])
    assert not lines.get("perfect"), lines.get("perfect")


def test_most_notebooks_have_a_cheatable_answer():
    assert len(CHEATABLE) >= len(NAMES) - 1, CHEATABLE


@pytest.mark.parametrize("name", CHEATABLE)
def test_calling_the_reference_earns_nothing(real_class, name):
    from backproplab.grading.state import State

    assert real_class["rc"] == 0, real_class["text"]
    root, exercise = real_class["root"], real_class["cheats"][name]
    verdicts = State(root / "autograder" / "autograded" / ".backproplab" / "state.json").results(
        "cheat", name)[name].verdicts
    cells = {c.grade_id: c for c in graded_test_cells(REPO / "solutions" / name / f"{name}.ipynb")}
    assert set(verdicts) == set(cells)
    for gid, verdict in verdicts.items():
        if exercise in {c.name for c in cells[gid].calls}:
            assert verdict.points == 0 and "reference implementation" in verdict.message, (gid, verdict.message)
        else:  # untouched exercises keep their points unless the scan says they were reached too
            assert verdict.passed or verdict.findings, (gid, verdict.message)
