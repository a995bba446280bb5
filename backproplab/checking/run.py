"""Running a check: call the learner's function on every trial (its exceptions become findings), judge each
outcome against the reference, and answer in one short paragraph. Under the trusted grader a graded check
also records the outcomes (:mod:`backproplab.records`) so that the verdict is computed again outside the
kernel (:mod:`backproplab.trusted`), with the same :func:`evaluate`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from backproplab import records
from backproplab.checking import diagnosis, formula
from backproplab.checking.compare import _compare, _reference_outputs
from backproplab.checking.findings import _exception_finding, error_signature
from backproplab.checking.model import CheckFinding, CheckResult, Exercise, trial_inputs
from backproplab.checking.values import _as_outputs, _copy, _same, rounding_bounds
from backproplab.gradcheck import verdict

#: Set by the trusted grader: graded checks record what the learner's function returned (plain float64 data) in
#: this folder, and the verdict is computed again outside the kernel from those records (backproplab.trusted).
RECORD_DIR_ENV = "BACKPROPLAB_RECORD_DIR"


@dataclass
class CheckOutcome:
    """What the learner's function did on one trial: its result and its arguments afterwards, or an error."""

    result: Any = None
    args_after: Any = None
    error: CheckFinding | None = None


#: ``exercise -> context manager`` wrapped around every call of the learner's function while the trusted grader
#: runs (``BACKPROPLAB_RECORD_DIR`` set); ``None``: no guard. The grading kernel sets it
#: once, explicitly, with :func:`set_graded_call_guard` (:func:`backproplab.sandbox.poison.install`).
_graded_call_guard: Callable[[Exercise], AbstractContextManager] | None = None


def set_graded_call_guard(guard: Callable[[Exercise], AbstractContextManager] | None) -> None:
    """Install (or, with ``None``, remove) the guard of recorded graded calls; see :func:`call_learner`."""
    global _graded_call_guard
    _graded_call_guard = guard


def graded_call_guard() -> Callable[[Exercise], AbstractContextManager] | None:
    """The guard :func:`set_graded_call_guard` installed, or ``None``."""
    return _graded_call_guard


#: The guard of a check the learner runs (:mod:`backproplab.check`, outside grading): the same poisoning, so that
#: a visible check refuses what grading will (an answer made of the course's own functions).
_learner_guard: Callable[[Exercise], AbstractContextManager] | None = None


@contextmanager
def learner_guard(guard: Callable[[Exercise], AbstractContextManager] | None):
    """Within the block, checks run outside grading call the learner's function under ``guard``."""
    global _learner_guard
    saved, _learner_guard = _learner_guard, guard
    try:
        yield
    finally:
        _learner_guard = saved


def course_code() -> AbstractContextManager:
    """Within the block, the course's own code runs unguarded: a check's harness that calls the reference while
    the learner's function is under the guard (to compare, as ``strict_call`` does) gets the reference."""
    suspend = getattr(_active_guard(), "suspended", None)
    return suspend() if suspend is not None else nullcontext()


def _active_guard():
    """The installed guard while the trusted grader runs (``BACKPROPLAB_RECORD_DIR`` set), else the learner's
    (:func:`learner_guard`), else ``None``."""
    return _graded_call_guard if os.environ.get(RECORD_DIR_ENV) else _learner_guard


def call_learner(exercise: Exercise, fn: Callable, args: tuple,
                 guard: Callable[[Exercise], AbstractContextManager] | None = None) -> CheckOutcome:
    """Run the learner's ``fn`` on a copy of ``args``; an exception becomes a finding, never a traceback.

    ``guard(exercise)``, when given, is entered around the call only (e.g. the reference broken while the
    learner's code runs, :mod:`backproplab.sandbox.poison`), and left before anything is compared."""
    learner_args = _copy(args)
    try:
        with (guard(exercise) if guard is not None else nullcontext()), np.errstate(all="ignore"):
            got = exercise.run(fn, learner_args)  # a NaN or inf is judged and explained: numpy's warnings are noise
    except CheckFinding as finding:  # a harness that recognised a mistake while calling the learner's code
        return CheckOutcome(error=finding)
    except Exception as exc:  # any error in the learner's code becomes one sentence
        return CheckOutcome(error=_exception_finding(exercise, exc))
    return CheckOutcome(got, learner_args)


