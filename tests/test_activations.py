"""Activations: values, derivatives (vs autograd and finite differences), stability, validation."""

import numpy as np
import pytest

from backproplab import activations as act
from backproplab.errors import BackpropLabError
from backproplab.gradcheck import numerical_gradient, numerical_vjp
from tests._autodiff import (
    ACT,
    assert_autograd,
    assert_fd,
    elementwise_grad,
    jacobian,
    no_warnings,
    vjp,
)

SEEDS = [0, 1, 2]
SHAPES = [(1, 1), (1, 4), (3, 2), (5, 7)]
ELEMENTWISE = ["sigmoid", "relu", "tanh"]


def _z(seed, shape, scale=2.0):
    return np.random.default_rng(seed).normal(scale=scale, size=shape)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_derivative(name, shape, seed):
    z = _z(seed, shape)
    f = getattr(act, name)
    d = getattr(act, f"{name}_derivative")(z)
    assert d.shape == z.shape
    assert_autograd(f"{name}_derivative", d, elementwise_grad(ACT[name])(z))
    assert_fd(f"{name}_derivative", d, numerical_gradient(lambda x: np.sum(f(x)), z))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_values(name):
    z = _z(3, (4, 6), scale=5.0)
    expected = {"sigmoid": 1 / (1 + np.exp(-z)), "relu": np.maximum(z, 0), "tanh": np.tanh(z)}[name]
    np.testing.assert_allclose(getattr(act, name)(z), expected, rtol=1e-14, atol=0)


def test_relu_derivative_at_zero_is_zero():
    np.testing.assert_array_equal(act.relu_derivative(np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 1.0])


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("K", [1, 2, 5])
def test_softmax_jacobian(K, seed):
    z = _z(seed, (K,))
    J = act.softmax_jacobian(z)
    assert J.shape == (K, K)
    assert_autograd("softmax_jacobian", J, jacobian(ACT["softmax"])(z))
    numeric = np.stack([numerical_gradient(lambda x, i=i: act.softmax(x)[i], z) for i in range(K)])
    assert_fd("softmax_jacobian", J, numeric)
    np.testing.assert_allclose(J, J.T, atol=1e-15)
    np.testing.assert_allclose(J.sum(axis=0), 0.0, atol=1e-15)


def test_softmax_derivative_stacks_row_jacobians():
    z = _z(4, (3, 4))
    D = act.softmax_derivative(z)
    assert D.shape == (3, 4, 4)
    assert_autograd("softmax_derivative", D, np.stack([jacobian(ACT["softmax"])(row) for row in z]))
    for i in range(3):
        np.testing.assert_allclose(D[i], act.softmax_jacobian(z[i]), rtol=1e-15, atol=1e-17)
    np.testing.assert_allclose(act.softmax_derivative(z[0]), act.softmax_jacobian(z[0]))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 3), (4, 2), (6, 5)])
def test_softmax_backward(shape, seed):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=shape)
    dA = rng.normal(size=shape)
    dZ = act.softmax_backward(dA, act.softmax(Z))
    assert dZ.shape == shape
    assert_autograd("softmax_backward", dZ, vjp(ACT["softmax"], Z, dA))
    assert_fd("softmax_backward", dZ, numerical_vjp(act.softmax, Z, dA))
    # equals the explicit Jacobian product, row by row
    for i in range(shape[0]):
        np.testing.assert_allclose(dZ[i], act.softmax_jacobian(Z[i]).T @ dA[i], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (5, 3)])
@pytest.mark.parametrize("name", act.ACTIVATIONS)
def test_activation_backward(name, shape, seed):
    rng = np.random.default_rng(seed)
    Z = rng.normal(scale=2.0, size=shape)
    dA = rng.normal(size=shape)
    A, cache = act.activation_forward(Z, name)
    np.testing.assert_allclose(A, ACT[name](Z), rtol=1e-13, atol=1e-15)
    dZ = act.activation_backward(dA, cache)
    assert dZ.shape == shape
    assert_autograd(f"activation_backward[{name}]", dZ, vjp(ACT[name], Z, dA))
    assert_fd(f"activation_backward[{name}]", dZ, numerical_vjp(lambda x: act.activation_forward(x, name)[0], Z, dA))


