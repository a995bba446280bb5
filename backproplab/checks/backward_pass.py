"""Exercises of notebook 03 (backward pass).

- ``dense_backward(dZ, cache) -> (dX, dW, db)``: one dense layer; ``dZ`` already holds the loss's ``1/m``.
- ``relu_backward(dA, Z) -> dZ``: ``dA * ReLU'(Z)`` with ``ReLU'(0) = 0``; every trial has exact zeros in ``Z``.
- ``two_layer_backward(X, Y, params) -> grads``: ``Z1 = X W1 + b1``, ``A1 = ReLU(Z1)``, ``Y_hat = A1 W2 + b2``,
  ``L = mse_loss(Y_hat, Y) = (1/m) sum (Y_hat - Y)**2``; ``grads = {"dW1", "db1", "dW2", "db2"}``. Checked to
  ``1e-12``, so that finite differences (right to about ``1e-10``) do not pass for a backward pass.
- ``relative_error(a, b) -> float``: checked on four pairs per trial (nearly equal, close, unrelated, both zero),
  so that the ``0/0`` of two zero gradients is always exercised.
"""

from __future__ import annotations

import numpy as np

from backproplab.activations import relu, relu_derivative
from backproplab.checking import CheckFinding, Exercise, Mistake, another_shape
from backproplab.gradcheck import numerical_gradient, relative_error
from backproplab.layers import dense_backward
from backproplab.losses import mse_loss
from backproplab.network import mlp_forward, mlp_loss_and_grads

__all__ = ["DENSE_BACKWARD", "EXERCISES", "RELATIVE_ERROR", "RELU_BACKWARD", "TWO_LAYER_BACKWARD"]


# ------------------------------------------------------------------------------------------ dense_backward
def _dense_backward_inputs(rng, hidden, n_out=None):
    if hidden:
        m, n_in, k = (int(k) for k in rng.integers(1, 8, size=3))
        n_out = k if n_out is None else n_out
    else:
        m, n_in, n_out = 4, 3, 2
    X = rng.standard_normal((m, n_in))
    W = rng.standard_normal((n_in, n_out))
    b = rng.standard_normal((1, n_out))
    dZ = rng.standard_normal((m, n_out)) / m
    return dZ, (X, W, b)


def _dx_without_transpose(dZ, cache):
    X, W, _ = cache
    dX, dW, db = dense_backward(dZ, cache)
    return dZ @ W if W.shape[0] == W.shape[1] else None, dW, db


def _db_not_summed(dZ, cache):
    dX, dW, _ = dense_backward(dZ, cache)
    return dX, dW, dZ


DENSE_BACKWARD = Exercise(
    name="dense_backward",
    exact=True,
    signature="dense_backward(dZ, cache) -> (dX, dW, db)",
    reference=dense_backward,
    make_inputs=_dense_backward_inputs,
    outputs=("dX", "dW", "db"),
    parts={"cache": ("X", "W", "b")},
    batch_size=lambda args: args[0].shape[0],
    shape_hint="with dZ (m, n_out), X (m, n_in) and W (n_in, n_out), dX = dZ @ W.T is (m, n_in) like X and "
               "dW = X.T @ dZ is (n_in, n_out) like W: write each operand's shape under the formula (a missing "
               ".T, or X and W taken from the cache in the wrong order, gives this error).",
    edge_cases=(lambda rng: _dense_backward_inputs(rng, True, n_out=1),),  # one output unit: db is (1, 1)
    mistakes=(
        Mistake("seed002_double_1_over_m",
                "dW and db divide by m again, but dZ already carries the 1/m of the mean loss (some tutorials "
                "put 1/m both in ∂L/∂Ŷ and in ∂L/∂W). The 1/m appears exactly once on the backward path: "
                "dW = X.T @ dZ and db = dZ.sum(axis=0, keepdims=True), with no division.",
                lambda dZ, cache: (dZ @ cache[1].T, cache[0].T @ dZ / len(dZ), dZ.sum(0, keepdims=True) / len(dZ))),
        Mistake("dx_missing_transpose",
                "dX = dZ·W is missing a transpose: dX = dZ·Wᵀ, shape (m, n_out)·(n_out, n_in) = (m, n_in).",
                _dx_without_transpose),
        Mistake("db_not_summed",
                "db is dZ itself, one row per example. The bias is shared by the m examples, so its gradient "
                "sums their contributions: db = dZ.sum(axis=0, keepdims=True), shape (1, n_out).",
                _db_not_summed),
    ),
)


