"""Loss functions and their gradients (prediction first, target second, float64).

Every loss is a **mean over the batch and a sum over outputs/classes**: ``L = (1/m) sum_i l(y_hat_i, y_i)``
where ``m = Y_hat.shape[0]``. The factor ``1/m`` therefore appears exactly once on the backward path, in the
gradients below (``dL/dY_hat`` or ``dL/dZ``); ``dense_backward`` never divides by ``m`` again.

Prediction and target must have the same shape (``(m, 1)`` against ``(m,)`` is refused rather than broadcast
to ``(m, m)``).

Seed notes: seed 001 drops the factor 2 of the MSE gradient (``(a - y)/n`` "simplified"); that is the gradient
of half the MSE, not of the loss it prints. Seed 002 writes the MSE without the sum over outputs; for one
output it is the same thing.
"""

from __future__ import annotations

import numpy as np

from .activations import sigmoid, softmax
from .errors import BackpropLabError, as_array, check_same_shape

__all__ = [
    "EPS",
    "bce_grad",
    "bce_loss",
    "bce_with_logits_grad",
    "bce_with_logits_loss",
    "cross_entropy_grad",
    "cross_entropy_loss",
    "mse_grad",
    "mse_loss",
    "softmax_cross_entropy",
]

EPS = 1e-12
"""Probabilities are clipped to ``[EPS, 1 - EPS]`` before ``log`` and division in the probability-space
losses."""


def _pair(Y_hat, Y, pred_name: str = "Y_hat", target_name: str = "Y", ndim: int | None = None):
    Y_hat = as_array(Y_hat, pred_name, ndim=ndim)
    Y = as_array(Y, target_name, ndim=ndim)
    if Y_hat.ndim == 0:
        raise BackpropLabError(
            f"{pred_name} must have a batch dimension, shape (m, n_out) (or (m,)), got a scalar"
        )
    check_same_shape(Y_hat, Y, pred_name, target_name)
    if Y_hat.shape[0] == 0:
        raise BackpropLabError(f"{pred_name} must hold at least one example, got shape {Y_hat.shape}")
    return Y_hat, Y, Y_hat.shape[0]


def mse_loss(Y_hat, Y) -> float:
    """Mean squared error ``(1/m) sum (Y_hat - Y)**2``: ``Y_hat``, ``Y`` ``(m, n_out)`` (or ``(m,)``) ->
    float."""
    Y_hat, Y, m = _pair(Y_hat, Y)
    return float(np.sum((Y_hat - Y) ** 2) / m)


def mse_grad(Y_hat, Y):
    """Gradient of :func:`mse_loss` w.r.t. ``Y_hat``: ``(2/m)(Y_hat - Y)``, same shape as ``Y_hat``."""
    Y_hat, Y, m = _pair(Y_hat, Y)
    return 2.0 * (Y_hat - Y) / m


def bce_loss(P, Y, eps: float = EPS) -> float:
    """Binary cross-entropy of probabilities: ``-(1/m) sum [Y log P + (1 - Y) log(1 - P)]`` -> float.

    ``P`` (probabilities in [0, 1]) and ``Y`` (targets in [0, 1]) have the same shape ``(m, n_out)`` or
    ``(m,)``. ``P`` is clipped to ``[eps, 1 - eps]`` so that ``log`` stays finite; clipping changes nothing
    for ``eps <= P <= 1 - eps``. When the probabilities come from a sigmoid, prefer
    :func:`bce_with_logits_loss`, which needs no clipping.
    """
    P, Y, m = _pair(P, Y, "P", "Y")
    Pc = np.clip(P, eps, 1.0 - eps)
    return float(-np.sum(Y * np.log(Pc) + (1.0 - Y) * np.log1p(-Pc)) / m)


def bce_grad(P, Y, eps: float = EPS):
    """Gradient of :func:`bce_loss` w.r.t. ``P``: ``(1/m) (P - Y) / (P (1 - P))``, same shape as ``P``.

    Equal to ``(1/m)(-Y/P + (1 - Y)/(1 - P))``. ``P`` is clipped to ``[eps, 1 - eps]`` as in the loss
    (otherwise it divides by zero at ``P = 0`` or ``1``); inside that interval the value is exact. Chained
    with the sigmoid's derivative ``P (1 - P)`` it gives ``dZ = (P - Y)/m``, which
    :func:`bce_with_logits_grad` computes directly.
    """
    P, Y, m = _pair(P, Y, "P", "Y")
    Pc = np.clip(P, eps, 1.0 - eps)
    return (Pc - Y) / (Pc * (1.0 - Pc)) / m


def bce_with_logits_loss(Z, Y) -> float:
    """Binary cross-entropy of ``sigmoid(Z)`` from the logits: ``Z``, ``Y`` ``(m, n_out)`` -> float.

    Uses ``-[y log s(z) + (1 - y) log(1 - s(z))] = log(1 + e^z) - y z = logaddexp(0, z) - y z``, which is
    exact and finite for every finite ``z`` (no clipping, no overflow).
    """
    Z, Y, m = _pair(Z, Y, "Z", "Y")
    return float(np.sum(np.logaddexp(0.0, Z) - Y * Z) / m)


def bce_with_logits_grad(Z, Y):
    """Gradient of :func:`bce_with_logits_loss` w.r.t. the logits: ``(sigmoid(Z) - Y)/m``, same shape as
    ``Z``."""
    Z, Y, m = _pair(Z, Y, "Z", "Y")
    return (sigmoid(Z) - Y) / m


def cross_entropy_loss(P, Y, eps: float = EPS) -> float:
    """Categorical cross-entropy ``-(1/m) sum_i sum_k Y_ik log P_ik`` -> float.

    ``P`` holds class probabilities (rows sum to 1), ``Y`` one-hot targets, both ``(m, K)``. ``P`` is clipped
    to ``[eps, 1]`` below so that ``log 0`` never occurs. From logits, use :func:`softmax_cross_entropy`.
    """
    P, Y, m = _pair(P, Y, "P", "Y", ndim=2)
    return float(-np.sum(Y * np.log(np.clip(P, eps, None))) / m)


def cross_entropy_grad(P, Y, eps: float = EPS):
    """Gradient of :func:`cross_entropy_loss` w.r.t. ``P``: ``-(1/m) Y / P``, shape ``(m, K)``.

    ``P`` is clipped as in the loss. Pushed through the softmax
    (:func:`~backproplab.activations.softmax_backward`) it becomes ``(P - Y)/m`` for one-hot ``Y``.
    """
    P, Y, m = _pair(P, Y, "P", "Y", ndim=2)
    return -Y / np.clip(P, eps, None) / m


def softmax_cross_entropy(Z, Y):
    """Softmax followed by cross-entropy, from logits: ``Z``, ``Y`` ``(m, K)`` -> ``(loss, dZ)``.

    ``loss = -(1/m) sum Y * log_softmax(Z)`` with ``log_softmax(Z) = Z - max - log(sum(exp(Z - max)))``,
    finite for every finite ``Z``; ``dZ = (softmax(Z) - Y)/m`` of shape ``(m, K)``. The gradient formula
    assumes every row of ``Y`` sums to 1 (one-hot or a probability vector), as targets of a softmax
    classifier do.
    """
    Z, Y, m = _pair(Z, Y, "Z", "Y", ndim=2)
    shifted = Z - np.max(Z, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    loss = float(-np.sum(Y * log_p) / m)
    dZ = (softmax(Z, axis=1) - Y) / m
    return loss, dZ
