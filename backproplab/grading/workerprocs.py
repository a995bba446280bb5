"""The worker processes of a local cluster, forked from one process that has imported what a grading worker
imports, instead of each a fresh interpreter.

Dask starts each worker of a ``LocalCluster`` with multiprocessing's ``spawn``: a new interpreter that imports
``distributed`` and then, to grade, nbgrader, nbconvert, nbclient and the grader (about 1.8 s of CPU time per
worker, measured: ``python -c "import distributed, nbgrader.preprocessors, ..."``), for every run. With
:func:`forked_workers` the cluster's workers come from multiprocessing's ``forkserver``: one process imports
all that once per run (:data:`PRELOAD`), each worker is a fork of it (milliseconds). A ``--jobs N`` run saves
``N - 1`` interpreters' start-up.

The fork server is started by the cluster of this run (with this process's environment and working folder of
that moment, which a spawned worker would get too) and stopped at its end, after it has reaped its workers: no
process outlives the run, the next run's workers see the environment of then, and the workers' CPU time is
counted in this process's children, as a spawned worker's is.
"""

from __future__ import annotations

import contextlib
import time

#: What the fork server imports before forking the workers (an import that fails is skipped by multiprocessing).
PRELOAD = ["backproplab.grading.forkserver_quiet",  # first: a fork whose grader has gone ends in silence
           "distributed", "distributed.nanny", "distributed.worker", "backproplab.grading.worker",
           "backproplab.grading.steps", "backproplab.grading.shipping", "backproplab.grading.sanitize",
           "backproplab.grading.deviations", "backproplab.grading.notebooks", "backproplab.grading.feedback",
           "backproplab.grading.metadata", "backproplab.nbexec", "backproplab.sandbox.execute",
           "backproplab.sandbox.kernelclient", "backproplab.sandbox.scoring", "backproplab.sandbox.scan",
           "nbgrader.preprocessors", "nbgrader.utils", "nbconvert", "nbconvert.preprocessors", "nbclient",
           "jupyter_client", "nbformat",
           # what a worker imported at its first task before these were here (issue 20, profiled with py-spy:
           # the checks and their references for judging, IPython and ipykernel's kernel spec for the kernel
           # manager, the feedback page's sanitizer and Markdown): once per run instead of once per worker
           "backproplab.checks", "backproplab.trusted", "numpy.random", "IPython", "ipykernel.kernelspec",
           "backproplab.grading.budgets", "backproplab.grading.feedback_html", "backproplab.release",
           "backproplab.sandbox.enter", "backproplab.sandbox.landlock", "bleach", "bleach.sanitizer",
           "bleach._vendor.html5lib.treebuilders.etree", "bleach._vendor.html5lib.treewalkers.etree", "mistune",
           "mistune.plugins.def_list", "mistune.plugins.task_lists", "mistune.plugins.url", "jinja2.ext",
           "pygments.unistring"]


@contextlib.contextmanager
def forked_workers():
    """While inside, a ``LocalCluster`` started here forks its worker processes from a preloaded fork server."""
    import multiprocessing

    import dask
    from distributed import utils

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    # distributed sets its own list (its dependencies) the first time it uses the context, unless told it did
    utils._forkserver_preload_set = True
    try:
        with dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"}):
            yield
    finally:
        stop_fork_server()


def stop_fork_server(wait: float = 5.0) -> None:
    """Stop multiprocessing's fork server once it has reaped its children (at most ``wait`` seconds)."""
    from multiprocessing import forkserver

    from backproplab.sandbox.processes import children_of

    server = forkserver._forkserver
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return
    deadline = time.monotonic() + wait
    while children_of().get(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(Exception):
        server._stop()
