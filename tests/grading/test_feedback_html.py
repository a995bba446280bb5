"""The grader's feedback pages are the document nbconvert's HTMLExporter makes, in a fraction of its time."""

from __future__ import annotations

import base64
import time

import nbformat
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_markdown_cell, new_output
from nbgrader import utils
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory

from backproplab.grading.feedback_html import MISSING_ALT, FeedbackExporter
from tests.conftest import SOLUTIONS

PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")).decode()


def _notebook():
    nb = nbformat.read(SOLUTIONS / "01_chain_rule" / "01_chain_rule.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[0].outputs = [new_output("stream", name="stdout", text="hello <b>world</b>\n")]
    code[1].outputs = [new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})]
    code[2].outputs = [new_output("error", ename="ValueError", evalue="bad shape",
                                  traceback=["\x1b[0;31mValueError\x1b[0m: bad shape (3, 2)"])]
    code[3].outputs = [new_output("execute_result", data={"text/html": '<p>x</p><img src="a.png"><IMG SRC="b.png" '
                                                                       'alt="kept">', "text/plain": "x"},
                                  execution_count=4)]
    nb.cells.insert(1, new_markdown_cell("![a figure](data:image/png;base64," + PNG + ") and $\\frac{1}{m}$"))
    for cell in nb.cells:
        if utils.is_solution(cell) or utils.is_task(cell):
            cell.metadata.nbgrader["comment"] = "Well done." if utils.is_solution(cell) else None
        if utils.is_grade(cell) or utils.is_task(cell):
            cell.metadata.nbgrader["score"] = cell.metadata.nbgrader.get("points", 0) / 2
    return nb


def _exporters(tmp_path):
    converter = GenerateFeedback(coursedir=CourseDirectory(root=str(tmp_path)))
    assert converter.exporter_class is HTMLExporter
    return (FeedbackExporter(parent=converter, config=converter.config),
            HTMLExporter(parent=converter, config=converter.config))


def _page(exporter, nb, tmp_path):
    resources = {"nbgrader": {"notebook": "01_chain_rule", "assignment": "01_chain_rule", "student": "ada",
                              "score": 3.5, "max_score": 8.0, "late_penalty": 0.0},
                 "metadata": {"path": str(tmp_path)}}
    return exporter.from_notebook_node(nbformat.from_dict(nb), resources=resources)[0]


def test_same_document_as_html_exporter(tmp_path):
    exporters = _exporters(tmp_path)
    ours, theirs = (_page(e, _notebook(), tmp_path) for e in exporters)
    assert _page(exporters[0], _notebook(), tmp_path) == ours  # again, with every code cell's HTML remembered
    assert "Well done." in ours and "bad shape" in ours and "Score: 3.5" in ours.replace("3.50", "3.5")
    assert ours.count(f'alt="{MISSING_ALT}"') == 2  # the PNG output and the HTML output's first img
    assert 'alt="kept"' in ours and 'alt="a figure"' in ours
    normal = [BeautifulSoup(page, features="html.parser").decode() for page in (ours, theirs)]
    assert normal[0] == normal[1]


def test_faster_than_html_exporter(tmp_path):
    """A ratio measured side by side in one run (not a timed test): ours must at least not be slower."""
    nb = _notebook()
    seconds = []
    for exporter in _exporters(tmp_path):
        _page(exporter, nb, tmp_path)  # templates compiled
        start = time.perf_counter()
        for _ in range(3):
            _page(exporter, nb, tmp_path)
        seconds.append(time.perf_counter() - start)
    assert seconds[0] < seconds[1], f"FeedbackExporter {seconds[0]:.3f} s vs HTMLExporter {seconds[1]:.3f} s"


def test_remembered_html_is_made_once_and_bounded():
    from backproplab.grading.feedback_html import _Remembered

    made = []
    seen = _Remembered(size=2)
    for key in ["a", "b", "a", "c", "a"]:
        assert seen.get_or_make(key, lambda key=key: made.append(key) or key.upper()) == key.upper()
    # "a" made once until the cache was full; "c" cleared it, so "a" is made again
    assert made == ["a", "b", "c", "a"]
    assert len(seen) <= 2


def test_a_print_flushed_in_two_parts_gives_the_page_of_one(tmp_path):
    """How the kernel flushed a cell's printed text (a busy machine can split one print into two stream
    messages) never shows on the page: the same submission gives the same page."""
    from types import SimpleNamespace

    from backproplab.grading.feedback import make_exporter

    exporter = make_exporter(SimpleNamespace(coursedir=CourseDirectory(root=str(tmp_path)), config=None))
    pages = []
    for parts in (["hello <b>world</b>\n"], ["hello <b>wo", "rld</b>\n"]):
        nb = _notebook()
        next(c for c in nb.cells if c.cell_type == "code").outputs = [
            new_output("stream", name="stdout", text=text) for text in parts]
        pages.append(_page(exporter, nb, tmp_path))
    assert pages[0] == pages[1] and "hello &lt;b&gt;world&lt;/b&gt;" in pages[0]


def test_a_page_validates_its_notebook_once(tmp_path, monkeypatch):
    """The page's notebook is validated once after nbconvert's preprocessors, not after each (issue 20: three
    full validations were about 15 % of a page's time); the page is the same."""
    from types import SimpleNamespace

    from backproplab.grading.feedback import make_exporter

    exporter = make_exporter(SimpleNamespace(coursedir=CourseDirectory(root=str(tmp_path)), config=None))
    assert len(exporter._preprocessors) >= 2
    nb, validated = _notebook(), []
    real = nbformat.validate
    monkeypatch.setattr(nbformat, "validate", lambda *a, **k: validated.append(1) or real(*a, **k))
    page = _page(exporter, nb, tmp_path)
    assert len(validated) == 1
    monkeypatch.setattr(exporter, "optimistic_validation", False)
    assert _page(exporter, nb, tmp_path) == page
