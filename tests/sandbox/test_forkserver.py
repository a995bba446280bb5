"""The kernel template (:mod:`backproplab.sandbox.forkserver`): every kernel is a new process forked from one
template, nothing of one run reaches the next, a child that cannot confine itself never becomes a kernel, and
the template's kernels end with it. (What a forked kernel can reach, in both modes: ``test_confine_modes``.)"""

from __future__ import annotations

import os
import sys
import threading
import time

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from backproplab.sandbox import execute_confined, forked
from backproplab.sandbox.confine import template_env
from backproplab.sandbox.processes import children_of
from tests.sandbox.conftest import TEST_LIMITS

FIRST = '''
import os, sys, numpy, backproplab.checking as checking
numpy.LEAK = checking.LEAK = "from the first submission"
sys.modules["planted"] = sys
with open(os.path.join(os.environ["TMPDIR"], "left.txt"), "w") as fh:
    fh.write("x")
print("RUN", os.getpid(), os.getppid(), sorted(os.listdir(os.environ["TMPDIR"])))
'''
SECOND = '''
import os, sys, numpy, backproplab.checking as checking
print("RUN", os.getpid(), os.getppid(), sorted(os.listdir(os.environ["TMPDIR"])),
      hasattr(numpy, "LEAK"), hasattr(checking, "LEAK"), "planted" in sys.modules)
'''


def _printed(run) -> list[str]:
    text = "".join(o.get("text", "") for c in run.nb.cells for o in c.get("outputs", []))
    return next(line for line in text.splitlines() if line.startswith("RUN")).split(" ", 3)[1:]


def _template() -> forked.Template:
    return forked.template(sys.executable, template_env(sys.executable))


def test_each_kernel_is_a_new_process_of_one_template_and_nothing_passes_between_runs(tmp_path):
    first = execute_confined(new_notebook(cells=[new_code_cell(FIRST)]), record_dir=tmp_path / "r1", seed=1,
                             limits=TEST_LIMITS)
    second = execute_confined(new_notebook(cells=[new_code_cell(SECOND)]), record_dir=tmp_path / "r2", seed=2,
                              limits=TEST_LIMITS)
    assert first.problem is None and second.problem is None, (first.kernel_log, second.kernel_log)
    assert first.confinement.startswith("kernel forked from a template")
    pid1, parent1, rest1 = _printed(first)
    pid2, parent2, rest2 = _printed(second)
    assert pid1 != pid2 and parent1 == parent2 and int(parent1) in [t.process.pid for t in forked.templates()]
    assert rest1 == "['left.txt']"
    assert rest2 == "[] False False False", rest2  # no file, no module attribute, no module of the first run


def test_a_child_that_cannot_confine_itself_never_becomes_a_kernel(tmp_path):
    log = tmp_path / "kernel.log"
    log.write_bytes(b"")
    missing = tmp_path / "no-such-cgroup" / "cgroup.procs"
    kernel = _template().spawn({"mode": "root" if os.geteuid() == 0 else "userns", "uid": None,
                                "plan": {"cgroups": [str(missing)], "cwd": str(tmp_path)}, "cwd": str(tmp_path),
                                "limits": {}, "env": {}, "log": str(log), "argv": ["-f", str(tmp_path / "k.json")]})
    assert kernel.wait(30) == 97
    assert "backproplab sandbox: FileNotFoundError" in log.read_text() and str(missing) in log.read_text()
    assert not (tmp_path / "k.json").exists()


def test_a_request_of_a_run_that_is_gone_ends_silently(tmp_path, capfd):
    """An interrupted run removes its folder while the template may still fork its last request: that child
    exits without a word on the template's stderr, which is the grader's (the run's last line there is its own
    "interrupted: ..."; once it was "backproplab sandbox: FileNotFoundError: .../kernel.log")."""
    template = forked.Template(sys.executable, template_env(sys.executable))
    try:
        gone = tmp_path / "backproplab-run-gone"
        kernel = template.spawn({"mode": "root" if os.geteuid() == 0 else "userns", "uid": None, "plan": None,
                                 "cwd": str(tmp_path), "limits": {}, "env": {}, "log": str(gone / "kernel.log"),
                                 "argv": ["-f", str(gone / "k.json")]})
        assert kernel.wait(30) == 97
    finally:
        template.close()
    assert "backproplab sandbox" not in capfd.readouterr().err


def _children(pid: int) -> list[int]:
    return children_of().get(pid, [])


def test_the_template_takes_its_kernels_with_it_and_the_next_run_gets_a_new_one(tmp_path):
    runs = []
    sleeper = new_notebook(cells=[new_code_cell("import time\ntime.sleep(60)")])
    worker = threading.Thread(target=lambda: runs.append(execute_confined(
        sleeper, record_dir=tmp_path / "r", seed=1, limits=TEST_LIMITS.with_(cell_timeout=120))))
    worker.start()
    deadline = time.monotonic() + 60
    while not (kernels := [k for t in forked.templates() for k in _children(t.process.pid)]):
        assert time.monotonic() < deadline, "no kernel was forked"
        time.sleep(0.1)
    before = {t.process.pid for t in forked.templates()}
    time.sleep(1)
    started = time.monotonic()
    forked.close_all()
    worker.join(60)
    assert not worker.is_alive() and time.monotonic() - started < 30
    assert "the kernel died" in (runs[0].problem or ""), runs[0].problem
    while any(os.path.exists(f"/proc/{pid}") for pid in kernels) and time.monotonic() - started < 30:
        time.sleep(0.1)  # killed; reaped by init once the template is gone
    assert not any(os.path.exists(f"/proc/{pid}") for pid in kernels)
    again = execute_confined(new_notebook(cells=[new_code_cell("print(6 * 7)")]), record_dir=tmp_path / "r2",
                             seed=1, limits=TEST_LIMITS)
    assert again.problem is None and again.nb.cells[0].outputs[0]["text"] == "42\n"
    assert forked.templates() and not before & {t.process.pid for t in forked.templates()}


HEADLESS = """
import sys
from backproplab import plots, widgets
print("RUN", plots.loss_curves.__doc__.startswith("Stand-in"), widgets.loss_explorer.__doc__.startswith("Stand-in"),
      "matplotlib" in sys.modules, "ipywidgets" in sys.modules)
"""


@pytest.mark.parametrize("draw", ["0", "1"])
@pytest.mark.parametrize("launch", ["1", "0"], ids=["template", "exec"])
def test_a_grading_kernel_draws_only_when_asked_however_it_is_started(tmp_path, monkeypatch, launch, draw):
    """The template imports the figures' modules with the kernel's NBGRADER_EXECUTION and BACKPROPLAB_DRAW, so a
    forked kernel is headless exactly when a kernel started as a new interpreter is (backproplab.headless)."""
    monkeypatch.setenv(forked.SWITCH_ENV, launch)
    run = execute_confined(new_notebook(cells=[new_code_cell(HEADLESS)]), record_dir=tmp_path / "r", seed=1,
                           limits=TEST_LIMITS, env={"BACKPROPLAB_DRAW": draw})
    assert run.problem is None, run.kernel_log
    assert run.confinement.startswith("kernel forked") == (launch == "1")
    headless = "True" if draw == "0" else "False"
    drawing = "False" if draw == "0" else "True"
    assert _printed(run) == [headless, headless, f"{drawing} {drawing}"], _printed(run)
