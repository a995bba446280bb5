"""Running the learner build's notebooks in a real kernel whose ``backproplab`` is the build's package, and
moving their explorers there (:mod:`tests.publish.explorer_moves`)."""

from __future__ import annotations

import inspect
import json
import os
import sys
from pathlib import Path

import nbformat
import pytest

from backproplab.nbexec import patch_reply_polling
from backproplab.publish import strip_markers
from backproplab.publish.explorers import explorer_call
from tests.grading.classbuilder import REPO

#: Seconds one cell of a build's notebook may run in a test kernel (the longest, moving every explorer of
#: notebook 07, takes about 30 s on a quiet machine): past it the test fails and says which cell.
CELL_SECONDS = 600

# jupyter/nbclient#312 (backproplab.nbexec): the explorers' cells make nbclient's Output-widget emulation write a
# comm message on the shell socket for every redraw, while it waits on that socket for the cell's reply; a reply
# whose wake-up was consumed by one of those writes sat unread until the cell's whole timeout had passed (the
# "hangs" of the explorer test: the kernel idle, the reply queued in the client's socket). Polled in slices, a
# waiting reply is seen at once.



# jupyter/nbclient#312 (backproplab.nbexec): the explorers' cells make nbclient's Output-widget emulation write a
# comm message on the shell socket for every redraw, while it waits on that socket for the cell's reply; a reply
# whose wake-up was consumed by one of those writes sat unread until the cell's whole timeout had passed (the
# "hangs" of the explorer test: the kernel idle, the reply queued in the client's socket). Polled in slices, a
# waiting reply is seen at once.
patch_reply_polling()


def answered(path: Path) -> nbformat.NotebookNode:
    """The build's notebook with every answer cell holding the solution (as a learner who got it right)."""
    nb = nbformat.read(path, as_version=4)
    source = nbformat.read(REPO / "solutions" / path.parent.name / path.name, as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: strip_markers(c.source) for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


def answered_course(build: Path, folder: Path) -> Path:
    """A copy of the build's ``course/`` in ``folder`` with every notebook answered and saved (as a learner who
    got everything right: notebook 08 reads the learner's parts from the saved 02-07 beside it)."""
    course = folder / "course"
    for path in sorted((build / "course").glob("*/*.ipynb")):
        dest = course / path.relative_to(build / "course")
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(answered(path), dest)
    return course


def execute(nb: nbformat.NotebookNode, path: Path, root: Path, seconds: int = CELL_SECONDS) -> None:
    """Run ``nb`` (a notebook of the build at ``path``) in a real kernel whose ``backproplab`` is ``root``'s
    package; a cell that runs past ``seconds``, or a kernel that dies, fails the test and says where."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    started = []
    old = os.environ.copy()
    os.environ.update({"PYTHONPATH": str(root), "MPLBACKEND": "Agg"})  # the kernel's environment
    try:
        NotebookClient(nb, timeout=seconds, kernel_name="python3", allow_errors=True,
                       on_cell_start=lambda cell, cell_index: started.append(cell.get("id") or cell_index),
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except CellTimeoutError:
        pytest.fail(f"{path.name}: cell {started[-1:]} still running after {seconds} s (interrupted)",
                    pytrace=False)
    except DeadKernelError as exc:
        pytest.fail(f"{path.name}: the kernel died in cell {started[-1:]}: {exc}", pytrace=False)
    finally:
        os.environ.clear()
        os.environ.update(old)


def errors_of(nb) -> dict:
    return {c.get("id"): o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"}


def text_of(nb, cell_id: str) -> str:
    (cell,) = [c for c in nb.cells if c.get("id") == cell_id]
    return "".join(o.get("text", "") for o in cell.outputs) + "".join(
        str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)


def explorers_of(nb) -> list[tuple[str, str]]:
    """``(cell id:explorer, expression)`` of every explorer cell of ``nb`` (code ending in ``widgets.NAME(...)``)."""
    found = []
    for cell in nb.cells:
        call = explorer_call(cell.source) if cell.cell_type == "code" else None
        if call:
            found.append((f"{cell.get('id')}:{call[0]}", call[1]))
    return found


def run_with_explorers(nb: nbformat.NotebookNode, path: Path, root: Path) -> dict:
    """Run ``nb`` (the build's notebook at ``path``) in a real kernel importing ``root``'s package; if it has
    explorers, a last cell then builds each again and moves it through reachable positions
    (:mod:`tests.publish.explorer_moves`). ``nb`` keeps its outputs (the last cell's removed); returns
    ``{cell:explorer: [move, ...]}``."""
    from backproplab.publish import explorers as published

    explorers = explorers_of(nb)
    if not explorers:
        execute(nb, path, root)
        return {}
    # the build has no backproplab.publish: the kernel gets its controls() and reachable() as source
    mover = "\n\n".join(["from __future__ import annotations\nfrom collections.abc import Iterator",
                          inspect.getsource(published.controls), inspect.getsource(published.reachable),
                          Path(__file__).with_name("explorer_moves.py").read_text()])
    nb.cells.append(nbformat.v4.new_code_cell(f"{mover}\nreport({explorers!r}, globals())"))
    execute(nb, path, root)
    last = nb.cells.pop()
    text = "".join(o.get("text", "") for o in last.outputs if o.get("output_type") == "stream")
    errors = [o for o in last.outputs if o.get("output_type") == "error"]
    assert not errors and "EXPLORER-MOVES " in text, (path.name, errors, text[-2000:])
    moves = json.loads(text.split("EXPLORER-MOVES ", 1)[1].splitlines()[0])
    return {f"{path.name}:{label}": m for label, m in moves.items()}


def check_moves(moves: dict, answered: bool) -> None:
    """Every explorer of the course was moved; no move raised or showed NotPublished, and each explorer's display
    changed (as released, notebook 08's explorer says on every move that the learner's parts are missing)."""
    names = {label.rsplit(":", 1)[1] for label in moves}
    assert {"init_explorer", "gradient_check_explorer", "vanishing_gradient_explorer", "loss_explorer",
            "optimizer_race", "softmax_explorer", "chain_rule_explorer", "dropout_explorer",
            "fitting_explorer"} <= names, names
    moves = dict(moves)
    if not answered:  # 08's explorer trains the learner's own parts, none written yet: every move says so
        fitting = moves.pop(next(label for label in moves if label.endswith(":fitting_explorer")))
        assert len(fitting) >= 4 and all((m["error"] or "").startswith("MissingPart: notebook 08 runs on your own "
                                                                        "parts") for m in fitting), fitting[:2]
    broken = {label: [m for m in ms if m["error"]] for label, ms in moves.items()}
    broken = {label: ms[:3] for label, ms in broken.items() if ms}
    assert not broken, broken
    for label, ms in moves.items():
        assert len(ms) >= 4, (label, ms)
        changed = sum(m["changed"] for m in ms)
        assert changed >= len(ms) // 2, (label, changed, ms)


def browser_helpers():
    """tests/browser's conftest (server and Chromium) as a module of its own, and its lab driver."""
    import importlib.util

    here = REPO / "tests" / "browser"
    spec = importlib.util.spec_from_file_location("bplab_browser_conftest", here / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = conftest  # its dataclasses look their module up
    spec.loader.exec_module(conftest)  # puts tests/browser on sys.path: lab_driver imports
    import lab_driver

    return conftest, lab_driver
