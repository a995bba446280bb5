"""Shared fixtures: the notebooks of the course, one release into a temporary folder, and one execution
per learner notebook (course/) shared by every test that needs it; the solutions are executed by nbval
(``pytest --nbval-lax solutions/``, part of ``make test``).

Executions run in a pool of worker processes (``BACKPROPLAB_NB_WORKERS``, default: the number of CPUs),
started when the first test that needs one runs, for exactly the notebooks the session collected. Under
pytest-xdist (``make test``: ``-n`` CPUs + 1 ``--dist loadscope``: each module, and each notebook under nbval,
runs whole in one worker, so a module's session fixtures are made once) a worker executes only what its own
tests ask for, one notebook at a time.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # scripts.bench_notebooks (the worker) is imported from the repository root
    sys.path.insert(0, str(ROOT))

SOLUTIONS = ROOT / "solutions"
COURSE = ROOT / "course"

#: The course map (README.md): these notebooks must exist; more may be added.
EXPECTED_NOTEBOOKS = [
    "01_chain_rule", "02_forward_pass", "03_backward_pass", "04_activation_functions",
    "05_loss_functions", "06_matrix_formulation", "07_optimizers", "08_training",
]


def notebook_names(folder: Path = SOLUTIONS) -> list[str]:
    """``NN_topic/NN_topic.ipynb``-style paths (relative to ``folder``) of the notebooks in ``folder``."""
    return sorted(str(p.relative_to(folder)) for p in folder.glob("*/*.ipynb")
                  if ".ipynb_checkpoints" not in p.parts)


def notebook_id(name: str) -> str:
    path = Path(name)
    return path.stem if path.stem == path.parent.name else str(path.with_suffix(""))


def notebook_params(names: list[str], folder: str = "solutions") -> list:
    """Parametrize values; when there is no notebook at all, one value that makes the test fail (not skip)."""
    if not names:
        return [pytest.param(None, id=f"no-notebooks-in-{folder}")]
    return [pytest.param(name, id=notebook_id(name)) for name in names]


def require(name: str | None, folder: str = "solutions") -> str:
    if name is None:
        pytest.fail(f"no notebooks found in {folder}/ (expected {folder}/NN_topic/NN_topic.ipynb)")
    return name


# ---- one release of solutions/ into a temporary folder ----------------------------------------------------
@pytest.fixture(scope="session")
def released(tmp_path_factory) -> Path:
    from backproplab.release import release

    dest = tmp_path_factory.mktemp("released-course")
    release(source=SOLUTIONS, dest=dest)
    return dest


# ---- one execution per (variant, notebook), in parallel -------------------------------------------------
_VARIANT_FIXTURES = {"course_run": "course"}
#: seconds a cell may run before nbgrader interrupts it and the test fails (a whole notebook takes < 10 s)
CELL_TIMEOUT = 120


class NotebookRuns:
    """Futures of ``scripts.bench_notebooks.validate`` keyed by (variant, notebook)."""

    def __init__(self, jobs: list[tuple[str, str]], workers: int | None = None):
        from scripts.bench_notebooks import validate

        self._validate = validate
        self._futures = {}
        workers = workers or int(os.environ.get("BACKPROPLAB_NB_WORKERS") or os.cpu_count() or 1)
        self._pool = ProcessPoolExecutor(max_workers=max(1, min(workers, len(jobs) or 1)),
                                         mp_context=multiprocessing.get_context("spawn"))
        for job in jobs:
            self._submit(*job)

    def _submit(self, variant: str, name: str):
        key = (variant, name)
        if key not in self._futures:
            path = ROOT / variant / name
            if path.exists():
                self._futures[key] = self._pool.submit(self._validate, str(path), variant == "course", CELL_TIMEOUT)
            else:
                self._futures[key] = None
        return self._futures[key]

    def get(self, variant: str, name: str) -> dict:
        future = self._submit(variant, name)
        if future is None:
            hint = " (run `make release`)" if variant == "course" else ""
            pytest.fail(f"{variant}/{name} does not exist{hint}")
        return future.result()

    def close(self):
        self._pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="session")
def notebook_runs(request):
    if os.environ.get("PYTEST_XDIST_WORKER"):  # every worker collects every test: run only what is asked here
        runs = NotebookRuns([], workers=1)
        yield runs
        runs.close()
        return
    jobs = []
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("name") is None:
            continue
        for fixture, variant in _VARIANT_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()) and (variant, params["name"]) not in jobs:
                jobs.append((variant, params["name"]))
    runs = NotebookRuns(jobs)
    yield runs
    runs.close()


@pytest.fixture
def course_run(notebook_runs, name) -> dict:
    """The learner notebook (course/) executed once by nbgrader's Validator with ``invert=True``."""
    return notebook_runs.get("course", require(name))



# ---- what nbval ran (make test's output says so) -------------------------------------------------------------
_NBVAL: dict[str, dict[str, set]] = {}


def pytest_runtest_logreport(report):
    path, sep, _cell = report.nodeid.partition(".ipynb::Cell ")
    if sep and report.when == "call":
        folder = _NBVAL.setdefault(path.split("/", 1)[0], {"notebooks": set(), "passed": set(), "failed": set()})
        folder["notebooks"].add(path)
        folder["passed" if report.passed else "failed"].add(report.nodeid)


def pytest_terminal_summary(terminalreporter):
    for folder, seen in sorted(_NBVAL.items()):
        terminalreporter.write_line(
            f"nbval --nbval-lax {folder}/: {len(seen['notebooks'])} notebooks, {len(seen['passed'])} cells passed, "
            f"{len(seen['failed'])} failed")
