"""Mutants and correct variants for notebook 06 (matrix formulation)."""

import numpy as np

from backproplab.activations import relu, relu_derivative
from backproplab.network import mlp_forward


# ---------------------------------------------------------------------------------------------- mlp_backward
def _forward(X, params, L, relu_output=False):
    As, Zs = [X], []
    for l in range(1, L + 1):
        Z = As[-1] @ params[f"W{l}"] + params[f"b{l}"]
        Zs.append(Z)
        As.append(relu(Z) if (l < L or relu_output) else Z)
    return As, Zs


def _backward(X, Y, params, lam, *, factor=2.0, extra_m=False, wrap=False, relu_output=False,
              relu_prime_output=False, l2_bias=False, l2_scale=1.0, no_transpose=False):
    L = len(params) // 2
    m = X.shape[0]
    As, Zs = _forward(X, params, L, relu_output)
    dZ = factor * (As[-1] - Y) / m
    if relu_output or relu_prime_output:
        dZ = dZ * relu_derivative(Zs[-1])
    grads = {}
    for l in range(L, 0, -1):
        A_in = As[1:][l - 2] if wrap else As[l - 1]
        grads[f"dW{l}"] = A_in.T @ dZ + l2_scale * lam * params[f"W{l}"]
        grads[f"db{l}"] = dZ.sum(axis=0, keepdims=True) + (lam * params[f"b{l}"] if l2_bias else 0.0)
        if extra_m:
            grads[f"dW{l}"] = A_in.T @ dZ / m + lam * params[f"W{l}"]
            grads[f"db{l}"] = grads[f"db{l}"] / m
        if l > 1:
            W = params[f"W{l}"]
            dZ = (dZ @ (W if no_transpose else W.T)) * relu_derivative(Zs[l - 2])
    return grads


def mlp_seed001_no_factor_2(X, Y, params, lam=0.0):
    return _backward(X, Y, params, lam, factor=1.0)


def mlp_seed002_1_over_m_twice(X, Y, params, lam=0.0):
    return _backward(X, Y, params, lam, extra_m=True)


def mlp_first_layer_wraps(X, Y, params, lam=0.0):
    return _backward(X, Y, params, lam, wrap=True)


def mlp_relu_everywhere(X, Y, params, lam=0.0):
    return _backward(X, Y, params, lam, relu_output=True)


def mlp_relu_prime_at_output(X, Y, params, lam=0.0):
    return _backward(X, Y, params, lam, relu_prime_output=True)


def mlp_l2_on_biases(X, Y, params, lam=0.0):
    return _backward(X, Y, params, lam, l2_bias=True)


def mlp_l2_2lam(X, Y, params, lam=0.0):
    return _backward(X, Y, params, lam, l2_scale=2.0)


def mlp_l2_forgotten(X, Y, params, lam=0.0):
    return _backward(X, Y, params, lam, l2_scale=0.0)