def _judge(exercise: Exercise, args: tuple, outcome: CheckOutcome, explain: bool = True,
           search: bool | str = True) -> float | str:
    """The relative error of one trial, or the pass note of an exercise's own ``judge``."""
    if outcome.error is not None:
        raise outcome.error
    with np.errstate(all="ignore"):  # comparing huge or non-finite answers must not print numpy's warnings
        if exercise.judge is not None:
            err = exercise.judge(outcome.result, args)
        else:
            start = time.process_time()
            expected = exercise.run(exercise.reference, _copy(args))
            cost = time.process_time() - start  # the searches for a name evaluate the reference many times
            bounds = rounding_bounds(exercise, args, expected) if exercise.exact else None
            err = _compare(exercise, outcome.result, expected, args, bounds, explain, search, cost)
    if not _same(outcome.args_after, args):
        raise CheckFinding(f"`{exercise.name}` returns the right values but modifies its input arrays in place "
                           f"(e.g. `x += ...` or `x[...] = ...` on an argument). Work on a copy: the caller still "
                           f"needs its arrays unchanged.", "in_place")
    return err


def run_check(exercise: Exercise, fn: Any, *, graded: bool = False, hidden: bool = False,
              seed: int | None = None) -> CheckResult | None:
    """Check the learner's ``fn`` against ``exercise.reference`` and say what is wrong, if anything.

    ``hidden=True`` draws random shapes and values from :func:`grading_seed` (or ``seed``); ``graded=True``
    raises ``AssertionError`` with the same message when the check fails (for nbgrader test cells). Under the
    trusted grader (``BACKPROPLAB_RECORD_DIR`` set), a graded check also records the learner's results so that
    the verdict is computed again outside the kernel. While nbgrader runs the notebook (``NBGRADER_EXECUTION``
    set), a passed graded check displays its result and returns ``None``: nbgrader reads a cell's returned value
    as partial credit and would log that a message "cannot be converted to a float".
    """
    __tracebackhide__ = True  # noqa: F841  (IPython hides this frame from learners' tracebacks)
    outcomes = None
    record_dir = os.environ.get(RECORD_DIR_ENV) if graded else None
    if record_dir and callable(fn):
        guard = _active_guard()
        outcomes = [call_learner(exercise, fn, args, guard) for args in trial_inputs(exercise, hidden, seed)]
        records.record(exercise, outcomes, hidden=hidden, directory=record_dir)
    result = evaluate(exercise, fn, hidden=hidden, seed=seed, outcomes=outcomes)
    if graded and not result.passed:
        raise AssertionError(result.message)
    if graded and os.environ.get("NBGRADER_EXECUTION"):
        _display(result)
        return None
    return result


def _display(result: CheckResult) -> None:
    try:
        from IPython.display import display
    except ImportError:  # not in a kernel
        print(result.message)
    else:
        display(result)


#: Findings the learner-side search (:func:`diagnosis.reread_finding`) may improve on: nothing named, an error, a
#: wrong shape or an unexplained factor (a sign, a factor 2 or a 1/m is already its own explanation).
_UNSETTLED = frozenset({None, "exception", "shape", "scale", "overflow"})


