"""The parent's side of the gradebook: the only code that writes ``gradebook.db``.

Workers return plain results; :func:`record_result` stores one (student, assignment) the way nbgrader's
``SaveAutoGrades`` and ``AssignLatePenalties`` do (a manual grade already in the gradebook is kept and the
cell flagged for review), through nbgrader's ``Gradebook`` API; :func:`record_results` writes every result that
arrived since the last write in one transaction (one disk sync for many results instead of three per result).
One process writes, so the SQLite file is never written concurrently; ``nbgrader export`` and formgrader read
it as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .course import AssignmentInfo, Course
from .protocol import CellGrade, FeedbackNotebook, TaskResult


def sync_students(gb, students) -> None:
    """Create every student of the class; names and emails from the roster update the gradebook."""
    for student in students:
        fields = {k: v for k, v in (("first_name", student.first_name), ("last_name", student.last_name),
                                    ("email", student.email)) if v}
        gb.update_or_create_student(student.student_id, **fields)


def has_submission(gb, student: str, assignment: str) -> bool:
    from nbgrader.api import MissingEntry

    try:
        gb.find_submission(assignment, student)
    except MissingEntry:
        return False
    return True


def record_result(gb, course: Course, result: TaskResult, *, commit: bool = True) -> None:
    """Write one worker result (``commit=False``: into the open transaction, for :func:`record_results`). An
    assignment with no notebook at all gets no submission (as in nbgrader: ``nbgrader export`` then reports 0);
    an earlier submission in the gradebook is left alone."""
    student, assignment = result.student, result.assignment
    statuses = {nb.status for nb in result.notebooks.values()}
    if statuses == {"missing"}:
        return
    timestamp = course.coursedir.get_existing_timestamp(str(course.path("submitted", student, assignment)))
    submission = _submission(gb, assignment, student, timestamp)
    notebooks = {sn.name: sn for sn in submission.notebooks}
    with gb.db.no_autoflush:  # one flush below, not one before every query (nbgrader's find_grade per cell)
        for name, nb in result.notebooks.items():
            sn = notebooks.get(name)
            grades = {g.name: g for g in sn.grades} if sn is not None else {}
            comments = {c.name: c for c in sn.comments} if sn is not None else {}
            for gid, score in nb.grades.items():
                grade = grades.get(gid) or gb.find_grade(gid, name, assignment, student)
                grade.auto_score = score
                if nb.status != "graded":  # nothing ran: nbgrader's missing-notebook rule, unless we failed
                    grade.needs_manual_grade = nb.status == "failed"
                else:
                    grade.needs_manual_grade = grade.manual_score is not None or score is None
            for gid, comment in nb.comments.items():
                (comments.get(gid) or gb.find_comment(gid, name, assignment, student)).auto_comment = comment
    gb.db.flush()
    _late_penalties(gb, course, submission)
    if commit:
        gb.db.commit()


def record_results(gb, course: Course, results: list[TaskResult],
                   on_committed: Callable[[list[TaskResult]], None]) -> list[tuple[TaskResult, Exception]]:
    """Write ``results`` in one transaction; ``on_committed(written)`` right after a commit, with what it
    wrote. A result that cannot be written is retried alone after the others (each then in a transaction of its
    own, as :func:`record_result`): it is returned with its error, and the others are written. Interrupted
    (``KeyboardInterrupt``, ``SystemExit``), the transaction is rolled back, the results recorded before the
    interruption are written again in one transaction, and the interruption goes on: whatever was not
    committed is graded again by the next run, nothing is written half."""
    done: list[TaskResult] = []
    try:
        for result in results:
            record_result(gb, course, result, commit=False)
            done.append(result)
        gb.db.commit()
    except Exception:
        gb.db.rollback()
        return _one_by_one(gb, course, results, on_committed)
    except BaseException:
        gb.db.rollback()
        _rewrite(gb, course, done, on_committed)
        raise
    on_committed(done)
    return []


def _one_by_one(gb, course, results, on_committed) -> list[tuple[TaskResult, Exception]]:
    failed = []
    for result in results:
        try:
            record_result(gb, course, result)
        except Exception as exc:
            gb.db.rollback()
            failed.append((result, exc))
        else:
            on_committed([result])
    return failed


def _rewrite(gb, course, results, on_committed) -> None:
    """After an interruption: ``results`` (each written once already in the rolled-back transaction) again, in
    one transaction; given up (rolled back) at the first error or at a second interruption."""
    if not results:
        return
    try:
        for result in results:
            record_result(gb, course, result, commit=False)
        gb.db.commit()
    except BaseException:
        gb.db.rollback()
        return
    on_committed(results)


def _submission(gb, assignment: str, student: str, timestamp):
    """nbgrader's ``update_or_create_submission`` in the open transaction (nbgrader's commits after each
    call: three commits, each a disk sync, per result)."""
    from nbgrader import utils
    from nbgrader.api import Comment, Grade, MissingEntry, SubmittedAssignment, SubmittedNotebook

    stamp = utils.parse_utc(timestamp) if timestamp else None
    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        pass
    else:
        if stamp is not None:
            submission.timestamp = stamp
        return submission
    with gb.db.no_autoflush:  # as add_submission builds it: the whole structure of the assignment
        submission = SubmittedAssignment(assignment=gb.find_assignment(assignment), student=gb.find_student(student),
                                         **({"timestamp": stamp} if stamp is not None else {}))
        for notebook in submission.assignment.notebooks:
            nb = SubmittedNotebook(notebook=notebook, assignment=submission)
            for grade_cell in notebook.grade_cells:
                Grade(cell_id=grade_cell.id, notebook=nb)
            for solution_cell in notebook.solution_cells:
                Comment(cell_id=solution_cell.id, notebook=nb)
            for task_cell in notebook.task_cells:
                Comment(cell_id=task_cell.id, notebook=nb)
                Grade(cell_id=task_cell.id, notebook=nb)
        gb.db.add(submission)
    gb.db.flush()
    return submission


def _late_penalties(gb, course: Course, submission) -> None:
    """nbgrader's ``AssignLatePenalties`` for every notebook of the submission."""
    from nbgrader.preprocessors import AssignLatePenalties

    gb.db.refresh(submission)
    late = submission.total_seconds_late
    assigner = None
    for notebook in submission.notebooks:
        gb.db.refresh(notebook)
        notebook.late_submission_penalty = None
        if late > 0:
            if assigner is None:
                assigner = AssignLatePenalties(config=course.config)
                assigner.init_plugin()
            penalty = assigner.plugin_inst.late_submission_penalty(submission.student.id, notebook.score, late)
            if penalty is not None:
                notebook.late_submission_penalty = assigner._check_late_penalty(notebook, penalty)
    gb.db.flush()


