"""Figures of notebook 03 (backward pass): the forward and backward flow through a two-layer network with every
shape and the cached values each gradient uses, and the gradient check's relative error against the step h.

Every function creates its figure with ``plt.subplots``, closes it and returns it (the cell displays it once).
"""

from __future__ import annotations

from functools import lru_cache

import matplotlib.pyplot as plt
import numpy as np

from backproplab.gradcheck import numerical_gradient, relative_error, verdict
from backproplab.losses import mse_loss
from backproplab.network import mlp_forward, mlp_loss_and_grads

__all__ = ["GRAD_KEYS", "backward_flow_figure", "gradcheck_h_figure", "gradcheck_problem", "gradcheck_rel_errors",
           "numerical_grads"]

BLUE, ORANGE, GREEN, PURPLE, RED, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728", "#7f7f7f"
GRAD_KEYS = ("dW1", "db1", "dW2", "db2")


# ------------------------------------------------------------------------------------------- the flow
def _box(ax, x, y, text, colour, fc="white", size=9.5):
    ax.text(x, y, text, ha="center", va="center", fontsize=size,
            bbox=dict(boxstyle="round,pad=0.35", fc=fc, ec=colour, lw=1.5))


def _arrow(ax, start, end, colour=GREY, style="-|>", ls="-", lw=1.4, rad=0.0):
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle=style, color=colour, lw=lw, ls=ls, shrinkA=14, shrinkB=14,
                                connectionstyle=f"arc3,rad={rad}"))


def backward_flow_figure():
    """A two-layer network (ReLU hidden, linear output, MSE): forward values on top (left to right), gradients
    below (right to left), each with its shape; dotted red arrows show which cached value each gradient uses;
    the 1/m of the mean enters once, in dŶ."""
    fig, ax = plt.subplots(figsize=(12.5, 5.6), constrained_layout=True)
    fx = [0.0, 2.6, 5.2, 7.8, 10.4]
    top, mid, low = 3.0, 1.2, -0.45
    forward = [("X\n(m, n_in)", BLUE), ("Z1 = X W1 + b1\n(m, h)", BLUE), ("A1 = ReLU(Z1)\n(m, h)", BLUE),
               ("Ŷ = Z2 = A1 W2 + b2\n(m, n_out)", BLUE), ("L = (1/m) Σ (Ŷ − Y)²\nscalar", BLUE)]
    for x, (text, colour) in zip(fx, forward, strict=True):
        _box(ax, x, top, text, colour, fc="#eef3fb")
    for a, b in zip(fx[:-1], fx[1:], strict=True):
        _arrow(ax, (a + 0.55, top), (b - 0.55, top), BLUE)
    backward = [(fx[1], "dZ1 = dA1 ⊙ ReLU′(Z1)\n(m, h)"), (fx[2], "dA1 = dZ2 W2ᵀ\n(m, h)"),
                (fx[3], "dZ2 = dŶ = (2/m)(Ŷ − Y)\n(m, n_out)"), (fx[4], "dL/dL = 1")]
    for x, text in backward:
        _box(ax, x, mid, text, RED, fc="#fdecea")
    for (a, _), (b, _) in zip(backward[1:], backward[:-1], strict=True):
        _arrow(ax, (a - 0.6, mid), (b + 0.6, mid), RED)
    params = [(fx[0] + 1.3, "dW1 = Xᵀ dZ1  (n_in, h)\ndb1 = Σ_rows dZ1  (1, h)"),
              (fx[2] + 1.3, "dW2 = A1ᵀ dZ2  (h, n_out)\ndb2 = Σ_rows dZ2  (1, n_out)")]
    for x, text in params:
        _box(ax, x, low, text, GREEN, fc="#e9f6ec")
    _arrow(ax, (fx[1], mid - 0.3), (params[0][0], low + 0.35), GREEN)
    _arrow(ax, (fx[3], mid - 0.3), (params[1][0], low + 0.35), GREEN)
    # cached values used by the backward pass (dotted): X for dW1, Z1 for ReLU'(Z1), A1 for dW2
    for (x0, y0), (x1, y1), label in (((fx[0] + 0.2, top - 0.35), (params[0][0] - 0.6, low + 0.4), "cached X"),
                                      ((fx[1], top - 0.35), (fx[1], mid + 0.35), "cached Z1"),
                                      ((fx[2] + 0.7, top - 0.35), (params[1][0] - 0.3, low + 0.4), "cached A1")):
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="-|>", color=RED, lw=1.2, ls=":", shrinkA=2, shrinkB=2))
        t = 0.35
        ax.text(x0 + t * (x1 - x0) - 0.12, y0 + t * (y1 - y0), label, fontsize=8.5, color=RED, ha="right")
    ax.text(fx[4] - 0.1, mid - 0.75, "the 1/m of the mean enters once, in dŶ;\nno layer divides by m again",
            ha="center", fontsize=9, color="#333333")
    ax.text(-1.1, top + 0.85, "forward →", fontsize=11, color=BLUE, weight="bold")
    ax.text(-1.1, mid + 0.85, "← backward", fontsize=11, color=RED, weight="bold")
    ax.set_xlim(-1.3, 11.8)
    ax.set_ylim(-1.3, 4.1)
    ax.axis("off")
    ax.set_title("Backpropagation through a two-layer network: every gradient has the shape of what it differentiates")
    plt.close(fig)
    return fig


