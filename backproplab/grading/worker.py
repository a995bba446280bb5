"""Grading one (student, assignment) inside a worker process, without ever opening the gradebook.

A worker is a long-lived process (imports done, configuration loaded, nbconvert exporter warm). For each
task it rebuilds ``autograded/<student>/<assignment>/``, and for each notebook of the assignment:

1. reads the submission (:mod:`.notebooks`), repairs damaged grading metadata, and notes every deviation
   from the release (duplicated, deleted or retyped cells, edited tests, edited points);
2. runs nbgrader's own sanitizing preprocessors (``ClearOutput``, ``DeduplicateIds``, ``OverwriteCells``
   with deleted graded cells added back, ``CheckCellMetadata``) against the release data the parent read
   from the gradebook: edited test cells and points are restored by nbgrader's checksum machinery;
3. executes it in a confined kernel and judges its graded checks outside the kernel (:func:`_run_and_judge`,
   the one place that runs learner code: :mod:`backproplab.sandbox`);
4. runs nbgrader's post-execution preprocessors and computes each graded cell's score with
   ``nbgrader.utils.determine_grade`` (a test cell that never ran scores 0).

The result is plain data; the parent writes it to the gradebook. :func:`render_feedback` turns an
autograded notebook and the grades the parent read back from the gradebook into nbgrader's feedback HTML.
"""

from __future__ import annotations

import contextlib
import ctypes
import html
import json
import logging
import os
import resource
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from types import SimpleNamespace

UNREADABLE_SUFFIX = ".unreadable"

_STATE: dict = {}


# --------------------------------------------------------------------------------------------- set-up
def init_worker(root: str, log_path: str | None = None) -> None:
    """Pool initializer: load the course configuration once; send this process's (and its kernels')
    stderr to ``log_path``."""
    if log_path:
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format=f"[worker {os.getpid()}] %(levelname)s %(name)s: %(message)s")
    from backproplab.nbexec import patch_reply_polling
    from backproplab.sandbox import load_secret

    from . import metadata
    from .course import load_course

    _stop_with_the_parent()
    patch_reply_polling()  # jupyter/nbclient#312, for nbclient and the sandbox in this worker
    metadata.install()  # nbgrader's metadata checks with each schema compiled once (metadata.py)
    course = load_course(Path(root))
    _STATE.clear()
    _STATE.update(course=course, config=course.config,
                  secret=load_secret(Path(course.root) / "autograder" / "grading_secret"))


def _stop_with_the_parent() -> None:
    """SIGTERM ends this worker through ``SystemExit`` (so that the running kernel is shut down on the way
    out), and on Linux the kernel sends it when the parent dies, however it died: no orphaned workers."""
    def exit_on_sigterm(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, exit_on_sigterm)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() == 1:  # the parent died before the line above
            raise SystemExit(1)


def _course():
    if not _STATE:
        raise RuntimeError("init_worker() was not called in this process")
    return _STATE["course"]


# ------------------------------------------------------------------------------- release data look-ups
class _ReleaseGradebook:
    """The read-only gradebook look-ups ``OverwriteCells`` makes, answered from :class:`NotebookInfo` data."""

    def __init__(self, info: dict):
        self.info = info

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def find_source_cell(self, name, notebook, assignment):
        from nbgrader.api import MissingEntry

        cell = self.info["source_cells"].get(name)
        if cell is None:
            raise MissingEntry()
        return SimpleNamespace(name=name, **cell)

    def find_graded_cell(self, name, notebook, assignment):
        from nbgrader.api import MissingEntry

        points = self.info["grade_cells"].get(name, self.info["task_cells"].get(name))
        if points is None:
            raise MissingEntry()
        return SimpleNamespace(name=name, max_score=points)

    def find_notebook(self, name, assignment):
        info = self.info
        return SimpleNamespace(
            name=name,
            kernelspec=info["kernelspec"],
            source_cells=[self.find_source_cell(n, name, assignment) for n in info["order"]],
            grade_cells=[SimpleNamespace(name=n, max_score=p) for n, p in info["grade_cells"].items()],
            solution_cells=[SimpleNamespace(name=n) for n in info["solution_cells"]],
            task_cells=[SimpleNamespace(name=n, max_score=p) for n, p in info["task_cells"].items()],
        )


