"""Static checks of every committed notebook (solutions/ and course/), without running them.

Committed without outputs, execution counts or saved widget state; nbformat 4.5 with a unique id on
every cell; a title cell first and a set-up cell that imports backproplab; no solution or hidden test
left in the learner notebooks; the approximation policy of the checks stated before the first exercise
that asks for an analytic gradient.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import nbformat
import pytest

from tests.conftest import COURSE, ROOT, SOLUTIONS, notebook_id, notebook_names, require

PARAMS = [pytest.param(f"solutions/{n}", id=f"solutions-{notebook_id(n)}") for n in notebook_names(SOLUTIONS)]
PARAMS += [pytest.param(f"course/{n}", id=f"course-{notebook_id(n)}") for n in notebook_names(COURSE)]
if not notebook_names(SOLUTIONS):
    PARAMS.append(pytest.param(None, id="no-notebooks-in-solutions"))

IMPORTS_BACKPROPLAB = re.compile(r"^\s*(from\s+backproplab(\.\w+)*\s+import\s|import\s+backproplab\b)", re.M)


@pytest.fixture(params=PARAMS)
def notebook(request):
    rel = require(request.param)
    return rel, nbformat.read(ROOT / rel, as_version=nbformat.NO_CONVERT)


def test_valid_nbformat_with_unique_ids(notebook):
    rel, nb = notebook
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5), f"{rel}: nbformat {nb.nbformat}.{nb.nbformat_minor} < 4.5"
    missing = [i for i, cell in enumerate(nb.cells) if not cell.get("id")]
    assert not missing, f"{rel}: cells without an id: {missing}"
    ids = [cell.id for cell in nb.cells]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"{rel}: duplicate cell ids: {duplicates}"


def test_committed_without_outputs(notebook):
    rel, nb = notebook
    dirty = [f"{i} (id {cell.get('id')!r})" for i, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, f"{rel}: cells with outputs or execution counts (clear them before committing): {dirty}"
    assert "widgets" not in nb.metadata, f"{rel}: saved widget state in the notebook metadata (clear it)"


def test_title_and_setup_cells(notebook):
    rel, nb = notebook
    first = nb.cells[0] if nb.cells else None
    assert first is not None and first.cell_type == "markdown" and first.source.lstrip().startswith("# "), (
        f"{rel}: the first cell must be a Markdown title (`# NN · Topic`)")
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and IMPORTS_BACKPROPLAB.search(code[0].source), (
        f"{rel}: the first code cell must be the set-up cell that imports backproplab")
    assert code[0].get("id") == "setup", f"{rel}: the set-up cell's id must be 'setup', not {code[0].get('id')!r}"


@pytest.mark.parametrize("rel", [p for p in PARAMS if p.values[0] and p.values[0].startswith("course/")])
def test_no_solution_left_in_course(rel):
    text = (ROOT / rel).read_text(encoding="utf-8")
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text, f"{rel} contains {marker!r}: learners would see it (run `make release`)"


#: The words of ``checking.APPROXIMATION_POLICY`` every notebook with an analytic-gradient exercise says before it.
POLICY_PHRASE = "is for checking a gradient, never for computing the answer"


def test_the_policy_phrase_is_the_checks_own():
    from backproplab.checking import APPROXIMATION_POLICY

    assert POLICY_PHRASE in APPROXIMATION_POLICY


def test_approximation_policy_stated_before_the_first_gradient_exercise(notebook):
    """Every exercise whose check is ``exact`` (an analytic gradient: a finite difference is rejected) comes
    after a Markdown cell that tells the learner so, in the words of ``APPROXIMATION_POLICY``."""
    rel, nb = notebook
    topic = Path(rel).parent.name.split("_", 1)[1]
    exercises = importlib.import_module(f"backproplab.checks.{topic}").EXERCISES
    answers = {f"ex-{ex.name.replace('_', '-')}" for ex in exercises if ex.exact}
    ids = [cell.get("id") for cell in nb.cells]
    assert answers <= set(ids), f"{rel}: no answer cell {sorted(answers - set(ids))} of its exact exercises"
    if not answers:
        return
    first = min(ids.index(answer) for answer in answers)
    before = " ".join(" ".join(cell.source.split()) for cell in nb.cells[:first] if cell.cell_type == "markdown")
    assert POLICY_PHRASE in before, (
        f"{rel}: the cell {ids[first]!r} asks for an analytic gradient, but no Markdown cell before it says that "
        f"a finite-difference estimate {POLICY_PHRASE} (checking.APPROXIMATION_POLICY)")
