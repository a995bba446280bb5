"""Exercises of notebook 04 (activation functions).

Every ``*_derivative(z)`` is the derivative with respect to the pre-activation ``z`` (never the activation ``a``).
``stable_sigmoid`` and ``stable_softmax`` run under :func:`strict_call`: numpy's overflow, invalid-value and
division warnings become errors there, so an implementation that is right "by luck" (``1 / (1 + np.exp(-z))``
gives ``1 / inf = 0``) or that lets ``np.where`` compute an overflowing branch is named, not passed.
"""

from __future__ import annotations

import sys

import numpy as np

from backproplab.activations import (
    relu,
    relu_derivative,
    sigmoid,
    sigmoid_derivative,
    softmax,
    softmax_backward,
    tanh,
    tanh_derivative,
)
from backproplab.checking import CheckFinding, Exercise, Mistake, another_shape, course_code, of_ranks, visible_shape
from backproplab.checking.measure import relative_gap

__all__ = ["EXERCISES", "SOFTMAX_NAN_MISTAKES", "quiet", "softmax_logits", "strict_call", "warned"]


# ------------------------------------------------------------------------------------ strict numerics
def _copy_args(args: tuple) -> tuple:
    return tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args)


def _as_float(x):
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        return None


#: What :func:`strict_call` returns for a right result computed with a numpy warning on the way.
WARNED_MARKER = -3.14159e150


def strict_call(reference):
    """A ``call`` harness that runs the learner's function with numpy's floating-point warnings as errors.

    Without a warning it returns the learner's result unchanged. When the function trips one (overflow in
    ``exp``, ``inf/inf``, ``0/0``, ``log(0)``), it is run again on a fresh copy of the arguments with the
    warnings silenced, and the harness returns

    - that result, when it is wrong (NaN or inf where the answer is finite, or other values): the comparison
      then names the mistake, e.g. softmax without max-subtraction, recognised by its NaN pattern;
    - an array filled with :data:`WARNED_MARKER` of the result's shape, when it is right: right by luck
      (``1 / (1 + inf) = 0``) with a warning on the way; the mistake :func:`warned` recognises this marker
      (a finite, absurd value: the engine compares NaN and inf by position only, so they cannot mark it).

    The returned value is plain float64 data, so the trusted grader judges it like any other result.
    """

    def call(fn, args):
        backup = _copy_args(args)
        relaxed: list[str] = []
        try:
            with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
                return _kept_strict(fn, args, relaxed)
        except FloatingPointError:
            if relaxed:
                raise CheckFinding(f"`{getattr(fn, '__name__', 'your function')}` switches numpy's warnings off "
                              f"({relaxed[0]}) and its formula does overflow: an overflow hidden is still an "
                              f"overflow. Write a formula whose np.exp never overflows instead.",
                              "warnings_silenced") from None
        with np.errstate(all="ignore"):
            result = fn(*_copy_args(backup))
            with course_code():  # the reference, even while grading breaks it for the learner's code
                expected = np.asarray(reference(*_copy_args(backup)), dtype=np.float64)
        got = _as_float(result)
        if (got is not None and got.shape == expected.shape and np.all(np.isfinite(got))
                and relative_gap(got, expected) <= 1e-7):
            return np.full(expected.shape, WARNED_MARKER)
        return result

    return call


_STRICT = ("over", "invalid", "divide")
_ERRSTATE_SETTERS = {np.errstate.__enter__.__code__, np.seterr.__code__}


def _kept_strict(fn, args, relaxed: list[str]):
    """``fn(*args)`` with overflow, invalid values and division by zero raising throughout, whatever the code
    does to numpy's error state: each time it relaxes them (``np.errstate(over="ignore")`` entered,
    ``np.seterr`` called), the setting is noted in ``relaxed`` and strictness restored. So the code is judged
    by what it computes, not by the names in it: an ``np.errstate`` around a formula that never overflows
    changes nothing, and one that hides an overflow is named with the setting that tried to hide it."""

    def watch(frame, event, arg):
        if event == "return" and frame.f_code in _ERRSTATE_SETTERS:
            state = np.geterr()
            loose = [f"{k}={state[k]!r}" for k in _STRICT if state[k] != "raise"]
            if loose:
                relaxed.append(", ".join(loose))
                np.seterr(**dict.fromkeys(_STRICT, "raise"))

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        return fn(*args)
    finally:
        sys.setprofile(previous)


