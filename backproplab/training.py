"""Mini-batch training of a ReLU network with a softmax output (notebook 08), and the live view of a run.

The reference of each exercise of notebook 08 (:func:`minibatches`, :func:`numerical_gradients`,
:func:`train_step`, :func:`train`) and the network they train, :func:`loss_and_grads`, built from *parts*: an
object holding ``dense_forward, dense_backward, relu_backward, softmax_cross_entropy_grad, l2_grad,
dropout_forward, dropout_backward`` (the learner's own, see :mod:`backproplab.parts`, or the course's). No
matplotlib here: :class:`TrainingMonitor` draws through :mod:`backproplab.plots.training` only when a figure is
wanted, and never while nbgrader runs a notebook.

Row convention: ``X`` ``(m, n_0)``, ``Y`` one-hot ``(m, K)``, ``params = {"W1": (n_0, n_1), "b1": (1, n_1), ...}``,
hidden layers ``A = relu(X W + b)`` (with inverted dropout when ``keep_prob < 1``), output logits ``Z_L``.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np

from backproplab import headless
from backproplab.activations import relu, softmax
from backproplab.datasets import load_digits, one_hot
from backproplab.gradcheck import relative_error
from backproplab.initializers import he_normal
from backproplab.layers import dense_backward, dense_forward
from backproplab.losses import softmax_cross_entropy
from backproplab.optimizers import adam
from backproplab.regularization import dropout_backward, dropout_forward, l2_grad, l2_penalty

__all__ = ["COURSE_PARTS", "DIGITS_RECIPE", "TrainingMonitor", "accuracy", "init_network", "logits",
           "loss_and_grads", "make_loss_and_grads", "minibatches", "numerical_gradients", "predict", "train",
           "train_digits", "train_step"]


def _relu_backward(dA, Z):
    return dA * (np.asarray(Z) > 0)


def _softmax_cross_entropy_grad(Z, Y):
    return softmax_cross_entropy(Z, Y)[1]


def _stable_softmax(Z):
    return softmax(Z, axis=1)


#: The course's parts: what :func:`loss_and_grads` uses when no learner part is given.
COURSE_PARTS = SimpleNamespace(
    dense_forward=dense_forward, dense_backward=dense_backward, relu_backward=_relu_backward,
    softmax_cross_entropy_grad=_softmax_cross_entropy_grad, l2_grad=l2_grad, dropout_forward=dropout_forward,
    dropout_backward=dropout_backward, he_normal=he_normal, stable_softmax=_stable_softmax, adam=adam,
    relative_error=relative_error,
)
#: The parts the notebook's network uses (:func:`use_parts`, called by :func:`backproplab.parts.collect_parts`):
#: what judges a trained network in the learner's kernel (``check.train_digits``).
_IN_USE = [COURSE_PARTS]


def use_parts(parts) -> None:
    """Make ``parts`` the ones :func:`parts_in_use` returns."""
    _IN_USE[0] = parts


def parts_in_use():
    """The parts last collected in this process (:func:`backproplab.parts.collect_parts`), else the course's."""
    return _IN_USE[0]


def mean_cross_entropy(P, Y) -> float:
    """``-(1/m) Σ_i log P[i, y_i]``: the mean cross-entropy of probabilities ``P`` ``(m, K)`` (a softmax's output)
    for one-hot ``Y``; a probability that rounds to 0 counts as the smallest positive float."""
    P = np.asarray(P, dtype=np.float64)
    picked = np.sum(P * np.asarray(Y, dtype=np.float64), axis=1)
    return float(-np.mean(np.log(np.maximum(picked, np.finfo(np.float64).tiny))))


def _layers(params) -> int:
    return len([k for k in params if k.startswith("W")])


def init_network(sizes, rng, parts=COURSE_PARTS) -> dict:
    """He-initialised weights ``W_l = he_normal(n_{l-1}, n_l, rng)`` and zero biases ``(1, n_l)``."""
    params = {}
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        params[f"W{l}"] = np.asarray(parts.he_normal(n_in, n_out, rng), dtype=np.float64)
        params[f"b{l}"] = np.zeros((1, n_out))
    return params


