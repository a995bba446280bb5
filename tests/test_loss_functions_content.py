"""Notebook 05's figures, explorer and logit-strict checks."""

import numpy as np
import pytest

from backproplab import check, plots, widgets
from backproplab.checking import RECORD_DIR_ENV, run_check
from backproplab.checks import REGISTRY
from backproplab.gradcheck import gradient_check
from backproplab.losses import mse_loss
from backproplab.trusted import judge


def test_example_losses_match_the_formulas():
    p = np.array([0.1, 0.5, 0.9])
    for y in (0.0, 1.0):
        v = plots.example_losses(p, y)
        assert np.allclose(v["mse"], (p - y) ** 2)
        assert np.allclose(v["bce"], -(y * np.log(p) + (1 - y) * np.log(1 - p)))
        assert np.allclose(v["dmse_dp"], 2 * (p - y))
        assert np.allclose(v["dbce_dp"], (p - y) / (p * (1 - p)))
        assert np.allclose(v["dmse_dz"], 2 * (p - y) * p * (1 - p))
        assert np.allclose(v["dbce_dz"], p - y)


def test_loss_curves_one_example_per_target():
    fig = plots.loss_curves()
    top_left, top_right, bottom_left, bottom_right = fig.axes
    assert top_left.get_title() == "target y = 0" and top_right.get_title() == "target y = 1"
    p, bce = top_right.lines[1].get_data()
    assert np.allclose(bce, -np.log(p))                  # y = 1: BCE is -log p, unbounded as p -> 0
    p, mse = top_right.lines[0].get_data()
    assert mse.max() <= 1.0
    z, dmse = bottom_right.lines[0].get_data()
    assert abs(dmse[0]) < 1e-2                           # MSE through a saturated sigmoid: no gradient
    z, dbce = bottom_right.lines[1].get_data()
    assert dbce[0] < -0.99                               # BCE: p - y stays near -1


def test_gradcheck_scatter_reports_the_slope_of_a_dropped_factor_2():
    rng = np.random.default_rng(0)
    Y_hat, Y = rng.standard_normal((4, 1)), rng.standard_normal((4, 1))
    report = gradient_check(lambda P: mse_loss(P, Y), Y_hat, (Y_hat - Y) / 4)
    assert report.rel_error == pytest.approx(1 / 3, rel=1e-6) and report.verdict == "bug likely"
    fig = plots.loss_gradcheck_scatter(report.numeric, report.analytic)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert "fitted slope 0.5" in labels


def test_loss_explorer_reacts_to_prediction_and_target():
    box = widgets.loss_explorer(p=0.3, y=1)
    p_slider, y_toggle = box.children[0].children
    table, image = box.children[1], box.children[2]
    first = (table.value, bytes(image.value))
    assert "1.2040" in table.value                       # -log 0.3
    p_slider.value = 0.03
    assert "-33.3333" in table.value                     # dBCE/dp = -1/p
    y_toggle.value = 0
    third = (table.value, bytes(image.value))
    assert len({first, third, (table.value, bytes(image.value))}) >= 2 and first != third


@pytest.mark.parametrize("fn, mistake", [
    (lambda Z, Y: float(np.sum(np.log(1 + np.exp(Z)) - Y * Z) / len(Z)), "bce_logits_unstable"),
    (lambda Z, Y: -np.sum(Y * np.log(np.clip(1 / (1 + np.exp(-np.clip(Z, -500, 500))), 1e-7, 1 - 1e-7))
                          + (1 - Y) * np.log(1 - np.clip(1 / (1 + np.exp(-np.clip(Z, -500, 500))), 1e-7,
                                                         1 - 1e-7))) / len(Z), "bce_clipped_probabilities"),
])
def test_bce_with_logits_names_unstable_and_clipped_answers(fn, mistake):
    result = check.bce_with_logits_loss(fn)
    assert not result.passed and result.mistake == mistake


def test_trusted_grader_agrees_on_softmax_without_max(tmp_path, monkeypatch):
    exercise = REGISTRY["softmax_cross_entropy_grad"]

    def no_max(Z, Y):
        E = np.exp(Z)
        return (E / E.sum(axis=1, keepdims=True) - Y) / len(Z)

    monkeypatch.setenv(RECORD_DIR_ENV, str(tmp_path))
    with pytest.raises(AssertionError):
        run_check(exercise, no_max, graded=True, hidden=True, seed=11)
    monkeypatch.delenv(RECORD_DIR_ENV)
    verdict = judge(exercise, tmp_path, hidden=True, seed=11)
    assert not verdict.passed and verdict.mistake == "no_max_subtraction"
