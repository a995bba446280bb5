"""Time budgets that fit the notebook: what a cell of a submission may take, derived from the solution.

A learner's answer to a course exercise runs in milliseconds; a cell that runs for seconds loops or does far
more work than asked. So instead of one timeout for every cell of every notebook (``c.Execute.timeout``,
120 s: a looping submission cost a worker 2–4 minutes per notebook), each notebook gets a budget measured
from the instructor's own solution:

* **measured at first grading**: :func:`ensure_budgets` (in the parent, before any submission runs) runs each
  source notebook ``solutions/<assignment>/<notebook>.ipynb`` once in a confined kernel, exactly as a
  submission runs, and stores the CPU seconds of its slowest cell and the wall seconds of its whole run in
  ``autograder/budgets.json`` (keyed by the source notebook's checksum: an edited source is measured again);
* **the budget is computation, not waiting**: each cell may compute for ``MULTIPLE`` times the solution's
  slowest cell, at least ``CELL_FLOOR`` seconds of the kernel's CPU time (:meth:`Budget.cell_cpu`). CPU time
  does not grow when the machine is busy — other workers, other tests, a neighbour's job — so a correct answer
  is never stopped because the grading machine was loaded (a wall-clock budget was: seen in CI). A cell that
  computes nothing (``time.sleep``, ``input()``) is stopped by wall clock at ``WAIT_MULTIPLE`` times its CPU
  budget (:meth:`Budget.cell_timeout`), never more than ``c.Execute.timeout``; the whole notebook may run
  ``MULTIPLE`` times the solution's run, at least ``NOTEBOOK_FLOOR`` seconds, stretched by the load per core
  when it is graded (:func:`load_factor`, at most ``MAX_STRETCH`` times). The course's ``c.SandboxLimits`` and
  the source's ``metadata.backproplab.limits`` (the instructor's explicit choices) still win over it;
* **when a cell exceeds it** the kernel is interrupted (a loop that ignores the interrupt is killed
  ``INTERRUPT_GRACE`` seconds later), the next cells run, and the learner's feedback says so in plain words
  (:func:`timeout_note`). A hidden ``while True: pass`` thus costs a worker ``CELL_FLOOR`` seconds, not 120.

A solution that could not be measured (it failed to run, or a cell hit the configured timeout) gets no budget:
its notebook keeps ``c.Execute.timeout``, and the grader says so.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

#: A cell may compute this many times as long as the solution's slowest cell (the notebook: its whole run).
MULTIPLE = 10.0
#: ... but at least this many seconds of CPU time: kernel hiccups never cost a correct answer.
CELL_FLOOR = 2.0
#: A cell that waits instead of computing is stopped after this many times its CPU budget of wall clock.
WAIT_MULTIPLE = 10.0
NOTEBOOK_FLOOR = 120.0
#: The most a busy machine stretches the notebook's whole-run budget.
MAX_STRETCH = 10.0
#: The seed the solution runs with when it is measured (its records are thrown away).
_MEASURE_SEED = 0


@dataclass(frozen=True)
class Budget:
    """A source notebook's measured run time and the budget derived from it."""

    checksum: str  # of the source notebook measured
    slowest_cell_cpu: float  # CPU seconds of the solution's slowest cell
    solution_seconds: float  # wall seconds of the solution's whole run (kernel start included), idle machine
    measured: str  # when (UTC)

    def cell_cpu(self) -> float:
        """CPU seconds a cell may compute."""
        return max(CELL_FLOOR, MULTIPLE * self.slowest_cell_cpu)

    def cell_timeout(self) -> float:
        """Wall seconds a cell may run (what it waits counts here, not in its CPU budget)."""
        return WAIT_MULTIPLE * self.cell_cpu()

    def total_timeout(self, stretch: float = 1.0) -> float:
        return max(NOTEBOOK_FLOOR, MULTIPLE * self.solution_seconds) * stretch


def load_factor() -> float:
    """How many times slower than on an idle machine a run is now: the load per core (1 to ``MAX_STRETCH``)."""
    try:
        load = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        return 1.0
    return min(MAX_STRETCH, max(1.0, load))


def budgets_file(course_root: Path) -> Path:
    return Path(course_root) / "autograder" / "budgets.json"


def _checksum(source: Path) -> str:
    return hashlib.sha256(Path(source).read_bytes()).hexdigest()


