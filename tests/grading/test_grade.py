"""``backproplab grade`` end to end on a synthetic class with every kind of bad input (``--jobs 2``).

The class is a zip as an LMS exports it, wrapped in an ``export/`` folder: one folder per student, plus
Canvas, Moodle and flat file names. Every student's exact score, the CSV files and the report lines are
checked; then plain nbgrader reads the gradebook.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backproplab.grading.cli import main as grade_main
from tests.grading.classbuilder import (
    FIXTURE,
    as_v3,
    blank,
    cell,
    dumps,
    make_course,
    partial,
    snapshot,
    solution,
    without,
    write_zip,
)

A = FIXTURE

#: student -> (score out of 5, the exact report lines for that student)
EXPECTED = {
    "alice": (5.0, []),  # perfect: the solution notebook
    "bob": (0.0, []),  # blank: the release notebook
    "dave": (0.0, ["not a notebook: invalid JSON (Expecting property name enclosed in double quotes at line 1): "
                   "0 points"]),
    "erin": (0.0, ["not a notebook: JSON without notebook cells: 0 points"]),
    "frank": (0.0, ["not a notebook: the file is not text (a PDF, an image or an archive?): 0 points"]),
    "hank": (2.0, [f"{A}.ipynb was submitted as 'export/hank/Untitled.ipynb' (named 'Untitled.ipynb': "
                   "identified by its cells)",
                   "answer cell 'ex-cube' was deleted: its exercise scores 0 unless the answer is elsewhere"]),
    "ivan": (0.0, [f"no {A}.ipynb was submitted: 0 points"]),
    "jane_doe": (2.0, []),  # Moodle folder, partial answers
    "kim": (5.0, ["test cell 'test-cube' was deleted: restored from the release",
                  "read-only cell 'setup' was deleted: restored from the release"]),
    "max": (5.0, ["answer cell 'ex-square' was changed from code to markdown: changed back",
                  "test cell 'test-cube' was changed from code to markdown: changed back",
                  "grading metadata of cell 'test-square' was damaged: restored from the release",
                  "points of 'test-square' were changed from 2 to lots: the release's points count"]),
    "ned": (2.0, ["test cell 'test-cube' was edited: the release's version was graded"]),
    "pat": (0.0, ["the kernel died in cell 5 (it exited, was killed, or ran out of memory or CPU time): "
                  "the cells after it did not run",
                  "test cell 'test-square' did not run: 0 points",
                  "test cell 'test-cube' did not run: 0 points"]),
    "smithjohn": (5.0, ["nbformat 3 notebook, converted to nbformat 4"]),  # a Canvas re-upload, -1: no rename
    "tom": (5.0, ["test cell 'test-square' appears 2 times: only the last copy is graded",
                  "answer cell 'ex-square' appears 2 times: only the last copy is graded"]),
    "uma": (5.0, [f"{A}.ipynb was submitted as 'export/uma/{A} (1).ipynb' (named '{A} (1).ipynb')",
                  "points of 'test-square' were changed from 2 to 100: the release's points count"]),
}


def _export(root: Path) -> dict[str, bytes]:
    perfect = solution(root)
    part = partial(root, A, ["ex-cube"])  # square answered, cube left as the stub: 2 of 5 points

    def changed(nb, edit):
        nb = copy.deepcopy(nb)
        edit(nb)
        return nb

    def duplicate(nb):
        ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
        for gid in ("test-square", "ex-square"):
            i = ids.index(gid)
            nb.cells.insert(i, copy.deepcopy(nb.cells[i]))
            ids.insert(i, gid)
        for c in nb.cells:
            c.pop("id", None)
        nb.nbformat_minor = 4

    def retype(nb):
        for gid in ("ex-square", "test-cube"):
            c = cell(nb, gid)
            c.cell_type = "markdown"
            del c["outputs"], c["execution_count"]

    def edit_test(nb):
        cell(nb, "test-cube").source = "pass  # the test always passes, trust me"

    def edit_points(nb):
        cell(nb, "test-square").metadata.nbgrader["points"] = 100

    def kill_kernel(nb):
        cell(nb, "ex-cube").source = "import os\nos._exit(1)"

    def damage(nb):
        cell(nb, "test-square").metadata.nbgrader["points"] = "lots"

    e = "export"
    return {
        f"{e}/alice/{A}.ipynb": dumps(perfect),
        f"{e}/bob/{A}.ipynb": dumps(blank(root)),
        f"{e}/dave/{A}.ipynb": b"{ this is not json",
        f"{e}/erin/{A}.ipynb": b'{"hello": "world"}',
        f"{e}/frank/{A}.ipynb": b"%PDF-1.4\n\x80\x81\xfe binary",
        f"{e}/hank/Untitled.ipynb": dumps(without(perfect, "ex-cube")),
        f"{e}/ivan/notes.txt": b"I did not finish",
        f"{e}/kim/{A}.ipynb": dumps(without(perfect, "test-cube", "setup")),
        f"{e}/max/{A}.ipynb": dumps(changed(changed(perfect, retype), damage)),
        f"{e}/ned/{A}.ipynb": dumps(changed(part, edit_test)),
        f"{e}/pat/{A}.ipynb": dumps(changed(perfect, kill_kernel)),
        f"{e}/smithjohn_12345_67890_{A}-1.ipynb": as_v3(perfect),  # Canvas, re-uploaded, nbformat 3
        f"{e}/Jane Doe_222_assignsubmission_file_/{A}.ipynb": dumps(part),  # Moodle
        f"{e}/tom_{A}.ipynb": dumps(changed(perfect, duplicate)),  # a flat file name
        f"{e}/uma/{A} (1).ipynb": dumps(changed(perfect, edit_points)),  # a browser's duplicate name
    }


def run_grade(*argv) -> tuple[int, str]:
    out = io.StringIO()
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = grade_main([str(a) for a in argv])
    return rc, out.getvalue() + err.getvalue()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad-class")
    root = make_course(tmp)
    export = write_zip(tmp / "submissions.zip", _export(root))
    before = snapshot(export)
    out = tmp / "reports"
    rc, text = run_grade(export, "--course", root, "--jobs", 2, "--out", out)
    return {"root": root, "export": export, "before": before, "out": out, "rc": rc, "text": text}


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def report_lines(out: Path) -> dict[str, list[str]]:
    text = (out / "report.txt").read_text()
    lines = text.split("Problems and decisions", 1)[1].splitlines()[1:]
    found: dict[str, list[str]] = {}
    for line in lines:
        if line.strip() and line.strip() != "none":
            student, _assignment, message = line.split(None, 2)
            found.setdefault(student, []).append(message)
    return found


def test_the_command_succeeds_and_prints_a_summary(graded):
    assert graded["rc"] == 0, graded["text"]
    text = graded["text"]
    assert f"Graded {len(EXPECTED)} submission(s) of {len(EXPECTED)} student(s)" in text
    # full points among the 14 who submitted something: 6 perfect + 3 with square only / 6 perfect
    assert f"{A}/test-square     2 pts    9/14   64%" in text, text
    assert f"{A}/test-cube       3 pts    6/14   43%" in text, text
    assert f"{A}: 1 student(s) submitted nothing" in text
    assert "   0-10% |" in text and " 90-100% |" in text
    assert "grading [" in text and "100%" in text  # the progress bar


def test_every_student_gets_the_exact_score(graded):
    rows = read_csv(graded["out"] / "grades.csv")
    assert [r["student_id"] for r in rows] == sorted(EXPECTED)
    assert {r["student_id"]: float(r["score"]) for r in rows} == {s: e[0] for s, e in EXPECTED.items()}
    for r in rows:
        assert r["assignment"] == A and r["max_score"] == "5.0" and r["late_submission_penalty"] in ("0.0", "")
    jane = next(r for r in rows if r["student_id"] == "jane_doe")
    assert (jane["first_name"], jane["last_name"]) == ("Jane", "Doe")  # from the Moodle folder name
    ivan = next(r for r in rows if r["student_id"] == "ivan")
    assert ivan["raw_score"] == "0.0" and ivan["timestamp"] == ""


def test_exercise_scores(graded):
    rows = read_csv(graded["out"] / "exercises.csv")
    got = {(r["student_id"], r["cell"]): (float(r["score"]), float(r["max_score"])) for r in rows}
    assert got[("jane_doe", "test-square")] == (2.0, 2.0) and got[("jane_doe", "test-cube")] == (0.0, 3.0)
    assert got[("uma", "test-square")] == (2.0, 2.0)  # edited points do not count
    assert got[("pat", "test-square")] == (0.0, 2.0)
    assert len(rows) == 2 * len(EXPECTED)


def test_report_says_why_for_every_problem(graded):
    found = report_lines(graded["out"])
    for student, (_, lines) in EXPECTED.items():
        assert sorted(found.get(student, [])) == sorted(lines), student


def test_originals_are_never_modified_and_copies_are_exact(graded):
    assert snapshot(graded["export"]) == graded["before"]
    root = graded["root"]
    import zipfile

    with zipfile.ZipFile(graded["export"]) as zf:
        original = zf.read(f"export/dave/{A}.ipynb")
        alice = zf.read(f"export/alice/{A}.ipynb")
    submitted = root / "autograder" / "submitted"
    assert (submitted / "dave" / A / f"{A}.ipynb.unreadable").read_bytes() == original
    assert not (submitted / "dave" / A / f"{A}.ipynb").exists()
    assert (submitted / "alice" / A / f"{A}.ipynb").read_bytes() == alice
    assert (submitted / "hank" / A / f"{A}.ipynb").is_file()  # renamed to the notebook's name
    assert not (submitted / "ivan" / A).exists()


def test_outputs_exist(graded):
    root, out = graded["root"], graded["out"]
    for student in EXPECTED:
        page = root / "autograder" / "feedback" / student / A / f"{A}.html"
        assert page.is_file(), student
        assert "BEGIN HIDDEN" not in page.read_text(), f"{student}'s feedback shows the hidden tests"
    ned = (root / "autograder" / "feedback" / "ned" / A / f"{A}.html").read_text()
    assert "Notes from the grader" in ned and "test-cube&#39; was edited" in ned.replace("'", "&#39;")
    dave = (root / "autograder" / "feedback" / "dave" / A / f"{A}.html").read_text()
    assert "invalid JSON" in dave and "Restart Kernel and Run All Cells" in dave
    alice = (root / "autograder" / "feedback" / "alice" / A / f"{A}.html").read_text()
    assert "Notes from the grader" not in alice
    assert "Score: 5.0 / 5.0" in alice or "(Score: 5.0 / 5.0)" in alice
    assert (root / "autograder" / "autograded" / "alice" / A / f"{A}.ipynb").is_file()
    assert (out / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    mapping = {r["file"]: r for r in read_csv(out / "mapping.csv")}
    assert mapping[f"export/smithjohn_12345_67890_{A}-1.ipynb"]["student_id"] == "smithjohn"
    assert mapping["export/ivan/notes.txt"]["how"].startswith("ignored")
    assert mapping[f"export/Jane Doe_222_assignsubmission_file_/{A}.ipynb"]["student_id"] == "jane_doe"


def test_plain_nbgrader_reads_the_gradebook(graded):
    root = graded["root"]
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "export", "--to", "nbgrader-grades.csv"],
                   cwd=root / "autograder", env=env, check=True, capture_output=True, timeout=120)
    theirs = {r["student_id"]: float(r["score"]) for r in read_csv(root / "autograder" / "nbgrader-grades.csv")}
    assert theirs == {s: e[0] for s, e in EXPECTED.items()}

    # the database is sound, and formgrader's API sees the submissions
    import sqlite3

    db = sqlite3.connect(root / "autograder" / "gradebook.db")
    assert db.execute("pragma integrity_check").fetchall() == [("ok",)]
    assert db.execute("select count(*) from alembic_version").fetchone() == (1,)
    db.close()
    from nbgrader.apps.api import NbGraderAPI

    from backproplab.grading.course import load_course

    course = load_course(root)
    api = NbGraderAPI(coursedir=course.coursedir, config=course.config)
    alice = api.get_submission(A, "alice")
    assert (alice["score"], alice["max_score"], alice["autograded"]) == (5.0, 5.0, True)
    assert api.get_submission(A, "ivan")["submitted"] is False


def test_a_second_run_grades_nothing_and_changes_nothing(graded):
    before = (graded["out"] / "grades.csv").read_text()
    rc, text = run_grade(graded["export"], "--course", graded["root"], "--jobs", 2, "--out", graded["out"])
    assert rc == 0, text
    assert f"grading 0 submission(s) on 2 worker(s); {len(EXPECTED)} unchanged" in text
    assert (graded["out"] / "grades.csv").read_text() == before
    found = report_lines(graded["out"])
    for student, (_, lines) in EXPECTED.items():
        assert sorted(found.get(student, [])) == sorted(lines), student
