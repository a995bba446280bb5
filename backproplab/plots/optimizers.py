"""Figures of notebook 07 (optimizers): optimizer trajectories on 2-D loss surfaces, Adam's bias correction, and a
small network trained with each update rule (loss curves and decision boundaries).

Update rules have the CS231n signature ``update(w, dw, config) -> (next_w, config)``. The notebook passes the
learner's own functions; :func:`optimizer_or_reference` falls back to the reference while one is not written
yet, so that every figure can be drawn from the first run of the notebook.

Every figure function builds its figure with ``plt.subplots``, closes it (``plt.close(fig)``) and returns it.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FormatStrFormatter, NullLocator

from backproplab.network import mlp_forward
from backproplab.trajectories import SURFACES, Surface, _surface, optimizer_or_reference, optimizer_path

__all__ = [
    "OPTIMIZER_COLORS",
    "SURFACES",
    "adam_bias_correction_figure",
    "optimizer_or_reference",
    "optimizer_path",
    "optimizer_paths_figure",
    "optimizer_training_figure",
]

OPTIMIZER_COLORS = {"sgd": "#1f77b4", "sgd_momentum": "#ff7f0e", "rmsprop": "#2ca02c", "adam": "#d62728"}


def _contours(ax, s: Surface):
    x0, x1, y0, y1 = s.extent
    gx, gy = np.meshgrid(np.linspace(x0, x1, 160), np.linspace(y0, y1, 160))
    fz = s.f(np.array([gx, gy]))
    ax.contourf(gx, gy, fz, levels=np.concatenate([[0], s.levels, [fz.max()]]), cmap="Blues_r", alpha=0.35)
    ax.contour(gx, gy, fz, levels=s.levels, colors="#4a6fa5", linewidths=0.6)
    ax.plot(*s.minimum, marker="*", color="black", ms=14, zorder=5, label="minimum")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("w₁")
    ax.set_ylabel("w₂")


def optimizer_paths_figure(paths: dict, surface="elongated", title: str | None = None, styles: dict | None = None,
                           ax=None):
    """Trajectories on the contour plot of a surface. ``paths``: label -> array (k, 2) from :func:`optimizer_path`;
    ``styles``: label -> matplotlib keyword arguments (colour, line style...). The legend gives each path's final
    loss. With ``ax`` given, draws into it and returns its figure without closing it."""
    s = _surface(surface)
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(8, 5), constrained_layout=True)
    else:
        fig = ax.figure
    _contours(ax, s)
    ax.plot(*s.start, "o", color="black", ms=6, zorder=5)
    palette = list(OPTIMIZER_COLORS.values()) + ["#9467bd", "#8c564b"]
    for i, (label, path) in enumerate(paths.items()):
        style = {"color": palette[i % len(palette)], "lw": 1.8, "marker": "o", "ms": 2.5}
        style.update((styles or {}).get(label, {}))
        final = s.f(path[-1]) if np.all(np.isfinite(path[-1])) else float("nan")
        if not np.isfinite(final) or final > s.f(path[0]):
            note = f"diverges (loss grows to {final:.2g} in {len(path) - 1} steps)"
        else:
            note = f"loss {final:.2g} after {len(path) - 1} steps"
        ax.plot(path[:, 0], path[:, 1], label=f"{label}: {note}", zorder=3, **style)
    ax.set_title(title or s.title, fontsize=11)
    ax.legend(loc="lower right", fontsize=8.5, framealpha=0.95)
    if own:
        plt.close(fig)
    return fig


def adam_bias_correction_figure(beta1: float = 0.9, beta2: float = 0.999, g: float = 1.0):
    """Adam's moments for a constant gradient ``g``, starting from m = v = 0.

    Left: m_t = (1 − β₁ᵗ) g against m̂_t = g. Middle: v_t = (1 − β₂ᵗ) g² against v̂_t = g² (log time axis).
    Right: the uncorrected step m/√v divided by the corrected one m̂/√v̂, with m alone uncorrected (too small),
    v alone uncorrected (too large) and both: with the default betas the first hundreds of steps are several
    times too LARGE, because v's bias (β₂ close to 1) lasts much longer than m's.
    """
    t = np.unique(np.concatenate([np.arange(1, 51), np.logspace(0, 4, 300).round()])).astype(np.float64)
    m, v = (1 - beta1 ** t) * g, (1 - beta2 ** t) * g * g
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), constrained_layout=True)
    short = t <= 50
    axes[0].plot(t[short], m[short], "o-", ms=3, color="#ff7f0e", label="m_t (biased towards 0)")
    axes[0].plot(t[short], m[short] / (1 - beta1 ** t[short]), color="#1f77b4", lw=2, label="m̂_t = m_t / (1 − β₁ᵗ)")
    axes[0].set_title(f"first moment, β₁ = {beta1}", fontsize=10)
    axes[0].set_xlabel("step t")
    axes[0].set_ylim(0, 1.15 * g)
    axes[1].semilogx(t, v, color="#ff7f0e", label="v_t (biased towards 0)")
    axes[1].semilogx(t, v / (1 - beta2 ** t), color="#1f77b4", lw=2, label="v̂_t = v_t / (1 − β₂ᵗ)")
    axes[1].set_title(f"second moment, β₂ = {beta2}", fontsize=10)
    axes[1].set_xlabel("step t (log scale)")
    axes[1].set_ylim(0, 1.15 * g * g)
    only_m = 1 - beta1 ** t
    only_v = 1 / np.sqrt(1 - beta2 ** t)
    both = only_m * only_v
    axes[2].loglog(t, only_m, color="#2ca02c", ls="--", label="m uncorrected: × (1 − β₁ᵗ)  (too small)")
    axes[2].loglog(t, only_v, color="#9467bd", ls="--", label="v uncorrected: × 1/√(1 − β₂ᵗ)  (too large)")
    axes[2].loglog(t, both, color="#d62728", lw=2, label="neither corrected")
    k = int(np.argmax(both))
    axes[2].annotate(f"×{both[k]:.1f} at t = {int(t[k])}", (t[k], both[k]), xytext=(150.0, 0.3),
                     arrowprops=dict(arrowstyle="->", color="#d62728"), color="#d62728", fontsize=9)
    axes[2].axhline(1.0, color="black", lw=0.8)
    axes[2].set_ylim(0.08, 60)
    axes[2].set_title("uncorrected step ÷ corrected step", fontsize=10)
    axes[2].set_xlabel("step t (log scale)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right" if ax is not axes[2] else "upper right")
    # plain tick labels and no minor ticks on the log axes: much faster to lay out than mathtext powers of ten
    for axis in (axes[1].xaxis, axes[2].xaxis, axes[2].yaxis):
        axis.set_major_formatter(FormatStrFormatter("%g"))
        axis.set_minor_locator(NullLocator())
    plt.close(fig)
    return fig


def classifier_probabilities(params, points, hidden: str = "relu") -> np.ndarray:
    """The probability ``(len(points),)`` a sigmoid-output MLP with ``params`` predicts at ``points`` (m, n_0)."""
    return mlp_forward(points, params, hidden=hidden, output="sigmoid")[0].ravel()


def optimizer_training_figure(X, y, results: dict, hidden: str = "relu"):
    """Training curves and decision boundaries of a binary classifier trained with several optimizers.

    ``X`` (m, 2) inputs, ``y`` (m, 1) labels in {0, 1}; ``results``: label -> ``(params, losses)`` with the
    trained MLP's parameters (sigmoid output, ``hidden`` activation) and the loss at every step. Top: the loss
    curves (log scale). Bottom: one panel per optimizer, the predicted probability on a grid, the 0.5
    contour and the training points, with the training accuracy.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).ravel()
    n = len(results)
    fig = plt.figure(figsize=(3.0 * max(n, 3), 6.6), constrained_layout=True)
    grid = fig.add_gridspec(2, n, height_ratios=[1.0, 1.15])
    top = fig.add_subplot(grid[0, :])
    pad = 0.4
    gx, gy = np.meshgrid(np.linspace(X[:, 0].min() - pad, X[:, 0].max() + pad, 110),
                         np.linspace(X[:, 1].min() - pad, X[:, 1].max() + pad, 110))
    points = np.c_[gx.ravel(), gy.ravel()]
    palette = list(OPTIMIZER_COLORS.values()) + ["#9467bd", "#8c564b"]
    for i, (label, (params, losses)) in enumerate(results.items()):
        colour = palette[i % len(palette)]
        top.semilogy(np.arange(1, len(losses) + 1), losses, color=colour, lw=1.8,
                     label=f"{label}: final loss {losses[-1]:.3f}")
        ax = fig.add_subplot(grid[1, i])
        prob = classifier_probabilities(params, points, hidden).reshape(gx.shape)
        ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55)
        ax.contour(gx, gy, prob, levels=[0.5], colors="black", linewidths=1.2)
        pred = classifier_probabilities(params, X, hidden) > 0.5
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", s=9, edgecolors="black", linewidths=0.3)
        ax.set_title(f"{label}\naccuracy {np.mean(pred == (y > 0.5)):.0%}", fontsize=10, color=colour)
        ax.set_xticks([])
        ax.set_yticks([])
    top.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    top.yaxis.set_minor_locator(NullLocator())
    lo = min(min(losses) for _, losses in results.values())
    hi = max(max(losses) for _, losses in results.values())
    top.set_yticks([t for t in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0) if lo / 2 <= t <= 2 * hi])
    top.set_xlabel("step (full batch)")
    top.set_ylabel("training loss (BCE)")
    top.set_title("The same network, the same initial weights, four update rules")
    top.grid(alpha=0.3)
    top.legend(fontsize=9)
    plt.close(fig)
    return fig
