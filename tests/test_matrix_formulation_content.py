"""Notebook 06 (matrix formulation): its figures, its explorer and the harnesses of its checks."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backproplab import plots, widgets  # noqa: E402
from backproplab.checking import run_check  # noqa: E402
from backproplab.checks.matrix_formulation import (  # noqa: E402
    DROPOUT_FORWARD,
    MLP_BACKWARD,
    dense_backward_col_reference,
    mlp_backward_reference,
)
from backproplab.gradcheck import numerical_gradient, relative_error  # noqa: E402
from backproplab.layers import dense_backward  # noqa: E402
from backproplab.network import init_mlp, mlp_loss_and_grads  # noqa: E402
from tests.mutants.matrix_formulation import drop_correct_binomial, mlp_correct_loop  # noqa: E402


def _net(seed=0, sizes=(3, 5, 4, 3), m=6):
    rng = np.random.default_rng(seed)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in init_mlp(list(sizes), rng=rng).items()}
    return rng.standard_normal((m, sizes[0])), rng.standard_normal((m, sizes[-1])), params


def test_mlp_backward_reference_agrees_with_finite_differences():
    X, Y, params = _net()
    lam = 0.2
    grads = mlp_backward_reference(X, Y, params, lam)
    for key, value in params.items():
        numeric = numerical_gradient(lambda v, key=key: mlp_loss_and_grads({**params, key: v}, X, Y, l2=lam)[0],
                                     value)
        assert relative_error(grads["d" + key], numeric) < 1e-7, key


def test_column_reference_is_the_row_backward_transposed():
    rng = np.random.default_rng(3)
    X, W, b = rng.standard_normal((5, 3)), rng.standard_normal((3, 2)), rng.standard_normal((1, 2))
    dZ = rng.standard_normal((5, 2))
    for col, row in zip(dense_backward_col_reference(dZ.T, (X.T, W.T, b.T)), dense_backward(dZ, (X, W, b)),
                        strict=True):
        assert np.array_equal(col, row.T)


def test_mlp_backward_harness_explains_a_wrong_return_value():
    def missing_db(X, Y, params, lam=0.0):
        return {k: v for k, v in mlp_correct_loop(X, Y, params, lam).items() if not k.startswith("db")}

    def as_list(X, Y, params, lam=0.0):
        return list(mlp_correct_loop(X, Y, params, lam).values())

    r = run_check(MLP_BACKWARD, missing_db)
    assert not r.passed and "no key 'db" in r.message
    r = run_check(MLP_BACKWARD, as_list)
    assert not r.passed and "should return a dict" in r.message


def test_mlp_backward_accepts_grads_in_any_order():
    def reversed_order(X, Y, params, lam=0.0):
        return dict(reversed(list(mlp_correct_loop(X, Y, params, lam).items())))

    assert run_check(MLP_BACKWARD, reversed_order).passed
    assert run_check(MLP_BACKWARD, reversed_order, hidden=True, seed=5).passed


@pytest.mark.parametrize("seed", range(40))
def test_dropout_check_does_not_fail_a_correct_answer_by_chance(seed):
    """The forward check is statistical (5 standard deviations): a correct mask drawn another way passes."""
    assert run_check(DROPOUT_FORWARD, drop_correct_binomial, hidden=True, seed=seed).passed


def test_gradient_check_figure_bars_and_missing_candidate():
    X, Y, params = _net()
    exact = mlp_loss_and_grads(params, X, Y)[1]
    half = {k: 0.5 * v for k, v in exact.items()}
    fig = plots.gradient_check_figure(exact, {"yours": None, "half": half})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "yours: not written yet" in labels and "half" in labels
    heights = [p.get_height() for p in ax.patches if p.get_width() > 0 and p.get_height() > 0 and p.get_y() == 0]
    assert len(heights) == len(exact)
    assert all(abs(h - 1 / 3) < 1e-9 for h in heights)


def test_row_column_figure_reports_transpose():
    rng = np.random.default_rng(0)
    fig = plots.row_column_figure(rng.standard_normal((4, 3)), rng.standard_normal((3, 2)),
                                  rng.standard_normal((1, 2)))
    assert "Z_col == Zᵀ: True" in fig.axes[0].get_title()
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "Z\n(4, 2)" in texts and "Z_col\n(2, 4)" in texts


def test_dropout_variant_means_match_theory():
    ps = np.array([0.2, 0.5, 0.8])
    means = plots.dropout_variant_means(ps, n=200_000, rng=1)
    assert np.allclose(means["inverted"], 1.0, atol=0.02)
    assert np.allclose(means["one_minus_p"], ps / (1 - ps), rtol=0.03)
    assert np.allclose(means["no_rescale"], ps, atol=0.01)


def test_dropout_expectation_figure_has_three_variants():
    fig = plots.dropout_expectation_figure(n=2000)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert sum("E[out]/x" in label for label in labels) == 3


def test_dropout_explorer_slider_changes_the_table():
    box = widgets.dropout_explorer(keep_prob=0.8)
    p_slider, seed_slider = box.children[0].children
    table = box.children[1]
    before = table.value
    assert "keep_prob = 0.80" in before
    p_slider.value = 0.3
    assert table.value != before and "keep_prob = 0.30" in table.value
    after_p = table.value
    seed_slider.value = 5
    assert table.value != after_p