def _restore_cells_class():
    from nbgrader.preprocessors import OverwriteCells

    class RestoreCells(OverwriteCells):
        """nbgrader's ``OverwriteCells`` on release data; deleted graded and read-only cells come back
        in source order (nbgrader's own re-insertion fails when a neighbour is missing too)."""

        def preprocess(self, nb, resources):
            self.notebook_id = resources["nbgrader"]["notebook"]
            self.assignment_id = resources["nbgrader"]["assignment"]
            self.gradebook = _ReleaseGradebook(resources["backproplab"]["info"])
            nb, resources = super(OverwriteCells, self).preprocess(nb, resources)
            nb, resources = self.add_missing_cells_in_order(nb, resources)
            nb, resources = self.add_missing_task_cells(nb, resources)
            return nb, resources

        def add_missing_task_cells(self, nb, resources):
            info = resources["backproplab"]["info"]
            present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
            for gid in info["order"]:
                if gid in info["task_cells"] and gid not in present:
                    src = self.gradebook.find_source_cell(gid, self.notebook_id, self.assignment_id)
                    nb.cells.append(self.missing_cell_transform(src, info["task_cells"][gid], is_task=True))
            return nb, resources

        def report_change(self, name, attr, old, new):
            self.log.info("cell %s: %s restored (was %s, release has %s)", name, attr, new, old)

        def add_missing_cells_in_order(self, nb, resources):
            info = resources["backproplab"]["info"]
            order = info["order"]
            for gid in order:
                present = {c.metadata.get("nbgrader", {}).get("grade_id"): i for i, c in enumerate(nb.cells)}
                if gid in present:
                    continue
                src = self.gradebook.find_source_cell(gid, self.notebook_id, self.assignment_id)
                if gid in info["grade_cells"]:
                    cell = self.missing_cell_transform(src, info["grade_cells"][gid],
                                                       is_solution=gid in info["solution_cells"])
                elif src.locked and gid not in info["solution_cells"] and gid not in info["task_cells"]:
                    cell = _locked_cell(src)
                else:
                    continue  # a deleted answer cell stays deleted: its tests will say so
                pos = order.index(gid)
                before = [present[g] for g in order[:pos] if g in present]
                after = [present[g] for g in order[pos + 1:] if g in present]
                index = before[-1] + 1 if before else (after[0] if after else len(nb.cells))
                nb.cells.insert(index, cell)
            return nb, resources

    return RestoreCells


def _locked_cell(src):
    from nbformat import NotebookNode

    cell = {"cell_type": src.cell_type, "metadata": {"deletable": False, "editable": False, "nbgrader": {
        "grade": False, "solution": False, "locked": True, "grade_id": src.name,
        "checksum": src.checksum, "schema_version": 3}}, "source": src.source}
    if src.cell_type == "code":
        cell["outputs"], cell["execution_count"] = [], None
    return NotebookNode(cell)


def _source_metadata(gid: str, info: dict) -> dict:
    src = info["source_cells"][gid]
    meta = {"grade": gid in info["grade_cells"], "solution": gid in info["solution_cells"],
            "locked": bool(src["locked"]), "grade_id": gid, "schema_version": 3, "checksum": src["checksum"]}
    if gid in info["grade_cells"]:
        meta["points"] = info["grade_cells"][gid]
    if gid in info["task_cells"]:
        meta["task"], meta["points"] = True, info["task_cells"][gid]
    return meta


# ------------------------------------------------------------------------------------------- diagnosis
def _norm(text: str) -> str:
    return "\n".join(line.rstrip() for line in str(text).strip().splitlines())


