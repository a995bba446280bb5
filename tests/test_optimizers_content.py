"""Notebook 07 (optimizers): trajectories, figures, the race explorer and the harness of its checks."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backproplab import optimizers as ref  # noqa: E402
from backproplab import plots, widgets  # noqa: E402
from backproplab.checking import run_check  # noqa: E402
from backproplab.checks.optimizers import ADAM, SGD, run_steps  # noqa: E402
from backproplab.network import init_mlp, mlp_loss_and_grads  # noqa: E402
from tests.mutants.optimizers import adam_correct, sgd_correct  # noqa: E402


def _stub(w, dw, config=None):
    raise NotImplementedError()


_stub.__name__ = "adam"


def test_momentum_conventions_give_the_same_path():
    beta, lr_ema = 0.9, 0.5
    classic = plots.optimizer_path(ref.sgd_momentum, {"learning_rate": (1 - beta) * lr_ema, "momentum": beta,
                                                      "convention": "classic"}, "elongated", 100)
    ema = plots.optimizer_path(ref.sgd_momentum, {"learning_rate": lr_ema, "momentum": beta, "convention": "ema"},
                               "elongated", 100)
    assert classic.shape == ema.shape == (101, 2)
    assert np.abs(classic - ema).max() < 1e-12


@pytest.mark.parametrize("surface", list(plots.SURFACES))
def test_surface_gradients_match_finite_differences(surface):
    s = plots.SURFACES[surface]
    w = np.array([0.3, -0.7])
    h = 1e-6
    numeric = np.array([(s.f(w + h * e) - s.f(w - h * e)) / (2 * h) for e in np.eye(2)])
    assert np.allclose(numeric, s.grad(w), rtol=1e-6)


def test_optimizer_path_stops_when_diverging():
    path = plots.optimizer_path(ref.sgd, {"learning_rate": 0.5}, "elongated", 500)
    assert len(path) < 501


def test_optimizer_or_reference(capsys):
    assert plots.optimizer_or_reference(_stub) is ref.adam
    assert "not written yet" in capsys.readouterr().out
    assert plots.optimizer_or_reference(adam_correct, name="adam") is adam_correct
    assert "using your" in capsys.readouterr().out


def test_diverging_path_is_labelled():
    paths = {"big": plots.optimizer_path(ref.sgd, {"learning_rate": 0.205}, "elongated", 60)}
    fig = plots.optimizer_paths_figure(paths, "elongated")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(label.startswith("big: diverges") for label in labels)


def test_adam_bias_correction_figure_peak():
    fig = plots.adam_bias_correction_figure()
    texts = [t.get_text() for t in fig.axes[2].texts]
    assert "×6.6 at t = 12" in texts


def test_training_figure_panels():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    Y = (X[:, :1] > 0).astype(float)
    results = {}
    for name, update, config in (("SGD", ref.sgd, {"learning_rate": 0.1}), ("Adam", ref.adam, {"learning_rate": 0.01})):
        params = init_mlp([2, 4, 1], rng=0)
        configs = {k: dict(config) for k in params}
        losses = []
        for _ in range(5):
            loss, grads = mlp_loss_and_grads(params, X, Y, output="sigmoid", loss="bce")
            for k in params:
                params[k], configs[k] = update(params[k], grads["d" + k], configs[k])
            losses.append(loss)
        results[name] = (params, losses)
    fig = plots.optimizer_training_figure(X, Y, results)
    assert len(fig.axes) == 3
    assert fig.axes[1].get_title().startswith("SGD\naccuracy")


def test_race_slider_changes_table_and_surface_resets_sliders():
    box = widgets.optimizer_race(adam=_stub)
    left, right = box.children[0].children
    surface, lr_sgd = left.children[0], left.children[1]
    table = right.children[2]
    assert "adam is not written yet" in table.value
    before = table.value
    lr_sgd.value = 0.01
    assert table.value != before
    surface.value = "rosenbrock"
    assert lr_sgd.value == pytest.approx(widgets.RACE_DEFAULTS["rosenbrock"]["sgd"])


def test_harness_gives_each_call_the_returned_config():
    seen = []

    def spy(w, dw, config):
        seen.append(dict(config))
        config = dict(config)
        config["calls"] = config.get("calls", 0) + 1
        return w - dw, config

    w, dws = np.zeros(2), np.ones((4, 2))
    out = run_steps(spy, (w, dws, {"learning_rate": 1.0}))
    assert [c.get("calls", 0) for c in seen] == [0, 1, 2, 3]
    assert len(out) == 4 and all(np.allclose(step, -1.0) for step in out)  # each update next_w − w


def test_checks_pass_correct_answers():
    assert run_check(SGD, sgd_correct).passed
    assert run_check(ADAM, adam_correct, hidden=True, seed=1).passed
