"""Mutants of notebook 03 (backward pass): dense_backward, relu_backward, two_layer_backward, relative_error."""

import numpy as np


# ----------------------------------------------------------------------------------------- dense_backward
def double_mean(dZ, cache):
    X, W, b = cache
    m = X.shape[0]
    return dZ @ W.T, X.T @ dZ / m, np.sum(dZ, axis=0, keepdims=True) / m


def dW_transposed(dZ, cache):
    X, W, b = cache
    return dZ @ W.T, dZ.T @ X, dZ.sum(axis=0, keepdims=True)


def db_no_keepdims(dZ, cache):
    X, W, b = cache
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0)


def db_wrong_axis(dZ, cache):
    X, W, b = cache
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=1, keepdims=True)


def db_mean(dZ, cache):
    X, W, b = cache
    return dZ @ W.T, X.T @ dZ, dZ.mean(axis=0, keepdims=True)


def db_is_dZ(dZ, cache):
    X, W, b = cache
    return dZ @ W.T, X.T @ dZ, dZ


def dX_no_transpose(dZ, cache):
    X, W, b = cache
    return dZ @ W, X.T @ dZ, dZ.sum(axis=0, keepdims=True)


def dense_backward_matmul(dZ, cache):
    X, W, b = cache
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0, keepdims=True)


def dense_backward_einsum(dZ, cache):
    X, W, _ = cache
    dX = np.einsum("mo,io->mi", dZ, W)
    dW = np.einsum("mi,mo->io", X, dZ)
    db = np.ones((1, dZ.shape[0])) @ dZ
    return dX, dW, db


def dense_backward_outer_products(dZ, cache):
    X, W, _ = cache
    dW = sum(np.outer(X[i], dZ[i]) for i in range(X.shape[0]))
    return np.dot(dZ, W.T), dW, dZ.sum(0)[None, :]


# ------------------------------------------------------------------------------------------ relu_backward
def relu_ge(dA, Z):
    return dA * (Z >= 0)


def relu_no_gate(dA, Z):
    return dA


def relu_mask_only(dA, Z):
    return (Z > 0).astype(float)


def relu_times_activation(dA, Z):
    return dA * np.maximum(0, Z)


def relu_in_place(dA, Z):
    dA[Z <= 0] = 0
    return dA


def relu_mask(dA, Z):
    return dA * (Z > 0)


def relu_where(dA, Z):
    return np.where(Z > 0, dA, 0.0)


def relu_copy_then_zero(dA, Z):
    dZ = dA.copy()
    dZ[Z <= 0] = 0.0
    return dZ


# ------------------------------------------------------------------------------------- two_layer_backward
def _forward(X, params):
    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(0, Z1)
    Y_hat = A1 @ params["W2"] + params["b2"]
    return Z1, A1, Y_hat


def _backward(X, params, Z1, A1, dY_hat, *, gate=True, dW2_input=None, per_layer_mean=False):
    m = X.shape[0]
    k = m if per_layer_mean else 1
    dW2 = (A1 if dW2_input is None else dW2_input).T @ dY_hat / k
    db2 = np.sum(dY_hat, axis=0, keepdims=True) / k
    dA1 = dY_hat @ params["W2"].T
    dZ1 = dA1 * (Z1 > 0) if gate else dA1
    dW1 = X.T @ dZ1 / k
    db1 = np.sum(dZ1, axis=0, keepdims=True) / k
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}


def tl_half_mse(X, Y, params):
    Z1, A1, Y_hat = _forward(X, params)
    dY_hat = (Y_hat - Y) / X.shape[0]  # "simplified": the factor 2 is gone
    return _backward(X, params, Z1, A1, dY_hat)


def tl_double_mean(X, Y, params):
    Z1, A1, Y_hat = _forward(X, params)
    dY_hat = 2 * (Y_hat - Y) / X.shape[0]
    return _backward(X, params, Z1, A1, dY_hat, per_layer_mean=True)


def tl_sum_not_mean(X, Y, params):
    Z1, A1, Y_hat = _forward(X, params)
    return _backward(X, params, Z1, A1, 2 * (Y_hat - Y))