def make_loss_and_grads(parts=COURSE_PARTS):
    """The network's ``loss_and_grads(params, X, Y, l2=0.0, keep_prob=1.0, rng=None) -> (loss, grads)`` built
    from ``parts``.

    Forward, for l = 1..L: ``Z_l, cache_l = dense_forward(A_{l-1}, W_l, b_l)``; for a hidden layer
    ``A_l = relu(Z_l)``, then ``A_l, mask_l = dropout_forward(A_l, keep_prob, rng)`` when ``keep_prob < 1``.
    Loss: ``softmax cross-entropy of Z_L`` (a mean over the batch) ``+ (l2/2) Σ ||W_l||²``. Backward:
    ``dZ_L = softmax_cross_entropy_grad(Z_L, Y)`` (holds the 1/m), then for l = L..1
    ``dA_{l-1}, dW_l, db_l = dense_backward(dZ_l, cache_l)``, ``dW_l += l2_grad(W_l, l2)``, and below a hidden
    layer ``dA = dropout_backward(dA, mask)``, ``dZ_{l-1} = relu_backward(dA, Z_{l-1})``.
    ``grads`` holds ``"dW1", "db1", ...`` shaped like the parameters.
    """
    def loss_and_grads(params, X, Y, l2=0.0, keep_prob=1.0, rng=None):
        L = _layers(params)
        A, caches = X, []
        for l in range(1, L + 1):
            Z, cache = parts.dense_forward(A, params[f"W{l}"], params[f"b{l}"])
            mask = None
            if l < L:
                A = relu(Z)
                if keep_prob < 1.0:
                    A, mask = parts.dropout_forward(A, keep_prob, rng)
            caches.append((cache, Z, mask))
        weights = [params[f"W{l}"] for l in range(1, L + 1)]
        loss = mean_cross_entropy(parts.stable_softmax(Z), Y) + l2_penalty(weights, l2)
        dZ = parts.softmax_cross_entropy_grad(Z, Y)
        grads = {}
        for l in range(L, 0, -1):
            dA, dW, db = parts.dense_backward(dZ, caches[l - 1][0])
            grads[f"dW{l}"] = dW + parts.l2_grad(params[f"W{l}"], l2)
            grads[f"db{l}"] = db
            if l > 1:
                _, Z_prev, mask = caches[l - 2]
                if mask is not None:
                    dA = parts.dropout_backward(dA, mask)
                dZ = parts.relu_backward(dA, Z_prev)
        return float(loss), {k: grads[k] for l in range(1, L + 1) for k in (f"dW{l}", f"db{l}")}
    return loss_and_grads


_COURSE_NETWORK = make_loss_and_grads()


def loss_and_grads(params, X, Y, l2=0.0, keep_prob=1.0, rng=None):
    """The course's network (:func:`make_loss_and_grads` of the course's parts): ``(loss, grads)``."""
    return _COURSE_NETWORK(params, X, Y, l2, keep_prob, rng)


def logits(params, X, parts=COURSE_PARTS) -> np.ndarray:
    """The network's output ``Z_L`` ``(m, K)`` without dropout (evaluation), with ``parts.dense_forward``."""
    A = np.asarray(X, dtype=np.float64)
    L = _layers(params)
    for l in range(1, L + 1):
        Z = parts.dense_forward(A, params[f"W{l}"], params[f"b{l}"])[0]
        A = relu(Z) if l < L else Z
    return A


def predict(params, X, parts=COURSE_PARTS) -> np.ndarray:
    """Predicted classes ``(m,)``: the index of the largest logit of each row."""
    return np.argmax(logits(params, X, parts), axis=1)


def accuracy(params, X, y, parts=COURSE_PARTS) -> float:
    """Fraction of the rows of ``X`` whose predicted class is the label ``y`` ``(m,)``."""
    return float(np.mean(predict(params, X, parts) == np.asarray(y)))


# ----------------------------------------------------------------------------------- exercise references
def minibatches(X, Y, batch_size, rng):
    """One epoch of mini-batches: the rows of ``X`` ``(m, n)`` and ``Y`` ``(m, K)`` shuffled together by
    ``order = rng.permutation(m)``, cut into consecutive batches of ``batch_size`` rows; the last batch holds the
    ``m % batch_size`` remaining rows when ``batch_size`` does not divide ``m``. Returns a list of
    ``(X_batch, Y_batch)``; ``X`` and ``Y`` are not modified. A new order at every call: one call per epoch."""
    order = rng.permutation(X.shape[0])
    return [(X[order[k:k + batch_size]], Y[order[k:k + batch_size]]) for k in range(0, X.shape[0], batch_size)]


def numerical_gradients(f, params, h=1e-5):
    """Centred finite differences of ``f(params) -> float`` for every entry of every parameter array:
    ``(f(p + h) − f(p − h)) / (2h)``, one entry at a time. Returns ``{"dW1": ..., "db1": ..., ...}`` shaped like
    the parameters; ``params`` is left as it was."""
    grads = {}
    for key in params:
        work = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params.items()}
        grad = np.zeros_like(work[key])
        for idx in np.ndindex(grad.shape):
            old = work[key][idx]
            work[key][idx] = old + h
            plus = f(work)
            work[key][idx] = old - h
            minus = f(work)
            work[key][idx] = old
            grad[idx] = (plus - minus) / (2 * h)
        grads["d" + key] = grad
    return grads


