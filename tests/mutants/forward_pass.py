"""Mutants of notebook 02 (forward pass): dense_forward, mlp_forward, he_normal, xavier_uniform."""

import numpy as np


# ------------------------------------------------------------------------------------------ dense_forward
def no_bias(X, W, b):
    Z = X @ W
    return Z, (X, W, b)


def column_convention(X, W, b):
    Z = W.T @ X.T + b.T
    return Z, (X, W, b)


def cache_holds_Z(X, W, b):
    Z = X @ W + b
    return Z, (Z, W, b)


def no_cache(X, W, b):
    return X @ W + b


def dense_transposed_result(X, W, b):
    return (X @ W + b).T, (X, W, b)


def dense_matmul(X, W, b):
    Z = X @ W + b
    return Z, (X, W, b)


def dense_loops(X, W, b):
    m, n_in = X.shape
    n_out = W.shape[1]
    Z = np.zeros((m, n_out))
    for i in range(m):
        for j in range(n_out):
            Z[i, j] = sum(X[i, k] * W[k, j] for k in range(n_in)) + b[0, j]
    return Z, (X, W, b)


def dense_einsum(X, W, b):
    return np.einsum("mi,io->mo", X, W) + b, (X, W, b)


# -------------------------------------------------------------------------------------------- mlp_forward
def _layers(params):
    return len(params) // 2


def relu_everywhere(X, params):
    A, caches = X, []
    for l in range(1, _layers(params) + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        caches.append(((A, params[f"W{l}"], params[f"b{l}"]), Z))
        A = np.maximum(0, Z)
    return A, caches


def linear_network(X, params):
    A, caches = X, []
    for l in range(1, _layers(params) + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        caches.append(((A, params[f"W{l}"], params[f"b{l}"]), Z))
        A = Z
    return A, caches


def caches_activation(X, params):
    A, caches = X, []
    L = _layers(params)
    for l in range(1, L + 1):
        cache = (A, params[f"W{l}"], params[f"b{l}"])
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        A = Z if l == L else np.maximum(0, Z)
        caches.append((cache, A))
    return A, caches


def counts_keys_as_layers(X, params):
    A, caches = X, []
    L = len(params)  # W and b per layer: twice too many
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        caches.append(((A, params[f"W{l}"], params[f"b{l}"]), Z))
        A = Z if l == L else np.maximum(0, Z)
    return A, caches


def mlp_loop(X, params):
    A, caches = X, []
    L = _layers(params)
    for l in range(1, L + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        Z = A @ W + b
        caches.append(((A, W, b), Z))
        A = Z if l == L else np.maximum(Z, 0.0)
    return A, caches


def mlp_flat_caches_where(X, params):
    L = sum(key.startswith("W") for key in params)
    A, caches = X, []
    for l in range(1, L + 1):
        W, b = params["W" + str(l)], params["b" + str(l)]
        Z = np.dot(A, W) + b
        caches.append((A, W, b, Z))
        A = np.where(Z > 0, Z, 0.0) if l < L else Z
    return A, caches


# ----------------------------------------------------------------------------------------- initializers
def he_variance_as_std(n_in, n_out, rng):
    return rng.normal(0.0, 2.0 / n_in, size=(n_in, n_out))


def he_fan_out(n_in, n_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / n_out), size=(n_in, n_out))


def he_column_shape(n_in, n_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))


def he_transposed_draw(n_in, n_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in)).T


def he_unscaled(n_in, n_out, rng):
    return rng.standard_normal((n_in, n_out))


def he_xavier(n_in, n_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_in, n_out))


def he_normal_call(n_in, n_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


def he_scaled_standard(n_in, n_out, rng):
    std = np.sqrt(2 / n_in)
    return std * rng.standard_normal(size=(n_in, n_out))


def xu_std_as_limit(n_in, n_out, rng):
    limit = np.sqrt(2.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def xu_normal(n_in, n_out, rng):
    return rng.normal(0.0, np.sqrt(2.0 / (n_in + n_out)), size=(n_in, n_out))


def xu_from_zero(n_in, n_out, rng):
    return rng.uniform(0.0, np.sqrt(6.0 / (n_in + n_out)), size=(n_in, n_out))


def xu_fan_in(n_in, n_out, rng):
    limit = np.sqrt(6.0 / n_in)
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def xu_no_sqrt(n_in, n_out, rng):
    limit = 6.0 / (n_in + n_out)
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def xu_column_shape(n_in, n_out, rng):
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_out, n_in))


