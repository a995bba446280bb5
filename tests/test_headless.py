"""Grading kernels draw nothing (backproplab.headless) and graded cells return nothing nbgrader reads as a score."""

from __future__ import annotations

import logging
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell
from nbgrader import utils

from backproplab import headless, plots, widgets
from backproplab.nbexec import patch_reply_polling
from scripts.bench_notebooks import validate
from tests.conftest import SOLUTIONS, notebook_names, notebook_params, require

PROBE = "import sys; print('loaded:', 'matplotlib' in sys.modules, 'ipywidgets' in sys.modules)"


def test_stand_ins_cover_every_public_name():
    for package in (plots, widgets):
        namespace: dict = {}
        names = headless.install_stand_ins(package.__path__, namespace)
        assert sorted(names) == sorted(package.__all__), package.__name__
        assert all(callable(namespace[n]) for n in names)


@pytest.mark.parametrize("env, active", [({}, False), ({"NBGRADER_EXECUTION": "autograde"}, True),
                                         ({"NBGRADER_EXECUTION": "validate"}, True),
                                         ({"NBGRADER_EXECUTION": "autograde", "BACKPROPLAB_DRAW": "1"}, False)])
def test_active_only_under_nbgrader(monkeypatch, env, active):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("BACKPROPLAB_DRAW", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert headless.active() is active


def test_headless_import_loads_neither_matplotlib_nor_ipywidgets():
    code = ("import sys\nfrom backproplab import check, plots, widgets\n"
            "print(plots.loss_curves(), widgets.loss_explorer(p=0.2), plots.optimizer_path.__module__)\n"
            "print('matplotlib' in sys.modules, 'ipywidgets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"NBGRADER_EXECUTION": "autograde", "PATH": ""}).stdout.splitlines()
    assert out == ["[loss_curves: not drawn during grading] [loss_explorer: not drawn during grading] "
                   "backproplab.trajectories", "False False"]


def _run(monkeypatch, draw: bool):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("BACKPROPLAB_DRAW", "1" if draw else "0")
    path = SOLUTIONS / "07_optimizers" / "07_optimizers.ipynb"  # plots compute paths there, and it trains
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(new_code_cell(PROBE))
    patch_reply_polling()
    NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(path.parent)}}).execute()
    return nb


@pytest.mark.parametrize("draw", [False, True], ids=["headless", "BACKPROPLAB_DRAW=1"])
def test_grading_kernel(monkeypatch, draw):
    nb = _run(monkeypatch, draw)
    errors = [o.evalue for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
    printed = "".join(o.text for o in nb.cells[-1].outputs if o.output_type == "stream")  # one print may come in parts
    assert printed.strip() == ("loaded: True True" if draw else "loaded: False False")
    figures = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("plots.adam_bias_correction")]
    assert len(figures) == 1
    text = figures[0].outputs[0]["data"]["text/plain"]
    assert ("not drawn during grading" in text) is not draw

    warnings: list[str] = []
    log = logging.getLogger("test-headless")
    log.addHandler(type("H", (logging.Handler,), {"emit": lambda self, r: warnings.append(r.getMessage())})())
    graded = [c for c in nb.cells if utils.is_grade(c) and c.cell_type == "code"]
    assert len(graded) >= 4
    for cell in graded:
        assert utils.determine_grade(cell, log) == (cell.metadata.nbgrader.points,) * 2
        kinds = {o.output_type for o in cell.outputs}
        assert kinds == {"display_data"}, (cell.metadata.nbgrader.grade_id, kinds)
    assert warnings == []


@pytest.mark.parametrize("name", notebook_params(notebook_names()))
def test_every_solution_runs_headless_without_an_error(monkeypatch, name):
    """Under the grader no figure is drawn: a notebook whose code goes on computing with a figure's return value
    would fail here (its graded cells might still pass, so the grading tests would not notice)."""
    monkeypatch.setenv("BACKPROPLAB_DRAW", "0")  # restored after the test (validate() sets it)
    run = validate(SOLUTIONS / require(name), timeout=120, draw=False)
    assert run["executed"]
    errors = [f"cell {c['index']}: {e['ename']}: {e['evalue']}" for c in run["cells"] for e in c["errors"]]
    assert not errors, errors
    shown = [c for c in run["cells"] if c["cell_type"] == "code" and c["source"].startswith(("plots.", "widgets."))]
    assert shown, "no figure or explorer cell found"
