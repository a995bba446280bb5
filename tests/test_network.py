"""MLP: initialisation, forward, backward and loss gradients vs autograd and finite differences, training."""

import numpy as np
import pytest

from backproplab import network as net
from backproplab.errors import BackpropLabError
from backproplab.gradcheck import numerical_gradient, numerical_vjp
from backproplab.losses import mse_grad
from tests._autodiff import (
    ag_mlp_forward,
    ag_mlp_loss,
    assert_autograd,
    assert_fd,
    grad,
    no_warnings,
    one_hot,
    vjp,
)

# single layer (the seed 001/004 first-layer bug), m = 1, non-square layers, one output
ARCHS = [([3, 1], 4), ([2, 5, 3], 1), ([4, 3, 6, 2], 5), ([1, 4, 1], 3)]
PAIRS = [("linear", "mse"), ("sigmoid", "bce"), ("softmax", "cross_entropy"), ("tanh", "mse"), ("sigmoid", "mse")]


def _problem(sizes, m, output, loss, seed):
    rng = np.random.default_rng(seed)
    params = net.init_mlp(sizes, rng=rng, init="xavier")
    # non-zero biases so that their gradients are exercised through every activation
    params = {k: v + (rng.normal(scale=0.3, size=v.shape) if k.startswith("b") else 0.0) for k, v in params.items()}
    X = rng.normal(size=(m, sizes[0]))
    n = sizes[-1]
    if loss == "mse":
        Y = rng.normal(size=(m, n))
    elif loss == "bce":
        Y = (rng.random((m, n)) < 0.5).astype(float)
    else:
        Y = one_hot(rng, m, n)
    return params, X, Y


def _perturb(params, key, value):
    out = dict(params)
    out[key] = value
    return out


