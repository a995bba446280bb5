"""Issue 14's classes (verdicts a class can trust): answers written without the solutions in view.

- finite differences where an analytic gradient is asked (rejected and named ``approximate``, one policy);
- correct answers the checks used to reject: ``np.errstate`` that makes numpy stricter, an exact graph
  gradient rearranged where the float64 graph cancels;
- seed-dependent verdicts: edge cases every graded run now covers deterministically.
"""

import numpy as np

from backproplab.gradcheck import numerical_gradient, numerical_vjp


# ------------------------------------------------------------------------------ finite differences
def dense_backward_fd(dZ, cache):
    X, W, b = cache

    def forward_x(x):
        return x @ W + b

    def forward_w(w):
        return X @ w + b

    def forward_b(bb):
        return X @ W + bb

    return (numerical_vjp(forward_x, X, dZ), numerical_vjp(forward_w, W, dZ), numerical_vjp(forward_b, b, dZ))


def dense_backward_centred_by_hand(dZ, cache):
    X, W, b = cache
    h = 1e-6

    def vjp(f, x):
        g = np.zeros_like(x)
        for idx in np.ndindex(x.shape):
            xp, xm = x.copy(), x.copy()
            xp[idx] += h
            xm[idx] -= h
            g[idx] = np.sum((f(xp) - f(xm)) * dZ) / (2 * h)
        return g

    return (vjp(lambda x: x @ W + b, X), vjp(lambda w: X @ w + b, W), vjp(lambda bb: X @ W + bb, b))


def sigmoid_derivative_numeric(z):
    s = lambda t: 1.0 / (1.0 + np.exp(-t))  # noqa: E731
    h = 1e-5
    return (s(z + h) - s(z - h)) / (2 * h)


def tanh_derivative_numeric(z):
    return (np.tanh(z + 1e-6) - np.tanh(z - 1e-6)) / 2e-6


def softmax_backward_numerical_vjp(dA, A):
    Z = np.log(A)

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    return numerical_vjp(softmax, Z, dA)


def chain_rule_numeric(f_prime, g, g_prime, x):
    h = 1e-6
    gx = g(x)
    return f_prime(gx) * (g(x + h) - g(x - h)) / (2 * h)


def mse_grad_numeric(Y_hat, Y):
    def loss(p):
        return np.mean(np.sum((p - Y) ** 2, axis=1))

    return numerical_gradient(loss, Y_hat)


# ------------------------------------------------------------------------- correct, once rejected
def stable_sigmoid_strict(z):
    with np.errstate(over="raise", invalid="raise"):
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def stable_sigmoid_seterr_restored(z):
    old = np.seterr(all="ignore")  # relaxes, but this formula never overflows: nothing is hidden
    try:
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    finally:
        np.seterr(**old)


def stable_softmax_strict(Z):
    with np.errstate(over="raise", invalid="raise"):
        E = np.exp(Z - Z.max(axis=1, keepdims=True))
        return E / E.sum(axis=1, keepdims=True)


def stable_sigmoid_hidden_by_seterr(z):
    old = np.seterr(over="ignore")
    try:
        return 1.0 / (1.0 + np.exp(-z))
    finally:
        np.seterr(**old)


def stable_softmax_silenced(Z):
    with np.errstate(all="ignore"):
        E = np.exp(Z)
        return E / E.sum(axis=1, keepdims=True)


def graph_backward_factored(x, y):
    """Algebraically rearranged: b = x(1 + y), dx = y(1 + y)cos b, exact where x·y + x cancels."""
    b = x * (1.0 + y)
    c = np.cos(b)
    return y * (1.0 + y) * c, x * y * c + np.sin(b)


MUTANTS = {
    "dense_backward": [("approximate", dense_backward_fd), ("approximate", dense_backward_centred_by_hand)],
    "sigmoid_derivative": [("approximate", sigmoid_derivative_numeric)],
    "tanh_derivative": [("approximate", tanh_derivative_numeric)],
    "softmax_backward": [("approximate", softmax_backward_numerical_vjp)],
    "chain_rule_derivative": [("approximate", chain_rule_numeric)],
    "mse_grad": [("approximate", mse_grad_numeric)],
    "stable_sigmoid": [("warnings_silenced", stable_sigmoid_hidden_by_seterr)],
    "stable_softmax": [("warnings_silenced", stable_softmax_silenced)],
}

CORRECT = {
    "stable_sigmoid": [stable_sigmoid_strict, stable_sigmoid_seterr_restored],
    "stable_softmax": [stable_softmax_strict],
    "graph_backward": [graph_backward_factored],
}
