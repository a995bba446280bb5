"""``make bench``: the verdicts measured over many grading seeds, not hoped for.

Every mutant of ``tests/mutants/`` (``MUTANTS`` and the unforeseen ``GENERIC`` slips) must fail the graded
(hidden) check on every seed, every correct alternative (``CORRECT``, and each exercise's reference) must pass
on every seed. For the ``GENERIC`` slips, which no hand-written Mistake foresees, it counts how many the
learner check names as expected (the generic diagnosis) and how many it names WRONGLY (a name that is neither
the expected one nor a plain description: the goal is 0). Last, the latency of the slowest learner check, on a
correct answer and on every wrong one (a failing check searches for an explanation).

    python -m scripts.seed_sweep                 # 500 seeds (the figures of issue 14)
    python -m scripts.seed_sweep --seeds 3       # what CI runs (tests/test_seed_sweep.py)

Prints one line per variant that is not 100 %, then the totals and the worst rates.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import statistics
import sys
import time
from dataclasses import dataclass, field

from backproplab.checking import evaluate, run_check
from backproplab.checking.diagnosis import DESCRIPTIONS
from backproplab.checks import REGISTRY


def load_variants():
    """``(mutants, correct, generic)``: lists of ``(exercise, expected, fn)`` from every module of tests/mutants."""
    import tests.mutants as package

    mutants, correct, generic = [], [], []
    for info in pkgutil.iter_modules(package.__path__):
        mod = importlib.import_module(f"tests.mutants.{info.name}")
        for ex, items in getattr(mod, "MUTANTS", {}).items():
            mutants += [(ex, expected, fn) for expected, fn in items]
        for ex, items in getattr(mod, "CORRECT", {}).items():
            correct += [(ex, None, fn) for fn in items]
        for ex, items in getattr(mod, "GENERIC", {}).items():
            generic += [(ex, expected, fn) for expected, fn in items]
    correct += [(name, None, ex.reference) for name, ex in sorted(REGISTRY.items())]
    return mutants, correct, generic


@dataclass
class Sweep:
    seeds: int
    failures: list[str] = field(default_factory=list)
    rejected: list[float] = field(default_factory=list)
    accepted: list[float] = field(default_factory=list)
    generic_named: int = 0
    generic_nameable: int = 0
    generic_wrong: list[str] = field(default_factory=list)
    latencies: list[tuple[float, str]] = field(default_factory=list)


def _rate(ex, fn, seeds: int, want_pass: bool) -> float:
    ok = sum(evaluate(REGISTRY[ex], fn, hidden=True, seed=s, explain=False).passed == want_pass
             for s in range(seeds))
    return ok / seeds


def _latency(ex, fn, label: str, sweep: Sweep) -> None:
    """The learner check's own CPU time (median of 3): on a shared machine wall time measures the neighbours."""
    times = []
    for _ in range(3):
        start = time.process_time()
        run_check(REGISTRY[ex], fn)
        times.append(time.process_time() - start)
    sweep.latencies.append((1000 * statistics.median(times), label))


def sweep(seeds: int = 500, latency: bool = True, progress: bool = False, only: str | None = None,
          exercises: set[str] | None = None) -> Sweep:
    mutants, correct, generic = (
        [v for v in variants if exercises is None or v[0] in exercises] for variants in load_variants())
    if only == "mutants":
        correct = []
    elif only == "correct":
        mutants, generic = [], []
    result = Sweep(seeds)
    for variants, want_pass, kind, rates in ((correct, True, "correct", result.accepted),
                                             (mutants + generic, False, "mutant", result.rejected)):
        for ex, _, fn in variants:
            label = f"{ex}: {kind} {getattr(fn, '__name__', fn)}"
            rate = _rate(ex, fn, seeds, want_pass)
            rates.append(rate)
            if progress:
                print(f"{100 * rate:5.1f} % {'accepted' if want_pass else 'rejected'}  {label}", flush=True)
            if rate < 1.0:
                verb = "accepted" if want_pass else "rejected"
                result.failures.append(f"{label} {verb} on {100 * rate:.1f} % of seeds")
            if latency:
                _latency(ex, fn, label, result)
    for ex, expected, fn in generic:
        named = run_check(REGISTRY[ex], fn).mistake
        names = {named} | {evaluate(REGISTRY[ex], fn, hidden=True, seed=s).mistake for s in range(min(seeds, 20))}
        if expected is not None:
            result.generic_nameable += 1
            result.generic_named += named == expected
        wrong = sorted(str(n) for n in names if n != expected and n not in DESCRIPTIONS)
        if wrong:
            result.generic_wrong.append(f"{ex}: {fn.__name__} named {', '.join(wrong)} (expected {expected})")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=500)
    parser.add_argument("--progress", action="store_true", help="print every variant's rate as it is measured")
    parser.add_argument("--only", choices=("mutants", "correct"), help="measure one side only")
    parser.add_argument("--exercise", action="append", help="only this exercise (repeatable)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    r = sweep(args.seeds, progress=args.progress, only=args.only,
              exercises=set(args.exercise) if args.exercise else None)
    for line in r.failures + r.generic_wrong:
        print(line)
    share = r.generic_named / r.generic_nameable if r.generic_nameable else 1.0
    slowest = max(r.latencies, default=(0.0, "none"))
    print(f"seeds per variant: {r.seeds}")
    for what, rates in (("mutants rejected", r.rejected), ("correct alternatives accepted", r.accepted)):
        print(f"{what}: {len(rates)} variants, worst {100 * min(rates, default=1):.1f} % of seeds, all seeds for "
              f"{sum(x == 1.0 for x in rates)}")
    print(f"unforeseen slips named by the generic diagnosis: {r.generic_named}/{r.generic_nameable} "
          f"({100 * share:.0f} %), named wrongly: {len(r.generic_wrong)}")
    print(f"slowest learner check (CPU time): {slowest[0]:.1f} ms ({slowest[1]}); median "
          f"{statistics.median([ms for ms, _ in r.latencies] or [0.0]):.1f} ms over {len(r.latencies)} variants")
    print(f"({time.perf_counter() - start:.0f} s)")
    return 1 if r.failures or r.generic_wrong else 0


if __name__ == "__main__":
    sys.exit(main())
