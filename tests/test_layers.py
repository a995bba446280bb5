"""Dense layer: forward values, backward (vector-Jacobian products vs autograd and finite differences), shapes."""

import numpy as np
import pytest

from backproplab.errors import BackpropLabError
from backproplab.gradcheck import numerical_vjp
from backproplab.layers import dense_backward, dense_forward
from tests._autodiff import ag_dense, assert_autograd, assert_fd, vjp

# (m, n_in, n_out): m = 1, non-square layers, one input, one output
LAYER_SHAPES = [(1, 3, 2), (1, 1, 1), (4, 5, 3), (6, 2, 7), (3, 4, 1), (2, 1, 5)]
SEEDS = [0, 1, 2]


def _layer(seed, m, n_in, n_out):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, n_in))
    W = rng.normal(size=(n_in, n_out))
    b = rng.normal(size=(1, n_out))
    dZ = rng.normal(size=(m, n_out))
    return X, W, b, dZ


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("m, n_in, n_out", LAYER_SHAPES)
def test_dense_backward(m, n_in, n_out, seed):
    X, W, b, dZ = _layer(seed, m, n_in, n_out)
    Z, cache = dense_forward(X, W, b)
    assert Z.shape == (m, n_out)
    np.testing.assert_allclose(Z, ag_dense(X, W, b), rtol=1e-14)
    dX, dW, db = dense_backward(dZ, cache)
    assert (dX.shape, dW.shape, db.shape) == ((m, n_in), (n_in, n_out), (1, n_out))
    assert_autograd("dense_backward dX", dX, vjp(lambda x: ag_dense(x, W, b), X, dZ))
    assert_autograd("dense_backward dW", dW, vjp(lambda w: ag_dense(X, w, b), W, dZ))
    assert_autograd("dense_backward db", db, vjp(lambda c: ag_dense(X, W, c), b, dZ))
    assert_fd("dense_backward dX", dX, numerical_vjp(lambda x: dense_forward(x, W, b)[0], X, dZ))
    assert_fd("dense_backward dW", dW, numerical_vjp(lambda w: dense_forward(X, w, b)[0], W, dZ))
    assert_fd("dense_backward db", db, numerical_vjp(lambda c: dense_forward(X, W, c)[0], b, dZ))


def test_no_division_by_m():
    X, W, b, _ = _layer(3, 5, 3, 2)
    _, cache = dense_forward(X, W, b)
    dX, dW, db = dense_backward(np.ones((5, 2)), cache)
    np.testing.assert_array_equal(db, [[5.0, 5.0]])
    np.testing.assert_allclose(dW, X.sum(axis=0)[:, None] * np.ones((1, 2)), rtol=1e-14)


def test_hand_example():
    X = np.array([[1.0, 2.0]])
    W = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
    b = np.array([[0.5, 0.0, 1.0]])
    Z, cache = dense_forward(X, W, b)
    np.testing.assert_array_equal(Z, [[5.5, 2.0, 0.0]])
    dX, dW, db = dense_backward(np.array([[1.0, -1.0, 2.0]]), cache)
    np.testing.assert_array_equal(dX, [[-1.0, 1.0]])
    np.testing.assert_array_equal(dW, [[1.0, -1.0, 2.0], [2.0, -2.0, 4.0]])
    np.testing.assert_array_equal(db, [[1.0, -1.0, 2.0]])


def test_inputs_not_modified_and_float64():
    X, W, b, dZ = _layer(4, 3, 4, 2)
    copies = [a.copy() for a in (X, W, b, dZ)]
    _, cache = dense_forward(X, W, b)
    dense_backward(dZ, cache)
    for a, c in zip((X, W, b, dZ), copies, strict=True):
        np.testing.assert_array_equal(a, c)
    Z, cache = dense_forward(X.astype(np.float32), W.astype(np.float32), b.astype(np.int32))
    assert Z.dtype == np.float64
    assert all(g.dtype == np.float64 for g in dense_backward(dZ.astype(np.float32), cache))
    Z, _ = dense_forward([[1, 2]], [[1], [1]], [[0]])
    np.testing.assert_array_equal(Z, [[3.0]])


def _message(fn, *args):
    with pytest.raises(BackpropLabError) as info:
        fn(*args)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_shape_errors_name_the_operands():
    X, W, b, _ = _layer(5, 5, 3, 4)
    msg = _message(dense_forward, X, W[:2], b)
    assert "X @ W" in msg and "(5, 3)" in msg and "(2, 4)" in msg
    msg = _message(dense_forward, X, W, b.ravel())
    assert msg.startswith("b must have shape (1, 4) (1, n_out), got (4,); reshape")
    msg = _message(dense_forward, X, W, b[:, :3])
    assert msg.startswith("b must have shape (1, 4)")
    msg = _message(dense_forward, X[0], W, b)
    assert msg.startswith("X must be a 2-D array (m, n_in), got 1-D with shape (3,); reshape")
    msg = _message(dense_forward, X, "W", b)
    assert msg == "W must be a numpy array of numbers, got str"
    msg = _message(dense_forward, None, W, b)
    assert msg == "X must be a numpy array of numbers, got None"
    _, cache = dense_forward(X, W, b)
    msg = _message(dense_backward, np.ones((5, 3)), cache)
    assert msg.startswith("dZ must have shape (5, 4) (m, n_out), got (5, 3)")


def test_transposed_square_weights_named_as_transpose():
    X = np.ones((2, 3))
    msg = _message(dense_forward, X, np.ones((4, 3)), np.zeros((1, 4)))
    assert "X @ W" in msg and "W.T would fit" in msg
