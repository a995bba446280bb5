"""The coordinator records results in the gradebook a batch at a time (pipeline.FLUSH_EVERY / FLUSH_SECONDS):
a run killed outright between two flushes has lost nothing it claimed to have written (every submission its
resume journal holds is in the gradebook with its grades) and the next run grades only the rest."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap

from backproplab.grading.state import State
from tests.grading.classbuilder import FIXTURE, blank, dumps, make_course, partial, solution, write_tree
from tests.grading.test_grade import read_csv, run_grade

A = FIXTURE
EXPECTED = {"ann": 5.0, "ben": 2.0, "cat": 0.0, "dan": 5.0, "eve": 2.0}

#: Runs `backproplab grade` recording two results per transaction, and SIGKILLs itself when the third result
#: has arrived: two results flushed, one written to autograded/ but not yet recorded, two still grading.
KILLED_RUN = textwrap.dedent("""
    import os, signal, sys
    from backproplab.grading import pipeline
    from backproplab.grading.cli import main

    pipeline.FLUSH_EVERY, pipeline.FLUSH_SECONDS, pipeline.FLUSH_WHEN_IDLE = 2, 1e9, False
    arrived = []
    real = pipeline._Run.on_graded

    def on_graded(self, gb, result):
        out = real(self, gb, result)
        arrived.append(result.student)
        if len(arrived) == 3:
            print("ARRIVED", " ".join(arrived), flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    pipeline._Run.on_graded = on_graded
    sys.exit(main(sys.argv[1:]))
""")


def test_a_run_killed_between_flushes_loses_nothing_it_wrote_and_regrades_the_rest(tmp_path):
    root = make_course(tmp_path)
    export = write_tree(tmp_path / "export", {
        f"ann/{A}.ipynb": dumps(solution(root)),
        f"ben/{A}.ipynb": dumps(partial(root, A, ["ex-cube"])),
        f"cat/{A}.ipynb": dumps(blank(root)),
        f"dan/{A}.ipynb": dumps(solution(root)),
        f"eve/{A}.ipynb": dumps(partial(root, A, ["ex-cube"])),
    })
    out = tmp_path / "reports"
    args = [str(a) for a in (export, "--course", root, "--jobs", 2, "--out", out, "--no-release")]
    child = subprocess.Popen([sys.executable, "-c", KILLED_RUN, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True,
                             env={**os.environ, "PYTHONPATH": os.getcwd()})
    try:
        text, _ = child.communicate(timeout=600)
    finally:
        with contextlib.suppress(ProcessLookupError):  # its workers, left without their coordinator
            os.killpg(child.pid, signal.SIGKILL)
    assert child.returncode == -signal.SIGKILL, text
    arrived = next(line for line in text.splitlines() if line.startswith("ARRIVED")).split()[1:]
    assert len(arrived) == 3

    # what the killed run claimed (its journal, never folded into state.json) is exactly what it flushed
    state = State(root / "autograder/autograded/.backproplab/state.json")
    assert state.journal.exists()
    claimed = sorted(key.split("/")[0] for key in state.entries)
    assert claimed == sorted(arrived[:2])
    from backproplab.grading import gradebook
    from backproplab.grading.course import load_course

    course = load_course(root)
    gb = course.gradebook()
    try:
        in_gradebook = sorted(s for s in EXPECTED if gradebook.has_submission(gb, s, A))
        assert in_gradebook == claimed  # nothing claimed is missing, nothing half-written is there
        for student in claimed:
            assert gb.find_submission(A, student).score == EXPECTED[student]
    finally:
        gb.close()

    rc, text = run_grade(*args)
    assert rc == 0, text
    assert "grading 3 submission(s) on 2 worker(s); 2 unchanged since they were graded" in text
    assert {r["student_id"]: float(r["score"]) for r in read_csv(out / "grades.csv")} == EXPECTED
    assert not state.journal.exists()  # folded into state.json at the end of the run