def _learner_versions(src: dict) -> set[str]:
    """What an untouched read-only cell may look like: the release copy (hidden tests removed) or the
    instructor's full source."""
    from nbformat import NotebookNode
    from nbgrader.preprocessors import ClearHiddenTests

    versions = {_norm(src["source"])}
    cell = NotebookNode({"source": src["source"]})
    try:
        ClearHiddenTests(config=_STATE.get("config"))._remove_hidden_test_region(cell)
        versions.add(_norm(cell.source))
    except RuntimeError:
        pass
    return versions


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


def _repair_metadata(nb, info: dict, notes: list[str]) -> None:
    """Cells whose grading metadata no longer validates get the release's metadata back (or none)."""
    from nbgrader.nbgraderformat import MetadataValidator

    validator = MetadataValidator()
    for cell in nb.cells:
        if "nbgrader" not in cell.metadata:
            continue
        meta = cell.metadata["nbgrader"]
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if isinstance(gid, str) and gid in info["source_cells"]:
            _set_cell_type(cell, info["source_cells"][gid]["cell_type"])
        if isinstance(meta, dict) and not meta:
            del cell.metadata["nbgrader"]
            continue
        if isinstance(gid, str) and gid not in info["source_cells"] and isinstance(meta, dict) and (
                meta.get("grade") or meta.get("solution") or meta.get("locked") or meta.get("task")):
            notes.append(f"cell '{gid}' is not part of this notebook's release: graded as an ordinary cell")
            del cell.metadata["nbgrader"]
            continue
        try:
            if not isinstance(meta, dict):
                raise ValueError("not a mapping")
            try:
                validator.validate_cell(cell)
            except Exception:
                validator.upgrade_cell_metadata(cell)
                validator.validate_cell(cell)
        except Exception:
            if isinstance(gid, str) and gid in info["source_cells"]:
                cell.metadata["nbgrader"] = _source_metadata(gid, info)
                notes.append(f"grading metadata of cell '{gid}' was damaged: restored from the release")
            else:
                del cell.metadata["nbgrader"]
                notes.append("a cell's grading metadata was damaged: graded as an ordinary cell")


def _diagnose(nb, info: dict, notes: list[str]) -> None:
    """One note per way the submission differs from the release (nbgrader fixes them; we say so)."""
    last: dict[str, object] = {}
    count: dict[str, int] = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if isinstance(gid, str) and gid in info["source_cells"]:
            last[gid] = cell
            count[gid] = count.get(gid, 0) + 1
    for gid in info["order"]:
        src = info["source_cells"][gid]
        kind = ("test cell" if gid in info["grade_cells"] and gid not in info["solution_cells"] else
                "answer cell" if gid in info["solution_cells"] else "read-only cell")
        if gid not in last:
            if gid in info["grade_cells"] or (src["locked"] and gid not in info["task_cells"]):
                notes.append(f"{kind} '{gid}' was deleted: restored from the release")
            else:
                notes.append(f"{kind} '{gid}' was deleted: its exercise scores 0 unless the answer is elsewhere")
            continue
        cell = last[gid]
        if count[gid] > 1:
            notes.append(f"{kind} '{gid}' appears {count[gid]} times: only the last copy is graded")
        if cell.cell_type != src["cell_type"]:
            notes.append(f"{kind} '{gid}' was changed from {src['cell_type']} to {cell.cell_type}: "
                         f"changed back")
        if gid in info["grade_cells"]:
            try:
                points = float(cell.metadata["nbgrader"].get("points"))
            except (TypeError, ValueError, AttributeError):
                points = None
            if points != info["grade_cells"][gid]:
                notes.append(f"points of '{gid}' were changed from {info['grade_cells'][gid]:g} to "
                             f"{cell.metadata['nbgrader'].get('points')}: the release's points count")
        if src["locked"] and gid not in info["solution_cells"] and _norm(cell.source) not in _learner_versions(src):
            notes.append(f"{kind} '{gid}' was edited: the release's version was graded")


