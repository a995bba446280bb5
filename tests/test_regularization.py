"""L2 penalty and inverted dropout: values, gradients vs autograd and finite differences, conventions."""

import autograd.numpy as anp
import numpy as np
import pytest

from backproplab.errors import BackpropLabError
from backproplab.gradcheck import numerical_gradient, numerical_vjp
from backproplab.regularization import dropout_backward, dropout_forward, l2_grad, l2_penalty
from tests._autodiff import assert_autograd, assert_fd, grad, vjp

SHAPES = [(1, 1), (1, 5), (3, 2), (6, 4)]


def test_l2_penalty_by_hand():
    W = np.array([[1.0, 2.0], [3.0, 4.0]])  # sum of squares 30
    assert l2_penalty(W, 0.1) == pytest.approx(1.5, rel=1e-15)
    assert l2_penalty([W, np.array([[1.0]])], 0.1) == pytest.approx(1.55, rel=1e-15)
    assert l2_penalty((W,), 0.0) == 0.0
    assert l2_penalty([], 0.5) == 0.0
    assert isinstance(l2_penalty(W, 1), float)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", SHAPES)
def test_l2_grad(shape, seed):
    W = np.random.default_rng(seed).normal(size=shape)
    lam = 0.37
    g = l2_grad(W, lam)
    assert_autograd("l2_grad", g, grad(lambda w: 0.5 * lam * anp.sum(w * w))(W))
    assert_fd("l2_grad", g, numerical_gradient(lambda w: l2_penalty(w, lam), W))
    # seed 003's penalty lam * sum W^2 has gradient 2 lam W: the same regulariser with lam doubled
    np.testing.assert_allclose(l2_grad(W, 2 * lam), numerical_gradient(lambda w: lam * np.sum(w**2), W), rtol=1e-8)


def test_dropout_keep_prob_one_is_identity():
    X = np.arange(6.0).reshape(2, 3)
    out, cache = dropout_forward(X, 1.0)
    np.testing.assert_array_equal(out, X)
    np.testing.assert_array_equal(dropout_backward(np.ones((2, 3)), cache), np.ones((2, 3)))


def test_dropout_mask_keeps_with_keep_prob_and_rescales():
    X = np.ones((400, 500))
    out, cache = dropout_forward(X, 0.8, rng=0)
    values = np.unique(out)
    np.testing.assert_allclose(values, [0.0, 1 / 0.8])
    # the KEEP probability is 0.8 (seed 003 keeps with probability p and rescales by 1/(1-p))
    assert np.mean(out != 0) == pytest.approx(0.8, abs=0.005)
    # inverted dropout preserves the mean (seed 004 never rescales: its mean would be 0.8)
    assert out.mean() == pytest.approx(1.0, abs=0.01)
    # the documented convention, reproduced independently
    expected_mask = (np.random.default_rng(0).random(X.shape) < 0.8) / 0.8
    np.testing.assert_array_equal(out, X * expected_mask)


def test_dropout_rng():
    X = np.ones((4, 5))
    a, _ = dropout_forward(X, 0.5, rng=7)
    b, _ = dropout_forward(X, 0.5, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    gen = np.random.default_rng(7)
    c, _ = dropout_forward(X, 0.5, rng=gen)
    d, _ = dropout_forward(X, 0.5, rng=gen)
    assert not np.array_equal(c, d)  # a Generator is consumed, not re-seeded
    dropout_forward(X, 0.5)  # rng=None works


@pytest.mark.parametrize("keep_prob", [0.3, 0.5, 0.9])
@pytest.mark.parametrize("shape", SHAPES)
def test_dropout_backward(shape, keep_prob):
    rng = np.random.default_rng(11)
    X, dout = rng.normal(size=shape), rng.normal(size=shape)
    out, cache = dropout_forward(X, keep_prob, rng=5)
    mask = (np.random.default_rng(5).random(shape) < keep_prob) / keep_prob
    dX = dropout_backward(dout, cache)
    assert dX.shape == shape
    assert_autograd("dropout_backward", dX, vjp(lambda x: x * mask, X, dout))
    assert_fd("dropout_backward", dX, numerical_vjp(lambda x: dropout_forward(x, keep_prob, rng=5)[0], X, dout))


def test_inputs_not_modified():
    X = np.random.default_rng(0).normal(size=(3, 4))
    X0 = X.copy()
    dropout_forward(X, 0.5, rng=0)
    l2_grad(X, 0.1)
    np.testing.assert_array_equal(X, X0)


def test_bad_inputs():
    for fn, args, match in [
        (dropout_forward, (np.ones(3), 0.0), "keep_prob must be in \\(0, 1\\]"),
        (dropout_forward, (np.ones(3), 1.5), "KEEPING"),
        (dropout_forward, (np.ones(3), -0.2), "keep_prob"),
        (dropout_forward, (np.ones(3), "half"), "keep_prob must be a number"),
        (dropout_forward, ("X", 0.5), "got str"),
        (dropout_forward, (np.ones(3), 0.5, "seed"), "rng must be"),
        (l2_penalty, (np.ones(3), -1.0), "lam"),
        (l2_penalty, ([np.ones(3), "W"], 0.1), "weights\\[1\\]"),
        (l2_grad, (None, 0.1), "got None"),
        (l2_grad, (np.ones(2), "big"), "lam must be a number"),
    ]:
        with pytest.raises(BackpropLabError, match=match) as info:
            fn(*args)
        assert "\n" not in str(info.value)
    _, cache = dropout_forward(np.ones((2, 3)), 0.5, rng=0)
    with pytest.raises(BackpropLabError, match="same shape"):
        dropout_backward(np.ones((3, 2)), cache)


def test_float64():
    out, cache = dropout_forward(np.ones((3, 3), dtype=np.float32), 0.5, rng=0)
    assert out.dtype == np.float64
    assert dropout_backward(np.ones((3, 3), dtype=np.int32), cache).dtype == np.float64
    assert l2_grad(np.ones(2, dtype=np.int64), 1).dtype == np.float64
    assert dropout_forward([[1, 2]], 1.0)[0].dtype == np.float64
