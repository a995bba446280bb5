"""Figures of notebook 02 (forward pass): the shapes of ``Z = X W + b`` drawn as grids, a small network with
its shapes and caches, and the standard deviation of the activations across depth for several initializations.

Every function creates its figure with ``plt.subplots``, closes it and returns it (the cell displays it once).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle, Rectangle

from backproplab.initializers import he_normal, lecun_normal, xavier_normal

__all__ = ["INIT_SCHEMES", "activation_stds", "dense_layer_figure", "init_activation_figure", "init_depth_figure",
           "network_diagram_figure"]

BLUE, ORANGE, GREEN, PURPLE, RED, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728", "#7f7f7f"


# ------------------------------------------------------------------------------------- Z = X W + b as grids
def _grid(ax, x0, y_top, rows, cols, colour, alpha=0.35, highlight=None, hl_colour=RED):
    """Draw a rows x cols grid with its top-left corner at (x0, y_top); ``highlight`` = set of (i, j) cells."""
    for i in range(rows):
        for j in range(cols):
            on = highlight is not None and (i, j) in highlight
            ax.add_patch(Rectangle((x0 + j, y_top - i - 1), 1, 1, fc=hl_colour if on else colour,
                                   alpha=0.75 if on else alpha, ec="white", lw=1.5))
    ax.add_patch(Rectangle((x0, y_top - rows), cols, rows, fc="none", ec="black", lw=1.2))


def dense_layer_figure(m: int = 4, n_in: int = 3, n_out: int = 2):
    """``Z = X @ W + b`` drawn to scale: ``X`` ``(m, n_in)``, ``W`` ``(n_in, n_out)``, ``b`` ``(1, n_out)``
    broadcast over the ``m`` rows (faded copies), ``Z`` ``(m, n_out)``. Red cells: ``Z[0, 0]`` is row 0 of
    ``X`` times column 0 of ``W`` plus ``b[0, 0]``."""
    m, n_in, n_out = int(m), int(n_in), int(n_out)
    gap = 1.6
    top = max(m, n_in)
    xs = {}
    x = 0.0
    for name, width in (("X", n_in), ("W", n_out), ("b", n_out), ("Z", n_out)):
        xs[name] = x
        x += width + gap
    width_total = x - gap
    fig, ax = plt.subplots(figsize=(max(6.0, 0.42 * width_total + 1.5), max(2.8, 0.42 * top + 1.9)),
                           constrained_layout=True)
    _grid(ax, xs["X"], top, m, n_in, BLUE, highlight={(0, j) for j in range(n_in)})
    _grid(ax, xs["W"], top, n_in, n_out, ORANGE, highlight={(i, 0) for i in range(n_in)})
    _grid(ax, xs["b"], top, 1, n_out, GREEN, highlight={(0, 0)})
    for i in range(1, m):  # broadcasting: b is reused for every row
        for j in range(n_out):
            ax.add_patch(Rectangle((xs["b"] + j, top - i - 1), 1, 1, fc=GREEN, alpha=0.12, ec="white", lw=1.5,
                                   ls="--"))
    _grid(ax, xs["Z"], top, m, n_out, PURPLE, highlight={(0, 0)})
    mid = top - 0.5
    for sym, name in (("@", "W"), ("+", "b"), ("=", "Z")):
        ax.text(xs[name] - gap / 2, mid, sym, ha="center", va="center", fontsize=16, weight="bold")
    labels = (("X", n_in, f"X  ({m}, {n_in})\n(m, n_in)", BLUE),
              ("W", n_out, f"W  ({n_in}, {n_out})\n(n_in, n_out)", ORANGE),
              ("b", n_out, f"b  (1, {n_out})\n(1, n_out)", GREEN),
              ("Z", n_out, f"Z  ({m}, {n_out})\n(m, n_out)", PURPLE))
    for name, width, text, colour in labels:
        ax.text(xs[name] + width / 2, top + 0.35, text, ha="center", va="bottom", fontsize=10, color=colour,
                weight="bold")
    if m > 1:
        ax.text(xs["b"] + n_out / 2, top - m - 0.3, "broadcast\nover m rows", ha="center", va="top",
                fontsize=8.5, color=GREEN)
    ax.text(width_total / 2, -0.9 - (0.5 if m > 1 else 0), "Z[0, 0] = X[0, :] · W[:, 0] + b[0, 0]  (red cells)",
            ha="center", va="top", fontsize=9.5, color=RED)
    ax.set_xlim(-0.5, width_total + 0.5)
    ax.set_ylim(-2.0, top + 1.6)
    ax.set_aspect("equal")
    ax.axis("off")
    plt.close(fig)
    return fig


# ------------------------------------------------------------------------------------------ network diagram
def network_diagram_figure(sizes=(3, 4, 2)):
    """A fully connected network with widths ``sizes`` (ReLU hidden layers, linear output), labelled with the
    row-convention shapes of every array and what each layer caches for the backward pass."""
    sizes = [int(s) for s in sizes]
    L = len(sizes) - 1
    fig, ax = plt.subplots(figsize=(2.9 * L + 2.4, 4.6), constrained_layout=True)
    xs = [2.9 * l for l in range(L + 1)]
    height = max(sizes)
    # unit spacing, each layer centred vertically
    pos = [(height - 1) / 2 + (np.arange(n)[::-1] - (n - 1) / 2) for n in sizes]
    for l in range(L):
        for y0 in pos[l]:
            for y1 in pos[l + 1]:
                ax.plot([xs[l], xs[l + 1]], [y0, y1], color=GREY, alpha=0.35, lw=1)
    for l, ys in enumerate(pos):
        colour = BLUE if l == 0 else (PURPLE if l == L else ORANGE)
        for y in ys:
            ax.add_patch(Circle((xs[l], y), 0.22, fc=colour, ec="black", lw=1, zorder=3))
        if l == 0:
            text = f"X\n(m, {sizes[0]})"
        elif l == L:
            text = f"Ŷ = Z{l}\n(m, {sizes[l]})"
        else:
            text = f"A{l} = ReLU(Z{l})\n(m, {sizes[l]})"
        ax.text(xs[l], height - 0.35, text, ha="center", va="bottom", fontsize=10, color=colour, weight="bold")
    for l in range(1, L + 1):
        xm = (xs[l - 1] + xs[l]) / 2
        ax.text(xm, -0.75, f"W{l} ({sizes[l - 1]}, {sizes[l]})\nb{l} (1, {sizes[l]})", ha="center", va="top",
                fontsize=9.5)
        prev = "X" if l == 1 else f"A{l - 1}"
        ax.text(xm, -1.75, f"cache {l}:\n({prev}, W{l}, b{l}), Z{l}", ha="center", va="top", fontsize=9,
                color=RED)
    ax.set_xlim(-1.4, xs[-1] + 1.4)
    ax.set_ylim(-2.9, height + 0.9)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("Forward pass, left to right; each layer keeps its input and its Z for the backward pass",
                 fontsize=10.5)
    plt.close(fig)
    return fig


# ------------------------------------------------------------------------------------------- initialization
def _std_one(n_in, n_out, rng):
    return rng.standard_normal((n_in, n_out))


def _std_small(n_in, n_out, rng):
    return 0.01 * rng.standard_normal((n_in, n_out))


#: label -> initializer ``(n_in, n_out, rng) -> W`` compared in notebook 02.
INIT_SCHEMES = {
    "N(0, 1)  (std 1)": _std_one,
    "N(0, 0.01²)  (std 0.01)": _std_small,
    "Xavier  (std √(2/(n_in+n_out)))": xavier_normal,
    "LeCun  (std √(1/n_in))": lecun_normal,
    "He  (std √(2/n_in))": he_normal,
}
_COLOURS = {"N(0, 1)": RED, "N(0, 0.01²)": GREY, "Xavier": GREEN, "LeCun": PURPLE, "He": BLUE}


def _activate(Z, activation):
    return np.maximum(Z, 0.0) if activation == "relu" else np.tanh(Z)


def activation_stds(init, activation: str = "relu", depth: int = 10, width: int = 128, m: int = 64,
                    seed: int = 0, keep=()):
    """Push ``X ~ N(0, 1)`` ``(m, width)`` through ``depth`` dense layers (zero biases) initialised by ``init``;
    return ``(stds, kept)``: the std of ``A_l`` for ``l = 0..depth`` (``A_0 = X``) and the activations of the
    layers listed in ``keep``."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, width))
    stds, kept = [float(A.std())], {}
    for l in range(1, depth + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            A = _activate(A @ init(width, width, rng), activation)
        stds.append(float(A.std()))
        if l in keep:
            kept[l] = A
    return np.array(stds), kept


def init_depth_figure(depth: int = 10, width: int = 128):
    """Std of the activations layer by layer for each scheme of :data:`INIT_SCHEMES`, with ReLU (left) and
    tanh (right) hidden layers of ``width`` units (log scale)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), layout="constrained")
    layers = np.arange(depth + 1)
    for ax, activation in zip(axes, ("relu", "tanh"), strict=True):
        for label, init in INIT_SCHEMES.items():
            stds, _ = activation_stds(init, activation, depth, width)
            colour = _COLOURS[label.split("  ")[0]]
            style = dict(ms=4, color=colour, label=label, ls="--" if label.startswith("LeCun") else "-")
            if activation == "relu":
                ax.semilogy(layers, np.maximum(stds, 1e-30), "o", **style)
            else:
                ax.plot(layers, stds, "o", **style)
        ax.set_xlabel("layer l  (0 = input X)")
        ax.grid(alpha=0.3, which="major")
    axes[0].set_ylim(1e-13, 1e13)
    axes[0].set_title(f"ReLU hidden layers, width {width} (log scale)")
    axes[0].set_ylabel("std of the activations A_l")
    axes[1].set_ylim(0, 1.1)
    axes[1].set_title(f"tanh hidden layers, width {width} (linear scale)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=5, fontsize=8.5)
    fig.suptitle("Too large: ReLU activations explode, tanh saturates at ±1. Too small: they vanish. "
                 "He keeps ReLU layers at a constant scale.", fontsize=11)
    plt.close(fig)
    return fig


def init_activation_figure(init_label: str = "He  (std √(2/n_in))", activation: str = "relu", depth: int = 10,
                           width: int = 128):
    """The explorer's view: std of ``A_l`` per layer (left, log scale) and histograms of the activations of the
    first, middle and last layers (right) for one scheme of :data:`INIT_SCHEMES`. Returns ``(fig, stds)``."""
    depth = int(depth)
    shown = sorted({1, max(1, depth // 2), depth})
    stds, kept = activation_stds(INIT_SCHEMES[init_label], activation, depth, width, keep=shown)
    colour = _COLOURS[init_label.split("  ")[0]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    left.semilogy(np.arange(depth + 1), np.maximum(stds, 1e-30), "o-", color=colour)
    left.axhline(1.0, color="black", lw=0.6)
    finite = stds[np.isfinite(stds) & (stds > 0)]
    if finite.size:  # at least two decades around 1, so that a constant scale looks flat
        left.set_ylim(min(0.1, finite.min() / 2), max(10.0, finite.max() * 2))
    left.set_xlabel("layer l  (0 = input X)")
    left.set_ylabel("std of A_l")
    left.set_title(f"{init_label}, {activation}")
    left.grid(alpha=0.3, which="both")
    for k, l in enumerate(shown):
        a = kept[l].ravel()
        a = a[np.isfinite(a)]
        if activation == "tanh":  # raw values: saturation piles them up at ±1, vanishing at 0
            values, bins = a, np.linspace(-1.0, 1.0, 61)
        else:  # ReLU: the scale changes by orders of magnitude, so show the shape (values / std)
            scale = float(stds[l]) if np.isfinite(stds[l]) and stds[l] > 0 else 1.0
            values, bins = a / scale, np.linspace(0.0, 6.0, 61)
        right.hist(values, bins=bins, histtype="step", lw=1.8, density=True,
                   label=f"layer {l}: std {stds[l]:.2g}", color=plt.cm.viridis(k / 3))
    right.set_xlabel("activation value" if activation == "tanh" else "activation / its std")
    right.set_title("distribution of A_l" + ("" if activation == "tanh" else " (rescaled by its std)"))
    right.set_yscale("log")
    right.legend(fontsize=8.5)
    plt.close(fig)
    return fig, stds
