"""``backproplab grade --lms ...``: Canvas's gradebook import, Moodle's grade import and Gradescope's results.json,
each parsed here by the rules of its published specification (cited at each reader).

A synthetic class on the fixture assignment (5 points, both graded cells hold hidden tests): alice right
(5), bob with ``cube`` left blank (2), dave right but neither on Canvas nor with an email (5), carol on
the roster but submitted nothing (0).
"""

from __future__ import annotations

import csv
import json
import re

import jsonschema
import nbformat
import pytest

from backproplab.grading.lms import parse_formats, read_lms_roster
from backproplab.grading.roster import read_roster
from tests.grading.classbuilder import FIXTURE, cell, dumps, make_course, partial, solution, write_zip
from tests.grading.test_grade import read_csv, run_grade

ROSTER = [
    # student_id, name, email, canvas_id, sis_user_id, sis_login_id, section, id_number
    ("alice", "Alice Adams", "alice@uni.example", "101", "S-1", "aadams", "A", "N1"),
    ("bob", "Bob Brown", "bob@uni.example", "102", "", "", "B", ""),
    ("carol", "Carol Clark", "carol@uni.example", "103", "S-3", "", "A", "N3"),
    ("dave", "Dave Doe", "", "", "", "", "", ""),
]
EXPECTED = {"alice": 5.0, "bob": 2.0, "carol": 0.0, "dave": 5.0}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lms-class")
    root = make_course(tmp)
    roster = tmp / "roster.csv"
    with open(roster, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student_id", "name", "email", "canvas_id", "sis_user_id", "sis_login_id", "section",
                    "id_number"])
        w.writerows(ROSTER)
    export = write_zip(tmp / "export.zip", {  # Canvas's file names: login_userid_submissionid_file
        f"alice_101_9001_{FIXTURE}.ipynb": dumps(solution(root)),
        f"bob_102_9002_{FIXTURE}.ipynb": dumps(partial(root, FIXTURE, ["ex-cube"])),
        f"dave_{FIXTURE}.ipynb": dumps(solution(root)),
    })
    out = tmp / "reports"
    rc, text = run_grade(export, "--course", root, "--roster", roster, "--jobs", 2, "--out", out, "--no-release",
                         "--lms", "canvas,moodle", "--lms", "gradescope")
    assert rc == 0, text
    return root, out


def test_grades_csv_is_unchanged_and_the_class_is_graded(graded):
    _, out = graded
    rows = {r["student_id"]: float(r["score"]) for r in read_csv(out / "grades.csv")}
    assert rows == EXPECTED


# ------------------------------------------------------------------------------------------- Canvas
def canvas_import(path, canvas_users: dict[str, str]) -> dict[str, dict[str, float]]:
    """Canvas's GradebookImporter (instructure/canvas-lms app/models/gradebook_importer.rb), the rules that
    decide what an import does: the header's first cell holds "Student" and its second "ID"; SIS User ID
    and SIS Login ID may follow; the last student column holds "Section"; an assignment column is
    "TITLE (ID)" or a title; a row whose first cell holds "Points Possible" describes the assignments;
    a student row is matched by its Canvas ID (second cell); grades are numbers."""
    rows = list(csv.reader(open(path, newline="", encoding="utf-8")))
    header = rows[0]
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1], header
    columns = 3
    if re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        columns += 2
    assert "Section" in header[columns - 1], header
    titles = [re.match(r"\A(.*)\s\((\d+)\)\Z", t) for t in header[columns:]]
    names = [m.group(1) if m else t for m, t in zip(titles, header[columns:], strict=True)]
    found = {}
    for row in rows[1:]:
        assert len(row) == len(header), row
        if "Points Possible" in row[0]:
            assert all(float(v) > 0 for v in row[columns:])
            continue
        assert row[1] in canvas_users, f"Canvas knows no user {row[1]!r} (row {row})"
        found[canvas_users[row[1]]] = {n: float(v.replace(",", ".")) for n, v in zip(names, row[columns:],
                                                                                     strict=True)}
    return found


def test_canvas_import_matches_every_student_with_a_canvas_id(graded):
    _, out = graded
    canvas_users = {cid: sid for sid, _, _, cid, *_ in ROSTER if cid}
    found = canvas_import(out / "canvas" / "grades.csv", canvas_users)
    assert found == {sid: {FIXTURE: EXPECTED[sid]} for sid in ("alice", "bob", "carol")}
    text = (out / "report.txt").read_text()
    assert re.search(r"dave\s+-?\s*not in canvas/grades.csv: the roster gives no Canvas ID", text), text


def test_canvas_gradebook_export_works_as_the_roster(tmp_path):
    """Canvas's own export (Student, ID, SIS ids, Section, assignment columns, a Points Possible row) is a
    roster: its ID column is the student id and its assignment ids title the columns written back."""
    export = tmp_path / "canvas-export.csv"
    export.write_text('Student,ID,SIS User ID,SIS Login ID,Section,99_fixture (4242),Current Score\n'
                      '    Points Possible,,,,,5.00,(read only)\n'
                      '"Adams, Alice",101,S-1,aadams,A,,\n')
    assert [s.student_id for s in read_roster(export)] == ["101"]
    lms = read_lms_roster(export)
    assert lms.canvas_assignments == {"99fixture": "4242"}
    assert lms.students["101"]["canvas_id"] == "101" and lms.students["101"]["name"] == "Adams, Alice"


