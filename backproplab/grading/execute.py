"""Running a submission's code: the one place where a learner's notebook meets a kernel.

:func:`execute_notebook` takes a sanitized notebook (nbgrader's test cells and points already restored)
and runs every code cell in a fresh kernel whose working directory is the submission's ``autograded``
folder, exactly as ``nbgrader autograde`` does (nbgrader's own ``Execute`` preprocessor, its timeout and
error handling, ``NBGRADER_EXECUTION=autograde``). It returns the executed notebook and, when the run
ended early, why. Nothing else in the grader starts kernels, so sandboxing (resource limits, another user)
or moving the verdict out of the kernel plugs in here.
"""

from __future__ import annotations

import copy
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass


@dataclass
class Execution:
    nb: object  # the same NotebookNode, executed in place
    problem: str | None  # why the run stopped early, None when every cell ran
    seconds: float


#: Environment of grading kernels on top of the worker's: nbgrader's marker; no figure rendering (grades
#: never depend on figures; Agg makes plotting cells cheap and autograded notebooks small); one BLAS thread
#: per kernel (N workers already use the N cores: threaded BLAS in every kernel only oversubscribes them).
KERNEL_ENV = {"NBGRADER_EXECUTION": "autograde", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0",
              "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def execute_notebook(nb, *, cwd: str, config) -> Execution:
    """Run ``nb`` in a new kernel started in ``cwd``; never raises for what the learner's code does."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbgrader.preprocessors import Execute
    from nbgrader.preprocessors.execute import UnresponsiveKernelError

    start = time.perf_counter()
    saved = {key: os.environ.get(key) for key in KERNEL_ENV}
    os.environ.update(KERNEL_ENV)
    # Unix sockets, not TCP ports: kernels started at the same moment by parallel workers cannot pick the
    # same port (a client then talks to another worker's kernel and waits for a reply until the timeout).
    sockets = tempfile.mkdtemp(prefix="backproplab-kernel-")
    config = copy.deepcopy(config)
    config.KernelManager.transport = "ipc"
    config.KernelManager.ip = os.path.join(sockets, "k")  # absolute: the kernel runs in another folder
    # the kernel holds nothing worth a graceful shutdown: kill it as soon as the last cell ran
    executor = Execute(config=config, shutdown_kernel="immediate")
    marks: list[tuple[float, int]] = []
    executor.on_cell_start = lambda cell, cell_index, **kw: marks.append((time.perf_counter(), cell_index))
    problem = None
    try:
        executor.preprocess(nb, {"metadata": {"path": cwd}})
    except DeadKernelError:
        problem = "the kernel died (a crash or out of memory)"
    except (CellTimeoutError, UnresponsiveKernelError, TimeoutError):
        problem = "the kernel stopped responding (an endless loop?)"
    except Exception as exc:  # nbclient's start-up and protocol errors: the notebook could not run
        problem = f"could not run the notebook: {type(exc).__name__}: {str(exc).strip()[:160]}"
    finally:
        shutil.rmtree(sockets, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    end = time.perf_counter()
    if end - start > 20 and marks:  # where the time went, for grading.log (the worker's stderr)
        gaps = [(b[0] - a[0], a[1]) for a, b in zip(marks, marks[1:], strict=False)]
        worst = max(gaps, default=(0.0, -1))
        print(f"slow notebook in {cwd}: {end - start:.1f} s: start-up {marks[0][0] - start:.1f} s, "
              f"slowest cell {worst[1]} {worst[0]:.1f} s, after the last cell {end - marks[-1][0]:.1f} s",
              file=sys.stderr, flush=True)
    return Execution(nb=nb, problem=problem, seconds=end - start)
