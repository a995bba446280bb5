"""The engine behind every learner check and every graded check.

An :class:`Exercise` names the learner's function, the reference it must agree with, how to draw inputs,
and the realistic :class:`Mistake` s a learner makes. :func:`run_check` calls the learner's function on a few
inputs, compares each returned array with the reference and answers in one short paragraph: a pass, or what
differs (shape, which entries, relative error, seed 002's verdict) and the likely mistake recognised from the
shape of the error. Learner checks and graded cells call the same function, so feedback and grade agree.
"""

from __future__ import annotations

import html
import os
import traceback
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backproplab import diagnosis
from backproplab.gradcheck import relative_error, verdict

#: Relative error below which a learner's array counts as equal to the reference (seed 002: "excellent").
DEFAULT_TOL = 1e-7

#: The course's one policy on numerical approximations, said in every message that rejects one.
APPROXIMATION_POLICY = ("An exercise that asks for an analytic gradient accepts only the exact formula, to "
                        "rounding: a finite-difference estimate (numerical_gradient, numerical_vjp, centred "
                        "differences) is for checking a gradient, never for computing the answer.")

#: :func:`rounding_bounds`: relative size of the input perturbations, how many, and the safety factors.
_PERTURBATION = 8 * np.finfo(np.float64).eps
_N_PERTURBATIONS = 3
_SPREAD_FACTOR = 64.0
_FLOOR_ULPS = 256 * np.finfo(np.float64).eps
_CAP = 1e-9

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))
_NUMPY_DIR = os.path.dirname(os.path.abspath(np.__file__))


@dataclass(frozen=True)
class Mistake:
    """A realistic wrong implementation, recognised by the answer it produces.

    ``wrong`` takes the same arguments as the reference and returns what a learner who made this mistake
    returns (the same structure as the reference). ``message`` tells the learner what to fix, in their terms.
    """

    name: str
    message: str
    wrong: Callable[..., Any]


@dataclass(frozen=True)
class Exercise:
    """One graded exercise.

    Parameters
    ----------
    name: the learner's function name, e.g. ``"dense_backward"``; also the name of ``check.<name>``.
    reference: the correct implementation, same signature as the learner's function.
    make_inputs: ``(rng, hidden) -> tuple of arguments``; ``hidden=True`` draws random shapes for grading.
    outputs: names of the returned values, e.g. ``("dX", "dW", "db")``; one name for a single return value.
    mistakes: recognised wrong implementations, tried in order, most specific first.
    call: optional harness ``(fn, args) -> result`` for exercises that are not a plain ``fn(*args)``
        (stateful optimizers, graph nodes); it receives copies of the arguments.
    batch_size: ``args -> m`` used to name a missing or doubled 1/m; ``None`` when there is no batch.
    tol: relative error accepted per output.
    signature: how the learner calls the function, shown in messages, e.g. ``"dense_backward(dZ, cache)"``.
    shape_hint: what to tell a learner whose shapes do not fit (numpy's matmul or broadcast error, or a
        result of the wrong shape): the shapes of this exercise, e.g. ``"dX = dZ·Wᵀ is (m, n_in)"``.
    exact: the exercise asks for an analytic result (a gradient by the chain rule). Every entry must then
        agree with the reference to rounding, within a bound derived from the problem's conditioning
        (:func:`rounding_bounds`), not to ``tol``: a finite-difference answer (right to about 1e-10) is
        rejected and named (:data:`APPROXIMATION_POLICY`). ``tol`` still decides which mistakes match.
    edge_cases: ``rng -> arguments`` of inputs every run covers, visible and graded, after the exercise's own
        trials, so that a verdict never depends on whether the seed happened to draw them: a one-layer network,
        a resumed optimizer state, a probability at the clipping value, an input of every rank the docstring
        allows. Their values come from the trial's seed (the grading seed when hidden).
    parts: the learner's names for the entries of a tuple argument, e.g. ``{"cache": ("X", "W", "b")}``, used
        by the generic diagnosis (:mod:`backproplab.diagnosis`) to say "`b` is left out" in the learner's terms.
    """

    name: str
    reference: Callable[..., Any]
    make_inputs: Callable[[np.random.Generator, bool], tuple]
    outputs: tuple[str, ...] = ("result",)
    mistakes: tuple[Mistake, ...] = ()
    call: Callable[[Callable, tuple], Any] | None = None
    batch_size: Callable[[tuple], int] | None = None
    tol: float = DEFAULT_TOL
    signature: str = ""
    shape_hint: str = ""
    visible_trials: int = 3
    hidden_trials: int = 8
    exact: bool = False
    edge_cases: tuple[Callable[[np.random.Generator], tuple], ...] = ()
    parts: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def run(self, fn: Callable, args: tuple) -> Any:
        """Call ``fn`` on ``args`` the way this exercise does (through ``call`` when given)."""
        if self.call is not None:
            return self.call(fn, args)
        return fn(*args)


