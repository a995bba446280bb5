"""Grades back to the LMS: Canvas's gradebook import, Moodle's CSV grade import, Gradescope's ``results.json``.

``backproplab grade EXPORT --roster ROSTER --lms canvas --lms moodle --lms gradescope`` writes, next to
``grades.csv`` (nbgrader's format, unchanged):

- ``canvas/grades.csv``: Canvas's gradebook import (the layout of Canvas's own gradebook export: ``Student,
  ID, SIS User ID, SIS Login ID, Section``, a ``Points Possible`` row, one column per assignment titled
  ``NAME (CANVAS_ASSIGNMENT_ID)`` when the roster's header names that id, else ``NAME``). Students are
  matched by the roster's Canvas ``ID`` (or SIS ids); a student with none is left out and named in report.txt.
  The roster may be Canvas's gradebook export itself (its ``ID`` column becomes the student id).
- ``moodle/grades.csv``: Moodle's CSV grade import (``First name, Last name, ID number, Email address``, one
  column per assignment); map ``Email address`` to ``useremail`` on Moodle's import page. Moodle aborts a
  whole import on a row whose user it cannot find, so a student without an email is left out and named.
- ``gradescope/ASSIGNMENT/STUDENT/results.json``: Gradescope's autograder output, one test per graded cell
  (``visibility: after_due_date`` for a cell holding hidden tests, ``visible`` otherwise), the trusted
  verdict's message as the test's output, the score after late penalties at the top.

Specifications followed (and checked by ``tests/grading/test_lms.py``): Canvas's ``GradebookImporter``
(instructure/canvas-lms, ``app/models/gradebook_importer.rb``) and its instructor guide "How do I import
grades in the Gradebook?"; Moodle's "Grade import" documentation (docs.moodle.org/en/Grade_import) and
``grade/import/csv/classes/load_data.php``; Gradescope's "Autograder Specifications"
(gradescope-autograders.readthedocs.io/en/latest/specs/).
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .course import GradingError
from .report import Report
from .roster import _ALIASES, normalize_key, student_id_from

FORMATS = ("canvas", "moodle", "gradescope")
HIDDEN_MARK = "### BEGIN HIDDEN TESTS"
_CANVAS_TITLE = re.compile(r"\A(.*)\s\((\d+)\)\Z")  # Canvas's Assignment.title_and_id
_EXTRA = {
    "canvas_id": ("canvas_id", "canvas_user_id", "id"),
    "sis_user_id": ("sis_user_id",),
    "sis_login_id": ("sis_login_id",),
    "section": ("section",),
    "id_number": ("id_number", "idnumber", "moodle_id_number"),
    "email": _ALIASES["email"],
    "name": ("student", "name", "full_name"),  # Canvas's export: "Student" holds "Last, First"
}


@dataclass
class LmsRoster:
    """What the LMS knows of each student (keyed by the gradebook's student id) and its assignment ids."""

    students: dict[str, dict[str, str]]
    canvas_assignments: dict[str, str]  # normalized title -> Canvas assignment id


def parse_formats(values: list[str] | None) -> list[str]:
    """``["canvas,moodle", "gradescope"]`` or ``["all"]`` -> the formats, in a fixed order."""
    wanted = {v.strip().lower() for value in values or [] for v in value.split(",") if v.strip()}
    if "all" in wanted:
        wanted = set(FORMATS) | (wanted - {"all"})
    unknown = sorted(wanted - set(FORMATS))
    if unknown:
        raise GradingError(f"unknown --lms format {unknown[0]!r} (choose from {', '.join(FORMATS)}, all)")
    return [f for f in FORMATS if f in wanted]


def read_lms_roster(path: Path | None) -> LmsRoster:
    if path is None:
        return LmsRoster({}, {})
    text = Path(path).read_text(encoding="utf-8-sig")
    lines = text.splitlines()
    try:
        dialect = csv.Sniffer().sniff(lines[0] if lines else "", delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(lines, dialect=dialect)
    header = {normalize_key(h): h for h in reader.fieldnames or [] if h}
    id_column = next((header[normalize_key(a)] for a in _ALIASES["student_id"] if normalize_key(a) in header), None)
    columns = {name: next((header[normalize_key(a)] for a in aliases if normalize_key(a) in header), None)
               for name, aliases in _EXTRA.items()}
    assignments = {}
    for title in reader.fieldnames or []:
        if m := _CANVAS_TITLE.match(title.strip()):
            assignments[normalize_key(m.group(1))] = m.group(2)
    students = {}
    for row in reader:
        raw = (row.get(id_column) or "").strip() if id_column else ""
        if not raw:
            continue  # Canvas's "Points Possible" row, blank lines
        students[student_id_from(raw)] = {name: (row.get(col) or "").strip() for name, col in columns.items() if col}
    return LmsRoster(students, assignments)


def check_ready(formats: list[str], roster: Path | None) -> None:
    """Said before grading starts: Canvas and Moodle need to know who the students are in the LMS."""
    if roster is None and ("canvas" in formats or "moodle" in formats):
        need = "Canvas IDs" if "canvas" in formats else "emails"
        raise GradingError(f"--lms {' and '.join(f for f in formats if f != 'gradescope')} needs --roster with "
                           f"the students' {need} (Canvas's gradebook export works as a roster)")


def write_exports(report: Report, course, out_dir: Path, formats: list[str], roster: Path | None) -> dict[str, Path]:
    """Write the chosen exports into ``out_dir``; students left out are added to ``report.notes``."""
    written: dict[str, Path] = {}
    if not formats:
        return written
    lms = read_lms_roster(roster)
    if "canvas" in formats:
        written["canvas"] = write_canvas(report, lms, Path(out_dir) / "canvas" / "grades.csv")
    if "moodle" in formats:
        written["moodle"] = write_moodle(report, lms, Path(out_dir) / "moodle" / "grades.csv")
    if "gradescope" in formats:
        written["gradescope"] = write_gradescope(report, course, Path(out_dir) / "gradescope")
    return written


# ------------------------------------------------------------------------------------------- helpers
def _number(x: float) -> str:
    """Two decimals at most (what Canvas's export writes), no trailing zeros: 2.5, 3, 0.33."""
    return f"{float(x):.2f}".rstrip("0").rstrip(".")


def _table(report: Report) -> tuple[list[str], dict[str, dict], dict[str, dict[str, float]], dict[str, float]]:
    """Assignments, per student the row's identity, per student and assignment the score, max per assignment."""
    assignments = sorted({r.assignment for r in report.rows})
    people: dict[str, dict] = {}
    scores: dict[str, dict[str, float]] = {}
    maxima: dict[str, float] = {}
    for r in report.rows:
        people.setdefault(r.student_id, {"first": r.first_name, "last": r.last_name, "email": r.email})
        scores.setdefault(r.student_id, {})[r.assignment] = r.scores["score"]
        maxima[r.assignment] = max(maxima.get(r.assignment, 0.0), r.scores["max_score"])
    return assignments, people, scores, maxima


def _leave_out(report: Report, sid: str, message: str) -> None:
    report.notes.append((sid, "", message))


def write_canvas(report: Report, lms: LmsRoster, path: Path) -> Path:
    assignments, people, scores, maxima = _table(report)
    titles = []
    for name in assignments:
        canvas_id = lms.canvas_assignments.get(normalize_key(name))
        titles.append(f"{name} ({canvas_id})" if canvas_id else name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *titles])
        writer.writerow(["    Points Possible", "", "", "", "", *(_number(maxima[a]) for a in assignments)])
        for sid in sorted(people):
            ids = lms.students.get(sid, {})
            canvas_id, sis_user, sis_login = (ids.get(k, "") for k in ("canvas_id", "sis_user_id", "sis_login_id"))
            if canvas_id and not canvas_id.isdigit():
                canvas_id = ""
            if not (canvas_id or sis_user or sis_login):
                _leave_out(report, sid, "not in canvas/grades.csv: the roster gives no Canvas ID or SIS id")
                continue
            p = people[sid]
            name = ids.get("name") or ", ".join(x for x in (p["last"], p["first"]) if x) or sid
            writer.writerow([name, canvas_id, sis_user, sis_login, ids.get("section", ""),
                             *(_number(scores[sid].get(a, 0.0)) for a in assignments)])
    return path


def write_moodle(report: Report, lms: LmsRoster, path: Path) -> Path:
    assignments, people, scores, _ = _table(report)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["First name", "Last name", "ID number", "Email address", *assignments])
        for sid in sorted(people):
            extra = lms.students.get(sid, {})
            email = people[sid]["email"] or extra.get("email", "")
            if not email:
                _leave_out(report, sid, "not in moodle/grades.csv: no email address (Moodle matches users by it)")
                continue
            p = people[sid]
            writer.writerow([p["first"] or "", p["last"] or "", extra.get("id_number", ""), email,
                             *(_number(scores[sid].get(a, 0.0)) for a in assignments)])
    return path


