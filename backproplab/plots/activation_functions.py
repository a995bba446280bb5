"""Figures of notebook 04 (activation functions).

Every function builds its figure with ``plt.subplots``, closes it (``plt.close(fig)``) and returns it, so that a
notebook cell whose last expression is the call displays it exactly once.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from backproplab.activations import (
    relu,
    relu_derivative,
    sigmoid,
    sigmoid_derivative,
    softmax,
    softmax_jacobian,
    tanh,
    tanh_derivative,
)
from backproplab.initializers import make_rng
from backproplab.network import init_mlp, mlp_loss_and_grads

__all__ = [
    "ACTIVATION_COLORS",
    "INIT_CHOICES",
    "activation_curves",
    "layer_gradient_norms",
    "softmax_jacobian_heatmap",
    "vanishing_gradients",
]

ACTIVATION_COLORS = {"sigmoid": "C0", "tanh": "C1", "relu": "C2"}

#: Initializations offered by :func:`layer_gradient_norms`: name -> (label, standard deviation of W (n_in, n_out)).
INIT_CHOICES = {
    "xavier": ("Xavier: std √(2/(n_in + n_out))", lambda n_in, n_out: np.sqrt(2.0 / (n_in + n_out))),
    "he": ("He: std √(2/n_in)", lambda n_in, n_out: np.sqrt(2.0 / n_in)),
    "small": ("small: std 0.01", lambda n_in, n_out: 0.01),
    "large": ("large: std 1", lambda n_in, n_out: 1.0),
}


def activation_curves(z_min: float = -4.0, z_max: float = 4.0):
    """Sigmoid, tanh and ReLU (solid) with their derivatives w.r.t. z (dashed), one panel each.

    ReLU's derivative is drawn as two pieces with the convention ReLU'(0) = 0 marked (filled dot at 0, open
    circle at 1); the maxima of σ' (1/4) and tanh' (1) are annotated.
    """
    z = np.linspace(z_min, z_max, 801)  # odd count: z = 0 is a sample
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), constrained_layout=True)
    panels = [
        ("sigmoid", sigmoid, sigmoid_derivative, r"$\sigma(z)$", r"$\sigma'(z)=\sigma(1-\sigma)$", (-0.1, 1.1)),
        ("tanh", tanh, tanh_derivative, r"$\tanh(z)$", r"$\tanh'(z)=1-\tanh^2$", (-1.15, 1.15)),
        ("relu", relu, relu_derivative, r"ReLU$(z)=\max(0,z)$", r"ReLU$'(z)$", (-0.3, 2.2)),
    ]
    for ax, (name, f, df, label, dlabel, ylim) in zip(axes, panels, strict=True):
        color = ACTIVATION_COLORS[name]
        ax.axhline(0, color="0.75", lw=0.8)
        ax.axvline(0, color="0.75", lw=0.8)
        ax.plot(z, f(z), color=color, lw=2, label=label)
        if name == "relu":
            neg, pos = z[z < 0], z[z > 0]
            ax.plot(neg, np.zeros_like(neg), color="k", ls="--", lw=1.6, label=dlabel)
            ax.plot(pos, np.ones_like(pos), color="k", ls="--", lw=1.6)
            ax.plot([0], [0], "o", color="k", ms=6)
            ax.plot([0], [1], "o", mfc="white", mec="k", ms=6)
            ax.annotate("ReLU'(0) = 0\n(convention)", xy=(0, 0), xytext=(-3.6, 0.5),
                        arrowprops={"arrowstyle": "->", "color": "0.3"}, fontsize=9)
        else:
            ax.plot(z, df(z), color="k", ls="--", lw=1.6, label=dlabel)
            peak = float(df(0.0))
            ax.annotate(f"max {'1/4' if name == 'sigmoid' else '1'} at z = 0", xy=(0, peak),
                        xytext=(0.9, 0.37) if name == "sigmoid" else (1.4, 0.42),
                        arrowprops={"arrowstyle": "->", "color": "0.3"}, fontsize=9)
        ax.set_ylim(*ylim)
        ax.set_xlim(z_min, z_max)
        ax.set_xlabel("pre-activation z")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8.5, framealpha=0.9)
    plt.close(fig)
    return fig


def softmax_jacobian_heatmap(z, ax_pair=None):
    """The softmax of one row ``z`` ``(K,)`` as bars, next to its Jacobian ``J = diag(s) − s sᵀ`` ``(K, K)``.

    The heat map uses a diverging colour scale centred at 0 and prints each entry; its rows sum to 0.
    ``ax_pair``: two Axes to draw into (the caller then owns, and closes, their figure).
    """
    z = np.asarray(z, dtype=np.float64)
    s = softmax(z)
    J = softmax_jacobian(z)
    K = len(z)
    if ax_pair is None:
        fig, (ax_s, ax_j) = plt.subplots(1, 2, figsize=(9.5, 3.8), constrained_layout=True,
                                         gridspec_kw={"width_ratios": [1, 1.25]})
    else:
        ax_s, ax_j = ax_pair
        fig = ax_s.figure
    ticks = np.arange(K)
    ax_s.bar(ticks, s, color="C0")
    for k in range(K):
        ax_s.text(k, s[k] + 0.02, f"{s[k]:.2f}", ha="center", va="bottom", fontsize=9)
    ax_s.set_xticks(ticks, [f"{k}\nz={z[k]:.2g}" for k in range(K)])
    ax_s.set_ylim(0, 1.12)
    ax_s.set_ylabel("$s_k$")
    ax_s.set_title("s = softmax(z)   (sums to 1)")
    lim = 0.25  # |J_ij| <= 1/4 always: a fixed scale shows saturation as fading colour
    im = ax_j.imshow(J, cmap="RdBu_r", vmin=-lim, vmax=lim)
    for i in range(K):
        for j in range(K):
            v = J[i, j]
            text = f"{v:+.3f}" if abs(v) >= 5e-4 or v == 0 else f"{v:+.0e}"
            ax_j.text(j, i, text, ha="center", va="center", fontsize=8.5,
                      color="white" if abs(v) > 0.6 * lim else "black")
    ax_j.set_xticks(ticks)
    ax_j.set_yticks(ticks)
    ax_j.set_xlabel("j  (logit $z_j$)")
    ax_j.set_ylabel("i  (output $s_i$)")
    ax_j.set_title(r"$J_{ij}=\partial s_i/\partial z_j=s_i(\delta_{ij}-s_j)$")
    fig.colorbar(im, ax=ax_j, shrink=0.85)
    if ax_pair is None:
        plt.close(fig)
    return fig


def layer_gradient_norms(depth: int = 10, activation: str = "sigmoid", init: str = "xavier", width: int = 64,
                         m: int = 64, seed: int = 0):
    """‖∂ℒ/∂W_l‖ (Frobenius) for every layer l = 1..depth of an MLP at initialization -> array ``(depth,)``.

    The network has ``depth`` dense layers of ``width`` units (``depth − 1`` hidden layers with ``activation``,
    a linear output of one unit), weights drawn with ``init`` (a key of :data:`INIT_CHOICES`), zero biases;
    the loss is the MSE of random targets for ``m`` random inputs. Gradients come from
    :func:`backproplab.network.mlp_loss_and_grads`.
    """
    if init not in INIT_CHOICES:
        raise ValueError(f"init must be one of {', '.join(INIT_CHOICES)}, got {init!r}")
    std = INIT_CHOICES[init][1]
    rng = make_rng(seed)
    sizes = [width] * depth + [1]
    params = init_mlp(sizes, rng=rng, init=lambda n_in, n_out, g: g.normal(0.0, std(n_in, n_out),
                                                                              size=(n_in, n_out)))
    X = rng.standard_normal((m, width))
    Y = rng.standard_normal((m, 1))
    _, grads = mlp_loss_and_grads(params, X, Y, hidden=activation, output="linear", loss="mse")
    return np.array([np.linalg.norm(grads[f"dW{l}"]) for l in range(1, depth + 1)])


def vanishing_gradients(depth: int = 20, configs=(("sigmoid", "xavier"), ("tanh", "xavier"), ("relu", "he")),
                        ax=None, width: int = 64, seed: int = 0):
    """Gradient norm per layer on a log scale, one line per ``(activation, init)`` in ``configs``.

    Layer 1 (left) is the first layer, farthest from the loss: where a line drops to the left, the gradient
    vanishes on its way back. ``ax``: an Axes to draw into (the caller then owns, and closes, its figure).
    """
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(7.5, 3.8), constrained_layout=True)
    else:
        fig = ax.figure
    layers = np.arange(1, depth + 1)
    styles = {"xavier": "-", "he": "-", "small": ":", "large": "--"}
    for activation, init in configs:
        norms = layer_gradient_norms(depth, activation, init, width=width, seed=seed)
        ax.semilogy(layers, np.maximum(norms, 1e-300), marker="o", ms=3.5, ls=styles.get(init, "-"),
                    color=ACTIVATION_COLORS.get(activation, "k"), label=f"{activation}, {INIT_CHOICES[init][0]}")
    ax.set_xlabel("layer l   (1 = first layer, farthest from the loss)")
    ax.set_ylabel(r"$\|\partial ℒ/\partial W_l\|$  (log scale)")
    ax.set_title(f"Gradient norm per layer at initialization, {depth} layers of width {width}")
    ax.set_xlim(0.5, depth + 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.margins(y=0.08)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8.5, loc="best")
    if own:
        plt.close(fig)
    return fig
