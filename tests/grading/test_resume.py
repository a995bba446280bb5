"""Interrupted runs resume where they stopped; grading again gives the same grades."""

from __future__ import annotations

import json

from backproplab.grading import gradebook
from tests.grading.classbuilder import FIXTURE, blank, dumps, make_course, partial, solution, write_tree
from tests.grading.test_grade import read_csv, run_grade

A = FIXTURE


def test_interrupted_run_resumes_a_regrade_gives_the_same_grades_and_a_resubmission_is_kept(tmp_path, monkeypatch):
    root = make_course(tmp_path)
    export = write_tree(tmp_path / "export", {
        f"ann/{A}.ipynb": dumps(solution(root)),
        f"ben/{A}.ipynb": dumps(partial(root, A, ["ex-cube"])),
        f"cat/{A}.ipynb": dumps(blank(root)),
    })
    out = tmp_path / "reports"
    args = (export, "--course", root, "--jobs", 2, "--out", out, "--no-release")

    real = gradebook.record_result
    calls = []

    def interrupt_on_second(*a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(gradebook, "record_result", interrupt_on_second)
    rc, text = run_grade(*args)
    assert rc == 130 and "interrupted" in text and "run the same command again" in text
    state = json.loads((root / "autograder/autograded/.backproplab/state.json").read_text())
    assert len(state["submissions"]) == 1  # one result recorded before the interruption
    monkeypatch.setattr(gradebook, "record_result", real)

    rc, text = run_grade(*args)
    assert rc == 0, text
    assert "grading 2 submission(s) on 2 worker(s); 1 unchanged since they were graded" in text
    scores = {r["student_id"]: float(r["score"]) for r in read_csv(out / "grades.csv")}
    assert scores == {"ann": 5.0, "ben": 2.0, "cat": 0.0}
    first = (out / "exercises.csv").read_text()

    rc, text = run_grade(*args, "--force")
    assert rc == 0, text
    assert "grading 3 submission(s)" in text
    assert (out / "exercises.csv").read_text() == first
    assert {r["student_id"]: float(r["score"]) for r in read_csv(out / "grades.csv")} == scores

    # a new export: cat resubmitted a perfect notebook; only cat is graded, the old copy is kept
    again = write_tree(tmp_path / "export2", {
        f"ann/{A}.ipynb": dumps(solution(root)),
        f"ben/{A}.ipynb": dumps(partial(root, A, ["ex-cube"])),
        f"cat/{A}.ipynb": dumps(solution(root)),
    })
    rc, text = run_grade(again, *args[1:])
    assert rc == 0, text
    assert "grading 1 submission(s) on 2 worker(s); 2 unchanged" in text
    assert {r["student_id"]: float(r["score"]) for r in read_csv(out / "grades.csv")} == {
        "ann": 5.0, "ben": 2.0, "cat": 5.0}
    kept = list((root / "autograder/submitted/.history/cat" / A).glob(f"*/{A}.ipynb"))
    assert [p.read_bytes() for p in kept] == [dumps(blank(root))]
    assert "an earlier, different copy was replaced; it is kept in autograder/submitted/.history/cat/" in text
