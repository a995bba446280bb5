"""A slow but correct answer is never rejected: every graded function of notebooks 01–07 written with pure-Python
loops (tests/grading/slow_answers.py) gets full marks through ``backproplab grade``, under the time budgets the
grader measures from the solutions (``budgets.CELL_FLOOR``, ``budgets.MULTIPLE``), and no cell is stopped."""

from __future__ import annotations

import json

from tests.grading.classbuilder import dumps, make_course, solution, write_tree
from tests.grading.slow_answers import ANSWERS, slow_notebook
from tests.grading.test_grade import read_csv, run_grade

NAMES = sorted(ANSWERS)


def test_slow_correct_answers_get_full_marks_within_the_budgets(tmp_path):
    from backproplab.grading.budgets import CELL_FLOOR, MULTIPLE

    root = make_course(tmp_path, NAMES)
    files, full = {}, {}
    for name in NAMES:
        nb = solution(root, name)
        full[name] = sum(float(c.metadata.nbgrader["points"]) for c in nb.cells
                         if c.metadata.get("nbgrader", {}).get("grade"))
        files[f"slow/{name}.ipynb"] = dumps(slow_notebook(nb, name))
    out = tmp_path / "reports"
    rc, text = run_grade(write_tree(tmp_path / "export", files), "--course", root, "--jobs", 2, "--out", out,
                         *sum((["-a", n] for n in NAMES), []))
    assert rc == 0, text
    budgets = json.loads((root / "autograder" / "budgets.json").read_text())
    assert set(budgets) == {f"{n}/{n}" for n in NAMES}  # every notebook ran under its measured budget
    assert any(b["slowest_cell_cpu"] * MULTIPLE < CELL_FLOOR for b in budgets.values())  # ... some at the floor
    scores = {r["assignment"]: float(r["score"]) for r in read_csv(out / "grades.csv") if r["student_id"] == "slow"}
    assert scores == full, text
    report = (out / "report.txt").read_text()
    assert "was stopped" not in report and "computed for more than" not in report, report
