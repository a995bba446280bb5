"""Losses: values and gradients vs autograd and finite differences, the 1/m convention, stability, validation."""

import numpy as np
import pytest

from backproplab import losses
from backproplab.activations import sigmoid, sigmoid_derivative, softmax, softmax_backward
from backproplab.errors import BackpropLabError
from backproplab.gradcheck import numerical_gradient
from tests._autodiff import (
    ag_bce,
    ag_bce_logits,
    ag_cross_entropy,
    ag_mse,
    ag_softmax_cross_entropy,
    assert_autograd,
    assert_fd,
    grad,
    no_warnings,
    one_hot,
)

SEEDS = [0, 1, 2]
SHAPES = [(1, 1), (1, 3), (4, 1), (5, 3)]


def _data(seed, shape, kind):
    rng = np.random.default_rng(seed)
    m, n = shape
    if kind == "regression":
        return rng.normal(size=shape), rng.normal(size=shape)
    if kind == "probabilities":
        return rng.uniform(0.05, 0.95, size=shape), (rng.random(shape) < 0.5).astype(float)
    if kind == "logits":
        return rng.normal(scale=2.0, size=shape), (rng.random(shape) < 0.5).astype(float)
    if kind == "classes":
        Z = rng.normal(scale=2.0, size=shape)
        return Z, one_hot(rng, m, n)
    raise AssertionError(kind)


CASES = [
    # name, loss, grad, autograd reference, data kind
    ("mse", losses.mse_loss, losses.mse_grad, ag_mse, "regression"),
    ("bce", losses.bce_loss, losses.bce_grad, ag_bce, "probabilities"),
    ("bce_with_logits", losses.bce_with_logits_loss, losses.bce_with_logits_grad, ag_bce_logits, "logits"),
    ("cross_entropy", losses.cross_entropy_loss, losses.cross_entropy_grad, ag_cross_entropy, "classes"),
]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name, loss, grad_fn, ag_loss, kind", CASES, ids=[c[0] for c in CASES])
def test_loss_and_gradient(name, loss, grad_fn, ag_loss, kind, shape, seed):
    pred, Y = _data(seed, shape, kind)
    if name == "cross_entropy":
        pred = softmax(pred)
    value = loss(pred, Y)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, ag_loss(pred, Y), rtol=1e-12)
    g = grad_fn(pred, Y)
    assert g.shape == shape and g.dtype == np.float64
    assert_autograd(f"{name}_grad", g, grad(ag_loss)(pred, Y))
    assert_fd(f"{name}_grad", g, numerical_gradient(lambda p: loss(p, Y), pred))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (3, 2), (6, 5)])
def test_softmax_cross_entropy(shape, seed):
    Z, Y = _data(seed, shape, "classes")
    value, dZ = losses.softmax_cross_entropy(Z, Y)
    np.testing.assert_allclose(value, ag_softmax_cross_entropy(Z, Y), rtol=1e-12)
    np.testing.assert_allclose(value, losses.cross_entropy_loss(softmax(Z), Y), rtol=1e-12)
    assert_autograd("softmax_cross_entropy", dZ, grad(ag_softmax_cross_entropy)(Z, Y))
    assert_fd("softmax_cross_entropy", dZ, numerical_gradient(lambda z: losses.softmax_cross_entropy(z, Y)[0], Z))
    np.testing.assert_allclose(dZ, (softmax(Z) - Y) / shape[0], rtol=1e-15)


def test_the_chain_rule_joins_probability_and_logit_forms():
    Z, Y = _data(7, (6, 3), "logits")
    P = sigmoid(Z)
    np.testing.assert_allclose(losses.bce_loss(P, Y), losses.bce_with_logits_loss(Z, Y), rtol=1e-12)
    np.testing.assert_allclose(losses.bce_grad(P, Y) * sigmoid_derivative(Z), losses.bce_with_logits_grad(Z, Y),
                               rtol=1e-12)
    Z, Y = _data(8, (6, 4), "classes")
    P = softmax(Z)
    np.testing.assert_allclose(softmax_backward(losses.cross_entropy_grad(P, Y), P),
                               losses.softmax_cross_entropy(Z, Y)[1], rtol=1e-10, atol=1e-16)


