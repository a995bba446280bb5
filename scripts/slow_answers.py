"""How much CPU time a slow but correct answer needs: every notebook of ``solutions/`` that has slow answers
(tests/grading/slow_answers.py: pure-Python loops instead of numpy) run in a confined kernel the way a submission
runs (the budget's own measurement, :func:`backproplab.grading.budgets.measure`'s path), with the solution beside
it. Prints, per notebook, the CPU seconds of the slowest cell of each and the cell; the last line gives the
largest of all and how far under the budget's floor (``CELL_FLOOR``) it is.

    .venv/bin/python -m scripts.slow_answers [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def cell_cpu(nb_path: Path) -> tuple[dict[str, float], str | None]:
    """CPU seconds of every cell (by cell id) of the notebook ``nb_path`` run confined, and its problem."""
    import nbformat

    from backproplab.grading.steps import KERNEL_ENV
    from backproplab.sandbox import DEFAULT_LIMITS, execute_confined

    nb = nbformat.read(nb_path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="backproplab-slow-") as records:
        run = execute_confined(nb_path, record_dir=records, seed=0, limits=DEFAULT_LIMITS,
                               files_from=nb_path.parent, env=dict(KERNEL_ENV))
    ids = {i: (c.get("id") or str(i)) for i, c in enumerate(nb.cells)}
    return {ids.get(i, str(i)): cpu for i, cpu in run.cell_cpu.items()}, run.problem


def main(argv=None) -> int:
    import nbformat

    from backproplab.grading.budgets import CELL_FLOOR, MULTIPLE
    from tests.grading.slow_answers import ANSWERS, slow_notebook

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs per notebook (the largest CPU time is kept)")
    args = parser.parse_args(argv)
    worst_slow = worst_solution = 0.0
    print(f"{'notebook':28} {'solution: slowest cell':>30} {'slow answers: slowest cell':>40}")
    for name in sorted(ANSWERS):
        source = ROOT / "solutions" / name / f"{name}.ipynb"
        with tempfile.TemporaryDirectory(prefix="backproplab-slow-nb-") as tmp:
            folder = Path(tmp) / name
            shutil.copytree(source.parent, folder)
            slow_path = folder / f"slow_{name}.ipynb"
            nbformat.write(slow_notebook(nbformat.read(source, as_version=4), name), slow_path)
            best = {}
            for label, path in (("solution", folder / f"{name}.ipynb"), ("slow", slow_path)):
                worst = (0.0, "")
                for _ in range(args.repeat):
                    cpu, problem = cell_cpu(path)
                    if problem:
                        print(f"{name} {label}: {problem}")
                    cell, seconds = max(cpu.items(), key=lambda kv: kv[1], default=("", 0.0))
                    worst = max(worst, (seconds, cell))
                best[label] = worst
        worst_solution = max(worst_solution, best["solution"][0])
        worst_slow = max(worst_slow, best["slow"][0])
        print(f"{name:28} {best['solution'][0]:8.3f} s ({best['solution'][1][:18]:>18}) "
              f"{best['slow'][0]:8.3f} s ({best['slow'][1][:28]:>28})", flush=True)
    print(f"largest: solution {worst_solution:.3f} s, slow answers {worst_slow:.3f} s of CPU in one cell; "
          f"budget per cell max({CELL_FLOOR:g} s, {MULTIPLE:g} x solution's slowest); floor / slow answers = "
          f"{CELL_FLOOR / max(worst_slow, 1e-9):.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
