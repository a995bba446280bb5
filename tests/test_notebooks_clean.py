"""Static checks of every committed notebook (solutions/ and course/), without running them.

Committed without outputs, execution counts or saved widget state; nbformat 4.5 with a unique id on
every cell; a title cell first and a set-up cell that imports backproplab; no solution or hidden test
left in the learner notebooks.
"""

from __future__ import annotations

import re

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
