"""Reading graded test cells: their points, their ``check.<name>(...)`` calls (with ``ast``), their hidden part."""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field

BEGIN_HIDDEN = "### BEGIN HIDDEN TESTS"
END_HIDDEN = "### END HIDDEN TESTS"
HIDDEN_PLACEHOLDER = "# (hidden tests: not shown)"


def read_notebook(notebook):
    """A notebook node from a path or a node (nodes are returned as they are)."""
    import nbformat

    if isinstance(notebook, (str, os.PathLike)):
        return nbformat.read(os.fspath(notebook), as_version=4)
    if isinstance(notebook, dict) and not isinstance(notebook, nbformat.NotebookNode):
        return nbformat.from_dict(notebook)
    return notebook


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_graded_test(cell) -> bool:
    """An autograded test cell: nbgrader ``grade: true`` code cell that is not an answer cell."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_solution(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def grade_id(cell) -> str | None:
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


@dataclass(frozen=True)
class CheckCall:
    """One ``check.<name>(fn, graded=True[, hidden=True])`` call of a graded test cell."""

    name: str
    hidden: bool
    line: int
    seed: int | None = None  # an explicit ``seed=<int>`` of the call (the grader's seed otherwise)


@dataclass
class GradedCell:
    """A graded test cell of the source notebook."""

    grade_id: str
    source: str
    points: float
    calls: list[CheckCall] = field(default_factory=list)
    error: str | None = None  # why the cell cannot be judged outside the kernel


def check_calls(source: str) -> list[CheckCall]:
    """Every ``check.<name>(...)`` call in ``source`` (hidden when it passes ``hidden=True``).

    Raises ``SyntaxError`` for code that does not parse."""
    calls = [CheckCall(node.func.attr, hidden, node.lineno, seed) for node, hidden, seed in _check_nodes(source)]
    return sorted(calls, key=lambda c: c.line)


def _check_nodes(source: str):
    """``(node, hidden, seed)`` for every ``check.<name>(...)`` call of ``source`` (``seed``: an int literal or
    None). Raises ``SyntaxError`` for code that does not parse."""
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "check"):
            continue
        hidden = any(k.arg == "hidden" and isinstance(k.value, ast.Constant) and bool(k.value.value)
                     for k in node.keywords)
        seed = next((k.value.value for k in node.keywords if k.arg == "seed" and isinstance(k.value, ast.Constant)
                     and type(k.value.value) is int), None)
        yield node, hidden, seed


def with_cell_seeds(nb, seed: int):
    """``nb`` with every hidden ``check.<name>(...)`` call of its graded test cells given the cell's own seed
    (:func:`backproplab.sandbox.seeds.cell_seed`) unless it passes one: ``check.x(x, graded=True, hidden=True)``
    becomes ``check.x(x, graded=True, hidden=True, seed=123)``. The text is edited in place, comments and the
    hidden tests' markers kept; a cell that does not parse is left as it is."""
    from .seeds import cell_seed

    for cell in nb.cells:
        if not is_graded_test(cell):
            continue
        try:
            ends = [(node.end_lineno, node.end_col_offset) for node, hidden, _ in _check_nodes(cell.source)
                    if hidden and not any(k.arg == "seed" for k in node.keywords)]
        except SyntaxError:
            continue
        if not ends:
            continue
        lines = cell.source.splitlines(keepends=True)
        text = f", seed={cell_seed(seed, nbgrader_meta(cell).get('grade_id', ''))}"
        for line, col in sorted(ends, reverse=True):  # the call ends with its ")": insert before it
            raw = lines[line - 1].encode()
            at = len(raw[:col - 1].decode())
            lines[line - 1] = lines[line - 1][:at] + text + lines[line - 1][at:]
        cell.source = "".join(lines)
    return nb


def graded_test_cells(source_nb) -> list[GradedCell]:
    """The graded test cells of a (trusted) source notebook, in order, with their check calls."""
    from backproplab.checks import REGISTRY

    cells = []
    for cell in read_notebook(source_nb).cells:
        if not is_graded_test(cell):
            continue
        gid = grade_id(cell) or f"cell-{cell.get('id', len(cells))}"
        try:
            points = float(nbgrader_meta(cell).get("points", 0) or 0)
        except (TypeError, ValueError):
            points = 0.0
        graded = GradedCell(gid, cell.source, points)
        try:
            graded.calls = check_calls(cell.source)
        except SyntaxError as exc:
            graded.error = f"the test cell does not parse ({exc.msg}, line {exc.lineno})"
        else:
            unknown = sorted({c.name for c in graded.calls if c.name not in REGISTRY})
            if unknown:
                graded.error = f"unknown check(s): {', '.join(unknown)}"
            elif not graded.calls:
                graded.error = "the test cell calls no check.<name>(...), so it cannot be judged outside the kernel"
        cells.append(graded)
    return cells


_HIDDEN_RE = re.compile(r"^[ \t]*" + re.escape(BEGIN_HIDDEN) + r".*?^[ \t]*" + re.escape(END_HIDDEN) + r"[^\n]*\n?",
                        re.MULTILINE | re.DOTALL)


def strip_hidden(source: str, placeholder: str = HIDDEN_PLACEHOLDER) -> str:
    """``source`` with every hidden-tests region replaced by ``placeholder`` (one line; ``""``: removed, as in
    the released notebook). An unclosed region runs to the end."""
    line = placeholder + "\n" if placeholder else ""
    out = _HIDDEN_RE.sub(line, source)
    if BEGIN_HIDDEN in out:
        out = out[:out.index(BEGIN_HIDDEN)] + line
    return out.rstrip("\n")
