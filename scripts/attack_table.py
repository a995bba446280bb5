"""The attack table: points each attack of tests/sandbox/attacks.py gets from plain nbgrader and from the
trusted grader (``backproplab grade``).

    python -m scripts.attack_table            # prints a Markdown table (about two minutes)
    python -m scripts.attack_table --keep     # and keeps the temporary nbgrader course

A temporary nbgrader course is made (``nbgrader generate_assignment`` of the small ``ps1`` assignment), with
one student per attack plus three honest students. Plain ``nbgrader autograde`` grades each student
separately, as the owner of the course (when run as root: a dedicated unprivileged uid that owns the course
folder, so that nothing outside it is at risk), under a safety ``prlimit`` (2000 processes, 16 GB of address
space, 300 s of CPU per process). The fork bomb is not run under plain nbgrader (it would take the machine
down), nor ``kill_everyone`` without a dedicated uid (it would kill every process of the user running this).
``write_gradebook`` runs after every other student (it rewrites everyone's manual scores), ``delete_course``
last (it deletes the gradebook). The same submissions are graded first by one ``backproplab grade`` run
(the grading path of the course, as tests/sandbox/test_attacks.py runs it).

Not a test: it runs plain nbgrader on hostile code. The numbers go into the documentation.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PLAIN_UID = 1_899_999_999  # the "instructor" of the temporary course when this runs as root
HONEST = ["honest_1", "honest_2", "honest_3"]
LAST = ["write_gradebook", "delete_course"]

CONFIG = """
c = get_config()
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "attack-table"
c.CourseDirectory.db_url = "sqlite:///{root}/gradebook.db"
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE\\nraise NotImplementedError()"}}
c.Execute.timeout = 10
"""


def _python_env() -> tuple[str, dict]:
    """An interpreter and environment that the plain-nbgrader user can run with this environment's packages."""
    import site
    import sysconfig

    paths = [str(ROOT), sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
           "PYTHONPATH": os.pathsep.join(paths)}
    if os.geteuid() != 0:
        return sys.executable, env
    for python in (sys.executable, f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}"):
        probe = subprocess.run(["setpriv", f"--reuid={PLAIN_UID}", f"--regid={PLAIN_UID}", "--clear-groups",
                                "/usr/bin/env", f"PYTHONPATH={env['PYTHONPATH']}", python, "-c",
                                "import nbgrader, ipykernel, backproplab"], capture_output=True)
        if probe.returncode == 0:
            return python, env
    raise SystemExit("no Python interpreter the unprivileged user can run with nbgrader")


def make_course(root: Path, students: dict) -> None:
    import nbformat

    from tests.sandbox.attacks import source_notebook

    (root / "source" / "ps1").mkdir(parents=True)
    nbformat.write(source_notebook(), root / "source" / "ps1" / "ps1.ipynb")
    (root / "nbgrader_config.py").write_text(CONFIG.format(root=str(root)))
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "ps1", "--force"], cwd=root,
                   check=True, capture_output=True, env={**os.environ, "PATH": f"{Path(sys.executable).parent}:"
                                                                             f"{os.environ.get('PATH', '')}"})
    release = nbformat.read(root / "release" / "ps1" / "ps1.ipynb", as_version=4)
    for student, attack in students.items():
        folder = root / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        nbformat.write(attack.submission(str(root), release=release), folder / "ps1.ipynb")


def plain_scores(root: Path, students: dict) -> dict:
    """{student: (points or None, note)} from plain nbgrader, one autograde per student."""
    python, env = _python_env()
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", f"{PLAIN_UID}:{PLAIN_UID}", str(root)], check=True)
        env["HOME"] = str(root)
        prefix = ["setpriv", f"--reuid={PLAIN_UID}", f"--regid={PLAIN_UID}", "--clear-groups", "/usr/bin/env",
                  *(f"{k}={v}" for k, v in env.items())]
    else:
        prefix = []
    safety = ["prlimit", "--nproc=2000", f"--as={16 * 2**30}", "--cpu=300", "--"]
    order = [s for s in students if s not in LAST] + [s for s in LAST if s in students]
    out = {}
    for student in order:
        attack = students[student]
        if attack.plain_unsafe:
            out[student] = (None, f"not run: {attack.plain_unsafe}")
            continue
        if student == "kill_everyone" and not prefix:
            out[student] = (None, "not run: as the user running this script it would kill all their processes")
            continue
        before = _totals(root)
        start = time.monotonic()
        try:
            done = subprocess.run([*prefix, *safety, python, "-m", "nbgrader", "autograde", "ps1", "--student",
                                   student, "--force"], cwd=root, capture_output=True, text=True, timeout=120,
                                  env=None if prefix else {**os.environ, **env})
            note = "" if done.returncode == 0 else f"nbgrader exited with {done.returncode}"
        except subprocess.TimeoutExpired:
            note = "nbgrader did not finish in 2 minutes: stopped"
            if prefix:  # its kernel too: the processes this script started as the course's user
                from backproplab.sandbox.processes import kill_processes

                kill_processes(uid=PLAIN_UID)
        seconds = time.monotonic() - start
        after = _totals(root)
        note = f"{note} ({seconds:.0f} s)".strip()
        others = [s for s in before if s != student and after.get(s) != before[s]]
        if others:
            note += (f"; changed the grades of {len(others)} other students (e.g. {others[0]}: "
                     f"{before[others[0]]:g} -> {after.get(others[0], 'no grade')})")
        gone = [p for p in ("gradebook.db", "source", "submitted") if not (root / p).exists()]
        if gone:
            note += f"; deleted {', '.join(gone)}"
        if _leaks(root / "autograded" / student / "ps1" / "ps1.ipynb"):
            note += "; printed the hidden tests (in the autograded notebook, hence in nbgrader's feedback)"
        out[student] = (after.get(student), note)
    return out


