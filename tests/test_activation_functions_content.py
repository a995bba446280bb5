"""Notebook 04's figures, explorers and numerics-strict checks."""

import numpy as np
import pytest

from backproplab import check, plots, widgets
from backproplab.activations import sigmoid, softmax_jacobian
from backproplab.checking import RECORD_DIR_ENV, run_check
from backproplab.checks import REGISTRY
from backproplab.checks.activation_functions import WARNED_MARKER
from backproplab.trusted import judge


def test_activation_curves_one_panel_per_function_with_relu_convention():
    fig = plots.activation_curves()
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["sigmoid", "tanh", "relu"]
    # the sigmoid panel's derivative peaks at 1/4, at z = 0 (a sample of the grid)
    z, ds = axes[0].lines[3].get_data()               # axhline, axvline, sigmoid, derivative
    assert 0.0 in z and np.isclose(ds.max(), 0.25)
    # ReLU'(0) = 0: a filled marker at (0, 0) and an open one at (0, 1)
    markers = [(tuple(line.get_xdata()), tuple(line.get_ydata()), line.get_markerfacecolor())
               for line in axes[2].lines if line.get_marker() == "o"]
    assert ((0,), (0,), "k") in markers
    assert any(y == (1,) and c == "white" for _, y, c in markers)


def test_softmax_jacobian_heatmap_shows_the_jacobian():
    z = np.array([2.0, 1.0, 0.1, -1.0])
    fig = plots.softmax_jacobian_heatmap(z)
    image = fig.axes[1].images[0].get_array()
    assert np.allclose(image, softmax_jacobian(z))
    assert np.allclose(np.asarray(image).sum(axis=1), 0.0)


def test_gradient_norms_vanish_for_sigmoid_and_not_for_relu_he():
    sig = plots.layer_gradient_norms(20, "sigmoid", "xavier")
    relu = plots.layer_gradient_norms(20, "relu", "he")
    assert sig.shape == relu.shape == (20,)
    assert sig[0] / sig[-1] < 1e-9                     # about (1/4)^19
    assert 0.1 < relu[0] / relu[-1] < 10
    with pytest.raises(ValueError):
        plots.layer_gradient_norms(3, "relu", "nope")


def test_vanishing_figure_has_one_line_per_config():
    fig = plots.vanishing_gradients(depth=6, configs=(("sigmoid", "xavier"), ("relu", "he")))
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.lines) == 2


def test_vanishing_explorer_reacts_to_every_control():
    box = widgets.vanishing_gradient_explorer()
    depth, activation, init = box.children[0].children
    summary, image = box.children[1], box.children[2]
    seen = {(summary.value, bytes(image.value))}
    depth.value = 20
    seen.add((summary.value, bytes(image.value)))
    assert "vanishes" in summary.value
    activation.value = "relu"
    init.value = "he"
    seen.add((summary.value, bytes(image.value)))
    assert "keeps its size" in summary.value
    init.value = "small"
    seen.add((summary.value, bytes(image.value)))
    assert "tiny" in summary.value
    assert len(seen) == 4 and all(png.startswith(b"\x89PNG") for _, png in seen)


def test_softmax_explorer_saturates():
    box = widgets.softmax_explorer()
    z0, temperature = box.children[0].children
    summary, image = box.children[1], box.children[2]
    before = (summary.value, image.value)
    z0.value = 8.0
    assert (summary.value, image.value) != before
    assert "0.999" in summary.value
    z0.value, temperature.value = 2.0, 4.0  # a high temperature flattens s: no probability above one half
    probabilities = summary.value.split("s = [")[1].split("]")[0]
    assert max(float(v) for v in probabilities.split(", ")) < 0.5


def _naive_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_right_by_luck_is_named_and_never_warns(recwarn):
    result = check.stable_sigmoid(_naive_sigmoid)
    assert not result.passed and result.mistake == "exp_overflow_warning"
    assert "np.where" in result.message
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_strict_harness_returns_plain_data():
    exercise = REGISTRY["stable_sigmoid"]
    z = np.array([[-1000.0, 0.0, 1000.0]])
    marker = exercise.run(_naive_sigmoid, (z.copy(),))
    assert np.array_equal(marker, np.full((1, 3), WARNED_MARKER))
    assert np.array_equal(exercise.run(sigmoid, (z.copy(),)), sigmoid(z))


@pytest.mark.parametrize("name, fn, mistake", [
    ("stable_sigmoid", _naive_sigmoid, "exp_overflow_warning"),
    ("stable_softmax", lambda Z: np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True), "no_max_subtraction"),
])
def test_trusted_grader_agrees_on_unstable_answers(name, fn, mistake, tmp_path, monkeypatch):
    exercise = REGISTRY[name]
    monkeypatch.setenv(RECORD_DIR_ENV, str(tmp_path))
    with pytest.raises(AssertionError):
        run_check(exercise, fn, graded=True, hidden=True, seed=7)
    monkeypatch.delenv(RECORD_DIR_ENV)
    verdict = judge(exercise, tmp_path, hidden=True, seed=7)
    assert not verdict.passed and verdict.mistake == mistake
