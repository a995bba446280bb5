"""Activation functions, their derivatives and their backward passes (row convention, float64).

Element-wise activations act on any array ``z``; their ``*_derivative(z)`` is the derivative with respect to
the pre-activation ``z``, with the same shape as ``z``. Softmax couples the entries of a row, so it has a
Jacobian (:func:`softmax_jacobian`, one row ``(K,) -> (K, K)``) and a batched vector-Jacobian product
(:func:`softmax_backward`) instead of an element-wise derivative.

Seed 004's ``sigmoid`` is ``1 / (1 + np.exp(-x))``, which overflows (RuntimeWarning) for ``x < -709``; ours
uses ``np.exp(-|z|)``, which never overflows.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import BackpropLabError, as_array, check_same_shape

__all__ = [
    "ACTIVATIONS",
    "ActivationCache",
    "activation_backward",
    "activation_forward",
    "relu",
    "relu_derivative",
    "sigmoid",
    "sigmoid_derivative",
    "softmax",
    "softmax_backward",
    "softmax_derivative",
    "softmax_jacobian",
    "tanh",
    "tanh_derivative",
]

ACTIVATIONS = ("sigmoid", "relu", "tanh", "linear", "softmax")


def sigmoid(z):
    """Logistic sigmoid ``1 / (1 + exp(-z))``, element-wise; any shape -> same shape.

    Stable for all finite ``z`` (no overflow warning for ``|z|`` up to 1e308): with ``e = exp(-|z|)`` in (0,
    1], ``sigmoid(z) = 1 / (1 + e)`` for ``z >= 0`` and ``e / (1 + e)`` for ``z < 0``.
    """
    z = as_array(z, "z")
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_derivative(z):
    """``sigmoid'(z) = sigmoid(z) (1 - sigmoid(z))``, element-wise; any shape -> same shape.

    Computed as ``e / (1 + e)**2`` with ``e = exp(-|z|)`` (the derivative is even), which stays accurate
    in the tails where ``1 - sigmoid(z)`` would round to 0.
    """
    z = as_array(z, "z")
    e = np.exp(-np.abs(z))
    return e / (1.0 + e) ** 2


def relu(z):
    """Rectified linear unit ``max(0, z)``, element-wise; any shape -> same shape."""
    z = as_array(z, "z")
    return np.where(z > 0, z, 0.0)


def relu_derivative(z):
    """``relu'(z)``: 1.0 where ``z > 0``, else 0.0 (the convention ``relu'(0) = 0``); same shape as ``z``."""
    z = as_array(z, "z")
    return (z > 0).astype(np.float64)


def tanh(z):
    """Hyperbolic tangent, element-wise; any shape -> same shape."""
    return np.tanh(as_array(z, "z"))


def tanh_derivative(z):
    """``tanh'(z) = 1 - tanh(z)**2``, element-wise; any shape -> same shape."""
    t = np.tanh(as_array(z, "z"))
    return 1.0 - t * t


def softmax(z, axis: int = -1):
    """Softmax along ``axis`` (default: the last one, i.e. each row of an ``(m, K)`` batch).

    ``(K,) -> (K,)`` or ``(m, K) -> (m, K)``; every slice along ``axis`` is positive and sums to 1.
    The row maximum is subtracted first (softmax is shift-invariant), so ``exp`` never overflows.
    """
    z = as_array(z, "z")
    if z.ndim == 0:
        raise BackpropLabError("z must have at least one dimension for softmax, got a scalar")
    shifted = z - np.max(z, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_jacobian(z):
    """Jacobian of softmax for one row: ``z`` of shape ``(K,)`` -> ``J`` of shape ``(K, K)``.

    ``J[i, j] = d s_i / d z_j = s_i (delta_ij - s_j)``, i.e. ``J = diag(s) - s s^T`` (symmetric).
    """
    z = as_array(z, "z", ndim=1, labels=("K",))
    s = softmax(z)
    return np.diag(s) - np.outer(s, s)


def softmax_derivative(z):
    """Softmax Jacobians (softmax is not element-wise): ``(K,) -> (K, K)`` or ``(m, K) -> (m, K, K)``.

    Row ``i`` of a batch gives ``softmax_jacobian(z[i])``. For backpropagation use :func:`softmax_backward`,
    which never forms these ``K x K`` matrices.
    """
    z = as_array(z, "z")
    if z.ndim == 1:
        return softmax_jacobian(z)
    z = as_array(z, "z", ndim=2, labels=("m", "K"))
    s = softmax(z)
    return s[:, :, None] * np.eye(z.shape[1])[None, :, :] - s[:, :, None] * s[:, None, :]


def softmax_backward(dA, A):
    """Backward pass of softmax, batched: ``dA`` and ``A = softmax(Z)``, both ``(m, K)`` -> ``dZ`` ``(m, K)``.

    The vector-Jacobian product ``dZ_i = J_i^T dA_i = A_i * (dA_i - <dA_i, A_i>)`` for every row ``i``
    (a single row of shape ``(K,)`` is also accepted).
    """
    A = as_array(A, "A")
    dA = as_array(dA, "dA")
    check_same_shape(A, dA, "A", "dA")
    if A.ndim == 0:
        raise BackpropLabError("A must have at least one dimension for softmax_backward, got a scalar")
    return A * (dA - np.sum(dA * A, axis=-1, keepdims=True))


class ActivationCache(NamedTuple):
    """What :func:`activation_backward` needs: the activation's name, its input ``Z`` and output ``A``."""

    name: str
    Z: np.ndarray
    A: np.ndarray


def _check_name(name) -> str:
    if name not in ACTIVATIONS:
        choices = ", ".join(repr(n) for n in ACTIVATIONS)
        raise BackpropLabError(f"unknown activation {name!r}; choose one of {choices}")
    return name


def activation_forward(Z, name: str):
    """Apply the activation ``name`` to ``Z`` ``(m, n)``; return ``(A, cache)``, ``A`` of shape ``(m, n)``.

    ``name`` is one of ``"sigmoid", "relu", "tanh", "linear", "softmax"`` (softmax acts on each row).
    """
    _check_name(name)
    Z = as_array(Z, "Z")
    if name == "sigmoid":
        A = sigmoid(Z)
    elif name == "relu":
        A = relu(Z)
    elif name == "tanh":
        A = tanh(Z)
    elif name == "softmax":
        A = softmax(Z, axis=-1)
    else:
        A = Z.copy()
    return A, ActivationCache(name, Z, A)


def activation_backward(dA, cache):
    """Backward pass through an activation: upstream ``dA`` ``(m, n)`` -> ``dZ = dL/dZ`` ``(m, n)``.

    Element-wise activations: ``dZ = dA * f'(Z)``; softmax: the row-wise vector-Jacobian product.
    ``cache`` is the one returned by :func:`activation_forward`.
    """
    name, Z, A = cache
    _check_name(name)
    dA = as_array(dA, "dA")
    check_same_shape(Z, dA, "Z", "dA")
    if name == "sigmoid":
        return dA * sigmoid_derivative(Z)
    if name == "relu":
        return dA * relu_derivative(Z)
    if name == "tanh":
        return dA * tanh_derivative(Z)
    if name == "softmax":
        return softmax_backward(dA, A)
    return dA.copy()
