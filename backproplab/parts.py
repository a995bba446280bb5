"""The learner's own parts from notebooks 02–07, gathered for notebook 08.

:func:`collect_parts` reads the answer cells of the learner's earlier notebooks (``../NN_topic/NN_topic.ipynb``
beside notebook 08, i.e. in the learner's own folder), runs each answer in a fresh namespace, checks it with the
same check as in its notebook, and keeps it when it passes. A part that is missing, not written yet or wrong is
replaced by the course's own, with one line saying which and why, so that one bug does not block notebook 08.
While nbgrader grades (``NBGRADER_EXECUTION``) the course's parts are used: a grade never depends on another
notebook.

In a learner build of a graded class (``backproplab publish``) the course's parts have no implementation: a
part that is missing or wrong stays missing, and using it says in one line which part, from which notebook,
and why (:class:`MissingPart`).
"""

from __future__ import annotations

import importlib.util
import json
import linecache
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from backproplab.checking import run_check
from backproplab.checks import REGISTRY

__all__ = ["PARTS", "MissingPart", "collect_parts"]

#: (part, notebook it was written in): the exercises notebook 08's network is made of.
PARTS = (
    ("dense_forward", "02_forward_pass"),
    ("he_normal", "02_forward_pass"),
    ("stable_softmax", "04_activation_functions"),
    ("dense_backward", "03_backward_pass"),
    ("relu_backward", "03_backward_pass"),
    ("relative_error", "03_backward_pass"),
    ("softmax_cross_entropy_grad", "05_loss_functions"),
    ("l2_grad", "06_matrix_formulation"),
    ("dropout_forward", "06_matrix_formulation"),
    ("dropout_backward", "06_matrix_formulation"),
    ("adam", "07_optimizers"),
)


#: In a learner build (``backproplab publish``), which holds the course's parts as tables of the checks' inputs.
IN_BUILD = importlib.util.find_spec("backproplab._published") is not None


class MissingPart(RuntimeError):
    """A part of notebook 08's network that the learner has not written (or not right) yet, in a learner build."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for it: the message, not a traceback through the course's code."""
        return [f"MissingPart: {self}"]


def _missing(name: str, topic: str, why: str):
    def part(*args, **kwargs):
        raise MissingPart(f"notebook 08 runs on your own parts, and `{name}` (notebook {topic[:2]}) is not ready: "
                          f"{why.rstrip('.')}. Fix it in notebook {topic[:2]}, save it, and run section 2 again.")
    part.__name__ = part.__qualname__ = name
    return part


def _cell_source(notebook: Path, cell_id: str) -> str | None:
    """The source of the code cell ``cell_id`` (its id or nbgrader grade id) of ``notebook`` (None when absent)."""
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    for cell in cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("cell_type") == "code" and cell_id in (cell.get("id"), grade_id):
            source = cell.get("source", "")
            return "".join(source) if isinstance(source, list) else source
    return None


def _filename(topic: str, cell_id: str, source: str) -> str:
    """A name for the code of one cell, its lines registered so that a traceback or a check quotes them."""
    name = f"<notebook {topic[:2]}, cell {cell_id}>"
    linecache.cache[name] = (len(source), None, source.splitlines(keepends=True), name)
    return name


def _learner_part(folder: Path, name: str, topic: str):
    """``(function, None)`` for a learner's part that passes its check, else ``(None, why not)``."""
    notebook = folder / topic / f"{topic}.ipynb"
    if not notebook.exists():
        return None, f"notebook {topic[:2]} not found ({notebook})"
    try:
        source = _cell_source(notebook, "ex-" + name.replace("_", "-"))
    except (OSError, ValueError) as exc:
        return None, f"notebook {topic[:2]} could not be read ({type(exc).__name__})"
    if source is None:
        return None, f"no cell ex-{name.replace('_', '-')} in notebook {topic[:2]}"
    scope = {"np": np, "__name__": f"notebook_{topic[:2]}"}
    try:  # the notebook's own imports first (an answer may use what its setup cell gives, such as softmax)
        setup = "\n".join(line for line in (_cell_source(notebook, "setup") or "").splitlines()
                          if not line.lstrip().startswith(("%", "!")))  # IPython's magics and shell lines
        if setup:
            exec(compile(setup, _filename(topic, "setup", setup), "exec"), scope)
        exec(compile(source, _filename(topic, f"ex-{name.replace('_', '-')}", source), "exec"), scope)
    except Exception as exc:  # the learner's own code, in the learner's kernel
        return None, f"its cell raised {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    fn = scope.get(name)
    if not callable(fn):
        return None, f"its cell does not define {name}"
    result = run_check(REGISTRY[name], fn)
    if not result.passed:
        return None, result.message
    return fn, None


def collect_parts(folder=None, quiet: bool = False) -> SimpleNamespace:
    """Your parts from notebooks 02–07 (``folder``: the folder holding the notebooks' folders, by default the one
    above the current notebook's), each checked; the course's part wherever yours is missing or wrong.

    Returns a namespace with one attribute per name of :data:`PARTS` and ``sources``, a dict saying for each part
    ``"yours"`` or ``"course"``. Prints one line per part unless ``quiet``.
    """
    from backproplab.training import COURSE_PARTS, use_parts

    folder = Path(folder) if folder is not None else Path.cwd().parent
    grading = bool(os.environ.get("NBGRADER_EXECUTION")) and not IN_BUILD
    found, sources, lines = {}, {}, []
    for name, topic in PARTS:
        if grading:
            fn, why = None, "grading run: the course's parts are used"
        else:
            fn, why = _learner_part(folder, name, topic)
        if fn is not None:
            found[name], sources[name] = fn, "yours"
            lines.append(f"  ✓ {name} (notebook {topic[:2]}): yours")
        elif IN_BUILD:  # no course's part to fall back on
            found[name], sources[name] = _missing(name, topic, why), "missing"
            lines.append(f"  ✗ {name} (notebook {topic[:2]}): missing — {why}")
        else:
            found[name], sources[name] = getattr(COURSE_PARTS, name), "course"
            lines.append(f"  ✗ {name} (notebook {topic[:2]}): the course's — {why}")
    if not quiet:
        mine = sum(s == "yours" for s in sources.values())
        print(f"{mine} of {len(PARTS)} parts are yours:\n" + "\n".join(lines))
    parts = SimpleNamespace(**found, sources=sources)
    use_parts(parts)
    return parts
