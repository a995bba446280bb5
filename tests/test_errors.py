"""Input validation: one-line messages that name the argument, the expected shape and what was received."""

import numpy as np
import pytest

from backproplab import activations, gradcheck, layers, losses, network, optimizers, regularization
from backproplab.errors import BackpropLabError, as_array, check_matmul, check_same_shape


def _message(fn, *args, **kwargs):
    with pytest.raises(BackpropLabError) as info:
        fn(*args, **kwargs)
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_is_a_value_error_with_one_line():
    assert issubclass(BackpropLabError, ValueError)
    assert str(BackpropLabError("two\n  lines")) == "two lines"


@pytest.mark.parametrize(
    "x, expected",
    [
        ([[1, 2], [3, 4]], [[1.0, 2.0], [3.0, 4.0]]),
        (np.array([1, 2], dtype=np.int8), [1.0, 2.0]),
        (np.array([0.5], dtype=np.float32), [0.5]),
        (np.array([True, False]), [1.0, 0.0]),
        (3, 3.0),
        ((1.5, 2), [1.5, 2.0]),
    ],
)
def test_accepts_numbers(x, expected):
    arr = as_array(x, "X")
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float64
    np.testing.assert_array_equal(arr, expected)


def test_float64_arrays_are_not_copied():
    x = np.ones((2, 2))
    assert as_array(x, "X") is x


@pytest.mark.parametrize(
    "x, expected",
    [
        ("1.0", "X must be a numpy array of numbers, got str"),
        (None, "X must be a numpy array of numbers, got None"),
        (b"12", "X must be a numpy array of numbers, got bytes"),
        ({"a": 1}, "X must be a numpy array of numbers, got dict"),
        ([[1, 2], [3]], "X must be a numpy array of numbers, got a list that numpy cannot turn into"),
        (["a", "b"], "X must be a numpy array of numbers, got an array of strings"),
        ([1.0, None], "X must be a numpy array of numbers, got a list containing None"),
        (np.array([1j]), "X must hold real numbers, got complex values"),
    ],
)
def test_refuses_non_numbers(x, expected):
    assert _message(as_array, x, "X").startswith(expected)


def test_shape_messages():
    W = np.zeros((4, 3))
    msg = _message(as_array, W, "W", shape=(3, 4), labels=("n_in", "n_out"))
    assert msg.startswith("W must have shape (3, 4) (n_in, n_out), got (4, 3)")
    assert "transpose" in msg
    msg = _message(as_array, np.zeros((5, 3)), "dZ", shape=(None, 4), labels=("m", "n_out"))
    assert msg == "dZ must have shape (m, 4) (m, n_out), got (5, 3)"
    assert _message(as_array, np.zeros(3), "X", ndim=2) == (
        "X must be a 2-D array, got 1-D with shape (3,); reshape a vector with .reshape(1, -1) (one row) "
        "or .reshape(-1, 1) (one column)"
    )
    assert _message(as_array, np.zeros((2, 2, 2)), "A", shape=(2, 2)) == "A must have shape (2, 2), got (2, 2, 2)"
    assert as_array(np.zeros((5, 4)), "dZ", shape=(None, 4)).shape == (5, 4)


def test_check_matmul():
    assert check_matmul((5, 3), (3, 2), "X", "W") == (5, 2)
    assert check_matmul(np.ones((2, 3)), np.ones((3, 4))) == (2, 4)
    msg = _message(check_matmul, (5, 3), (4, 2), "X", "W")
    assert msg == "cannot compute X @ W: X has shape (5, 3), so W needs 3 rows, but W has shape (4, 2)"
    msg = _message(check_matmul, (5, 3), (4, 3), "A_prev", "W2")
    assert "A_prev @ W2" in msg and "W2.T would fit" in msg
    assert "must be 2-D" in _message(check_matmul, (5,), (5, 2), "x", "W")


def test_check_same_shape():
    check_same_shape(np.ones((2, 1)), np.ones((2, 1)), "Y_hat", "Y")
    assert _message(check_same_shape, np.ones((4, 1)), np.ones(4), "Y_hat", "Y") == (
        "Y must have the same shape as Y_hat (4, 1), got (4,)"
    )


# One call per public function with a bad argument: every one raises BackpropLabError on one line.
_X, _W, _b = np.ones((2, 3)), np.ones((3, 4)), np.zeros((1, 4))
_, _DENSE = layers.dense_forward(_X, _W, _b)
BAD_CALLS = [
    (activations.sigmoid, ("z",)),
    (activations.sigmoid_derivative, (None,)),
    (activations.relu, ([[1], [2, 3]],)),
    (activations.relu_derivative, ("0",)),
    (activations.tanh, (None,)),
    (activations.tanh_derivative, ("x",)),
    (activations.softmax, (None,)),
    (activations.softmax_jacobian, (np.ones((2, 2)),)),
    (activations.softmax_derivative, (np.ones((2, 2, 2)),)),
    (activations.softmax_backward, (np.ones((2, 3)), "A")),
    (activations.activation_forward, (_X, "gelu")),
    (losses.mse_loss, (np.ones((2, 1)), np.ones(2))),
    (losses.mse_grad, ("Y_hat", np.ones(2))),
    (losses.bce_loss, (np.ones((2, 1)), None)),
    (losses.bce_grad, (np.ones((2, 1)), np.ones((1, 2)))),
    (losses.bce_with_logits_loss, (None, None)),
    (losses.bce_with_logits_grad, (np.ones(3), np.ones(2))),
    (losses.cross_entropy_loss, (np.ones(3), np.ones(3))),
    (losses.cross_entropy_grad, (np.ones((2, 3)), np.ones((3, 2)))),
    (losses.softmax_cross_entropy, (np.ones((2, 3)), "Y")),
    (layers.dense_forward, (_X, _W.T, _b)),
    (layers.dense_forward, (_X, _W, np.zeros(4))),
    (layers.dense_backward, (np.ones((2, 3)), _DENSE)),
    (network.init_mlp, ("3-2",)),
    (network.mlp_forward, (_X, {"W1": _W})),
    (network.mlp_forward, (_X, [_W, _b])),
    (network.mlp_loss_and_grads, ({"W1": _W, "b1": _b}, _X, np.ones((2, 3)))),
    (network.MLP, ([3, 2],), {"hidden": "elu"}),
    (optimizers.sgd, (_W, _W.T)),
    (optimizers.sgd_momentum, (_W, _W, {"convention": "Classic"})),
    (optimizers.rmsprop, (None, _W)),
    (optimizers.adam, (_W, "dw")),
    (regularization.l2_penalty, ("W", 0.1)),
    (regularization.l2_grad, (_W, None)),
    (regularization.dropout_forward, (_X, 0)),
    (regularization.dropout_backward, ("dout", (None, 1.0))),
    (gradcheck.numerical_gradient, (np.sum, None)),
    (gradcheck.numerical_vjp, (np.tanh, _X, "dout")),
    (gradcheck.relative_error, ("a", _X)),
    (gradcheck.gradient_check, (np.sum, _X, "analytic")),
]


@pytest.mark.parametrize("call", BAD_CALLS, ids=lambda c: c[0].__name__)
def test_every_public_function_validates(call):
    fn, args, kwargs = (*call, {}) if len(call) == 2 else call
    msg = _message(fn, *args, **kwargs)
    assert len(msg) < 240
