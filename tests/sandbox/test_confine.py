"""The pieces of the confinement: seeds, the seccomp filter, uid leases, poisoning, and grading as an
ordinary user (limits only)."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from backproplab.sandbox import derive_seed, load_secret
from backproplab.sandbox.confine import UID_RANGE, UidLease, can_confine
from backproplab.sandbox.seccomp import _ARCHES, program

REPO = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------------------------- seeds
def test_seeds_are_stable_and_private():
    s = derive_seed(b"k" * 32, "alice", "ps1", "ps1")
    assert s == derive_seed(b"k" * 32, "alice", "ps1", "ps1") and 0 <= s < 2**32
    assert len({s, derive_seed(b"k" * 32, "bob", "ps1", "ps1"), derive_seed(b"k" * 32, "alice", "ps2", "ps1"),
                derive_seed(b"j" * 32, "alice", "ps1", "ps1")}) == 4


def test_secret_is_created_once_and_private(tmp_path):
    path = tmp_path / "autograder" / "grading_secret"
    first = load_secret(path)
    assert load_secret(path) == first and len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("short")
    with pytest.raises(ValueError):
        load_secret(path)


# -------------------------------------------------------------------------------------------- seccomp
@pytest.mark.parametrize("arch", sorted(_ARCHES))
@pytest.mark.parametrize("no_fork", [True, False])
def test_filter_jumps_stay_inside(arch, no_fork):
    prog = program(arch, 1234, no_fork)
    for i, (code, jt, jf, _) in enumerate(prog):
        if code in (0x15, 0x35, 0x45):
            assert i + 1 + jt < len(prog) and i + 1 + jf < len(prog)
    assert prog[-3][0] == 0x06  # ends with the three returns


@pytest.mark.skipif(platform.machine() not in _ARCHES, reason="seccomp filter for x86-64 and arm64 only")
def test_filter_in_a_process():
    code = textwrap.dedent("""
        import os, subprocess, threading, json
        from backproplab.sandbox import seccomp
        assert seccomp.install(os.getpid(), no_fork=True)
        out = {}
        t = threading.Thread(target=lambda: out.setdefault("thread", True)); t.start(); t.join()
        for what, fn in [("fork", os.fork), ("subprocess", lambda: subprocess.run(["true"])),
                         ("kill_all", lambda: os.kill(-1, 0)), ("kill_parent", lambda: os.kill(os.getppid(), 0))]:
            try:
                fn(); out[what] = "allowed"
            except OSError as exc:
                out[what] = exc.errno
        os.kill(os.getpid(), 0); out["kill_self"] = "allowed"
        print(json.dumps(out))
    """)
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                    timeout=60).stdout)
    assert out == {"thread": True, "fork": 1, "subprocess": 1, "kill_all": 1, "kill_parent": 1,
                   "kill_self": "allowed"}


# ------------------------------------------------------------------------------------------- poisoning
def test_the_reference_is_poisoned_only_during_the_learners_call(tmp_path, monkeypatch):
    from backproplab import checking
    from backproplab.checks import REGISTRY
    from backproplab.layers import dense_backward as reference
    from backproplab.sandbox import poison

    monkeypatch.setattr(checking.run, "_graded_call_guard", checking.graded_call_guard())  # undone after the test
    poison.install()
    ex = REGISTRY["dense_backward"]
    monkeypatch.setenv(checking.RECORD_DIR_ENV, str(tmp_path))
    result = checking.run_check(ex, lambda dZ, cache: reference(dZ, cache), hidden=False)
    assert not result.passed and "reference implementation" in result.message
    alias = ex.reference
    assert checking.run_check(ex, lambda dZ, cache: tuple(x + 0 for x in alias(dZ, cache))).passed is False
    monkeypatch.delenv(checking.RECORD_DIR_ENV)
    assert checking.run_check(ex, lambda dZ, cache: reference(dZ, cache)).passed  # outside grading: untouched


# ------------------------------------------------------------------------------------------ uid leases
@pytest.mark.skipif(not can_confine(), reason="needs root")
def test_uid_leases_are_distinct(tmp_path):
    with UidLease(tmp_path) as a, UidLease(tmp_path) as b:
        assert a.uid != b.uid and a.uid in UID_RANGE and b.uid in UID_RANGE


# ------------------------------------------------------------------------------------- ordinary users
_UNPRIVILEGED = """
import json, sys
from pathlib import Path
from backproplab.grading import grade
from tests.sandbox.conftest import read_class
if __name__ == "__main__":  # the grading workers are spawned
    root = Path(sys.argv[1])
    grade(root / "export", root=root, jobs=2, assignments=["ps1"], release=False, stdout=None, stderr=None)
    print(json.dumps({k: [g.points, g.run.confinement, g.run.problem, g.run.incidents]
                      for k, g in read_class(root).items()}))