@pytest.mark.parametrize("l2", [0.0, 0.3])
@pytest.mark.parametrize("hidden", ["relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("output, loss", PAIRS)
@pytest.mark.parametrize("sizes, m", ARCHS)
def test_mlp_loss_and_grads(sizes, m, output, loss, hidden, l2):
    if loss == "cross_entropy" and sizes[-1] == 1:
        sizes = [*sizes[:-1], 3]
    params, X, Y = _problem(sizes, m, output, loss, seed=len(sizes) * 10 + m)
    value, grads = net.mlp_loss_and_grads(params, X, Y, hidden=hidden, output=output, loss=loss, l2=l2)
    assert list(grads) == [f"d{k}" for k in params]
    np.testing.assert_allclose(value, ag_mlp_loss(params, X, Y, hidden, output, loss, l2), rtol=1e-11)
    ag_grads = grad(ag_mlp_loss)(params, X, Y, hidden, output, loss, l2)
    for key in params:
        g = grads["d" + key]
        assert g.shape == params[key].shape
        assert_autograd(f"mlp_loss_and_grads d{key[0]} ({output}, {loss})", g, ag_grads[key])
        numeric = numerical_gradient(
            lambda p, key=key: net.mlp_loss_and_grads(_perturb(params, key, p), X, Y, hidden, output, loss, l2)[0],
            params[key],
        )
        assert_fd(f"mlp_loss_and_grads d{key[0]} ({output}, {loss})", g, numeric)


@pytest.mark.parametrize("output", ["linear", "sigmoid", "tanh", "softmax", "relu"])
@pytest.mark.parametrize("sizes, m", ARCHS)
def test_mlp_backward_vjp(sizes, m, output):
    params, X, _ = _problem(sizes, m, "linear", "mse", seed=m)
    dY = np.random.default_rng(m + 100).normal(size=(m, sizes[-1]))
    Y_hat, caches = net.mlp_forward(X, params, hidden="tanh", output=output)
    np.testing.assert_allclose(Y_hat, ag_mlp_forward(params, X, "tanh", output), rtol=1e-12, atol=1e-15)
    grads = net.mlp_backward(dY, caches)
    ag_grads = vjp(lambda p: ag_mlp_forward(p, X, "tanh", output), params, dY)
    for key in params:
        assert_autograd(f"mlp_backward d{key[0]}", grads["d" + key], ag_grads[key])
        numeric = numerical_vjp(
            lambda p, key=key: net.mlp_forward(X, _perturb(params, key, p), hidden="tanh", output=output)[0],
            params[key], dY,
        )
        assert_fd(f"mlp_backward d{key[0]}", grads["d" + key], numeric)


@pytest.mark.parametrize("output, loss", [("sigmoid", "bce"), ("softmax", "cross_entropy"), ("linear", "mse")])
def test_saturated_network_stays_finite(output, loss):
    params, X, Y = _problem([3, 4, 3], 5, output, loss, seed=9)
    params = {k: 3e3 * v for k, v in params.items()}  # logits of order 1e4
    with no_warnings():
        value, grads = net.mlp_loss_and_grads(params, X, Y, hidden="tanh", output=output, loss=loss)
    assert np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads.values())


def test_single_layer_uses_X_for_the_first_weights():
    # Seed 001's output branch uses activations[i-1]; with one layer that wraps to the output itself.
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    params = net.init_mlp([3, 2], rng=1)
    _, grads = net.mlp_loss_and_grads(params, X, Y)
    dY = mse_grad(X @ params["W1"] + params["b1"], Y)
    np.testing.assert_allclose(grads["dW1"], X.T @ dY, rtol=1e-13)
    np.testing.assert_allclose(grads["db1"], dY.sum(axis=0, keepdims=True), rtol=1e-13)


def test_init_mlp():
    params = net.init_mlp([4, 7, 3], rng=0)
    assert list(params) == ["W1", "b1", "W2", "b2"]
    assert params["W1"].shape == (4, 7) and params["W2"].shape == (7, 3)
    assert params["b1"].shape == (1, 7) and not params["b2"].any()
    assert all(v.dtype == np.float64 for v in params.values())
    again = net.init_mlp([4, 7, 3], rng=np.random.default_rng(0))
    for k in params:
        np.testing.assert_array_equal(params[k], again[k])
    assert not np.array_equal(net.init_mlp([4, 7, 3], rng=1)["W1"], params["W1"])
    wide = net.init_mlp([2000, 1000], rng=2, init="he")["W1"]
    assert wide.std() == pytest.approx(np.sqrt(2 / 2000), rel=0.01)
    wide = net.init_mlp([2000, 1000], rng=2, init="xavier_uniform")["W1"]
    assert np.abs(wide).max() <= np.sqrt(6 / 3000)
    custom = net.init_mlp([2, 3], init=lambda n_in, n_out, rng: np.ones((n_in, n_out)))
    np.testing.assert_array_equal(custom["W1"], np.ones((2, 3)))


class TestMLP:
    def test_training_decreases_the_loss(self):
        rng = np.random.default_rng(0)
        X = rng.uniform(-1, 1, size=(64, 2))
        Y = np.sin(2 * X[:, :1]) + X[:, 1:] ** 2
        model = net.MLP([2, 16, 1], hidden="tanh", learning_rate=0.1, rng=0)
        first = model.loss(X, Y)
        for _ in range(300):
            model.train_step(X, Y)
        assert model.loss(X, Y) < 0.2 * first

    def test_classifier_learns_xor(self):
        X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        labels = np.array([0, 1, 1, 0])
        model = net.MLP([2, 8, 2], hidden="tanh", output="softmax", loss="cross_entropy", learning_rate=0.5, rng=3)
        for _ in range(500):
            model.train_step(X, np.eye(2)[labels])
        np.testing.assert_array_equal(model.forward(X).argmax(axis=1), labels)
        model = net.MLP([2, 8, 1], hidden="tanh", output="sigmoid", loss="bce", learning_rate=0.5, rng=3)
        for _ in range(500):
            model.train_step(X, labels[:, None].astype(float))
        np.testing.assert_array_equal(model.forward(X).ravel() > 0.5, labels.astype(bool))

    def test_methods_agree_with_the_functions(self):
        rng = np.random.default_rng(1)
        X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
        model = net.MLP([3, 5, 2], learning_rate=0.05, rng=4, l2=0.1)
        value, grads = net.mlp_loss_and_grads(model.params, X, Y, l2=0.1)
        assert model.loss(X, Y) == value
        for k, g in model.backward(X, Y).items():
            np.testing.assert_array_equal(g, grads[k])
        np.testing.assert_array_equal(model.forward(X), net.mlp_forward(X, model.params)[0])
        before = {k: v.copy() for k, v in model.params.items()}
        old_arrays = dict(model.params)
        assert model.train_step(X, Y) == value  # the loss before the step
        for k in model.params:
            np.testing.assert_allclose(model.params[k], before[k] - 0.05 * grads["d" + k], rtol=1e-15)
            np.testing.assert_array_equal(old_arrays[k], before[k])  # no in-place update
        assert [w.shape for w in model.weights] == [(3, 5), (5, 2)]
        assert [b.shape for b in model.biases] == [(1, 5), (1, 2)]
        assert "MLP([3, 5, 2]" in repr(model)

    def test_default_init_follows_the_activation(self):
        relu = net.MLP([1000, 1000], hidden="relu", rng=0).params["W1"].std()
        tanh = net.MLP([1000, 1000], hidden="tanh", rng=0).params["W1"].std()
        assert relu == pytest.approx(np.sqrt(2 / 1000), rel=0.01)
        assert tanh == pytest.approx(np.sqrt(2 / 2000), rel=0.01)


def _message(fn, *args, **kwargs):
    with pytest.raises(BackpropLabError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_bad_inputs():
    params = net.init_mlp([3, 4, 2], rng=0)
    X, Y = np.ones((5, 3)), np.ones((5, 2))
    assert "output='sigmoid'" in _message(net.mlp_loss_and_grads, params, X, Y, output="linear", loss="bce")
    assert "output='softmax'" in _message(net.MLP, [3, 2], loss="cross_entropy")
    assert "unknown loss" in _message(net.mlp_loss_and_grads, params, X, Y, loss="hinge")
    assert "unknown hidden activation" in _message(net.mlp_forward, X, params, hidden="ReLU")
    assert "layer 2" in _message(net.mlp_forward, X, {**params, "W2": np.ones((2, 4))})
    assert "no b2" in _message(net.mlp_forward, X, {k: v for k, v in params.items() if k != "b2"})
    assert "same shape" in _message(net.mlp_loss_and_grads, params, X, np.ones(5))
    assert "X" in _message(net.mlp_forward, "X", params)
    assert "at least 2" in _message(net.init_mlp, [3])
    assert "positive ints" in _message(net.init_mlp, [3, 0])
    assert "unknown initializer" in _message(net.init_mlp, [3, 2], init="zeros")
    _, caches = net.mlp_forward(X, params)
    assert "dY_hat" in _message(net.mlp_backward, np.ones((5, 3)), caches)
    model = net.MLP([3, 2], rng=0)
    assert "dW1" in _message(model.update, {"db1": np.zeros((1, 2))})


def test_float64_promotion():
    params = {k: v.astype(np.float32) for k, v in net.init_mlp([3, 4, 2], rng=0).items()}
    value, grads = net.mlp_loss_and_grads(params, np.ones((2, 3), dtype=np.int64), np.zeros((2, 2), np.float32))
    assert isinstance(value, float)
    assert all(g.dtype == np.float64 for g in grads.values())
