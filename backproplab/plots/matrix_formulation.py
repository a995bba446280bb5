"""Figures of notebook 06 (matrix formulation): the gradient check of a whole network, the row and column
conventions side by side, and a Monte-Carlo of the expected output of three dropout variants.

Every function builds its figure with ``plt.subplots``, closes it (``plt.close(fig)``) and returns it, so that a
notebook cell whose last expression is the call displays it exactly once.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from backproplab.gradcheck import THRESHOLDS, relative_error
from backproplab.initializers import make_rng
from backproplab.layers import dense_forward

__all__ = [
    "DROPOUT_VARIANTS",
    "dropout_expectation_figure",
    "dropout_masks_figure",
    "dropout_variant_means",
    "gradient_check_figure",
    "row_column_figure",
]

BLUE, ORANGE, GREEN, RED, GREY, PURPLE = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#7f7f7f", "#9467bd"

def inverted_mask(rng, shape, p):
    """Inverted dropout's mask: keep with probability ``p``, divide by ``p``."""
    return (rng.random(shape) < p) / p


#: name -> (label, colour, mask factory ``(rng, shape, keep_prob) -> mask``); out = X * mask.
DROPOUT_VARIANTS = {
    "inverted": ("inverted dropout: keep with p, divide by p", BLUE, inverted_mask),
    "one_minus_p": ("keep with p, divide by 1 − p", RED,
                    lambda rng, shape, p: (rng.random(shape) < p) / (1.0 - p)),
    "no_rescale": ("keep with p, no rescaling", ORANGE,
                   lambda rng, shape, p: (rng.random(shape) < p).astype(np.float64)),
}

_VERDICT_BANDS = ((1e-18, THRESHOLDS[0][0], "#e6f4ea", "excellent"), (THRESHOLDS[0][0], THRESHOLDS[1][0], "#f1f8e9",
                  "good"), (THRESHOLDS[1][0], THRESHOLDS[2][0], "#fff8e1", "suspicious"),
                  (THRESHOLDS[2][0], 10.0, "#fdecea", "bug likely"))


def gradient_check_figure(numeric: dict, candidates: dict):
    """Relative error between ``numeric`` gradients and each candidate's analytic gradients, per parameter.

    ``numeric``: ``{"dW1": array, "db1": array, ...}`` (centred differences). ``candidates``: label -> a dict
    of the same keys, or ``None`` for a function not written yet (listed in the legend, no bars). Bars on a log
    scale over the verdict bands of the course (excellent < 1e-7 < good < 1e-5 < suspicious < 1e-3 < bug
    likely).
    """
    keys = list(numeric)
    colours = [BLUE, RED, GREEN, PURPLE, ORANGE]
    fig, ax = plt.subplots(figsize=(9, 4.2), constrained_layout=True)
    for lo, hi, colour, name in _VERDICT_BANDS:
        ax.axhspan(lo, hi, color=colour, zorder=0)
        ax.text(len(keys) - 0.35, np.sqrt(max(lo, 1e-13) * min(hi, 10.0)), name, ha="left", va="center",
                fontsize=9, color="#555555")
    width = 0.8 / max(1, len(candidates))
    for j, (label, grads) in enumerate(candidates.items()):
        offset = (j - (len(candidates) - 1) / 2) * width
        if grads is None:
            ax.bar([0], [0], width=0, color=colours[j % len(colours)], label=f"{label}: not written yet")
            continue
        errs = [max(relative_error(grads[k], numeric[k]), 1e-17) for k in keys]
        bars = ax.bar(np.arange(len(keys)) + offset, errs, width=width * 0.95, color=colours[j % len(colours)],
                      label=label, zorder=2)
        for bar, err in zip(bars, errs, strict=True):
            ax.text(bar.get_x() + bar.get_width() / 2, err * 1.6, f"{err:.0e}", ha="center", va="bottom",
                    fontsize=7.5, rotation=90)
    ax.set_yscale("log")
    ax.set_ylim(1e-13, 10.0)
    ax.set_xlim(-0.6, len(keys) + 0.55)
    ax.set_xticks(range(len(keys)), keys)
    ax.set_ylabel("relative error  ‖a − n‖ / (‖a‖ + ‖n‖)")
    ax.set_title("Gradient check of the whole network: analytic vs centred differences, per parameter")
    ax.legend(loc="upper left", fontsize=9, framealpha=0.95)
    plt.close(fig)
    return fig


