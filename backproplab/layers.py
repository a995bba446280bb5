"""The dense (fully connected) layer in the row convention: ``Z = X @ W + b``.

Shapes: ``X`` ``(m, n_in)``, ``W`` ``(n_in, n_out)``, ``b`` ``(1, n_out)``, ``Z`` ``(m, n_out)``.
Seeds 000/004 use the column convention ``z = W a + b`` (examples as columns), the transpose of ours.

The backward pass does **not** divide by ``m``: the ``1/m`` of a mean loss is already inside the upstream
gradient ``dZ``. Seed 002 divides ``dW`` and ``db`` by ``m`` while its MSE gradient ``(2/m)(Y_hat - Y)``
already holds ``1/m``: chained together, that counts the batch twice.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import as_array, check_matmul

__all__ = ["DenseCache", "dense_backward", "dense_forward"]


class DenseCache(NamedTuple):
    """The inputs of :func:`dense_forward`, kept for :func:`dense_backward`."""

    X: np.ndarray
    W: np.ndarray
    b: np.ndarray


def dense_forward(X, W, b):
    """Affine layer ``Z = X @ W + b``: ``X`` ``(m, n_in)``, ``W`` ``(n_in, n_out)``, ``b`` ``(1, n_out)``.

    Returns ``(Z, cache)`` with ``Z`` of shape ``(m, n_out)`` and ``cache = DenseCache(X, W, b)``.
    """
    X = as_array(X, "X", ndim=2, labels=("m", "n_in"))
    W = as_array(W, "W", ndim=2, labels=("n_in", "n_out"))
    check_matmul(X, W, "X", "W")
    n_out = W.shape[1]
    b = as_array(b, "b", shape=(1, n_out), labels=("1", "n_out"))
    Z = X @ W + b
    return Z, DenseCache(X, W, b)


def dense_backward(dZ, cache):
    """Backward pass of :func:`dense_forward`: ``dZ`` ``(m, n_out)`` -> ``(dX, dW, db)``.

    ``dX = dZ @ W.T`` ``(m, n_in)``, ``dW = X.T @ dZ`` ``(n_in, n_out)``, ``db = sum of dZ over the batch``
    ``(1, n_out)`` (kept 2-D, like ``b``). No division by ``m``.
    """
    X, W, _b = cache
    m, n_out = X.shape[0], W.shape[1]
    dZ = as_array(dZ, "dZ", shape=(m, n_out), labels=("m", "n_out"))
    dX = dZ @ W.T
    dW = X.T @ dZ
    db = np.sum(dZ, axis=0, keepdims=True)
    return dX, dW, db
