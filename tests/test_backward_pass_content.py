"""Notebook 03's figures and gradient-check explorer."""

import numpy as np
import pytest

from backproplab.network import mlp_loss_and_grads
from backproplab.plots.backward_pass import backward_flow_figure, gradcheck_problem, gradcheck_rel_errors
from backproplab.widgets.backward_pass import BUGGY_BACKWARDS, gradient_check_explorer, gradient_check_table


def _reference(X, Y, params):
    return mlp_loss_and_grads(params, X, Y)[1]


def test_reference_is_excellent_and_bugs_are_caught():
    X, Y, params = gradcheck_problem()
    assert max(gradcheck_rel_errors(_reference(X, Y, params)).values()) < 1e-7
    for fn in BUGGY_BACKWARDS.values():
        assert max(gradcheck_rel_errors(fn(X, Y, params)).values()) > 1e-3


def test_table_handles_stubs_wrong_shapes_and_learner_relative_error():
    def stub(X, Y, params):
        raise NotImplementedError()

    html, errors = gradient_check_table(stub)
    assert errors is None and "not written yet" in html

    def transposed(X, Y, params):
        return {k: (v.T if k == "dW1" else v) for k, v in _reference(X, Y, params).items()}

    html, errors = gradient_check_table(transposed)
    assert errors is None and "dW1 has shape" in html

    html, errors = gradient_check_table(_reference, 1e-5, rel_error=stub)
    assert "using the reference relative error" in html and max(errors.values()) < 1e-7


def test_explorer_reacts_to_h_and_backward():
    box = gradient_check_explorer(_reference)
    choice, h = box.children[0].children
    table = box.children[1]
    h.value = 1e-8
    assert "h = 1e-08" in table.value
    choice.value = "bug: 1/m applied twice"
    assert "bug likely" in table.value


@pytest.mark.parametrize("word", ["dZ2 = dŶ = (2/m)(Ŷ − Y)", "dW1 = Xᵀ dZ1", "cached A1"])
def test_flow_figure_labels(word):
    text = " ".join(t.get_text() for t in backward_flow_figure().axes[0].texts)
    assert word in text


def test_gradcheck_problem_is_float64_and_reproducible():
    a, b = gradcheck_problem(), gradcheck_problem()
    assert all(np.array_equal(a[2][k], b[2][k]) for k in a[2]) and a[0].dtype == np.float64
