"""A multi-layer perceptron built from :mod:`layers`, :mod:`activations` and :mod:`losses` (row convention).

``params = {"W1": (n_0, n_1), "b1": (1, n_1), ..., "WL": (n_{L-1}, n_L), "bL": (1, n_L)}`` for
``sizes = [n_0, n_1, ..., n_L]``; hidden layers share one activation, the output layer has its own.

This is seed 001's network with its errors fixed:

* the MSE gradient keeps its factor 2: ``dY_hat = (2/m)(Y_hat - Y)`` (seed 001 drops it, so its gradients are
  those of half the loss it reports);
* the first layer's weight gradient uses ``X``: seed 001 writes ``activations[i-1]`` in its
  output-layer branch, which for a network with one layer is ``activations[-1]`` (the output itself: the
  negative index wraps around), and seed 004 looks up ``cache['a' + str(l-1)]`` at ``l = 0``; here every
  layer keeps its own input in its cache;
* beyond seed 001, the output activation need not be linear (sigmoid + BCE, softmax + cross-entropy).
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

from .activations import ACTIVATIONS, ActivationCache, activation_backward, activation_forward
from .errors import BackpropLabError, as_array, check_same_shape
from .initializers import get_initializer, make_rng
from .layers import DenseCache, dense_backward, dense_forward
from .losses import bce_with_logits_grad, bce_with_logits_loss, mse_grad, mse_loss, softmax_cross_entropy
from .regularization import l2_grad, l2_penalty

__all__ = ["LOSSES", "MLP", "LayerCache", "init_mlp", "mlp_backward", "mlp_forward", "mlp_loss_and_grads"]

LOSSES = {"mse": None, "bce": "sigmoid", "cross_entropy": "softmax"}
"""Each loss with the output activation it requires (``None``: any output activation)."""


class LayerCache(NamedTuple):
    """One layer's caches: the dense part (``X, W, b``) and the activation part (``name, Z, A``)."""

    dense: DenseCache
    activation: ActivationCache


def _sizes(sizes) -> list[int]:
    try:
        sizes = list(sizes)
    except TypeError:
        raise BackpropLabError(
            f"sizes must be a list of ints like [2, 8, 1], got {type(sizes).__name__}"
        ) from None
    if len(sizes) < 2:
        raise BackpropLabError(f"sizes needs at least 2 entries (inputs, outputs), got {sizes!r}")
    for n in sizes:
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise BackpropLabError(f"sizes must hold positive ints, got {sizes!r}")
    return [int(n) for n in sizes]


def init_mlp(sizes, rng=None, init="he"):
    """Parameters of an MLP with widths ``sizes = [n_0, ..., n_L]`` -> ``{"W1", "b1", ..., "WL", "bL"}``.

    ``W_l`` has shape ``(n_{l-1}, n_l)`` drawn by ``init`` (``"he"``, ``"xavier"``, ``"xavier_uniform"``,
    ``"lecun"`` or a callable ``(n_in, n_out, rng)``), ``b_l`` is zeros ``(1, n_l)``. ``rng``: ``None``, an
    int seed or a Generator; one generator draws all layers in order.
    """
    sizes = _sizes(sizes)
    make = get_initializer(init)
    gen = make_rng(rng)
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = as_array(make(sizes[l - 1], sizes[l], gen), f"W{l}", shape=(sizes[l - 1], sizes[l]))
        params[f"b{l}"] = np.zeros((1, sizes[l]))
    return params


def _num_layers(params) -> int:
    if not isinstance(params, dict):
        raise BackpropLabError(f'params must be a dict {{"W1": ..., "b1": ...}}, got {type(params).__name__}')
    layers = sorted(int(k[1:]) for k in params if re.fullmatch(r"W[1-9]\d*", k))
    if not layers:
        raise BackpropLabError('params must hold "W1", "b1", ... (none found)')
    L = layers[-1]
    for l in range(1, L + 1):
        for key in (f"W{l}", f"b{l}"):
            if key not in params:
                raise BackpropLabError(f"params has W{L} but no {key}")
    return L


def _check_activation(name, what) -> None:
    if name not in ACTIVATIONS:
        choices = ", ".join(repr(n) for n in ACTIVATIONS)
        raise BackpropLabError(f"unknown {what} activation {name!r}; choose one of {choices}")


