"""What INSTRUCTORS.md and SECURITY.md promise about re-grading and the gradebook, through ``backproplab grade``:

* editing a test, or its points, in ``solutions/`` re-grades that notebook at the next run (and only then);
* a manual score given in formgrader survives a re-grade;
* only the parent process writes the gradebook: the grading workers never open it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from backproplab.grading.pipeline import grade
from tests.grading.classbuilder import FIXTURE, cell, dumps, make_course, solution, write_tree

A = FIXTURE


def _run(export: Path, root: Path, force: bool = False):
    return grade(export, root=root, jobs=1, assignments=[A], out=root / "reports", force=force, stdout=None,
                 stderr=None)


def _gradebook(root: Path):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}", "backproplab")


def _edit_source(root: Path, grade_id: str, **changes) -> None:
    path = root / "solutions" / A / f"{A}.ipynb"
    nb = nbformat.read(path, as_version=4)
    target = cell(nb, grade_id)
    if "source" in changes:
        target.source = changes["source"]
    if "points" in changes:
        target.metadata.nbgrader["points"] = changes["points"]
    nbformat.write(nb, path)


def test_editing_a_test_or_its_points_regrades_and_manual_scores_survive(tmp_path):
    root = make_course(tmp_path)
    export = write_tree(tmp_path / "export", {f"alice/{A}.ipynb": dumps(solution(root))})
    assert (_run(export, root).graded, _run(export, root).graded) == (1, 0)  # unchanged: not graded again

    with _gradebook(root) as gb:  # the instructor gives a manual score in formgrader
        gb.find_grade("test-cube", A, A, "alice").manual_score = 1.5
        gb.db.commit()

    _edit_source(root, "test-square", points=4)
    run = _run(export, root)
    assert run.graded == 1 and run.skipped == 0
    with _gradebook(root) as gb:
        square, cube = gb.find_grade("test-square", A, A, "alice"), gb.find_grade("test-cube", A, A, "alice")
        assert (square.max_score, square.score) == (4.0, 4.0)
        assert (cube.manual_score, cube.auto_score, cube.score) == (1.5, 3.0, 1.5)
        assert gb.find_submission(A, "alice").score == 5.5

    _edit_source(root, "test-cube", source="assert cube(2) == 9  # the instructor's new (wrong) test")
    run = _run(export, root)
    assert run.graded == 1
    with _gradebook(root) as gb:
        cube = gb.find_grade("test-cube", A, A, "alice")
        assert (cube.auto_score, cube.manual_score) == (0.0, 1.5)

    assert _run(export, root, force=True).graded == 1
    with _gradebook(root) as gb:
        assert gb.find_grade("test-cube", A, A, "alice").manual_score == 1.5
    assert _run(export, root).graded == 0


_AUDIT = '''
import json, os, sys

LOG = os.environ.get("BACKPROPLAB_TEST_AUDIT")

def _log(kind, **what):
    with open(LOG, "a") as fh:
        fh.write(json.dumps({"kind": kind, "pid": os.getpid(), "ppid": os.getppid(), **what}) + "\\n")

def _audit(event, args):
    if event == "sqlite3.connect":
        _log("connect", db=str(args[0]))

if LOG:
    _log("start", argv=sys.argv[:2])
    os.register_at_fork(after_in_child=lambda: _log("fork"))  # a worker forked from a preloaded process
    sys.addaudithook(_audit)
'''


def test_only_the_parent_opens_the_gradebook(tmp_path):
    """Every Python process of the run (the command, its workers) logs its start and every SQLite database it
    opens (an audit hook in a ``sitecustomize`` on ``PYTHONPATH``): the gradebook is opened by the command's
    own process only, while the workers graded."""
    root = make_course(tmp_path)
    export = write_tree(tmp_path / "export", {f"{s}/{A}.ipynb": dumps(solution(root)) for s in ("ann", "bob", "cy")})
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(_AUDIT)
    log = tmp_path / "audit.log"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hook), os.environ.get("PYTHONPATH", "")]),
               BACKPROPLAB_TEST_AUDIT=str(log))
    proc = subprocess.Popen([str(Path(sys.executable).with_name("backproplab")), "grade", str(export), "--course",
                             str(root), "--jobs", "2", "--out", str(tmp_path / "reports")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, output
    events = [json.loads(line) for line in log.read_text().splitlines()]
    started = {e["pid"]: e for e in events if e["kind"] == "start"}
    # the workers: forked by multiprocessing's fork server (python -c, started by the command), or each started
    servers = {pid for pid, e in started.items() if e["ppid"] == proc.pid and e["argv"] == ["-c"]}
    workers = {e["pid"] for e in events if e["kind"] == "fork" and e["ppid"] in servers} | {
        pid for pid, e in started.items() if "--multiprocessing-fork" in e["argv"]}
    assert proc.pid in started and len(workers) == 2, events  # the hook ran in the command and its workers
    opened = {e["pid"] for e in events if e["kind"] == "connect" and Path(e["db"]).name == "gradebook.db"}
    assert opened == {proc.pid}, events
