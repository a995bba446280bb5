"""``make bench``: ``backproplab grade --jobs 2`` against plain sequential ``nbgrader``, measured in one run.

A synthetic class (``--students``, default 40) submits every notebook of ``solutions/`` (perfect, partial
and blank answers in turn) as one LMS export. On two identical course copies, assignment after assignment
(interleaved, so that other work on the machine weighs on both sides alike), the bench measures:

* plain nbgrader, as an instructor runs it by hand from ``autograder/``: ``nbgrader autograde A``, then
  ``nbgrader generate_feedback A`` (and ``nbgrader export`` once at the end): the same outputs as ours;
* ``backproplab grade --jobs N --assignment A`` on the same export (import, grading, feedback, reports);
* the floor, before and after: the same command on a class that submits an empty notebook (no code cell),
  i.e. what one notebook costs when the notebook itself costs nothing (kernel start, sanitizing, writing,
  feedback);
* the looping class: the same class on a third course copy, except that ``--loopers`` students (default 5)
  put ``while True: pass`` into an answer cell of every notebook (each notebook's time budget,
  :mod:`backproplab.grading.budgets`, stops it).

It prints wall and CPU seconds (this process and all its finished children: workers, kernels, nbgrader),
the ratios, per-notebook costs and the peak memory of a worker and of a kernel. Never part of
``make test`` (timings depend on the machine); the goals are in the last lines.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FLOOR = "00_floor"
LOOP = "while True:  # a submission that never ends\n    pass\n"


def _looping(nb):
    """``nb`` whose first answer cell starts with an endless loop."""
    import copy

    nb = copy.deepcopy(nb)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code")
    cell.source = LOOP + cell.source
    return nb


def _build(tmp: Path, students: int, loopers: int, first: int = 0):
    import nbformat
    from nbformat.v4 import new_markdown_cell, new_notebook

    from tests.grading.classbuilder import (
        FIXTURE,
        blank,
        dumps,
        make_course,
        partial,
        real_assignments,
        solution,
        write_tree,
    )

    names = (real_assignments() or [])[:first or None]
    root = make_course(tmp / "ours", names)
    if names:  # the fixture notebook is only for when the course has no notebook yet
        shutil.rmtree(root / "solutions" / FIXTURE)
        shutil.rmtree(root / "course" / FIXTURE, ignore_errors=True)
    else:
        names = [FIXTURE]
    floor = new_notebook(cells=[new_markdown_cell("An empty notebook: nothing to run.", id="empty")])
    floor.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (root / "solutions" / FLOOR).mkdir(parents=True)
    nbformat.write(floor, root / "solutions" / FLOOR / f"{FLOOR}.ipynb")

    variants = {}
    for name in names:
        nb = solution(root, name)
        answers = [c.metadata.nbgrader["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        variants[name] = [dumps(nb), dumps(partial(root, name, answers[-1:])), dumps(blank(root, name))]
        variants[name].append(dumps(_looping(nb)))
    files, floor_files, loop_files = {}, {}, {}
    for i in range(students):
        student = f"student{i + 1:02d}"
        for k, name in enumerate(names):
            key = f"{student}/{name}.ipynb"
            files[key] = variants[name][(i + k) % 3]
            # the first `loopers` students of the class loop in every notebook; the others as above
            loop_files[key] = variants[name][3] if i < loopers else files[key]
        floor_files[f"{student}/{FLOOR}.ipynb"] = dumps(floor)
    export = write_tree(tmp / "export", files)
    floor_export = write_tree(tmp / "floor-export", floor_files)
    loop_export = write_tree(tmp / "loop-export", loop_files)
    plain_root, loop_root = tmp / "plain", tmp / "loops"
    shutil.copytree(root, plain_root)
    shutil.copytree(root, loop_root)
    return root, plain_root, loop_root, names, export, floor_export, loop_export


def _cpu() -> float:
    """CPU seconds of this process and of every finished child (workers, kernels, nbgrader commands)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class Meter:
    """Wall and CPU seconds of one measured step."""

    def __init__(self):
        self.wall = self.cpu = 0.0

    def __enter__(self):
        self._w, self._c = time.perf_counter(), _cpu()
        return self

    def __exit__(self, *exc):
        self.wall += time.perf_counter() - self._w
        self.cpu += _cpu() - self._c


def _setup_plain(root: Path, names: list[str], export: Path) -> None:
    """``nbgrader generate_assignment`` (into the gradebook) and the same copies in submitted/: not timed."""
    from backproplab.grading.course import load_course, read_assignment_info, register_assignments
    from backproplab.grading.importer import import_submissions

    course = load_course(root)
    register_assignments(course, names)
    with course.gradebook() as gb:
        infos = {a: read_assignment_info(course, gb, a) for a in names}
    import_submissions(export, course, infos)