def _load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def find_budget(course_root: Path, assignment: str, source: Path) -> Budget | None:
    """The stored budget of ``source`` (None: not measured, or measured for another version of it)."""
    entry = _load(budgets_file(course_root)).get(f"{assignment}/{Path(source).stem}")
    try:
        budget = Budget(**entry)
    except TypeError:
        return None
    return budget if source.is_file() and budget.checksum == _checksum(source) else None


def measure(source: Path, limits) -> tuple[Budget | None, str | None]:
    """Run the solution ``source`` confined, as a submission runs; its budget, or None and why not."""
    from backproplab.sandbox import execute_confined

    from .steps import KERNEL_ENV

    stretch = load_factor()
    with tempfile.TemporaryDirectory(prefix="backproplab-budget-") as records:
        run = execute_confined(source, record_dir=records, seed=_MEASURE_SEED, limits=limits,
                               files_from=source.parent, env=dict(KERNEL_ENV))
    if run.problem or run.timed_out:
        return None, run.problem or f"a cell of the solution ran longer than {limits.cell_timeout:g} s"
    if run.cell_seconds and not run.cell_cpu:
        return None, "the kernel's CPU time could not be read"
    stretch = min(stretch, load_factor())  # the calmer of the two moments: a larger budget, never a smaller
    slowest = max(run.cell_cpu.values(), default=0.0)
    return Budget(_checksum(source), round(slowest, 4), round(run.seconds / stretch, 3),
                  time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())), None


def ensure_budgets(course, assignments, limits_for, say=lambda text: None) -> None:
    """Measure every source notebook of ``assignments`` that has no budget for its current version yet, and
    store the budgets in ``autograder/budgets.json``. ``limits_for(source)``: the limits it runs under."""
    path = budgets_file(course.root)
    data = _load(path)
    changed = False
    for assignment in assignments:
        folder = Path(course.path("source", ".", assignment))
        for source in sorted(folder.glob("*.ipynb")):
            if find_budget(course.root, assignment, source) is not None:
                continue
            budget, problem = measure(source, limits_for(source))
            key = f"{assignment}/{source.stem}"
            if budget is None:
                data.pop(key, None)
                say(f"{key}: the solution could not be timed ({problem}); its cells keep the configured timeout")
            else:
                data[key] = asdict(budget)
                say(f"{key}: the solution runs in {budget.solution_seconds:.1f} s (its slowest cell computes for "
                    f"{budget.slowest_cell_cpu:.2f} s): each cell of a submission may compute for "
                    f"{budget.cell_cpu():g} s of CPU time and run for {budget.cell_timeout():g} s")
            changed = True
    if changed:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)


def budget_limits(limits, budget: Budget | None, ceiling: float, stretch: float | None = None):
    """``limits`` with the budget's limits: its CPU seconds per cell, its wall seconds per cell (never over
    ``ceiling``, the configured ``c.Execute.timeout``) and its whole run stretched by ``stretch`` (default:
    :func:`load_factor` now; never over the limits' own ``total_timeout``)."""
    if budget is None:
        return limits
    stretch = load_factor() if stretch is None else stretch
    # whole seconds (nbclient's timeout is an int), rounded up: the learner gets at least the budget
    return limits.with_(cell_cpu_seconds=budget.cell_cpu(),
                        cell_timeout=float(min(ceiling, math.ceil(budget.cell_timeout()))),
                        total_timeout=float(min(limits.total_timeout, math.ceil(budget.total_timeout(stretch)))))


def timeout_note(index: int, limits, budget: Budget | None, over_cpu: bool) -> str:
    """What the learner reads when cell ``index`` (0-based) was stopped at its CPU limit (``over_cpu``) or at
    its wall-clock limit."""
    after = (f"it had computed for {limits.cell_cpu_seconds:g} s (CPU time), the most each cell of this notebook "
             f"may compute" if over_cpu else
             f"it had run for {limits.cell_timeout:g} s, the longest each cell of this notebook may run")
    why = ""
    if budget is not None:
        why = (f" ({MULTIPLE:g} times what the instructor's solution computes in its slowest cell, at least "
               f"{CELL_FLOOR:g} s" + ("" if over_cpu else f", and {WAIT_MULTIPLE:g} times that while waiting")
               + ")")
    return (f"cell {index + 1} was stopped after {after}{why}. It may loop forever"
            + (" or do far more work than the exercise needs" if over_cpu else " or wait for something that "
               "never comes (input, sleep, a network)")
            + "; the cells after it still ran, with whatever it had done so far")
