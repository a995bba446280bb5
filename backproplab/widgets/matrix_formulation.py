"""Explorer of notebook 06: slide the keep probability of dropout and watch the mask, the output and the mean
activation of inverted dropout next to the two variants some tutorials use."""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
from IPython.display import display

from backproplab.plots.matrix_formulation import DROPOUT_VARIANTS, dropout_masks_figure

__all__ = ["dropout_explorer", "dropout_table"]


def _demo_activations(m: int = 12, n: int = 32, seed: int = 7):
    """ReLU-like activations (m, n): non-negative, a third of them exactly 0."""
    rng = np.random.default_rng(seed)
    return np.maximum(0.0, rng.normal(0.6, 1.0, size=(m, n)))


def dropout_table(stats: dict, keep_prob: float) -> str:
    """HTML table of the mean output of each dropout variant (``stats`` from :func:`dropout_masks_figure`)."""
    rows = []
    for name, (label, colour, _) in DROPOUT_VARIANTS.items():
        ratio = stats[name] / stats["mean_A"]
        rows.append(f"<tr><td style='padding:2px 10px;color:{colour}'>{html.escape(label)}</td>"
                    f"<td style='padding:2px 10px;text-align:right'>{stats[name]:.3f}</td>"
                    f"<td style='padding:2px 10px;text-align:right'>{ratio:.2f} × mean(A)</td></tr>")
    return (f"<b>keep_prob = {keep_prob:.2f}</b>: {stats['kept']:.0%} of the units kept "
            f"(expected {keep_prob:.0%}); mean(A) = {stats['mean_A']:.3f} (what the next layer sees at test time)"
            f"<table><tr><th style='text-align:left;padding:2px 10px'>variant</th><th>mean(out)</th><th></th></tr>"
            f"{''.join(rows)}</table>")


def dropout_explorer(keep_prob: float = 0.8, seed: int = 0):
    """Sliders for ``keep_prob`` in [0.05, 0.95] and the mask's random seed; shows the activations, the
    inverted-dropout mask and the output (heatmaps), and the mean output of the three variants of
    :data:`~backproplab.plots.matrix_formulation.DROPOUT_VARIANTS` on the same random draws."""
    p_slider = widgets.FloatSlider(value=keep_prob, min=0.05, max=0.95, step=0.05, description="keep_prob",
                                   continuous_update=False, readout_format=".2f")
    seed_slider = widgets.IntSlider(value=seed, min=0, max=20, description="mask seed", continuous_update=False)
    table = widgets.HTML()
    out = widgets.Output()
    A = _demo_activations()

    def update(change=None):
        fig, stats = dropout_masks_figure(A, p_slider.value, seed_slider.value)
        table.value = dropout_table(stats, p_slider.value)
        with out:
            out.clear_output(wait=True)
            display(fig)

    p_slider.observe(update, names="value")
    seed_slider.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([p_slider, seed_slider]), table, out])
