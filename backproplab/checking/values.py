"""Values as the engine compares them: copies and structural equality of arguments, a learner's value read as
a float64 array, closeness, and the rounding bounds of an exact exercise, derived from the problem's
conditioning.
"""

from __future__ import annotations

import numpy as np

from backproplab.checking.measure import relative_gap
from backproplab.checking.model import CheckFinding, Exercise

#: :func:`rounding_bounds`: relative size of the input perturbations, how many, and the safety factors.
_PERTURBATION = 8 * np.finfo(np.float64).eps
_N_PERTURBATIONS = 3
_SPREAD_FACTOR = 64.0
_FLOOR_ULPS = 256 * np.finfo(np.float64).eps
_INPUT_ULPS = 16 * np.finfo(np.float64).eps
_CAP = 1e-9


def _copy(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a NamedTuple cache
        return type(value)(*(_copy(v) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v) for v in value)
    return value


def _same(a, b) -> bool:
    """Structural equality of arguments ``a`` (after the learner's call) and ``b`` (before): arrays bitwise
    (NaN equal to NaN); a function argument (``b`` callable) is not data and always counts as unchanged."""
    if callable(b) and not isinstance(b, np.ndarray):
        return True
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    try:
        return bool(a == b)
    except Exception:
        return False


def _as_outputs(result, n: int) -> tuple:
    """Split a returned value into ``n`` outputs (a tuple of n values, or the value itself when n == 1)."""
    if n == 1:
        return (result,)
    if isinstance(result, dict):
        return tuple(result.values())
    if isinstance(result, np.ndarray):  # n numbers in one vector: unpacks like a tuple
        return tuple(result[i] for i in range(n))
    return tuple(result)


def _to_float_array(value, name: str) -> np.ndarray:
    """Convert a learner's value to a plain float64 ndarray or raise a :class:`CheckFinding` saying why not."""
    if value is None:
        raise CheckFinding(f"`{name}` is None: did you forget a `return`, or return the wrong variable?", "none")
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        value = np.asarray(value).view(np.ndarray)
    if not isinstance(value, (np.ndarray, np.number, float, int, list, tuple)) or isinstance(value, bool):
        raise CheckFinding(f"`{name}` should be a numpy array of numbers, got a {type(value).__name__}.", "type")
    if isinstance(value, (list, tuple)) and any(v is None for v in value):
        raise CheckFinding(f"`{name}` holds None: did a function forget its `return`?", "none")
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise CheckFinding(f"`{name}` could not be read as an array of numbers "
                       f"(got a {type(value).__name__} with ragged or non-numeric contents).", "type") from None
    return arr


def _fmt_shape(shape) -> str:
    return str(tuple(int(n) for n in shape))


def _dims(value, found: set[int] | None = None) -> set[int]:
    """Every axis length of the arrays in ``value`` (arrays, tuples, lists, dicts, nested)."""
    found = set() if found is None else found
    if isinstance(value, np.ndarray):
        found.update(int(n) for n in value.shape)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _dims(v, found)
    elif isinstance(value, dict):
        for v in value.values():
            _dims(v, found)
    return found


def _close(got: np.ndarray, exp: np.ndarray, tol: float, exact_nonfinite: bool = True) -> bool:
    """Same shape, finite where the expected value is finite, relative error within ``tol``; the non-finite
    entries must be the same values (``exact_nonfinite``) or only at the same places (to recognise a mistake)."""
    if got.shape != exp.shape or not np.array_equal(np.isfinite(got), np.isfinite(exp)):
        return False
    if exact_nonfinite and not np.array_equal(got[~np.isfinite(got)], exp[~np.isfinite(exp)], equal_nan=True):
        return False  # inf where -inf or NaN is expected
    finite = np.isfinite(exp)
    return bool(relative_gap(got[finite], exp[finite]) <= tol)


def _perturb(value, rng: np.random.Generator):
    """``value`` with every float multiplied by ``1 + u``, ``|u| <= _PERTURBATION`` (zeros and signs kept, so an
    input exactly at a kink stays there); integers, booleans and functions unchanged; a new object."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind != "f":
            return value.copy()
        return value * (1.0 + _PERTURBATION * rng.uniform(-1.0, 1.0, size=value.shape))
    if isinstance(value, (float, np.floating)):
        return type(value)(value * (1.0 + _PERTURBATION * rng.uniform(-1.0, 1.0)))
    if isinstance(value, dict):
        return {k: _perturb(v, rng) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_perturb(v, rng) for v in value))
    if isinstance(value, (list, tuple)):
        return type(value)(_perturb(v, rng) for v in value)
    return value


def _max_abs(a: np.ndarray) -> float:
    finite = np.abs(a[np.isfinite(a)])
    return float(finite.max()) if finite.size else 0.0


def rounding_bounds(exercise: Exercise, args: tuple, expected) -> list[np.ndarray]:
    """Per output, the absolute difference from the reference that rounding can explain, entry by entry.

    The reference is evaluated again on inputs perturbed by a few ulps (:func:`_perturb`); how far its result
    moves measures the problem's conditioning at these inputs (an entry that cancels, ``y·y + y`` at y ≈ −1,
    moves a lot; a well-conditioned one by an ulp or two). A correct answer written in another order makes
    errors of that size, so the bound is a multiple of that spread, capped at ``_CAP`` of the largest output
    (an input at a kink must not excuse everything), plus a floor of a few hundred ulps of the output's
    largest entry, or more when the inputs are large (:func:`_input_scale`). A finite difference, off by about
    1e-10, lies far outside.
    """
    n = len(exercise.outputs)
    exps = [np.asarray(e, dtype=np.float64) for e in _as_outputs(expected, n)]
    spread = [np.zeros(e.shape) for e in exps]
    rng = np.random.default_rng(0x5EED)  # fixed: the kernel and the trusted grader derive the same bounds
    for _ in range(_N_PERTURBATIONS):
        try:
            with np.errstate(all="ignore"):
                moved = exercise.run(exercise.reference, _perturb(args, rng))
            outs = [np.asarray(o, dtype=np.float64) for o in _as_outputs(moved, n)]
        except Exception:  # noqa: BLE001  (a perturbed input the reference rejects tells nothing)
            continue
        for k, (o, e) in enumerate(zip(outs, exps, strict=True)):
            if o.shape == e.shape:
                d = np.abs(o - e)
                spread[k] = np.maximum(spread[k], np.where(np.isfinite(d), d, 0.0))
    scale = max((_max_abs(e) for e in exps), default=0.0)
    floor = max(_FLOOR_ULPS, _INPUT_ULPS * _input_scale(args))
    return [np.minimum(_SPREAD_FACTOR * s, _CAP * scale) + floor * _max_abs(e)
            for e, s in zip(exps, spread, strict=True)]


def rounding_could_explain(gots: list, exps: list, all_exps: list, args: tuple) -> bool:
    """Whether the largest bound :func:`rounding_bounds` can give (its cap and floor, from ``all_exps``, every
    output of the reference) covers every difference between ``gots`` and ``exps``: when it cannot, computing
    the bounds (the reference run again) is skipped."""
    scale = max((_max_abs(e) for e in all_exps), default=0.0)
    floor = max(_FLOOR_ULPS, _INPUT_ULPS * _input_scale(args))
    for g, e in zip(gots, exps, strict=True):
        if g.shape != e.shape or not np.array_equal(np.isfinite(g), np.isfinite(e)):
            return False
        finite = np.isfinite(e)
        if finite.any() and np.max(np.abs(g[finite] - e[finite])) > _CAP * scale + floor * _max_abs(e):
            return False
    return True


def _input_scale(value) -> float:
    """The largest magnitude among the float inputs. A correct algorithm's intermediates (a log-sum-exp of logits
    near 3000) carry rounding errors of about ε times it, which input perturbations do not always reveal."""
    if isinstance(value, np.ndarray):
        return _max_abs(value.astype(np.float64)) if value.dtype.kind == "f" else 0.0
    if isinstance(value, (float, np.floating)):
        return abs(float(value)) if np.isfinite(value) else 0.0
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return max((_input_scale(v) for v in value), default=0.0)
    return 0.0


def _within(got: np.ndarray, exp: np.ndarray, bound: np.ndarray) -> bool:
    """Like :func:`_close`, entry by entry: every finite difference within ``bound``."""
    if got.shape != exp.shape or not np.array_equal(np.isfinite(got), np.isfinite(exp)):
        return False
    finite = np.isfinite(exp)
    if not np.array_equal(got[~finite], exp[~finite], equal_nan=True):
        return False
    return bool(np.all(np.abs(got[finite] - exp[finite]) <= bound[finite]))


def _distance(arrays, wrong) -> float:
    """How far the learner's outputs are from a mistake's (finite entries; NaN and inf matched by position)."""
    worst = 0.0
    for g, w in zip(arrays, wrong, strict=True):
        finite = np.isfinite(g) & np.isfinite(w)
        worst = max(worst, relative_gap(g[finite], w[finite]) if finite.any() else 0.0)
    return worst