def quiet(fn):
    """``fn`` run with numpy's floating-point warnings silenced (for mistakes that overflow on purpose)."""

    def wrong(*args):
        with np.errstate(all="ignore"):
            return fn(*args)

    return wrong


def warned(reference, message: str) -> Mistake:
    """The mistake behind :func:`strict_call`'s marker: right values, but numpy warned on the way."""
    return Mistake("exp_overflow_warning", message,
                   lambda *args: np.full(np.shape(reference(*args)), WARNED_MARKER))


def _shape(rng, hidden, visible, low_m=1, low_n=1, high=7):
    if not hidden:
        return visible_shape(rng, visible) if isinstance(visible[0], tuple) else visible
    return int(rng.integers(low_m, high)), int(rng.integers(low_n, high))


# ------------------------------------------------------------------------------------ derivatives
def _moderate_inputs(limit):
    def make(rng, hidden):
        m, n = _shape(rng, hidden, ((4, 3), (2, 6), (5, 1)), low_n=2)
        return (rng.uniform(-limit, limit, size=(m, n)),)

    return make


SIGMOID_DERIVATIVE = Exercise(
    name="sigmoid_derivative",
    exact=True,
    signature="sigmoid_derivative(z) -> dA_dZ",
    reference=sigmoid_derivative,
    make_inputs=_moderate_inputs(6.0),
    edge_cases=of_ranks(_moderate_inputs(6.0), 1, 3),
    outputs=("sigmoid_derivative(z)",),
    mistakes=(
        Mistake("derivative_of_activation",
                "you applied the derivative to the activation a = σ(z) instead of to z: that computes "
                "σ(a)(1 − σ(a)) = σ(σ(z))(1 − σ(σ(z))). The argument is the pre-activation z: "
                "s = σ(z), then return s * (1 - s).",
                lambda z: sigmoid_derivative(sigmoid(z))),
        Mistake("formula_on_z",
                "you computed z * (1 - z): the formula a(1 − a) needs the activation a = σ(z), not z. "
                "Compute s = σ(z) first, then s * (1 - s).",
                lambda z: z * (1.0 - z)),
        Mistake("returned_activation",
                "you returned σ(z) itself, the activation, not its derivative σ(z)(1 − σ(z)).",
                lambda z: sigmoid(z)),
        Mistake("missing_one_minus",
                "you returned σ(z)², not σ(z)(1 − σ(z)): the factor is (1 − σ(z)), not σ(z).",
                lambda z: sigmoid(z) ** 2),
        Mistake("missing_factor_s",
                "you returned 1 − σ(z), one factor of two: the derivative is σ(z)(1 − σ(z)).",
                lambda z: 1.0 - sigmoid(z)),
    ),
)

TANH_DERIVATIVE = Exercise(
    name="tanh_derivative",
    exact=True,
    signature="tanh_derivative(z) -> dA_dZ",
    reference=tanh_derivative,
    make_inputs=_moderate_inputs(3.0),
    edge_cases=of_ranks(_moderate_inputs(3.0), 1, 3),
    outputs=("tanh_derivative(z)",),
    mistakes=(
        Mistake("derivative_of_activation",
                "you applied the derivative to the activation a = tanh(z) instead of to z: that computes "
                "1 − tanh(tanh(z))². The argument is the pre-activation z: t = np.tanh(z), then 1 - t**2.",
                lambda z: tanh_derivative(tanh(z))),
        Mistake("formula_on_z",
                "you computed 1 - z**2: the formula 1 − a² needs the activation a = tanh(z), not z.",
                lambda z: 1.0 - z ** 2),
        Mistake("missing_square",
                "you computed 1 − tanh(z): the derivative is 1 − tanh(z)², with a square.",
                lambda z: 1.0 - tanh(z)),
        Mistake("returned_activation",
                "you returned tanh(z) itself, the activation, not its derivative 1 − tanh(z)².",
                lambda z: tanh(z)),
        Mistake("sigmoid_formula",
                "you used the sigmoid's pattern t(1 − t) with t = tanh(z); for tanh the derivative is "
                "1 − tanh(z)².",
                lambda z: tanh(z) * (1.0 - tanh(z))),
    ),
)