def tl_no_gate(X, Y, params):
    Z1, A1, Y_hat = _forward(X, params)
    return _backward(X, params, Z1, A1, 2 * (Y_hat - Y) / X.shape[0], gate=False)


def tl_Z1_for_dW2(X, Y, params):
    Z1, A1, Y_hat = _forward(X, params)
    return _backward(X, params, Z1, A1, 2 * (Y_hat - Y) / X.shape[0], dW2_input=Z1)


def tl_target_minus_prediction(X, Y, params):
    Z1, A1, Y_hat = _forward(X, params)
    return _backward(X, params, Z1, A1, 2 * (Y - Y_hat) / X.shape[0])


def tl_numerical(X, Y, params):
    from backproplab.gradcheck import numerical_gradient

    def loss(p):
        _, _, Y_hat = _forward(X, p)
        return np.sum((Y_hat - Y) ** 2) / X.shape[0]

    return {"d" + k: numerical_gradient(lambda v, k=k: loss({**params, k: v}), params[k]) for k in params}


def tl_reference_style(X, Y, params):
    Z1, A1, Y_hat = _forward(X, params)
    return _backward(X, params, Z1, A1, 2 * (Y_hat - Y) / X.shape[0])


def tl_loop_over_layers(X, Y, params):
    m = X.shape[0]
    A, caches = X, []
    for l in (1, 2):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        caches.append((A, Z))
        A = np.maximum(Z, 0) if l == 1 else Z
    dZ = 2.0 / m * (A - Y)
    grads = {}
    for l in (2, 1):
        A_prev, Z = caches[l - 1]
        grads[f"dW{l}"] = A_prev.T @ dZ
        grads[f"db{l}"] = dZ.sum(axis=0, keepdims=True)
        if l > 1:
            dZ = (dZ @ params[f"W{l}"].T) * (caches[l - 2][1] > 0)
    return grads


# ----------------------------------------------------------------------------------------- relative_error
def re_no_guard(a, b):
    with np.errstate(invalid="ignore"):  # 0/0 for two zero arrays: nan
        return np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))


def re_absolute(a, b):
    return np.linalg.norm(a - b)


def re_max(a, b):
    denom = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if denom == 0 else np.linalg.norm(a - b) / denom


def re_elementwise(a, b):
    denom = np.abs(a) + np.abs(b)
    return float(np.mean(np.abs(a - b) / np.where(denom == 0, 1.0, denom)))


def re_squared(a, b):
    num = np.sum((a - b) ** 2)
    den = np.sum(a ** 2) + np.sum(b ** 2)
    return 0.0 if den == 0 else num / den


def re_guarded(a, b):
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    if denom == 0:
        return 0.0
    return np.linalg.norm(a - b) / denom


def re_sqrt_sums(a, b):
    num = np.sqrt(np.sum((a - b) ** 2))
    den = np.sqrt(np.sum(a * a)) + np.sqrt(np.sum(b * b))
    return float(num / den) if den > 0 else 0.0


MUTANTS = {
    "dense_backward": [
        ("seed002_double_1_over_m", double_mean),
        ("transpose", dW_transposed),
        ("keepdims", db_no_keepdims),
        ("bias_axis", db_wrong_axis),
        ("double_1_over_m", db_mean),
        ("db_not_summed", db_is_dZ),
        ("exception", dX_no_transpose),
    ],
    "relu_backward": [
        ("derivative_at_zero", relu_ge),
        ("gate_missing", relu_no_gate),
        ("mask_only", relu_mask_only),
        ("times_activation", relu_times_activation),
        ("in_place", relu_in_place),
    ],
    "two_layer_backward": [
        ("dropped_factor_2", tl_half_mse),
        ("seed002_double_1_over_m", tl_double_mean),
        ("missing_1_over_m", tl_sum_not_mean),
        ("relu_gate_missing", tl_no_gate),
        ("Z1_instead_of_A1", tl_Z1_for_dW2),
        ("sign", tl_target_minus_prediction),
        ("finite_differences", tl_numerical),
    ],
    "relative_error": [
        ("zero_guard_missing", re_no_guard),
        ("absolute_error", re_absolute),
        ("max_denominator", re_max),
        ("elementwise", re_elementwise),
        ("squared_norms", re_squared),
    ],
}