def _reread(exercise: Exercise, fn: Callable, args: tuple, finding: CheckFinding) -> CheckFinding:
    """``finding``, or a better one when the learner's own code gives the right answer on re-ordered inputs."""
    if finding.mistake not in _UNSETTLED:
        return finding
    start = time.process_time()
    try:
        with np.errstate(all="ignore"):
            exps = _reference_outputs(exercise, args)
    except Exception:  # noqa: BLE001
        return finding
    if not diagnosis.Budget(cost=time.process_time() - start).left():
        return finding  # a function this slow (numerical_gradients) cannot be searched in time

    guard = _active_guard()

    def call(moved):
        with (guard(exercise) if guard is not None else nullcontext()), np.errstate(all="ignore"):
            result = exercise.run(fn, _copy(moved))
        return [np.asarray(o, dtype=np.float64) for o in _as_outputs(result, len(exercise.outputs))]

    names = diagnosis.argument_names(exercise.signature, len(args))
    named = diagnosis.reread_finding(call, args, names, exercise.parts, exps, exercise.name)
    return finding if named is None else CheckFinding(named[1], named[0], finding.rel_error)


#: Hidden cases (seed 0, random shapes) on which a generic name found on a visible case must hold too.
CONFIRMING_CASES = 1


def _other_cases(exercise: Exercise, trials: list, k: int) -> list[tuple]:
    """The cases on which a name found on case ``k`` must hold too: the check's other trials and
    :data:`CONFIRMING_CASES` hidden ones."""
    return [t for j, t in enumerate(trials) if j != k] + trial_inputs(exercise, hidden=True,
                                                                        seed=0)[:CONFIRMING_CASES]


def _held_on_every_case(exercise: Exercise, fn: Callable, trials: list, k: int, outcome: CheckOutcome,
                        finding: CheckFinding) -> CheckFinding:
    """``finding`` when its generic name holds on every case the learner's function gets wrong, the other
    trials and :data:`CONFIRMING_CASES` hidden ones of a fixed seed (random shapes). Else the full search on
    this case, past the engine's factors (a sign slip in ``β·v − lr·dw`` is "the opposite sign" while v = 0),
    when its name holds everywhere; else this case described without a name. A name read from one case can
    be a coincidence of its values (n_in − n_out = (n_in + n_out)/4 makes a sign slip "a factor 2"): a wrong
    name is worse than none."""
    if not diagnosis.needs_confirming(finding.mistake) or finding.mistake in {mk.name for mk in exercise.mistakes}:
        return finding
    guard = _active_guard()
    others = _other_cases(exercise, trials, k)

    def holds(key: str) -> bool:
        for other in others:
            theirs = call_learner(exercise, fn, other, guard)
            if theirs.error is not None and (theirs.error.raised or ("",))[0] == "NotPublished":
                continue  # the learner's function called a table of the learner build off its cases: no evidence
            try:
                _judge(exercise, other, theirs, search=key)
            except CheckFinding as g:
                if _reread(exercise, fn, other, g).mistake != key:
                    return False
            except Exception:  # noqa: BLE001  (the reference cannot answer this case: the learner build's
                continue       # tables hold the visible cases only; no evidence either way)
        return True

    if holds(finding.mistake):
        return finding
    retry = None if diagnosis.searched(finding.mistake) else \
        _finding(exercise, trials[k], outcome, diagnosis.SEARCH_PAST_FACTORS)
    if retry is not None and retry.mistake != finding.mistake and diagnosis.needs_confirming(retry.mistake) \
            and holds(retry.mistake):
        return retry
    described = _finding(exercise, trials[k], outcome, False)
    if described is None or not diagnosis.is_generic_name(described.mistake):
        return described or finding
    return CheckFinding(f"{described.message} But that holds on this case only: the other cases do not fit "
                        f"that slip, so it is not the explanation. Compare your formula with the exercise's, "
                        f"term by term.", None, described.rel_error)


def _finding(exercise: Exercise, args: tuple, outcome: CheckOutcome, search: bool | str) -> CheckFinding | None:
    """What the comparison of one trial says with this much search (``None`` if it passes)."""
    try:
        _judge(exercise, args, outcome, search=search)
    except CheckFinding as f:
        return f
    return None


