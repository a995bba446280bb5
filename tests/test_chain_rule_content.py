"""Notebook 01's figures and explorer: they show the right numbers and react to their controls."""

import numpy as np
import pytest

from backproplab.checks.chain_rule import COMPOSITIONS, graph_forward, graph_gradients
from backproplab.gradcheck import numerical_gradient
from backproplab.plots.chain_rule import (
    chain_rule_figure,
    chain_rule_panels,
    computational_graph_figure,
    finite_difference_error_figure,
)
from backproplab.widgets.chain_rule import chain_rule_explorer


def test_chain_rule_figure_plots_the_product_of_the_factors():
    fig = chain_rule_figure()
    bottom = fig.axes[1]
    lines = {line.get_label(): line for line in bottom.get_lines()}
    product = next(line for label, line in lines.items() if label.startswith("product"))
    x, y = product.get_data()
    assert np.allclose(y, np.cos(x ** 2) * 2 * x)
    markers = next(line for label, line in lines.items() if label.startswith("centred"))
    xm, ym = markers.get_data()
    assert np.allclose(ym, np.cos(np.asarray(xm) ** 2) * 2 * np.asarray(xm), atol=1e-8)


@pytest.mark.parametrize("x0", [-1.7, 0.0, 1.25])
def test_panels_report_consistent_factors(x0):
    _, parts = chain_rule_panels(x0)
    assert parts["product"] == pytest.approx(parts["dg_dx"] * parts["df_dg"])
    assert parts["product"] == pytest.approx(parts["finite_difference"], abs=1e-8)


def test_explorer_slider_updates_the_table():
    box = chain_rule_explorer(x=1.0)
    slider, table = box.children[0], box.children[1]
    before = table.value
    slider.value = -0.5
    assert table.value != before and "-0.50" in table.value


def test_centred_beats_forward_in_the_error_figure():
    ax = finite_difference_error_figure().axes[0]
    lines = {line.get_label().split()[0]: line for line in ax.get_lines()}
    h, fwd = lines["forward"].get_data()
    _, cen = lines["centred"].get_data()
    i = int(np.argmin(np.abs(np.log10(h) + 3)))  # h = 1e-3
    assert cen[i] < fwd[i] / 100


@pytest.mark.parametrize("x, y", [(0.5, 1.0), (-1.3, 0.4), (2.0, -0.7)])
def test_graph_gradients_match_finite_differences(x, y):
    def f(x_, y_):
        return graph_forward(x_, y_)["f"]

    g = graph_gradients(x, y)
    assert g["dx"] == pytest.approx(float(numerical_gradient(lambda t: f(t, y), x)), abs=1e-8)
    assert g["dy"] == pytest.approx(float(numerical_gradient(lambda t: f(x, t), y)), abs=1e-8)


def test_graph_figure_shows_the_summed_gradients():
    texts = " ".join(t.get_text() for t in computational_graph_figure(0.5, 1.0).axes[0].texts)
    g = graph_gradients(0.5, 1.0)
    assert f"{g['dx']:.3f}" in texts and f"{g['dy']:.3f}" in texts


@pytest.mark.parametrize("label, f_prime, g, g_prime", COMPOSITIONS)
def test_compositions_have_consistent_derivatives(label, f_prime, g, g_prime):
    """The checks' composition table: g_prime is g's derivative (f_prime is checked through the chain rule)."""
    x = np.linspace(-1.2, 1.2, 7)
    assert np.allclose(g_prime(x), [numerical_gradient(g, xi) for xi in x], atol=1e-7)
