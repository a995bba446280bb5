"""What a graded notebook costs beyond the learner's code (issue 20, docs/scale.md): a kernel forked from the
template imports nothing at start-up that the template has not imported already, and never loads ipykernel's
debugger (debugpy), in either way of starting a kernel; a local worker imports nothing heavy at its first task
that its fork server has not; a run under the seccomp filter scans /proc once its kernel has gone, and a uid
released clean is not searched again for leftovers."""

from __future__ import annotations

import json
import subprocess
import sys

from nbformat.v4 import new_code_cell, new_notebook

from backproplab.sandbox import execute_confined
from backproplab.sandbox.confine import template_env
from tests.sandbox.conftest import TEST_LIMITS

#: The environment a grading kernel's imports depend on (steps.KERNEL_ENV), as the template gets it.
IMPORTS = {"NBGRADER_EXECUTION": "autograde", "BACKPROPLAB_DRAW": "0"}
MODULES = "import sys, json\nprint('MODULES', json.dumps(sorted(sys.modules)))\n"
DEBUGGER = "import sys\nprint('DEBUGPY', sys.modules.get('debugpy', 'absent'))\n"


def _printed(run, tag: str) -> str:
    text = "".join(o.get("text", "") for c in run.nb.cells for o in c.get("outputs", []))
    return next(line for line in text.splitlines() if line.startswith(tag)).split(" ", 1)[1]


def _template_modules() -> set[str]:
    """The modules of a kernel template once it has preloaded (a process started as the template is; ``runpy``:
    it is started with ``-m``)."""
    code = ("import sys, json, runpy\nfrom backproplab.sandbox import forkserver\nforkserver.preload()\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-P", "-c", code], env={**template_env(sys.executable), **IMPORTS},
                         capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_a_forked_kernel_imports_nothing_the_template_has_not(tmp_path):
    nb = new_notebook(cells=[new_code_cell("x = 1\nx"), new_code_cell("print('a cell that prints')"),
                             new_code_cell(MODULES)])
    run = execute_confined(nb, record_dir=tmp_path / "records", seed=1, env=IMPORTS, limits=TEST_LIMITS)
    assert run.problem is None and run.confinement.startswith("kernel forked from a template"), run.kernel_log
    imported = set(json.loads(_printed(run, "MODULES"))) - _template_modules()
    # __main__ and the kernel's compiled cells aside, a kernel's start-up and first cells import nothing new
    assert sorted(m for m in imported if not m.startswith("__")) == []


def test_no_kernel_loads_the_debugger(tmp_path, monkeypatch):
    nb = new_notebook(cells=[new_code_cell(DEBUGGER)])
    for template in ("1", "0"):  # forked from the template, and a new interpreter
        monkeypatch.setenv("BACKPROPLAB_KERNEL_TEMPLATE", template)
        run = execute_confined(nb, record_dir=tmp_path / template, seed=1, env=IMPORTS, limits=TEST_LIMITS)
        assert run.problem is None, run.kernel_log
        assert _printed(run, "DEBUGPY") == "None"  # never imported: an import of it fails


WORKER = '''
import importlib, json, pickle, sys
from backproplab.grading.workerprocs import PRELOAD
for name in PRELOAD:
    importlib.import_module(name)
before = set(sys.modules)
from backproplab.grading import feedback, steps, worker
from backproplab.grading.protocol import CellGrade, FeedbackNotebook, FeedbackTask
task, source = pickle.load(open(sys.argv[1], "rb"))
worker.init_worker(task.config)
result = steps.grade_notebook(task)
cells = {gid: CellGrade(score, task.release.grade_cells[gid]) for gid, score in result.grades.items()}
page = FeedbackTask(task.student, task.assignment, sys.argv[2], {task.name: FeedbackNotebook(
    result.autograded, result.notes, cells, sum(result.grades.values()), 6.0, 0.0)})
feedback.render_feedback(page, feedback.make_exporter(source))
print(json.dumps([sum(result.grades.values()), sorted(set(sys.modules) - before)]))
'''


