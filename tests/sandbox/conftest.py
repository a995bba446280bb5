"""The hostile class: every attack of tests/sandbox/attacks.py and three honest students, graded together by
ONE ``backproplab grade`` run, the instructor's command, into a real nbgrader gradebook.

The course is a temporary copy (the checkout's ``autograder/nbgrader_config.py`` with small sandbox limits,
``solutions/ps1/ps1.ipynb`` with the hidden tests, ``course/`` released from it); the class is an LMS-style
export folder (``export/<student>/ps1.ipynb``). ``fork_bounded`` submits to ``ps1forks``, the same notebook
whose source allows new processes (``metadata.backproplab.limits``). What the tests read afterwards is what
the command left: the gradebook, the resume state's results (verdicts, how each kernel ran), the autograded
notebooks and the feedback pages. The course's sources, release, export and configuration are fingerprinted
before and after.

The class is graded once per mode of :data:`MODES` (:mod:`tests.sandbox.users`): ``"root"`` runs the command
as root, ``"user"`` as an ordinary user the tests create (``bpl-instructor``), on a course copy in that user's
home folder that the user owns: the same assertions hold for both.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from backproplab.sandbox import Limits
from tests.sandbox.attacks import ATTACKS, BY_NAME, source_notebook
from tests.sandbox.users import MODES, account, give, run_as, workspace

HONEST = ["honest_1", "honest_2", "honest_3"]
JOBS = 6
#: The OS users the class is graded as (one ``backproplab grade`` run each): :data:`tests.sandbox.users.MODES`.
__all__ = ["MODES"]
#: The kernel limits of the test course (``c.SandboxLimits``): small, so that runaway attacks end quickly.
SANDBOX_LIMITS = {"cpu_seconds": 20, "memory_bytes": 2 * 2**30, "max_processes": 64, "file_bytes": 16 * 2**20,
                  "scratch_bytes": 64 * 2**20, "cell_timeout": 3, "total_timeout": 60, "startup_timeout": 60,
                  "output_bytes_per_cell": 64 * 2**10, "output_bytes_total": 256 * 2**10,
                  "message_bytes": 4 * 2**20}
REPO = Path(__file__).resolve().parents[2]
#: The same as :class:`~backproplab.sandbox.Limits`, for tests that run a kernel directly.
TEST_LIMITS = Limits(**SANDBOX_LIMITS)


def students() -> dict[str, object]:
    """student id -> Attack (the honest students submit the honest answers)."""
    out = {a.name: a for a in ATTACKS}
    out.update({name: BY_NAME["honest"] for name in HONEST})
    return out


def assignment_of(attack) -> str:
    """``ps1forks`` for an attack that needs other limits (its source notebook carries them), else ``ps1``."""
    return "ps1forks" if attack.limits else "ps1"


def fingerprint(*roots: Path) -> dict[str, str]:
    found = {}
    for root in roots:
        if root.is_file():
            found[str(root)] = hashlib.sha256(root.read_bytes()).hexdigest()
            continue
        for path in sorted(root.rglob("*")) if root.exists() else ():
            if path.is_file() and not path.is_symlink():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def make_course(root: Path, only: list[str] | None = None) -> Path:
    """A course root: the checkout's nbgrader configuration with :data:`SANDBOX_LIMITS`, the two sources,
    their release, and the export of the whole class (or of the students ``only``) in ``root/export``."""
    from backproplab.release import release

    (root / "autograder").mkdir(parents=True)
    config = (REPO / "autograder" / "nbgrader_config.py").read_text()
    config += "".join(f"\nc.SandboxLimits.{k} = {v!r}" for k, v in SANDBOX_LIMITS.items()) + "\n"
    (root / "autograder" / "nbgrader_config.py").write_text(config)
    limits = {a.name: a.limits for a in ATTACKS if a.limits}
    assert len({str(v) for v in limits.values()}) <= 1, f"one ps1forks assignment fits one set of limits: {limits}"
    for assignment in ("ps1", "ps1forks"):
        nb = source_notebook()
        if assignment == "ps1forks":
            nb.metadata["backproplab"] = {"limits": next(iter(limits.values()))}
        (root / "solutions" / assignment).mkdir(parents=True)
        nbformat.write(nb, root / "solutions" / assignment / f"{assignment}.ipynb")
    release(None, source=root / "solutions", dest=root / "course",
            config_file=root / "autograder" / "nbgrader_config.py")
    for student, attack in students().items():
        if only is not None and student not in only:
            continue
        assignment = assignment_of(attack)
        folder = root / "export" / student
        folder.mkdir(parents=True)
        nbformat.write(attack.submission(str(root)), folder / f"{assignment}.ipynb")
    return root


def grade_arguments(root: Path) -> list[str]:
    """``backproplab grade``'s arguments for the class in ``root``."""
    return [str(root / "export"), "--course", str(root), "--jobs", str(JOBS), "--no-release", "-a", "ps1",
            "-a", "ps1forks", "--out", str(root / "reports")]


