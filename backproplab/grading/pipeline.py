"""``backproplab grade``: from an LMS export to grades, feedback, a CSV and a summary, in one call.

1. regenerate ``course/`` (``backproplab.release``) and record the assignments in the gradebook
   (nbgrader's ``GenerateAssignment``, as ``nbgrader generate_assignment`` does); time each source notebook
   once per version for its time budget (:mod:`.budgets`);
2. import the export into ``autograder/submitted/`` (:mod:`.importer`; originals are only read);
3. grade every (student, assignment) whose copy changed since it was last graded, on ``jobs`` workers
   (:mod:`.parallel`) or a Dask cluster, each task carrying the files it needs (:mod:`.shipping`), the parent
   writing each result's autograded notebooks as it arrives, recording the results in the gradebook
   (:mod:`.gradebook`) a batch at a time (one transaction per :data:`FLUSH_EVERY` results or
   :data:`FLUSH_SECONDS`) and writing their feedback pages, which a worker rendered;
4. write grades.csv, exercises.csv, mapping.csv, report.txt and histogram.png (:mod:`.report`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from backproplab.sandbox import load_secret

from . import gradebook as gbmod
from . import integrity, parallel, shipping
from .budgets import ensure_budgets
from .course import (
    GradingError,
    load_course,
    read_assignment_info,
    regenerate_release,
    register_assignments,
    source_assignments,
    source_digest,
)
from .feedback import write_pages
from .importer import import_submissions
from .lms import check_ready as lms_check_ready
from .lms import write_exports as write_lms_exports
from .progress import Progress
from .protocol import FeedbackResult, FeedbackTask, TaskResult
from .report import Report, Row
from .roster import read_roster
from .similarity import write_reports as write_similarity
from .state import State, submission_checksum
from .worker import notebook_limits

#: The gradebook is written (one transaction for every result waiting) as soon as the coordinator has nothing
#: else to do (no other result ready: a small or slow class is recorded result by result, as it arrives), and
#: when results pile up, whenever ``FLUSH_EVERY`` of them wait or the oldest has waited ``FLUSH_SECONDS``, and
#: at the end (docs/scale.md: a transaction per result was the coordinator's largest cost). A run killed in
#: between loses only what it had not yet recorded: those submissions are graded again by the next run.
FLUSH_EVERY = 25
FLUSH_SECONDS = 5.0
#: False: no write when idle, only every ``FLUSH_EVERY`` results or ``FLUSH_SECONDS`` (the tests' batches)
FLUSH_WHEN_IDLE = True


@dataclass
class GradingRun:
    """What one ``backproplab grade`` wrote: the report, its files, and the results graded in this run."""

    report: Report
    out_dir: Path
    files: dict[str, Path]
    graded: int = 0
    skipped: int = 0
    seconds: float = 0.0
    results: list[TaskResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase

    @property
    def lines(self) -> list[str]:
        return self.report.note_lines()


def _say(stream, text: str) -> None:
    if stream is not None:
        print(text, file=stream, flush=True)


def grade(submissions: Path, *, root: Path | None = None, roster: Path | None = None, jobs: int | None = None,
          assignments: list[str] | None = None, out: Path | None = None, release: bool = True,
          force: bool = False, stdout="-", stderr="-", lms: list[str] | None = None,
          similarity: bool = False, accept_weak_confinement: bool = False,
          accepted: dict[str, list[str]] | None = None, strict_scan: bool = False, db_url: str | None = None,
          cluster: str | None = None) -> GradingRun:
    """Grade an LMS export; see the module docstring. Returns what was written and the report.

    ``stdout`` gets the summary and ``stderr`` the progress ("-": the current ``sys`` streams; None: quiet).
    ``accept_weak_confinement``: grade even where kernels cannot be kept from the course's files.
    ``accepted``: student -> ids of the cells whose scan findings the instructor accepted; ``strict_scan``:
    dynamic code costs points too (:mod:`backproplab.sandbox.scan`). ``db_url``: the gradebook, instead of the
    course configuration's; ``cluster``: a Dask scheduler's address (default: a local cluster of ``jobs``).
    """
    from sqlalchemy.exc import SAWarning

    from backproplab.sandbox.confine import preflight

    stdout = sys.stdout if stdout == "-" else stdout
    stderr = sys.stderr if stderr == "-" else stderr
    if not Path(submissions).exists():  # mistakes in the command are said alone, before the confinement notice
        raise GradingError(f"{submissions} does not exist")
    lms_check_ready(lms or [], roster)
    _say(stderr, preflight(accept_weak_confinement))  # refuses, naming the setting, before anything is done
    with warnings.catch_warnings():
        # nbgrader's own Gradebook calls trigger SQLAlchemy autoflush warnings; they are harmless
        warnings.simplefilter("ignore", SAWarning)
        run = _Run(submissions, root=root, jobs=jobs, assignments=assignments, out=out, stderr=stderr,
                   accepted=accepted or {}, strict_scan=strict_scan, db_url=db_url, cluster=cluster)
        run.prepare(release, force)
        gb = run.course.gradebook()
        try:
            run.import_export(gb, roster)
            tasks = run.plan(gb, force)
            run.grade(gb, tasks)
            rows = run.rows(gb)
        finally:
            gb.close()
        return run.finish(rows, tasks, stdout, lms=lms or [], similarity=similarity, roster=roster)


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


class _Run:
    """One ``backproplab grade``, phase by phase (each method one phase of the module docstring)."""

    def __init__(self, submissions, *, root, jobs, assignments, out, stderr, accepted=None, strict_scan=False,
                 db_url=None, cluster=None):
        self.start = time.monotonic()
        self.accepted, self.strict_scan = {s: sorted(set(c)) for s, c in (accepted or {}).items()}, strict_scan
        self.guard: integrity.Guard | None = None
        self.submissions, self.stderr, self.explicit = Path(submissions), stderr, bool(assignments)
        if not self.submissions.exists():  # said at once, before the release is regenerated
            raise GradingError(f"{submissions} does not exist")
        self.course = course = load_course(root, db_url)
        # the seeds are derived here, per notebook: the secret never travels to a worker (shipping.py)
        self.secret = load_secret(course.root / "autograder" / "grading_secret")
        self.cluster = cluster
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        available = source_assignments(course)
        self.names = sorted(set(assignments)) if assignments else available
        if not self.names:
            raise GradingError(f"no assignments in {course.path('source')}")
        unknown = [a for a in self.names if a not in available]
        if unknown:
            raise GradingError(f"no assignment {unknown[0]!r} in {course.path('source')} "
                               f"(available: {', '.join(available) or 'none'})")
        self.out_dir = Path(out) if out else course.root / "autograder" / "reports"
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.state = State(course.path("autograded") / ".backproplab" / "state.json")
        self.timings: dict[str, float] = {}
        self.mark = time.monotonic()
        self.notes: list[tuple[str, str, str]] = []
        self.results: list[TaskResult] = []
        self.skipped = 0
        self.feedback_first: list[FeedbackTask] = []
        self.waiting: list[TaskResult] = []  # graded, autograded notebooks written, not yet in the gradebook
        self.oldest = 0.0  # when the first of them arrived

    def lap(self, phase: str) -> None:
        now = time.monotonic()
        self.timings[phase] = now - self.mark
        self.mark = now

    def prepare(self, release: bool, force: bool) -> None:
        """Regenerate the release; record in the gradebook the assignments whose source changed."""
        course, names, state = self.course, self.names, self.state
        if release:
            _say(self.stderr, regenerate_release(course, names))
        self.lap("release")
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
        self.lap("register")
        # the time budgets, from the solutions' own run times (measured once per version of a source)
        ensure_budgets(course, names, lambda source: notebook_limits(course.config, source),
                       lambda text: _say(self.stderr, text))
        self.lap("budgets")

    def import_export(self, gb, roster) -> None:
        self.infos = {a: read_assignment_info(self.course, gb, a) for a in self.names}
        class_list = read_roster(roster) if roster else None
        imported = self.imported = import_submissions(self.submissions, self.course, self.infos, class_list)
        if not imported.students:
            raise GradingError(f"no submissions recognised in {self.submissions} (see the file names in "
                               "autograder/INSTRUCTORS.md)")
        _say(self.stderr, f"imported {len(imported.students)} students from {self.submissions}: "
                          f"{imported.copied} new copies, {imported.unchanged} unchanged, {imported.archived} "
                          "earlier copies archived")
        if not self.explicit:  # an LMS exports one assignment at a time: grade what the export holds
            self.names = _restrict_to_export(imported, self.names, self.infos, self.stderr)
        gbmod.sync_students(gb, imported.students.values())
        self.notes = list(imported.notes)
        self.lap("import")

    def plan(self, gb, force: bool) -> list[dict]:
        """A task per (student, assignment) whose copy or release changed (what :meth:`pack` needs to pack
        it); the others keep their grades."""
        course, tasks = self.course, []
        for (sid, assignment), files in sorted(self.imported.submissions.items()):
            info = self.infos[assignment]
            # an acceptance or the scan policy changes the grade: the submission is graded again
            scan = self.accepted.get(sid, []), self.strict_scan
            checksum = submission_checksum(files) + (f":scan={scan}" if scan != ([], False) else "")
            entry = None if force else self.state.is_current(sid, assignment, checksum, info.checksum())
            if entry and _still_valid(entry, gb, sid, assignment):
                self.skipped += 1
                graded = {name: (nb.get("autograded"), nb.get("notes", [])) for name, nb in entry["notebooks"].items()}
                self.notes += [(sid, assignment, _prefix(info, name, n)) for name, (_, notes) in graded.items()
                               for n in notes]
                fb_dir = course.path("feedback", sid, assignment)
                if any(not (fb_dir / f"{name}.html").is_file() for name in info.notebooks):
                    self.feedback_first.append(_feedback_task(course, gb, sid, assignment, graded, info))
                continue
            tasks.append({"student": sid, "assignment": assignment, "info": info, "files": dict(files),
                          "checksum": checksum, "accepted": scan[0], "strict_scan": self.strict_scan})
        _say(self.stderr, f"grading {len(tasks)} submission(s) on {self.jobs} worker(s)"
                          + (f"; {self.skipped} unchanged since they were graded" if self.skipped else ""))
        return tasks

    def pack(self, plan: dict):
        """The self-contained task of ``plan`` (:func:`.shipping.pack`), when it is submitted."""
        return shipping.pack(self.course, self.secret, **plan)

    def on_graded(self, gb, result: TaskResult) -> list[FeedbackTask]:
        """In the parent, per result as it arrives: write its autograded notebooks, and keep it for the next
        :meth:`flush` (made now when :data:`FLUSH_EVERY` results wait)."""
        try:
            shipping.store(self.course, result)
        except Exception as exc:  # keep going; the state is not marked, so the next run retries
            self.notes.append(_not_recorded(result, exc))
            return []
        if not self.waiting:
            self.oldest = time.monotonic()
        self.waiting.append(result)
        return self.flush(gb) if len(self.waiting) >= FLUSH_EVERY else []

    def flush(self, gb, when: str = "final") -> list[FeedbackTask]:
        """Record the results that arrived since the last flush in the gradebook (the only writer), in one
        transaction, then in the resume state (a result is marked done only once its grades are in the file);
        the feedback tasks of what was recorded. ``when``: ``"final"`` (always), ``"idle"`` (nothing else to
        do: if :data:`FLUSH_WHEN_IDLE`) or ``"busy"`` (only once the oldest has waited :data:`FLUSH_SECONDS`)."""
        due = (when == "final" or (when == "idle" and FLUSH_WHEN_IDLE)
               or time.monotonic() - self.oldest >= FLUSH_SECONDS)
        if not self.waiting or not due:
            return []
        batch, self.waiting = self.waiting, []
        recorded: list[TaskResult] = []

        def committed(results: list[TaskResult]) -> None:
            for result in results:
                self.state.record(result)
            recorded.extend(results)

        # integrity hook: the gradebook is still what the grader last wrote; the state is told once the guard has
        # written the grader's copy out to the gradebook's file (a SIGKILL before: graded again, never lost)
        with self.guard.writing() as then:
            failed = gbmod.record_results(gb, self.course, batch, lambda done: then.append(lambda: committed(done)))
        self.notes.extend(_not_recorded(result, exc) for result, exc in failed)  # the next run retries them
        tasks = []
        for result in recorded:
            info = self.infos[result.assignment]
            self.results.append(result)
            for name, nb in result.notebooks.items():
                self.notes.extend((result.student, result.assignment, _prefix(info, name, n)) for n in nb.notes)
            graded = {name: (nb.autograded, nb.notes) for name, nb in result.notebooks.items()}
            tasks.append(_feedback_task(self.course, gb, result.student, result.assignment, graded, info))
        return tasks

    def on_feedback(self, result: FeedbackResult) -> None:
        """In the parent: write the pages a worker rendered."""
        course = self.course
        result.written = write_pages(course.path("feedback", result.student, result.assignment), result.pages,
                                     0o664 if course.coursedir.groupshared else 0o644)

    def grade(self, gb, tasks: list[dict]) -> None:
        progress = Progress(len(tasks), stream=self.stderr, enabled=self.stderr is not None)
        log_path = self.out_dir / "grading.log"
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(f"==== {time.strftime('%Y-%m-%d %H:%M:%S')} backproplab grade {self.submissions}: "
                      f"{len(tasks)} submission(s), {self.jobs} worker(s)\n")
        self.guard = integrity.Guard.start(self.course, gb)  # integrity hook: fingerprints before any code runs
        try:
            parallel.run(tasks, pack=self.pack, feedback_tasks=self.feedback_first, jobs=self.jobs,
                         config=self.course.config, log_path=str(log_path),
                         on_graded=lambda result: self.on_graded(gb, result), on_feedback=self.on_feedback,
                         flush=lambda when: self.flush(gb, when), progress=progress, cluster=self.cluster)
        finally:
            progress.close()
            try:
                if self.waiting:  # interrupted: what was graded and not yet recorded is recorded (its pages
                    with contextlib.suppress(Exception):  # are written by the next run)
                        self.flush(gb)
                if self.guard.finish():  # integrity hook: restored what something else changed; not to be trusted
                    for result in self.results:
                        self.state.forget(result.student, result.assignment)
                    for line in self.guard.warning():
                        _say(self.stderr, line)
            finally:
                self.state.save()  # this run's results, interrupted or not, folded into state.json
        self.lap("grading")

    def rows(self, gb) -> list[Row]:
        rows = []
        for sid in sorted(self.imported.students):
            student = self.imported.students[sid]
            for assignment in self.names:
                rows.append(Row(sid, student.first_name, student.last_name, student.email, assignment,
                                gb.find_assignment(assignment).duedate,
                                gbmod.scores(gb, sid, assignment, self.infos[assignment])))
                if not rows[-1].scores["submitted"] and not any(
                        s == sid and a == assignment for s, a, _ in self.notes):
                    self.notes.append((sid, assignment, "nothing submitted: 0 points"))
        return rows

    def finish(self, rows: list[Row], tasks: list[dict], stdout, *, lms: list[str], similarity: bool,
               roster) -> GradingRun:
        """Write the reports and print the summary."""
        cells = {a: [(nb, gid, pts) for nb, nbi in sorted(info.notebooks.items())
                     for gid in nbi.order if (pts := nbi.grade_cells.get(gid)) is not None]
                 for a, info in self.infos.items()}
        report = Report(rows=rows, notes=_unique(self.notes), mapping=self.imported.mapping, cells=cells)
        report.header = [*(self.guard.warning() if self.guard else [])]
        report.header += [f"Graded {len(tasks)} submission(s) of {len(self.imported.students)} student(s) in "
                          f"{time.monotonic() - self.start:.0f} s on {self.jobs} worker(s)"
                          + (f"; {self.skipped} unchanged since the last run were kept" if self.skipped else "")
                          + "."]
        out_dir = self.out_dir
        files = {"grades": out_dir / "grades.csv", "exercises": out_dir / "exercises.csv",
                 "mapping": out_dir / "mapping.csv", "report": out_dir / "report.txt",
                 "histogram": out_dir / "histogram.png"}
        report.write_grades_csv(files["grades"])
        report.write_exercises_csv(files["exercises"])
        report.write_mapping_csv(files["mapping"])
        files.update(write_lms_exports(report, self.course, out_dir, lms, roster))  # LMS imports (lms.py)
        files.update(write_similarity(report, self.course, out_dir, similarity))  # copying (similarity.py)
        report.write_text(files["report"])
        report.write_png(files["histogram"])
        self.lap("reports")
        if stdout is not None:
            _print_summary(report, files, self.course, stdout)
        return GradingRun(report=report, out_dir=out_dir, files=files, graded=len(tasks), skipped=self.skipped,
                          seconds=time.monotonic() - self.start, results=self.results, timings=self.timings)


def _print_summary(report: Report, files: dict[str, Path], course, stdout) -> None:
    print(report.summary(), file=stdout)
    lines = report.note_lines()
    print(f"\n{len(lines)} problem(s) and decision(s):", file=stdout)
    for line in lines[:40]:
        print("  " + line, file=stdout)
    if len(lines) > 40:
        print(f"  ... {len(lines) - 40} more in {files['report']}", file=stdout)
    print(f"\nwrote {', '.join(str(p) for p in files.values())}", file=stdout)
    print(f"feedback pages in {course.path('feedback')}", file=stdout)


# ------------------------------------------------------------------------------------------- helpers
def _prefix(info, notebook: str, note: str) -> str:
    return note if len(info.notebooks) == 1 else f"{notebook}: {note}"


def _not_recorded(result: TaskResult, exc: Exception) -> tuple[str, str, str]:
    return (result.student, result.assignment,
            f"could not record the grades ({type(exc).__name__}: {exc}); run the command again")


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


def _feedback_task(course, gb, sid: str, assignment: str, graded: dict, info) -> FeedbackTask:
    return FeedbackTask(sid, assignment, str(course.path("feedback", sid, assignment)),
                        gbmod.feedback_data(gb, sid, assignment, graded, info))
