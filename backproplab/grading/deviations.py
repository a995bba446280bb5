"""How a submission differs from its release, one note per difference (nbgrader repairs them; we say so).

A note names what the learner did and what the grader did about it: a deleted, duplicated or retyped cell,
an edited test or read-only cell, changed points. :func:`diagnose` only reads the notebook.
"""

from __future__ import annotations

from backproplab.sandbox.notebook import strip_hidden

from .course import NotebookInfo


def comparable_source(text: str) -> str:
    """A cell's source as compared with the release's: outer blank lines and trailing spaces ignored (blank
    lines inside count)."""
    return "\n".join(line.rstrip() for line in str(text).strip().splitlines())


def learner_versions(source: str) -> set[str]:
    """What an untouched read-only cell may look like: the instructor's full source or the released copy
    (hidden tests removed)."""
    return {comparable_source(source), comparable_source(strip_hidden(source, ""))}


def _kind(gid: str, info: NotebookInfo) -> str:
    if gid in info.grade_cells and gid not in info.solution_cells:
        return "test cell"
    return "answer cell" if gid in info.solution_cells else "read-only cell"


def _last_copies(nb, info: NotebookInfo) -> tuple[dict, dict]:
    last: dict[str, object] = {}
    count: dict[str, int] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if isinstance(gid, str) and gid in info.source_cells:
            last[gid] = cell
            count[gid] = count.get(gid, 0) + 1
    return last, count


def diagnose(nb, info: NotebookInfo, notes: list[str]) -> None:
    """Append one note per way ``nb`` differs from the release ``info``."""
    last, count = _last_copies(nb, info)
    for gid in info.order:
        src = info.source_cells[gid]
        kind = _kind(gid, info)
        if gid not in last:
            if gid in info.grade_cells or (src["locked"] and gid not in info.task_cells):
                notes.append(f"{kind} '{gid}' was deleted: restored from the release")
            else:
                notes.append(f"{kind} '{gid}' was deleted: its exercise scores 0 unless the answer is elsewhere")
            continue
        cell = last[gid]
        if count[gid] > 1:
            notes.append(f"{kind} '{gid}' appears {count[gid]} times: only the last copy is graded")
        if cell.cell_type != src["cell_type"]:
            notes.append(f"{kind} '{gid}' was changed from {src['cell_type']} to {cell.cell_type}: changed back")
        if gid in info.grade_cells:
            try:
                points = float(cell.metadata["nbgrader"].get("points"))
            except (TypeError, ValueError, AttributeError):
                points = None
            if points != info.grade_cells[gid]:
                notes.append(f"points of '{gid}' were changed from {info.grade_cells[gid]:g} to "
                             f"{cell.metadata['nbgrader'].get('points')}: the release's points count")
        if (src["locked"] and gid not in info.solution_cells
                and comparable_source(cell.source) not in learner_versions(src["source"])):
            notes.append(f"{kind} '{gid}' was edited: the release's version was graded")
