"""Grading past one machine, against real servers: a Dask scheduler with worker processes of their own (one
killed mid-run; or none of them able to see the course folder) and a PostgreSQL gradebook shared by two
instructors grading at the same time; and runs interrupted at random moments while kernels loop."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import nbformat

from backproplab.grading import parallel
from tests.grading.classbuilder import (
    FIXTURE,
    blank,
    cell,
    dumps,
    make_course,
    partial,
    real_assignments,
    solution,
    write_tree,
)
from tests.grading.servers import DaskCluster, postgres
from tests.grading.test_cli import _session_processes
from tests.grading.test_grade import read_csv

TWIN = "98_twin"
SCRIPT = os.path.join(os.path.dirname(sys.executable), "backproplab")
EXPECTED = {"ann": 5.0, "ben": 2.0, "cat": 0.0, "dan": 5.0}


def _course_with_twin(folder):
    """The fixture course plus ``98_twin`` (the same notebook under another assignment's name)."""
    from backproplab.release import release

    root = make_course(folder)
    (root / "solutions" / TWIN).mkdir()
    shutil.copy(root / "solutions" / FIXTURE / f"{FIXTURE}.ipynb", root / "solutions" / TWIN / f"{TWIN}.ipynb")
    release([TWIN], source=root / "solutions", dest=root / "course",
            config_file=root / "autograder" / "nbgrader_config.py")
    return root


def _slow(nb, seconds: float):
    """``nb`` whose first answer cell also sleeps: the kernel is busy long enough to lose its worker."""
    nb = nbformat.from_dict(nb)
    cell(nb, "ex-square").source += f"\nimport time\ntime.sleep({seconds})"
    return nb


def _export(root, folder, assignment, slow=0.0):
    nbs = {"ann": solution(root), "ben": partial(root, FIXTURE, ["ex-cube"]), "cat": blank(root),
           "dan": solution(root)}
    return write_tree(folder, {f"{s}/{assignment}.ipynb": dumps(_slow(nb, slow) if slow else nb)
                               for s, nb in nbs.items()})


def _grade(*argv):
    return subprocess.run([SCRIPT, "grade", *map(str, argv)], capture_output=True, text=True, timeout=600)


def _scores(out, assignment):
    return {r["student_id"]: float(r["score"]) for r in read_csv(out / "grades.csv") if r["assignment"] == assignment}


def test_dask_cluster_with_a_lost_worker_and_two_instructors_on_one_postgresql_gradebook(tmp_path):
    with postgres() as database:
        db = database("gradebook")
        a, b = _course_with_twin(tmp_path / "a"), _course_with_twin(tmp_path / "b")
        cluster = DaskCluster(tmp_path / "dask", workers=2)
        try:
            with cluster.client() as watcher:
                killed = []

                def kill_a_busy_worker():
                    deadline = time.monotonic() + 300
                    while not killed and time.monotonic() < deadline:
                        busy = cluster.busy_worker(watcher)
                        if busy:
                            time.sleep(1.0)  # its kernel is running the submission
                            killed.append(cluster.kill(busy, watcher))
                        time.sleep(0.2)

                killer = threading.Thread(target=kill_a_busy_worker)
                killer.start()
                results = {}
                # instructor A on the cluster, instructor B on her own machine, at the same time, one gradebook
                other = threading.Thread(target=lambda: results.setdefault("b", _grade(
                    _export(b, tmp_path / "export-b", TWIN), "--course", b, "--jobs", 1, "--out", tmp_path / "out-b",
                    "--no-release", "--db", db, "-a", TWIN)))
                other.start()
                results["a"] = _grade(_export(a, tmp_path / "export-a", FIXTURE, slow=3), "--course", a,
                                      "--cluster", cluster.address, "--out", tmp_path / "out-a", "--no-release",
                                      "--db", db, "-a", FIXTURE)
                other.join(600)
                killer.join(10)
            assert killed, "no worker was busy long enough to be killed"
            for who in "ab":
                assert results[who].returncode == 0, results[who].stdout + results[who].stderr
            assert _scores(tmp_path / "out-a", FIXTURE) == EXPECTED  # the lost worker's task ran elsewhere
            assert _scores(tmp_path / "out-b", TWIN) == EXPECTED
            assert not (a / "autograder" / "gradebook.db").exists()  # everything went to PostgreSQL
        finally:
            cluster.close()

        # plain nbgrader on the same gradebook: export sees both instructors' grades, each submission once
        (a / "autograder" / "nbgrader_config.py").open("a").write(f"\nc.CourseDirectory.db_url = {db!r}\n")
        nbgrader = os.path.join(os.path.dirname(sys.executable), "nbgrader")
        done = subprocess.run([nbgrader, "export", "--to", str(tmp_path / "export.csv")], cwd=a / "autograder",
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        rows = read_csv(tmp_path / "export.csv")
        assert sorted((r["assignment"], r["student_id"]) for r in rows) == sorted(
            (x, s) for x in (FIXTURE, TWIN) for s in EXPECTED)
        assert {(r["assignment"], r["student_id"]): float(r["score"]) for r in rows} == {
            (x, s): v for x in (FIXTURE, TWIN) for s, v in EXPECTED.items()}

        # a manual score (what formgrader writes) survives a forced re-grade; resuming grades nothing again
        from nbgrader.api import Gradebook

        with Gradebook(db, "backproplab") as gb:
            grade = gb.find_grade("test-cube", FIXTURE, FIXTURE, "ben")
            grade.manual_score = 1.0
            gb.db.commit()
        again = _grade(tmp_path / "export-a", "--course", a, "--jobs", 1, "--out", tmp_path / "out-a2",
                       "--no-release", "-a", FIXTURE)  # the db_url of the course configuration, now
        assert again.returncode == 0 and "grading 0 submission" in again.stderr, again.stderr
        again = _grade(tmp_path / "export-a", "--course", a, "--jobs", 1, "--out", tmp_path / "out-a3",
                       "--no-release", "-a", FIXTURE, "--force")
        assert again.returncode == 0, again.stderr
        assert _scores(tmp_path / "out-a3", FIXTURE) == {**EXPECTED, "ben": 3.0}


def test_interrupts_at_random_moments_end_the_run_within_the_bound(tmp_path):
    """SIGTERM or Ctrl-C at random moments while both workers' kernels loop: the run ends within
    ``parallel.STOP_GRACE + parallel.CLOSE_TIMEOUT`` (+ slack for this loaded machine), says how to resume,
    and leaves no process behind."""
    root = make_course(tmp_path)
    (root / "autograder" / "nbgrader_config.py").open("a").write("\nc.Execute.timeout = 30\n")
    looping = solution(root)
    cell(looping, "ex-square").source += "\nwhile True:\n    pass"
    export = write_tree(tmp_path / "export", {f"s{k}/{FIXTURE}.ipynb": dumps(looping) for k in range(6)})
    bound = parallel.STOP_GRACE + parallel.CLOSE_TIMEOUT + 15
    rng = random.Random(os.getpid())
    taken = socket.socket()  # Dask's default HTTP port, as another cluster on the machine would hold it
    with contextlib.suppress(OSError):
        taken.bind(("", 8787))
        taken.listen()
    for attempt in range(5):
        proc = subprocess.Popen([SCRIPT, "grade", export, "--course", root, "--jobs", "2", "--no-release",
                                 "--out", tmp_path / f"out{attempt}"], stderr=subprocess.PIPE, text=True,
                                start_new_session=True, env={**os.environ, "PYTHONFAULTHANDLER": "1"})
        for line in proc.stderr:  # the run has planned its tasks; the workers start and grade from here
            if line.startswith("grading "):
                break
        time.sleep(rng.uniform(0.0, 4.0))
        sig = rng.choice([signal.SIGTERM, signal.SIGINT])
        sent = time.monotonic()
        proc.send_signal(sig)
        try:
            rest = proc.communicate(timeout=120)[1]
        except subprocess.TimeoutExpired:  # show where it hangs: faulthandler dumps every thread on SIGABRT
            proc.send_signal(signal.SIGABRT)
            raise AssertionError(f"attempt {attempt} ({sig.name}): still running 120 s after the signal\n"
                                 + proc.communicate(timeout=60)[1][-8000:]) from None
        took = time.monotonic() - sent
        # the coordinator's own handler, every time (nbclient once left SIGTERM at its default action: exit -15),
        # and nothing after its one line (no traceback of a half-started cluster)
        assert proc.returncode == 130, f"attempt {attempt} ({sig.name}): exit {proc.returncode}\n{rest}"
        assert rest.rstrip().splitlines()[-1].startswith("interrupted: everything graded so far"), rest
        assert "Traceback" not in rest and "already in use" not in rest, rest
        assert took <= bound, f"attempt {attempt} ({sig.name}): the run took {took:.1f} s to stop (bound {bound} s)"
        deadline = time.monotonic() + 10
        while _session_processes(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _session_processes(proc.pid) == [], f"attempt {attempt}: processes outlived the run"
    taken.close()


def _verdicts(root, students, assignments):
    """Every graded cell's trusted verdict (points and message) of the last run, from its resume state."""
    from backproplab.grading.state import State

    state = State(root / "autograder" / "autograded" / ".backproplab" / "state.json")
    return {(s, a, name, gid): (v.points, v.message) for s in students for a in assignments
            for name, nb in state.results(s, a).items() for gid, v in nb.verdicts.items()}


def _page_diff(before: dict, after: dict) -> str:
    """The lines that differ, page by page (a page is a few hundred kB of HTML)."""
    import difflib

    def diff(path) -> str:
        lines = difflib.unified_diff(before.get(path, "").splitlines(), after.get(path, "").splitlines(), "cluster",
                                     "local", n=1, lineterm="")
        return f"{path}:\n" + "\n".join(list(lines)[:40])

    return "\n".join(diff(p) for p in sorted(set(before) | set(after)) if before.get(p) != after.get(p))


def test_workers_that_cannot_see_the_course_grade_what_this_machine_grades(tmp_path):
    """Workers share no file system with the coordinator (issue 17): each ``dask worker`` runs in a mount
    namespace where the whole test folder (course, gradebook, grading secret, export, reports) is an empty
    tmpfs. A class of a course notebook (judged outside the kernel from its source notebook and the seed) and
    of the fixture (whose answers read a supporting file of the release) gets on that cluster exactly the
    grades, verdicts and feedback of a run on this machine's local cluster."""
    real = real_assignments()[0]
    root = make_course(tmp_path / "course", real=[real])
    (root / "solutions" / FIXTURE / "factor.txt").write_text("1\n")  # a supporting file the answers read
    fixture = {"ann": solution(root), "ben": partial(root, FIXTURE, ["ex-cube"]), "cat": blank(root)}
    for nb in (fixture["ann"], fixture["ben"]):
        cell(nb, "ex-square").source = "def square(x):\n    return x * x * int(open('factor.txt').read())"
    course_nbs = {"ann": solution(root, real), "ben": blank(root, real), "cat": solution(root, real)}
    export = write_tree(tmp_path / "export", {
        **{f"{s}/{FIXTURE}.ipynb": dumps(nb) for s, nb in fixture.items()},
        **{f"{s}/{real}.ipynb": dumps(nb) for s, nb in course_nbs.items()}})
    students, assignments = sorted(fixture), [FIXTURE, real]
    cluster = DaskCluster(tmp_path / "dask", workers=2, hide=[tmp_path])
    try:
        with cluster.client() as watcher:  # the workers really cannot see the course
            assert set(watcher.run(os.path.exists, str(root / "autograder" / "nbgrader_config.py")).values()) \
                == {False}
            assert os.path.exists(root / "autograder" / "nbgrader_config.py")
        remote = _grade(export, "--course", root, "--cluster", cluster.address, "--out", tmp_path / "out-cluster",
                        "--no-release", "-a", FIXTURE, "-a", real)
    finally:
        cluster.close()
    assert remote.returncode == 0, remote.stdout + remote.stderr
    on_cluster = _verdicts(root, students, assignments)
    pages = {p.relative_to(root): p.read_text() for p in (root / "autograder" / "feedback").rglob("*.html")}
    autograded = sorted(p.relative_to(root) for p in (root / "autograder" / "autograded").rglob("*.ipynb"))
    assert (root / "autograder" / "autograded" / "ann" / FIXTURE / "factor.txt").is_file()

    local = _grade(export, "--course", root, "--jobs", 2, "--out", tmp_path / "out-local", "--no-release",
                   "-a", FIXTURE, "-a", real, "--force")
    assert local.returncode == 0, local.stdout + local.stderr
    full = sum(read_assignment_points(root, real))
    for out in ("out-cluster", "out-local"):
        assert _scores(tmp_path / out, FIXTURE) == {"ann": 5.0, "ben": 2.0, "cat": 0.0}
        assert _scores(tmp_path / out, real) == {"ann": full, "ben": 0.0, "cat": full}
    assert read_csv(tmp_path / "out-cluster" / "exercises.csv") == read_csv(tmp_path / "out-local" / "exercises.csv")
    assert on_cluster == _verdicts(root, students, assignments)
    assert any(gid for (_, a, _, gid) in on_cluster if a == real)  # the course notebook was judged outside
    assert len(pages) == len(students) * len(assignments) and len(autograded) == len(pages)
    again = {p.relative_to(root): p.read_text() for p in (root / "autograder" / "feedback").rglob("*.html")}
    assert pages == again, _page_diff(pages, again)


def read_assignment_points(root, name):
    """The points of every graded cell of the source notebook ``name``."""
    nb = solution(root, name)
    return [c.metadata["nbgrader"]["points"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") and c.metadata["nbgrader"].get("points")]
