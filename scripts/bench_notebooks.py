"""Execute notebooks and time them; also the single-run validator used by tests/test_pipeline.py.

    python -m scripts.bench_notebooks                   # every solutions/*/*.ipynb
    python -m scripts.bench_notebooks --course          # every course/*/*.ipynb (stubs: errors allowed)
    python -m scripts.bench_notebooks 03_backward_pass  # some of them

Prints the seconds each notebook takes to execute top to bottom in a fresh kernel (nbclient, kernel
start included), wall clock and CPU time of the kernel, and the totals.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

from backproplab.nbexec import patch_reply_polling

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60  # seconds per cell (a cell of this course takes well under 2 s)


def notebooks(folder: Path, names: list[str] | None = None) -> list[Path]:
    found = sorted(folder.glob("*/*.ipynb"))
    if names:
        found = [p for p in found if p.parent.name in names or p.stem in names]
    return [p for p in found if ".ipynb_checkpoints" not in p.parts]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def execute(path: Path, timeout: int = TIMEOUT, allow_errors: bool = False) -> tuple[float, float, list[str]]:
    """Run one notebook with nbclient in its own folder.

    Returns (wall seconds, CPU seconds of the kernel process, ["cell-id: Error: message", ...]). The CPU
    time (kernel start included) barely depends on what else the machine is doing; the wall time does.
    """
    import nbclient
    import nbformat

    patch_reply_polling()
    Client = nbclient.NotebookClient
    nb = nbformat.read(path, as_version=4)
    client = Client(nb, timeout=timeout, allow_errors=allow_errors,
                                     resources={"metadata": {"path": str(path.parent)}})
    cpu, start = _children_cpu(), time.perf_counter()
    client.execute()  # starts a kernel, runs every cell, shuts the kernel down (and reaps it)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    errors = [f"{cell.get('id', i)}: {out.ename}: {out.evalue}"
              for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.output_type == "error"]
    return seconds, cpu, errors


def _cell_seconds(cell) -> float | None:
    """Execution time nbclient recorded in the cell's metadata (busy to idle), if any."""
    from datetime import datetime

    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start, end = (datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                      for k in ("iopub.status.busy", "iopub.status.idle"))
    except (KeyError, ValueError, AttributeError):
        return None
    return (end - start).total_seconds()


def validate(path: str | Path, invert: bool = False, timeout: int = TIMEOUT, draw: bool = True) -> dict:
    """Execute ``path`` once with nbgrader's ``Validator`` and summarise every cell.

    ``draw=True`` draws every figure and explorer as a learner's kernel does (``BACKPROPLAB_DRAW=1``); with
    ``False`` the kernel runs headless, as under the autograder (:mod:`backproplab.headless`).

    Returns a picklable dict: ``results`` (what ``Validator.validate`` returns: ``failed`` /
    ``passed`` (when ``invert``) / ``changed`` / ``type_changed`` lists), ``seconds``, and ``cells``:
    one dict per cell with its id, type, nbgrader role, the score of grade cells and the errors it raised.
    """
    from nbgrader import utils
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, Execute
    from nbgrader.validator import Validator
    from traitlets.config import Config

    executed = {}

    patch_reply_polling()
    os.environ["BACKPROPLAB_DRAW"] = "1" if draw else "0"  # the kernel inherits this process's environment

    class RecordingValidator(Validator):
        # nbgrader's own list (Execute made robust to jupyter/nbclient#312 by patch_reply_polling)
        preprocessors = [CheckCellMetadata, ClearOutput, Execute]

        def _preprocess(self, nb):  # keep the executed notebook (nbgrader 0.9 runs it exactly here)
            executed["nb"] = super()._preprocess(nb)
            return executed["nb"]

    config = Config()
    config.Execute.timeout = timeout
    validator = RecordingValidator(config=config, invert=invert)
    start = time.perf_counter()
    results = validator.validate(str(Path(path).resolve()))
    seconds = time.perf_counter() - start
    cells = []
    for index, cell in enumerate(executed.get("nb", {"cells": []})["cells"]):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        summary = {
            "index": index, "id": cell.get("id", str(index)), "cell_type": cell.cell_type,
            "grade_id": meta.get("grade_id"), "solution": utils.is_solution(cell), "grade": utils.is_grade(cell),
            "score": None, "max_score": None, "errors": [],
            "source": cell.source, "seconds": _cell_seconds(cell),
        }
        if cell.cell_type == "code":
            summary["errors"] = [{"ename": o.ename, "evalue": o.evalue} for o in cell.outputs
                                 if o.output_type == "error"]
            if summary["grade"]:
                summary["score"], summary["max_score"] = utils.determine_grade(cell, validator.log)
        cells.append(summary)
    return {"path": str(path), "results": dict(results), "seconds": seconds, "cells": cells,
            "executed": "nb" in executed}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="assignment names (default: all)")
    parser.add_argument("--course", action="store_true", help="time course/ (learner stubs) instead of solutions/")
    parser.add_argument("--timeout", type=int, default=TIMEOUT, help="seconds per cell (default: %(default)s)")
    args = parser.parse_args(argv)

    folder = ROOT / ("course" if args.course else "solutions")
    paths = notebooks(folder, args.names)
    if not paths:
        print(f"no notebooks found in {folder}", file=sys.stderr)
        return 1
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    total = total_cpu = 0.0
    status = 0
    width = max(len(str(p.relative_to(ROOT))) for p in paths)
    print(f"{'notebook':<{width}}  {'wall':>8}  {'kernel CPU':>10}", flush=True)
    for path in paths:
        seconds, cpu, errors = execute(path, args.timeout, allow_errors=True)
        total, total_cpu = total + seconds, total_cpu + cpu
        print(f"{str(path.relative_to(ROOT)):<{width}}  {seconds:6.2f} s  {cpu:8.2f} s"
              + (f"  ({len(errors)} cell error(s))" if errors else ""), flush=True)
        if errors and not args.course:
            status = 1
            for error in errors:
                print(f"    {error}")
    print(f"{'total':<{width}}  {total:6.2f} s  {total_cpu:8.2f} s  (load average {os.getloadavg()[0]:.1f})")
    return status


if __name__ == "__main__":
    sys.exit(main())
