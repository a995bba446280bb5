"""``make bench``: ``backproplab grade --jobs 2`` against plain sequential ``nbgrader autograde``, in one run.

A synthetic class (``--students``, default 40) submits every notebook of ``solutions/`` (perfect, partial
and blank answers in turn) as one LMS export. On two identical course copies the bench measures:

* plain nbgrader: ``nbgrader autograde <assignment>`` for each assignment, one after the other (what an
  instructor runs by hand), then ``generate_feedback`` and ``export`` (the same outputs as ours);
* ``backproplab grade --jobs N`` on the same export (import, grading, feedback, reports included);
* the floor: the same command on a class that submits an empty notebook (no code cell): what one
  notebook costs when the notebook itself costs nothing (kernel start, sanitizing, writing, feedback).

It prints a table with the ratios, per-notebook costs and the peak memory of a worker and of a kernel.
Never part of ``make test`` (timings depend on the machine); the goals are in the last lines.
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


def _build(tmp: Path, students: int):
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

    names = real_assignments() or []
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
    files, floor_files = {}, {}
    for i in range(students):
        student = f"student{i + 1:02d}"
        for k, name in enumerate(names):
            files[f"{student}/{name}.ipynb"] = variants[name][(i + k) % 3]
        floor_files[f"{student}/{FLOOR}.ipynb"] = dumps(floor)
    export = write_tree(tmp / "export", files)
    floor_export = write_tree(tmp / "floor-export", floor_files)
    plain_root = tmp / "plain"
    shutil.copytree(root, plain_root)
    return root, plain_root, names, export, floor_export


def _children_maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _plain(root: Path, names: list[str], export: Path) -> dict:
    """Plain nbgrader, one command after the other, from ``autograder/`` as INSTRUCTORS.md says."""
    from backproplab.grading.course import load_course, read_assignment_info, register_assignments
    from backproplab.grading.importer import import_submissions

    course = load_course(root)
    register_assignments(course, names)  # = nbgrader generate_assignment (setup, not timed)
    with course.gradebook() as gb:
        infos = {a: read_assignment_info(course, gb, a) for a in names}
    import_submissions(export, course, infos)  # the same copies in submitted/ (setup, not timed)
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    times = {}

    def run(*argv):
        start = time.perf_counter()
        subprocess.run([nbgrader, *argv], cwd=root / "autograder", env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return time.perf_counter() - start

    times["autograde"] = sum(run("autograde", name) for name in names)
    times["feedback"] = sum(run("generate_feedback", name) for name in names)
    times["export"] = run("export")
    times["maxrss_mb"] = _children_maxrss_mb()
    return times


def _ours(root: Path, names: list[str], export: Path, jobs: int) -> dict:
    from backproplab.grading.pipeline import grade

    start = time.perf_counter()
    outcome = grade(export, root=root, jobs=jobs, assignments=names, out=root / "autograder" / "reports",
                    release=False, force=True, stdout=None, stderr=None)
    wall = time.perf_counter() - start
    notebooks = sum(len(r["notebooks"]) for r in outcome.results)
    return {"wall": wall, "grading": outcome.timings.get("grading", wall), "notebooks": notebooks,
            "timings": outcome.timings,
            "worker_mb": max((r["maxrss_kb"] for r in outcome.results), default=0) / 1024,
            "kernel_mb": max((r["kernel_maxrss_kb"] for r in outcome.results), default=0) / 1024,
            "exec_s": sum(nb["seconds"] for r in outcome.results for nb in r["notebooks"].values()) / max(1, notebooks)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary course copies")
    args = parser.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="backproplab-bench-"))
    try:
        print(f"building a class of {args.students} students in {tmp} ...", flush=True)
        root, plain_root, names, export, floor_export = _build(tmp, args.students)
        n = args.students * len(names)
        print(f"{len(names)} notebook(s) x {args.students} students = {n} submissions; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)

        print("plain nbgrader (sequential) ...", flush=True)
        plain = _plain(plain_root, names, export)
        print(f"backproplab grade --jobs {args.jobs} ...", flush=True)
        ours = _ours(root, names, export, args.jobs)
        print(f"floor: {args.students} empty notebooks, --jobs {args.jobs} ...", flush=True)
        floor = _ours(root, [FLOOR], floor_export, args.jobs)
        load = os.getloadavg()[0]
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    plain_all = plain["autograde"] + plain["feedback"] + plain["export"]
    per_nb = ours["grading"] / ours["notebooks"]
    floor_nb = floor["grading"] / floor["notebooks"]
    rows = [
        ("plain nbgrader autograde (sequential)", plain["autograde"], plain["autograde"] / n),
        ("plain autograde + generate_feedback + export", plain_all, plain_all / n),
        (f"backproplab grade --jobs {args.jobs} (everything)", ours["wall"], ours["wall"] / n),
        ("  of which grading + feedback", ours["grading"], per_nb),
        (f"floor: empty notebook, --jobs {args.jobs} (grading)", floor["grading"], floor_nb),
    ]
    print()
    print(f"{'':50} {'wall s':>9} {'s/notebook':>11}")
    for label, wall, each in rows:
        print(f"{label:50} {wall:9.1f} {each:11.3f}")
    print()
    print(f"speed-up vs plain autograde:                  {plain['autograde'] / ours['wall']:.2f}x  (goal >= 1.8x)")
    print(f"speed-up vs plain autograde+feedback+export:  {plain_all / ours['wall']:.2f}x")
    print(f"per-notebook cost / floor:                    {per_nb / floor_nb:.2f}x  (goal <= 1.3x)")
    print(f"kernel run per notebook (mean, in a worker):  {ours['exec_s']:.2f} s  (floor {floor['exec_s']:.2f} s)")
    print("phases (s): " + ", ".join(f"{k} {v:.1f}" for k, v in ours["timings"].items()))
    print(f"peak memory: worker {ours['worker_mb']:.0f} MB, kernel {ours['kernel_mb']:.0f} MB; "
          f"plain nbgrader process {plain['maxrss_mb']:.0f} MB")
    print(f"load average at the end: {load:.1f} (other work on the machine skews the numbers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
