"""``backproplab grade SUBMISSIONS``: the instructor's one command (also ``python -m backproplab.grading``).

The main CLI registers it with one line: ``add_grade_parser`` in ``backproplab.cli.SUBCOMMANDS``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

DESCRIPTION = ("Import submissions exported by an LMS (a zip or a folder: one notebook or one folder per "
               "student), autograde them in parallel with nbgrader, generate feedback and write grades.csv, "
               "exercises.csv, mapping.csv, report.txt and histogram.png. Originals are never modified; "
               "running the command again grades only what changed. See autograder/INSTRUCTORS.md.")


def add_grade_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "grade",
        help="grade a zip or folder of submissions: gradebook, feedback, grades.csv and a summary",
        description=DESCRIPTION,
    )
    _add_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS",
                        help="zip file or folder exported by the LMS (Canvas, Moodle, or one folder per student)")
    parser.add_argument("--roster", type=Path,
                        help="CSV with a student_id column and any of file_key, name (or first_name, last_name), "
                             "email: fixes the student ids and lists students who submitted nothing")
    parser.add_argument("--jobs", "-j", type=int, default=None,
                        help=f"parallel grading workers (default: the number of CPUs, here {os.cpu_count()})")
    parser.add_argument("--assignment", "-a", action="append", dest="assignments", metavar="ASSIGNMENT",
                        help="grade only this assignment (repeatable; default: every assignment in solutions/)")
    parser.add_argument("--out", type=Path, help="folder for the reports (default: autograder/reports)")
    parser.add_argument("--course", type=Path, help="course root holding autograder/nbgrader_config.py "
                                                    "(default: found from the current folder)")
    parser.add_argument("--force", action="store_true",
                        help="grade everything again, even submissions unchanged since they were graded")
    parser.add_argument("--lms", action="append", metavar="FORMAT",
                        help="also write grades for an LMS: canvas, moodle, gradescope or all (repeatable; "
                             "canvas and moodle need --roster); see backproplab/grading/lms.py")
    parser.add_argument("--similarity", action="store_true",
                        help="compare the students' answer cells (and the package's source) for copying: "
                             "reports/similarity/ASSIGNMENT/report.html, a line per flagged pair in report.txt")
    parser.add_argument("--no-release", dest="release", action="store_false",
                        help="do not regenerate course/ first")
    parser.add_argument("--accept-weak-confinement", action="store_true",
                        help="grade even where the system forbids unprivileged user namespaces (learners' code "
                             "could then read and change the course's files; refused without this flag)")
    parser.add_argument("--accept", action="append", default=[], metavar="STUDENT:CELL",
                        help="a cell the scan flagged that you reviewed and accept: its findings cost no points "
                             "and the student is graded again (repeatable; CELL is the cell id the report names)")
    parser.add_argument("--accept-file", type=Path, metavar="FILE",
                        help="a file of accepted findings: one STUDENT:CELL a line (# starts a comment)")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="grade on an existing Dask cluster (e.g. tcp://scheduler:8786) instead of this machine; "
                             "its workers need the course's environment (see autograder/INSTRUCTORS.md)")
    parser.add_argument("--db", metavar="URL", dest="db_url",
                        help="the gradebook (default: the course configuration's CourseDirectory.db_url), e.g. "
                             "postgresql://grader@dbhost/backproplab")
    parser.add_argument("--strict-scan", action="store_true",
                        help="dynamic code (getattr with a computed name, globals(), inspect, ...) costs points "
                             "too, not only code that reaches the reference or the grader")


def run(args) -> int:
    from .lms import parse_formats
    from .pipeline import grade

    if args.jobs is not None and args.jobs < 1:
        raise ValueError("--jobs must be at least 1")
    # `kill`, a scheduler or Ctrl-C: stop cleanly, and ignore the SIGTERMs the kernels' cleanup may send our group
    previous = signal.signal(signal.SIGTERM, _interrupt)
    previous_int = signal.signal(signal.SIGINT, _interrupt)
    interrupted = False
    try:
        grade(args.submissions, root=args.course, roster=args.roster, jobs=args.jobs,
              assignments=args.assignments, out=args.out, release=args.release, force=args.force,
              lms=parse_formats(args.lms), similarity=args.similarity,
              accept_weak_confinement=args.accept_weak_confinement,
              accepted=read_acceptances(args.accept, args.accept_file), strict_scan=args.strict_scan,
              db_url=args.db_url, cluster=args.cluster)
    except (KeyboardInterrupt, asyncio.CancelledError):
        # an interrupt that lands inside an event loop (a kernel being started) cancels its main task: only an
        # interrupt cancels that task, so its CancelledError is the interrupt too
        print("\ninterrupted: everything graded so far is in the gradebook; run the same command again to "
              "grade the rest", file=sys.stderr)
        interrupted = True
        # a task of the interrupted loop (a budget's measurement, a kernel starting) ended with the interrupt: when
        # it is collected, asyncio would print it with a traceback ("Task exception was never retrieved")
        logging.getLogger("asyncio").setLevel(logging.CRITICAL)
        return 130
    finally:
        if not interrupted:  # once stopping, this process stays deaf to SIGTERM until it has exited
            signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, previous_int)
    return 0


def read_acceptances(items: list[str], path: Path | None = None) -> dict[str, list[str]]:
    """``STUDENT:CELL`` entries (from ``--accept`` and the lines of ``--accept-file``) -> student -> cells."""
    entries = [(item, "--accept") for item in items]
    if path is not None:
        lines = path.read_text(encoding="utf-8").splitlines()
        entries += [(line.split("#", 1)[0].strip(), f"{path}:{n}") for n, line in enumerate(lines, 1)]
    accepted: dict[str, list[str]] = {}
    for entry, where in entries:
        if not entry:
            continue
        student, sep, cell = entry.partition(":")
        if not sep or not student.strip() or not cell.strip():
            raise ValueError(f"{where}: {entry!r} is not STUDENT:CELL (e.g. alice:ex-dense-backward)")
        accepted.setdefault(student.strip(), []).append(cell.strip())
    return accepted


def _interrupt(signum, frame):
    # One SIGTERM or SIGINT stops the run; the stop itself is bounded (parallel.STOP_GRACE + CLOSE_TIMEOUT), so a
    # SIGTERM that reaches us while kernels and the cluster shut down (they share our process group) must not kill
    # the coordinator half-way through its cleanup.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backproplab.grading", description=DESCRIPTION)
    _add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (ValueError, OSError) as exc:
        message = next((line.strip() for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        print(f"backproplab grade: error: {message}", file=sys.stderr)
        return 1
