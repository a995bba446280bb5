"""Explorers of notebook 04 (activation functions).

Each explorer returns an ``ipywidgets.VBox``: controls, a one-line reading of the figure (``HTML``) and the figure
itself, rendered to PNG into an ``ipywidgets.Image`` (so it updates in place, without flicker, in any front end).
"""

from __future__ import annotations

import io

import ipywidgets as w
import matplotlib.pyplot as plt
import numpy as np

from backproplab.activations import softmax, softmax_jacobian
from backproplab.plots.activation_functions import (
    INIT_CHOICES,
    layer_gradient_norms,
    softmax_jacobian_heatmap,
    vanishing_gradients,
)

__all__ = ["softmax_explorer", "vanishing_gradient_explorer"]


def figure_png(fig, dpi: int = 85) -> bytes:
    """Render a matplotlib Figure to PNG bytes and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def _fmt_power(x: float) -> str:
    return f"{x:.1e}".replace("e-0", "e-").replace("e+0", "e+").replace("e+", "e")


def vanishing_gradient_explorer(depth: int = 10, activation: str = "sigmoid", init: str = "xavier"):
    """Depth slider, activation and initialization menus -> gradient norm per layer (log scale) of a fresh MLP.

    The network: ``depth`` dense layers of width 64 at initialization, MSE of random targets (see
    :func:`backproplab.plots.activation_functions.layer_gradient_norms`).
    """
    depth_w = w.IntSlider(value=depth, min=2, max=40, description="depth", continuous_update=False)
    act_w = w.Dropdown(options=["sigmoid", "tanh", "relu"], value=activation, description="activation")
    init_w = w.Dropdown(options=[(label, key) for key, (label, _) in INIT_CHOICES.items()], value=init,
                        description="init", layout=w.Layout(width="330px"))
    summary = w.HTML()
    image = w.Image(format="png")

    def update(_change=None):
        L, act, ini = depth_w.value, act_w.value, init_w.value
        norms = layer_gradient_norms(L, act, ini)
        fig, ax = plt.subplots(figsize=(7.5, 3.6), constrained_layout=True)
        vanishing_gradients(L, configs=((act, ini),), ax=ax)
        image.value = figure_png(fig)
        ratio = norms[0] / norms[-1] if norms[-1] > 0 else float("inf")
        if ratio < 1e-3:
            reading = "the gradient <b>vanishes</b> on its way back: the first layers barely learn"
        elif ratio > 1e3:
            reading = "the gradient <b>explodes</b> on its way back"
        elif norms.max() < 1e-6:
            reading = "every layer's gradient is <b>tiny</b>: the signal died in the forward pass already"
        elif norms.max() > 1e6:
            reading = "every layer's gradient is <b>huge</b>: the activations blew up in the forward pass"
        else:
            reading = "the gradient keeps its size through the layers"
        summary.value = (f"‖∂ℒ/∂W<sub>1</sub>‖ / ‖∂ℒ/∂W<sub>{L}</sub>‖ = {_fmt_power(ratio)} "
                         f"(first layer {_fmt_power(norms[0])}, last layer {_fmt_power(norms[-1])}): {reading}.")

    for control in (depth_w, act_w, init_w):
        control.observe(update, names="value")
    update()
    return w.VBox([w.HBox([depth_w, act_w, init_w]), summary, image])


#: The softmax explorer's controls: the first logit (the others stay at 1, 0.1 and -1) and a temperature T that
#: divides every logit. Steps a table can hold: in a learner build of a graded class, softmax is a table of the
#: positions a learner can reach (65 of them).
SOFTMAX_Z0 = tuple(float(v) for v in range(-4, 9))
SOFTMAX_TEMPERATURES = (0.25, 0.5, 1.0, 2.0, 4.0)


def softmax_explorer(others=(1.0, 0.1, -1.0)):
    """Two sliders, the first logit z0 and a temperature T (the logits are ``(z0, *others) / T``) -> softmax
    probabilities and the Jacobian ``diag(s) − s sᵀ`` as a heat map.

    Push z0 far above the others, or lower T: s becomes one-hot and every entry of J goes to 0 (softmax
    saturates, like a sigmoid). Raise T: s flattens towards uniform.
    """
    layout = w.Layout(width="300px")
    z0 = w.SelectionSlider(options=SOFTMAX_Z0, value=2.0, description="z0", continuous_update=False,
                           layout=layout)
    temperature = w.SelectionSlider(options=SOFTMAX_TEMPERATURES, value=1.0, description="T",
                                    continuous_update=False, layout=layout)
    summary = w.HTML()
    image = w.Image(format="png")

    def update(_change=None):
        z = np.array([z0.value, *others], dtype=np.float64) / temperature.value
        fig = softmax_jacobian_heatmap(z)
        image.value = figure_png(fig)
        s = softmax(z)
        J = softmax_jacobian(z)
        summary.value = (f"z = [{', '.join(f'{v:.3g}' for v in z)}]: s = [{', '.join(f'{v:.3f}' for v in s)}], "
                         f"sum {s.sum():.3f}; largest |J<sub>ij</sub>| = {np.abs(J).max():.3g} (never above 1/4, "
                         f"the peak of s(1 − s)); the smaller it is, the less gradient gets through the softmax.")

    for control in (z0, temperature):
        control.observe(update, names="value")
    update()
    return w.VBox([w.HBox([z0, temperature]), summary, image])
