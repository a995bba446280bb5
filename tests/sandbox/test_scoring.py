"""Judging outside the kernel, from records, with the source's test cells; assembling what is executed.

No kernel here: the records are written in this process by the same graded checks the kernel runs.
"""

from __future__ import annotations

import copy
import json

import nbformat
import numpy as np
import pytest

from backproplab.checking import RECORD_DIR_ENV, run_check
from backproplab.checks import REGISTRY
from backproplab.sandbox import score_submission
from backproplab.sandbox.notebook import HIDDEN_PLACEHOLDER, check_calls, graded_test_cells, strip_hidden
from tests.sandbox.attacks import BY_NAME, HIDDEN_MARKER, POINTS, TOTAL, release_notebook, source_notebook

SEED = 4242


def _dense(dZ, cache):
    X, W, _ = cache
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0, keepdims=True)


def _relu(dA, Z):
    return dA * (Z > 0)


def _mse(Y_hat, Y):
    return 2 * (np.asarray(Y_hat, float) - Y) / len(Y_hat)


RIGHT = {"dense_backward": _dense, "relu_backward": _relu, "mse_grad": _mse}


def _kernel_runs(records, monkeypatch, fns, *, seed=SEED, cells=None, hidden=True):
    """What the grading kernel does for each graded test cell: graded checks with the record folder set, the
    hidden ones with the cell's own seed (``with_cell_seeds`` writes it into the cell)."""
    from backproplab.sandbox.seeds import cell_seed

    for name, fn in fns.items():
        gid = f"test-{name.replace('_', '-')}"
        if cells is not None and gid not in cells:
            continue
        monkeypatch.setenv(RECORD_DIR_ENV, str(records / gid))
        for h in (False, True) if hidden else (False,):
            try:
                run_check(REGISTRY[name], fn, graded=True, hidden=h, seed=cell_seed(seed, gid) if h else seed)
            except AssertionError:
                break  # the cell stops at its first failing check
    monkeypatch.delenv(RECORD_DIR_ENV)


def _total(scores):
    return sum(s.points for s in scores.values())


# ------------------------------------------------------------------------------------- the test cells
def test_check_calls_are_read_with_ast():
    src = "check.a(a, graded=True)\n### BEGIN HIDDEN TESTS\ncheck.b(b, graded=True, hidden=True)\n### END HIDDEN TESTS"
    assert [(c.name, c.hidden) for c in check_calls(src)] == [("a", False), ("b", True)]
    assert check_calls("x = 1  # check.a(a)") == []


def test_graded_cells_of_the_source():
    cells = graded_test_cells(source_notebook())
    assert [(c.grade_id, c.points) for c in cells] == [(f"test-{n.replace('_', '-')}", p) for n, p in POINTS.items()]
    assert all(c.error is None and len(c.calls) == 2 for c in cells)


def test_strip_hidden():
    src = "visible()\n### BEGIN HIDDEN TESTS\nsecret()\n### END HIDDEN TESTS\nafter()"
    assert strip_hidden(src) == f"visible()\n{HIDDEN_PLACEHOLDER}\nafter()"
    assert strip_hidden("a\n### BEGIN HIDDEN TESTS\nsecret()") == f"a\n{HIDDEN_PLACEHOLDER}"


# -------------------------------------------------------------------------------------------- scoring
def test_right_answers_earn_every_point(tmp_path, monkeypatch):
    _kernel_runs(tmp_path, monkeypatch, RIGHT)
    scores = score_submission(source_notebook(), None, tmp_path, SEED)
    assert _total(scores) == TOTAL
    assert all(s.passed for s in scores.values())


def test_the_seed_is_the_graders(tmp_path, monkeypatch):
    _kernel_runs(tmp_path, monkeypatch, RIGHT, seed=SEED + 1)  # a kernel that drew other hidden inputs
    scores = score_submission(source_notebook(), None, tmp_path, SEED)
    assert _total(scores) == 0


def test_a_wrong_answer_fails_with_the_checks_message(tmp_path, monkeypatch):
    fns = {**RIGHT, "dense_backward": lambda dZ, cache: tuple(-x for x in _dense(dZ, cache))}
    _kernel_runs(tmp_path, monkeypatch, fns)
    scores = score_submission(source_notebook(), None, tmp_path, SEED)
    assert _total(scores) == TOTAL - POINTS["dense_backward"]
    assert "opposite sign" in scores["test-dense-backward"].message


def test_hidden_checks_that_did_not_run_fail(tmp_path, monkeypatch):
    _kernel_runs(tmp_path, monkeypatch, RIGHT, hidden=False)
    scores = score_submission(source_notebook(), None, tmp_path, SEED)
    assert _total(scores) == 0
    assert "did not run" in scores["test-mse-grad"].message


def test_records_count_only_in_their_cells_folder(tmp_path, monkeypatch):
    _kernel_runs(tmp_path, monkeypatch, RIGHT, cells={"test-dense-backward"})
    for path in (tmp_path / "test-dense-backward").iterdir():  # move them where another cell's would be
        (tmp_path / "test-relu-backward").mkdir(exist_ok=True)
        path.rename(tmp_path / "test-relu-backward" / path.name)
    assert _total(score_submission(source_notebook(), None, tmp_path, SEED)) == 0


def test_a_missing_second_record_fails(tmp_path, monkeypatch):
    source = source_notebook()
    cell = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test-mse-grad")
    cell.source = "check.mse_grad(mse_grad, graded=True)\n" + cell.source  # two visible calls
    _kernel_runs(tmp_path, monkeypatch, RIGHT)  # the kernel ran one
    assert score_submission(source, None, tmp_path, SEED)["test-mse-grad"].points == 0