def test_hand_values_and_the_one_over_m():
    Y_hat = np.array([[1.0, 2.0], [3.0, 5.0]])
    Y = np.array([[0.0, 2.0], [1.0, 2.0]])
    # mean over the batch (m = 2), sum over the outputs: (1 + 0 + 4 + 9) / 2
    assert losses.mse_loss(Y_hat, Y) == 7.0
    # the factor 2 that seed 001 drops stays: 2 (Y_hat - Y) / m
    np.testing.assert_array_equal(losses.mse_grad(Y_hat, Y), [[1.0, 0.0], [2.0, 3.0]])
    # BCE of p = 0.5 is log 2 per output
    np.testing.assert_allclose(losses.bce_loss(np.full((4, 1), 0.5), np.ones((4, 1))), np.log(2), rtol=1e-15)
    np.testing.assert_allclose(losses.bce_with_logits_loss(np.zeros((4, 3)), np.ones((4, 3))), 3 * np.log(2))
    # CE of a uniform 4-class prediction is log 4
    P = np.full((3, 4), 0.25)
    np.testing.assert_allclose(losses.cross_entropy_loss(P, np.eye(4)[[0, 1, 3]]), np.log(4), rtol=1e-15)
    np.testing.assert_allclose(losses.softmax_cross_entropy(np.zeros((3, 4)), np.eye(4)[[0, 1, 3]])[0], np.log(4))


def test_one_dimensional_batches():
    y_hat, y = np.array([1.0, 2.0, 4.0]), np.array([1.0, 0.0, 1.0])
    assert losses.mse_loss(y_hat, y) == pytest.approx(13.0 / 3)
    np.testing.assert_allclose(losses.mse_grad(y_hat, y), [0.0, 4 / 3, 2.0])


def test_stability_large_logits():
    Z = np.array([[-1e4], [1e4], [-800.0], [800.0], [0.0]])
    with no_warnings():
        for Y in (np.zeros_like(Z), np.ones_like(Z)):
            value = losses.bce_with_logits_loss(Z, Y)
            g = losses.bce_with_logits_grad(Z, Y)
            assert np.isfinite(value) and np.all(np.isfinite(g))
        assert losses.bce_with_logits_loss(np.array([[1e4]]), np.array([[0.0]])) == 1e4
        assert losses.bce_with_logits_loss(np.array([[1e4]]), np.array([[1.0]])) == 0.0
        assert losses.bce_with_logits_loss(np.array([[-1e4]]), np.array([[1.0]])) == 1e4
        Zc = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]])
        Yc = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
        value, dZ = losses.softmax_cross_entropy(Zc, Yc)
        assert np.isfinite(value) and np.all(np.isfinite(dZ))
        assert value == pytest.approx((2e4 + 2e4 + np.log(2)) / 2)
        # probability-space losses stay finite at exactly 0 and 1 (clipping)
        P = np.array([[0.0], [1.0]])
        for Y in (np.zeros_like(P), np.ones_like(P)):
            assert np.isfinite(losses.bce_loss(P, Y))
            assert np.all(np.isfinite(losses.bce_grad(P, Y)))
        assert np.isfinite(losses.cross_entropy_loss(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]])))
        assert np.all(np.isfinite(losses.cross_entropy_grad(np.array([[0.0, 1.0]]), np.array([[1.0, 0.0]]))))


def test_clipping_changes_nothing_inside_the_interval():
    P, Y = _data(9, (5, 2), "probabilities")
    exact = -np.sum(Y * np.log(P) + (1 - Y) * np.log(1 - P)) / 5
    assert losses.bce_loss(P, Y) == pytest.approx(exact, rel=1e-14)


@pytest.mark.parametrize("fn", [losses.mse_loss, losses.mse_grad, losses.bce_loss, losses.bce_grad,
                                losses.bce_with_logits_loss, losses.bce_with_logits_grad])
def test_shape_mismatch_is_refused_not_broadcast(fn):
    with pytest.raises(BackpropLabError, match=r"same shape .*\(4, 1\), got \(4,\)") as info:
        fn(np.full((4, 1), 0.5), np.full(4, 0.5))
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("fn", [losses.cross_entropy_loss, losses.cross_entropy_grad, losses.softmax_cross_entropy])
def test_bad_inputs_classification(fn):
    for args, match in [
        ((np.full((2, 3), 1 / 3), np.eye(3)[:3]), "same shape"),
        ((np.full(3, 1 / 3), np.eye(3)[0]), "2-D"),
        (("P", np.eye(3)), "got str"),
        ((np.eye(3), None), "got None"),
    ]:
        with pytest.raises(BackpropLabError, match=match) as info:
            fn(*args)
        assert "\n" not in str(info.value)


def test_bad_inputs_misc():
    with pytest.raises(BackpropLabError, match="scalar"):
        losses.mse_loss(1.0, 2.0)
    with pytest.raises(BackpropLabError, match="at least one example"):
        losses.mse_loss(np.zeros((0, 2)), np.zeros((0, 2)))


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_promotes_to_float64(dtype):
    Y_hat = np.array([[1, 0], [0, 1]], dtype=dtype)
    Y = np.array([[1, 1], [0, 0]], dtype=dtype)
    for g in (losses.mse_grad(Y_hat, Y), losses.bce_with_logits_grad(Y_hat, Y),
              losses.softmax_cross_entropy(Y_hat, Y)[1], losses.bce_grad(Y_hat, Y)):
        assert g.dtype == np.float64
    assert losses.mse_loss([[1, 2]], [[1, 1]]) == 1.0