@dataclass
class Graded:
    """One student's grading, as ``backproplab grade`` left it."""

    student: str
    assignment: str
    points: float  # the gradebook's score
    max_points: float
    result: object  # backproplab.grading.protocol.NotebookResult (from the resume state)
    nb: object  # the autograded notebook
    page: str  # the feedback page

    @property
    def scores(self):
        return self.result.verdicts

    @property
    def run(self):
        return self.result.run


def read_class(root: Path) -> dict[str, Graded]:
    """What the run left for every student: gradebook scores, recorded results, notebooks, pages."""
    from nbgrader.api import Gradebook

    from backproplab.grading.state import State

    state = State(root / "autograder" / "autograded" / ".backproplab" / "state.json")
    out = {}
    with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}", "backproplab") as gb:
        for student, attack in students().items():
            assignment = assignment_of(attack)
            result = state.results(student, assignment).get(assignment)
            if result is None:
                continue
            submission = gb.find_submission(assignment, student)
            page = root / "autograder" / "feedback" / student / assignment / f"{assignment}.html"
            out[student] = Graded(student, assignment, float(submission.score), float(submission.max_score),
                                  result, nbformat.read(result.autograded, as_version=4),
                                  page.read_text(encoding="utf-8") if page.is_file() else "")
    return out


def graded_class(root: Path, mode: str) -> dict:
    """Grade the class in ``root`` as ``mode`` in one ``backproplab grade`` run."""
    watched = [root / "solutions", root / "course", root / "export", root / "autograder" / "nbgrader_config.py"]
    before = fingerprint(*watched)
    start = time.monotonic()
    if mode == "root" and os.geteuid() == 0:  # the instructor's command, as installed
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKPROPLAB_")}
        done = subprocess.run([str(Path(sys.executable).with_name("backproplab")), "grade", *grade_arguments(root)],
                              capture_output=True, text=True, cwd=root, env=env, timeout=600)
    else:
        done = run_as(account(mode), ["-m", "backproplab.grading", *grade_arguments(root)], cwd=root, timeout=600)
    seconds = time.monotonic() - start
    return {"rc": done.returncode, "output": done.stdout + done.stderr, "seconds": seconds, "root": root,
            "mode": mode,
            "before": before, "after": fingerprint(*watched), "graded": read_class(root)}


@pytest.fixture(scope="session", params=MODES)
def batch(request, tmp_path_factory):
    """The hostile class graded as ``request.param`` (see :data:`MODES`), on a course the mode's user owns."""
    if request.param == "root":
        root = make_course(tmp_path_factory.mktemp(f"course-{request.param}") / "root")
    else:
        who = account(request.param)
        root = make_course(workspace(who, "backproplab-hostile-class") / "root")
        give(root.parent, who)
    return graded_class(root, request.param)
