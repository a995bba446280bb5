"""Feedback pages: no hidden tests, the trusted verdict in each graded cell, nothing that runs in a browser."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_markdown_cell, new_output

from backproplab.sandbox import assemble, feedback_html, feedback_notebook
from backproplab.sandbox.scoring import CellScore
from tests.sandbox.attacks import BY_NAME, HIDDEN_MARKER, source_notebook


def _executed():
    nb, _ = assemble(source_notebook(), BY_NAME["honest"].submission())
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


SCORES = {
    "test-dense-backward": CellScore("test-dense-backward", 0.0, 3.0, "dense_backward — case 2 of 3: `dW` is wrong."),
    "test-relu-backward": CellScore("test-relu-backward", 2.0, 2.0, "relu_backward: all 8 hidden random cases match."),
    "test-mse-grad": CellScore("test-mse-grad", 1.0, 1.0, "mse_grad: all 8 hidden random cases match."),
}


def test_feedback_notebook():
    nb = feedback_notebook(_executed(), SCORES, notes=["test cell 'x' was edited"], problem="cell 9 <b>died</b>")
    text = nbformat.writes(nb)
    assert HIDDEN_MARKER not in text and "hidden=True" not in text and "BEGIN HIDDEN" not in text
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert [c.outputs[0]["text"].splitlines()[0] for c in tests] == [
        "[FAILED] 0 / 3 points", "[PASSED] 2 / 2 points", "[PASSED] 1 / 1 points"]
    assert "`dW` is wrong" in tests[0].outputs[0]["text"]
    assert "<script>" not in "".join(str(o) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Feedback — score: 3 / 6" in nb.cells[0].source and "&lt;b&gt;died" in nb.cells[0].source
    assert "ran after the graded tests" in nb.cells[-2].outputs[0]["text"]


def test_feedback_html_is_sanitized():
    page = feedback_html(feedback_notebook(_executed(), SCORES))
    assert HIDDEN_MARKER not in page and "hidden tests: not shown" in page
    assert "<script>alert" not in page and "<img src=x onerror" not in page and 'onerror="' not in page
    assert "<strong>bold</strong>" in page