def feedback_data(gb, student: str, assignment: str, graded: dict[str, tuple[str | None, list[str]]],
                  info: AssignmentInfo) -> dict[str, FeedbackNotebook]:
    """What nbgrader's ``GetGrades`` puts into a feedback page, read back from the gradebook. ``graded``:
    notebook -> (autograded notebook, notes) of the grading run; the autograded notebook's text goes with
    it (the worker that renders the page need not see this machine's files)."""
    from nbgrader.api import MissingEntry

    notebooks = {}
    for name, nbinfo in info.notebooks.items():
        autograded, notes = graded.get(name, (None, []))
        entry = notebooks[name] = FeedbackNotebook(autograded, list(notes), {}, 0.0, nbinfo.max_score, 0.0,
                                                   notebook=_text(autograded))
        try:
            sn = gb.find_submission_notebook(name, assignment, student)
        except MissingEntry:
            continue
        gb.db.refresh(sn)
        entry.score = float(sn.score)
        entry.max_score = float(sn.max_score)
        entry.late_penalty = float(sn.late_submission_penalty or 0.0)
        for grade in sn.grades:
            cell = entry.cells.setdefault(grade.name, CellGrade())
            cell.score, cell.max_score = float(grade.score), float(grade.max_score)
        for comment in sn.comments:
            entry.cells.setdefault(comment.name, CellGrade()).comment = comment.comment
    return notebooks


def _text(path: str | None) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8") if path else None
    except OSError:
        return None


def scores(gb, student: str, assignment: str, info: AssignmentInfo) -> dict:
    """Per graded cell ``(score, max)`` and the assignment's total (after late penalties) for the reports."""
    from nbgrader.api import MissingEntry

    cells = {}
    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        return {"submitted": False, "score": 0.0, "raw_score": 0.0, "penalty": 0.0, "max_score": info.max_score,
                "cells": {(nb, gid): (0.0, pts) for nb, nbi in info.notebooks.items()
                          for gid, pts in nbi.grade_cells.items()}, "timestamp": None}
    gb.db.refresh(submission)
    for sn in submission.notebooks:
        for grade in sn.grades:
            cells[(sn.name, grade.name)] = (float(grade.score), float(grade.max_score))
    raw = float(submission.score)
    penalty = float(submission.late_submission_penalty or 0.0)
    return {"submitted": True, "score": max(0.0, raw - penalty), "raw_score": raw, "penalty": penalty,
            "max_score": float(submission.max_score), "cells": cells, "timestamp": submission.timestamp}