@dataclass
class CheckResult:
    """What a check found. Truthy when the learner's function passed.

    ``mistake`` is the name of the recognised :class:`Mistake` (or of a generic finding such as
    ``"sign"``, ``"transpose"``, ``"in_place"``), ``None`` when nothing was recognised or all passed.
    """

    exercise: str
    passed: bool
    message: str
    mistake: str | None = None
    rel_error: float | None = None

    def __bool__(self):
        return self.passed

    def __repr__(self):
        return self.message

    def _repr_html_(self):
        colour, mark = ("#e6f4ea", "&#x2713;") if self.passed else ("#fdecea", "&#x2717;")
        body = html.escape(self.message).replace("\n", "<br>")
        return (f'<div style="background:{colour};padding:6px 10px;border-radius:4px;'
                f'font-family:var(--jp-content-font-family, sans-serif)">{mark} {body}</div>')


class Finding(Exception):
    """Internal: a learner-facing finding that ends one trial."""

    def __init__(self, message: str, mistake: str | None = None, rel_error: float | None = None):
        super().__init__(message)
        self.message = message
        self.mistake = mistake
        self.rel_error = rel_error


# ----------------------------------------------------------------------------------------------- seeds
def grading_seed() -> int:
    """Seed for hidden graded inputs, fixed per submission so that a re-grade gives the same grade.

    ``BACKPROPLAB_GRADING_SEED`` when the grader sets it, else a hash of the notebook's folder (under
    nbgrader that folder is ``autograded/<student>/<assignment>``).
    """
    env = os.environ.get("BACKPROPLAB_GRADING_SEED")
    if env is not None and env.strip().lstrip("-").isdigit():
        return int(env) & 0xFFFFFFFF
    return zlib.crc32(os.path.abspath(os.getcwd()).encode())


def visible_case(rng, name: str, n: int) -> int:
    """Index of the visible trial that drew ``rng`` (0, 1, 2, ...) modulo ``n``: visible trials are seeded
    ``crc32(name) + i`` (:func:`_trial_seeds`), so each visible case is fixed and all of them are shown."""
    return (int(rng.bit_generator.seed_seq.entropy) - zlib.crc32(name.encode())) % n