# --------------------------------------------------------------------------------------- gradient check
def gradcheck_problem(seed: int = 0, m: int = 6, sizes=(3, 5, 2)):
    """A small regression problem for gradient checks: ``(X, Y, params)`` with ``X`` ``(m, 3)``, ``Y`` ``(m, 2)``
    and a 3-5-2 network (He weights, small random biases), float64."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, sizes[0]))
    Y = rng.standard_normal((m, sizes[-1]))
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.standard_normal((sizes[l - 1], sizes[l])) * np.sqrt(2.0 / sizes[l - 1])
        params[f"b{l}"] = 0.1 * rng.standard_normal((1, sizes[l]))
    return X, Y, params


def _loss(X, Y, params) -> float:
    return mse_loss(mlp_forward(X, params)[0], Y)


@lru_cache(maxsize=64)
def _numerical_grads_cached(h: float, seed: int):
    X, Y, params = gradcheck_problem(seed)
    out = {}
    for key in params:
        def f(value, key=key):
            return _loss(X, Y, {**params, key: value})
        out["d" + key] = numerical_gradient(f, params[key], h)
    return out


def numerical_grads(h: float = 1e-5, seed: int = 0) -> dict:
    """Centred-difference gradients ``{"dW1", "db1", "dW2", "db2"}`` of the MSE of :func:`gradcheck_problem`."""
    return {k: v.copy() for k, v in _numerical_grads_cached(float(h), int(seed)).items()}


def gradcheck_rel_errors(analytic: dict, h: float = 1e-5, seed: int = 0, rel_error=relative_error) -> dict:
    """Relative error between ``analytic`` (a grads dict) and the numerical gradients, per key of GRAD_KEYS."""
    numeric = numerical_grads(h, seed)
    return {k: float(rel_error(np.asarray(analytic[k], dtype=np.float64), numeric[k])) for k in GRAD_KEYS}


def gradcheck_h_figure(backwards: dict | None = None, h_marker: float | None = None, seed: int = 0):
    """The largest relative error over ``dW1, db1, dW2, db2`` against the step h (log-log), for each backward pass
    in ``backwards`` (label -> ``fn(X, Y, params) -> grads``; default: the reference), with the verdict bands."""
    X, Y, params = gradcheck_problem(seed)
    if backwards is None:
        backwards = {"reference backward pass": lambda X, Y, p: mlp_loss_and_grads(p, X, Y)[1]}
    hs = 10.0 ** np.arange(-12.0, -0.49, 0.5)
    fig, ax = plt.subplots(figsize=(8, 4.6), constrained_layout=True)
    for (lo, hi), colour, word in (((1e-17, 1e-7), GREEN, "excellent"), ((1e-7, 1e-5), "#9bd19b", "good"),
                                   ((1e-5, 1e-3), ORANGE, "suspicious"), ((1e-3, 2.0), RED, "bug likely")):
        ax.axhspan(lo, hi, color=colour, alpha=0.12)
        ax.text(1.4e-12, np.sqrt(lo * hi) if lo > 1e-17 else 3e-11, word, fontsize=9, color=colour, va="center")
    for k, (label, fn) in enumerate(backwards.items()):
        analytic = fn(X, Y, params)
        errs = [max(gradcheck_rel_errors(analytic, h, seed).values()) for h in hs]
        ax.loglog(hs, np.maximum(errs, 1e-17), "o-", ms=3.5, color=plt.cm.tab10(k), label=label)
    if h_marker is not None:
        ax.axvline(h_marker, color="black", lw=1, ls="--")
    ax.set_xlim(1e-12 / 1.5, 0.5)
    ax.set_ylim(1e-13, 2.0)
    ax.set_xlabel("step h of the centred difference")
    ax.set_ylabel("largest relative error (dW1, db1, dW2, db2)")
    ax.set_title("Gradient check: a correct backward pass is 'excellent' for h near 1e-5; a bug never is")
    ax.legend(loc="lower right", fontsize=8.5)
    plt.close(fig)
    return fig


def verdict_colour(err: float) -> str:
    """Colour of a verdict, for tables."""
    return {"excellent": GREEN, "good": "#5a9e5a", "suspicious": ORANGE}.get(verdict(err), RED)