def _leaks(path: Path) -> bool:
    """Whether the hidden tests appear in the outputs of a cell that is not a graded test cell."""
    from tests.sandbox.attacks import HIDDEN_MARKER

    try:
        nb = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return any(HIDDEN_MARKER in json.dumps(c.get("outputs", [])) for c in nb.get("cells", [])
               if not c.get("metadata", {}).get("nbgrader", {}).get("grade"))


def _totals(root: Path) -> dict:
    """Each student's total in the gradebook (what ``nbgrader export`` reports)."""
    import sqlite3

    db = root / "gradebook.db"
    if not db.exists():
        return {}
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT submitted_assignment.student_id, "
            "SUM(COALESCE(grade.manual_score, grade.auto_score, 0)) "
            "FROM grade JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "GROUP BY submitted_assignment.student_id").fetchall()
    except sqlite3.Error:
        return {}
    finally:
        con.close()
    return {student: float(total) for student, total in rows}


def trusted_scores(root: Path, students: dict) -> dict:
    """The class graded the way tests/sandbox/test_attacks.py grades it: one ``backproplab grade`` run of a
    course with a real nbgrader gradebook (tests/sandbox/conftest.py), as this process's user."""
    from tests.sandbox.attacks import HIDDEN_MARKER
    from tests.sandbox.conftest import graded_class, make_course

    course = make_course(root / "trusted", only=list(students))
    batch = graded_class(course, "root")
    if batch["rc"] != 0:
        raise SystemExit(f"backproplab grade failed:\n{batch['output'][-3000:]}")
    out = {}
    for student, g in batch["graded"].items():
        note = g.run.problem or "; ".join(g.run.incidents[:1]) if g.run else ""
        if HIDDEN_MARKER in g.page:
            note += "; HIDDEN TESTS IN THE FEEDBACK"
        findings = [f for s in g.scores.values() for f in s.findings]
        if findings:
            note = f"scan: {' '.join(dict.fromkeys(findings))[:120]}" + (f"; {note}" if note else "")
        out[student] = (g.points, note)
    return out


def table(students: dict, plain: dict, trusted: dict) -> str:
    from tests.sandbox.attacks import TOTAL

    lines = [f"| attack | what the submission does | plain nbgrader (/{TOTAL:g}) | trusted grader (/{TOTAL:g}) "
             f"| expected | notes |", "|---|---|---|---|---|---|"]
    for student, attack in students.items():
        if student in HONEST:
            continue
        p, p_note = plain.get(student, (None, "not run"))
        t, t_note = trusted[student]
        p_text = "—" if p is None else f"{p:g}"
        notes = "; ".join(x for x in (f"plain: {p_note}" if p_note else "", f"trusted: {t_note}" if t_note else "")
                          if x)
        lines.append(f"| {student} | {attack.what} | {p_text} | {t:g} | {attack.expected:g} | "
                     f"{notes.replace('|', '/')} |")
    honest_plain = sorted({"lost" if plain.get(s, (None,))[0] is None else f"{plain[s][0]:g}" for s in HONEST})
    honest_trusted = sorted({trusted[s][0] for s in HONEST}, key=str)
    lines.append(f"| (3 honest students) | graded in the same batch | {', '.join(honest_plain)} "
                 f"(in the gradebook at the end) | {', '.join(map(str, honest_trusted))} | {TOTAL:g} | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary course")
    parser.add_argument("--json", type=Path, help="also write the scores as JSON")
    parser.add_argument("--only", nargs="+", metavar="ATTACK", help="these attacks only (and the honest students)")
    args = parser.parse_args(argv)

    from tests.sandbox.attacks import ATTACKS, BY_NAME

    students = {a.name: a for a in ATTACKS if not args.only or a.name in args.only}
    students.update({name: BY_NAME["honest"] for name in HONEST})
    root = Path(tempfile.mkdtemp(prefix="backproplab-attack-table-"))
    os.chmod(root, 0o755)
    try:
        make_course(root, students)
        start = time.monotonic()
        trusted = trusted_scores(root, students)
        t_seconds = time.monotonic() - start
        start = time.monotonic()
        plain = plain_scores(root, students)
        p_seconds = time.monotonic() - start
        final = _totals(root)
        for name in HONEST:  # what the gradebook says at the end, after write_gradebook and delete_course
            plain[name] = (final.get(name), "")
        print(table(students, plain, trusted))
        print(f"\nplain nbgrader: {p_seconds:.0f} s (one autograde per student); "
              f"trusted grader: {t_seconds:.0f} s (one backproplab grade run)")
        if args.json:
            args.json.write_text(json.dumps({"plain": plain, "trusted": trusted}, indent=1))
    finally:
        if args.keep:
            print(f"course kept in {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
