"""Gradient checking: centred differences vs autograd, relative error, verdicts, the report."""

import dataclasses

import autograd.numpy as anp
import numpy as np
import pytest

from backproplab.errors import BackpropLabError
from backproplab.gradcheck import (
    GradCheckReport,
    gradient_check,
    numerical_gradient,
    numerical_vjp,
    relative_error,
    verdict,
)
from tests._autodiff import assert_fd, grad, vjp


def f_scalar(x):
    return anp.sum(anp.sin(x) * x**2) + anp.prod(anp.cos(x[..., :1]))


def f_array(x):
    return anp.tanh(x) * x + anp.exp(0.1 * x)


SHAPES = [(1,), (4,), (1, 1), (2, 3), (3, 2, 2)]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("shape", SHAPES)
def test_numerical_gradient_matches_autograd(shape, seed):
    x = np.random.default_rng(seed).normal(size=shape)
    x0 = x.copy()
    numeric = numerical_gradient(f_scalar, x)
    assert numeric.shape == shape and numeric.dtype == np.float64
    np.testing.assert_array_equal(x, x0)  # x is not modified
    assert_fd("numerical_gradient", numeric, grad(f_scalar)(x))


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("shape", SHAPES)
def test_numerical_vjp_matches_autograd(shape, seed):
    rng = np.random.default_rng(seed)
    x, dout = rng.normal(size=shape), rng.normal(size=shape)
    x0 = x.copy()
    numeric = numerical_vjp(f_array, x, dout)
    np.testing.assert_array_equal(x, x0)
    assert_fd("numerical_vjp", numeric, vjp(f_array, x, dout))


def test_centred_difference_by_hand():
    # f(x) = x^3 at x = 2 with h = 0.1: ((2.1)^3 - (1.9)^3) / 0.2 = (9.261 - 6.859) / 0.2 = 12.01 = 3 x^2 + h^2
    np.testing.assert_allclose(numerical_gradient(lambda x: np.sum(x**3), np.array([2.0]), h=0.1), [12.01],
                               rtol=1e-12)


def test_relative_error_by_hand():
    assert relative_error([3.0, 4.0], [0.0, 0.0]) == 1.0
    assert relative_error([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert relative_error([1.0, 0.0], [0.0, 1.0]) == pytest.approx(np.sqrt(2) / 2)
    assert relative_error([[1.0, 2.0]], [[1.0, 2.0]]) == 0.0
    # ||(0, 0.1)|| / (||(3, 4)|| + ||(3, 4.1)||)
    assert relative_error([3.0, 4.0], [3.0, 4.1]) == pytest.approx(0.1 / (5 + np.hypot(3, 4.1)), rel=1e-14)
    with pytest.raises(BackpropLabError, match="same shape"):
        relative_error(np.ones(3), np.ones((3, 1)))


@pytest.mark.parametrize(
    "err, word",
    [(0.0, "excellent"), (9.9e-8, "excellent"), (1e-7, "good"), (9.9e-6, "good"), (1e-5, "suspicious"),
     (9.9e-4, "suspicious"), (1e-3, "bug likely"), (0.5, "bug likely"), (float("nan"), "bug likely")],
)
def test_verdict_thresholds(err, word):
    assert verdict(err) == word


def test_gradient_check_report():
    x = np.random.default_rng(0).normal(size=(3, 4))
    good = gradient_check(f_scalar, x, grad(f_scalar)(x))
    assert isinstance(good, GradCheckReport)
    assert good.verdict in ("excellent", "good") and good.ok and good.rel_error < 1e-8
    assert good.numeric.shape == good.analytic.shape == (3, 4)
    wrong = np.array(grad(f_scalar)(x))
    wrong[2, 1] += 0.5
    bad = gradient_check(f_scalar, x, wrong)
    assert bad.worst_index == (2, 1) and bad.verdict == "bug likely" and not bad.ok
    text = str(bad)
    assert "\n" not in text and "bug likely" in text and "[2, 1]" in text
    with pytest.raises(dataclasses.FrozenInstanceError):
        bad.verdict = "excellent"
    with pytest.raises(ValueError):
        bad.numeric[0, 0] = 1.0  # read-only arrays
    # the analytic gradient may also be given as a function of x
    assert gradient_check(f_scalar, x, grad(f_scalar)).ok


def test_bad_inputs():
    for fn, args, match in [
        (numerical_gradient, (lambda x: x, np.ones(3)), "f must return a scalar"),
        (numerical_gradient, (np.sum, "x"), "got str"),
        (numerical_gradient, (np.sum, np.ones(2), 0.0), "h must be a positive number"),
        (numerical_vjp, (lambda x: x, np.ones(3), np.ones(2)), "same shape"),
        (gradient_check, (np.sum, np.ones(3), np.ones(2)), "same shape"),
    ]:
        with pytest.raises(BackpropLabError, match=match) as info:
            fn(*args)
        assert "\n" not in str(info.value)


def test_works_on_int_and_float32_inputs():
    g = numerical_gradient(lambda x: np.sum(x**2), np.array([1, 2], dtype=np.int64))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, [2.0, 4.0], rtol=1e-9)
    g = numerical_gradient(lambda x: np.sum(x**2), np.array([1, 2], dtype=np.float32))
    np.testing.assert_allclose(g, [2.0, 4.0], rtol=1e-9)