def _relu_inputs(rng, hidden):
    m, n = _shape(rng, hidden, ((4, 5), (3, 2), (6, 7)), low_n=2)
    z = rng.standard_normal((m, n))
    z[rng.random((m, n)) < 0.25] = 0.0
    z.flat[int(rng.integers(z.size))] = 0.0  # at least one exact zero: the kink
    return (z,)


RELU_DERIVATIVE = Exercise(
    name="relu_derivative",
    exact=True,
    signature="relu_derivative(z) -> dA_dZ",
    reference=relu_derivative,
    make_inputs=_relu_inputs,
    edge_cases=of_ranks(_relu_inputs, 1, 3, 4),
    outputs=("relu_derivative(z)",),
    mistakes=(
        Mistake("relu_derivative_at_zero",
                "your derivative is 1 at z = 0. ReLU has no derivative at its kink; this course (like "
                "PyTorch) uses ReLU'(0) = 0, so write z > 0, not z >= 0.",
                lambda z: (z >= 0).astype(np.float64)),
        Mistake("relu_derivative_half_at_zero",
                "your derivative is 1/2 at z = 0 (np.heaviside(z, 0.5)); the course's convention is "
                "ReLU'(0) = 0: use np.heaviside(z, 0.0) or (z > 0).",
                lambda z: np.heaviside(z, 0.5)),
        Mistake("relu_instead_of_derivative",
                "you returned max(0, z), the activation, not its derivative (1 where z > 0, else 0).",
                lambda z: relu(z)),
        Mistake("sign_function",
                "np.sign(z) is −1 for negative z; ReLU's derivative is 0 there (1 where z > 0, else 0).",
                lambda z: np.sign(z)),
    ),
)


# ------------------------------------------------------------------------------------ stable sigmoid
def _sigmoid_inputs(rng, hidden):
    if hidden:
        m, n = _shape(rng, hidden, None, low_n=2)
        z = rng.normal(0.0, 4.0, size=(m, n))
        extra = rng.random((m, n)) < 0.2
        z[extra] = rng.choice([-1.0, 1.0], size=int(extra.sum())) * rng.uniform(30, 2000, int(extra.sum()))
        z.flat[0] = rng.uniform(710.0, 5000.0)      # np.exp(z) overflows
        z.flat[-1] = -rng.uniform(710.0, 5000.0)    # np.exp(-z) overflows
        if z.size > 2:
            z.flat[1] = 0.0                          # the boundary between the two branches
        return (z,)
    z = rng.normal(0.0, 3.0, size=(4, 3))
    z[0] = [-1000.0, 0.0, 1000.0]
    z[3, 2] = -800.0
    z[1, 0] = 750.0
    return (z,)


def _naive_sigmoid_nan(z):
    e = np.exp(z)
    return e / (1.0 + e)


STABLE_SIGMOID = Exercise(
    name="stable_sigmoid",
    signature="stable_sigmoid(z) -> A",
    reference=sigmoid,
    make_inputs=_sigmoid_inputs,
    edge_cases=of_ranks(_sigmoid_inputs, 1, 3),
    outputs=("stable_sigmoid(z)",),
    call=strict_call(sigmoid),
    mistakes=(
        warned(sigmoid,
               "np.exp overflowed on the way (numpy warns: overflow encountered in exp), even though the "
               "values come out right: 1 / (1 + np.exp(-z)) is right only by luck (1 / (1 + inf) = 0), and "
               "np.where(...) evaluates both of its branches on every entry, so an overflowing branch still "
               "fires. Compute e = np.exp(-np.abs(z)), which never exceeds 1, and choose 1/(1 + e) or "
               "e/(1 + e) by the sign of z."),
        Mistake("overflow",
                "np.exp(z) / (1 + np.exp(z)) overflows for z > 709 and gives inf/inf = nan. Only ever call "
                "np.exp on a non-positive number: e = np.exp(-np.abs(z)), then 1/(1 + e) for z >= 0 and "
                "e/(1 + e) for z < 0.",
                quiet(_naive_sigmoid_nan)),
        Mistake("zero_left_out",
                "at z = 0 you return 0: your two branches are z > 0 and z < 0, and neither covers z = 0, where "
                "σ(0) = 1/2. Let one branch include it (z >= 0).",
                lambda z: np.where(z == 0, 0.0, sigmoid(z))),
        Mistake("one_branch_only",
                "you computed 1/(1 + e) with e = np.exp(-|z|) everywhere: that is σ(|z|), right only for z >= 0. "
                "For z < 0 the other branch is e/(1 + e).",
                lambda z: sigmoid(np.abs(z))),
        Mistake("sigmoid_branches_swapped",
                "you returned σ(−z) = 1 − σ(z): the two branches are swapped (or the sign in the exponent). "
                "With e = exp(−|z|): σ(z) = 1/(1 + e) for z >= 0 and e/(1 + e) for z < 0.",
                lambda z: sigmoid(-z)),
    ),
)


