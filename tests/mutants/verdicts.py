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


# ------------------------------------------------------------------------ seed-proof: edge cases
def _softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def sce_clip_then_divide(Z, Y):
    P = np.clip(_softmax(Z), 1e-12, 1.0)
    dP = -Y / P / Z.shape[0]
    return P * (dP - np.sum(dP * P, axis=1, keepdims=True))


def sce_clip_both_sides(Z, Y):
    eps = 1e-7
    P = np.clip(_softmax(Z), eps, 1 - eps)
    dP = -(Y / P) / len(Z)
    return P * dP - P * np.sum(P * dP, axis=1, keepdims=True)


def mlp_forward_first_layer_outside_loop(X, params):
    """The first layer is computed before the loop, always with ReLU: wrong when it is also the output layer."""
    L = sum(1 for k in params if k.startswith("W"))
    Z = X @ params["W1"] + params["b1"]
    caches = [((X, params["W1"], params["b1"]), Z)]
    A = np.maximum(0, Z)
    for l in range(2, L + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        Z = A @ W + b
        caches.append(((A, W, b), Z))
        A = Z if l == L else np.maximum(0, Z)
    return A, caches


def mlp_backward_first_layer_always_relu(X, Y, params, lam=0.0):
    """Backward pass that always gates layer 1 with ReLU′ (wrong when layer 1 is the linear output)."""
    L = sum(1 for k in params if k.startswith("W"))
    As, Zs = [X], []
    for l in range(1, L + 1):
        Z = As[-1] @ params[f"W{l}"] + params[f"b{l}"]
        Zs.append(Z)
        As.append(Z if l == L else np.maximum(0, Z))
    m = X.shape[0]
    dA = 2 * (As[-1] - Y) / m
    grads = {}
    for l in range(L, 0, -1):
        dZ = dA if (l == L and l != 1) else dA * (Zs[l - 1] > 0)
        grads[f"dW{l}"] = As[l - 1].T @ dZ + lam * params[f"W{l}"]
        grads[f"db{l}"] = dZ.sum(axis=0, keepdims=True)
        dA = dZ @ params[f"W{l}"].T
    return grads


def momentum_ema_under_own_key(w, dw, config=None):
    """EMA velocity kept under config['ema_v']: right from scratch, a saved config['velocity'] is ignored."""
    config = {} if config is None else config
    lr, beta = config.get("learning_rate", 1e-2), config.get("momentum", 0.9)
    if config.get("convention", "classic") == "classic":
        v = beta * config.get("velocity", np.zeros_like(w)) - lr * dw
        return w + v, {**config, "velocity": v}
    v = beta * config.get("ema_v", np.zeros_like(w)) + (1 - beta) * dw
    return w - lr * v, {**config, "ema_v": v, "velocity": v}


MUTANTS.update({
    "softmax_cross_entropy_grad": [("clipped_probabilities", sce_clip_then_divide),
                                   ("clipped_probabilities", sce_clip_both_sides)],
    "mlp_forward": [("relu_on_output", mlp_forward_first_layer_outside_loop)],
})

MUTANTS["mlp_backward"] = [("relu_on_output", mlp_backward_first_layer_always_relu)]
MUTANTS["sgd_momentum"] = [("ignores_saved_velocity", momentum_ema_under_own_key)]


def dropout_mask_one_row(X, keep_prob, rng):
    mask = (rng.random((1, X.shape[1])) < keep_prob) / keep_prob
    return X * mask, (mask, keep_prob)  # the (1, n) mask broadcasts


def dropout_mask_one_per_example(X, keep_prob, rng):
    mask = (rng.random((X.shape[0], 1)) < keep_prob) / keep_prob
    return X * mask, (mask, keep_prob)


def dropout_binomial(X, keep_prob, rng):
    mask = rng.binomial(1, keep_prob, size=X.shape) / keep_prob
    return X * mask, (mask, keep_prob)


MUTANTS["dropout_forward"] = [("mask_shared_across_examples", dropout_mask_one_row),
                              ("mask_shared_across_units", dropout_mask_one_per_example)]
CORRECT["dropout_forward"] = [dropout_binomial]


# ------------------------------------------------------------------ code written for one rank or shape
def relu_derivative_double_loop(z):
    out = np.zeros((z.shape[0], z.shape[1]))
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            out[i, j] = 1.0 if z[i, j] > 0 else 0.0
    return out


def stable_sigmoid_rows(z):
    out = np.empty_like(z)
    for i in range(z.shape[0]):
        row = z[i, :]
        e = np.exp(-np.abs(row))
        out[i, :] = np.where(row >= 0, 1 / (1 + e), e / (1 + e))
    return out


def chain_rule_vector_only(f_prime, g, g_prime, x):
    out = np.zeros(len(x))
    for i in range(len(x)):
        out[i] = f_prime(g(x[i])) * g_prime(x[i])
    return out


def mse_grad_hard_coded_shape(Y_hat, Y):
    return 2.0 * (Y_hat - Y) / 5


def relu_derivative_hard_coded_shape(z):
    return (z > 0).astype(float).reshape(4, 5)


def relu_derivative_any_rank(z):
    return np.greater(z, 0).astype(np.float64)


def chain_rule_any_rank(f_prime, g, g_prime, x):
    u = g(x)
    return np.multiply(f_prime(u), g_prime(x))


MUTANTS["relu_derivative"] = [("exception", relu_derivative_double_loop),
                              ("exception", relu_derivative_hard_coded_shape)]
MUTANTS["stable_sigmoid"] += [("exception", stable_sigmoid_rows)]
MUTANTS["chain_rule_derivative"] += [("exception", chain_rule_vector_only)]
MUTANTS["mse_grad"] += [("scale", mse_grad_hard_coded_shape)]
CORRECT["relu_derivative"] = [relu_derivative_any_rank]
CORRECT["chain_rule_derivative"] = [chain_rule_any_rank]


# ------------------------------------------------------------------------------ misleading messages
def dense_backward_db_float(dZ, cache):
    X, W, b = cache
    return dZ @ W.T, X.T @ dZ, float(dZ.sum()) if dZ.shape[1] == 1 else dZ.sum(axis=0, keepdims=True)


def dense_backward_cache_order(dZ, cache):
    W, X, b = cache
    return dZ @ W.T, X.T @ dZ, dZ.sum(axis=0, keepdims=True)


def dense_forward_cache_order(X, W, b):
    return X @ W + b, (W, X, b)


def xavier_half_width(n_in, n_out, rng):
    limit = np.sqrt(6.0 / (n_in + n_out)) / 2
    return rng.uniform(-limit, limit, size=(n_in, n_out))


def adam_xor_power(w, dw, config=None):
    config = dict(config or {})
    lr, b1, b2 = config.get("learning_rate", 1e-3), config.get("beta1", 0.9), config.get("beta2", 0.999)
    eps = config.get("epsilon", 1e-8)
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw * dw
    m_hat = m / (1 - b1 ^ t)
    v_hat = v / (1 - b2 ^ t)
    return w - lr * m_hat / (np.sqrt(v_hat) + eps), {**config, "m": m, "v": v, "t": t}


MUTANTS["dense_backward"] += [("shape", dense_backward_db_float)]
MUTANTS["dense_forward"] = [("cache_order", dense_forward_cache_order)]
MUTANTS["xavier_uniform"] = [("dropped_factor_2", xavier_half_width)]
MUTANTS["adam"] = [("exception", adam_xor_power)]

#: Slips no hand-written list foresees, with the name the generic diagnosis must give (backproplab.diagnosis,
#: and the engine's factors); tests/test_mutants.py and scripts/seed_sweep.py measure how many it names.
GENERIC = {
    "dense_backward": [("reads_order:cache", dense_backward_cache_order)],
}


# ---------------------------------------------------------- unforeseen slips (no hand-written Mistake)
def dense_forward_minus_bias(X, W, b):
    return X @ W - b, (X, W, b)


def mse_grad_plus(Y_hat, Y):
    return 2.0 * (Y_hat + Y) / Y_hat.shape[0]


def mse_grad_only_prediction(Y_hat, Y):
    return 2.0 * Y_hat / Y_hat.shape[0]


def relu_backward_gate_on_dA(dA, Z):
    return dA * (dA > 0)


def dense_backward_dW_uses_W(dZ, cache):
    X, W, b = cache
    return dZ @ W.T, W.T @ dZ if False else X.T @ dZ, dZ.sum(axis=0, keepdims=True) - 0.0 * b


def dense_backward_db_from_dX(dZ, cache):
    X, W, b = cache
    return dZ @ W.T, X.T @ dZ, -dZ.sum(axis=0, keepdims=True)


def l2_grad_negative(W, lam):
    return -lam * W


def sgd_lr_squared(w, dw, config=None):
    config = dict(config or {})
    lr = config.get("learning_rate", 1e-2)
    return w - lr * lr * dw, config


def bce_grad_args_swapped(P, Y):
    m = P.shape[0]
    return (P - Y) / (Y * (1 - Y) + 0 * P) / m if False else -(P / Y - (1 - P) / (1 - Y)) / m


def chain_rule_negated_x(f_prime, g, g_prime, x):
    return f_prime(g(x)) * g_prime(x) * np.sign(x) ** 2 * -1


def softmax_backward_dA_replaced(dA, A):
    return A * (A - np.sum(A * A, axis=1, keepdims=True))


def sigmoid_derivative_minus_one(z):
    s = 1 / (1 + np.exp(-z))
    return s * (s - 1)


def cross_entropy_grad_divides_by_Y(P, Y):
    return -P / np.where(Y == 0, 1.0, Y) / P.shape[0] * Y


GENERIC["dense_forward"] = [("negated:b", dense_forward_minus_bias)]
GENERIC["mse_grad"] = [("negated:Y", mse_grad_plus), ("left_out:Y", mse_grad_only_prediction)]
GENERIC["relu_backward"] = [("used_for:dA->Z", relu_backward_gate_on_dA)]
GENERIC["dense_backward"] += [("sign", dense_backward_db_from_dX)]
GENERIC["l2_grad"] = [("sign", l2_grad_negative)]
GENERIC["sgd"] = [("squared:config['learning_rate']", sgd_lr_squared)]
GENERIC["bce_grad"] = [("swapped:P,Y", bce_grad_args_swapped)]
GENERIC["chain_rule_derivative"] = [("sign", chain_rule_negated_x)]
GENERIC["softmax_backward"] = [("used_for:A->dA", softmax_backward_dA_replaced)]
GENERIC["sigmoid_derivative"] = [("sign", sigmoid_derivative_minus_one)]
GENERIC["cross_entropy_grad"] = [("inverted:P", cross_entropy_grad_divides_by_Y)]  # −P·Y/m: P where 1/P belongs


def relu_backward_gate_reversed(dA, Z):
    return dA * (Z < 0)


def relu_derivative_reversed(z):
    return (z < 0).astype(float)


def l2_grad_lam_squared(W, lam):
    return lam ** 2 * W


def momentum_lr_squared(w, dw, config=None):
    config = dict(config or {})
    lr, beta = config.get("learning_rate", 1e-2), config.get("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    if config.get("convention", "classic") == "classic":
        v = beta * v - lr * lr * dw
        return w + v, {**config, "velocity": v}
    v = beta * v + (1 - beta) * dw
    return w - lr * lr * v, {**config, "velocity": v}


def rmsprop_decay_squared(w, dw, config=None):
    config = dict(config or {})
    rho = config.get("decay_rate", 0.99) ** 2
    cache = rho * config.get("cache", np.zeros_like(w)) + (1 - rho) * dw * dw
    return w - config.get("learning_rate", 1e-2) * dw / (np.sqrt(cache) + config.get("epsilon", 1e-8)), \
        {**config, "cache": cache}


def cross_entropy_grad_no_mean(P, Y):
    return -Y / P


def cross_entropy_grad_ratio_inverted(P, Y):
    return -P / Y / P.shape[0]


def stable_softmax_of_minus_Z(Z):
    E = np.exp(-Z - np.max(-Z, axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def sce_grad_plus_Y(Z, Y):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return (E / E.sum(axis=1, keepdims=True) + Y) / Z.shape[0]


def dense_forward_double_bias(X, W, b):
    return X @ W + 2 * b, (X, W, b)


def tanh_derivative_plus(z):
    return 1 + np.tanh(z) ** 2


GENERIC["relu_backward"] += [("negated:Z", relu_backward_gate_reversed)]
GENERIC["relu_derivative"] = [("negated:z", relu_derivative_reversed)]
GENERIC["l2_grad"] += [("squared:lam", l2_grad_lam_squared)]
GENERIC["sgd_momentum"] = [("squared:config['learning_rate']", momentum_lr_squared)]
GENERIC["rmsprop"] = [("squared:config['decay_rate']", rmsprop_decay_squared)]
GENERIC["cross_entropy_grad"] += [("missing_1_over_m", cross_entropy_grad_no_mean),
                                  ("swapped:P,Y", cross_entropy_grad_ratio_inverted)]
GENERIC["stable_softmax"] = [("negated:Z", stable_softmax_of_minus_Z)]
GENERIC["softmax_cross_entropy_grad"] = [("negated:Y", sce_grad_plus_Y)]
GENERIC["dense_forward"] += [(None, dense_forward_double_bias)]
GENERIC["tanh_derivative"] = [("sign_in:1.0 - t * t", tanh_derivative_plus)]  # found in the formula


# ------------------------------------- correct alternatives written another way (rounding must not reject)
def sigmoid_derivative_exp_form(z):
    e = np.exp(-np.abs(z))
    return e / (1.0 + e) ** 2  # symmetric in z: σ'(z) = σ'(−z)


def tanh_derivative_cosh(z):
    return 1.0 / np.cosh(z) ** 2


def softmax_backward_jacobian(dA, A):
    J = np.einsum("mi,ij->mij", A, np.eye(A.shape[1])) - np.einsum("mi,mj->mij", A, A)
    return np.einsum("mij,mj->mi", J, dA)


def dense_backward_loops(dZ, cache):
    X, W, b = cache
    m, n_in = X.shape
    n_out = W.shape[1]
    dX, dW, db = np.zeros((m, n_in)), np.zeros((n_in, n_out)), np.zeros((1, n_out))
    for i in range(m):
        for k in range(n_out):
            dX[i] += dZ[i, k] * W[:, k]
            dW[:, k] += X[i] * dZ[i, k]
            db[0, k] += dZ[i, k]
    return dX, dW, db


def mse_grad_mean_then_scale(Y_hat, Y):
    return (Y_hat - Y) * (2.0 / len(Y_hat))


def bce_grad_one_fraction(P, Y):
    return (P - Y) / (P * (1.0 - P)) / P.shape[0]


def cross_entropy_grad_product(P, Y):
    return -(1.0 / P.shape[0]) * Y * (1.0 / P)


def sce_grad_logsumexp(Z, Y):
    shift = Z.max(axis=1, keepdims=True)
    lse = shift + np.log(np.exp(Z - shift).sum(axis=1, keepdims=True))
    return (np.exp(Z - lse) - Y) / Z.shape[0]


def relu_backward_where(dA, Z):
    return np.where(Z > 0, dA, 0.0)


def two_layer_backward_by_hand(X, Y, params):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    Z1 = X @ W1 + b1
    A1 = np.maximum(Z1, 0.0)
    Y_hat = A1 @ W2 + b2
    dY = (Y_hat - Y) * (2.0 / X.shape[0])
    dZ1 = (dY @ W2.T) * (Z1 > 0)
    return {"dW1": X.T @ dZ1, "db1": dZ1.sum(axis=0, keepdims=True),
            "dW2": A1.T @ dY, "db2": dY.sum(axis=0, keepdims=True)}


def chain_rule_steps(f_prime, g, g_prime, x):
    u = g(x)
    outer = f_prime(u)
    inner = g_prime(x)
    return inner * outer


CORRECT.update({
    "sigmoid_derivative": [sigmoid_derivative_exp_form],
    "tanh_derivative": [tanh_derivative_cosh],
    "softmax_backward": [softmax_backward_jacobian],
    "dense_backward": [dense_backward_loops],
    "mse_grad": [mse_grad_mean_then_scale],
    "bce_grad": [bce_grad_one_fraction],
    "cross_entropy_grad": [cross_entropy_grad_product],
    "softmax_cross_entropy_grad": [sce_grad_logsumexp],
    "relu_backward": [relu_backward_where],
    "two_layer_backward": [two_layer_backward_by_hand],
})
CORRECT["chain_rule_derivative"] += [chain_rule_steps]
