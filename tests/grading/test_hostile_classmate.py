"""Issue 19's class of three, through ``backproplab grade`` as root and as an ordinary user.

One submission's first answer cell walks the home folders for ``gradebook.db``, opens each with ``sqlite3``
and runs one ``UPDATE`` (every score 792), and leaves a file in ``autograder/``. Its classmates submit the
solution. In every mode the classmates keep 5/5, the attacker gets 0, the gradebook holds only the grader's
rows and nothing is left in ``autograder/``:

* as root and as an ordinary user (user namespaces), the kernel finds no gradebook at all;
* as an ordinary user on a system that forbids user namespaces, graded with ``--accept-weak-confinement``,
  the attack does reach the gradebook: the grader notices (:mod:`backproplab.grading.integrity`), restores it,
  moves the planted file to ``autograder/quarantine/``, and says at the top of the report that the run is not
  to be trusted.
"""

from __future__ import annotations

import csv
import shutil
import sqlite3

import nbformat
import pytest

from tests.grading.classbuilder import FIXTURE, blank, cell, dumps, make_course, solution, write_tree
from tests.sandbox.users import MODES, account, give, run_as, workspace

ATTACK = '''
import os, sqlite3
# Each hit is printed at once: the cell's CPU budget may stop a long walk (CI's /tmp is large) after the harm is done.
for top in ("/home", "/root", "/tmp"):
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if not d.startswith(".") and "-packages" not in d and d != "node_modules"]
        if "gradebook.db" in files and MINE not in folder:  # another test's class, graded at the same time
            print("gradebook seen:", repr(folder), flush=True)
        elif "gradebook.db" in files:
            try:
                db = sqlite3.connect(os.path.join(folder, "gradebook.db"))
                db.execute("UPDATE grade SET manual_score = 792")  # no row yet if this notebook is graded first
                db.execute("CREATE TABLE IF NOT EXISTS mallory_was_here (x)")  # so the file changes in any case
                db.commit()
                db.close()
                with open(os.path.join(folder, "was_here.txt"), "w") as fh:
                    fh.write("792")
                print("gradebook changed:", repr(folder), flush=True)
            except Exception as exc:
                print("gradebook refused:", repr(folder), type(exc).__name__, flush=True)
print("walk finished", flush=True)
'''


def _class(root, mine: str):
    """``mine``: the name of this test's folder; the attack changes the gradebooks under it only, so that the tests
    running beside this one (as the same ordinary user) keep theirs."""
    perfect = solution(root)
    hostile = blank(root)
    cell(hostile, "ex-square").source = f"MINE = {mine!r}\n{ATTACK}\n{cell(hostile, 'ex-square').source}"
    return {f"export/{sid}/{FIXTURE}.ipynb": dumps(nb)
            for sid, nb in {"ada": perfect, "bob": perfect, "mallory": hostile}.items()}


def _grades(path):
    with open(path, newline="") as fh:
        return {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}


@pytest.mark.parametrize("mode", [*MODES, "user, user namespaces forbidden"])
def test_a_classmate_cannot_change_the_gradebook(mode):
    who = account(mode.split(",")[0])
    base = workspace(who, "backproplab-class-of-three")
    root = make_course(base)
    write_tree(base, _class(root, base.name))
    give(base, who)
    weak = mode.endswith("forbidden")
    done = run_as(who, ["-m", "backproplab.grading", str(base / "export"), "--course", str(root), "--jobs", "2",
                        *(["--accept-weak-confinement"] if weak else [])],
                  cwd=base, timeout=900, forbid_userns=weak)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    reports = root / "autograder" / "reports"
    assert _grades(reports / "grades.csv") == {"ada": 5.0, "bob": 5.0, "mallory": 0.0}
    with sqlite3.connect(root / "autograder" / "gradebook.db") as db:
        assert db.execute("SELECT COUNT(*) FROM grade WHERE manual_score IS NOT NULL").fetchone() == (0,)
        assert not db.execute("SELECT name FROM sqlite_master WHERE name = 'mallory_was_here'").fetchall()
        scores = dict(db.execute("SELECT student.id, SUM(grade.auto_score) FROM grade JOIN submitted_notebook "
                                 "ON grade.notebook_id = submitted_notebook.id JOIN submitted_assignment ON "
                                 "submitted_notebook.assignment_id = submitted_assignment.id JOIN student ON "
                                 "submitted_assignment.student_id = student.id GROUP BY student.id").fetchall())
    assert scores == {"ada": 5.0, "bob": 5.0, "mallory": 0.0}
    assert not (root / "autograder" / "was_here.txt").exists()
    report = (reports / "report.txt").read_text()
    executed = nbformat.read(root / "autograder" / "autograded" / "mallory" / FIXTURE / f"{FIXTURE}.ipynb", 4)
    printed = "".join(o.get("text", "") for o in cell(executed, "ex-square").outputs)
    if weak:  # the attack reached the gradebook; the grader noticed, restored it and says so
        assert f"'{root / 'autograder'}'" in printed, printed
        assert report.startswith("INTEGRITY: during this run, something other than the grader changed"), report
        assert "the gradebook (autograder/gradebook.db) was changed by something other than the grader" in report
        assert "moved to autograder/quarantine/" in report and "autograder/was_here.txt" in report
        assert list((root / "autograder" / "quarantine").glob("*/autograder__was_here.txt"))
        assert "WARNING: grading kernels: ordinary user WITHOUT file-system confinement" in done.stderr
    else:  # the kernel saw no gradebook
        assert "walk finished" in printed and "gradebook changed" not in printed, printed
        assert "INTEGRITY" not in report and not (root / "autograder" / "quarantine").exists()
    shutil.rmtree(base)