# ------------------------------------------------------------------------------------------- Moodle
def moodle_import(path, users_by_email: set[str], item: str) -> dict[str, float | None]:
    """Moodle's CSV grade import (docs.moodle.org/en/Grade_import; grade/import/csv/classes/load_data.php),
    with "Email address" mapped to useremail as the documentation advises: headers are trimmed; a line of
    at most one field is skipped; every other line must name an existing user, or the whole import is
    aborted; a grade is '' or '-' (no grade) or a number."""
    rows = list(csv.reader(open(path, newline="", encoding="utf-8")))
    header = [h.strip() for h in rows[0]]
    who, col = header.index("Email address"), header.index(item)
    grades = {}
    for line in rows[1:]:
        if len(line) <= 1:
            continue
        email = line[who].strip()
        if not email or email not in users_by_email:
            raise AssertionError(f"Moodle aborts the import: user not found ({line})")
        value = line[col].strip()
        grades[email] = None if value in ("", "-") else float(value)
    return grades


def test_moodle_import_matches_by_email(graded):
    _, out = graded
    emails = {email: sid for sid, _, email, *_ in ROSTER if email}
    grades = moodle_import(out / "moodle" / "grades.csv", set(emails), FIXTURE)
    assert {emails[e]: g for e, g in grades.items()} == {s: EXPECTED[s] for s in ("alice", "bob", "carol")}
    rows = read_csv(out / "moodle" / "grades.csv")
    assert [(r["First name"], r["Last name"], r["ID number"]) for r in rows] == [
        ("Alice", "Adams", "N1"), ("Bob", "Brown", ""), ("Carol", "Clark", "N3")]
    assert "dave" in (out / "report.txt").read_text().split("not in moodle/grades.csv")[0].splitlines()[-1]


# ------------------------------------------------------------------------------------------- Gradescope
#: Gradescope's "Autograder Specifications", section "Output format" (gradescope-autograders.readthedocs.io
#: /en/latest/specs/): the fields results.json may hold, and the four visibility values.
VISIBILITY = {"enum": ["hidden", "after_due_date", "after_published", "visible"]}
GRADESCOPE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "score": {"type": "number"}, "execution_time": {"type": "number"}, "output": {"type": "string"},
        "output_format": {"type": "string"}, "test_output_format": {"type": "string"},
        "test_name_format": {"type": "string"}, "visibility": VISIBILITY, "stdout_visibility": VISIBILITY,
        "extra_data": {"type": "object"}, "leaderboard": {"type": "array"},
        "tests": {"type": "array", "items": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "score": {"type": "number"}, "max_score": {"type": "number"},
                "status": {"enum": ["passed", "failed"]}, "name": {"type": "string"},
                "name_format": {"type": "string"}, "number": {"type": "string"}, "output": {"type": "string"},
                "output_format": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
                "visibility": VISIBILITY, "extra_data": {"type": "object"},
            },
        }},
    },
    "anyOf": [{"required": ["score"]}, {"required": ["tests"]}],
}


def test_gradescope_results_follow_the_specification(graded):
    root, out = graded
    for sid, total in EXPECTED.items():
        result = json.loads((out / "gradescope" / FIXTURE / sid / "results.json").read_text())
        jsonschema.validate(result, GRADESCOPE_SCHEMA)
        assert result["score"] == total
        tests = {t["name"]: t for t in result["tests"]}
        assert set(tests) == {"test-square", "test-cube"}  # one test per graded cell
        # both cells hold hidden tests: learners see them only after the due date
        assert {t["visibility"] for t in tests.values()} == {"after_due_date"}
        assert tests["test-square"]["max_score"] == 2 and tests["test-cube"]["max_score"] == 3
    bob = {t["name"]: t for t in json.loads((out / "gradescope" / FIXTURE / "bob" / "results.json").read_text())
           ["tests"]}
    assert (bob["test-square"]["status"], bob["test-cube"]["status"]) == ("passed", "failed")
    assert bob["test-cube"]["score"] == 0
    hidden = (root / "solutions" / FIXTURE / f"{FIXTURE}.ipynb").read_text()
    assert "cube(-1)" in hidden
    for path in (out / "gradescope").rglob("results.json"):
        assert "cube(-1)" not in path.read_text() and "square(-2)" not in path.read_text()


def test_a_visible_only_cell_is_visible(tmp_path):
    from backproplab.grading.lms import hidden_cells

    root = make_course(tmp_path)
    nb = solution(root)
    cell(nb, "test-cube").source = "assert math.isclose(cube(1.5), 3.375)"  # no hidden tests left
    nbformat.write(nb, root / "solutions" / FIXTURE / f"{FIXTURE}.ipynb")

    class Course:
        def path(self, step, student, assignment):
            return root / "solutions" / assignment

    assert hidden_cells(Course(), FIXTURE, FIXTURE) == {"test-square"}


def test_bad_lms_requests_are_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown --lms format 'blackboard'"):
        parse_formats(["canvas,blackboard"])
    assert parse_formats(["all"]) == ["canvas", "moodle", "gradescope"]
    root = make_course(tmp_path)
    export = write_zip(tmp_path / "e.zip", {f"a_{FIXTURE}.ipynb": dumps(solution(root))})
    rc, text = run_grade(export, "--course", root, "--lms", "canvas", "--no-release")
    assert rc == 1 and text.strip() == ("backproplab grade: error: --lms canvas needs --roster with the students' "
                                        "Canvas IDs (Canvas's gradebook export works as a roster)")
