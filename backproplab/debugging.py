"""A backward pass with one planted bug (notebook 08's debugging exercise).

:data:`SOURCE` is a correct ``loss_and_grads(params, X, Y, l2=0.0)`` for Input → Linear → ReLU → Linear →
softmax → cross-entropy with an L2 penalty, written out line by line. Each entry of :data:`BUGS` replaces one of
its lines by a slip that learners and tutorials make, and says which gradients it breaks; :func:`planted_backward`
draws one per submission. The learner runs a gradient check to find the wrong gradients, names them
(:func:`wrong_gradients`, the reference of the graded exercise) and fixes the code.

Shapes: ``X`` ``(m, n_0)``, one-hot ``Y`` ``(m, K)``, ``W1`` ``(n_0, n_1)``, ``W2`` ``(n_1, K)``; the planted
network has ``n_1 = K`` so that a transposed ``W2`` or ``dW2`` still has the right shape (the slip is silent).
"""

from __future__ import annotations

import linecache
import weakref
import zlib
from typing import NamedTuple

import numpy as np

from backproplab.gradcheck import relative_error

__all__ = ["BUGS", "GRADIENT_KEYS", "SOURCE", "Bug", "PlantedBackward", "backward_with", "loss_and_grads",
           "planted_backward", "planted_source", "wrong_gradients"]

GRADIENT_KEYS = ("dW1", "db1", "dW2", "db2")
#: A gradient check fails above this relative error (seed 002: "suspicious" starts at 1e-5).
THRESHOLD = 1e-5

SOURCE = '''def loss_and_grads(params, X, Y, l2=0.0):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    m = X.shape[0]
    Z1 = X @ W1 + b1
    A1 = np.maximum(Z1, 0)
    Z2 = A1 @ W2 + b2
    log_P = Z2 - Z2.max(axis=1, keepdims=True)
    log_P = log_P - np.log(np.exp(log_P).sum(axis=1, keepdims=True))
    P = np.exp(log_P)
    loss = -np.sum(Y * log_P) / m + l2 / 2 * (np.sum(W1**2) + np.sum(W2**2))
    dZ2 = (P - Y) / m
    dW2 = A1.T @ dZ2 + l2 * W2
    db2 = np.sum(dZ2, axis=0, keepdims=True)
    dA1 = dZ2 @ W2.T
    dZ1 = dA1 * (Z1 > 0)
    dW1 = X.T @ dZ1 + l2 * W1
    db1 = np.sum(dZ1, axis=0, keepdims=True)
    return loss, {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
'''


class Bug(NamedTuple):
    """One planted slip: the line of :data:`SOURCE` it replaces, the wrong line, and the gradients it breaks."""

    name: str
    line: str
    wrong_line: str
    breaks: tuple[str, ...]


BUGS = (
    Bug("relu_gate_missing", "dZ1 = dA1 * (Z1 > 0)", "dZ1 = dA1", ("dW1", "db1")),
    Bug("dW2_transposed", "dW2 = A1.T @ dZ2 + l2 * W2", "dW2 = dZ2.T @ A1 + l2 * W2", ("dW2",)),
    Bug("bias_wrong_axis", "db1 = np.sum(dZ1, axis=0, keepdims=True)", "db1 = np.sum(dZ1, axis=1, keepdims=True)",
        ("db1",)),
    Bug("one_over_m_twice", "dW1 = X.T @ dZ1 + l2 * W1", "dW1 = X.T @ dZ1 / m + l2 * W1", ("dW1",)),
    Bug("l2_missing", "dW2 = A1.T @ dZ2 + l2 * W2", "dW2 = A1.T @ dZ2", ("dW2",)),
    Bug("l2_on_bias", "db2 = np.sum(dZ2, axis=0, keepdims=True)",
        "db2 = np.sum(dZ2, axis=0, keepdims=True) + l2 * b2", ("db2",)),
    Bug("W2_not_transposed", "dA1 = dZ2 @ W2.T", "dA1 = dZ2 @ W2", ("dW1", "db1")),
    Bug("output_gradient_sign", "dZ2 = (P - Y) / m", "dZ2 = (Y - P) / m", GRADIENT_KEYS),
)


def _compile(source: str, module: str = __name__):
    """``loss_and_grads`` of ``source``, its source readable by ``inspect`` (tracebacks show its lines, and the
    generic diagnosis, backproplab.checking.formula, searches its slips). ``module`` names it: a planted
    variant is ``backproplab.debugging.planted.<bug>``, so that no table of a learner build (which knows a
    function argument by its module and name) takes one variant, or the correct pass, for another."""
    if source != SOURCE and source not in {planted_source(k) for k in range(len(BUGS))}:
        raise ValueError("only the course's backward pass and its planted variants are compiled here")
    filename = f"<planted backward pass {zlib.crc32(source.encode()):08x}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    scope = {"np": np, "__name__": module}
    exec(compile(source, filename, "exec"), scope)  # our own template, never learner code
    _COMPILED.add(scope["loss_and_grads"])
    return scope["loss_and_grads"]


_COMPILED: weakref.WeakSet = weakref.WeakSet()


def compiled() -> list:
    """Every backward pass compiled so far and still alive (grading breaks them while a check runs an answer
    they would give: ``backproplab.checks._copies.PLANTED_PASSES``)."""
    return list(_COMPILED)


def planted_source(bug: int) -> str:
    """The source of the backward pass with bug number ``bug`` of :data:`BUGS` planted."""
    b = BUGS[bug]
    assert SOURCE.count(b.line) == 1
    return SOURCE.replace(b.line, b.wrong_line)


#: The correct backward pass (the reference of the graded fix, ``fixed_loss_and_grads``).
loss_and_grads = _compile(SOURCE)


def backward_with(bug: int | None):
    """``(source, loss_and_grads)`` with bug number ``bug`` of :data:`BUGS` planted (``None``: the correct one)."""
    if bug is None:
        return SOURCE, loss_and_grads
    source = planted_source(bug)
    return source, _compile(source, f"{__name__}.planted.{BUGS[bug].name}")


class PlantedBackward(NamedTuple):
    """A drawn backward pass: call ``loss_and_grads(params, X, Y, l2)``; ``source`` is its code."""

    source: str
    loss_and_grads: object

    def __repr__(self):
        return self.source


def planted_backward(seed: int | None = None) -> PlantedBackward:
    """The backward pass with one bug of :data:`BUGS`, drawn from ``seed`` (default: this folder's grading
    seed, so that each learner's notebook holds its own bug)."""
    if seed is None:
        from backproplab.checking import grading_seed

        seed = grading_seed()
    k = zlib.crc32(f"planted-{int(seed)}".encode()) % len(BUGS)
    return PlantedBackward(*backward_with(k))


def wrong_gradients(loss_and_grads, params, X, Y, l2=0.0):
    """The keys of the gradients of ``loss_and_grads`` that fail a centred-difference gradient check: a shape
    other than the parameter's, or a relative error above 1e-5. Returns a list in the order dW1, db1, dW2, db2."""
    from backproplab.training import numerical_gradients

    _, grads = loss_and_grads(params, X, Y, l2)
    numeric = numerical_gradients(lambda p: loss_and_grads(p, X, Y, l2)[0], params)
    wrong = []
    for key in grads:
        analytic = np.asarray(grads[key])
        if analytic.shape != numeric[key].shape or relative_error(analytic, numeric[key]) > THRESHOLD:
            wrong.append(key)
    return wrong
