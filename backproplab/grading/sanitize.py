"""Steps 1 and 2 of grading a notebook: the submission made fit to run against the release.

:func:`sanitize` repairs damaged grading metadata and runs nbgrader's own sanitizing preprocessors
(``ClearOutput``, ``DeduplicateIds``); :func:`assemble` puts the release back where the learner changed it
(nbgrader's ``OverwriteCells`` on the release data the parent read from the gradebook, deleted graded and
read-only cells re-inserted in source order, ``CheckCellMetadata``, the release's kernel). Both only change
the notebook; :mod:`.deviations` says, in one note each, what differed.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

from .course import NotebookInfo


# ------------------------------------------------------------------------------- release data look-ups
class _ReleaseGradebook:
    """The read-only gradebook look-ups ``OverwriteCells`` makes, answered from :class:`NotebookInfo` data."""

    def __init__(self, info: NotebookInfo):
        self.info = info

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def find_source_cell(self, name, notebook, assignment):
        from nbgrader.api import MissingEntry

        cell = self.info.source_cells.get(name)
        if cell is None:
            raise MissingEntry()
        return SimpleNamespace(name=name, **cell)

    def find_graded_cell(self, name, notebook, assignment):
        from nbgrader.api import MissingEntry

        points = self.info.grade_cells.get(name, self.info.task_cells.get(name))
        if points is None:
            raise MissingEntry()
        return SimpleNamespace(name=name, max_score=points)

    def find_notebook(self, name, assignment):
        info = self.info
        return SimpleNamespace(
            name=name,
            kernelspec=info.kernelspec,
            source_cells=[self.find_source_cell(n, name, assignment) for n in info.order],
            grade_cells=[SimpleNamespace(name=n, max_score=p) for n, p in info.grade_cells.items()],
            solution_cells=[SimpleNamespace(name=n) for n in info.solution_cells],
            task_cells=[SimpleNamespace(name=n, max_score=p) for n, p in info.task_cells.items()],
        )


def _restore_cells_class():
    from nbgrader.preprocessors import OverwriteCells

    class RestoreCells(OverwriteCells):
        """nbgrader's ``OverwriteCells`` on release data; deleted graded and read-only cells come back
        in source order (nbgrader's own re-insertion fails when a neighbour is missing too)."""

        info: NotebookInfo

        def preprocess(self, nb, resources):
            self.notebook_id = resources["nbgrader"]["notebook"]
            self.assignment_id = resources["nbgrader"]["assignment"]
            self.gradebook = _ReleaseGradebook(self.info)
            nb, resources = super(OverwriteCells, self).preprocess(nb, resources)
            self.add_missing_cells_in_order(nb)
            self.add_missing_task_cells(nb)
            return nb, resources

        def add_missing_task_cells(self, nb):
            info = self.info
            present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
            for gid in info.order:
                if gid in info.task_cells and gid not in present:
                    src = self.gradebook.find_source_cell(gid, self.notebook_id, self.assignment_id)
                    nb.cells.append(self.missing_cell_transform(src, info.task_cells[gid], is_task=True))

        def report_change(self, name, attr, old, new):
            self.log.info("cell %s: %s restored (was %s, release has %s)", name, attr, new, old)

        def add_missing_cells_in_order(self, nb):
            info = self.info
            order = info.order
            for gid in order:
                present = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(nb.cells)}
                if gid in present:
                    continue
                src = self.gradebook.find_source_cell(gid, self.notebook_id, self.assignment_id)
                if gid in info.grade_cells:
                    cell = self.missing_cell_transform(src, info.grade_cells[gid],
                                                       is_solution=gid in info.solution_cells)
                elif src.locked and gid not in info.solution_cells and gid not in info.task_cells:
                    cell = _locked_cell(src)
                else:
                    continue  # a deleted answer cell stays deleted: its tests will say so
                pos = order.index(gid)
                after = [present[g] for g in order[pos + 1:] if g in present]
                # just before the next release cell present, else at the end (the learner's ungraded cells
                # that followed it in the release stay before it)
                index = after[0] if after else len(nb.cells)
                nb.cells.insert(index, cell)

    return RestoreCells