def test_softmax_properties():
    z = _z(5, (4, 3), scale=10.0)
    s = act.softmax(z)
    np.testing.assert_allclose(s.sum(axis=1), 1.0, rtol=1e-15)
    assert np.all(s > 0)
    np.testing.assert_allclose(act.softmax(z + 123.0), s, rtol=1e-12)
    np.testing.assert_allclose(act.softmax(z, axis=0).sum(axis=0), 1.0, rtol=1e-15)
    np.testing.assert_allclose(act.softmax(z, axis=0), act.softmax(z.T).T, rtol=1e-15)


BIG = np.array([[-1e4, -710.0, -50.0, 0.0, 50.0, 710.0, 1e4]])


def test_stability_no_warning_and_finite():
    with no_warnings():
        outs = [
            act.sigmoid(BIG), act.sigmoid_derivative(BIG), act.tanh(BIG), act.tanh_derivative(BIG),
            act.softmax(BIG), act.softmax_derivative(BIG), act.relu(BIG),
            act.softmax_backward(np.ones_like(BIG), act.softmax(BIG)),
            act.softmax_jacobian(np.array([1e4, -1e4, 0.0])),
        ]
        for name in act.ACTIVATIONS:
            A, cache = act.activation_forward(BIG, name)
            outs += [A, act.activation_backward(np.ones_like(BIG), cache)]
    for out in outs:
        assert np.all(np.isfinite(out))
    s = act.sigmoid(BIG)[0]
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    np.testing.assert_allclose(s[2], np.exp(-50.0) / (1 + np.exp(-50.0)), rtol=1e-15)
    np.testing.assert_array_equal(act.softmax(BIG)[0], [0, 0, 0, 0, 0, 0, 1.0])
    np.testing.assert_allclose(act.softmax(np.array([1e4, 1e4])), [0.5, 0.5])
    # in the tails the derivative stays accurate instead of rounding to 0
    np.testing.assert_allclose(act.sigmoid_derivative(np.array([40.0, -40.0])), np.exp(-40.0), rtol=1e-12)


def test_inputs_are_not_modified():
    Z = _z(6, (3, 4))
    Z0 = Z.copy()
    dA = _z(7, (3, 4))
    for name in act.ACTIVATIONS:
        A, cache = act.activation_forward(Z, name)
        act.activation_backward(dA, cache)
    act.softmax_backward(dA, act.softmax(Z))
    np.testing.assert_array_equal(Z, Z0)


@pytest.mark.parametrize(
    "fn",
    [act.sigmoid, act.relu, act.tanh, act.softmax, act.sigmoid_derivative, act.relu_derivative,
     act.tanh_derivative, lambda z: act.activation_forward(z, "tanh")[0]],
)
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int8])
def test_promotes_to_float64(fn, dtype):
    out = fn(np.array([[-2, 0, 3]], dtype=dtype))
    assert out.dtype == np.float64
    assert fn([[1, 2], [3, 4]]).dtype == np.float64


def _one_line_error(fn, *args, match=None):
    with pytest.raises(BackpropLabError, match=match) as info:
        fn(*args)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_bad_inputs():
    _one_line_error(act.sigmoid, "1.0", match="got str")
    _one_line_error(act.relu, None, match="got None")
    _one_line_error(act.softmax, 3.0, match="scalar")
    _one_line_error(act.softmax_jacobian, np.ones((2, 3)), match="1-D")
    _one_line_error(act.softmax_backward, np.ones((2, 3)), np.ones((3, 2)), match="same shape")
    msg = _one_line_error(act.activation_forward, np.ones((2, 2)), "Relu", match="unknown activation")
    assert "'relu'" in msg
    _, cache = act.activation_forward(np.ones((2, 3)), "tanh")
    _one_line_error(act.activation_backward, np.ones((3, 2)), cache, match="dA")


def test_list_of_lists_accepted():
    np.testing.assert_allclose(act.relu([[-1, 2]]), [[0.0, 2.0]])
