"""Every graded exercise: its realistic mutants fail the graded (hidden) check and are named correctly by the
learner check; its alternative correct implementations pass both. Writes a report of the catch and naming rates."""

import importlib
import pkgutil
from pathlib import Path

import pytest

import tests.mutants as mutants_pkg
from backproplab.checking import run_check
from backproplab.checks import REGISTRY

MUTANTS: dict = {}
CORRECT: dict = {}
GENERIC: dict = {}
for info in pkgutil.iter_modules(mutants_pkg.__path__):
    mod = importlib.import_module(f"tests.mutants.{info.name}")
    for name, items in getattr(mod, "MUTANTS", {}).items():
        MUTANTS.setdefault(name, []).extend(items)
    for name, items in getattr(mod, "CORRECT", {}).items():
        CORRECT.setdefault(name, []).extend(items)
    for name, items in getattr(mod, "GENERIC", {}).items():
        GENERIC.setdefault(name, []).extend(items)

MUTANT_CASES = [(ex, expected, fn) for ex, items in sorted(MUTANTS.items()) for expected, fn in items]
CORRECT_CASES = [(ex, fn) for ex, items in sorted(CORRECT.items()) for fn in items]
GENERIC_CASES = [(ex, expected, fn) for ex, items in sorted(GENERIC.items()) for expected, fn in items]
RESULTS: list[tuple[str, str, bool, bool]] = []


def _id(case):
    return f"{case[0]}-{getattr(case[-1], '__name__', 'fn')}"


@pytest.mark.parametrize("exercise", sorted(REGISTRY))
def test_every_exercise_has_a_mutation_suite(exercise):
    assert len(MUTANTS.get(exercise, [])) >= 3, f"{exercise}: fewer than 3 mutants in tests/mutants/"
    assert len(CORRECT.get(exercise, [])) >= 2, f"{exercise}: fewer than 2 correct variants in tests/mutants/"


def test_suite_names_only_known_exercises():
    assert set(MUTANTS) | set(CORRECT) <= set(REGISTRY)


@pytest.mark.parametrize("case", MUTANT_CASES, ids=[_id(c) for c in MUTANT_CASES])
def test_mutant_fails_graded_check_and_is_named(case):
    exercise, expected, fn = case
    ex = REGISTRY[exercise]
    graded = run_check(ex, fn, hidden=True, seed=12345)
    visible = run_check(ex, fn)
    RESULTS.append((exercise, expected, not graded.passed, visible.mistake == expected))
    assert not graded.passed, f"{exercise}: mutant {fn.__name__} passed the graded check"
    with pytest.raises(AssertionError):
        run_check(ex, fn, graded=True, hidden=True, seed=12345)
    assert not visible.passed
    assert visible.mistake == expected, f"named {visible.mistake!r}, expected {expected!r}: {visible.message}"
    assert "\n" not in visible.message or len(visible.message) < 600


@pytest.mark.parametrize("case", CORRECT_CASES, ids=[_id(c) for c in CORRECT_CASES])
def test_correct_variant_passes(case):
    exercise, fn = case
    ex = REGISTRY[exercise]
    assert run_check(ex, fn).passed, run_check(ex, fn).message
    run_check(ex, fn, graded=True, hidden=True, seed=12345)
    run_check(ex, fn, graded=True, hidden=True, seed=987)


@pytest.mark.parametrize("case", GENERIC_CASES, ids=[_id(c) for c in GENERIC_CASES])
def test_unforeseen_slip_fails_and_the_generic_diagnosis_names_it(case):
    """A slip no hand-written Mistake foresees: the graded check fails it, and the learner check names it by the
    generic search (backproplab.diagnosis, the engine's factors), or, expected None, names nothing."""
    exercise, expected, fn = case
    ex = REGISTRY[exercise]
    assert not run_check(ex, fn, hidden=True, seed=12345).passed
    visible = run_check(ex, fn)
    assert not visible.passed
    assert visible.mistake not in {mk.name for mk in ex.mistakes}, f"{fn.__name__} is in a hand-written list"
    assert visible.mistake == expected, f"named {visible.mistake!r}, expected {expected!r}: {visible.message}"


def test_zz_write_report():
    """Runs last in this module: per-exercise catch and naming rates in test-artifacts/mutation-report.md."""
    out = Path(__file__).resolve().parents[1] / "test-artifacts" / "mutation-report.md"
    out.parent.mkdir(exist_ok=True)
    lines = ["| exercise | mutants | caught | named |", "|---|---|---|---|"]
    for ex in sorted({r[0] for r in RESULTS}):
        rows = [r for r in RESULTS if r[0] == ex]
        lines.append(f"| {ex} | {len(rows)} | {sum(r[2] for r in rows)} | {sum(r[3] for r in rows)} |")
    total = len(RESULTS)
    lines.append(f"| **all** | {total} | {sum(r[2] for r in RESULTS)} | {sum(r[3] for r in RESULTS)} |")
    out.write_text("\n".join(lines) + "\n")
