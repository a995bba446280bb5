"""Notebook 02's figures and explorers."""

import numpy as np
from matplotlib.patches import Rectangle

from backproplab.plots.forward_pass import (
    INIT_SCHEMES,
    activation_stds,
    dense_layer_figure,
    init_activation_figure,
    network_diagram_figure,
)
from backproplab.widgets.forward_pass import init_explorer, layer_shape_explorer


def test_dense_layer_figure_draws_every_entry():
    m, n_in, n_out = 3, 4, 2
    ax = dense_layer_figure(m, n_in, n_out).axes[0]
    cells = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_width() == 1 and p.get_height() == 1]
    # X, W, b, the m - 1 broadcast copies of b, Z
    assert len(cells) == m * n_in + n_in * n_out + n_out + (m - 1) * n_out + m * n_out
    text = " ".join(t.get_text() for t in ax.texts)
    assert "(3, 4)" in text and "(4, 2)" in text and "(1, 2)" in text and "(3, 2)" in text


def test_network_diagram_labels_shapes_and_caches():
    text = " ".join(t.get_text() for t in network_diagram_figure((3, 5, 1)).axes[0].texts)
    assert "W1 (3, 5)" in text and "W2 (5, 1)" in text and "cache 2" in text


def test_layer_shape_explorer_reacts_to_sliders():
    box = layer_shape_explorer()
    m_slider = box.children[0].children[0]
    text = box.children[1]
    m_slider.value = 7
    assert "(7, 3) @ (3, 2) + (1, 2) → (7, 2)" in text.value


def test_he_keeps_relu_activations_at_a_constant_scale():
    he, _ = activation_stds(INIT_SCHEMES["He  (std √(2/n_in))"], "relu", depth=10)
    big, _ = activation_stds(INIT_SCHEMES["N(0, 1)  (std 1)"], "relu", depth=10)
    small, _ = activation_stds(INIT_SCHEMES["N(0, 0.01²)  (std 0.01)"], "relu", depth=10)
    assert 0.3 < he[-1] < 3 and big[-1] > 1e6 and small[-1] < 1e-6


def test_init_explorer_reacts_to_its_controls():
    box = init_explorer()
    init_box, act_box, depth = box.children[0].children
    text = box.children[1]
    before = text.value
    init_box.value = next(label for label in init_box.options if label.startswith("N(0, 1)"))
    assert text.value != before
    depth.value = 3
    assert "after layer 3" in text.value
    act_box.value = "tanh"
    fig, stds = init_activation_figure(init_box.value, "tanh", 3)
    assert len(stds) == 4 and np.all(stds[1:] <= 1.0)
