"""Feedback a learner may see: the executed notebook without the hidden tests and with the trusted verdicts.

* every graded test cell shows its source with each hidden-tests region replaced by one comment line, and,
  as its only output, the trusted score and the check's learner-facing message (never the kernel's output:
  a traceback would quote the hidden lines);
* cells that ran after the first graded test cell show no output (they could print what the graded cells
  did, e.g. IPython's input history);
* outputs keep plain text and PNG/JPEG images only (no HTML, JavaScript, SVG or widget views: a learner's
  output must not run code in the instructor's browser), and the HTML page is sanitized;
* a summary cell on top: score, one line per graded cell, integrity findings and what stopped the run.
"""

from __future__ import annotations

import copy
import html

from .notebook import grade_id, is_graded_test, read_notebook, strip_hidden

SAFE_MIMETYPES = ("text/plain", "image/png", "image/jpeg")


class _Score:
    """A score given as a mapping (``points``, ``max_points``, ``message``), e.g. read back from the gradebook."""

    def __init__(self, data):
        self.points = float(data.get("points") or 0.0)
        self.max_points = float(data.get("max_points") or 0.0)
        self.message = str(data.get("message") or "")

    @property
    def passed(self):
        return self.points >= self.max_points


def _verdict_output(score):
    from nbformat.v4 import new_output

    mark = "PASSED" if score.passed else "FAILED"
    text = f"[{mark}] {score.points:g} / {score.max_points:g} points\n{score.message}\n"
    return new_output("stream", name="stdout" if score.passed else "stderr", text=text)


def _safe_outputs(outputs):
    kept = []
    for out in outputs:
        if out.get("output_type") in ("display_data", "execute_result"):
            data = {k: v for k, v in out.get("data", {}).items() if k in SAFE_MIMETYPES}
            if not data:
                continue
            out = copy.deepcopy(out)
            out["data"] = data
            out["metadata"] = {k: v for k, v in out.get("metadata", {}).items() if k in SAFE_MIMETYPES}
        kept.append(out)
    return kept


def feedback_notebook(executed_nb, scores: dict, *, notes=(), problem: str | None = None, findings=(),
                      summary: bool = True):
    """The notebook to render for the learner (a copy of ``executed_nb``).

    ``scores``: ``{grade_id: CellScore}`` from :func:`~backproplab.sandbox.scoring.score_submission` (or
    ``{grade_id: {"points", "max_points", "message"}}``); ``notes`` / ``problem`` / ``findings``: what the
    summary cell on top should also say (deviations from the release, why the run stopped, integrity
    findings); ``summary=False`` leaves it out (e.g. under nbgrader's feedback template, which shows the score).
    """
    from nbformat.v4 import new_markdown_cell, new_output

    scores = {gid: _Score(s) if isinstance(s, dict) else s for gid, s in scores.items()}
    nb = copy.deepcopy(read_notebook(executed_nb))
    after_tests = False
    for cell in nb.cells:
        if is_graded_test(cell):
            after_tests = True
            cell.source = strip_hidden(cell.source)
            score = scores.get(grade_id(cell))
            cell.outputs = [_verdict_output(score)] if score is not None else []
            meta = cell.metadata.setdefault("nbgrader", {})
            if score is not None:
                meta["score"], meta["points"] = score.points, score.max_points
            continue
        if cell.cell_type != "code":
            continue
        if after_tests and cell.get("outputs"):
            cell.outputs = [new_output("stream", name="stdout",
                                       text="(output not shown: this cell ran after the graded tests)\n")]
        else:
            cell.outputs = _safe_outputs(cell.get("outputs", []))
    if not summary:
        return nb
    total = sum(s.points for s in scores.values())
    max_total = sum(s.max_points for s in scores.values())
    lines = [f"# Feedback — score: {total:g} / {max_total:g}", "",
             "| test cell | points | result |", "|---|---|---|"]
    for gid, s in scores.items():
        lines.append(f"| {_esc(gid)} | {s.points:g} / {s.max_points:g} | {_esc(s.message)} |")
    if problem:
        lines += ["", f"**The run stopped early:** {_esc(problem)}"]
    for f in findings:
        lines += ["", f"- {_esc(f.message)}"]
    for note in notes:
        lines += ["", f"- {_esc(note)}"]
    nb.cells.insert(0, new_markdown_cell("\n".join(lines)))
    return nb


def _esc(text: str) -> str:
    return html.escape(str(text)).replace("|", "&#124;").replace("\n", " ").replace("`", "&#96;") \
        .replace("*", "&#42;").replace("_", "&#95;").replace("[", "&#91;").replace("$", "&#36;")


def feedback_html(nb) -> str:
    """The feedback notebook as one sanitized HTML page."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="classic", sanitize_html=True, exclude_input_prompt=False)
    body, _ = exporter.from_notebook_node(nb)
    return body