def _place(ax, M, x0, y0, title, vmax):
    """Draw matrix ``M`` with unit cells, top-left corner at (x0, y0) (y grows downwards), values written in."""
    rows, cols = M.shape
    ax.imshow(M, cmap="RdBu_r", vmin=-vmax, vmax=vmax, extent=(x0, x0 + cols, y0 + rows, y0),
              interpolation="nearest")
    ax.add_patch(plt.Rectangle((x0, y0), cols, rows, fill=False, lw=1.0, color="black"))
    for (i, j), value in np.ndenumerate(M):
        ax.text(x0 + j + 0.5, y0 + i + 0.5, f"{value:.1f}".replace("-0.0", "0.0"), ha="center", va="center",
                fontsize=8, color="white" if abs(value) > 0.6 * vmax else "black")
    ax.text(x0 + cols / 2, y0 - 0.25, f"{title}\n({rows}, {cols})", ha="center", va="bottom", fontsize=10)
    return x0 + cols


def row_column_figure(X, W, b):
    """The same dense layer in the two conventions, drawn to scale (one square per entry) with the shapes.

    Top (row convention, this course): ``X W + b = Z`` with ``X`` (m, n_in), ``W`` (n_in, n_out), ``b`` (1, n_out).
    Bottom (column convention): ``W_col A0 + b_col = Z_col`` with ``W_col = Wᵀ``, ``A0 = Xᵀ``, ``b_col = bᵀ``:
    every matrix is the transpose of its partner above and the product's order flips.
    """
    X, W, b = (np.asarray(a, dtype=np.float64) for a in (X, W, b))
    Z, _ = dense_forward(X, W, b)
    Z_col = W.T @ X.T + b.T
    vmax = float(max(np.abs(a).max() for a in (X, W, b, Z)))
    gap = 1.6
    top = ((X, "X"), "·", (W, "W"), "+", (b, "b"), "=", (Z, "Z"))
    bottom = ((W.T, "W_col = Wᵀ"), "·", (X.T, "A0 = Xᵀ"), "+", (b.T, "b_col = bᵀ"), "=", (Z_col, "Z_col"))
    height_top = max(M.shape[0] for M, _ in top[::2])
    y_bottom = height_top + 2.6
    fig, ax = plt.subplots(figsize=(10, 6.4), constrained_layout=True)
    widths = []
    for items, y0, label in ((top, 0.0, "row convention\n(examples are rows)"),
                             (bottom, y_bottom, "column convention\n(examples are columns)")):
        x = 0.0
        rows = max(M.shape[0] for M, _ in items[::2])
        for item in items:
            if isinstance(item, str):
                ax.text(x + gap / 2, y0 + rows / 2, item, ha="center", va="center",
                        fontsize=30 if item == "·" else 18)
                x += gap
            else:
                x = _place(ax, item[0], x, y0, item[1], vmax)
        widths.append(x)
        ax.text(-0.6, y0 + rows / 2, label, ha="right", va="center", fontsize=10)
    height = y_bottom + max(M.shape[0] for M, _ in bottom[::2])
    ax.set_xlim(-4.2, max(widths) + 0.3)
    ax.set_ylim(height + 0.3, -1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"One layer, two conventions: every matrix is the transpose of its partner, the product order "
                 f"flips (Z_col == Zᵀ: {np.allclose(Z_col, Z.T)})", fontsize=11)
    plt.close(fig)
    return fig


def dropout_variant_means(keep_probs, n: int = 20_000, x: float = 1.0, rng=None) -> dict:
    """Monte-Carlo estimate of ``E[out] / x`` for each of :data:`DROPOUT_VARIANTS` at every keep probability.

    Draws ``n`` masks per keep probability (a vector of ``n`` copies of the activation ``x``). Returns
    ``{name: array of len(keep_probs)}``.
    """
    gen = make_rng(0 if rng is None else rng)
    means = {name: [] for name in DROPOUT_VARIANTS}
    for p in np.asarray(keep_probs, dtype=np.float64):
        for name, (_, _, make_mask) in DROPOUT_VARIANTS.items():
            out = x * make_mask(gen, (n,), p)
            means[name].append(float(out.mean()) / x)
    return {k: np.array(v) for k, v in means.items()}