def visible_shape(rng, shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """One of ``shapes`` for a visible trial, a different one for each of ``len(shapes)`` consecutive visible
    trials (their seeds are consecutive): code that hard-codes the printed shape fails a visible case."""
    return tuple(shapes[int(rng.bit_generator.seed_seq.entropy) % len(shapes)])


def _trial_seeds(exercise: Exercise, hidden: bool, seed: int | None) -> list[int]:
    base = zlib.crc32(exercise.name.encode())
    if not hidden:
        return [base + i for i in range(exercise.visible_trials + len(exercise.edge_cases))]
    s = grading_seed() if seed is None else seed
    n = exercise.hidden_trials + len(exercise.edge_cases)
    return [(s * 1_000_003 + base + 7919 * i) & 0xFFFFFFFF for i in range(n)]


def _to_rank(a: np.ndarray, rank: int) -> np.ndarray:
    """The entries of ``a`` (special values included) and the same entries reversed, as an array of ``rank``
    axes: rank 1 ``(2k,)``, rank 2 ``(2, k)``, rank 3 ``(2, 1, k)``, rank 4 ``(1, 2, 1, k)``."""
    flat = np.ravel(a)
    both = np.concatenate([flat, flat[::-1]])
    shape = {1: (-1,), 2: (2, -1), 3: (2, 1, -1), 4: (1, 2, 1, -1)}[rank]
    return both.reshape(shape)


def of_ranks(make_inputs: Callable[[np.random.Generator, bool], tuple], *ranks: int):
    """Edge cases for an element-wise exercise whose docstring allows any shape: a hidden draw of
    ``make_inputs`` with every array argument rearranged to each of ``ranks`` (:func:`_to_rank`), so that code
    written for one rank (a double loop, ``z[i, j]``, ``axis=1``) fails every graded run."""
    def edge(rank):
        def make(rng):
            return tuple(_to_rank(a, rank) if isinstance(a, np.ndarray) else a for a in make_inputs(rng, True))
        return make
    return tuple(edge(r) for r in ranks)


# ------------------------------------------------------------------------------------------ comparing
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
    """Convert a learner's value to a plain float64 ndarray or raise a :class:`Finding` saying why not."""
    if value is None:
        raise Finding(f"`{name}` is None: did you forget a `return`, or return the wrong variable?", "none")
    if isinstance(value, np.ndarray) and type(value) is not np.ndarray:
        value = np.asarray(value).view(np.ndarray)
    if not isinstance(value, (np.ndarray, np.number, float, int, list, tuple)) or isinstance(value, bool):
        raise Finding(f"`{name}` should be a numpy array of numbers, got a {type(value).__name__}.", "type")
    if isinstance(value, (list, tuple)) and any(v is None for v in value):
        raise Finding(f"`{name}` holds None: did a function forget its `return`?", "none")
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise Finding(f"`{name}` could not be read as an array of numbers "
                       f"(got a {type(value).__name__} with ragged or non-numeric contents).", "type") from None
    return arr


def _fmt_shape(shape) -> str:
    return str(tuple(int(n) for n in shape))


def _shape_finding(name: str, got: np.ndarray, exp: np.ndarray, hint: str = "") -> Finding:
    gs, es = _fmt_shape(got.shape), _fmt_shape(exp.shape)
    head = f"`{name}` has shape {gs} but should have shape {es}."
    if got.size == 1 and exp.size == 1 and got.ndim < exp.ndim:
        return Finding(f"{head} Return an array of that shape, not a bare number: keep the axes of the sum "
                       f"(`keepdims=True`) rather than calling `float(...)` or `.item()`.", "shape")
    if got.size == 1 and exp.size == 1:
        return Finding(f"{head} Return the number itself (a float, e.g. `float(...)`), not an array holding "
                       f"it.", "shape")
    if got.ndim == 2 and got.shape == exp.shape[::-1]:
        if np.allclose(got.T, exp, rtol=1e-6, atol=1e-12):
            return Finding(f"{head} Its values are the transpose of the right answer: a transpose is missing "
                           f"or misplaced. {hint}".rstrip(), "transpose")
        return Finding(f"{head} The axes are swapped: check the order of the dimensions (a transpose, or the "
                       f"order of the arguments). {hint}".rstrip(), "transpose")
    if exp.ndim == 2 and exp.shape[0] == 1 and got.shape == exp.shape[1:]:
        return Finding(f"{head} Keep the row dimension: use `keepdims=True` in the sum "
                        f"(b and db are (1, n_out) row vectors).", "keepdims")
    if exp.ndim == 2 and got.ndim == 2 and got.shape[1] == 1 and exp.shape[0] == 1:
        return Finding(f"{head} You summed over the wrong axis: sum over the batch, `axis=0`.", "bias_axis")
    if exp.ndim == 2 and got.ndim == 1 and got.shape[0] == exp.shape[0]:
        return Finding(f"{head} You summed over the wrong axis or dropped a dimension.", "bias_axis")
    if exp.ndim == 2 and 1 in exp.shape and got.ndim <= 2 and got.size != exp.size:
        axis = 0 if exp.shape[0] == 1 else 1
        return Finding(f"{head} A bias gradient sums over the examples: here that is axis={axis}, with "
                       f"keepdims=True, so that it keeps the shape of the bias {es}.", "bias_axis")
    if got.size == 1 and exp.size > 1:
        return Finding(f"{head} You returned a single number where an array is expected: "
                        f"did you sum or average too early?", "reduced")
    if exp.size == 1 and got.size > 1:
        return Finding(f"{head} Reduce to a single number: average over the batch (and sum over outputs).",
                        "not_reduced")
    if hint:
        return Finding(f"{head} {hint}", "shape")
    return Finding(f"{head} Check the shapes along the way, and which axis each sum or product runs over.",
                   "shape")


_FACTORS = (
    (-1.0, "sign", "It is the right answer with the opposite sign: a sign error (a difference written the "
                   "wrong way round, e.g. y − ŷ for ŷ − y, or a missing minus)."),
    (2.0, "extra_factor_2", "It is exactly 2× the right answer: an extra factor 2."),
    (0.5, "dropped_factor_2", "It is exactly half the right answer: a factor 2 is missing."),
)
#: Said after "a factor 2 is missing" only where the answer is a derivative (``Exercise.exact``).
_SQUARE_HINT = " (such as the 2 of d/dx x² = 2x)"


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


def _value_finding(name: str, got: np.ndarray, exp: np.ndarray, m: int | None, tol: float,
                   dims: set[int] = frozenset(), exact: bool = False) -> Finding:
    if not np.all(np.isfinite(got)) and np.all(np.isfinite(exp)):
        bad = int(np.size(got) - np.count_nonzero(np.isfinite(got)))
        return Finding(f"`{name}` contains {bad} NaN or infinite value(s) where the answer is finite: "
                        f"an overflow (np.exp of a large input?), a division by zero, or the log or square root "
                        f"of a negative number.",
                        "overflow", float("nan"))
    err = relative_error(got, exp)
    dot = float(np.vdot(exp, exp))
    if dot > 0:
        c = float(np.vdot(got, exp)) / dot
        if relative_error(got, c * exp) < 1e-9 and abs(c - 1.0) > 1e-6:
            if m is not None and m > 1 and abs(c - m) < 1e-9 * m:
                return Finding(f"`{name}` is exactly m = {m} times the right answer: the 1/m of the mean is "
                                f"missing.", "missing_1_over_m", err)
            if m is not None and m > 1 and abs(c - 1.0 / m) < 1e-9:
                return Finding(f"`{name}` is exactly 1/m = 1/{m} of the right answer: the 1/m is applied twice "
                                f"(it belongs once on the backward path, in the loss gradient).",
                                "double_1_over_m", err)
            for factor, key, text in _FACTORS:
                if abs(c - factor) < 1e-9:
                    if key == "dropped_factor_2" and exact:
                        text = text[:-1] + _SQUARE_HINT + "."
                    return Finding(f"`{name}` is wrong. {text}", key, err)
            for k in sorted(dims - {m, 1}) if m is not None and m > 1 else ():
                if abs(c - m / k) < 1e-9 * max(1.0, m / k):
                    return Finding(f"`{name}` is the right answer times m/{k}: you divided by {k} where the mean "
                                   f"needs m = {m}, the number of examples (the first axis, e.g. X.shape[0]).",
                                   "wrong_m", err)
            if abs(c) > 1e-12 and exp.size > 1:  # any two single numbers are proportional: no finding
                return Finding(f"`{name}` is the right answer times {c:.4g}: a constant factor is off.",
                                "scale", err)
    if err < 1e-5 and exact:
        return Finding(f"`{name}` is close to the answer but not exact: relative error {err:.1e}, the accuracy of "
                       f"a numerical approximation such as a finite difference. {APPROXIMATION_POLICY} If you did "
                       f"not approximate, look for a small term in the wrong place (an ε outside its "
                       f"parentheses).", "approximate", err)
    if err < 1e-5:
        return Finding(f"`{name}` is close to the answer but not exact: relative error {err:.1e}. That is the "
                       f"accuracy of an approximation (a finite difference, a clipped or rounded value); "
                       f"this exercise asks for the exact formula. If you did not approximate, look for a small "
                       f"term in the wrong place (an ε outside its parentheses, an operator-precedence slip).",
                       "approximate", err)
    if got.size == 1:
        return Finding(f"`{name}` is {float(got.ravel()[0]):.6g}; the right answer is {float(exp.ravel()[0]):.6g}.",
                       None, err)
    diff = np.abs(got - exp)
    wrong = diff > tol * (np.abs(exp) + np.abs(got)) + 1e-300
    n_wrong = int(np.count_nonzero(wrong))
    where = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
    idx = ", ".join(str(int(i)) for i in where)
    at = f"[{idx}]" if idx else ""
    size = (f"Relative error {err:.2e} ({verdict(err)})." if np.isfinite(err) else
            "The values are too large to compare: look for a missing normalisation or an overflow.")
    return Finding(f"`{name}` differs from the reference in {n_wrong} of {got.size} entries; the largest "
                   f"difference is at {name}{at}: got {float(got[where]):.6g}, expected {float(exp[where]):.6g}. "
                   f"{size}", None, err)


def _close(got: np.ndarray, exp: np.ndarray, tol: float, exact_nonfinite: bool = True) -> bool:
    """Same shape, finite where the expected value is finite, relative error within ``tol``; the non-finite
    entries must be the same values (``exact_nonfinite``) or only at the same places (to recognise a mistake)."""
    if got.shape != exp.shape or not np.array_equal(np.isfinite(got), np.isfinite(exp)):
        return False
    if exact_nonfinite and not np.array_equal(got[~np.isfinite(got)], exp[~np.isfinite(exp)], equal_nan=True):
        return False  # inf where -inf or NaN is expected
    finite = np.isfinite(exp)
    return bool(relative_error(got[finite], exp[finite]) <= tol)


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
    largest entry. A finite difference, off by about 1e-10, lies far outside.
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
    return [np.minimum(_SPREAD_FACTOR * s, _CAP * scale) + _FLOOR_ULPS * _max_abs(e)
            for e, s in zip(exps, spread, strict=True)]


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
        worst = max(worst, relative_error(g[finite], w[finite]) if finite.any() else 0.0)
    return worst


def _precision_finding(gots, arrays, exps, names, tol) -> None:
    """Raise when a wrong output was computed in float32 or float16 and is right to that precision."""
    for got, g, e, name in zip(gots, arrays, exps, names, strict=True):
        dtype = getattr(got, "dtype", None)
        if dtype in (np.float32, np.float16) and g.shape == e.shape and not _close(g, e, tol) \
                and _close(g, e, float(np.finfo(dtype).eps) * 8):
            raise Finding(f"`{name}` is {dtype} and right only to {dtype} precision. The course works in "
                          f"float64 (numpy's default): drop the `dtype=np.{dtype}` or `.astype(np.{dtype})`.",
                          "low_precision")


def _order_finding(arrays, exps, names, tol) -> None:
    """Raise when every output is right but they come in another order (e.g. ``(dy, dx)`` for ``(dx, dy)``)."""
    n = len(arrays)
    if n < 2:
        return
    fits = [[j for j in range(n) if _close(arrays[i], exps[j], tol)] for i in range(n)]

    def assign(i, used):
        if i == n:
            return []
        for j in fits[i]:
            if j not in used:
                rest = assign(i + 1, used | {j})
                if rest is not None:
                    return [j, *rest]
        return None

    order = assign(0, frozenset())
    if order is not None and order != list(range(n)):
        i = next(k for k in range(n) if order[k] != k)
        raise Finding(f"`{names[i]}` holds the value of `{names[order[i]]}`: the outputs are right but returned in "
                      f"the wrong order. Return them as ({', '.join(names)}).", "output_order")


def _compare(exercise: Exercise, got_result, exp_result, args, bounds: list | None = None) -> float:
    """Compare all outputs; return the worst relative error or raise a :class:`Finding`. With ``bounds``
    (:func:`rounding_bounds`) an output is accepted when every entry is within its bound, else within
    ``exercise.tol``."""
    names = exercise.outputs
    n = len(names)
    if n > 1:
        if got_result is None:
            raise Finding(f"`{exercise.name}` returned None: it should return {', '.join(names)}.", "none")
        vector = isinstance(got_result, np.ndarray) and got_result.shape == (n,)
        if not vector and (not isinstance(got_result, (tuple, list, dict)) or len(got_result) != n):
            what = f"{len(got_result)} values" if isinstance(got_result, (tuple, list, dict)) else \
                f"a {type(got_result).__name__}" + (f" of shape {_fmt_shape(got_result.shape)}"
                                                    if isinstance(got_result, np.ndarray) else "")
            raise Finding(f"`{exercise.name}` should return {n} values ({', '.join(names)}), got {what}.",
                           "structure")
    if n > 1 and isinstance(got_result, dict) and not isinstance(exp_result, dict):
        raise Finding(f"`{exercise.name}` returned a dict; return the values themselves, in this order: "
                      f"`return {', '.join(names)}` (unpacking a dict gives its keys).", "structure")
    gots = _as_outputs(got_result, n)
    exps = [np.asarray(e, dtype=np.float64) for e in _as_outputs(exp_result, n)]
    arrays = [_to_float_array(g, nm) for g, nm in zip(gots, names, strict=True)]
    # Specific mistakes first: they name the error in the learner's terms.
    if bounds is None:
        mismatch = [i for i, (g, e) in enumerate(zip(arrays, exps, strict=True)) if not _close(g, e, exercise.tol)]
    else:
        mismatch = [i for i, (g, e, b) in enumerate(zip(arrays, exps, bounds, strict=True))
                    if not _within(g, e, b)]
    if not mismatch:
        return max((relative_error(g, e) for g, e in zip(arrays, exps, strict=True)), default=0.0)
    _precision_finding(gots, arrays, exps, names, exercise.tol)
    matched: list[Mistake] = []
    for mistake in exercise.mistakes:
        try:
            wrong = [np.asarray(w, dtype=np.float64) for w in _as_outputs(mistake.wrong(*_copy(args)), n)]
        except Exception:
            continue
        if all(_close(w, e, exercise.tol) if bounds is None else _within(w, e, b)
               for w, e, b in zip(wrong, exps, bounds or exps, strict=True)):
            continue  # on these inputs the mistake gives the right answer: it cannot be what went wrong
        if all(_close(g, w, max(exercise.tol, 1e-9), exact_nonfinite=False)
               for g, w in zip(arrays, wrong, strict=True)):
            matched.append((_distance(arrays, wrong), mistake))
    if matched:  # the closest, unless another slip fits as closely: then both are said, neither is claimed
        matched.sort(key=lambda pair: pair[0])
        best = matched[0][0]
        matched = [mk for d, mk in matched if d <= 10.0 * best + 1e-15]
        first = names[mismatch[0]]
        g, e = arrays[mismatch[0]], exps[mismatch[0]]
        err = relative_error(g, e) if g.shape == e.shape and np.all(np.isfinite(g)) else None
        kinds = list(dict.fromkeys(mk.name for mk in matched))
        if len(kinds) == 1:
            raise Finding(f"`{first}` is wrong. Likely mistake: {matched[0].message}", matched[0].name, err)
        both = " Or: ".join(next(mk.message for mk in matched if mk.name == k) for k in kinds[:2])
        raise Finding(f"`{first}` is wrong. On this case two different slips give exactly this answer: {both}",
                      "ambiguous", err)
    _order_finding(arrays, exps, names, exercise.tol)
    arg_names = diagnosis.argument_names(exercise.signature, len(args))
    i = mismatch[0]
    g, e = arrays[i], exps[i]
    m = exercise.batch_size(args) if exercise.batch_size else None
    generic = _value_finding(names[i], g, e, m, exercise.tol, _dims(args), exercise.exact) \
        if g.shape == e.shape else None
    if generic is None or generic.mistake in (None, "scale"):  # a named factor, 1/m or approximation first
        named = diagnosis.transform_finding(lambda moved: _reference_outputs(exercise, moved), args, arg_names,
                                            exercise.parts, names, arrays, exps)
        if named is not None:
            err = relative_error(g, e) if g.shape == e.shape and np.all(np.isfinite(g)) else None
            raise Finding(f"{named[1]}", named[0], err)
    if g.shape != e.shape:
        raise _shape_finding(names[i], g, e, exercise.shape_hint)
    if generic.mistake is None and generic.rel_error is not None and g.size > 1:
        inputs = [(label, v) for label, _, v in diagnosis.leaves(args, arg_names, exercise.parts)]
        wrong = np.abs(g - e) > exercise.tol * (np.abs(e) + np.abs(g)) + 1e-300
        pattern = diagnosis.pattern_text(names[i], g, e, wrong, inputs)
        if pattern:
            generic = Finding(f"{generic.message} Pattern: {pattern}", None, generic.rel_error)
    raise generic


def _reference_outputs(exercise: Exercise, args: tuple) -> list[np.ndarray]:
    result = exercise.run(exercise.reference, _copy(args))
    return [np.asarray(o, dtype=np.float64) for o in _as_outputs(result, len(exercise.outputs))]


def _learner_frame(exc: BaseException) -> str:
    """``' (line 4: `dW = X @ dZ`)'`` for the deepest frame of the learner's own code, or ``''``."""
    frames = traceback.extract_tb(exc.__traceback__)
    for fr in reversed(frames):
        path = os.path.abspath(fr.filename)
        if (path.startswith(_PKG_DIR) or path.startswith(_NUMPY_DIR) or "site-packages" in path
                or fr.filename.endswith((".pyx", ".pxd")) or fr.filename.startswith("numpy")):
            continue
        code = (fr.line or "").strip()
        return f" (line {fr.lineno}: `{code}`)" if code else f" (line {fr.lineno})"
    return ""


def _exception_finding(exercise: Exercise, exc: BaseException) -> Finding:
    if isinstance(exc, NotImplementedError):
        return Finding(f"`{exercise.name}` is not written yet: replace `raise NotImplementedError()` with your "
                        f"code.", "not_implemented")
    text = str(exc).splitlines()[0] if str(exc) else ""
    where = _learner_frame(exc)
    hint = ""
    if isinstance(exc, TypeError) and ("bitwise_xor" in text or "for ^:" in text):
        hint = " In Python `^` is the bitwise XOR: a power is written `**`, e.g. `t**2`."
    if isinstance(exc, ValueError) and ("matmul" in text or "aligned" in text or "broadcast" in text):
        hint = " Shapes do not fit: " + (exercise.shape_hint or "write the shape of every operand next to the "
                                                                "formula.")
    return Finding(f"`{exercise.name}` raised {type(exc).__name__}: {text}{where}.{hint}", "exception")


# ------------------------------------------------------------------------------------------- running
#: Set by the trusted grader: graded checks record what the learner's function returned (plain float64 data) in
#: this folder, and the verdict is computed again outside the kernel from those records (backproplab.trusted).
RECORD_DIR_ENV = "BACKPROPLAB_RECORD_DIR"


@dataclass
class Outcome:
    """What the learner's function did on one trial: its result and its arguments afterwards, or an error."""

    result: Any = None
    args_after: Any = None
    error: Finding | None = None


def call_learner(exercise: Exercise, fn: Callable, args: tuple) -> Outcome:
    """Run the learner's ``fn`` on a copy of ``args``; an exception becomes a finding, never a traceback."""
    learner_args = _copy(args)
    try:
        with np.errstate(all="ignore"):  # a NaN or inf is judged and explained; numpy's warnings are noise here
            got = exercise.run(fn, learner_args)
    except Finding as finding:  # a harness that recognised a mistake while calling the learner's code
        return Outcome(error=finding)
    except Exception as exc:  # any error in the learner's code becomes one sentence
        return Outcome(error=_exception_finding(exercise, exc))
    return Outcome(got, learner_args)


def _judge(exercise: Exercise, args: tuple, outcome: Outcome) -> float:
    if outcome.error is not None:
        raise outcome.error
    expected = exercise.run(exercise.reference, _copy(args))
    with np.errstate(all="ignore"):  # comparing huge or non-finite answers must not print numpy's warnings
        bounds = rounding_bounds(exercise, args, expected) if exercise.exact else None
        err = _compare(exercise, outcome.result, expected, args, bounds)
    if not _same(outcome.args_after, args):
        raise Finding(f"`{exercise.name}` returns the right values but modifies its input arrays in place "
                       f"(e.g. `x += ...` or `x[...] = ...` on an argument). Work on a copy: the caller still "
                       f"needs its arrays unchanged.", "in_place")
    return err


def trial_inputs(exercise: Exercise, hidden: bool, seed: int | None) -> list[tuple]:
    """The arguments of every trial of a check (visible, or hidden drawn from ``seed``/:func:`grading_seed`):
    the exercise's own trials, then one per edge case (visible and hidden alike, so that an answer the graded
    check rejects is never told "all cases match" by the learner's check)."""
    seeds = _trial_seeds(exercise, hidden, seed)
    n = len(seeds) - len(exercise.edge_cases)
    trials = [exercise.make_inputs(np.random.default_rng(s), hidden) for s in seeds[:n]]
    trials += [edge(np.random.default_rng(s)) for edge, s in zip(exercise.edge_cases, seeds[n:], strict=True)]
    return trials


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
        from backproplab import trusted

        outcomes = [call_learner(exercise, fn, args) for args in trial_inputs(exercise, hidden, seed)]
        trusted.record(exercise, outcomes, hidden=hidden, directory=record_dir)
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


def _reread(exercise: Exercise, fn: Callable, args: tuple, finding: Finding) -> Finding:
    """``finding``, or a better one when the learner's own code gives the right answer on re-ordered inputs."""
    if finding.mistake not in _UNSETTLED:
        return finding
    try:
        with np.errstate(all="ignore"):
            exps = _reference_outputs(exercise, args)
    except Exception:  # noqa: BLE001
        return finding

    def call(moved):
        with np.errstate(all="ignore"):
            result = exercise.run(fn, _copy(moved))
        return [np.asarray(o, dtype=np.float64) for o in _as_outputs(result, len(exercise.outputs))]

    names = diagnosis.argument_names(exercise.signature, len(args))
    named = diagnosis.reread_finding(call, args, names, exercise.parts, exps, exercise.name)
    return finding if named is None else Finding(named[1], named[0], finding.rel_error)


def evaluate(exercise: Exercise, fn: Any, *, hidden: bool, seed: int | None,
             outcomes: Sequence[Outcome] | None = None) -> CheckResult:
    """The verdict of a check: call ``fn`` on every trial, or judge recorded ``outcomes`` of those calls."""
    label = exercise.name
    if outcomes is None and (fn is None or not callable(fn)):
        what = "None" if fn is None else f"a {type(fn).__name__}"
        return CheckResult(label, False, f"{label}: expected your function `{exercise.name}`, got {what}. "
                                         f"Pass the function itself, without calling it.", "not_callable")
    worst = 0.0
    trials = trial_inputs(exercise, hidden, seed)
    for k, args in enumerate(trials):
        try:
            if outcomes is None:
                outcome = call_learner(exercise, fn, args)
            elif k < len(outcomes):
                outcome = outcomes[k]
            else:
                raise Finding("no result was recorded for this case (the check did not run to the end).",
                               "missing")
            worst = max(worst, _judge(exercise, args, outcome))
        except Finding as f:
            if outcomes is None:
                f = _reread(exercise, fn, args, f)
            case = f"case {k + 1} of {len(trials)}" + (" (hidden, random shapes)" if hidden else "")
            return CheckResult(label, False, f"{label} — {case}: {f.message}", f.mistake, f.rel_error)
    kind = "hidden random cases" if hidden else "cases"
    return CheckResult(label, True, f"{label}: all {len(trials)} {kind} match the reference "
                                    f"(max relative error {worst:.1e}, {verdict(worst)}).", None, worst)