def test_the_submissions_test_cells_do_not_matter(tmp_path, monkeypatch):
    """Scoring reads the source's cells: a submission whose tests were emptied is judged the same."""
    _kernel_runs(tmp_path, monkeypatch, {k: v for k, v in RIGHT.items() if k != "mse_grad"})
    executed = release_notebook()
    for cell in executed.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "pass"
    scores = score_submission(source_notebook(), executed, tmp_path, SEED)
    assert _total(scores) == TOTAL - POINTS["mse_grad"]


def test_source_cells_that_cannot_be_judged_score_zero(tmp_path, monkeypatch):
    source = source_notebook()
    tests = [c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade")]
    tests[0].source = "check.no_such_exercise(dense_backward, graded=True)"
    tests[1].source = "assert relu_backward is not None"
    _kernel_runs(tmp_path, monkeypatch, RIGHT)
    scores = score_submission(source, None, tmp_path, SEED)
    assert scores["test-dense-backward"].points == 0 and "unknown check" in scores["test-dense-backward"].message
    assert scores["test-relu-backward"].points == 0 and "cannot be judged" in scores["test-relu-backward"].message
    assert scores["test-mse-grad"].points == POINTS["mse_grad"]


def test_forged_records_fail(tmp_path):
    folder = tmp_path / "test-mse-grad"
    folder.mkdir()
    for kind in ("visible", "hidden"):
        (folder / f"mse_grad.{kind}.0.json").write_text(json.dumps(
            {"exercise": "mse_grad", "hidden": kind == "hidden",
             "outcomes": [{"result": {"shape": [1], "data": [0.0]}, "args_after": None}] * 8}))
    assert score_submission(source_notebook(), None, tmp_path, SEED)["test-mse-grad"].points == 0


# ------------------------------------------------------------------------------------------- assembly
# The grading path's read, sanitize and assemble steps (backproplab.grading.steps), against ps1's release
# data in a real nbgrader gradebook.
@pytest.fixture(scope="module")
def release(tmp_path_factory):
    from backproplab.grading.course import load_course, read_assignment_info, register_assignments
    from tests.sandbox.conftest import make_course

    root = make_course(tmp_path_factory.mktemp("assembly") / "root")
    course = load_course(root)
    register_assignments(course, ["ps1"])
    gb = course.gradebook()
    try:
        return root, course, read_assignment_info(course, gb, "ps1").notebooks["ps1"]
    finally:
        gb.close()


def assemble(release, submission, tmp_path):
    """``(notebook to execute, notes)``: the grading path up to the run."""
    from backproplab.grading.protocol import NotebookTask
    from backproplab.grading.steps import assemble, read, run_steps, sanitize

    root, course, info = release
    nbformat.write(submission, tmp_path / "ps1.ipynb")
    task = NotebookTask("ps1", "s", "ps1", info, tmp_path / "ps1.ipynb", root / "solutions" / "ps1" / "ps1.ipynb",
                        tmp_path, 1, None, course.config)
    work = run_steps(task, (read, sanitize, assemble))
    return work.nb, work.notes


def _by_gid(nb):
    return {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}


def test_edited_tests_are_replaced_by_the_source(release, tmp_path):
    sub = BY_NAME["honest"].submission()
    for cell in sub.cells:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "print('all good')"
            cell.metadata.nbgrader["points"] = 100
    nb, notes = assemble(release, sub, tmp_path)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(tests) == 3 and all(HIDDEN_MARKER in c.source for c in tests)
    assert sum(c.metadata.nbgrader["points"] for c in tests) == TOTAL
    assert sum("was edited" in n for n in notes) == 3


def test_deleted_tests_come_back_in_order(release, tmp_path):
    nb, notes = assemble(release, BY_NAME["tests_deleted"].submission(), tmp_path)
    gids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert gids[-3:] == ["test-dense-backward", "test-relu-backward", "test-mse-grad"]
    assert sum("was deleted" in n for n in notes) == 3


def test_answers_stay_duplicates_and_strangers_go(release, tmp_path):
    sub = BY_NAME["honest"].submission()
    cells = _by_gid(sub)
    sub.cells.append(copy.deepcopy(cells["test-mse-grad"]))  # a duplicated test cell
    stranger = copy.deepcopy(cells["ex-mse-grad"])
    stranger.metadata.nbgrader["grade_id"] = "bonus"
    stranger.metadata.nbgrader["grade"], stranger.metadata.nbgrader["points"] = True, 50
    sub.cells.append(stranger)
    cells["ex-relu-backward"].cell_type = "markdown"  # an answer cell turned into markdown
    del cells["ex-relu-backward"]["outputs"], cells["ex-relu-backward"]["execution_count"]
    nb, notes = assemble(release, sub, tmp_path)
    gids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert gids.count("test-mse-grad") == 1 and "bonus" not in gids
    relu = _by_gid(nb)["ex-relu-backward"]
    assert relu.cell_type == "code" and "Z > 0" in relu.source
    assert any("appears 2 times" in n for n in notes) and any("not part of" in n for n in notes)


def test_outputs_of_the_submission_are_cleared(release, tmp_path):
    sub = BY_NAME["honest"].submission()
    sub.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="forged")]
    nb, _ = assemble(release, sub, tmp_path)
    assert all(not c.get("outputs") for c in nb.cells)


@pytest.mark.parametrize("name", ["honest", "stubs", "write_gradebook"])
def test_untouched_submissions_have_no_notes(release, tmp_path, name):
    assert assemble(release, BY_NAME[name].submission(), tmp_path)[1] == []