# ------------------------------------------------------------------------------------ stable softmax
def softmax_logits(rng, hidden):
    """Logits ``(m, K)`` whose rows sit far apart: one near +1000 (np.exp overflows) and, when m > 1, one near
    -1000 (subtracting the global max would underflow it to 0/0). The first row also spreads over more than
    1500 (its first and last logits pushed apart), so that subtracting the row's mean or minimum instead of its
    maximum still overflows. Visible: ``(4, 3)``."""
    if hidden:
        m, K = _shape(rng, hidden, None, low_n=2)
        offsets = rng.choice([-1.0, 0.0, 1.0], size=(m, 1)) * rng.uniform(710.0, 3000.0, size=(m, 1))
        offsets[0, 0] = rng.uniform(710.0, 3000.0)
        if m > 1:
            offsets[-1, 0] = -rng.uniform(800.0, 3000.0)
    else:
        m, K = 4, 3
        offsets = np.array([[0.0], [1000.0], [-1000.0], [750.0]])
    Z = rng.normal(0.0, 3.0, size=(m, K)) + offsets
    spread = 800.0 if not hidden else rng.uniform(750.0, 3000.0)
    Z[0, 0] -= spread
    Z[0, -1] += spread
    return Z


def _softmax_inputs(rng, hidden):
    return (softmax_logits(rng, hidden),)


def _naive_softmax(Z):
    E = np.exp(Z)
    return E / np.sum(E, axis=1, keepdims=True)


def _shifted_softmax(Z, shift):
    E = np.exp(Z - shift(Z, axis=1, keepdims=True))
    return E / np.sum(E, axis=1, keepdims=True)


def _column_max_softmax(Z):
    E = np.exp(Z - np.max(Z, axis=0))
    return E / np.sum(E, axis=1, keepdims=True)


def _global_max_softmax(Z):
    E = np.exp(Z - np.max(Z))
    return E / np.sum(E, axis=1, keepdims=True)


def _softmax(Z):
    return softmax(Z, axis=-1)


#: Softmax mistakes recognised by their NaN pattern (shared with ``softmax_cross_entropy_grad``, notebook 05).
SOFTMAX_NAN_MISTAKES = (
    Mistake("no_max_subtraction",
            "np.exp overflowed: a logit above 709 gives np.exp(z) = inf and inf/inf = nan (a row far below 0 "
            "gives 0/0). Softmax is shift-invariant: subtract each row's maximum first, "
            "Z - np.max(Z, axis=1, keepdims=True), so every exponent is <= 0 and the largest term is exactly 1.",
            quiet(_naive_softmax)),
    *(Mistake("row_mean_or_min_shift",
              "np.exp overflowed although you shifted each row, by its mean or its minimum. Softmax is "
              "shift-invariant, so any shift gives the same probabilities on paper, but only the row's maximum "
              "makes every exponent <= 0: a row whose logits spread over more than about 709 still overflows. "
              "Subtract np.max(Z, axis=1, keepdims=True).",
              quiet(lambda Z, shift=shift: _shifted_softmax(Z, shift))) for shift in (np.mean, np.min)),
    Mistake("global_max",
            "you subtracted the maximum of the whole array, np.max(Z): rows far below it underflow to "
            "0/0 = nan. Subtract each row's own maximum: np.max(Z, axis=1, keepdims=True) has shape (m, 1).",
            quiet(_global_max_softmax)),
)

