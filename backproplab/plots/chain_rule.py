"""Figures of notebook 01 (the chain rule): sin(x²) and the two factors of its derivative, the error of finite
differences against the step h, and the computational graph of ``f = y · sin(x·y + x)`` with its gradients.

Every function creates its figure with ``plt.subplots``, closes it and returns it (the cell displays it once).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch

from backproplab.checks.chain_rule import graph_forward, graph_gradients
from backproplab.gradcheck import numerical_gradient

__all__ = ["chain_rule_figure", "chain_rule_panels", "computational_graph_figure", "finite_difference_error_figure"]

BLUE, ORANGE, GREEN, RED, GREY = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#7f7f7f"


def _sin_sq_parts(x):
    """g = x², dg/dx = 2x, df/dg = cos(g), df/dx = cos(x²)·2x."""
    g = x ** 2
    return g, 2.0 * x, np.cos(g), np.cos(g) * 2.0 * x


def chain_rule_figure(x_min: float = -2.0, x_max: float = 2.0, n_fd: int = 17):
    """``f(g(x)) = sin(x²)`` with ``g(x) = x²`` (top), and below its derivative ``cos(x²) · 2x`` with the two
    factors ``dg/dx = 2x`` and ``df/dg = cos(g(x))`` and ``n_fd`` centred finite-difference values (markers)."""
    x = np.linspace(x_min, x_max, 400)
    g, dg, df_dg, df_dx = _sin_sq_parts(x)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.4), sharex=True, constrained_layout=True)
    top.plot(x, g, color=GREY, ls="--", label="inner  g(x) = x²")
    top.plot(x, np.sin(g), color=BLUE, lw=2, label="composition  f(g(x)) = sin(x²)")
    top.set_ylim(-1.3, 4.2)
    top.set_ylabel("value")
    top.set_title("f(g(x)) = sin(x²): the outer function f = sin applied to the inner g(x) = x²")
    top.legend(loc="upper center")

    bottom.plot(x, dg, color=GREY, ls="--", label="inner factor  dg/dx = 2x")
    bottom.plot(x, df_dg, color=ORANGE, ls="-.", label="outer factor  df/dg = cos(g(x)) = cos(x²)")
    bottom.plot(x, df_dx, color=BLUE, lw=2, label="product  df/dx = cos(x²) · 2x")
    xs = np.linspace(x_min, x_max, n_fd)
    fd = [float(numerical_gradient(lambda t: np.sin(t ** 2), xi)) for xi in xs]
    bottom.plot(xs, fd, "o", color=RED, ms=5, label="centred finite difference (h = 1e-5)")
    bottom.axhline(0, color="black", lw=0.6)
    bottom.set_ylim(-4.5, 4.5)
    bottom.set_xlabel("x")
    bottom.set_ylabel("derivative")
    bottom.set_title("chain rule: df/dx = df/dg · dg/dx, the outer derivative evaluated at g(x)")
    bottom.legend(loc="lower left", fontsize=8.5, ncol=2)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    plt.close(fig)
    return fig


def chain_rule_panels(x0: float, h: float = 1e-5):
    """Three panels at the point ``x0`` for the explorer: ``g(x) = x²`` with its tangent (slope dg/dx), ``f(u) =
    sin u`` with its tangent at ``u = g(x0)`` (slope df/dg), and ``sin(x²)`` with its tangent (slope = product).

    Returns ``(fig, parts)`` with ``parts = {"g", "dg_dx", "df_dg", "product", "finite_difference"}``.
    """
    g0, dg0, df_dg0, prod0 = (float(v) for v in _sin_sq_parts(np.float64(x0)))
    fd = float(numerical_gradient(lambda t: np.sin(t ** 2), x0, h))
    x = np.linspace(-2.0, 2.0, 300)
    u = np.linspace(0.0, 4.0, 300)
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4), constrained_layout=True)
    panels = (
        (axes[0], x, x ** 2, x0, g0, dg0, GREY, "inner g(x) = x²", f"slope dg/dx = 2x = {dg0:.3f}", "x"),
        (axes[1], u, np.sin(u), g0, np.sin(g0), df_dg0, ORANGE, "outer f(u) = sin u, at u = g(x)",
         f"slope df/du = cos u = {df_dg0:.3f}", "u"),
        (axes[2], x, np.sin(x ** 2), x0, np.sin(g0), prod0, BLUE, "composition sin(x²)",
         f"slope = {df_dg0:.3f} × {dg0:.3f} = {prod0:.3f}", "x"),
    )
    for ax, t, y, t0, y0, slope, colour, title, label, xlabel in panels:
        ax.plot(t, y, color=colour, lw=2)
        half = 0.35 * (t[-1] - t[0]) / 4
        tt = np.array([t0 - half, t0 + half])
        ax.plot(tt, y0 + slope * (tt - t0), color=RED, lw=2, label=label)
        ax.plot([t0], [y0], "o", color=RED)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.legend(loc="upper center", fontsize=8.5)
        ax.grid(alpha=0.3)
    axes[0].set_ylim(-0.5, 4.8)
    axes[1].set_ylim(-1.6, 1.9)
    axes[2].set_ylim(-1.6, 1.9)
    plt.close(fig)
    parts = {"g": g0, "dg_dx": dg0, "df_dg": df_dg0, "product": prod0, "finite_difference": fd}
    return fig, parts


def finite_difference_error_figure(f=np.sin, df=np.cos, x: float = 1.0, label: str = "sin"):
    """Log-log plot of the error of the forward and centred differences of ``f`` at ``x`` against the step h,
    with the slopes h and h² of the truncation error and the rise of the round-off error ε/h for tiny h."""
    hs = np.logspace(-15, 0, 61)
    exact = float(df(x))
    fwd = np.array([abs((f(x + h) - f(x)) / h - exact) for h in hs])
    cen = np.array([abs((f(x + h) - f(x - h)) / (2 * h) - exact) for h in hs])
    floor = 1e-18
    fig, ax = plt.subplots(figsize=(9, 6), constrained_layout=True)
    ax.loglog(hs, np.maximum(fwd, floor), "o-", ms=3, color=ORANGE, label="forward  (f(x+h) − f(x)) / h")
    ax.loglog(hs, np.maximum(cen, floor), "o-", ms=3, color=BLUE, label="centred  (f(x+h) − f(x−h)) / (2h)")
    big = hs[hs >= 1e-5]
    ax.loglog(big, 10 * 0.5 * abs(float(np.sin(x))) * big, ":", color=ORANGE, lw=2,
              label="guide: slope 1, error ∝ h")
    big = hs[hs >= 1e-4]
    ax.loglog(big, 10 * abs(float(np.cos(x))) / 6 * big ** 2, ":", color=BLUE, lw=2,
              label="guide: slope 2, error ∝ h²")
    eps = np.finfo(float).eps
    small = hs[hs <= 1e-5]
    ax.loglog(small, eps / small, "--", color=GREY, lw=1, label="round-off ≈ ε / h  (ε = 2.2e-16)")
    for h_best, colour, text, y_text, ha, shift in (
            (np.sqrt(eps), ORANGE, "forward: best h ≈ √ε ≈ 1e-8", 3e-13, "right", 0.7),
            (eps ** (1 / 3), BLUE, "centred: best h ≈ ∛ε ≈ 6e-6", 3e-14, "left", 1.4)):
        ax.axvline(h_best, color=colour, ls=":", lw=1)
        ax.text(h_best * shift, y_text, text, color=colour, fontsize=9, ha=ha)
    ax.text(1e-13, 1e-1, "round-off wins\n(h too small)", fontsize=9, color="#333333")
    ax.text(2e-3, 1e-11, "truncation wins\n(h too large)", fontsize=9, color="#333333")
    ax.set_ylim(1e-15, 1e1)
    ax.set_xlabel("step h")
    ax.set_ylabel(f"|numerical − exact| derivative of {label} at x = {x:g}")
    ax.set_title("Centred differences: error ∝ h² instead of h, and a smaller best error")
    ax.grid(alpha=0.3, which="major")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, fontsize=8.5)
    plt.close(fig)
    return fig


# ------------------------------------------------------------------------------------------ the graph
_NODES = {  # name: (position, label)
    "x": ((0.0, 2.0), "x"),
    "y": ((0.0, 0.0), "y"),
    "a": ((2.6, 1.0), "a = x · y"),
    "b": ((5.0, 2.0), "b = a + x"),
    "c": ((7.4, 2.0), "c = sin(b)"),
    "f": ((9.8, 1.0), "f = c · y"),
}
_EDGES = (("x", "a"), ("y", "a"), ("a", "b"), ("x", "b"), ("b", "c"), ("c", "f"), ("y", "f"))


def computational_graph_figure(x: float = 0.5, y: float = 1.0):
    """The graph ``a = x·y, b = a + x, c = sin(b), f = c·y``: each node shows its forward value (black) and
    ``∂f/∂node`` (red); the edges out of ``x`` and ``y`` carry their gradient contributions, which add up."""
    v = graph_forward(x, y)
    g = graph_gradients(x, y)
    vals = {"x": x, "y": y, **{k: float(v[k]) for k in "abcf"}}
    grads = {"x": g["dx"], "y": g["dy"], "a": g["df_da"], "b": g["df_db"], "c": g["df_dc"], "f": 1.0}
    fig, ax = plt.subplots(figsize=(11, 4.2), constrained_layout=True)
    w, h = 1.9, 1.0
    for start, end in _EDGES:
        (x0, y0), (x1, y1) = _NODES[start][0], _NODES[end][0]
        ax.annotate("", xy=(x1 - w / 2, y1), xytext=(x0 + w / 2, y0),
                    arrowprops=dict(arrowstyle="-|>", color=GREY, lw=1.3, shrinkA=0, shrinkB=0))
    for name, ((px, py), label) in _NODES.items():
        reused = name in ("x", "y")
        box = FancyBboxPatch((px - w / 2, py - h / 2), w, h, boxstyle="round,pad=0.04",
                             fc="#fff4e0" if reused else "#eef3fb", ec=ORANGE if reused else BLUE, lw=1.6)
        ax.add_patch(box)
        ax.text(px, py + 0.25, label, ha="center", va="center", fontsize=11, weight="bold")
        ax.text(px, py - 0.02, f"value {vals[name]:.3f}", ha="center", va="center", fontsize=9.5)
        ax.text(px, py - 0.28, f"∂f/∂{name} = {grads[name]:.3f}", ha="center", va="center", fontsize=9.5,
                color=RED)
    contrib = dict(fontsize=9, color=RED, ha="center", va="center",
                   bbox=dict(fc="white", ec="none", pad=0.5))
    ax.text(1.3, 1.5, f"∂f/∂a·y\n= {g['dx_via_a']:.3f}", **contrib)   # x -> a
    ax.text(2.6, 2.22, f"∂f/∂b·1 = {g['dx_via_b']:.3f}", **contrib)   # x -> b
    ax.text(1.3, 0.5, f"∂f/∂a·x\n= {g['dy_via_a']:.3f}", **contrib)   # y -> a
    ax.text(5.2, 0.32, f"∂f/∂f·c = {g['dy_via_f']:.3f}", **contrib)   # y -> f
    ax.text(4.9, -0.75, "black: forward values (left to right)   red: gradients ∂f/∂· (right to left); x and y feed "
            "two nodes each, so their gradients are the sums of the red edge contributions",
            ha="center", fontsize=9, color="#333333")
    ax.set_xlim(-1.1, 10.9)
    ax.set_ylim(-1.0, 2.7)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"f(x, y) = y · sin(x·y + x) at x = {x:g}, y = {y:g}")
    plt.close(fig)
    return fig
