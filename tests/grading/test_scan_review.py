"""The instructor reviews what the scan flagged: ``--accept STUDENT:CELL`` (or a file of them) and the grade is
recomputed; ``--strict-scan`` makes dynamic code cost points too."""

from __future__ import annotations

import csv

import nbformat
import pytest

from backproplab.grading.cli import read_acceptances
from tests.grading.test_grade import run_grade
from tests.sandbox.attacks import CORRECT, TOTAL, Attack
from tests.sandbox.conftest import make_course

#: an honest answer that prints numpy's members with inspect.getmembers: it could reach the reference, so the
#: scan blocks it until the instructor has looked
PRINTS_MEMBERS = Attack("ivy", "baseline", "", TOTAL, answers={
    "relu_backward": "import inspect\nprint(len(inspect.getmembers(np)))\n\n" + CORRECT["relu_backward"]})
#: an honest answer with getattr(np, name): dynamic, reported, costs nothing unless the policy is strict
GETATTR = Attack("gus", "baseline", "", TOTAL, answers={
    "relu_backward": 'GATE = "greater"\n\ndef relu_backward(dA, Z):\n    return dA * getattr(np, GATE)(Z, 0)'})


def _scores(out):
    with open(out / "grades.csv", newline="") as fh:
        return {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh) if r["assignment"] == "ps1"}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("review") / "root", only=["honest"])
    for attack in (PRINTS_MEMBERS, GETATTR):
        (root / "export" / attack.name).mkdir()
        nbformat.write(attack.submission(str(root)), root / "export" / attack.name / "ps1.ipynb")
    return root


def test_accepting_a_flagged_cell_recomputes_the_grade(course, tmp_path):
    out = course / "reports"
    args = [course / "export", "--course", course, "--no-release", "-a", "ps1", "--jobs", 2, "--out", out]
    rc, text = run_grade(*args)
    assert rc == 0, text
    assert _scores(out) == {"honest": TOTAL, "ivy": 0.0, "gus": TOTAL}
    report = (out / "report.txt").read_text()
    assert "inspect.getmembers" in report and "every exercise of this notebook scores 0" in report
    assert "getattr with a computed name: noted for your instructor" in report and "costs nothing" in report

    rc, text = run_grade(*args, "--accept", "ivy:ex-relu-backward")
    assert rc == 0, text
    assert "grading 1 submission(s)" in text  # only ivy is graded again
    assert _scores(out) == {"honest": TOTAL, "ivy": TOTAL, "gus": TOTAL}
    assert "reviewed and accepted by your instructor" in (out / "report.txt").read_text()

    # the same acceptance from a file: nothing changed, nothing graded again; the strict policy costs gus
    accepted = tmp_path / "accepted.txt"
    accepted.write_text("# reviewed on Monday\nivy:ex-relu-backward  # prints numpy's members\n\n")
    rc, text = run_grade(*args, "--accept-file", accepted)
    assert rc == 0 and "grading 0 submission(s)" in text, text
    rc, text = run_grade(*args, "--accept-file", accepted, "--strict-scan")
    assert rc == 0, text
    assert _scores(out) == {"honest": TOTAL, "ivy": TOTAL, "gus": 0.0}


def test_acceptances_are_read_strictly(tmp_path):
    path = tmp_path / "accepted.txt"
    path.write_text("ann:ex-a\n# a comment\nann:ex-b # why\nbob:ex-c\n")
    assert read_acceptances(["cy:ex-d"], path) == {"cy": ["ex-d"], "ann": ["ex-a", "ex-b"], "bob": ["ex-c"]}
    with pytest.raises(ValueError, match="not STUDENT:CELL"):
        read_acceptances(["ann"])
    path.write_text("ann:\n")
    with pytest.raises(ValueError, match=r"accepted.txt:1: 'ann:' is not STUDENT:CELL"):
        read_acceptances([], path)
    rc, text = run_grade(tmp_path, "--accept", "nobody")
    assert rc == 1 and text.strip().splitlines()[-1] == (
        "backproplab grade: error: --accept: 'nobody' is not STUDENT:CELL (e.g. alice:ex-dense-backward)")
