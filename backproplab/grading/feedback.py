"""The last step: the feedback page a learner may see (``feedback/<student>/<assignment>/<notebook>.html``).

Rendered by a worker from the autograded notebook and the grades the parent read back from the gradebook
(manual grades included), with nbgrader's feedback template (:mod:`.feedback_html`). What it never shows:

* a hidden test: every hidden-tests region of a cell's source becomes one comment line, and a traceback quoting
  one is cut to its last line (:func:`learner_view`);
* what ran after the first graded test cell (it could print what the graded cells did, e.g. ``In``);
* anything that runs in a browser: outputs keep plain text and PNG/JPEG images only, and the page is
  sanitized (a learner's output must not run code in the instructor's browser).
"""

from __future__ import annotations

import copy
import html
import logging
import os
import traceback
from pathlib import Path

from backproplab.sandbox.notebook import BEGIN_HIDDEN, END_HIDDEN, is_graded_test, strip_hidden

from .protocol import FeedbackNotebook, FeedbackResult, FeedbackTask
from .shipping import write_text_atomic

SAFE_MIMETYPES = ("text/plain", "image/png", "image/jpeg")
AFTER_TESTS = "(output not shown: this cell ran after the graded tests)\n"

RESUBMIT = ("Nothing in this notebook could be graded. Open your work in JupyterLab, run it from the top "
            "(Kernel > Restart Kernel and Run All Cells), save it, and check that the file you submit is the .ipynb "
            "notebook itself; then ask your instructor whether you may submit it again.")


def _quotes_hidden(text) -> bool:
    text = str(text)
    return BEGIN_HIDDEN in text or END_HIDDEN in text or "HIDDEN TESTS" in text


def _safe_outputs(outputs) -> list:
    kept = []
    for out in outputs:
        kind = out.get("output_type")
        if kind in ("display_data", "execute_result"):
            data = {k: v for k, v in out.get("data", {}).items() if k in SAFE_MIMETYPES}
            if not data:
                continue
            out = copy.deepcopy(out)
            out["data"] = data
            out["metadata"] = {k: v for k, v in out.get("metadata", {}).items() if k in SAFE_MIMETYPES}
        elif kind == "error" and any(_quotes_hidden(line) for line in out.get("traceback", [])):
            out = copy.deepcopy(out)
            out["traceback"] = [f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"]
        kept.append(out)
    return kept


def learner_view(nb):
    """A copy of the autograded ``nb`` with nothing a learner may not see (see the module docstring)."""
    from nbformat.v4 import new_output

    nb = copy.deepcopy(nb)
    after_tests = False
    for cell in nb.cells:
        if _quotes_hidden(cell.source):
            cell.source = strip_hidden(cell.source)
        if cell.cell_type != "code":
            continue
        if is_graded_test(cell):
            after_tests = True
            cell.outputs = _safe_outputs(cell.get("outputs", []))
        elif after_tests and cell.get("outputs"):
            cell.outputs = [new_output("stream", name="stdout", text=AFTER_TESTS)]
        else:
            cell.outputs = _safe_outputs(cell.get("outputs", []))
    return nb


def notes_cell(notes: list[str]):
    """A Markdown cell for the top of a feedback page: what the grader noticed and did about it."""
    from nbformat.v4 import new_markdown_cell

    lines = "\n".join(f"- {html.escape(note)}" for note in notes)
    return new_markdown_cell(f"**Notes from the grader** (the tests and points of the release are what "
                             f"count):\n\n{lines}")


def _plain_page(title: str, lines: list[str]) -> str:
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>\n")


def make_exporter(course):
    """nbgrader's feedback exporter for ``course`` (its configured class; :class:`FeedbackExporter` for
    nbconvert's HTML one), sanitizing the page."""
    from nbconvert.exporters import HTMLExporter
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor, CSSHTMLHeaderPreprocessor
    from nbgrader.converters import GenerateFeedback

    from .feedback_html import FeedbackExporter

    converter = GenerateFeedback(coursedir=course.coursedir, config=course.config)
    cls = FeedbackExporter if converter.exporter_class is HTMLExporter else converter.exporter_class
    exporter = cls(parent=converter, config=converter.config)
    exporter.register_preprocessor(CSSHTMLHeaderPreprocessor)
    # a cell's printed text is one block, however the kernel happened to flush it (a busy machine splits a
    # print into two stream messages: the page would differ from the same submission graded on a quiet one)
    exporter.register_preprocessor(CoalesceStreamsPreprocessor, enabled=True)
    if hasattr(exporter, "sanitize_html"):
        exporter.sanitize_html = True
    # the page's notebook validated once, after the preprocessors, instead of after each of them (three full
    # validations of the notebook: about 15 % of a page's time)
    exporter.optimistic_validation = True
    return exporter


def feedback_page(task: FeedbackTask, name: str, data: FeedbackNotebook, exporter) -> str:
    """One notebook's page: the learner's view of the autograded notebook with the gradebook's grades."""
    import nbformat
    from nbgrader import utils

    if data.notebook is not None:  # it travelled with the task (shipping.py)
        nb = nbformat.reads(data.notebook, as_version=4)
    elif data.autograded and os.path.isfile(data.autograded):
        nb = nbformat.read(data.autograded, as_version=4)
    else:
        return _plain_page(f"{name} (Score: 0 / {data.max_score:g})",
                           [*(data.notes or ["Nothing could be graded."]), RESUBMIT])
    nb = learner_view(nb)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        found = data.cells.get(gid)
        if utils.is_solution(cell) or utils.is_task(cell):
            cell.metadata.nbgrader["comment"] = found.comment if found else None
        if utils.is_grade(cell) or utils.is_task(cell):
            cell.metadata.nbgrader["score"] = found.score if found and found.score is not None else 0.0
            if found and found.max_score is not None:
                cell.metadata.nbgrader["points"] = found.max_score
    if data.notes:
        nb.cells.insert(0, notes_cell(data.notes))
    resources = {"nbgrader": {"notebook": name, "assignment": task.assignment, "student": task.student,
                              "score": data.score - data.late_penalty, "max_score": data.max_score,
                              "late_penalty": data.late_penalty},
                 "metadata": {"path": str(Path(task.feedback_dir))}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


def render_pages(task: FeedbackTask, exporter) -> dict[str, str]:
    """Every notebook's page of ``task`` (a worker renders them); a page that fails is logged and left out."""
    pages = {}
    for name, data in task.notebooks.items():
        try:
            pages[name] = feedback_page(task, name, data, exporter)
        except Exception:
            logging.getLogger(__name__).error("feedback %s/%s/%s:\n%s", task.student, task.assignment, name,
                                              traceback.format_exc())
    return pages


def write_pages(folder: Path, pages: dict[str, str], file_mode: int = 0o644) -> list[str]:
    """Write ``pages`` (notebook -> page) into ``folder``, each atomically (the parent does); the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, page in pages.items():
        out = folder / f"{name}.html"
        try:
            write_text_atomic(out, page, file_mode)
            written.append(str(out))
        except OSError:
            logging.getLogger(__name__).error("feedback %s:\n%s", out, traceback.format_exc())
    return written


def render_feedback(task: FeedbackTask, exporter, file_mode: int = 0o644) -> FeedbackResult:
    """Render and write every notebook's page of ``task`` in this process."""
    written = write_pages(Path(task.feedback_dir), render_pages(task, exporter), file_mode)
    return FeedbackResult(task.student, task.assignment, written)