def mlp_forward(X, params, hidden="relu", output="linear"):
    """Forward pass: ``X`` ``(m, n_0)`` -> ``(Y_hat, caches)`` with ``Y_hat`` of shape ``(m, n_L)``.

    Layer ``l``: ``Z_l = A_{l-1} @ W_l + b_l``, ``A_l = f(Z_l)`` with ``A_0 = X``, ``f = hidden`` for ``l <
    L`` and ``f = output`` for ``l = L``. ``caches`` is a list of ``L`` :class:`LayerCache`, one per layer,
    in order.
    """
    _check_activation(hidden, "hidden")
    _check_activation(output, "output")
    L = _num_layers(params)
    A = as_array(X, "X", ndim=2, labels=("m", "n_in"))
    caches = []
    for l in range(1, L + 1):
        try:
            Z, dense_cache = dense_forward(A, params[f"W{l}"], params[f"b{l}"])
        except BackpropLabError as err:
            raise BackpropLabError(f"layer {l}: {err}") from None
        A, act_cache = activation_forward(Z, output if l == L else hidden)
        caches.append(LayerCache(dense_cache, act_cache))
    return A, caches


def _backprop_from_dz(dZ, caches):
    """Backward through the dense layers given ``dZ`` of the last layer (its activation already handled)."""
    L = len(caches)
    grads = {}
    for l in range(L, 0, -1):
        dA_prev, grads[f"dW{l}"], grads[f"db{l}"] = dense_backward(dZ, caches[l - 1][0])
        if l > 1:
            dZ = activation_backward(dA_prev, caches[l - 2][1])
    return {k: grads[k] for l in range(1, L + 1) for k in (f"dW{l}", f"db{l}")}


def mlp_backward(dY_hat, caches):
    """Backward pass: ``dY_hat = dL/dY_hat`` ``(m, n_L)`` and :func:`mlp_forward`'s ``caches`` -> ``grads``.

    ``grads = {"dW1": (n_0, n_1), "db1": (1, n_1), ...}`` (same shapes as the parameters). ``dY_hat`` already
    holds the loss's ``1/m`` (e.g. :func:`~backproplab.losses.mse_grad`); nothing here divides by ``m``.
    """
    if not caches:
        raise BackpropLabError("caches is empty: pass the caches returned by mlp_forward")
    last = caches[-1][1]  # the output layer's ActivationCache(name, Z, A)
    dY_hat = as_array(dY_hat, "dY_hat")
    check_same_shape(last[2], dY_hat, "Y_hat", "dY_hat")
    return _backprop_from_dz(activation_backward(dY_hat, last), caches)


def _check_pair(output, loss) -> None:
    if loss not in LOSSES:
        choices = ", ".join(repr(k) for k in LOSSES)
        raise BackpropLabError(f"unknown loss {loss!r}; choose one of {choices}")
    need = LOSSES[loss]
    if need is not None and output != need:
        raise BackpropLabError(
            f"loss={loss!r} needs output={need!r} (its gradient is (P - Y)/m), got {output!r}"
        )


def mlp_loss_and_grads(params, X, Y, hidden="relu", output="linear", loss="mse", l2=0.0):
    """Loss and gradients of an MLP on a batch: ``X`` ``(m, n_0)``, ``Y`` ``(m, n_L)`` -> ``(loss, grads)``.

    ``(output, loss)``: ``("linear", "mse")`` (``mse`` works with any output activation, by the chain rule),
    ``("sigmoid", "bce")`` and ``("softmax", "cross_entropy")``; for the last two the loss is computed from
    the logits ``Z_L`` (stable) and ``dZ_L = (P - Y)/m`` directly. ``l2 >= 0`` adds ``(l2/2) sum ||W_l||^2``
    to the loss and ``l2 * W_l`` to ``dW_l`` (biases are not regularized). ``grads`` has keys ``dW1, db1,
    ...``.
    """
    _check_pair(output, loss)
    Y_hat, caches = mlp_forward(X, params, hidden=hidden, output=output)
    Y = as_array(Y, "Y")
    check_same_shape(Y_hat, Y, "Y_hat", "Y")
    Z_L = caches[-1].activation.Z
    if loss == "mse":
        value = mse_loss(Y_hat, Y)
        grads = mlp_backward(mse_grad(Y_hat, Y), caches)
    elif loss == "bce":
        value = bce_with_logits_loss(Z_L, Y)
        grads = _backprop_from_dz(bce_with_logits_grad(Z_L, Y), caches)
    else:
        value, dZ = softmax_cross_entropy(Z_L, Y)
        grads = _backprop_from_dz(dZ, caches)
    if l2:
        L = len(caches)
        weights = [as_array(params[f"W{l}"], f"W{l}") for l in range(1, L + 1)]
        value += l2_penalty(weights, l2)
        for l, W in enumerate(weights, start=1):
            grads[f"dW{l}"] = grads[f"dW{l}"] + l2_grad(W, l2)
    return float(value), grads


