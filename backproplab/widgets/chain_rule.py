"""Explorer of notebook 01: slide x through f(g(x)) = sin(x²) and watch each factor of the chain rule."""

from __future__ import annotations

import html

import ipywidgets as widgets
from IPython.display import display

from backproplab.plots.chain_rule import chain_rule_panels

__all__ = ["chain_rule_explorer", "chain_rule_table"]


def chain_rule_table(parts: dict, x: float) -> str:
    """HTML table of the chain rule's factors at ``x`` (``parts`` from :func:`chain_rule_panels`)."""
    rows = [
        ("inner value", "g(x) = x²", parts["g"]),
        ("inner factor", "dg/dx = 2x", parts["dg_dx"]),
        ("outer factor", "df/dg = cos(g(x))", parts["df_dg"]),
        ("chain rule", "df/dx = df/dg · dg/dx", parts["product"]),
        ("finite difference", "(f(x+h) − f(x−h)) / 2h, h = 1e-5", parts["finite_difference"]),
    ]
    body = "".join(
        f"<tr><td style='padding:2px 10px'>{html.escape(a)}</td><td style='padding:2px 10px'>"
        f"<code>{html.escape(b)}</code></td><td style='padding:2px 10px;text-align:right'>{v:+.6f}</td></tr>"
        for a, b, v in rows)
    diff = abs(parts["product"] - parts["finite_difference"])
    return (f"<b>At x = {x:.2f}</b><table>{body}</table>"
            f"<span>|chain rule − finite difference| = {diff:.1e}</span>")


def chain_rule_explorer(x: float = 1.0):
    """A slider for ``x`` in [−2, 2]; shows ``g(x) = x²``, ``sin u`` at ``u = g(x)`` and ``sin(x²)`` with their
    tangents, and a table of dg/dx, df/dg, their product and the centred finite difference."""
    values = [round(-2.0 + 0.05 * k, 2) for k in range(81)]  # the positions a learner build has drawn in advance
    slider = widgets.SelectionSlider(options=[(f"{v:.2f}", v) for v in values],
                                     value=min(values, key=lambda v: abs(v - x)), description="x",
                                     continuous_update=False)
    table = widgets.HTML()
    out = widgets.Output()

    def update(change=None):
        fig, parts = chain_rule_panels(slider.value)
        table.value = chain_rule_table(parts, slider.value)
        with out:
            out.clear_output(wait=True)
            display(fig)

    slider.observe(update, names="value")
    update()
    return widgets.VBox([slider, table, out])