def xu_uniform(n_in, n_out, rng):
    limit = np.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def xu_rescaled_random(n_in, n_out, rng):
    limit = np.sqrt(6.0 / (n_in + n_out))
    return (2.0 * rng.random((n_in, n_out)) - 1.0) * limit


MUTANTS = {
    "dense_forward": [
        ("bias_missing", no_bias),
        ("column_convention", column_convention),
        ("cached_Z_not_X", cache_holds_Z),
        ("structure", no_cache),
        ("column_convention", dense_transposed_result),
    ],
    "mlp_forward": [
        ("relu_on_output", relu_everywhere),
        ("no_hidden_activation", linear_network),
        ("cached_A_not_Z", caches_activation),
        ("exception", counts_keys_as_layers),
    ],
    "he_normal": [
        ("variance_as_std", he_variance_as_std),
        ("fan_out", he_fan_out),
        ("column_shape", he_column_shape),
        ("transposed_draw", he_transposed_draw),
        ("no_scaling", he_unscaled),
        ("xavier_std", he_xavier),
    ],
    "xavier_uniform": [
        ("std_as_limit", xu_std_as_limit),
        ("normal_not_uniform", xu_normal),
        ("not_centred", xu_from_zero),
        ("fan_in_only", xu_fan_in),
        ("missing_sqrt", xu_no_sqrt),
        ("column_shape", xu_column_shape),
    ],
}

CORRECT = {
    "dense_forward": [dense_matmul, dense_loops, dense_einsum],
    "mlp_forward": [mlp_loop, mlp_flat_caches_where],
    "he_normal": [he_normal_call, he_scaled_standard],
    "xavier_uniform": [xu_uniform, xu_rescaled_random],
}


# Slips a learner's-eye audit found passing or named generically (2026-11-26).
def flat_tuple(X, W, b):
    return X @ W + b, X, W, b


def cache_as_dict(X, W, b):
    return X @ W + b, {"X": X, "W": W, "b": b}


def output_layer_not_cached(X, params):
    A, caches = X, []
    L = _layers(params)
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        if l < L:
            caches.append(((A, params[f"W{l}"], params[f"b{l}"]), Z))
        A = Z if l == L else np.maximum(0, Z)
    return A, caches


def caches_as_dicts(X, params):
    A, caches = X, []
    L = _layers(params)
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        caches.append({"A_prev": A, "Z": Z})
        A = Z if l == L else np.maximum(0, Z)
    return A, caches


def he_global_random(n_in, n_out, rng):
    return np.random.randn(n_in, n_out) * np.sqrt(2.0 / n_in)


def xu_global_random(n_in, n_out, rng):
    limit = np.sqrt(6.0 / (n_in + n_out))
    return np.random.uniform(-limit, limit, size=(n_in, n_out))


MUTANTS["dense_forward"] += [("structure", flat_tuple), ("structure", cache_as_dict)]
MUTANTS["mlp_forward"] += [("caches_structure", output_layer_not_cached), ("caches_structure", caches_as_dicts)]
MUTANTS["he_normal"] += [("rng_not_used", he_global_random)]
MUTANTS["xavier_uniform"] += [("rng_not_used", xu_global_random)]


# Round 2 of the audit (2026-11-26).
def mlp_three_layers_only(X, params):
    A, caches = X, []
    for l in (1, 2, 3):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        caches.append(((A, params[f"W{l}"], params[f"b{l}"]), Z))
        A = Z if l == 3 else np.maximum(0, Z)
    return A, caches


def he_std_as_mean(n_in, n_out, rng):
    return rng.normal(np.sqrt(2.0 / n_in), size=(n_in, n_out))


def he_arguments_swapped(n_out, n_in, rng):
    return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out))


MUTANTS["mlp_forward"] += [("exception", mlp_three_layers_only)]
MUTANTS["he_normal"] += [("std_as_mean", he_std_as_mean), ("transpose", he_arguments_swapped)]
