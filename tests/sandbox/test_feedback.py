"""Feedback pages (the grading path's last step, backproplab.grading.feedback): no hidden tests, the
gradebook's scores in each graded cell, nothing that runs in a browser."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_output

from backproplab.grading.feedback import learner_view, make_exporter, render_feedback
from backproplab.grading.protocol import CellGrade, FeedbackNotebook, FeedbackTask
from tests.sandbox.attacks import HIDDEN_MARKER, source_notebook
from tests.sandbox.conftest import REPO


def _autograded():
    """What an autograded notebook may hold: the instructor's test cells (hidden tests in) and whatever the
    learner's cells printed."""
    nb = source_notebook()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.metadata.get("nbgrader", {}).get("grade"):  # what a kernel would print: tracebacks quoting lines
            cell.outputs = [new_output("error", ename="AssertionError", evalue="x",
                                       traceback=[cell.source, "check...hidden=True"])]
        else:
            cell.outputs = [new_output("display_data", data={"text/plain": "fine", "text/html": "<script>x()</script>",
                                                            "application/javascript": "x()"})]
    nb.cells.append(nbformat.v4.new_code_cell("print(In)"))
    nb.cells[-1].outputs = [new_output("stream", name="stdout", text=str([c.source for c in nb.cells]))]
    nb.cells.append(new_markdown_cell("**bold**\n\n<script>alert('xss')</script>\n\n<img src=x onerror=alert(1)>"))
    return nb


CELLS = {"test-dense-backward": CellGrade(0.0, 3.0), "test-relu-backward": CellGrade(2.0, 2.0),
         "test-mse-grad": CellGrade(1.0, 1.0), "ex-dense-backward": CellGrade(comment="see the 1/m")}


def test_learner_view():
    nb = learner_view(_autograded())
    text = nbformat.writes(nb)
    assert HIDDEN_MARKER not in text and "hidden=True" not in text and "BEGIN HIDDEN" not in text
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert len(tests) == 3 and all("# (hidden tests: not shown)" in c.source for c in tests)
    assert [o["traceback"] for c in tests for o in c.outputs] == [["AssertionError: x"]] * 3
    assert "<script>" not in "".join(str(o) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "ran after the graded tests" in nb.cells[-2].outputs[0]["text"]


@pytest.fixture(scope="module")
def exporter():
    from backproplab.grading.course import load_course

    return make_exporter(load_course(REPO))


def test_feedback_page_is_sanitized(tmp_path, exporter):
    nbformat.write(_autograded(), tmp_path / "ps1.ipynb")
    data = FeedbackNotebook(str(tmp_path / "ps1.ipynb"), ["test cell 'x' was edited", "cell 9 <b>died</b>"],
                            CELLS, 3.0, 6.0, 0.0)
    done = render_feedback(FeedbackTask("s", "ps1", str(tmp_path / "feedback"), {"ps1": data}), exporter)
    assert done.written == [str(tmp_path / "feedback" / "ps1.html")]
    page = (tmp_path / "feedback" / "ps1.html").read_text()
    assert HIDDEN_MARKER not in page and "hidden tests: not shown" in page and "hidden=True" not in page
    assert "<script>alert" not in page and "<img src=x onerror" not in page and 'onerror="' not in page
    assert "<script>x()" not in page
    assert "<p><strong>bold</strong></p>" in page
    assert "&lt;b&gt;died" in page and "<b>died" not in page
    assert "see the 1/m" in page
    assert "Score: 3" in page