# ------------------------------------------------------------------------------------------- relu_backward
def _relu_backward_reference(dA, Z):
    return dA * relu_derivative(Z)


def _relu_backward_inputs(rng, hidden):
    shape = tuple(int(k) for k in rng.integers(1, 8, size=2)) if hidden else (4, 5)
    Z = rng.standard_normal(shape)
    Z[rng.random(shape) < 0.2] = 0.0  # units exactly at the kink: ReLU'(0) = 0
    Z.flat[0] = 0.0
    dA = rng.standard_normal(shape)
    return dA, Z


RELU_BACKWARD = Exercise(
    name="relu_backward",
    exact=True,
    signature="relu_backward(dA, Z) -> dZ",
    reference=_relu_backward_reference,
    make_inputs=_relu_backward_inputs,
    edge_cases=(another_shape(_relu_backward_inputs),),  # a shape besides the printed ones
    outputs=("dZ",),
    shape_hint="dA and Z have the same shape (m, n), and so has dZ: the gate is element-wise, dA * (Z > 0), not a "
               "matrix product (@ or np.dot).",
    mistakes=(
        Mistake("derivative_at_zero",
                "where Z is exactly 0 the gradient is let through. The course takes ReLU′(0) = 0 (as its sources "
                "do): use the mask Z > 0, not Z >= 0.",
                lambda dA, Z: dA * (Z >= 0)),
        Mistake("gate_missing",
                "dA is returned unchanged. Multiply it element-wise by ReLU′(Z) = (Z > 0): units that were "
                "off in the forward pass pass no gradient back.",
                lambda dA, Z: dA),
        Mistake("mask_only",
                "this is ReLU′(Z) alone. The chain rule multiplies it by the upstream gradient: dZ = dA * (Z > 0).",
                lambda dA, Z: (Z > 0).astype(np.float64)),
        Mistake("derivative_at_zero",
                "where Z is exactly 0 you let half the gradient through (np.heaviside(Z, 0.5)). The course takes "
                "ReLU′(0) = 0: np.heaviside(Z, 0.0), or simply the mask Z > 0.",
                lambda dA, Z: dA * np.heaviside(Z, 0.5)),
        Mistake("times_activation",
                "dA is multiplied by ReLU(Z). Multiply by its derivative ReLU′(Z), which is 0 or 1: "
                "dZ = dA * (Z > 0).",
                lambda dA, Z: dA * relu(Z)),
        Mistake("times_Z",
                "dA is multiplied by Z. Multiply by ReLU′(Z), which is 0 or 1: dZ = dA * (Z > 0).",
                lambda dA, Z: dA * Z),
    ),
)


# -------------------------------------------------------------------------------------- two_layer_backward
_GRAD_KEYS = ("dW1", "db1", "dW2", "db2")


def _two_layer_reference(X, Y, params):
    return mlp_loss_and_grads(params, X, Y, hidden="relu", output="linear", loss="mse")[1]


def _two_layer_inputs(rng, hidden):
    if hidden:
        m, n_in, n_hidden, n_out = (int(k) for k in rng.integers(1, 8, size=4))
    else:
        m, n_in, n_hidden, n_out = 5, 3, 4, 3
    X = rng.standard_normal((m, n_in))
    params = {"W1": rng.standard_normal((n_in, n_hidden)) * np.sqrt(2.0 / n_in),
              "b1": 0.5 * rng.standard_normal((1, n_hidden)),
              "W2": rng.standard_normal((n_hidden, n_out)) * np.sqrt(2.0 / n_hidden),
              "b2": 0.5 * rng.standard_normal((1, n_out))}
    Y = rng.standard_normal((m, n_out))
    at_kink(X, params)
    return X, Y, params


