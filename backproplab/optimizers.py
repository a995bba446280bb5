"""First-order update rules with the CS231n signature ``update(w, dw, config=None) -> (next_w, config)``.

``w`` and ``dw`` have the same (any) shape; ``next_w`` has that shape too. ``w`` is never modified in place
and the ``config`` passed in is not modified either: the returned ``config`` is a new dict holding the
hyper-parameters (defaults filled in) and the optimizer's state (``velocity``, ``cache``, ``m``, ``v``,
``t``). Feed it back on the next call: ``w, config = adam(w, dw, config)``.

Momentum comes in two conventions (``config["convention"]``):

* ``"classic"`` (seed 003, CS231n): ``v = beta v - lr g``; ``w = w + v``;
* ``"ema"`` (seed 004): ``v = beta v + (1 - beta) g``; ``w = w - lr v``.

Starting from ``v = 0`` they give the same trajectory when ``lr_classic = (1 - beta) lr_ema``
(:func:`momentum_lr_equivalent`); the classic velocity is then ``-lr_ema`` times the EMA velocity.
"""

from __future__ import annotations

import numpy as np

from .errors import BackpropLabError, as_array, check_same_shape

__all__ = ["MOMENTUM_CONVENTIONS", "adam", "adamw", "momentum_lr_equivalent", "rmsprop", "sgd", "sgd_momentum"]

MOMENTUM_CONVENTIONS = ("classic", "ema")


def _start(w, dw, config, defaults):
    w = as_array(w, "w")
    dw = as_array(dw, "dw")
    check_same_shape(w, dw, "w", "dw")
    if config is None:
        config = {}
    elif not isinstance(config, dict):
        raise BackpropLabError(f"config must be a dict or None, got {type(config).__name__}")
    config = dict(config)
    for key, value in defaults.items():
        config.setdefault(key, value)
    return w, dw, config


def _state(config, key, w):
    """The state array ``config[key]`` (zeros on the first call), checked against ``w``'s shape."""
    value = config.get(key)
    if value is None:
        return np.zeros_like(w)
    value = as_array(value, f'config["{key}"]')
    check_same_shape(w, value, "w", f'config["{key}"]')
    return value


def sgd(w, dw, config=None):
    """Vanilla gradient descent ``next_w = w - learning_rate * dw``; config: ``learning_rate`` (1e-2)."""
    w, dw, config = _start(w, dw, config, {"learning_rate": 1e-2})
    return w - config["learning_rate"] * dw, config


def sgd_momentum(w, dw, config=None):
    """Gradient descent with momentum; ``w``, ``dw`` of the same shape -> ``(next_w, config)``.

    config: ``learning_rate`` (1e-2), ``momentum`` (0.9), ``convention`` (``"classic"`` or ``"ema"``),
    ``velocity`` (zeros, same shape as ``w``).

    * classic: ``v = momentum * v - learning_rate * dw``; ``next_w = w + v``
    * ema:     ``v = momentum * v + (1 - momentum) * dw``; ``next_w = w - learning_rate * v``
    """
    w, dw, config = _start(w, dw, config, {"learning_rate": 1e-2, "momentum": 0.9, "convention": "classic"})
    convention = config["convention"]
    if convention not in MOMENTUM_CONVENTIONS:
        raise BackpropLabError(f'config["convention"] must be "classic" or "ema", got {convention!r}')
    beta, lr = config["momentum"], config["learning_rate"]
    v = _state(config, "velocity", w)
    if convention == "classic":
        v = beta * v - lr * dw
        next_w = w + v
    else:
        v = beta * v + (1.0 - beta) * dw
        next_w = w - lr * v
    config["velocity"] = v
    return next_w, config


def rmsprop(w, dw, config=None):
    """RMSProp; ``w``, ``dw`` of the same shape -> ``(next_w, config)``.

    config: ``learning_rate`` (1e-2), ``decay_rate`` (0.99), ``epsilon`` (1e-8), ``cache`` (zeros).
    ``cache = decay_rate * cache + (1 - decay_rate) * dw**2``;
    ``next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)``.
    """
    w, dw, config = _start(w, dw, config, {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8})
    rho = config["decay_rate"]
    cache = rho * _state(config, "cache", w) + (1.0 - rho) * dw * dw
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def adam(w, dw, config=None):
    """Adam with bias correction; ``w``, ``dw`` of the same shape -> ``(next_w, config)``.

    config: ``learning_rate`` (1e-3), ``beta1`` (0.9), ``beta2`` (0.999), ``epsilon`` (1e-8), ``m``, ``v``
    (zeros), ``t`` (0). The step counter is advanced **before** the bias correction, so the first step uses
    ``t = 1``::

        t = t + 1
        m = beta1 m + (1 - beta1) dw;       v = beta2 v + (1 - beta2) dw**2
        m_hat = m / (1 - beta1**t);          v_hat = v / (1 - beta2**t)
        next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)
    """
    w, dw, config = _start(
        w, dw, config, {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 0}
    )
    b1, b2 = config["beta1"], config["beta2"]
    t = int(config["t"]) + 1
    m = b1 * _state(config, "m", w) + (1.0 - b1) * dw
    v = b2 * _state(config, "v", w) + (1.0 - b2) * dw * dw
    m_hat = m / (1.0 - b1**t)
    v_hat = v / (1.0 - b2**t)
    config.update(m=m, v=v, t=t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


def adamw(w, dw, config=None, step=None):
    """Adam with decoupled weight decay (Loshchilov & Hutter's AdamW, as PyTorch's ``torch.optim.AdamW``).

    config: :func:`adam`'s keys and ``weight_decay`` (1e-2). ``step``: the Adam step the decay is added to
    (:func:`adam` when None; notebook 08 passes the learner's own). The decay shrinks ``w`` beside Adam's step
    instead of entering the gradient, so Adam's per-coordinate scaling does not weaken it::

        next_w = w - learning_rate * (m_hat / (sqrt(v_hat) + epsilon) + weight_decay * w)

    With an L2 penalty instead (``dw + lam * w`` fed to :func:`adam`), the decay of a weight with large, steady
    gradients is divided by ``sqrt(v_hat)`` and almost vanishes: L2 and weight decay are the same thing only for
    plain gradient descent.
    """
    w = as_array(w, "w")
    decay = float((config or {}).get("weight_decay", 1e-2))
    next_w, config = (adam if step is None else step)(w, dw, {k: v for k, v in (config or {}).items()
                                                            if k != "weight_decay"})
    config["weight_decay"] = decay
    return next_w - config["learning_rate"] * decay * w, config


def momentum_lr_equivalent(lr, beta, from_convention, to_convention) -> float:
    """The learning rate in ``to_convention`` that reproduces ``lr`` in ``from_convention`` (same ``beta``).

    ``lr_classic = (1 - beta) * lr_ema``; both start from zero velocity. Conventions: ``"classic"``,
    ``"ema"``.
    """
    for conv, name in ((from_convention, "from_convention"), (to_convention, "to_convention")):
        if conv not in MOMENTUM_CONVENTIONS:
            raise BackpropLabError(f'{name} must be "classic" or "ema", got {conv!r}')
    lr, beta = float(lr), float(beta)
    if not 0.0 <= beta < 1.0:
        raise BackpropLabError(f"beta must be in [0, 1), got {beta!r}")
    if from_convention == to_convention:
        return lr
    if from_convention == "ema":
        return (1.0 - beta) * lr
    return lr / (1.0 - beta)