def dropout_expectation_figure(n: int = 20_000, rng=0):
    """Expected output of dropout divided by the activation, against the keep probability p: Monte-Carlo
    estimates (dots, ``n`` draws each) and the exact values 1, p/(1 − p) and p (lines). Only inverted dropout
    keeps the expected activation equal to the activation, which is what the network sees at test time."""
    ps = np.linspace(0.1, 0.9, 9)
    means = dropout_variant_means(ps, n=n, rng=rng)
    fine = np.linspace(0.05, 0.95, 200)
    exact = {"inverted": np.ones_like(fine), "one_minus_p": fine / (1.0 - fine), "no_rescale": fine}
    fig, ax = plt.subplots(figsize=(8, 4.4), constrained_layout=True)
    formulas = {"inverted": "1", "one_minus_p": "p / (1 − p)", "no_rescale": "p"}
    for name, (label, colour, _) in DROPOUT_VARIANTS.items():
        ax.plot(fine, exact[name], color=colour, lw=1.8, label=f"{label}: E[out]/x = {formulas[name]}")
        ax.plot(ps, means[name], "o", color=colour, ms=6, mfc="white", mew=1.8)
    ax.plot([], [], "o", color=GREY, mfc="white", mew=1.8, label=f"Monte-Carlo, {n:,} draws per point")
    ax.axhline(1.0, color="black", lw=0.6, ls=":")
    ax.set_ylim(0, 3)
    ax.set_xlim(0.05, 0.95)
    ax.set_xlabel("keep probability p")
    ax.set_ylabel("E[out] / x   (test time: 1)")
    ax.set_title("Expected activation under dropout during training")
    ax.annotate("p/(1 − p) leaves the plot:\n×9 at p = 0.9", xy=(0.75, 3.0), xytext=(0.78, 1.75), fontsize=9,
                color=RED, arrowprops=dict(arrowstyle="->", color=RED))
    ax.legend(loc="upper left", fontsize=9)
    ax.grid(alpha=0.3)
    plt.close(fig)
    return fig


def dropout_masks_figure(A, keep_prob: float, seed: int = 0):
    """For the explorer: the activations ``A`` (m, n), the inverted-dropout mask drawn with ``keep_prob`` and
    ``rng = default_rng(seed)``, and the output ``A * mask``, as three heatmaps on one colour scale.

    Returns ``(fig, stats)`` with ``stats = {"kept": fraction kept, "mean_A": mean of A, name: mean of the
    output for each of DROPOUT_VARIANTS}`` (the same uniform draws for every variant).
    """
    A = np.asarray(A, dtype=np.float64)
    u = np.random.default_rng(seed).random(A.shape)
    keep = u < keep_prob
    mask = keep / keep_prob
    out = A * mask
    stats = {"kept": float(keep.mean()), "mean_A": float(A.mean()),
             "inverted": float(out.mean()), "one_minus_p": float((A * keep).mean() / (1.0 - keep_prob))
             if keep_prob < 1 else float("inf"), "no_rescale": float((A * keep).mean())}
    vmax = float(max(A.max(), out.max(), 1e-12))
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.0), constrained_layout=True)
    panels = ((A, "activations A", "viridis", 0, vmax), (mask, f"mask: 0 or 1/p = {1 / keep_prob:.2f}", "Greys",
              0, max(1.0 / keep_prob, 1.0)), (out, "out = A * mask", "viridis", 0, vmax))
    for ax, (M, title, cmap, lo, hi) in zip(axes, panels, strict=True):
        im = ax.imshow(M, cmap=cmap, vmin=lo, vmax=hi, aspect="auto", interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("unit")
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, shrink=0.85)
    axes[0].set_ylabel("example")
    plt.close(fig)
    return fig, stats