def _nbgrader(root: Path, *argv) -> None:
    """Plain nbgrader from ``autograder/``, as INSTRUCTORS.md says."""
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    done = subprocess.run([nbgrader, *argv], cwd=root / "autograder", env=env, check=False,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if done.returncode:  # nbgrader exits 1 when some submission could not be graded; the time still counts
        print(f"    (plain nbgrader {' '.join(argv)} exited {done.returncode}: some submissions failed)")


def _ours(root: Path, names: list[str], export: Path, jobs: int, stats: dict) -> None:
    from backproplab.grading.pipeline import grade

    run = grade(export, root=root, jobs=jobs, assignments=names, out=root / "autograder" / "reports",
                release=False, force=True, stdout=None, stderr=None)
    stats.setdefault("notebooks", 0)
    stats["notebooks"] += sum(len(r.notebooks) for r in run.results)
    stats["grading"] = stats.get("grading", 0.0) + run.timings.get("grading", 0.0)
    stats["worker_mb"] = max([stats.get("worker_mb", 0)] + [r.maxrss_kb / 1024 for r in run.results])
    stats["kernel_mb"] = max([stats.get("kernel_mb", 0)] + [r.kernel_maxrss_kb / 1024 for r in run.results])
    stats["exec"] = stats.get("exec", 0.0) + sum(nb.seconds for r in run.results for nb in r.notebooks.values())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--loopers", type=int, default=5, help="students who loop in every notebook")
    parser.add_argument("--assignments", type=int, default=0, help="only the first N notebooks (0: all)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary course copies")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="backproplab-bench-"))
    try:
        print(f"building a class of {args.students} students in {tmp} ...", flush=True)
        root, plain_root, loop_root, names, export, floor_export, loop_export = _build(
            tmp, args.students, min(args.loopers, args.students), args.assignments)
        n = args.students * len(names)
        load_before = os.getloadavg()[0]
        print(f"{len(names)} notebook(s) x {args.students} students = {n} submissions; "
              f"{os.cpu_count()} CPUs, load average {load_before:.1f}", flush=True)

        _setup_plain(plain_root, names, export)
        plain_ag, plain_fb, ours_m, floor_m, loop_m = Meter(), Meter(), Meter(), Meter(), Meter()
        ours, floor, loops = {}, {}, {}
        # Interleaved, one assignment at a time (the way a course is graded, week after week), so that
        # other work on the machine weighs on both sides alike.
        with floor_m:
            _ours(root, [FLOOR], floor_export, args.jobs, floor)
        for name in names:
            print(f"  {name}: plain nbgrader autograde ...", flush=True)
            with plain_ag:
                _nbgrader(plain_root, "autograde", name)
            with plain_fb:
                _nbgrader(plain_root, "generate_feedback", name)
            print(f"  {name}: backproplab grade --jobs {args.jobs} ...", flush=True)
            with ours_m:
                _ours(root, [name], export, args.jobs, ours)
            if args.loopers:
                print(f"  {name}: backproplab grade --jobs {args.jobs}, {args.loopers} students looping ...",
                      flush=True)
                with loop_m:
                    _ours(loop_root, [name], loop_export, args.jobs, loops)
        with plain_fb:
            _nbgrader(plain_root, "export")
        with floor_m:
            _ours(root, [FLOOR], floor_export, args.jobs, floor)
        load = os.getloadavg()[0]
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    plain_wall = plain_ag.wall + plain_fb.wall
    plain_cpu = plain_ag.cpu + plain_fb.cpu
    per_nb = ours_m.wall / n
    floor_nb = floor_m.wall / floor["notebooks"]
    print()
    print(f"{'':54} {'wall s':>8} {'CPU s':>8} {'wall s/notebook':>16}")
    for label, m_wall, m_cpu in [
        ("plain nbgrader autograde (sequential)", plain_ag.wall, plain_ag.cpu),
        ("plain autograde + generate_feedback + export", plain_wall, plain_cpu),
        (f"backproplab grade --jobs {args.jobs} (import to reports)", ours_m.wall, ours_m.cpu),
    ]:
        print(f"{label:54} {m_wall:8.1f} {m_cpu:8.1f} {m_wall / n:16.3f}")
    print(f"{'floor: empty notebooks, same command':54} {floor_m.wall:8.1f} {floor_m.cpu:8.1f} {floor_nb:16.3f}")
    print()
    print(f"{'the same class, ' + str(args.loopers) + ' students looping in every notebook':54} "
          f"{loop_m.wall:8.1f} {loop_m.cpu:8.1f} {loop_m.wall / n:16.3f}")
    print()
    print(f"speed-up vs plain autograde (wall):                 {plain_ag.wall / ours_m.wall:.2f}x  (goal >= 5x)")
    print(f"speed-up vs plain autograde+feedback+export (wall): {plain_wall / ours_m.wall:.2f}x")
    print(f"CPU per notebook: plain autograde {plain_ag.cpu / n:.2f} s, plain with feedback {plain_cpu / n:.2f} s, "
          f"ours {ours_m.cpu / n:.2f} s (goal <= 0.3 s)")
    print(f"per-notebook cost / floor (wall):                   {per_nb / floor_nb:.2f}x  (goal <= 1.3x); "
          f"over the floor: {per_nb - floor_nb:+.3f} s wall, "
          f"{ours_m.cpu / n - floor_m.cpu / floor['notebooks']:+.3f} s CPU")
    if args.loopers:
        print(f"looping class / the same class (wall):              {loop_m.wall / ours_m.wall:.2f}x  "
              f"(goal <= 1.10x)")
    print(f"kernel run per notebook (mean, in a worker):        {ours['exec'] / max(1, ours['notebooks']):.2f} s "
          f"(floor {floor['exec'] / max(1, floor['notebooks']):.2f} s)")
    print(f"peak memory: worker {ours['worker_mb']:.0f} MB, kernel {ours['kernel_mb']:.0f} MB")
    print(f"load average: {load_before:.1f} before, {load:.1f} at the end (the bench's own {args.jobs} workers "
          f"account for up to {args.jobs}; more means other work on the machine skewed the numbers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
