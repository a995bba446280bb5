"""What one graded notebook costs, piece by piece, in CPU seconds (issue 20; docs/scale.md): the same submission
graded ``--repeat`` times in this process through the one path (:func:`backproplab.grading.steps.grade_notebook`,
the kernel forked from this process's kernel template), then its feedback page rendered as often. Prints per
notebook the grading process's CPU time (reading, sanitizing, talking to the kernel, judging, writing), the
kernel's (its start and its cells: the template's own and its reaped children's, from ``/proc``), the feedback
page's, and the wall time; and the same for an empty notebook's kernel (the start alone).

    .venv/bin/python -m scripts.notebook_cost [--notebook 01_chain_rule] [--repeat 12] [--loop]

``--loop``: the submission starts its first answer with ``while True: pass`` (scripts/bench.py's looping
class), to see what a looping notebook costs beyond its budget. To measure another checkout the same way, put
it first on ``PYTHONPATH`` (this script then imports that one's package and tests).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))  # after PYTHONPATH: a checkout put there is the one measured


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _template_cpu() -> float:
    """CPU seconds of this process's kernel template and of the kernels it has reaped."""
    from backproplab.sandbox import forked

    total = 0.0
    for template in forked.templates():
        with open(f"/proc/{template.process.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        total += sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")  # utime stime cutime cstime
    return total


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", default="01_chain_rule")
    parser.add_argument("--repeat", type=int, default=12)
    parser.add_argument("--loop", action="store_true", help="the submission loops in its first answer cell")
    args = parser.parse_args(argv)

    from nbformat.v4 import new_markdown_cell, new_notebook

    from backproplab.grading import feedback, steps, worker
    from backproplab.grading.budgets import Budget
    from backproplab.grading.course import load_course, read_assignment_info, register_assignments
    from backproplab.grading.protocol import CellGrade, FeedbackNotebook, FeedbackTask, NotebookTask
    from backproplab.sandbox import execute_confined
    from scripts.bench import _looping
    from tests.grading.classbuilder import dumps, make_course, solution

    name = args.notebook
    tmp = Path(tempfile.mkdtemp(prefix="backproplab-cost-"))
    try:
        root = make_course(tmp / "course", [name])
        course = load_course(root)
        register_assignments(course, [name])
        with course.gradebook() as gb:
            release = read_assignment_info(course, gb, name).notebooks[name]
        nb = solution(root, name)
        submission = tmp / f"{name}.ipynb"
        submission.write_bytes(dumps(_looping(nb) if args.loop else nb))
        (tmp / "autograded").mkdir()
        source = root / "solutions" / name / f"{name}.ipynb"
        budget = Budget("-", 0.0, 1.0, "-")  # the floor: what a notebook whose solution costs nothing gets
        worker.init_worker(course.config)

        def task():
            return NotebookTask(name=name, student="s", assignment=name, release=release, submission=submission,
                                source=source, dest=tmp / "autograded", seed=1234, config=course.config,
                                limits=worker.notebook_limits(course.config, source, budget), budget=budget)

        result = steps.grade_notebook(task())  # the template started, everything imported
        kernel, me, wall = _template_cpu(), _self_cpu(), time.perf_counter()
        for _ in range(args.repeat):
            result = steps.grade_notebook(task())
        kernel, me, wall = _template_cpu() - kernel, _self_cpu() - me, time.perf_counter() - wall

        cells = {gid: CellGrade(score, release.grade_cells[gid]) for gid, score in result.grades.items()}
        page = FeedbackTask("s", name, str(tmp / "feedback"), {name: FeedbackNotebook(
            None, result.notes, cells, sum(v or 0 for v in result.grades.values()), 0.0, 0.0,
            notebook=Path(result.autograded).read_text(encoding="utf-8"))})
        exporter = feedback.make_exporter(course)
        feedback.render_pages(page, exporter)
        pages = _self_cpu()
        for _ in range(args.repeat):
            feedback.render_pages(page, exporter)
        pages = _self_cpu() - pages

        empty = new_notebook(cells=[new_markdown_cell("nothing to run")])
        env = dict(steps.KERNEL_ENV, BACKPROPLAB_DRAW="0")
        start, start_me = _template_cpu(), _self_cpu()
        for i in range(args.repeat):
            execute_confined(empty, record_dir=tmp / f"empty{i}", seed=1, env=env)
        start, start_me = _template_cpu() - start, _self_cpu() - start_me
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    n = args.repeat
    print(f"{name}{' (looping)' if args.loop else ''}: {sum(v or 0 for v in result.grades.values()):g} points, "
          f"{n} gradings, load average {os.getloadavg()[0]:.1f}")
    print(f"  CPU per notebook: grading process {me / n:.3f} s, kernel {kernel / n:.3f} s, "
          f"feedback page {pages / n:.3f} s; wall {wall / n:.3f} s")
    print(f"  an empty notebook: kernel {start / n:.3f} s, grading process {start_me / n:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
