"""Time budgets from the solution (:mod:`backproplab.grading.budgets`): measured at first grading, a looping cell
stopped at the notebook's budget (not the configured 120 s) and said in plain words on the learner's page."""

from __future__ import annotations

import copy
import json
import re
import time
from pathlib import Path

from nbformat.v4 import new_code_cell

from backproplab.grading import budgets
from backproplab.grading.budgets import Budget, budget_limits, find_budget
from backproplab.grading.pipeline import grade
from backproplab.grading.worker import notebook_limits
from backproplab.sandbox import DEFAULT_LIMITS
from tests.grading.classbuilder import FIXTURE, cell, dumps, make_course, solution, write_tree


def _looping(nb):
    nb = copy.deepcopy(nb)
    cell(nb, "ex-square").source = "while True:\n    pass\n" + cell(nb, "ex-square").source
    return nb


def _sleeping_past_the_budget(nb):
    """A cell that waits (no computation) and stops by itself: later than its wall-clock limit, sooner than
    120 s."""
    nb = copy.deepcopy(nb)
    index = nb.cells.index(cell(nb, "ex-cube"))
    seconds = budgets.CELL_FLOOR * budgets.WAIT_MULTIPLE + 5
    nb.cells.insert(index, new_code_cell(f"import time\ntime.sleep({seconds})", id="slow"))
    return nb


def test_a_looping_cell_costs_the_budget_not_the_configured_timeout(tmp_path):
    root = make_course(tmp_path)
    perfect = solution(root)
    export = write_tree(tmp_path / "export", {
        f"alice/{FIXTURE}.ipynb": dumps(perfect),
        f"loopy/{FIXTURE}.ipynb": dumps(_looping(perfect)),
        f"slow/{FIXTURE}.ipynb": dumps(_sleeping_past_the_budget(perfect)),
    })
    start = time.monotonic()
    run = grade(export, root=root, jobs=2, out=tmp_path / "reports", stdout=None, stderr=None)
    seconds = time.monotonic() - start

    source = root / "solutions" / FIXTURE / f"{FIXTURE}.ipynb"
    budget = find_budget(root, FIXTURE, source)
    stored = json.loads((root / "autograder" / "budgets.json").read_text())[f"{FIXTURE}/{FIXTURE}"]
    assert budget is not None and stored["checksum"] == budget.checksum
    assert 0 < budget.slowest_cell_cpu < budgets.CELL_FLOOR / budgets.MULTIPLE  # the fixture's cells take ms
    assert budget.cell_cpu() == budgets.CELL_FLOOR
    assert budget.cell_timeout() == budgets.CELL_FLOOR * budgets.WAIT_MULTIPLE

    results = {r.student: r.notebooks[FIXTURE] for r in run.results}
    assert {s: sum(v or 0 for v in nb.grades.values()) for s, nb in results.items()} == {
        "alice": 5.0, "loopy": 3.0, "slow": 5.0}  # the loop never defined square(); cube's cell still ran
    note = re.compile(
        r"cell 3 was stopped after it had computed for (\d+) s \(CPU time\), the most each cell of this notebook "
        rf"may compute \({budgets.MULTIPLE:g} times what the instructor's solution computes in its slowest cell, "
        rf"at least {budgets.CELL_FLOOR:g} s\)\. It may loop forever or do far more work than the exercise needs; "
        "the cells after it still ran, with whatever it had done so far$")
    stopped = [m for n in results["loopy"].notes if (m := note.match(n))]
    assert len(stopped) == 1, results["loopy"].notes
    assert int(stopped[0].group(1)) == budgets.CELL_FLOOR
    waited = [n for n in results["slow"].notes if n.startswith("cell 5 was stopped after it had run for 20 s, "
                                                               "the longest each cell of this notebook may run")]
    assert len(waited) == 1 and "wait for something that never comes" in waited[0], results["slow"].notes
    assert not any("was stopped" in n for n in results["alice"].notes)
    page = (root / "autograder" / "feedback" / "loopy" / FIXTURE / f"{FIXTURE}.html").read_text()
    assert "cell 3 was stopped after" in page
    # a worker spends the budget on the loop, not c.Execute.timeout (120 s); a generous bound for a busy machine
    assert results["loopy"].seconds < 100 and seconds < 200

    # graded again: measured once per version of the source; an edited source is measured again
    # (alice alone: the budget is the assignment's, and the loop and the sleep would cost their budgets again)
    again = write_tree(tmp_path / "export-again", {f"alice/{FIXTURE}.ipynb": dumps(perfect)})
    grade(again, root=root, jobs=1, out=tmp_path / "reports", force=True, stdout=None, stderr=None)
    assert json.loads((root / "autograder" / "budgets.json").read_text())[f"{FIXTURE}/{FIXTURE}"] == stored
    source.write_text(source.read_text().replace("return x * x", "return x*x"))
    assert find_budget(root, FIXTURE, source) is None