def mlp_params_modified_in_place(X, Y, params, lam=0.0):
    grads = _backward(X, Y, params, lam)
    for l in range(1, len(params) // 2 + 1):
        params[f"W{l}"] *= 1.0  # harmless values, but in place: also caught
        params[f"b{l}"] -= 0.0 * params[f"b{l}"] + 1e-3
    return grads


def mlp_grads_as_list(X, Y, params, lam=0.0):
    grads = _backward(X, Y, params, lam)
    return [grads[k] for k in sorted(grads)]


def mlp_no_bias_grads(X, Y, params, lam=0.0):
    return {k: v for k, v in _backward(X, Y, params, lam).items() if k.startswith("dW")}


def mlp_correct_loop(X, Y, params, lam=0.0):
    return _backward(X, Y, params, lam)


def mlp_correct_relu_prime_of_A(X, Y, params, lam=0.0):
    """ReLU'(A) equals ReLU'(Z) (A > 0 exactly where Z > 0): correct for ReLU, a bug for sigmoid/tanh."""
    L = len(params) // 2
    As, _ = _forward(X, params, L)
    dA = 2.0 * (As[-1] - Y) / len(X)
    grads = {}
    for l in range(L, 0, -1):
        dZ = dA if l == L else dA * (As[l] > 0)
        grads[f"db{l}"] = np.sum(dZ, axis=0, keepdims=True)
        grads[f"dW{l}"] = np.einsum("mi,mo->io", As[l - 1], dZ) + lam * params[f"W{l}"]
        dA = dZ @ params[f"W{l}"].T
    return grads


def mlp_correct_with_reference_caches(X, Y, params, lam=0.0):
    Y_hat, caches = mlp_forward(X, params)
    dZ = (Y_hat - Y) * (2.0 / X.shape[0])
    grads = {}
    for l in range(len(caches), 0, -1):
        dense, act = caches[l - 1]
        if l < len(caches):
            dZ = dZ * (act.Z > 0)
        grads["dW" + str(l)] = dense.X.T @ dZ + lam * dense.W
        grads["db" + str(l)] = dZ.sum(0)[None, :]
        dZ = dZ @ dense.W.T
    return grads


# ------------------------------------------------------------------------------------------------- l2_grad
def l2_two_lam(W, lam):
    return 2 * lam * W


def l2_half(W, lam):
    return lam / 2 * W


def l2_penalty_instead(W, lam):
    return lam / 2 * np.sum(W ** 2)


def l2_sign(W, lam):
    return -lam * W


def l2_correct(W, lam):
    return lam * W


def l2_correct_derivative_of_penalty(W, lam):
    return 0.5 * lam * (2.0 * np.asarray(W, dtype=float))


# -------------------------------------------------------------------------------------- dense_backward_col
def col_sum_axis0(dZ, cache):
    A_prev, W, b = cache
    return W.T @ dZ, dZ @ A_prev.T, dZ.sum(axis=0, keepdims=True)


def col_no_keepdims(dZ, cache):
    A_prev, W, b = cache
    return W.T @ dZ, dZ @ A_prev.T, dZ.sum(axis=1)


def col_row_dW(dZ, cache):
    A_prev, W, b = cache
    return W.T @ dZ, A_prev @ dZ.T, dZ.sum(axis=1, keepdims=True)


def col_dA_row_shape(dZ, cache):
    A_prev, W, b = cache
    return dZ.T @ W, dZ @ A_prev.T, dZ.sum(axis=1, keepdims=True)


def col_seed002_mean(dZ, cache):
    A_prev, W, b = cache
    m = dZ.shape[1]
    return W.T @ dZ, dZ @ A_prev.T / m, dZ.sum(axis=1, keepdims=True) / m


def col_W_not_transposed(dZ, cache):
    A_prev, W, b = cache
    return W @ dZ, dZ @ A_prev.T, dZ.sum(axis=1, keepdims=True)


def col_correct(dZ, cache):
    A_prev, W, b = cache
    return W.T @ dZ, dZ @ A_prev.T, np.sum(dZ, axis=1, keepdims=True)


def col_correct_by_transposes(dZ, cache):
    A_prev, W, b = cache
    dZ_row = dZ.T
    return (dZ_row @ W).T, (A_prev @ dZ_row).T, dZ_row.sum(axis=0, keepdims=True).T


# ------------------------------------------------------------------------------------------------- dropout
def drop_seed003_scale(X, keep_prob, rng):
    mask = rng.binomial(1, keep_prob, size=X.shape) / (1 - keep_prob)
    return X * mask, (mask, keep_prob)


def drop_seed004_no_rescale(X, keep_prob, rng):
    mask = rng.binomial(1, keep_prob, size=X.shape).astype(float)
    return X * mask, (mask, keep_prob)


def drop_drop_probability(X, keep_prob, rng):
    mask = (rng.random(X.shape) > keep_prob) / keep_prob
    return X * mask, (mask, keep_prob)


def drop_times_p(X, keep_prob, rng):
    mask = (rng.random(X.shape) < keep_prob) * keep_prob
    return X * mask, (mask, keep_prob)


def drop_global_rng(X, keep_prob, rng):
    mask = (np.random.random(X.shape) < keep_prob) / keep_prob
    return X * mask, (mask, keep_prob)


def drop_unscaled_mask_cached(X, keep_prob, rng):
    keep = rng.random(X.shape) < keep_prob
    return X * keep / keep_prob, (keep, keep_prob)


def drop_mask_as_cache(X, keep_prob, rng):
    mask = (rng.random(X.shape) < keep_prob) / keep_prob
    return X * mask, mask


def drop_in_place(X, keep_prob, rng):
    mask = (rng.random(X.shape) < keep_prob) / keep_prob
    X *= mask
    return X, (mask, keep_prob)


def drop_correct(X, keep_prob, rng):
    mask = (rng.random(X.shape) < keep_prob) / keep_prob
    return X * mask, (mask, keep_prob)


def drop_correct_binomial(X, keep_prob, rng):
    mask = rng.binomial(1, keep_prob, size=X.shape) / keep_prob
    return mask * X, (mask, keep_prob)


def drop_correct_uniform_where(X, keep_prob, rng):
    keep = rng.uniform(size=X.shape) < keep_prob
    out = np.where(keep, X / keep_prob, 0.0)
    return out, (np.where(keep, 1.0 / keep_prob, 0.0), keep_prob)


def dback_twice(dout, cache):
    mask, keep_prob = cache
    return dout * mask / keep_prob


def dback_unscaled(dout, cache):
    mask, keep_prob = cache
    return dout * (mask > 0)


def dback_identity(dout, cache):
    return dout


def dback_in_place(dout, cache):
    dout *= cache[0]
    return dout


def dback_correct(dout, cache):
    mask, _ = cache
    return dout * mask


def dback_correct_where(dout, cache):
    mask, keep_prob = cache
    return np.where(mask != 0, dout / keep_prob, 0.0)


MUTANTS = {
    "mlp_backward": [
        ("mse_factor_2_dropped", mlp_seed001_no_factor_2),
        ("double_1_over_m", mlp_seed002_1_over_m_twice),
        ("first_layer_input", mlp_first_layer_wraps),
        ("relu_on_output", mlp_relu_everywhere),
        ("relu_on_output", mlp_relu_prime_at_output),
        ("l2_on_biases", mlp_l2_on_biases),
        ("l2_factor_2", mlp_l2_2lam),
        ("l2_missing", mlp_l2_forgotten),
        ("in_place", mlp_params_modified_in_place),
        ("structure", mlp_grads_as_list),
        ("missing_key", mlp_no_bias_grads),
    ],
    "l2_grad": [
        ("l2_factor_2", l2_two_lam),
        ("l2_half", l2_half),
        ("l2_penalty_value", l2_penalty_instead),
        ("sign", l2_sign),
    ],
    "dense_backward_col": [
        ("col_bias_axis0", col_sum_axis0),
        ("col_keepdims", col_no_keepdims),
        ("col_dW_transposed", col_row_dW),
        ("col_dA_transposed", col_dA_row_shape),
        ("double_1_over_m", col_seed002_mean),
        ("exception", col_W_not_transposed),
    ],
    "dropout_forward": [
        ("scale_1_over_1_minus_p", drop_seed003_scale),
        ("not_rescaled", drop_seed004_no_rescale),
        ("keep_drop_swapped", drop_drop_probability),
        ("multiplied_by_keep_prob", drop_times_p),
        ("rng_not_used", drop_global_rng),
        ("cache_mask", drop_unscaled_mask_cached),
        ("cache_structure", drop_mask_as_cache),
        ("in_place", drop_in_place),
    ],
    "dropout_backward": [
        ("scaled_twice", dback_twice),
        ("backward_not_scaled", dback_unscaled),
        ("mask_ignored", dback_identity),
        ("in_place", dback_in_place),
    ],
}

CORRECT = {
    "mlp_backward": [mlp_correct_loop, mlp_correct_relu_prime_of_A, mlp_correct_with_reference_caches],
    "l2_grad": [l2_correct, l2_correct_derivative_of_penalty],
    "dense_backward_col": [col_correct, col_correct_by_transposes],
    "dropout_forward": [drop_correct, drop_correct_binomial, drop_correct_uniform_where],
    "dropout_backward": [dback_correct, dback_correct_where],
}


# Slips a learner's-eye audit found passing or named generically (2026-11-26).
def mlp_mean_over_entries(X, Y, params, lam=0.0):
    return _backward(X, Y, params, lam, factor=2.0 / Y.shape[1])


def mlp_l2_over_m(X, Y, params, lam=0.0):
    return _backward(X, Y, params, lam, l2_scale=1.0 / X.shape[0])


def drop_drop_rate_rescaled(X, keep_prob, rng):
    mask = (rng.random(X.shape) > keep_prob) / (1.0 - keep_prob)
    return X * mask, (mask, keep_prob)


def dback_drop_rate(dout, cache):
    mask, keep_prob = cache
    return dout * (mask != 0) / (1.0 - keep_prob)


def col_db_sum_axis0_flat(dZ, cache):
    A_prev, W, b = cache
    return W.T @ dZ, dZ @ A_prev.T, dZ.sum(axis=0)


MUTANTS["mlp_backward"] += [("mean_over_outputs", mlp_mean_over_entries),
                            ("l2_over_m", mlp_l2_over_m)]
MUTANTS["dropout_forward"] += [("drop_probability_convention", drop_drop_rate_rescaled)]
MUTANTS["dropout_backward"] += [("drop_probability_convention", dback_drop_rate)]
MUTANTS["dense_backward_col"] += [("col_bias_axis0", col_db_sum_axis0_flat)]


# Round 2 of the audit (2026-11-26).
def _hand(gate, use_Z):
    def backward(X, Y, params, lam=0.0):
        L = len(params) // 2
        As, Zs = _forward(X, params, L)
        dZ = 2.0 * (As[-1] - Y) / X.shape[0]
        grads = {}
        for l in range(L, 0, -1):
            A_in = Zs[l - 2] if (use_Z and l > 1) else As[l - 1]
            grads[f"dW{l}"] = A_in.T @ dZ + lam * params[f"W{l}"]
            grads[f"db{l}"] = dZ.sum(axis=0, keepdims=True)
            if l > 1:
                dZ = (dZ @ params[f"W{l}"].T) * gate(Zs[l - 2])
        return grads
    return backward


mlp_gate_at_zero = _hand(lambda Z: Z >= 0, use_Z=False)
mlp_gate_at_zero.__name__ = "mlp_gate_at_zero"
mlp_gate_times_A = _hand(lambda Z: np.maximum(Z, 0.0), use_Z=False)
mlp_gate_times_A.__name__ = "mlp_gate_times_A"
mlp_dW_from_Z = _hand(lambda Z: Z > 0, use_Z=True)
mlp_dW_from_Z.__name__ = "mlp_dW_from_Z"


def drop_own_generator(X, keep_prob, rng):
    mask = (np.random.default_rng(0).random(X.shape) < keep_prob) / keep_prob
    return X * mask, (mask, keep_prob)


MUTANTS["mlp_backward"] += [("derivative_at_zero", mlp_gate_at_zero), ("gate_times_activation", mlp_gate_times_A),
                            ("Z_instead_of_A", mlp_dW_from_Z)]
MUTANTS["dropout_forward"] += [("rng_not_used", drop_own_generator)]