def _raised_by_a_slip(exercise: Exercise, fn: Callable, trials: list, k: int,
                      finding: CheckFinding) -> CheckFinding:
    """``finding`` (numpy's matmul error raised by the learner's code) with the slip of the reference's formula
    that raises the same error, when the learner's function agrees with that slip on every other case
    (:mod:`.formula`). Only matmul errors: their sizes fit a `.T` missing and operands swapped alike, which the
    search tells apart; a broadcast error already says which shapes meet, and the learner build (which holds
    no reference to search, :mod:`backproplab.publish`) must say what the full package says on every mutant."""
    if finding.mistake != "exception" or finding.raised is None or "matmul" not in finding.raised[1]:
        return finding  # a broadcast error says which shapes meet, and the exercise's shape hint why
    guard = _active_guard()
    others = _other_cases(exercise, trials, k)

    def raised_by(variant, args=trials[k]):
        try:
            with np.errstate(all="ignore"):
                exercise.run(variant, _copy(args))
        except Exception as exc:  # noqa: BLE001  (the error is what is compared)
            return error_signature(exc)
        return None

    def agrees(variant, args) -> bool:
        outcome = call_learner(exercise, fn, args, guard)
        if outcome.error is not None:
            return outcome.error.raised is not None and outcome.error.raised == raised_by(variant, args)
        try:
            with np.errstate(all="ignore"):
                mine = _as_outputs(outcome.result, len(exercise.outputs))
                theirs = _as_outputs(exercise.run(variant, _copy(args)), len(exercise.outputs))
            return all(diagnosis.same(a, b) for a, b in zip(mine, theirs, strict=True))
        except Exception:  # noqa: BLE001  (what cannot be compared does not agree)
            return False

    named = formula.raising_finding(exercise.reference, raised_by, finding.raised,
                                    lambda variant: all(agrees(variant, args) for args in others))
    if named is None:
        return finding
    return CheckFinding(f"{finding.message} {named[1]}", named[0], finding.rel_error)


def evaluate(exercise: Exercise, fn: Any, *, hidden: bool, seed: int | None,
             outcomes: Sequence[CheckOutcome] | None = None, explain: bool = True) -> CheckResult:
    """The verdict of a check: call ``fn`` on every trial, or judge recorded ``outcomes`` of those calls.

    ``explain=False`` gives the same verdict without searching for the mistake's name (the seed sweep)."""
    label = exercise.name
    if outcomes is None and (fn is None or not callable(fn)):
        what = "None" if fn is None else f"a {type(fn).__name__}"
        return CheckResult(label, False, f"{label}: expected your function `{exercise.name}`, got {what}. "
                                         f"Pass the function itself, without calling it.", "not_callable")
    worst, notes = 0.0, []
    trials = trial_inputs(exercise, hidden, seed)
    for k, args in enumerate(trials):
        try:
            if outcomes is None:
                outcome = call_learner(exercise, fn, args, _active_guard())
            elif k < len(outcomes):
                outcome = outcomes[k]
            else:
                raise CheckFinding("no result was recorded for this case (the check did not run to the end).",
                               "missing")
            verdict_k = _judge(exercise, args, outcome, explain)
            if isinstance(verdict_k, str):
                notes.append(verdict_k)
            else:
                worst = max(worst, verdict_k)
        except CheckFinding as f:
            if outcomes is None and explain:
                f = _reread(exercise, fn, args, f)
                f = _held_on_every_case(exercise, fn, trials, k, outcome, f)
                f = _raised_by_a_slip(exercise, fn, trials, k, f)
            case = f"case {k + 1} of {len(trials)}" + (" (hidden, random shapes)" if hidden else "")
            return CheckResult(label, False, f"{label} — {case}: {f.message}", f.mistake, f.rel_error)
    if notes:
        return CheckResult(label, True, f"{label}: " + "; ".join(notes), None, 0.0)
    kind = "hidden random cases" if hidden else "cases"
    return CheckResult(label, True, f"{label}: all {len(trials)} {kind} match the reference "
                                    f"(max relative error {worst:.1e}, {verdict(worst)}).", None, worst)

