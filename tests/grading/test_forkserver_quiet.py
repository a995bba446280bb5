"""A local worker forked after its grader has gone ends in silence (``backproplab.grading.forkserver_quiet``):
multiprocessing's fork server hands such a failure to ``sys.excepthook``, whose traceback landed on the
grader's terminal after its "interrupted" line (seen in ``test_cluster.py::test_interrupts_at_random_moments``:
``FileNotFoundError`` rebuilding a removed semaphore)."""

from __future__ import annotations

import subprocess
import sys

from backproplab.grading.workerprocs import PRELOAD

HOOK = ("import sys, backproplab.grading.forkserver_quiet\n"
        "for exc in (FileNotFoundError(2, 'No such file or directory'), EOFError(), ValueError('a real failure')):\n"
        "    try:\n"
        "        raise exc\n"
        "    except Exception:\n"
        "        sys.excepthook(*sys.exc_info())\n")


def test_a_fork_whose_grader_has_gone_ends_silently_and_other_failures_are_printed():
    assert PRELOAD[0] == "backproplab.grading.forkserver_quiet"  # imported before any fork
    done = subprocess.run([sys.executable, "-c", HOOK], capture_output=True, text=True, timeout=60)
    assert "ValueError: a real failure" in done.stderr and "Traceback" in done.stderr
    assert "FileNotFoundError" not in done.stderr and "EOFError" not in done.stderr, done.stderr
