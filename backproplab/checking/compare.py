"""One trial's comparison: the learner's outputs against the reference's, then, when they differ, the first
explanation that fits: a hand-written :class:`~backproplab.checking.model.Mistake`, float32, the outputs'
order, a generic transformation (:mod:`backproplab.checking.diagnosis`), a shape or a value finding.
"""

from __future__ import annotations

import numpy as np

from backproplab.checking import diagnosis, formula
from backproplab.checking.findings import (
    _order_finding,
    _precision_finding,
    _shape_finding,
    _value_finding,
    factor_fits,
)
from backproplab.checking.measure import relative_gap
from backproplab.checking.model import CheckFinding, Exercise, Mistake
from backproplab.checking.values import (
    _as_outputs,
    _close,
    _copy,
    _dims,
    _distance,
    _fmt_shape,
    _to_float_array,
    _within,
    rounding_bounds,
    rounding_could_explain,
)


def _compare(exercise: Exercise, got_result, exp_result, args, bounds: list | None = None,
             explain: bool = True, search: bool | str = True, cost: float = 0.0) -> float:
    """Compare all outputs; return the worst relative error or raise a :class:`CheckFinding`. With ``bounds``
    (:func:`rounding_bounds`) an output is accepted when every entry is within its bound, else within
    ``exercise.tol`` or, where that fails, within the bounds rounding explains at these inputs (an
    ill-conditioned input: ``tol`` is relative, and an output that cancels to ~0 has no relative digits).
    ``explain=False`` raises a bare finding for a wrong answer (the same verdict, no name);
    ``search=False`` explains without the generic search; ``search="<key>"`` tries only the explanation named
    ``key`` (to confirm on another case a name found on one); ``search=diagnosis.SEARCH_PAST_FACTORS`` searches
    even where a factor is named. ``cost``: the CPU seconds one evaluation of the reference took (a reference
    too slow to search, :class:`diagnosis.Budget`, gets no search)."""
    names = exercise.outputs
    _check_structure(exercise, got_result, exp_result)
    gots = _as_outputs(got_result, len(names))
    exps = [np.asarray(e, dtype=np.float64) for e in _as_outputs(exp_result, len(names))]
    arrays = [_to_float_array(g, nm) for g, nm in zip(gots, names, strict=True)]
    if bounds is None:
        mismatch = [i for i, (g, e) in enumerate(zip(arrays, exps, strict=True)) if not _close(g, e, exercise.tol)]
        if mismatch and rounding_could_explain([arrays[i] for i in mismatch], [exps[i] for i in mismatch], exps,
                                               args):
            # at inputs where the problem cancels, rounding alone moves a correct answer past ``tol``
            derived = rounding_bounds(exercise, args, exp_result)
            mismatch = [i for i in mismatch if not _within(arrays[i], exps[i], derived[i])]
    else:
        mismatch = [i for i, (g, e, b) in enumerate(zip(arrays, exps, bounds, strict=True))
                    if not _within(g, e, b)]
    if not mismatch:  # an output that matches only to rounding (it cancels) matches: it adds no error
        return max((relative_gap(g, e) if _close(g, e, exercise.tol) else 0.0
                    for g, e in zip(arrays, exps, strict=True)), default=0.0)
    if not explain:
        raise CheckFinding(f"`{names[mismatch[0]]}` differs from the reference.")
    _precision_finding(gots, arrays, exps, names, exercise.tol)
    if not isinstance(search, str):  # confirming a generic name: a hand-written mistake may coincide on a case
        _mistake_finding(exercise, args, arrays, exps, bounds, mismatch[0])  # specific mistakes first
    _order_finding(arrays, exps, names, exercise.tol)
    raise _generic_finding(exercise, args, arrays, exps, mismatch[0], search, cost)


def _check_structure(exercise: Exercise, got_result, exp_result) -> None:
    """Raise when the learner returned another number of values than the exercise's outputs."""
    names = exercise.outputs
    n = len(names)
    if n == 1:
        return
    if got_result is None:
        raise CheckFinding(f"`{exercise.name}` returned None: it should return {', '.join(names)}.", "none")
    vector = isinstance(got_result, np.ndarray) and got_result.shape == (n,)
    if not vector and (not isinstance(got_result, (tuple, list, dict)) or len(got_result) != n):
        what = f"{len(got_result)} values" if isinstance(got_result, (tuple, list, dict)) else \
            f"a {type(got_result).__name__}" + (f" of shape {_fmt_shape(got_result.shape)}"
                                                if isinstance(got_result, np.ndarray) else "")
        raise CheckFinding(f"`{exercise.name}` should return {n} values ({', '.join(names)}), got {what}.",
                           "structure")
    if isinstance(got_result, dict) and not isinstance(exp_result, dict):
        raise CheckFinding(f"`{exercise.name}` returned a dict; return the values themselves, in this order: "
                           f"`return {', '.join(names)}` (unpacking a dict gives its keys).", "structure")