# ------------------------------------------------------------------------------------------ grading
def _zero_grades(info: dict) -> dict:
    return {gid: 0.0 for gid in info["grade_cells"]}


def _prepare_destination(task: dict) -> Path:
    """A fresh ``autograded/<student>/<assignment>/`` with the submission's and then the release's
    supporting files (nbgrader's order: the instructor's copies win)."""
    from nbgrader.utils import find_all_files

    course = _course()
    dest = Path(task["autograded_dir"])
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    ignore = list(course.coursedir.ignore) + ["*.ipynb", "*" + UNREADABLE_SUFFIX]
    for folder in (task["submitted_dir"], task["source_dir"]):
        if not os.path.isdir(folder):
            continue
        for filename in find_all_files(folder, ignore):
            target = dest / os.path.relpath(filename, folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target.unlink()
            shutil.copy(filename, target)
    return dest


def _grade_notebook(task: dict, name: str, info: dict, dest: Path) -> dict:
    import nbformat
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader import utils
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        IgnorePattern,
        LimitOutput,
    )

    from .notebooks import Unreadable, read_notebook

    config = _STATE["config"]
    result = {"status": "graded", "grades": _zero_grades(info), "comments": {}, "notes": [],
              "autograded": None, "seconds": 0.0}
    notes = result["notes"]
    path = task["files"].get(name)
    if path is None:
        result["status"] = "missing"
        notes.append(f"no {name}.ipynb was submitted: 0 points")
        return result
    try:
        nb, read_notes = read_notebook(Path(path).read_bytes())
    except Unreadable as exc:
        result["status"] = "unreadable"
        notes.append(f"{exc}: 0 points")
        return result
    notes += read_notes

    resources = {"nbgrader": {"notebook": name, "assignment": task["assignment"], "student": task["student"],
                              "db_url": None}, "backproplab": {"info": info}}
    _diagnose(nb, info, notes)
    _repair_metadata(nb, info, notes)
    kernelspec = json.loads(info["kernelspec"]) if info["kernelspec"] else None
    if kernelspec and nb.metadata.get("kernelspec", {}).get("name") not in (None, kernelspec.get("name")):
        notes.append(f"kernel '{nb.metadata['kernelspec'].get('name')}' replaced by the release's "
                     f"'{kernelspec.get('name')}'")
    nb, resources = ClearOutput(config=config)(nb, resources)
    nb, resources = DeduplicateIds(config=config)(nb, resources)
    _drop_empty_metadata(nb)
    nb, resources = _restore_cells_class()(config=config)(nb, resources)
    nb, resources = CheckCellMetadata(config=config)(nb, resources)
    if kernelspec:
        nb.metadata["kernelspec"] = kernelspec

    run, judged = _run_and_judge(task, name, nb, dest, config)
    nb = run.nb
    result["seconds"] = run.seconds
    if run.problem:
        notes.append(run.problem)
    for pp in (IgnorePattern, ClearMetadataPreprocessor, LimitOutput, CheckCellMetadata):
        nb, resources = pp(config=config)(nb, resources)

    log = logging.getLogger("backproplab.grading.worker")
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if utils.is_grade(cell) and gid in judged:  # the verdict from outside the kernel
            verdict = judged[gid]
            result["grades"][gid] = float(verdict.points)
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=verdict.message + "\n")]
            for finding in getattr(verdict, "findings", None) or []:
                notes.append(f"test cell '{gid}': {getattr(finding, 'message', finding)}")
        elif utils.is_grade(cell) and gid in info["grade_cells"]:
            if (cell.cell_type == "code" and not utils.is_solution(cell) and cell.source.strip()
                    and cell.get("execution_count") is None):
                score = 0.0
                notes.append(f"test cell '{gid}' did not run: 0 points")
            else:
                try:
                    score, _ = utils.determine_grade(cell, log)
                except (ValueError, KeyError, TypeError) as exc:
                    score = 0.0
                    notes.append(f"test cell '{gid}' printed an invalid partial score ({exc}): 0 points")
            result["grades"][gid] = None if score is None else float(score)
        if (utils.is_solution(cell) or utils.is_task(cell)) and gid:
            unchanged = cell.metadata.nbgrader.get("checksum") == utils.compute_checksum(cell)
            result["comments"][gid] = "No response." if unchanged and not utils.is_task(cell) else None

    out = dest / f"{name}.ipynb"
    tmp = dest / f".{name}.ipynb.tmp"
    nbformat.write(nb, str(tmp))
    os.chmod(tmp, 0o664 if _course().coursedir.groupshared else 0o444)
    os.replace(tmp, out)
    result["autograded"] = str(out)
    return result