def _locked_cell(src):
    from nbformat import NotebookNode

    cell = {"cell_type": src.cell_type, "metadata": {"deletable": False, "editable": False, "nbgrader": {
        "grade": False, "solution": False, "locked": True, "grade_id": src.name,
        "checksum": src.checksum, "schema_version": 3}}, "source": src.source}
    if src.cell_type == "code":
        cell["outputs"], cell["execution_count"] = [], None
    return NotebookNode(cell)


def _source_metadata(gid: str, info: NotebookInfo) -> dict:
    src = info.source_cells[gid]
    meta = {"grade": gid in info.grade_cells, "solution": gid in info.solution_cells,
            "locked": bool(src["locked"]), "grade_id": gid, "schema_version": 3, "checksum": src["checksum"]}
    if gid in info.grade_cells:
        meta["points"] = info.grade_cells[gid]
    if gid in info.task_cells:
        meta["task"], meta["points"] = True, info.task_cells[gid]
    return meta


def _set_cell_type(cell, cell_type: str) -> None:
    """``OverwriteCells.update_cell_type`` without its schema check (done later, on the whole notebook)."""
    if cell.cell_type == cell_type:
        return
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.setdefault("outputs", [])
        cell.setdefault("execution_count", None)
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


def _drop_empty_metadata(nb) -> None:
    """``DeduplicateIds`` leaves ``nbgrader: {}`` on the copies it disowns; nbgrader's later steps choke on it."""
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", None) == {}:
            del cell.metadata["nbgrader"]


def _repair_cell(cell, info: NotebookInfo, validator, notes: list[str]) -> None:
    meta = cell.metadata["nbgrader"]
    gid = meta.get("grade_id") if isinstance(meta, dict) else None
    if isinstance(gid, str) and gid in info.source_cells:
        _set_cell_type(cell, info.source_cells[gid]["cell_type"])
    if isinstance(meta, dict) and not meta:
        del cell.metadata["nbgrader"]
        return
    if isinstance(gid, str) and gid not in info.source_cells and isinstance(meta, dict) and (
            meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task")):
        notes.append(f"cell '{gid}' is not part of this notebook's release: graded as an ordinary cell")
        del cell.metadata["nbgrader"]
        return
    try:
        if not isinstance(meta, dict):
            raise ValueError("not a mapping")
        try:
            validator.validate_cell(cell)
        except Exception:
            validator.upgrade_cell_metadata(cell)
            validator.validate_cell(cell)
    except Exception:
        if isinstance(gid, str) and gid in info.source_cells:
            cell.metadata["nbgrader"] = _source_metadata(gid, info)
            notes.append(f"grading metadata of cell '{gid}' was damaged: restored from the release")
        else:
            del cell.metadata["nbgrader"]
            notes.append("a cell's grading metadata was damaged: graded as an ordinary cell")


def sanitize(nb, info: NotebookInfo, resources: dict, config, notes: list[str]):
    """Damaged grading metadata repaired (the release's, or none), outputs cleared, duplicated ids disowned."""
    from nbgrader.nbgraderformat import MetadataValidator
    from nbgrader.preprocessors import ClearOutput, DeduplicateIds

    validator = MetadataValidator()
    for cell in nb.cells:
        if "nbgrader" in cell.metadata:
            _repair_cell(cell, info, validator, notes)
    nb, resources = ClearOutput(config=config)(nb, resources)
    nb, resources = DeduplicateIds(config=config)(nb, resources)
    _drop_empty_metadata(nb)
    return nb, resources


def assemble(nb, info: NotebookInfo, resources: dict, config, notes: list[str]):
    """The release's test, read-only and deleted graded cells, points and kernel put back (nbgrader's
    checksum machinery); the learner's answers kept."""
    from nbgrader.preprocessors import CheckCellMetadata

    kernelspec = json.loads(info.kernelspec) if info.kernelspec else None
    if kernelspec and nb.metadata.get("kernelspec", {}).get("name") not in (None, kernelspec.get("name")):
        notes.append(f"kernel '{nb.metadata['kernelspec'].get('name')}' replaced by the release's "
                     f"'{kernelspec.get('name')}'")
    restore = _restore_cells_class()(config=config)
    restore.info = info
    nb, resources = restore(nb, resources)
    nb, resources = CheckCellMetadata(config=config)(nb, resources)
    if kernelspec:
        nb.metadata["kernelspec"] = kernelspec
    return nb, resources