def _mistake_finding(exercise: Exercise, args, arrays, exps, bounds, first: int) -> None:
    """Raise the hand-written mistake the answer matches: the closest, unless another slip fits as closely
    (then both are said, neither is claimed). A mistake that gives the right answer on these inputs is skipped:
    it cannot be what went wrong."""
    n = len(exercise.outputs)
    matched: list[tuple[float, Mistake]] = []
    for mistake in exercise.mistakes:
        try:
            wrong = [np.asarray(w, dtype=np.float64) for w in _as_outputs(mistake.wrong(*_copy(args)), n)]
        except Exception:  # noqa: BLE001  (a mistake that cannot run on these inputs is not this one)
            continue
        if all(_close(w, e, exercise.tol) if bounds is None else _within(w, e, b)
               for w, e, b in zip(wrong, exps, bounds or exps, strict=True)):
            continue
        if all(_close(g, w, max(exercise.tol, 1e-9), exact_nonfinite=False)
               for g, w in zip(arrays, wrong, strict=True)):
            matched.append((_distance(arrays, wrong), mistake))
    if not matched:
        return
    matched.sort(key=lambda pair: pair[0])
    matched_close = [mk for d, mk in matched if d <= 10.0 * matched[0][0] + 1e-15]
    name = exercise.outputs[first]
    err = _error(arrays[first], exps[first])
    kinds = list(dict.fromkeys(mk.name for mk in matched_close))
    if len(kinds) == 1:
        raise CheckFinding(f"`{name}` is wrong. Likely mistake: {matched_close[0].message}", kinds[0], err)
    both = " Or: ".join(next(mk.message for mk in matched_close if mk.name == k) for k in kinds[:2])
    raise CheckFinding(f"`{name}` is wrong. On this case two different slips give exactly this answer: {both}",
                       "ambiguous", err)


def _error(got: np.ndarray, exp: np.ndarray) -> float | None:
    return relative_gap(got, exp) if got.shape == exp.shape and np.all(np.isfinite(got)) else None


#: Findings the generic search may replace: nothing named, a constant factor, "close but not exact", NaN.
_SEARCHED = frozenset({None, "scale", "approximate", "overflow"})


def _generic_finding(exercise: Exercise, args, arrays, exps, i: int, search: bool | str = True,
                     cost: float = 0.0) -> CheckFinding:
    """What every exercise shares (a factor, 1/m, an approximation), else the generic search
    (:mod:`.diagnosis`: the inputs transformed, then :mod:`.formula`: one slip in the reference's formula),
    else the shape or the pattern of the error. ``search=False``: no search (a name that did not hold on
    every case is taken back, :func:`backproplab.checking.run.evaluate`); ``search=key``: only that name."""
    names = exercise.outputs
    arg_names = diagnosis.argument_names(exercise.signature, len(args))
    g, e = arrays[i], exps[i]
    m = exercise.batch_size(args) if exercise.batch_size else None
    found = _value_finding(names[i], g, e, m, exercise.tol, _dims(args), exercise.exact) \
        if g.shape == e.shape else None
    past = search == diagnosis.SEARCH_PAST_FACTORS
    only = search if isinstance(search, str) and not past else None
    if only is not None and factor_fits(only, g, e, m, _dims(args)):  # confirming a factor on another case
        return CheckFinding(f"`{names[i]}` is the same factor off.", only)
    if search and (past or only is not None or found is None or found.mistake in _SEARCHED):
        budget = diagnosis.Budget(cost=cost)  # one for both searches
        named = diagnosis.transform_finding(lambda moved: _reference_outputs(exercise, moved), args, arg_names,
                                            exercise.parts, names, arrays, exps, only, budget)
        if named is None and budget.left() and all(a.shape == x.shape for a, x in zip(arrays, exps, strict=True)):
            named = formula.formula_finding(
                exercise.reference, lambda variant: _variant_outputs(exercise, variant, args), names[i],
                lambda candidate: diagnosis.explains(arrays, exps, candidate), only, budget)
        if named is not None:
            return CheckFinding(named[1], named[0], _error(g, e))
    if found is None:
        return _shape_finding(names[i], g, e, exercise.shape_hint)
    if found.mistake is None and found.rel_error is not None and g.size > 1:
        inputs = [(label, v) for label, _, v in diagnosis.leaves(args, arg_names, exercise.parts)]
        wrong = np.abs(g - e) > exercise.tol * (np.abs(e) + np.abs(g)) + 1e-300
        pattern = diagnosis.pattern_text(names[i], g, e, wrong, inputs)
        if pattern:
            return CheckFinding(f"{found.message} Pattern: {pattern}", None, found.rel_error)
    return found


def _variant_outputs(exercise: Exercise, variant, args: tuple) -> list[np.ndarray]:
    """What a variant of the reference (:mod:`.formula`) returns on ``args``, called as the exercise calls it."""
    result = exercise.run(variant, _copy(args))
    return [np.asarray(o, dtype=np.float64) for o in _as_outputs(result, len(exercise.outputs))]


def _reference_outputs(exercise: Exercise, args: tuple) -> list[np.ndarray]:
    result = exercise.run(exercise.reference, _copy(args))
    return [np.asarray(o, dtype=np.float64) for o in _as_outputs(result, len(exercise.outputs))]


