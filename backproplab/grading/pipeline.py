"""``backproplab grade``: from an LMS export to grades, feedback, a CSV and a summary, in one call.

1. regenerate ``course/`` (``backproplab.release``) and record the assignments in the gradebook
   (nbgrader's ``GenerateAssignment``, as ``nbgrader generate_assignment`` does);
2. import the export into ``autograder/submitted/`` (:mod:`.importer`; originals are only read);
3. grade every (student, assignment) whose copy changed since it was last graded, on ``jobs`` workers
   (:mod:`.parallel`), the parent recording each result in the gradebook (:mod:`.gradebook`) and having
   its feedback page rendered;
4. write grades.csv, exercises.csv, mapping.csv, report.txt and histogram.png (:mod:`.report`).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from . import gradebook as gbmod
from . import integrity, parallel
from .course import (
    GradingError,
    load_course,
    read_assignment_info,
    regenerate_release,
    register_assignments,
    source_assignments,
    source_digest,
)
from .importer import import_submissions
from .progress import Progress
from .report import Report, Row
from .roster import read_roster
from .state import State, submission_checksum


@dataclass
class Outcome:
    report: Report
    out_dir: Path
    files: dict[str, Path]
    graded: int = 0
    skipped: int = 0
    seconds: float = 0.0
    results: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase

    @property
    def lines(self) -> list[str]:
        return self.report.note_lines()


def _say(stream, text: str) -> None:
    if stream is not None:
        print(text, file=stream, flush=True)


def grade(submissions: Path, *, root: Path | None = None, roster: Path | None = None, jobs: int | None = None,
          assignments: list[str] | None = None, out: Path | None = None, release: bool = True,
          force: bool = False, stdout="-", stderr="-", accept_weak_confinement: bool = False) -> Outcome:
    """Grade an LMS export; see the module docstring. Returns what was written and the report.

    ``stdout`` gets the summary and ``stderr`` the progress ("-": the current ``sys`` streams; None: quiet).
    """
    from sqlalchemy.exc import SAWarning

    stdout = sys.stdout if stdout == "-" else stdout
    stderr = sys.stderr if stderr == "-" else stderr
    with warnings.catch_warnings():
        # nbgrader's own Gradebook calls trigger SQLAlchemy autoflush warnings; they are harmless
        warnings.simplefilter("ignore", SAWarning)
        return _grade(submissions, root=root, roster=roster, jobs=jobs, assignments=assignments, out=out,
                      release=release, force=force, stdout=stdout, stderr=stderr,
                      accept_weak_confinement=accept_weak_confinement)


def _restrict_to_export(imported, names: list[str], infos: dict, stderr) -> list[str]:
    """The assignments of ``names`` that the export holds a file for; the others leave ``imported`` and ``infos``
    (their rows, notes and zeros would bury the report). ``names`` itself when the export holds none or all."""
    present = sorted({r["assignment"] for r in imported.mapping if r["assignment"] in names
                      and not r["how"].startswith(("ignored", "not graded"))})
    if not present or present == names:
        return names
    _say(stderr, f"the export holds {', '.join(present)}: grading only that (name others with --assignment)")
    imported.submissions = {k: v for k, v in imported.submissions.items() if k[1] in present}
    imported.notes = [n for n in imported.notes if not n[1] or n[1] in present]
    for name in set(infos) - set(present):
        del infos[name]
    return present


def _grade(submissions, *, root, roster, jobs, assignments, out, release, force, stdout, stderr,
           accept_weak_confinement=False) -> Outcome:
    start = time.monotonic()
    from backproplab.sandbox.confine import preflight

    _say(stderr, preflight(accept_weak_confinement))  # refuses, naming the setting, before anything is done
    if not Path(submissions).exists():  # said at once, before the release is regenerated
        raise GradingError(f"{submissions} does not exist")
    course = load_course(root)
    jobs = max(1, jobs or os.cpu_count() or 1)
    available = source_assignments(course)
    names = sorted(set(assignments)) if assignments else available
    if not names:
        raise GradingError(f"no assignments in {course.path('source')}")
    unknown = [a for a in names if a not in available]
    if unknown:
        raise GradingError(f"no assignment {unknown[0]!r} in {course.path('source')} "
                           f"(available: {', '.join(available) or 'none'})")
    out_dir = Path(out) if out else course.root / "autograder" / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)

    timings: dict[str, float] = {}
    mark = [time.monotonic()]

    def lap(phase: str) -> None:
        now = time.monotonic()
        timings[phase] = now - mark[0]
        mark[0] = now

    if release:
        _say(stderr, regenerate_release(course, names))
    lap("release")
    state = State(course.path("autograded") / ".backproplab" / "state.json")
    digests = {a: source_digest(course, a) for a in names}
    stale = [a for a in names if force or state.registered.get(a) != digests[a]]
    gb = course.gradebook()
    try:
        stale += [a for a in names if a not in stale and not _in_gradebook(gb, a)]
    finally:
        gb.close()
    if stale:
        register_assignments(course, stale)
        state.registered.update({a: digests[a] for a in stale})
        state.save()
    lap("register")
    gb = course.gradebook()
    try:
        infos = {a: read_assignment_info(course, gb, a) for a in names}
        class_list = read_roster(roster) if roster else None
        imported = import_submissions(Path(submissions), course, infos, class_list)
        if not imported.students:
            raise GradingError(f"no submissions recognised in {submissions} (see the file names in "
                               "autograder/INSTRUCTORS.md)")
        _say(stderr, f"imported {len(imported.students)} students from {submissions}: {imported.copied} "
                     f"new copies, {imported.unchanged} unchanged, {imported.archived} earlier copies archived")
        if not assignments:  # an LMS exports one assignment at a time: grade what the export holds
            names = _restrict_to_export(imported, names, infos, stderr)
        gbmod.sync_students(gb, imported.students.values())
        lap("import")

        notes = list(imported.notes)
        tasks, feedback_first = [], []
        skipped = 0
        for (sid, assignment), files in sorted(imported.submissions.items()):
            info = infos[assignment]
            checksum = submission_checksum(files)
            entry = None if force else state.is_current(sid, assignment, checksum, info.checksum())
            if entry and _still_valid(entry, gb, sid, assignment):
                skipped += 1
                for name, nb in entry["notebooks"].items():
                    notes += [(sid, assignment, _prefix(info, name, n)) for n in nb.get("notes", [])]
                fb_dir = course.path("feedback", sid, assignment)
                if any(not (fb_dir / f"{name}.html").is_file() for name in info.notebooks):
                    feedback_first.append(_feedback_task(course, gb, sid, assignment, entry, info))
                continue
            tasks.append({
                "student": sid, "assignment": assignment, "checksum": checksum,
                "info_checksum": info.checksum(),
                "info": {name: nb.to_dict() for name, nb in info.notebooks.items()},
                "files": {name: (str(p) if p else None) for name, p in files.items()},
                "submitted_dir": str(course.path("submitted", sid, assignment)),
                "autograded_dir": str(course.path("autograded", sid, assignment)),
                "source_dir": str(course.path("source", ".", assignment)),
            })
        _say(stderr, f"grading {len(tasks)} submission(s) on {jobs} worker(s)"
                     + (f"; {skipped} unchanged since they were graded" if skipped else ""))

        results: list[dict] = []
        guard = integrity.Guard.start(course)  # integrity hook: fingerprints before any submission runs

        def on_graded(result: dict) -> list[dict]:
            sid, assignment = result["student"], result["assignment"]
            info = infos[assignment]
            try:
                with guard.writing():  # integrity hook: the gradebook is what the grader last wrote
                    gbmod.record_result(gb, course, result)
            except Exception as exc:  # keep going; the state is not marked, so the next run retries
                gb.db.rollback()
                notes.append((sid, assignment, f"could not record the grades ({type(exc).__name__}: {exc}); "
                                               "run the command again"))
                return []
            state.record(sid, assignment, result["checksum"], result["info_checksum"], result)
            results.append(result)
            for name, nb in result["notebooks"].items():
                notes.extend((sid, assignment, _prefix(info, name, n)) for n in nb["notes"])
            return [_feedback_task(course, gb, sid, assignment, result, info)]

        progress = Progress(len(tasks), stream=stderr, enabled=stderr is not None)
        log_path = out_dir / "grading.log"
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"==== {time.strftime('%Y-%m-%d %H:%M:%S')} backproplab grade {submissions}: "
                      f"{len(tasks)} submission(s), {jobs} worker(s)\n")
        try:
            parallel.run(tasks, feedback_tasks=feedback_first, jobs=jobs, root=str(course.root),
                         log_path=str(log_path), on_graded=on_graded, on_feedback=lambda r: None,
                         progress=progress)
        finally:
            progress.close()
        if guard.finish():  # integrity hook: restore what something else changed; forget this run's grades
            for result in results:
                state.forget(result["student"], result["assignment"])
            for line in guard.warning():
                _say(stderr, line)
        lap("grading")

        rows = []
        for sid in sorted(imported.students):
            student = imported.students[sid]
            for assignment in names:
                rows.append(Row(sid, student.first_name, student.last_name, student.email, assignment,
                                gb.find_assignment(assignment).duedate,
                                gbmod.scores(gb, sid, assignment, infos[assignment])))
                if not rows[-1].scores["submitted"] and not any(
                        s == sid and a == assignment for s, a, _ in notes):
                    notes.append((sid, assignment, "nothing submitted: 0 points"))
    finally:
        gb.close()

    cells = {a: [(nb, gid, pts) for nb, nbi in sorted(info.notebooks.items())
                 for gid in nbi.order if (pts := nbi.grade_cells.get(gid)) is not None]
             for a, info in infos.items()}
    report = Report(rows=rows, notes=_unique(notes), mapping=imported.mapping, cells=cells)
    elapsed = time.monotonic() - start
    report.header = [*guard.warning(), f"Graded {len(tasks)} submission(s) of {len(imported.students)} student(s) in "
                     f"{elapsed:.0f} s on {jobs} worker(s)"
                     + (f"; {skipped} unchanged since the last run were kept" if skipped else "") + "."]
    files = {"grades": out_dir / "grades.csv", "exercises": out_dir / "exercises.csv",
             "mapping": out_dir / "mapping.csv", "report": out_dir / "report.txt",
             "histogram": out_dir / "histogram.png"}
    report.write_grades_csv(files["grades"])
    report.write_exercises_csv(files["exercises"])
    report.write_mapping_csv(files["mapping"])
    report.write_text(files["report"])
    report.write_png(files["histogram"])
    lap("reports")
    if stdout is not None:
        print(report.summary(), file=stdout)
        lines = report.note_lines()
        print(f"\n{len(lines)} problem(s) and decision(s):", file=stdout)
        for line in lines[:40]:
            print("  " + line, file=stdout)
        if len(lines) > 40:
            print(f"  ... {len(lines) - 40} more in {files['report']}", file=stdout)
        print(f"\nwrote {', '.join(str(p) for p in files.values())}", file=stdout)
        print(f"feedback pages in {course.path('feedback')}", file=stdout)
    return Outcome(report=report, out_dir=out_dir, files=files, graded=len(tasks), skipped=skipped,
                   seconds=time.monotonic() - start, results=results, timings=timings)


# ------------------------------------------------------------------------------------------- helpers
def _prefix(info, notebook: str, note: str) -> str:
    return note if len(info.notebooks) == 1 else f"{notebook}: {note}"


def _unique(notes):
    seen, out = set(), []
    for note in notes:
        if note not in seen:
            seen.add(note)
            out.append(note)
    return out


def _in_gradebook(gb, assignment: str) -> bool:
    from nbgrader.api import MissingEntry

    try:
        return bool(gb.find_assignment(assignment).notebooks)
    except MissingEntry:
        return False


def _still_valid(entry: dict, gb, sid: str, assignment: str) -> bool:
    """A state entry counts only while its outputs still exist."""
    statuses = {nb["status"] for nb in entry["notebooks"].values()}
    if statuses != {"missing"} and not gbmod.has_submission(gb, sid, assignment):
        return False
    return all(nb.get("autograded") is None or os.path.isfile(nb["autograded"])
               for nb in entry["notebooks"].values())


def _feedback_task(course, gb, sid: str, assignment: str, result: dict, info) -> dict:
    return {"student": sid, "assignment": assignment,
            "feedback_dir": str(course.path("feedback", sid, assignment)),
            "notebooks": gbmod.feedback_data(gb, sid, assignment, result, info), "kind": "feedback"}