"""


@pytest.fixture
def shared_tmp():
    """A temporary folder an unprivileged user can write (pytest's own is private to root)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="backproplab-unprivileged-"))
    os.chmod(path, 0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _python_for_nobody():
    """(interpreter, extra sys.path) that uid 65534 can run: this one, or the system's with this one's packages
    (when this environment lives in a folder only root can enter)."""
    import site
    import sysconfig

    probe = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/env"]
    for python, paths in ((sys.executable, []), (f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}",
                                                 [sysconfig.get_paths()["purelib"], *site.getsitepackages()])):
        ok = subprocess.run([*probe, f"PYTHONPATH={os.pathsep.join(paths)}", python, "-c",
                             "import ipykernel, numpy, nbclient"], capture_output=True, timeout=60)
        if ok.returncode == 0:
            return python, paths
    return None


def test_grading_as_an_ordinary_user(shared_tmp):
    """Without root, ``backproplab grade`` (in process) on a course the user owns: a user namespace, resource
    limits, timeouts, output caps and seccomp hold; the verdict is the same."""
    from backproplab.grading.course import load_course, register_assignments
    from tests.sandbox.conftest import make_course

    tmp_path = shared_tmp
    names = ["honest", "infinite_loop", "fork_bomb", "print_flood", "kill_everyone", "eq_override"]
    root = make_course(tmp_path / "root", only=names)
    register_assignments(load_course(root), ["ps1"])  # the gradebook (nbgrader needs alembic to create it)
    script = tmp_path / "grade.py"
    script.write_text(_UNPRIVILEGED)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO), "TMPDIR": str(tmp_path),
           "LANG": "C.UTF-8"}
    command = [sys.executable, str(script), str(root)]
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("setpriv is needed to drop root")
        python = _python_for_nobody()
        if python is None:
            pytest.skip("no Python interpreter that user nobody can run with this environment's packages")
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), *python[1]])
        for path in [tmp_path, *tmp_path.rglob("*")]:
            os.lchown(path, 65534, 65534)
        command = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", python[0], str(script), str(root)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert {k: v[0] for k, v in out.items()} == {"honest": 6.0, "infinite_loop": 6.0, "fork_bomb": 6.0,
                                                 "print_flood": 6.0, "kill_everyone": 6.0, "eq_override": 3.0}, out
    assert all("a user namespace of its own" in v[1] and "seccomp: no new processes" in v[1] for v in out.values())


# ---------------------------------------------------------------------------------------- data files
def test_supporting_files_are_copied_but_not_links(tmp_path):
    from nbformat.v4 import new_code_cell, new_notebook

    from backproplab.sandbox import execute_confined
    from tests.sandbox.conftest import TEST_LIMITS

    data = tmp_path / "data"
    (data / "sub").mkdir(parents=True)
    (data / "sub" / "values.csv").write_text("1,2,3\n")
    (data / "secret_link").symlink_to("/etc/hostname")
    (data / "other.ipynb").write_text("{}")
    nb = new_notebook(cells=[new_code_cell("import os\nprint(open('sub/values.csv').read().strip(), "
                                           "sorted(os.listdir('.')))")])
    run = execute_confined(nb, record_dir=tmp_path / "records", seed=1, limits=TEST_LIMITS, files_from=data)
    assert run.nb.cells[0].outputs[0]["text"].strip() == "1,2,3 ['sub']"
    assert any("not copied" in i for i in run.incidents)


