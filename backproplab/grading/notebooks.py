"""Reading what learners hand in: anything from a good notebook to a renamed PDF.

:func:`read_notebook_bytes` either returns an nbformat-4 notebook (old formats converted, small damage repaired,
each repair noted) or raises :class:`Unreadable` with a one-line reason for the report.
"""

from __future__ import annotations

import json
import warnings

MAX_BYTES = 100 * 1024 * 1024  # nbgrader's default CourseDirectory.max_file_size (100000 KB)


class Unreadable(ValueError):
    """The file cannot be graded as a notebook; the message says why, in one line."""


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:160] if text else type(exc).__name__


def read_notebook_bytes(data: bytes) -> tuple[object, list[str]]:
    """``(notebook, notes)`` from the raw bytes of a submission, or :class:`Unreadable`."""
    import nbformat

    notes: list[str] = []
    if len(data) > MAX_BYTES:
        raise Unreadable(f"not graded: the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    if not data.strip():
        raise Unreadable("not a notebook: the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Unreadable("not a notebook: the file is not text (a PDF, an image or an archive?)") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unreadable(f"not a notebook: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(obj, dict) or not ("cells" in obj or "worksheets" in obj):
        raise Unreadable("not a notebook: JSON without notebook cells")
    major = obj.get("nbformat")
    if not isinstance(major, int) or major < 1:
        raise Unreadable("not a notebook: no nbformat version in the file")
    if major > 4:
        raise Unreadable(f"not a notebook this nbgrader reads: nbformat {major}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.from_dict(nbformat.reads(text, as_version=4))
    except Exception as exc:  # nbformat raises many kinds on damaged files
        raise Unreadable(f"not a notebook: {_short(exc)}") from None
    if major < 4:
        notes.append(f"nbformat {major} notebook, converted to nbformat 4")
    notes += _repair(nb)
    return nb, notes


def _repair(nb) -> list[str]:
    """Fix the structural damage hand-edited JSON shows (missing keys, odd types) so nbgrader can run."""
    from nbformat import NotebookNode

    notes = []
    fixed = 0
    kept = []
    for cell in nb.get("cells", []):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            fixed += 1
            continue
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = NotebookNode()
            fixed += 1
        source = cell.get("source", "")
        if isinstance(source, list):
            cell["source"] = "".join(str(s) for s in source)
        elif not isinstance(source, str):
            cell["source"] = ""
            fixed += 1
        if cell["cell_type"] == "code":
            if not isinstance(cell.get("outputs"), list):
                cell["outputs"] = []
                fixed += 1
            cell.setdefault("execution_count", None)
        kept.append(cell)
    nb["cells"] = kept
    if not isinstance(nb.get("metadata"), dict):
        nb["metadata"] = NotebookNode()
    if fixed:
        notes.append(f"repaired {fixed} damaged cell field(s) in the notebook file")
    return notes


def grade_ids(nb) -> list[str]:
    """nbgrader grade ids of the cells, in order (duplicates kept)."""
    ids = []
    for cell in nb.get("cells", []):
        meta = cell.get("metadata", {}).get("nbgrader") if isinstance(cell, dict) else None
        if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
            ids.append(meta["grade_id"])
    return ids


def peek_grade_ids(data: bytes) -> set[str]:
    """Grade ids of a file's cells, without any validation ({} when it is not a notebook)."""
    try:
        obj = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return set()
    if not isinstance(obj, dict):
        return set()
    cells = obj.get("cells")
    if cells is None:  # nbformat 3
        cells = [c for ws in obj.get("worksheets", []) if isinstance(ws, dict) for c in ws.get("cells", [])]
    if not isinstance(cells, list):
        return set()
    return set(grade_ids({"cells": [c for c in cells if isinstance(c, dict)]}))
