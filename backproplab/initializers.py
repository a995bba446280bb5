"""Weight initializers, each ``(n_in, n_out, rng=None) -> W`` of shape ``(n_in, n_out)``, float64.

``rng`` may be ``None`` (fresh entropy), an ``int`` seed or a ``numpy.random.Generator`` (used as is, so one
generator can initialise a whole network reproducibly).

Notation in the seeds: seeds 002 and 004 write He as ``W ~ N(0, sqrt(2/n_in))``, seeds 003 and 004 write
Xavier as ``N(0, sqrt(2/(n_in + n_out)))`` and seed 002 writes LeCun as ``N(0, sqrt(1/n_in))``; the second
argument there is the **standard deviation** (as in ``np.random.normal(loc, scale)``), not the variance. The
variance of He initialization is ``2/n_in``. Seed 004's ``he_init``/``xavier_init`` also return shape
``(n_out, n_in)`` (column convention) and call the standard deviation ``limit``; ours return ``(n_in, n_out)``.
"""

from __future__ import annotations

import numbers

import numpy as np

from .errors import BackpropLabError

__all__ = ["INITIALIZERS", "get_initializer", "he_normal", "lecun_normal", "make_rng", "xavier_normal",
           "xavier_uniform"]


def make_rng(rng=None) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from ``None``, an int seed or a Generator (returned unchanged)."""
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise BackpropLabError(f"rng seed must be a non-negative int, got {rng}")
        return np.random.default_rng(int(rng))
    raise BackpropLabError(
        f"rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}"
    )


def _sizes(n_in, n_out) -> tuple[int, int]:
    for value, name in ((n_in, "n_in"), (n_out, "n_out")):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise BackpropLabError(f"{name} must be a positive int, got {value!r}")
    return int(n_in), int(n_out)


def he_normal(n_in, n_out, rng=None):
    """He (Kaiming) normal, for ReLU: N(mean 0, std ``sqrt(2/n_in)``); shape ``(n_in, n_out)``.

    Seeds 002/004 write ``N(0, sqrt(2/n_in))``: that second argument is the standard deviation, not the
    variance (the variance is ``2/n_in``).
    """
    n_in, n_out = _sizes(n_in, n_out)
    return make_rng(rng).normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


def xavier_normal(n_in, n_out, rng=None):
    """Xavier (Glorot) normal, for tanh/sigmoid: N(mean 0, std ``sqrt(2/(n_in + n_out))``); ``(n_in, n_out)``.

    Seeds 003/004 write ``N(0, sqrt(2/(n_in + n_out)))``: the second argument is the standard deviation.
    """
    n_in, n_out = _sizes(n_in, n_out)
    return make_rng(rng).normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_in, n_out))


def xavier_uniform(n_in, n_out, rng=None):
    """Xavier (Glorot) uniform (seed 002): U[-limit, limit], ``limit = sqrt(6/(n_in + n_out))``.

    Shape ``(n_in, n_out)``.

    Its variance ``limit**2 / 3 = 2/(n_in + n_out)`` equals that of :func:`xavier_normal`.
    """
    n_in, n_out = _sizes(n_in, n_out)
    limit = np.sqrt(6.0 / (n_in + n_out))
    return make_rng(rng).uniform(-limit, limit, size=(n_in, n_out))


def lecun_normal(n_in, n_out, rng=None):
    """LeCun normal (seed 002, for SELU): N(mean 0, std ``sqrt(1/n_in)``); shape ``(n_in, n_out)``.

    Seed 002 writes ``N(0, sqrt(1/n_in))``: the second argument is the standard deviation, not the variance.
    """
    n_in, n_out = _sizes(n_in, n_out)
    return make_rng(rng).normal(0.0, np.sqrt(1.0 / n_in), size=(n_in, n_out))


INITIALIZERS = {
    "he": he_normal,
    "he_normal": he_normal,
    "xavier": xavier_normal,
    "xavier_normal": xavier_normal,
    "glorot": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "lecun": lecun_normal,
    "lecun_normal": lecun_normal,
}


def get_initializer(init):
    """Look up an initializer by name or return ``init`` itself when it is callable.

    Names: ``"he"``, ``"xavier"`` (= ``"xavier_normal"``), ``"xavier_uniform"``, ``"lecun"``, ... A callable
    takes ``(n_in, n_out, rng)`` and returns ``(n_in, n_out)``.
    """
    if callable(init):
        return init
    if isinstance(init, str) and init in INITIALIZERS:
        return INITIALIZERS[init]
    choices = ", ".join(repr(k) for k in INITIALIZERS)
    raise BackpropLabError(f"unknown initializer {init!r}; choose one of {choices}")
