"""Median time of every learner check on the reference implementation (issue: a check answers in < 100 ms).

    python -m scripts.check_latency
"""

import statistics
import time

from backproplab.checking import run_check
from backproplab.checks import REGISTRY


def main(repeats: int = 7) -> None:
    rows = []
    for name, exercise in sorted(REGISTRY.items()):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            result = run_check(exercise, exercise.reference)
            times.append(time.perf_counter() - start)
            if not result.passed:
                raise SystemExit(f"{name}: the reference fails its own check: {result.message}")
        rows.append((name, 1000 * statistics.median(times)))
        print(f"{name:28s} {rows[-1][1]:7.2f} ms")
    medians = [ms for _, ms in rows]
    print(f"{len(rows)} checks: median {statistics.median(medians):.2f} ms, slowest {max(medians):.2f} ms")


if __name__ == "__main__":
    main()
