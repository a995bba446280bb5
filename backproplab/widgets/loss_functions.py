"""Explorers of notebook 05 (loss functions).

Each explorer returns an ``ipywidgets.VBox``: controls, a reading of the figure (``HTML``) and the figure itself,
rendered to PNG into an ``ipywidgets.Image``.
"""

from __future__ import annotations

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import to_hex

from backproplab.plots.loss_functions import LOSS_COLORS, example_losses
from backproplab.widgets.activation_functions import figure_png

__all__ = ["PREDICTIONS", "loss_explorer"]

#: The predictions the explorer's slider offers, 0.01 to 0.99 (a finite set: a learner build draws from tables
#: recorded on it).
PREDICTIONS = tuple(k / 100 for k in range(1, 100))


#: The predictions the curves are drawn at.
GRID = np.linspace(0.005, 0.995, 300)


def _loss_figure(p: float, y: float, curves: dict):
    """The figure at prediction ``p``, target ``y``; ``curves``: ``example_losses(GRID, y)``."""
    grid = GRID
    here = example_losses(p, y)
    fig, ax = plt.subplots(figsize=(6.8, 3.6), constrained_layout=True)
    for key, label in (("mse", "MSE"), ("bce", "BCE")):
        color = LOSS_COLORS[key]
        ax.plot(grid, curves[key], color=color, lw=2, label=label)
        value, slope = float(here[key][0]), float(here[f"d{key}_dp"][0])
        half = 0.12
        ax.plot([p - half, p + half], [value - half * slope, value + half * slope], color=color, lw=1.2,
                ls="--")
        ax.plot([p], [value], "o", color=color, ms=7)
    ax.axvline(y, color="0.5", ls=":", lw=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.2, 5.5)
    ax.set_xlabel("prediction p")
    ax.set_ylabel("loss of one example")
    ax.set_title(f"target y = {int(y)}: loss and tangent (slope = ∂ℓ/∂p) at p = {p:.2f}")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center")
    return fig


def loss_explorer(p: float = 0.3, y: int = 1):
    """Prediction slider and target toggle -> MSE and BCE of one example, their slopes, and their gradients
    with respect to the logit (through the sigmoid)."""
    p_w = w.SelectionSlider(options=[(f"{v:.2f}", v) for v in PREDICTIONS], value=p, description="prediction p",
                            continuous_update=False, style={"description_width": "initial"},
                            layout=w.Layout(width="420px"))
    y_w = w.ToggleButtons(options=[("y = 0", 0), ("y = 1", 1)], value=y, description="target",
                          style={"button_width": "70px"})
    table = w.HTML()
    image = w.Image(format="png")
    curves: dict = {}  # per target: 300 calls of the losses each, the same at every prediction

    def update(_change=None):
        pv, yv = p_w.value, float(y_w.value)
        here = example_losses(pv, yv)
        if yv not in curves:
            curves[yv] = example_losses(GRID, yv)
        image.value = figure_png(_loss_figure(pv, yv, curves[yv]))
        rows = "".join(
            f"<tr><td style='color:{to_hex(LOSS_COLORS[k])}'><b>{name}</b></td><td>{here[k][0]:.4f}</td>"
            f"<td>{here[f'd{k}_dp'][0]:+.4f}</td><td>{here[f'd{k}_dz'][0]:+.4f}</td></tr>"
            for k, name in (("mse", "MSE"), ("bce", "BCE")))
        table.value = ("<table style='border-collapse:collapse;text-align:right'>"
                       "<tr><th></th><th>&nbsp;loss ℓ&nbsp;</th><th>&nbsp;∂ℓ/∂p&nbsp;</th>"
                       "<th>&nbsp;∂ℓ/∂z with p = σ(z)&nbsp;</th></tr>" + rows + "</table>")

    p_w.observe(update, names="value")
    y_w.observe(update, names="value")
    update()
    return w.VBox([w.HBox([p_w, y_w]), table, image])