CORRECT = {
    "dense_backward": [dense_backward_matmul, dense_backward_einsum, dense_backward_outer_products],
    "relu_backward": [relu_mask, relu_where, relu_copy_then_zero],
    "two_layer_backward": [tl_reference_style, tl_loop_over_layers],
    "relative_error": [re_guarded, re_sqrt_sums],
}


# Slips a learner's-eye audit found passing or named wrongly (2026-11-26).
def dX_and_dW_without_transposes(dZ, cache):
    X, W, b = cache
    return dZ @ W, X @ dZ, dZ.sum(axis=0, keepdims=True)


def relu_heaviside_half(dA, Z):
    return dA * np.heaviside(Z, 0.5)


def tl_gate_at_zero(X, Y, params):
    Z1, A1, Y_hat = _forward(X, params)
    g = _backward(X, params, Z1, A1, 2.0 * (Y_hat - Y) / X.shape[0], gate=False)
    dA1 = (2.0 * (Y_hat - Y) / X.shape[0]) @ params["W2"].T
    dZ1 = dA1 * (Z1 >= 0)
    return {**g, "dW1": X.T @ dZ1, "db1": dZ1.sum(axis=0, keepdims=True)}


def tl_mean_over_entries(X, Y, params):
    Z1, A1, Y_hat = _forward(X, params)
    return _backward(X, params, Z1, A1, 2.0 * (Y_hat - Y) / Y.size)


def tl_keys_without_d(X, Y, params):
    Z1, A1, Y_hat = _forward(X, params)
    g = _backward(X, params, Z1, A1, 2.0 * (Y_hat - Y) / X.shape[0])
    return {k[1:]: v for k, v in g.items()}


def re_cs231n(a, b):
    return np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b)))


def re_no_return(a, b):
    np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b) or 1.0)


MUTANTS["dense_backward"] += [("exception", dX_and_dW_without_transposes)]
MUTANTS["relu_backward"] += [("derivative_at_zero", relu_heaviside_half)]
MUTANTS["two_layer_backward"] += [("derivative_at_zero", tl_gate_at_zero),
                                  ("mean_over_outputs", tl_mean_over_entries),
                                  ("missing_key", tl_keys_without_d)]
MUTANTS["relative_error"] += [("cs231n_elementwise_max", re_cs231n), ("none", re_no_return)]


def tl_gate_times_activation(X, Y, params):
    Z1, A1, Y_hat = _forward(X, params)
    dY_hat = 2.0 * (Y_hat - Y) / X.shape[0]
    g = _backward(X, params, Z1, A1, dY_hat)
    dZ1 = (dY_hat @ params["W2"].T) * A1
    return {**g, "dW1": X.T @ dZ1, "db1": dZ1.sum(axis=0, keepdims=True)}


MUTANTS["two_layer_backward"] += [("gate_times_activation", tl_gate_times_activation)]


# Round 2 of the audit (2026-11-26).
def re_zero_when_close(a, b):
    if np.allclose(a, b):
        return 0.0
    return np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))


def relu_backward_matmul(dA, Z):
    return dA @ (Z > 0).T


MUTANTS["relative_error"] += [("zero_when_close", re_zero_when_close)]
MUTANTS["relu_backward"] += [("shape", relu_backward_matmul)]


def re_eps_in_denominator(a, b):
    return np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b) + 1e-7)


CORRECT["relative_error"] += [re_eps_in_denominator]


def tl_m_from_the_wrong_axis(X, Y, params):
    Z1, A1, Y_hat = _forward(X, params)
    return _backward(X, params, Z1, A1, 2.0 * (Y_hat - Y) / X.shape[1])


MUTANTS["two_layer_backward"] += [("wrong_m", tl_m_from_the_wrong_axis)]