def hidden_cells(course, assignment: str, notebook: str) -> set[str]:
    """Grade ids of the source notebook's graded cells that hold hidden tests."""
    import nbformat

    path = course.path("source", ".", assignment) / f"{notebook}.ipynb"
    nb = nbformat.read(path, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and HIDDEN_MARK in c.source}


def _verdicts(path: Path) -> dict[str, str]:
    """The printed verdict of each graded cell of an autograded notebook (stream text only: never a
    traceback, which would quote the cell's hidden tests)."""
    import nbformat

    if not path.is_file():
        return {}
    nb = nbformat.read(path, as_version=4)
    found = {}
    for c in nb.cells:
        gid = c.metadata.get("nbgrader", {}).get("grade_id")
        if gid and c.cell_type == "code":
            found[gid] = "".join(o.get("text", "") for o in c.get("outputs", []) if o.get("output_type") == "stream")
    return found


def write_gradescope(report: Report, course, folder: Path) -> Path:
    hidden: dict[tuple[str, str], set[str]] = {}
    for assignment, cells in report.cells.items():
        for notebook in {nb for nb, _, _ in cells}:
            hidden[(assignment, notebook)] = hidden_cells(course, assignment, notebook)
    for row in report.rows:
        tests = []
        for notebook, gid, points in report.cells.get(row.assignment, []):
            score, top = row.scores["cells"].get((notebook, gid), (0.0, points))
            output = _verdicts(course.path("autograded", row.student_id, row.assignment) / f"{notebook}.ipynb")
            text = output.get(gid, "").strip()[:4000]
            if not row.scores["submitted"]:
                text = "nothing submitted"
            text = text or f"{_number(score)} of {_number(top)} points"
            tests.append({
                "name": gid if len({nb for nb, _, _ in report.cells[row.assignment]}) == 1 else f"{notebook}: {gid}",
                "score": float(score), "max_score": float(top),
                "status": "passed" if top and score >= top else "failed",
                "output": text,
                "visibility": "after_due_date" if gid in hidden[(row.assignment, notebook)] else "visible",
            })
        result = {"score": float(row.scores["score"]), "stdout_visibility": "hidden", "tests": tests}
        if row.scores["penalty"]:
            result["output"] = (f"late penalty: -{_number(row.scores['penalty'])} points "
                                f"(raw score {_number(row.scores['raw_score'])})")
        dest = folder / row.assignment / row.student_id / "results.json"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return folder
