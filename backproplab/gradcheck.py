"""Numerical gradients by centred differences, relative error and verdicts (seed 002's gradient check).

``relative_error(a, b) = ||a - b|| / (||a|| + ||b||)`` (Euclidean/Frobenius norms, 0 when both are zero),
read as: ``< 1e-7`` excellent, ``< 1e-5`` good, ``< 1e-3`` suspicious, otherwise a bug is likely.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import BackpropLabError, as_array, check_same_shape

__all__ = [
    "GradCheckReport",
    "gradient_check",
    "numerical_gradient",
    "numerical_vjp",
    "relative_error",
    "verdict",
]

THRESHOLDS = ((1e-7, "excellent"), (1e-5, "good"), (1e-3, "suspicious"))


def _step(h) -> float:
    try:
        h = float(h)
    except (TypeError, ValueError):
        raise BackpropLabError(f"h must be a positive number, got {type(h).__name__}") from None
    if not (np.isfinite(h) and h > 0):
        raise BackpropLabError(f"h must be a positive number, got {h!r}")
    return h


def _scalar(value) -> float:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise BackpropLabError(f"f must return a scalar, got an array of shape {arr.shape}")
    return float(arr.reshape(()))


def numerical_gradient(f, x, h: float = 1e-5):
    """Centred-difference gradient of a scalar function: ``x`` (any shape) -> ``grad`` (same shape).

    ``grad[i] = (f(x + h e_i) - f(x - h e_i)) / (2h)``; error ``O(h^2)``. ``f`` receives a float64 copy of
    ``x`` (perturbed one entry at a time), so the caller's ``x`` is never modified.
    """
    h = _step(h)
    xc = np.array(as_array(x, "x"), dtype=np.float64, copy=True)
    grad = np.zeros_like(xc)
    for idx in np.ndindex(xc.shape):
        old = xc[idx]
        xc[idx] = old + h
        f_plus = _scalar(f(xc))
        xc[idx] = old - h
        f_minus = _scalar(f(xc))
        xc[idx] = old
        grad[idx] = (f_plus - f_minus) / (2.0 * h)
    return grad


def numerical_vjp(f, x, dout, h: float = 1e-5):
    """Centred-difference vector-Jacobian product: the gradient of ``sum(f(x) * dout)`` w.r.t. ``x``.

    ``f`` maps ``x`` (any shape) to an array of ``dout``'s shape; returns an array of ``x``'s shape. This is
    what a layer's backward pass computes for the upstream gradient ``dout``. ``x`` is not modified.
    """
    dout = as_array(dout, "dout")

    def inner(xv):
        out = as_array(f(xv), "f(x)")
        check_same_shape(dout, out, "dout", "f(x)")
        return np.sum(out * dout)

    return numerical_gradient(inner, x, h)


def relative_error(a, b) -> float:
    """``||a - b|| / (||a|| + ||b||)`` for two arrays of the same shape -> float in [0, 1]; 0.0 if both are
    zero."""
    a = as_array(a, "a")
    b = as_array(b, "b")
    check_same_shape(a, b, "a", "b")
    denom = np.linalg.norm(a.ravel()) + np.linalg.norm(b.ravel())
    if denom == 0.0:
        return 0.0
    return float(np.linalg.norm((a - b).ravel()) / denom)


def verdict(err) -> str:
    """Seed 002's reading of a relative error: ``"excellent"`` (< 1e-7), ``"good"`` (< 1e-5),
    ``"suspicious"`` (< 1e-3), else ``"bug likely"`` (also for NaN)."""
    err = float(err)
    for limit, word in THRESHOLDS:
        if err < limit:
            return word
    return "bug likely"


@dataclass(frozen=True, eq=False)
class GradCheckReport:
    """Outcome of :func:`gradient_check`; ``numeric`` and ``analytic`` have ``x``'s shape (read-only
    arrays)."""

    rel_error: float
    verdict: str
    numeric: np.ndarray
    analytic: np.ndarray
    worst_index: tuple[int, ...]

    @property
    def ok(self) -> bool:
        """True for "excellent" and "good"."""
        return self.verdict in ("excellent", "good")

    def __str__(self) -> str:
        where = ", ".join(str(i) for i in self.worst_index)
        num, ana = self.numeric[self.worst_index], self.analytic[self.worst_index]
        return (
            f"gradient check: relative error {self.rel_error:.2e} ({self.verdict}); largest difference at "
            f"[{where}]: numeric {num:.8g}, analytic {ana:.8g}"
        )


def gradient_check(f, x, analytic, h: float = 1e-5) -> GradCheckReport:
    """Compare an analytic gradient with :func:`numerical_gradient` of the scalar function ``f`` at ``x``.

    ``analytic`` is an array of ``x``'s shape, or a callable ``x -> array`` evaluated on a copy of ``x``.
    Returns a :class:`GradCheckReport` (relative error, verdict, both gradients, index of the worst entry).
    """
    x = as_array(x, "x")
    if callable(analytic):
        analytic = analytic(x.copy())
    analytic = np.array(as_array(analytic, "analytic"), copy=True)
    check_same_shape(x, analytic, "x", "analytic")
    numeric = numerical_gradient(f, x, h)
    err = relative_error(numeric, analytic)
    diff = np.abs(numeric - analytic)
    worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape)) if diff.size else ()
    numeric.setflags(write=False)
    analytic.setflags(write=False)
    return GradCheckReport(err, verdict(err), numeric, analytic, worst)