def _run_and_judge(task: dict, name: str, nb, dest: Path, config):
    """Run the submission in a confined kernel and judge its graded checks outside the kernel.

    Returns ``(execution, {grade_id: CellScore})``: the trusted verdicts of the graded test cells that call
    ``check.<exercise>(...)`` (see autograder/SECURITY.md); other graded cells (plain asserts an instructor
    added) keep nbgrader's in-kernel verdict.
    """
    import tempfile

    from backproplab.sandbox import DEFAULT_LIMITS, derive_seed, execute_confined, score_submission
    from backproplab.sandbox.notebook import graded_test_cells, read_notebook

    coursedir = _course().coursedir
    source = Path(coursedir.root) / coursedir.source_directory / task["assignment"] / f"{name}.ipynb"
    seed = derive_seed(_STATE["secret"], task["student"], task["assignment"], name)
    limits = DEFAULT_LIMITS.with_(cell_timeout=float(config.Execute.timeout or DEFAULT_LIMITS.cell_timeout))
    with tempfile.TemporaryDirectory(prefix="backproplab-records-") as records:
        run = execute_confined(nb, record_dir=records, seed=seed, limits=limits, files_from=dest,
                               env={"NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "Agg",
                                    # N workers already use the N cores: one BLAS thread per kernel
                                    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                                    # figures in the feedback pages when the instructor asks (headless.py)
                                    "BACKPROPLAB_DRAW": os.environ.get("BACKPROPLAB_DRAW", "0")})
        judged = {}
        if source.is_file():
            judgeable = {c.grade_id for c in graded_test_cells(read_notebook(source)) if not c.error}
            if judgeable:
                scores = score_submission(source, run.nb, records, seed)
                judged = {gid: score for gid, score in scores.items() if gid in judgeable}
    return run, judged