def test_the_budget_has_a_floor_a_ceiling_and_the_instructors_explicit_limits_win(tmp_path):
    from traitlets.config import Config

    fast = Budget("x", slowest_cell_cpu=0.01, solution_seconds=1.0, measured="now")
    slow = Budget("x", slowest_cell_cpu=3.0, solution_seconds=40.0, measured="now")
    assert budget_limits(DEFAULT_LIMITS, fast, 120, 1).cell_cpu_seconds == budgets.CELL_FLOOR
    assert budget_limits(DEFAULT_LIMITS, fast, 120, 1).cell_timeout == budgets.CELL_FLOOR * budgets.WAIT_MULTIPLE
    assert budget_limits(DEFAULT_LIMITS, fast, 120, 1).total_timeout == budgets.NOTEBOOK_FLOOR
    # a busy machine stretches the whole run, never the computation a cell may do
    assert budget_limits(DEFAULT_LIMITS, fast, 120, 3).cell_cpu_seconds == budgets.CELL_FLOOR
    assert budget_limits(DEFAULT_LIMITS, fast, 120, 3).total_timeout == 3 * budgets.NOTEBOOK_FLOOR
    assert budget_limits(DEFAULT_LIMITS, slow, 120, 1).cell_timeout == 120  # never over c.Execute.timeout
    assert budget_limits(DEFAULT_LIMITS, slow, 1000, 1).cell_cpu_seconds == 30
    assert budget_limits(DEFAULT_LIMITS, slow, 1000, 1).cell_timeout == 300
    assert budget_limits(DEFAULT_LIMITS, slow, 1000, 1).total_timeout == 400
    assert budget_limits(DEFAULT_LIMITS, None, 120) == DEFAULT_LIMITS
    assert 1 <= budgets.load_factor() <= budgets.MAX_STRETCH

    source = tmp_path / "nb.ipynb"
    source.write_text(json.dumps({"metadata": {}, "cells": []}))
    config = Config()
    config.Execute.timeout = 120
    assert notebook_limits(config, source, fast).cell_cpu_seconds == budgets.CELL_FLOOR
    assert notebook_limits(config, source, None).cell_timeout == 120
    assert notebook_limits(config, source, None).cell_cpu_seconds is None
    config.SandboxLimits.cell_timeout = 3  # the instructor's own time per cell: the measured budget is off
    assert (notebook_limits(config, source, fast).cell_timeout, notebook_limits(config, source, fast)
            .cell_cpu_seconds) == (3, None)
    source.write_text(json.dumps({"metadata": {"backproplab": {"limits": {"cell_timeout": 42}}}, "cells": []}))
    assert notebook_limits(config, source, fast).cell_timeout == 42


def test_a_budget_of_another_version_or_a_damaged_file_is_not_used(tmp_path):
    root = tmp_path
    (root / "autograder").mkdir()
    source = root / "nb.ipynb"
    source.write_text("{}")
    entry = {"checksum": "0" * 64, "slowest_cell_cpu": 0.1, "solution_seconds": 1.0, "measured": "now"}
    (root / "autograder" / "budgets.json").write_text(json.dumps({"A/nb": entry}))
    assert find_budget(root, "A", source) is None
    (root / "autograder" / "budgets.json").write_text("not json")
    assert find_budget(root, "A", source) is None
    assert find_budget(root, "A", Path(root / "missing.ipynb")) is None