def test_grading_kernels_print_plain_tracebacks(tmp_path):
    """Grading kernels format errors as Python does (IPython's "Context" mode costs 85 ms at the first error
    and 16 ms at each one after): the learner's failing line is still shown, without context or colours."""
    from nbformat.v4 import new_code_cell, new_notebook

    from backproplab.sandbox import execute_confined
    from tests.sandbox.conftest import TEST_LIMITS

    nb = new_notebook(cells=[new_code_cell("def f(x):\n    return x / 0"), new_code_cell("y = 1\nf(2)")])
    run = execute_confined(nb, record_dir=tmp_path / "records", seed=1, limits=TEST_LIMITS)
    error = run.nb.cells[1].outputs[0]
    text = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error["traceback"]))
    assert error["ename"] == "ZeroDivisionError" and "Traceback (most recent call last)" in text
    assert "return x / 0" in text and "f(2)" in text
    assert "---->" not in text and "y = 1" not in text  # no context lines around the failing one


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_root_without_mount_namespace_still_switches_user(tmp_path, monkeypatch):
    """Where unshare is not allowed (some containers), root still runs the kernel as a uid of its own."""
    from nbformat.v4 import new_code_cell

    from backproplab.sandbox import execute as execute_module
    from backproplab.sandbox import score_submission
    from tests.sandbox.attacks import TOTAL, source_notebook
    from tests.sandbox.conftest import TEST_LIMITS

    python = _python_for_nobody()
    if python is None:
        pytest.skip("no Python interpreter that other users can run with this environment's packages")
    monkeypatch.setattr(execute_module, "can_confine", lambda: False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), *python[1]]))
    nb = source_notebook()  # the honest answers, the instructor's test cells (as the grading path assembles them)
    nb.cells.insert(3, new_code_cell("import os\nprint('uid', os.getuid())"))
    run = execute_module.execute_confined(nb, record_dir=tmp_path, seed=7, limits=TEST_LIMITS, python=python[0])
    assert "NO mount namespace" in run.confinement and run.problem is None, (run.problem, run.kernel_log)
    uid = int(run.nb.cells[3].outputs[0]["text"].split()[1])
    assert uid in UID_RANGE
    assert sum(s.points for s in score_submission(source_notebook(), run.nb, tmp_path, 7).values()) == TOTAL


# ---------------------------------------------------------------------------------------- CPU budget
def test_a_cpu_budget_stops_computation_not_a_busy_machine(tmp_path):
    """``cell_cpu_seconds`` counts what the kernel computes: a cell that needs 0.6 s of CPU passes under a 1 s
    budget while six busy loops share the machine's cores (its wall time is several times its CPU time); a
    loop is interrupted once it has computed for the budget, and the next cell runs."""
    from nbformat.v4 import new_code_cell, new_notebook

    from backproplab.sandbox import execute_confined
    from tests.sandbox.conftest import TEST_LIMITS

    work = ("import time\nstart = time.process_time()\nwhile time.process_time() - start < 0.6:\n    pass\n"
            "print('done', round(time.process_time() - start, 1))")
    nb = new_notebook(cells=[new_code_cell(work), new_code_cell("while True:\n    pass"),
                             new_code_cell("print('after')")])
    # a session each: with the scheduler's autogroups, busy loops of one session would share one core's worth
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True) for _ in range(6)]
    try:
        run = execute_confined(nb, record_dir=tmp_path / "records", seed=1,
                               limits=TEST_LIMITS.with_(cell_cpu_seconds=1.0, cell_timeout=60))
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert run.problem is None, run.problem
    assert run.nb.cells[0].outputs[0]["text"] == "done 0.6\n"
    assert run.over_cpu == [1] and run.timed_out == []
    assert run.cell_seconds[0] > 1.0, run.cell_seconds  # slower than the budget on the wall clock: not stopped
    assert 1.0 < run.cell_cpu[1] < 2.5 and run.cell_seconds[1] < 30, (run.cell_cpu, run.cell_seconds)
    assert run.nb.cells[1].outputs[-1]["ename"] == "KeyboardInterrupt"
    assert run.nb.cells[2].outputs[0]["text"] == "after\n"
    assert "cell 2 computed for more than 1 s of CPU time and was interrupted" in run.incidents


def test_running_a_kernel_keeps_the_callers_signal_handlers(tmp_path):
    """nbclient adds loop handlers for SIGINT and SIGTERM while a kernel starts and, removing them, leaves
    SIGTERM at its default action: ``backproplab grade``, which runs kernels in its main thread (the solutions'
    budgets), then died of a SIGTERM instead of stopping cleanly (exit -15 in test_cluster's random interrupts)."""
    import signal

    from nbformat.v4 import new_code_cell, new_notebook

    from backproplab.sandbox import execute_confined
    from tests.sandbox.conftest import TEST_LIMITS

    def mine(signum, frame):
        raise AssertionError("not called")

    previous = signal.signal(signal.SIGTERM, mine), signal.signal(signal.SIGINT, mine)
    try:
        run = execute_confined(new_notebook(cells=[new_code_cell("1 + 1")]), record_dir=tmp_path / "records",
                               seed=1, limits=TEST_LIMITS)
        assert run.problem is None, run.problem
        assert signal.getsignal(signal.SIGTERM) is mine and signal.getsignal(signal.SIGINT) is mine
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
