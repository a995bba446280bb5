"""Shared test helpers: independent autograd references, finite differences, and error bookkeeping.

The autograd versions below are written from the formulas with ``autograd.numpy`` and never call
``backproplab``; the tests compare every analytic gradient of the package with them (relative error <= 1e-9) and
with centred finite differences (<= 1e-6). Each comparison is recorded in ``MAX_ERRORS`` (largest relative error
per reference), which ``scripts/autodiff_report.py`` prints.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import autograd.numpy as anp
import numpy as np
from autograd import elementwise_grad, grad, jacobian, make_vjp

__all__ = [
    "ACT",
    "AUTOGRAD_TOL",
    "FD_TOL",
    "MAX_ERRORS",
    "MAX_FD_ERRORS",
    "ag_bce",
    "ag_bce_logits",
    "ag_cross_entropy",
    "ag_dense",
    "ag_mlp_forward",
    "ag_mlp_loss",
    "ag_mse",
    "ag_sigmoid",
    "ag_softmax",
    "ag_softmax_cross_entropy",
    "assert_autograd",
    "assert_fd",
    "elementwise_grad",
    "grad",
    "jacobian",
    "no_warnings",
    "one_hot",
    "rel_err",
    "vjp",
]

AUTOGRAD_TOL = 1e-9
FD_TOL = 1e-6
MAX_ERRORS: dict[str, float] = {}
MAX_FD_ERRORS: dict[str, float] = {}


ZERO = 1e-12


def rel_err(a, b) -> float:
    """``||a - b|| / (||a|| + ||b||)`` (written here independently of backproplab).

    When both norms are below ``ZERO`` the true value is 0 (e.g. softmax of a single class) and the ratio is
    meaningless rounding noise; the absolute difference ``||a - b||`` is returned instead.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, f"shapes differ: {a.shape} vs {b.shape}"
    diff = float(np.sqrt(np.sum((a - b) ** 2)))
    den = float(np.sqrt(np.sum(a * a)) + np.sqrt(np.sum(b * b)))
    return diff if den < ZERO else diff / den


def _record(table, name, err):
    table[name] = max(table.get(name, 0.0), err)


def assert_autograd(name: str, ours, theirs, tol: float = AUTOGRAD_TOL) -> float:
    """Assert ``ours`` matches autograd's ``theirs`` (float64 in, same shape), record the error under ``name``."""
    ours = np.asarray(ours)
    assert ours.dtype == np.float64, f"{name}: expected float64, got {ours.dtype}"
    err = rel_err(ours, theirs)
    _record(MAX_ERRORS, name, err)
    assert err <= tol, f"{name}: relative error vs autograd {err:.3e} > {tol:.0e}"
    return err


def assert_fd(name: str, ours, numeric, tol: float = FD_TOL) -> float:
    """Assert ``ours`` matches a centred finite-difference gradient ``numeric``; record the error."""
    err = rel_err(ours, numeric)
    _record(MAX_FD_ERRORS, name, err)
    assert err <= tol, f"{name}: relative error vs finite differences {err:.3e} > {tol:.0e}"
    return err


def vjp(f, x, dout):
    """autograd's vector-Jacobian product of ``f`` at ``x`` with the upstream gradient ``dout``."""
    return make_vjp(f)(x)[0](dout)


@contextmanager
def no_warnings():
    """Turn every warning (numpy's RuntimeWarning included) into an error, and numpy overflow/invalid/divide too."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            yield


def one_hot(rng, m: int, K: int) -> np.ndarray:
    """A random one-hot target matrix ``(m, K)``."""
    return np.eye(K)[rng.integers(0, K, size=m)]


# --- activations -------------------------------------------------------------------------------------------


def ag_sigmoid(z):
    # A different formula from the package's (which uses exp(-|z|)): sigmoid(z) = (1 + tanh(z/2)) / 2.
    return 0.5 * (anp.tanh(0.5 * z) + 1.0)


def ag_relu(z):
    return anp.maximum(z, 0.0)


def ag_softmax(z):
    # No max-subtraction: the inputs of the gradient tests are moderate.
    e = anp.exp(z)
    return e / anp.sum(e, axis=-1, keepdims=True)


ACT = {
    "sigmoid": ag_sigmoid,
    "relu": ag_relu,
    "tanh": anp.tanh,
    "linear": lambda z: z,
    "softmax": ag_softmax,
}


# --- losses ------------------------------------------------------------------------------------------------


def ag_mse(Y_hat, Y):
    return anp.sum((Y_hat - Y) ** 2) / Y.shape[0]


def ag_bce(P, Y):
    return -anp.sum(Y * anp.log(P) + (1.0 - Y) * anp.log(1.0 - P)) / Y.shape[0]


def ag_bce_logits(Z, Y):
    return ag_bce(ag_sigmoid(Z), Y)


def ag_cross_entropy(P, Y):
    return -anp.sum(Y * anp.log(P)) / Y.shape[0]


def ag_softmax_cross_entropy(Z, Y):
    return ag_cross_entropy(ag_softmax(Z), Y)


# --- layers and networks -----------------------------------------------------------------------------------


def ag_dense(X, W, b):
    return anp.dot(X, W) + b


def ag_mlp_forward(params, X, hidden, output):
    L = len(params) // 2
    A = X
    for l in range(1, L + 1):
        Z = anp.dot(A, params[f"W{l}"]) + params[f"b{l}"]
        A = ACT[output if l == L else hidden](Z)
    return A


def ag_mlp_loss(params, X, Y, hidden, output, loss, l2=0.0):
    Y_hat = ag_mlp_forward(params, X, hidden, output)
    value = {"mse": ag_mse, "bce": ag_bce, "cross_entropy": ag_cross_entropy}[loss](Y_hat, Y)
    L = len(params) // 2
    return value + 0.5 * l2 * sum(anp.sum(params[f"W{l}"] ** 2) for l in range(1, L + 1))