def test_a_local_worker_imports_at_its_first_task_nothing_heavy_its_fork_server_has_not(tmp_path):
    """A local cluster's workers are forked from a process that has imported :data:`.workerprocs.PRELOAD`: what a
    worker still imports when it grades its first notebook and renders its page is paid once per worker, each run
    (issue 20: the checks, IPython, the page's sanitizer were)."""
    import pickle
    from types import SimpleNamespace

    from nbgrader.coursedir import CourseDirectory

    task = _steps_task(tmp_path)  # the submission of tests/grading/test_steps.py
    source = SimpleNamespace(coursedir=CourseDirectory(root=str(tmp_path)), config=task.config)
    with open(tmp_path / "task.pickle", "wb") as fh:
        pickle.dump((task, source), fh)
    out = subprocess.run([sys.executable, "-c", WORKER, str(tmp_path / "task.pickle"), str(tmp_path / "pages")],
                         capture_output=True, text=True, check=True, cwd=str(tmp_path))
    score, imported = json.loads(out.stdout.strip().splitlines()[-1])
    assert score == 3.0 and (tmp_path / "pages" / "ps1.html").is_file()
    heavy = ("backproplab", "IPython", "ipykernel", "numpy", "bleach", "mistune", "nbconvert", "nbgrader",
             "jupyter_client", "nbclient", "nbformat", "distributed")
    assert " ".join(m for m in imported if m.split(".")[0] in heavy) == ""


def _steps_task(tmp_path):
    import nbformat

    from backproplab.grading.course import load_course, read_assignment_info, register_assignments
    from backproplab.grading.protocol import NotebookTask
    from tests.sandbox.attacks import BY_NAME
    from tests.sandbox.conftest import make_course

    root = make_course(tmp_path / "root", only=[])
    course = load_course(root)
    register_assignments(course, ["ps1"])
    with course.gradebook() as gb:
        release = read_assignment_info(course, gb, "ps1").notebooks["ps1"]
    nbformat.write(BY_NAME["one_wrong"].submission(), tmp_path / "ps1.ipynb")
    (tmp_path / "autograded").mkdir()
    return NotebookTask(name="ps1", student="walker", assignment="ps1", release=release,
                        submission=tmp_path / "ps1.ipynb", source=root / "solutions" / "ps1" / "ps1.ipynb",
                        dest=tmp_path / "autograded", seed=2024, limits=TEST_LIMITS, config=course.config)


def test_a_run_under_seccomp_scans_proc_once_after_the_kernel_and_still_kills_what_is_left(tmp_path,
                                                                                          monkeypatch):
    """A scan of /proc reads two files per process of the machine: under the seccomp filter (no new process) a
    run scans after its kernel has gone, not also after every cell or with its kernel alive (issue 20); as root,
    the lease of a uid scans once more for the leftovers of a grader that crashed."""
    from backproplab.sandbox import processes
    from backproplab.sandbox.confine import running_as_root

    scans = []
    real = processes.find_processes
    monkeypatch.setattr(processes, "find_processes", lambda **kw: scans.append(kw) or real(**kw))
    nb = new_notebook(cells=[new_code_cell(f"x{i} = {i}") for i in range(5)])
    for attempt in range(2):
        scans.clear()
        run = execute_confined(nb, record_dir=tmp_path / f"records{attempt}", seed=1, env=IMPORTS,
                               limits=TEST_LIMITS)
        assert run.problem is None and "seccomp: no new processes" in run.confinement, run.confinement
        # as root, the first run may lease a uid nobody released clean yet (one more scan); the next reuses it
        assert len(scans) <= (2 if running_as_root() and attempt == 0 else 1), scans


def test_a_uid_is_searched_for_leftovers_unless_its_last_holder_released_it_clean(tmp_path, monkeypatch):
    from backproplab.sandbox import confine

    scanned = []
    monkeypatch.setattr(confine, "kill_user", lambda uid: scanned.append(uid) or 0)
    monkeypatch.setattr(confine.UidLease, "_recent", {})
    with confine.UidLease(tmp_path) as lease:
        first = lease.uid
        lease.released_clean()  # the run killed everything of the uid
    assert scanned == [first]  # a uid never released clean: searched
    with confine.UidLease(tmp_path) as lease:
        assert lease.uid == first  # the uid this process released clean, first
    assert scanned == [first]  # released clean: not searched; this holder did not say so (a crash) ...
    with confine.UidLease(tmp_path) as lease:
        assert lease.uid == first
    assert scanned == [first, first]  # ... so the next one searches
