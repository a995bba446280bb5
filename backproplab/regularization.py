"""L2 weight decay and inverted dropout.

L2 (seed 004's form): ``penalty = (lam/2) sum_l ||W_l||_F^2``, gradient ``lam * W``. Seed 003 writes the
penalty ``lam sum W^2`` and the gradient ``2 lam W``; it is the same regularizer with ``lam`` doubled.

Dropout is *inverted* dropout with keep probability ``keep_prob``: ``mask = (rng.random(shape) < keep_prob) /
keep_prob`` and ``out = X * mask``, so that ``E[out] = X`` in training and nothing changes at test time.
Seed 003 draws ``np.random.binomial(1, p, ...)``, which **keeps** units with probability ``p``, and then
rescales by ``1/(1 - p)``: with ``p`` the drop probability the mask is wrong, with ``p`` the keep
probability the scale is wrong. Seed 004 keeps with probability ``1 - p_drop`` but never rescales, so
activations shrink by ``1 - p_drop`` in training only.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .errors import BackpropLabError, as_array, check_same_shape
from .initializers import make_rng

__all__ = ["DropoutCache", "dropout_backward", "dropout_forward", "l2_grad", "l2_penalty"]


def _lam(lam) -> float:
    try:
        value = float(lam)
    except (TypeError, ValueError):
        raise BackpropLabError(f"lam must be a number, got {type(lam).__name__}") from None
    if not np.isfinite(value) or value < 0:
        raise BackpropLabError(f"lam must be a finite number >= 0, got {lam!r}")
    return value


def l2_penalty(weights, lam) -> float:
    """``(lam/2) * sum of ||W||^2`` over ``weights`` (one array or a list/tuple of arrays) -> float.

    Pass the weight matrices only; biases are usually not regularized.
    """
    lam = _lam(lam)
    if isinstance(weights, list | tuple):
        arrays = [as_array(W, f"weights[{i}]") for i, W in enumerate(weights)]
    else:
        arrays = [as_array(weights, "weights")]
    return float(0.5 * lam * sum(np.sum(W * W) for W in arrays))


def l2_grad(W, lam):
    """Gradient of ``(lam/2) ||W||^2`` w.r.t. ``W``: ``lam * W``, same shape as ``W``."""
    return _lam(lam) * as_array(W, "W")


class DropoutCache(NamedTuple):
    """``mask`` already divided by ``keep_prob`` (``None`` when ``keep_prob == 1``) and ``keep_prob``."""

    mask: np.ndarray | None
    keep_prob: float


def dropout_forward(X, keep_prob, rng=None):
    """Inverted dropout: ``X`` (any shape) -> ``(out, cache)`` with ``out = X * mask`` of the same shape.

    Each entry is kept with probability ``keep_prob`` in (0, 1] and then scaled by ``1/keep_prob``:
    ``mask = (rng.random(X.shape) < keep_prob) / keep_prob``. ``keep_prob == 1`` returns ``X`` unchanged (and
    draws no random numbers). ``rng``: ``None``, an int seed or a ``numpy.random.Generator``.
    """
    X = as_array(X, "X")
    try:
        p = float(keep_prob)
    except (TypeError, ValueError):
        raise BackpropLabError(
            f"keep_prob must be a number in (0, 1], got {type(keep_prob).__name__}"
        ) from None
    if not 0.0 < p <= 1.0:
        raise BackpropLabError(
            f"keep_prob must be in (0, 1] (the probability of KEEPING a unit), got {keep_prob!r}"
        )
    if p == 1.0:
        return X, DropoutCache(None, 1.0)
    mask = (make_rng(rng).random(X.shape) < p) / p
    return X * mask, DropoutCache(mask, p)


def dropout_backward(dout, cache):
    """Backward pass of :func:`dropout_forward`: ``dout`` -> ``dX = dout * mask`` (same shape as ``dout``)."""
    mask, _p = cache
    dout = as_array(dout, "dout")
    if mask is None:
        return dout
    check_same_shape(mask, dout, "X", "dout")
    return dout * mask
