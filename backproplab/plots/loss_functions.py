"""Figures of notebook 05 (loss functions).

Every function builds its figure with ``plt.subplots``, closes it (``plt.close(fig)``) and returns it, so that a
notebook cell whose last expression is the call displays it exactly once.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from backproplab.activations import sigmoid, sigmoid_derivative
from backproplab.losses import bce_grad, bce_loss, bce_with_logits_grad, mse_grad, mse_loss

__all__ = ["LOSS_COLORS", "example_losses", "loss_curves", "loss_gradcheck_scatter"]

LOSS_COLORS = {"mse": "C0", "bce": "C3"}


def example_losses(p, y: float) -> dict:
    """Loss of ONE example and its gradients, for predictions ``p`` (any shape, in (0, 1)) and one target ``y``.

    Each entry of ``p`` is treated as its own example (batch of one), through the library's losses:
    ``{"mse", "bce"}`` the losses, ``{"dmse_dp", "dbce_dp"}`` their derivatives w.r.t. the prediction and
    ``{"dmse_dz", "dbce_dz"}`` w.r.t. the logit ``z`` when ``p = sigmoid(z)``.
    """
    p = np.atleast_1d(np.asarray(p, dtype=np.float64))
    out = {k: np.empty_like(p) for k in ("mse", "bce", "dmse_dp", "dbce_dp", "dmse_dz", "dbce_dz")}
    y1 = np.array([[float(y)]])
    for idx in np.ndindex(p.shape):
        P = np.array([[p[idx]]])
        z = np.log(P) - np.log1p(-P)  # the logit with sigmoid(z) = p
        out["mse"][idx] = mse_loss(P, y1)
        out["bce"][idx] = bce_loss(P, y1)
        out["dmse_dp"][idx] = mse_grad(P, y1)[0, 0]
        out["dbce_dp"][idx] = bce_grad(P, y1)[0, 0]
        out["dmse_dz"][idx] = (mse_grad(P, y1) * sigmoid_derivative(z))[0, 0]
        out["dbce_dz"][idx] = bce_with_logits_grad(z, y1)[0, 0]
    return out


def loss_curves(p_min: float = 0.005, p_max: float = 0.995):
    """The loss of one example as a function of its prediction, for target y = 0 and y = 1: MSE vs BCE.

    Top row: the losses against the predicted probability p. Bottom row: their gradients with respect to the
    logit z (p = sigmoid(z)), against z: MSE's gradient vanishes where the sigmoid saturates on the wrong side;
    BCE's stays p − y.
    """
    p = np.linspace(p_min, p_max, 400)
    z = np.linspace(-8, 8, 401)
    fig, axes = plt.subplots(2, 2, figsize=(10, 6.4), constrained_layout=True)
    for col, y in enumerate((0.0, 1.0)):
        values = example_losses(p, y)
        ax = axes[0, col]
        ax.plot(p, values["mse"], color=LOSS_COLORS["mse"], lw=2, label=r"MSE $(p-y)^2$")
        ax.plot(p, values["bce"], color=LOSS_COLORS["bce"], lw=2, label=r"BCE $-[y\log p+(1-y)\log(1-p)]$")
        ax.axvline(y, color="0.5", ls=":", lw=1)
        ax.set_ylim(0, 5.5)
        ax.set_xlim(0, 1)
        ax.set_xlabel("prediction p")
        ax.set_ylabel("loss of one example")
        ax.set_title(f"target y = {int(y)}")
        wrong = 0.985 if y == 0 else 0.015  # a confident, wrong prediction
        ax.annotate("confident and wrong:\nBCE → ∞, MSE ≤ 1", xy=(wrong, float(example_losses(wrong, y)["bce"][0])),
                    xytext=(0.86 if y == 0 else 0.14, 3.0), ha="right" if y == 0 else "left", fontsize=9,
                    color="0.25", arrowprops={"arrowstyle": "->", "color": "0.4"})
        ax.grid(alpha=0.3)
        ax.legend(loc="upper center", fontsize=8.5)
        ax = axes[1, col]
        grads = example_losses(sigmoid(z), y)
        ax.plot(z, grads["dmse_dz"], color=LOSS_COLORS["mse"], lw=2, label=r"MSE: $2(p-y)\,p(1-p)$")
        ax.plot(z, grads["dbce_dz"], color=LOSS_COLORS["bce"], lw=2, label=r"BCE: $p-y$")
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_xlim(z[0], z[-1])
        ax.set_ylim(-1.1, 1.1)
        ax.set_xlabel(r"logit z   ($p=\sigma(z)$)")
        ax.set_ylabel(r"$\partial\ell/\partial z$")
        ax.set_title(f"gradient w.r.t. the logit, y = {int(y)}")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right" if y == 1 else "upper left", fontsize=8.5)
    plt.close(fig)
    return fig


def loss_gradcheck_scatter(numeric, analytic, title: str = "gradient check"):
    """Analytic against numerical gradient entries, with the line y = x and the fitted slope.

    A correct gradient lies on y = x; a gradient off by a constant factor lies on a line of another slope (the
    MSE gradient without its factor 2 on the slope 1/2).
    """
    numeric = np.ravel(np.asarray(numeric, dtype=np.float64))
    analytic = np.ravel(np.asarray(analytic, dtype=np.float64))
    fig, ax = plt.subplots(figsize=(4.6, 4.2), constrained_layout=True)
    lim = 1.15 * max(float(np.abs(numeric).max()), float(np.abs(analytic).max()), 1e-12)
    line = np.array([-lim, lim])
    ax.plot(line, line, color="0.5", ls="--", lw=1, label="y = x  (correct)")
    slope = float(np.vdot(numeric, analytic) / max(np.vdot(numeric, numeric), 1e-300))
    ax.plot(line, slope * line, color="C3", lw=1, label=f"fitted slope {slope:.3g}")
    ax.scatter(numeric, analytic, color="C0", zorder=3, label="entries")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("numerical gradient (centred differences)")
    ax.set_ylabel("analytic gradient")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8.5, loc="upper left")
    plt.close(fig)
    return fig
