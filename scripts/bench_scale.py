"""Scale benchmark of the distributed grading path (``make bench``; docs/scale.md turns it into a capacity model).

Two measurements, side by side in one run, on the same local Dask cluster the grader uses by default:

1. **Real grading** of ``--students`` synthetic submissions (the test fixture's two-exercise notebook, correct,
   partial and blank answers) through ``backproplab grade``: throughput per core, the seconds a worker spends
   per submission, peak memory per worker (the worker's and its kernels' maxrss) and the coordinator's time
   outside the workers (gradebook writes, feedback tasks).
2. **Scheduler overhead per task**: ``--tasks`` (default 2,000) tasks of the same shape (a GradingTask-sized
   argument and a TaskResult-sized answer: the bytes a course notebook's task and result carry now that the
   files travel with the tasks, ``python -m scripts.task_bytes``) that do no work, through the same kind of
   cluster: what Dask costs per task, as a share of the real grading time per submission (goal: <= 5 %).

    python -m scripts.bench_scale [--students 24] [--tasks 2000] [--jobs 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _class(root: Path, folder: Path, students: int) -> Path:
    from tests.grading.classbuilder import FIXTURE, blank, dumps, partial, solution, write_tree

    kinds = [solution(root), partial(root, FIXTURE, ["ex-cube"]), blank(root)]
    return write_tree(folder, {f"s{k:05d}/{FIXTURE}.ipynb": dumps(kinds[k % 3]) for k in range(students)})


def grade_class(students: int, jobs: int) -> dict:
    from backproplab.grading import pipeline
    from tests.grading.classbuilder import make_course

    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    root = make_course(tmp)
    export = _class(root, tmp / "export", students)
    results = []
    on_graded, flush = pipeline._Run.on_graded, pipeline._Run.flush

    inside = []

    def spy(self, gb, result):  # measurement only: the results the workers return, as they arrive
        results.append(result)
        started = time.perf_counter()
        inside.append(1)
        try:
            out = on_graded(self, gb, result)
        finally:
            inside.pop()
        writes.append(time.perf_counter() - started)
        return out

    def spy_flush(self, gb, when="final"):  # the batched gradebook writes count in the coordinator's time too
        started = time.perf_counter()
        out = flush(self, gb, when)
        if not inside:  # (a flush that on_graded made is in its time already)
            writes.append(time.perf_counter() - started)
        return out

    writes: list[float] = []
    pipeline._Run.on_graded, pipeline._Run.flush = spy, spy_flush
    try:
        start = time.perf_counter()
        pipeline.grade(export, root=root, jobs=jobs, out=tmp / "reports", release=False, stdout=None, stderr=None)
        wall = time.perf_counter() - start
    finally:
        pipeline._Run.on_graded, pipeline._Run.flush = on_graded, flush
    busy = sum(r.seconds for r in results)
    per_worker: dict[int, int] = {}
    for r in results:
        per_worker[r.pid] = max(per_worker.get(r.pid, 0), r.maxrss_kb + r.kernel_maxrss_kb)
    return {"students": len(results), "wall": wall, "busy": busy, "per_task": busy / max(1, len(results)),
            "write": sum(writes) / max(1, len(results)),
            "peak_mb": max(per_worker.values(), default=0) / 1024, "workers": len(per_worker)}


#: Bytes a course notebook's grading task and its result carry (the mean over the course's notebooks measured
#: by ``python -m scripts.task_bytes``: 66 KB a task, 40 KB a result)
TASK_BYTES, RESULT_BYTES = 66_000, 40_000


def _noop(task):
    return {"student": task["student"], "notebooks": {"nb": {"grades": dict.fromkeys(task["cells"], 1.0),
                                                             "notebook": b"x" * RESULT_BYTES}}}


def scheduler_overhead(tasks: int, jobs: int) -> float:
    """Seconds of wall time per task, per worker, for tasks that do nothing (Dask's own cost)."""
    from distributed import Client, LocalCluster, as_completed

    with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        client.wait_for_workers(jobs)
        payload = [{"student": f"s{k:05d}", "cells": [f"test-{j}" for j in range(12)], "files": os.urandom(TASK_BYTES)}
                   for k in range(tasks)]
        start = time.perf_counter()
        for future in as_completed(client.submit(_noop, p, pure=False) for p in payload):
            future.result()
        return (time.perf_counter() - start) * jobs / tasks


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=24)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    args = parser.parse_args(argv)
    graded = grade_class(args.students, args.jobs)
    overhead = scheduler_overhead(args.tasks, args.jobs)
    print(f"real grading: {graded['students']} submissions on {args.jobs} workers in {graded['wall']:.1f} s "
          f"({graded['students'] / graded['wall'] / args.jobs * 3600:.0f} submissions per core-hour wall, "
          f"load {os.getloadavg()[0]:.1f})")
    print(f"  worker time per submission: {graded['per_task']:.2f} s; coordinator per result "
          f"(gradebook write + feedback task): {graded['write'] * 1000:.0f} ms")
    print(f"  peak memory per worker (worker + its largest kernel, maxrss): {graded['peak_mb']:.0f} MB "
          f"({graded['workers']} workers)")
    print(f"scheduler: {args.tasks} empty tasks, {overhead * 1000:.1f} ms per task per worker = "
          f"{overhead / graded['per_task'] * 100:.2f} % of a submission's grading time (goal <= 5 %)")


if __name__ == "__main__":
    main()