def at_kink(X, params):
    """Put a hidden unit exactly at ReLU's kink: example 0 all zeros and b1[0, 0] = 0, so Z1[0, 0] = 0 and
    ReLU′(0) = 0 (mask Z > 0, not Z >= 0) is tested. Kept to m > 1, so that dW1 is not all zeros."""
    if X.shape[0] > 1:
        X[0] = 0.0
        params["b1"][0, 0] = 0.0


def _two_layer_call(fn, args):
    """The grads dict as ``(dW1, db1, dW2, db2)``; a missing key is a finding that names the keys."""
    grads = fn(*args)
    if isinstance(grads, dict):
        missing = [k for k in _GRAD_KEYS if k not in grads]
        if missing:
            have = ", ".join(repr(k) for k in grads) or "no keys"
            raise CheckFinding(f"the dict returned has no key {missing[0]!r} (it has {have}): name the gradients "
                          f"'dW1', 'db1', 'dW2' and 'db2'.", "missing_key")
        return tuple(grads[k] for k in _GRAD_KEYS)
    return grads


def _two_layer_wrong(scale=1.0, gate=lambda Z1, A1: Z1 > 0, output_gate=False, A1_for_dW2=True, per_entry=False):
    """A hand-written backward pass with one switch per realistic mistake; returns ``(dW1, db1, dW2, db2)``."""
    def wrong(X, Y, params):
        W1, b1, W2, b2 = (params[k] for k in ("W1", "b1", "W2", "b2"))
        m = X.shape[0]
        Z1 = X @ W1 + b1
        A1 = relu(Z1)
        Z2 = A1 @ W2 + b2
        dZ2 = scale * 2.0 * (Z2 - Y) / (Y.size if per_entry else m)
        if output_gate:
            dZ2 = dZ2 * (Z2 > 0)
        dW2 = (A1 if A1_for_dW2 else Z1).T @ dZ2
        db2 = dZ2.sum(axis=0, keepdims=True)
        dA1 = dZ2 @ W2.T
        dZ1 = dA1 * gate(Z1, A1)
        return X.T @ dZ1, dZ1.sum(axis=0, keepdims=True), dW2, db2
    return wrong


def _two_layer_double_m(X, Y, params):
    m = X.shape[0]
    return tuple(g / m for g in _two_layer_wrong()(X, Y, params))


def _two_layer_finite_differences(X, Y, params):
    def loss(key, value):
        return mse_loss(mlp_forward(X, {**params, key: value})[0], Y)
    return tuple(numerical_gradient(lambda v, k=k[1:]: loss(k, v), params[k[1:]]) for k in _GRAD_KEYS)