def grade_task(task: dict) -> dict:
    """Grade every notebook of one (student, assignment). Never raises: failures become zero scores
    with a reason, so one bad submission cannot stop the batch."""
    start = time.perf_counter()
    out = {"student": task["student"], "assignment": task["assignment"], "checksum": task["checksum"],
           "info_checksum": task["info_checksum"], "notebooks": {}}
    try:
        dest = _prepare_destination(task)
    except Exception as exc:
        dest = None
        setup_error = f"could not prepare {task['autograded_dir']}: {exc}"
    for name, info in task["info"].items():
        try:
            if dest is None:
                raise RuntimeError(setup_error)
            out["notebooks"][name] = _grade_notebook(task, name, info, dest)
        except Exception as exc:
            logging.getLogger("backproplab.grading.worker").error(
                "%s/%s/%s:\n%s", task["student"], task["assignment"], name, traceback.format_exc())
            out["notebooks"][name] = {
                "status": "failed", "grades": _zero_grades(info), "comments": {}, "autograded": None,
                "seconds": 0.0,
                "notes": [f"could not be graded ({type(exc).__name__}: {str(exc).strip()[:200]}): 0 points"]}
    out["seconds"] = time.perf_counter() - start
    out["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["kernel_maxrss_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out["pid"] = os.getpid()
    return out


# ------------------------------------------------------------------------------------------ feedback
def _exporter():
    if "exporter" not in _STATE:
        from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
        from nbgrader.converters import GenerateFeedback

        course = _course()
        from nbconvert.exporters import HTMLExporter

        from .feedback_html import FeedbackExporter

        converter = GenerateFeedback(coursedir=course.coursedir, config=course.config)
        cls = FeedbackExporter if converter.exporter_class is HTMLExporter else converter.exporter_class
        exporter = cls(parent=converter, config=converter.config)
        exporter.register_preprocessor(CSSHTMLHeaderPreprocessor)
        _STATE["exporter"] = exporter
    return _STATE["exporter"]


_RESUBMIT = ("Nothing in this notebook could be graded. Open your work in JupyterLab, run it from the top "
             "(Kernel > Restart Kernel and Run All Cells), save it, and check that the file you submit is the .ipynb "
             "notebook itself; then ask your instructor whether you may submit it again.")


def _notes_cell(notes: list[str]):
    """A Markdown cell for the top of a feedback page: what the grader noticed and did about it."""
    from nbformat.v4 import new_markdown_cell

    lines = "\n".join(f"- {html.escape(note)}" for note in notes)
    return new_markdown_cell(f"**Notes from the grader** (the tests and points of the release are what "
                             f"count):\n\n{lines}")


def _plain_page(title: str, lines: list[str]) -> str:
    body = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    return (f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>\n")


def _hide_hidden_tests(cell) -> None:
    """No hidden test in a feedback page: not in a cell's source (graded cells, or a copy of one), nor in a
    traceback quoting it."""
    from backproplab.sandbox.notebook import strip_hidden

    if "HIDDEN TESTS" in cell.source:
        cell.source = strip_hidden(cell.source)
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error" and any("HIDDEN TESTS" in line for line in output.get("traceback", [])):
            output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]


def render_feedback(task: dict) -> dict:
    """Write ``feedback/<student>/<assignment>/<notebook>.html`` with the gradebook's scores and comments
    (nbgrader's feedback template; a short page when there was nothing to grade)."""
    import nbformat
    from nbgrader import utils


    dest = Path(task["feedback_dir"])
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in task["notebooks"].items():
        out = dest / f"{name}.html"
        tmp = dest / f".{name}.html.tmp"
        try:
            if data.get("autograded") and os.path.isfile(data["autograded"]):
                nb = nbformat.read(data["autograded"], as_version=4)
                for cell in nb.cells:
                    _hide_hidden_tests(cell)
                    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                    found = data["cells"].get(gid, {})
                    if utils.is_solution(cell) or utils.is_task(cell):
                        cell.metadata.nbgrader["comment"] = found.get("comment")
                    if utils.is_grade(cell) or utils.is_task(cell):
                        cell.metadata.nbgrader["score"] = found.get("score", 0.0)
                        cell.metadata.nbgrader["points"] = found.get("max_score", cell.metadata.nbgrader.get("points"))
                if data.get("notes"):
                    nb.cells.insert(0, _notes_cell(data["notes"]))
                resources = {"nbgrader": {"notebook": name, "assignment": task["assignment"],
                                          "student": task["student"],
                                          "score": data["score"] - data["late_penalty"],
                                          "max_score": data["max_score"], "late_penalty": data["late_penalty"]},
                             "metadata": {"path": str(dest)}}
                body, _ = _exporter().from_notebook_node(nb, resources=resources)
            else:
                body = _plain_page(f"{name} (Score: 0 / {data['max_score']:g})",
                                   [*(data.get("notes") or ["Nothing could be graded."]), _RESUBMIT])
            tmp.write_text(body, encoding="utf-8")
            os.chmod(tmp, 0o664 if _course().coursedir.groupshared else 0o644)
            os.replace(tmp, out)
            written.append(str(out))
        except Exception:
            logging.getLogger("backproplab.grading.worker").error(
                "feedback %s/%s/%s:\n%s", task["student"], task["assignment"], name, traceback.format_exc())
    return {"student": task["student"], "assignment": task["assignment"], "written": written}
