"""The course's own notebooks through ``backproplab grade --jobs 2``: a perfect submission of each gets
every point; a partial one (the last exercise left as the release's stub) of the first and the last
notebook gets exactly the points its answers earn (two, to keep the suite fast: every notebook's stubs
failing their tests is tests/test_pipeline.py's business).

Parametrized on the notebooks in ``solutions/``; with none there, the test fails (it does not skip)."""

from __future__ import annotations

import pytest

from tests.grading.classbuilder import (
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


def _graded_ids(nb, kind):
    return [c.metadata.nbgrader["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get(kind)]


@pytest.fixture(scope="module")
def real_class(tmp_path_factory):
    if not NAMES:
        return None
    tmp = tmp_path_factory.mktemp("real-class")
    root = make_course(tmp, NAMES)
    files, expected = {}, {}
    for name in NAMES:
        nb = solution(root, name)
        points = {gid: float(cell(nb, gid).metadata.nbgrader["points"]) for gid in _graded_ids(nb, "grade")}
        last = _graded_ids(nb, "solution")[-1]
        test = "test-" + last.removeprefix("ex-")
        assert test in points, f"{name}: no graded cell {test!r} for the answer cell {last!r}"
        files[f"perfect/{name}.ipynb"] = dumps(nb)
        expected[("perfect", name)] = sum(points.values())
        if name in (NAMES[0], NAMES[-1]):
            files[f"partial/{name}.ipynb"] = dumps(partial(root, name, [last]))
            expected[("partial", name)] = sum(points.values()) - points[test]
    export = write_tree(tmp / "export", files)
    out = tmp / "reports"
    rc, text = run_grade(export, "--course", root, "--jobs", 2, "--out", out, *sum((["-a", n] for n in NAMES), []))
    return {"rc": rc, "text": text, "out": out, "expected": expected}


@pytest.mark.parametrize("name", PARAMS)
def test_real_notebook_scores(real_class, name):
    assert name is not None, "no notebooks in solutions/ (expected solutions/NN_topic/NN_topic.ipynb)"
    assert real_class["rc"] == 0, real_class["text"]
    rows = {(r["student_id"], r["assignment"]): float(r["score"]) for r in read_csv(real_class["out"] / "grades.csv")}
    for student in ("perfect", "partial"):
        if (student, name) in real_class["expected"]:
            assert rows[(student, name)] == real_class["expected"][(student, name)], (student, real_class["text"])
    lines = report_lines(real_class["out"])
    assert not lines.get("perfect"), lines.get("perfect")