TWO_LAYER_BACKWARD = Exercise(
    name="two_layer_backward",
    exact=True,
    signature="two_layer_backward(X, Y, params) -> grads",
    reference=_two_layer_reference,
    make_inputs=_two_layer_inputs,
    edge_cases=(another_shape(_two_layer_inputs),),  # a shape besides the printed ones
    call=_two_layer_call,
    outputs=_GRAD_KEYS,
    batch_size=lambda args: args[0].shape[0],
    shape_hint="X is (m, n_in), W1 (n_in, n_h), W2 (n_h, n_out); every gradient has the shape of its parameter "
               "(dW1 like W1, db1 (1, n_h)): dW = A_prev.T @ dZ, dA_prev = dZ @ W.T.",
    mistakes=(
        Mistake("finite_differences",
                "these are finite-difference estimates (right to about 1e-10), not the exact gradients of a "
                "backward pass. Compute them with the six steps of the backward pass: the check accepts only "
                "rounding differences.",
                _two_layer_finite_differences),
        Mistake("dropped_factor_2",
                "every gradient is half the right one: the factor 2 of the MSE gradient is missing. "
                "L = (1/m) Σ (Ŷ − Y)², so dŶ = (2/m)(Ŷ − Y); (Ŷ − Y)/m is the gradient of half that loss.",
                _two_layer_wrong(scale=0.5)),
        Mistake("seed002_double_1_over_m",
                "every gradient is 1/m of the right one: the 1/m is applied twice. It belongs once, in "
                "dŶ = (2/m)(Ŷ − Y); the dense layers (dW = Aᵀ·dZ, db = Σ dZ) do not divide by m again.",
                _two_layer_double_m),
        Mistake("missing_1_over_m",
                "every gradient is m times the right one: the loss is a mean over the batch, so "
                "dŶ = (2/m)(Ŷ − Y).",
                lambda X, Y, params: tuple(X.shape[0] * g for g in _two_layer_wrong()(X, Y, params))),
        Mistake("mean_over_outputs",
                "dŶ divides by Y.size = m·n_out (np.mean over every entry). The loss L = (1/m) Σ (Ŷ − Y)² "
                "averages over the m examples and sums over the outputs: dŶ = (2/m)(Ŷ − Y), with m = X.shape[0].",
                _two_layer_wrong(per_entry=True)),
        Mistake("derivative_at_zero",
                "the ReLU gate lets the gradient through where Z1 is exactly 0 (Z1 >= 0). The course takes "
                "ReLU′(0) = 0: dZ1 = dA1 * (Z1 > 0).",
                _two_layer_wrong(gate=lambda Z1, A1: Z1 >= 0)),
        Mistake("gate_times_activation",
                "dA1 is multiplied by A1 = ReLU(Z1). Multiply by its derivative, ReLU′(Z1) = (Z1 > 0), which "
                "is 0 or 1: dZ1 = dA1 * (Z1 > 0).",
                _two_layer_wrong(gate=lambda Z1, A1: A1)),
        Mistake("relu_gate_missing",
                "dW1 and db1 ignore the ReLU: between dA1 = dZ2·W2ᵀ and dZ1 comes the gate, "
                "dZ1 = dA1 * (Z1 > 0).",
                _two_layer_wrong(gate=lambda Z1, A1: 1.0)),
        Mistake("Z1_instead_of_A1",
                "dW2 uses Z1. The second layer's input is A1 = ReLU(Z1), so dW2 = A1ᵀ·dZ2.",
                _two_layer_wrong(A1_for_dW2=False)),
        Mistake("output_gate",
                "a ReLU gate is applied at the output. The output layer is linear (Ŷ = Z2), so dZ2 = dŶ; the "
                "gate belongs to the hidden layer only.",
                _two_layer_wrong(output_gate=True)),
    ),
)


# ------------------------------------------------------------------------------------------ relative_error
def _pairs(rng, hidden):
    """Four pairs: nearly equal (excellent), close (suspicious), unrelated (bug), both zero."""
    shapes = [tuple(int(k) for k in rng.integers(1, 6, size=2)) for _ in range(3)] if hidden else \
        [(3, 4), (2, 3), (4, 1)]
    a0 = rng.standard_normal(shapes[0])
    a1 = rng.standard_normal(shapes[1])
    pairs = [
        (a0, a0 + 1e-9 * rng.standard_normal(shapes[0])),
        (a1, a1 * (1.0 + 1e-4 * rng.standard_normal(shapes[1]))),
        (rng.standard_normal(shapes[2]), rng.standard_normal(shapes[2])),
        (np.zeros(shapes[0]), np.zeros(shapes[0])),
    ]
    order = rng.permutation(4) if hidden else range(4)
    return ([pairs[i] for i in order],)


def _relative_error_call(fn, args):
    """``fn(a, b)`` for each pair of the trial, as one vector (kept as a list if a result is not a number)."""
    results = [fn(a, b) for a, b in args[0]]
    try:
        return np.array([float(r) for r in results])
    except (TypeError, ValueError):
        return results


def _per_pair(formula):
    def wrong(pairs):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.array([float(formula(np.asarray(a), np.asarray(b))) for a, b in pairs])
    return wrong


def _norm(x):
    return np.linalg.norm(x.ravel())