def train_step(params, configs, X, Y, update, l2=0.0, keep_prob=1.0, rng=None):
    """One step of mini-batch gradient descent on the batch ``(X, Y)``: ``loss, grads = loss_and_grads(params,
    X, Y, l2, keep_prob, rng)``, then ``new_params[key], new_configs[key] = update(params[key], grads["d" + key],
    configs[key])`` for every key. Returns ``(new_params, new_configs, loss)``."""
    loss, grads = loss_and_grads(params, X, Y, l2, keep_prob, rng)
    new_params, new_configs = {}, {}
    for key in params:
        new_params[key], new_configs[key] = update(params[key], grads["d" + key], configs[key])
    return new_params, new_configs, loss


def train(params, X, Y, epochs, batch_size, update, config, l2=0.0, keep_prob=1.0, rng=None, callback=None):
    """Mini-batch training: one ``config`` per parameter array (``dict(config)``, made once), then for each epoch
    one step of :func:`train_step` per batch of :func:`minibatches`; ``callback(epoch, params, losses)`` at the end
    of every epoch when given. Returns ``(params, losses)``, ``losses`` holding every step's loss."""
    configs = {key: dict(config) for key in params}
    losses = []
    for epoch in range(epochs):
        for X_batch, Y_batch in minibatches(X, Y, batch_size, rng):
            params, configs, loss = train_step(params, configs, X_batch, Y_batch, update, l2, keep_prob, rng)
            losses.append(loss)
        if callback is not None:
            callback(epoch, params, losses)
    return params, losses


#: The course's recipe for the digits: 64 → 64 → 10, Adam, 30 epochs of batches of 32.
DIGITS_RECIPE = {"sizes": (64, 64, 10), "epochs": 30, "batch_size": 32, "learning_rate": 3e-3, "l2": 1e-3,
                 "keep_prob": 1.0, "seed": 0}


def train_digits(callback=None, **changes):
    """The course's network trained on the digits with :data:`DIGITS_RECIPE` (``changes`` override it); returns
    the trained params. About 97% of the validation images right, in about a second."""
    r = {**DIGITS_RECIPE, **changes}
    data = load_digits()
    rng = np.random.default_rng(r["seed"])
    params = init_network(r["sizes"], rng)
    params, _ = train(params, data.X_train, data.Y_train, r["epochs"], r["batch_size"], adam,
                      {"learning_rate": r["learning_rate"]}, r["l2"], r["keep_prob"], rng, callback)
    return params


# ----------------------------------------------------------------------------------------- live view
class TrainingMonitor:
    """A ``callback(epoch, params, losses)`` for :func:`train` that measures, after every epoch, the loss and
    accuracy on the training and validation sets (no dropout) into ``history``, and redraws the curves with a
    progress bar below the cell. Under nbgrader (:func:`backproplab.headless.active`) or with ``draw=False`` it
    only measures."""

    def __init__(self, data, epochs: int, draw: bool = True, title: str = "Training", parts=COURSE_PARTS):
        self.data, self.epochs, self.title, self.parts = data, int(epochs), title, parts
        self.history = {"epoch": [], "train_loss": [], "val_loss": [], "train_acc": [], "val_acc": []}
        self.draw = draw and not headless.active()
        self.start = time.perf_counter()
        self._handles = None
        self._figure = None

    def __call__(self, epoch, params, losses=None):
        d = self.data
        h = self.history
        h["epoch"].append(epoch + 1)
        for split, X, y in (("train", d.X_train, d.y_train), ("val", d.X_val, d.y_val)):
            Z = logits(params, X, self.parts)
            h[f"{split}_loss"].append(mean_cross_entropy(self.parts.stable_softmax(Z), one_hot(y, Z.shape[1])))
            h[f"{split}_acc"].append(float(np.mean(np.argmax(Z, axis=1) == y)))
        every = max(1, self.epochs // 6)  # about six redraws per run: a redraw costs 0.1-0.3 s
        if self.draw and (len(h["epoch"]) % every == 0 or len(h["epoch"]) >= self.epochs):
            self._show()

    def progress_html(self) -> str:
        done = len(self.history["epoch"])
        h = self.history
        text = (f"epoch {done}/{self.epochs} · {time.perf_counter() - self.start:.1f} s · validation accuracy "
                f"{100 * h['val_acc'][-1]:.1f}%") if done else "starting"
        return f'<progress value="{done}" max="{self.epochs}" style="width:40%"></progress> {text}'

    def _show(self):
        from IPython.display import HTML, display

        from backproplab.plots.training import training_curves_figure, update_training_curves

        if self._handles is None:
            self._figure = training_curves_figure(self.history, epochs=self.epochs, title=self.title)
            self._handles = (display(HTML(self.progress_html()), display_id=True),
                             display(self._figure, display_id=True))
        else:
            update_training_curves(self._figure, self.history)
            self._handles[0].update(HTML(self.progress_html()))
            self._handles[1].update(self._figure)