class MLP:
    """A small trainable MLP (seed 001's ``NeuralNetwork``, fixed) over the functions of this module.

    ``MLP(sizes, hidden="relu", output="linear", loss="mse", learning_rate=0.01, rng=None)``; the parameters
    live in ``self.params`` (see :func:`init_mlp`; He initialization for ReLU hidden layers, Xavier
    otherwise, unless ``init`` is given). ``l2`` adds weight decay. Shapes: ``X`` ``(m, sizes[0])``, ``Y``
    ``(m, sizes[-1])``.
    """

    def __init__(self, sizes, hidden="relu", output="linear", loss="mse", learning_rate=0.01, rng=None,
                 init=None, l2=0.0):
        _check_activation(hidden, "hidden")
        _check_activation(output, "output")
        _check_pair(output, loss)
        self.sizes = _sizes(sizes)
        self.hidden, self.output, self.loss_name = hidden, output, loss
        self.learning_rate = float(learning_rate)
        self.l2 = float(l2)
        if init is None:
            init = "he" if hidden == "relu" else "xavier"
        self.params = init_mlp(self.sizes, rng=rng, init=init)

    def __repr__(self) -> str:
        return (f"MLP({self.sizes}, hidden={self.hidden!r}, output={self.output!r}, loss={self.loss_name!r}, "
                f"learning_rate={self.learning_rate})")

    @property
    def weights(self) -> list[np.ndarray]:
        """``[W1, ..., WL]`` (seed 001's ``self.weights``)."""
        return [self.params[f"W{l}"] for l in range(1, len(self.sizes))]

    @property
    def biases(self) -> list[np.ndarray]:
        """``[b1, ..., bL]`` (seed 001's ``self.biases``)."""
        return [self.params[f"b{l}"] for l in range(1, len(self.sizes))]

    def _loss_and_grads(self, X, Y):
        return mlp_loss_and_grads(
            self.params, X, Y, hidden=self.hidden, output=self.output, loss=self.loss_name, l2=self.l2
        )

    def forward(self, X):
        """Predictions ``Y_hat`` ``(m, sizes[-1])`` for ``X`` ``(m, sizes[0])`` (after the output
        activation)."""
        return mlp_forward(X, self.params, hidden=self.hidden, output=self.output)[0]

    def loss(self, X, Y) -> float:
        """The training loss (including the L2 term) on ``(X, Y)`` -> float."""
        return self._loss_and_grads(X, Y)[0]

    def backward(self, X, Y):
        """Gradients ``{"dW1", "db1", ...}`` of the loss on ``(X, Y)``, same shapes as the parameters."""
        return self._loss_and_grads(X, Y)[1]

    def update(self, grads) -> None:
        """One gradient-descent step ``p = p - learning_rate * dp`` (new arrays; old ones are not
        modified)."""
        for key in list(self.params):
            dkey = "d" + key
            if dkey not in grads:
                raise BackpropLabError(f"grads has no {dkey!r}; expected keys like 'dW1', 'db1'")
            g = as_array(grads[dkey], dkey)
            check_same_shape(self.params[key], g, key, dkey)
            self.params[key] = self.params[key] - self.learning_rate * g

    def train_step(self, X, Y) -> float:
        """Compute the loss and gradients on ``(X, Y)``, update once; return the loss *before* the update."""
        value, grads = self._loss_and_grads(X, Y)
        self.update(grads)
        return value