STABLE_SOFTMAX = Exercise(
    name="stable_softmax",
    signature="stable_softmax(Z) -> A",
    reference=_softmax,
    make_inputs=_softmax_inputs,
    edge_cases=(another_shape(_softmax_inputs),),  # a shape besides the printed ones
    outputs=("stable_softmax(Z)",),
    call=strict_call(_softmax),
    shape_hint="Z is (m, K); a row's max and sum must stay columns of shape (m, 1) to broadcast back over "
               "its K entries: np.max(Z, axis=1, keepdims=True), np.sum(E, axis=1, keepdims=True).",
    mistakes=(
        warned(_softmax,
               "numpy warned while computing it (overflow or 0/0), even though the values come out right. "
               "Subtract each row's maximum before np.exp, so that no exponent is positive."),
        *SOFTMAX_NAN_MISTAKES,
        Mistake("softmax_wrong_axis",
                "you normalised each column (axis=0). Each row of Z (m, K) is one example: take the max and "
                "the sum over the classes, axis=1 with keepdims=True, so that every row sums to 1.",
                lambda Z: softmax(Z, axis=0)),
        Mistake("softmax_max_over_columns",
                "you subtracted each column's maximum, np.max(Z, axis=0): every row still needs its own "
                "maximum, np.max(Z, axis=1, keepdims=True) of shape (m, 1), so that its exponents are <= 0.",
                quiet(_column_max_softmax)),
        Mistake("softmax_not_normalised",
                "you returned np.exp(Z - max) without dividing by its row sum: every row of a softmax "
                "sums to 1.",
                lambda Z: np.exp(Z - np.max(Z, axis=1, keepdims=True))),
    ),
)


# ------------------------------------------------------------------------------------ softmax backward
def _softmax_backward_inputs(rng, hidden):
    m, K = _shape(rng, hidden, (4, 3), low_n=2)
    A = rng.dirichlet(np.full(K, 2.0), size=m)  # rows of probabilities (no softmax: a table in a build)
    dA = rng.standard_normal((m, K))
    return dA, A


SOFTMAX_BACKWARD = Exercise(
    name="softmax_backward",
    exact=True,
    signature="softmax_backward(dA, A) -> dZ",
    reference=softmax_backward,
    make_inputs=_softmax_backward_inputs,
    edge_cases=(another_shape(_softmax_backward_inputs),),  # a shape besides the printed ones
    outputs=("dZ",),
    mistakes=(
        Mistake("softmax_elementwise",
                "you multiplied dA by A(1 − A), the diagonal of the Jacobian only, as if softmax were "
                "element-wise like the sigmoid. Every output depends on every logit: "
                "dZ = A * (dA - sum(dA * A, axis=1, keepdims=True)).",
                lambda dA, A: dA * A * (1.0 - A)),
        Mistake("softmax_backward_sum_all",
                "the sum of dA * A runs over the whole batch; it belongs to each row (one example): "
                "np.sum(dA * A, axis=1, keepdims=True), shape (m, 1).",
                lambda dA, A: A * (dA - np.sum(dA * A))),
        Mistake("softmax_backward_wrong_axis",
                "the sum of dA * A runs over axis 0 (the batch); it runs over the classes of each row: "
                "axis=1, keepdims=True.",
                lambda dA, A: A * (dA - np.sum(dA * A, axis=0, keepdims=True))),
        Mistake("softmax_backward_unweighted_sum",
                "you subtracted the plain row sum of dA; the Jacobian's s sᵀ term gives the weighted sum "
                "⟨dA, A⟩ = np.sum(dA * A, axis=1, keepdims=True).",
                lambda dA, A: A * (dA - np.sum(dA, axis=1, keepdims=True))),
        Mistake("softmax_backward_missing_factor_A",
                "the leading factor A is missing: dZ = A * (dA − ⟨dA, A⟩), from J = diag(s) − s sᵀ.",
                lambda dA, A: dA - np.sum(dA * A, axis=1, keepdims=True)),
        Mistake("softmax_backward_diagonal_term_only",
                "you returned dA * A, one of the two terms: every probability depends on every logit, so the "
                "vector-Jacobian product also subtracts each row's weighted sum, dZ = A * (dA − Σ_k dA_k A_k) = "
                "A * (dA - np.sum(dA * A, axis=1, keepdims=True)).",
                lambda dA, A: dA * A),
    ),
)

EXERCISES = [SIGMOID_DERIVATIVE, TANH_DERIVATIVE, RELU_DERIVATIVE, STABLE_SIGMOID, STABLE_SOFTMAX,
             SOFTMAX_BACKWARD]
