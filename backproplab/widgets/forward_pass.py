"""Explorers of notebook 02: the shapes of a dense layer, and activation statistics across depth per init."""

from __future__ import annotations

import ipywidgets as widgets
from IPython.display import display

from backproplab.plots.forward_pass import INIT_SCHEMES, dense_layer_figure, init_activation_figure

__all__ = ["init_explorer", "layer_shape_explorer", "layer_shape_text"]


def layer_shape_text(m: int, n_in: int, n_out: int) -> str:
    """HTML summary of the shapes of ``Z = X @ W + b`` and the number of parameters."""
    return (f"<code>Z = X @ W + b</code>: &nbsp; <code>({m}, {n_in}) @ ({n_in}, {n_out}) + (1, {n_out})"
            f" → ({m}, {n_out})</code><br>"
            f"The inner sizes n_in = {n_in} match; b is added to each of the m = {m} rows. "
            f"Parameters: {n_in}·{n_out} weights + {n_out} biases = {n_in * n_out + n_out} "
            f"(independent of the batch size m).")


def layer_shape_explorer(m: int = 4, n_in: int = 3, n_out: int = 2):
    """Sliders for the batch size ``m`` and the layer sizes ``n_in``, ``n_out`` (1 to 8): redraws the grids of
    ``X``, ``W``, ``b`` and ``Z`` and prints the shapes."""
    style = dict(min=1, max=8, step=1, continuous_update=False)
    sliders = [widgets.IntSlider(value=m, description="m (batch)", **style),
               widgets.IntSlider(value=n_in, description="n_in", **style),
               widgets.IntSlider(value=n_out, description="n_out", **style)]
    text = widgets.HTML()
    out = widgets.Output()

    def update(change=None):
        m_, n_in_, n_out_ = (s.value for s in sliders)
        text.value = layer_shape_text(m_, n_in_, n_out_)
        with out:
            out.clear_output(wait=True)
            display(dense_layer_figure(m_, n_in_, n_out_))

    for s in sliders:
        s.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox(sliders), text, out])


def init_explorer(init: str = "He", activation: str = "relu", depth: int = 10):
    """A dropdown for the initialization (:data:`INIT_SCHEMES`), one for the activation (ReLU, tanh) and a depth
    slider (1 to 30): plots the std of the activations per layer and their distribution."""
    labels = list(INIT_SCHEMES)
    start = next((label for label in labels if label.startswith(init)), labels[-1])
    init_box = widgets.Dropdown(options=labels, value=start, description="init",
                                layout=widgets.Layout(width="340px"))
    act_box = widgets.Dropdown(options=[("ReLU", "relu"), ("tanh", "tanh")], value=activation,
                               description="activation")
    depth_slider = widgets.IntSlider(value=depth, min=1, max=30, description="depth", continuous_update=False)
    text = widgets.HTML()
    out = widgets.Output()

    def update(change=None):
        fig, stds = init_activation_figure(init_box.value, act_box.value, depth_slider.value)
        last = stds[-1]
        text.value = (f"std of the input: {stds[0]:.3g}; after layer {depth_slider.value}: <b>{last:.3g}</b> "
                      f"(ratio per layer ≈ {(last / stds[0]) ** (1 / depth_slider.value):.3g})")
        with out:
            out.clear_output(wait=True)
            display(fig)

    for w in (init_box, act_box, depth_slider):
        w.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([init_box, act_box, depth_slider]), text, out])
