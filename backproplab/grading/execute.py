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


#: Longest single wait on a kernel socket. pyzmq's asyncio poller can miss the wake-up of a message that
#: arrived (seen about once in 30 runs with two kernels at once): the wait then lasts the whole cell timeout
#: although the reply is there. Waiting in slices re-checks the socket every ``WAIT_SLICE`` seconds.
WAIT_SLICE = 0.5


def _sliced(get_msg):
    from queue import Empty

    async def get_msg_in_slices(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = WAIT_SLICE if deadline is None else min(WAIT_SLICE, max(0.0, deadline - time.monotonic()))
            try:
                return await get_msg(timeout=left)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get_msg_in_slices


def _executor_class():
    from nbclient.util import ensure_async, run_hook, run_sync
    from nbgrader.preprocessors import Execute

    class SlicedExecute(Execute):
        """nbgrader's ``Execute``, its kernel client waiting in slices (:data:`WAIT_SLICE`)."""

        async def async_start_new_kernel_client(self):  # nbclient 0.10's, plus the slicing
            try:
                self.kc = self.km.client()
                for channel in (self.kc.shell_channel, self.kc.iopub_channel, self.kc.control_channel):
                    channel.get_msg = _sliced(channel.get_msg)
                await ensure_async(self.kc.start_channels())
                await ensure_async(self.kc.wait_for_ready(timeout=self.startup_timeout))
            except Exception as exc:
                self.log.error("Error occurred while starting new kernel client for kernel %s: %s",
                               getattr(self.km, "kernel_id", None), exc)
                await self._async_cleanup_kernel()
                raise
            self.kc.allow_stdin = False
            await run_hook(self.on_notebook_start, notebook=self.nb)
            return self.kc

        start_new_kernel_client = run_sync(async_start_new_kernel_client)

    return SlicedExecute


def execute_notebook(nb, *, cwd: str, config) -> Execution:
    """Run ``nb`` in a new kernel started in ``cwd``; never raises for what the learner's code does."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
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
    executor = _executor_class()(config=config, shutdown_kernel="immediate")
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
