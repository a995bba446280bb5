"""Interrupted runs resume where they stopped; grading again gives the same grades."""

from __future__ import annotations

import json

from backproplab.grading import gradebook
from tests.grading.classbuilder import FIXTURE, blank, dumps, make_course, partial, solution, write_tree
from tests.grading.test_grade import read_csv, run_grade

A = FIXTURE


def test_interrupted_run_resumes_and_a_regrade_gives_the_same_grades(tmp_path, monkeypatch):
    root = make_course(tmp_path)
    export = write_tree(tmp_path / "export", {
        f"ann/{A}.ipynb": dumps(solution(root)),
        f"ben/{A}.ipynb": dumps(partial(root, A, ["ex-cube"])),
        f"cat/{A}.ipynb": dumps(blank(root)),
    })
    out = tmp_path / "reports"
    args = (export, "--course", root, "--jobs", 2, "--out", out)

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


def test_a_changed_submission_is_regraded_and_the_old_copy_kept(tmp_path):
    root = make_course(tmp_path)
    one = write_tree(tmp_path / "one", {f"ann/{A}.ipynb": dumps(blank(root)), f"ben/{A}.ipynb": dumps(blank(root))})
    rc, text = run_grade(one, "--course", root, "--jobs", 2, "--out", tmp_path / "r")
    assert rc == 0, text
    two = write_tree(tmp_path / "two", {f"ann/{A}.ipynb": dumps(solution(root)), f"ben/{A}.ipynb": dumps(blank(root))})
    rc, text = run_grade(two, "--course", root, "--jobs", 2, "--out", tmp_path / "r")
    assert rc == 0, text
    assert "grading 1 submission(s) on 2 worker(s); 1 unchanged" in text
    assert {r["student_id"]: float(r["score"]) for r in read_csv(tmp_path / "r" / "grades.csv")} == {
        "ann": 5.0, "ben": 0.0}
    kept = list((root / "autograder/submitted/.history/ann" / A).glob(f"*/{A}.ipynb"))
    assert [p.read_bytes() for p in kept] == [dumps(blank(root))]
    assert "an earlier, different copy was replaced; it is kept in autograder/submitted/.history/ann/" in text