RELATIVE_ERROR = Exercise(
    name="relative_error",
    signature="relative_error(a, b) -> float",
    reference=relative_error,
    make_inputs=_pairs,
    edge_cases=(another_shape(_pairs),),  # a shape besides the printed ones
    call=_relative_error_call,
    # The verdicts' thresholds are decades apart: an ε of 1e-7 or less added to the denominator (CS231n's way of
    # handling two zero arrays) is a right answer; every named mistake is off by a factor, not by 1e-5.
    tol=1e-4,
    # one output per pair, each judged on its own: a 1e-10 answer is not drowned by a 0.5 one
    outputs=tuple(f"relative_error(a, b) on pair {k}" for k in range(1, 5)),
    mistakes=(
        Mistake("zero_guard_missing",
                "two all-zero arrays give 0/0 = nan. They are equal, so their relative error is 0: return 0.0 "
                "when ‖a‖ + ‖b‖ is 0.",
                _per_pair(lambda a, b: _norm(a - b) / (_norm(a) + _norm(b)))),
        Mistake("absolute_error",
                "this is the absolute error ‖a − b‖. Divide by ‖a‖ + ‖b‖, so that the number does not depend on "
                "the size of the gradients.",
                _per_pair(lambda a, b: _norm(a - b))),
        Mistake("max_denominator",
                "the denominator is max(‖a‖, ‖b‖). The thresholds of the course go with ‖a‖ + ‖b‖.",
                _per_pair(lambda a, b: _norm(a - b) / max(_norm(a), _norm(b)) if _norm(a) + _norm(b) else 0.0)),
        Mistake("one_sided_denominator",
                "the denominator uses one array only. Use ‖a‖ + ‖b‖: symmetric, and zero only when both are zero.",
                _per_pair(lambda a, b: _norm(a - b) / _norm(b) if _norm(a) + _norm(b) else 0.0)),
        Mistake("one_sided_denominator",
                "the denominator uses one array only. Use ‖a‖ + ‖b‖: symmetric, and zero only when both are zero.",
                _per_pair(lambda a, b: _norm(a - b) / _norm(a) if _norm(a) + _norm(b) else 0.0)),
        Mistake("norm_of_sum",
                "the denominator is ‖a + b‖. Use the sum of the norms, ‖a‖ + ‖b‖.",
                _per_pair(lambda a, b: _norm(a - b) / _norm(a + b) if _norm(a) + _norm(b) else 0.0)),
        Mistake("zero_when_close",
                "you return 0 for arrays that are merely close (np.allclose or a threshold). A gradient check "
                "needs the actual number, e.g. 3e-10 or 2e-5, to tell excellent from suspicious: always return "
                "‖a − b‖ / (‖a‖ + ‖b‖), and 0 only when both arrays are zero.",
                _per_pair(lambda a, b: 0.0 if np.allclose(a, b) else _norm(a - b) / (_norm(a) + _norm(b)))),
        Mistake("cs231n_elementwise_max",
                "this is CS231n's element-wise relative error, the largest |a − b| / max(ε, |a| + |b|) over the "
                "entries. This course compares whole arrays: ‖a − b‖ / (‖a‖ + ‖b‖) with np.linalg.norm, and 0 "
                "when both are zero; its thresholds (1e-7, 1e-4) go with that formula.",
                _per_pair(lambda a, b: float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))))),
        Mistake("elementwise",
                "the ratio is taken entry by entry and averaged. Take norms of whole arrays: "
                "np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)).",
                _per_pair(lambda a, b: np.mean(np.abs(a - b) / (np.abs(a) + np.abs(b)))
                          if _norm(a) + _norm(b) else 0.0)),
        Mistake("squared_norms",
                "the norms are squared. Use the norms themselves (np.linalg.norm), not sums of squares.",
                _per_pair(lambda a, b: np.sum((a - b) ** 2) / (np.sum(a ** 2) + np.sum(b ** 2))
                          if _norm(a) + _norm(b) else 0.0)),
    ),
)

EXERCISES = [DENSE_BACKWARD, RELU_BACKWARD, TWO_LAYER_BACKWARD, RELATIVE_ERROR]
