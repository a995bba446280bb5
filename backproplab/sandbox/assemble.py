"""The notebook that is executed: the submission, with every test and read-only cell taken from the source.

Like nbgrader's ``OverwriteCells``, but from the source notebook itself (no gradebook): a cell whose
``grade_id`` is a graded test cell or a read-only cell of the source is replaced by the source's cell (hidden
tests included), whatever the learner made of it; one the learner deleted comes back in source order; of
duplicates only the last copy is kept (as the grading pipeline does); answer cells keep the learner's code
under the source's metadata; a cell claiming a ``grade_id`` the source does not have becomes an ordinary
cell. The graded checks therefore always run, on the learner's functions, exactly as the instructor wrote
them.
"""

from __future__ import annotations

import copy

from .notebook import grade_id, is_graded_test, is_solution, nbgrader_meta, read_notebook, strip_hidden


def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in str(text).strip().splitlines() if line.strip())


def _restored(cell):
    cell = copy.deepcopy(cell)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell


def assemble(source_nb, submission_nb) -> tuple[object, list[str]]:
    """``(notebook to execute, notes)``: what was restored, dropped or ignored, one line each."""
    source = read_notebook(source_nb)
    sub = copy.deepcopy(read_notebook(submission_nb))
    by_id = {grade_id(c): c for c in source.cells if grade_id(c)}
    fixed = {gid for gid, c in by_id.items()
             if is_graded_test(c) or (nbgrader_meta(c).get("locked") and not is_solution(c))}
    notes: list[str] = []
    seen: set[str] = set()
    last = {grade_id(c): i for i, c in enumerate(sub.cells) if grade_id(c) in by_id}
    cells = []
    for index, cell in enumerate(sub.cells):
        gid = grade_id(cell)
        if gid is None and "nbgrader" in cell.get("metadata", {}):
            del cell.metadata["nbgrader"]
        if gid is None:
            cells.append(cell)
            continue
        if gid in last and last[gid] != index:
            if gid not in seen:
                notes.append(f"cell '{gid}' appears more than once: only the last copy is kept")
                seen.add(gid)
            continue
        if gid not in by_id:
            notes.append(f"cell '{gid}' is not part of the assignment: run as an ordinary cell")
            del cell.metadata["nbgrader"]
            cells.append(cell)
            continue
        seen.add(gid)
        src = by_id[gid]
        if gid in fixed:
            if is_graded_test(src) and _norm(cell.source) not in {_norm(src.source),
                                                                    _norm(strip_hidden(src.source, ""))}:
                notes.append(f"test cell '{gid}' was edited: the instructor's version was run")
            cells.append(_restored(src))
        else:  # an answer cell: the learner's code, the source's grading metadata and type
            if cell.cell_type != src.cell_type:
                notes.append(f"answer cell '{gid}' was changed to a {cell.cell_type} cell: changed back")
                new = _restored(src)
                new.source = cell.source
                cell = new
            cell.metadata["nbgrader"] = copy.deepcopy(src.metadata["nbgrader"])
            cells.append(cell)
    # Deleted test and read-only cells come back before the next source cell that is present (at the end
    # when none is).
    order = [grade_id(c) for c in source.cells if grade_id(c)]
    for pos, gid in enumerate(order):
        if gid in seen or gid not in fixed:
            continue
        if is_graded_test(by_id[gid]):
            notes.append(f"test cell '{gid}' was deleted: the instructor's version was run")
        where = {grade_id(c): i for i, c in enumerate(cells) if grade_id(c)}
        following = [g for g in order[pos + 1:] if g in where]
        at = where[following[0]] if following else len(cells)
        cells.insert(at, _restored(by_id[gid]))
        seen.add(gid)
    for cell in cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    sub.cells = cells
    if "kernelspec" in source.metadata:
        sub.metadata["kernelspec"] = copy.deepcopy(source.metadata["kernelspec"])
    return sub, notes
