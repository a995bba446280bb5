"""Slow but correct learner answers: every graded function of notebooks 01–07 written the naive way a learner
would, with pure-Python loops over the entries instead of numpy's vectorised operations (``math`` for the
element-wise functions, a triple loop for a matrix product). They measure what the time budget's floor
(``budgets.CELL_FLOOR``) must leave to a slow answer that is right (``scripts/slow_answers.py`` prints the CPU
seconds of every cell; tests/grading/test_slow_answers.py grades them at full marks).

``ANSWERS[notebook][grade id]`` is the source of the answer cell (the function's whole definition).
"""

from __future__ import annotations

#: Helpers every slow answer of a notebook may use, put in front of the first answer cell of the notebook.
HELPERS = '''
import math


def _zeros(rows, cols):
    return np.zeros((rows, cols))


def _matmul(A, B):
    """A @ B with three loops."""
    n, k = A.shape
    k2, p = B.shape
    assert k == k2
    out = np.zeros((n, p), dtype=np.result_type(A, B, float))
    for i in range(n):
        for j in range(p):
            total = 0.0
            for t in range(k):
                total += A[i, t] * B[t, j]
            out[i, j] = total
    return out


def _transpose(A):
    rows, cols = A.shape
    out = np.zeros((cols, rows), dtype=A.dtype)
    for i in range(rows):
        for j in range(cols):
            out[j, i] = A[i, j]
    return out


def _each(f, *arrays):
    """f applied entry by entry to arrays of one shape (numbers too), as a float array of that shape."""
    arrays = [np.asarray(a, dtype=float) for a in arrays]
    out = np.zeros(arrays[0].shape, dtype=float)
    for index in np.ndindex(arrays[0].shape):
        out[index] = f(*(float(a[index]) for a in arrays))
    return out if out.shape else float(out)
'''

ANSWERS: dict[str, dict[str, str]] = {
    "01_chain_rule": {
        "ex-chain-rule-derivative": '''
def chain_rule_derivative(f_prime, g, g_prime, x):
    u = g(x)
    outer = f_prime(u)
    inner = g_prime(x)
    if np.ndim(x) == 0:
        return outer * inner
    result = np.zeros(np.shape(x))
    for index in np.ndindex(np.shape(x)):
        result[index] = np.asarray(outer)[index] * np.asarray(inner)[index]
    return result
''',
        "ex-numerical-derivative": '''
def numerical_derivative(f, x, h=1e-5):
    forward = f(x + h)
    backward = f(x - h)
    return (forward - backward) / (2 * h)
''',
        "ex-graph-backward": '''
def graph_backward(x, y):
    a = x * y
    b = a + x
    c = math.sin(b)
    dx = math.cos(b) * y * (1 + y)
    dy = c + math.cos(b) * y * x
    return dx, dy
''',
    },
    "02_forward_pass": {
        "ex-dense-forward": '''
def dense_forward(X, W, b):
    Z = _matmul(X, W)
    for i in range(Z.shape[0]):
        for j in range(Z.shape[1]):
            Z[i, j] = Z[i, j] + b[0, j]
    return Z, (X, W, b)
''',
        "ex-mlp-forward": '''
def mlp_forward(X, params):
    L = len(params) // 2
    A, caches = X, []
    for l in range(1, L + 1):
        Z, cache = dense_forward(A, params["W" + str(l)], params["b" + str(l)])
        caches.append((cache, Z))
        if l == L:
            A = Z
        else:
            A = np.zeros(Z.shape)
            for i in range(Z.shape[0]):
                for j in range(Z.shape[1]):
                    A[i, j] = Z[i, j] if Z[i, j] > 0 else 0.0
    return A, caches
''',
        "ex-he-normal": '''
def he_normal(n_in, n_out, rng):
    std = math.sqrt(2.0 / n_in)
    return rng.normal(0.0, std, size=(n_in, n_out))
''',
        "ex-xavier-uniform": '''
def xavier_uniform(n_in, n_out, rng):
    limit = math.sqrt(6.0 / (n_in + n_out))
    return rng.uniform(-limit, limit, size=(n_in, n_out))
''',
    },
    "03_backward_pass": {
        "ex-dense-backward": '''
def dense_backward(dZ, cache):
    X, W, b = cache
    dX = _matmul(dZ, _transpose(W))
    dW = _matmul(_transpose(X), dZ)
    db = np.zeros((1, dZ.shape[1]), dtype=np.result_type(dZ, float))
    for i in range(dZ.shape[0]):
        for j in range(dZ.shape[1]):
            db[0, j] += dZ[i, j]
    return dX, dW, db
''',
        "ex-relu-backward": '''
def relu_backward(dA, Z):
    dZ = np.zeros(np.shape(dA), dtype=np.result_type(dA, float))
    for index in np.ndindex(np.shape(dA)):
        dZ[index] = dA[index] if Z[index] > 0 else 0.0
    return dZ
''',
        "ex-two-layer-backward": '''
def two_layer_backward(X, Y, params):
    Z1, cache1 = layers.dense_forward(X, params["W1"], params["b1"])
    A1 = np.zeros(Z1.shape)
    for i in range(Z1.shape[0]):
        for j in range(Z1.shape[1]):
            A1[i, j] = max(Z1[i, j], 0.0)
    Y_hat, cache2 = layers.dense_forward(A1, params["W2"], params["b2"])
    m = X.shape[0]
    dZ2 = np.zeros(Y_hat.shape)
    for i in range(Y_hat.shape[0]):
        for j in range(Y_hat.shape[1]):
            dZ2[i, j] = 2.0 * (Y_hat[i, j] - Y[i, j]) / m
    dA1, dW2, db2 = dense_backward(dZ2, cache2)
    dZ1 = relu_backward(dA1, Z1)
    _, dW1, db1 = dense_backward(dZ1, cache1)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
''',
        "ex-relative-error": '''
def relative_error(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    diff = norm_a = norm_b = 0.0
    for index in np.ndindex(a.shape):
        diff += (a[index] - b[index]) ** 2
        norm_a += a[index] ** 2
        norm_b += b[index] ** 2
    denom = math.sqrt(norm_a) + math.sqrt(norm_b)
    if denom == 0.0:
        return 0.0
    return float(math.sqrt(diff) / denom)
''',
    },
    "04_activation_functions": {
        "ex-sigmoid-derivative": '''
def sigmoid_derivative(z):
    def one(v):
        s = 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
        return s * (1 - s)
    return _each(one, z)
''',
        "ex-tanh-derivative": '''
def tanh_derivative(z):
    return _each(lambda v: 1 - math.tanh(v) ** 2, z)
''',
        "ex-relu-derivative": '''
def relu_derivative(z):
    out = np.zeros(np.shape(z), dtype=float)
    for index in np.ndindex(np.shape(z)):
        out[index] = 1.0 if np.asarray(z)[index] > 0 else 0.0
    return out
''',
        "ex-stable-sigmoid": '''
def stable_sigmoid(z):
    def one(v):
        if v >= 0:
            return 1 / (1 + math.exp(-v))
        e = math.exp(v)
        return e / (1 + e)
    return _each(one, z)
''',
        "ex-stable-softmax": '''
def stable_softmax(Z):
    m, K = Z.shape
    A = np.zeros((m, K))
    for i in range(m):
        biggest = Z[i, 0]
        for k in range(K):
            if Z[i, k] > biggest:
                biggest = Z[i, k]
        total = 0.0
        for k in range(K):
            A[i, k] = math.exp(Z[i, k] - biggest)
            total += A[i, k]
        for k in range(K):
            A[i, k] = A[i, k] / total
    return A
''',
        "ex-softmax-backward": '''
def softmax_backward(dA, A):
    m, K = A.shape
    dZ = np.zeros((m, K))
    for i in range(m):
        inner = 0.0
        for k in range(K):
            inner += dA[i, k] * A[i, k]
        for k in range(K):
            dZ[i, k] = A[i, k] * (dA[i, k] - inner)
    return dZ
''',
    },
    "05_loss_functions": {
        "ex-mse-grad": '''
def mse_grad(Y_hat, Y):
    m, n = Y_hat.shape
    d = np.zeros((m, n))
    for i in range(m):
        for k in range(n):
            d[i, k] = 2 * (Y_hat[i, k] - Y[i, k]) / m
    return d
''',
        "ex-bce-grad": '''
def bce_grad(P, Y):
    m, n = P.shape
    d = np.zeros((m, n))
    for i in range(m):
        for k in range(n):
            d[i, k] = (-Y[i, k] / P[i, k] + (1 - Y[i, k]) / (1 - P[i, k])) / m
    return d
''',
        "ex-bce-with-logits-loss": '''
def bce_with_logits_loss(Z, Y):
    m, n = Z.shape
    total = 0.0
    for i in range(m):
        for k in range(n):
            z = Z[i, k]
            softplus = z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))
            total += softplus - Y[i, k] * z
    return float(total / m)
''',
        "ex-cross-entropy-grad": '''
def cross_entropy_grad(P, Y):
    m, K = P.shape
    d = np.zeros((m, K))
    for i in range(m):
        for k in range(K):
            d[i, k] = -Y[i, k] / P[i, k] / m
    return d
''',
        "ex-softmax-cross-entropy-grad": '''
def softmax_cross_entropy_grad(Z, Y):
    m, K = Z.shape
    d = np.zeros((m, K))
    for i in range(m):
        biggest = max(Z[i, k] for k in range(K))
        exps = [math.exp(Z[i, k] - biggest) for k in range(K)]
        total = sum(exps)
        for k in range(K):
            d[i, k] = (exps[k] / total - Y[i, k]) / m
    return d
''',
    },
    "06_matrix_formulation": {
        "ex-l2-grad": '''
def l2_grad(W, lam):
    W = np.asarray(W)
    out = np.zeros(W.shape, dtype=np.result_type(W, float))
    for index in np.ndindex(W.shape):
        out[index] = lam * W[index]
    return out
''',
        "ex-mlp-backward": '''
def mlp_backward(X, Y, params, lam=0.0):
    L = len(params) // 2
    As, Zs = [X], []
    for l in range(1, L + 1):
        W, b = params["W" + str(l)], params["b" + str(l)]
        Z = _matmul(As[-1], W)
        for i in range(Z.shape[0]):
            for j in range(Z.shape[1]):
                Z[i, j] += b[0, j]
        Zs.append(Z)
        if l < L:
            A = np.zeros(Z.shape)
            for i in range(Z.shape[0]):
                for j in range(Z.shape[1]):
                    A[i, j] = Z[i, j] if Z[i, j] > 0 else 0.0
            As.append(A)
        else:
            As.append(Z)
    m = X.shape[0]
    Y_hat = As[-1]
    dZ = np.zeros(Y_hat.shape)
    for i in range(Y_hat.shape[0]):
        for j in range(Y_hat.shape[1]):
            dZ[i, j] = 2 * (Y_hat[i, j] - Y[i, j]) / m
    grads = {}
    for l in range(L, 0, -1):
        W = params["W" + str(l)]
        dW = _matmul(_transpose(As[l - 1]), dZ)
        for index in np.ndindex(dW.shape):
            dW[index] += lam * W[index]
        db = np.zeros((1, dZ.shape[1]))
        for i in range(dZ.shape[0]):
            for j in range(dZ.shape[1]):
                db[0, j] += dZ[i, j]
        grads["dW" + str(l)] = dW
        grads["db" + str(l)] = db
        if l > 1:
            dA = _matmul(dZ, _transpose(W))
            Zp = Zs[l - 2]
            dZ = np.zeros(dA.shape)
            for i in range(dA.shape[0]):
                for j in range(dA.shape[1]):
                    dZ[i, j] = dA[i, j] if Zp[i, j] > 0 else 0.0
    return grads
''',
        "ex-dense-backward-col": '''
def dense_backward_col(dZ, cache):
    A_prev, W, b = cache
    dA_prev = _matmul(_transpose(W), dZ)
    dW = _matmul(dZ, _transpose(A_prev))
    db = np.zeros((dZ.shape[0], 1), dtype=np.result_type(dZ, float))
    for i in range(dZ.shape[0]):
        for j in range(dZ.shape[1]):
            db[i, 0] += dZ[i, j]
    return dA_prev, dW, db
''',
        "ex-dropout-forward": '''
def dropout_forward(X, keep_prob, rng):
    draws = rng.random(X.shape)
    mask = np.zeros(X.shape)
    out = np.zeros(X.shape, dtype=np.result_type(X, float))
    for index in np.ndindex(X.shape):
        mask[index] = 1.0 / keep_prob if draws[index] < keep_prob else 0.0
        out[index] = X[index] * mask[index]
    return out, (mask, keep_prob)
''',
        "ex-dropout-backward": '''
def dropout_backward(dout, cache):
    mask, keep_prob = cache
    dX = np.zeros(dout.shape, dtype=np.result_type(dout, float))
    for index in np.ndindex(dout.shape):
        dX[index] = dout[index] * mask[index]
    return dX
''',
    },
    "07_optimizers": {
        "ex-sgd": '''
def sgd(w, dw, config=None):
    config = {"learning_rate": 1e-2, **(config or {})}
    next_w = np.zeros(np.shape(w), dtype=np.result_type(w, float))
    for index in np.ndindex(np.shape(w)):
        next_w[index] = w[index] - config["learning_rate"] * dw[index]
    return next_w, config
''',
        "ex-sgd-momentum": '''
def sgd_momentum(w, dw, config=None):
    config = {"learning_rate": 1e-2, "momentum": 0.9, "convention": "classic", "velocity": np.zeros_like(w),
              **(config or {})}
    beta, lr = config["momentum"], config["learning_rate"]
    v = np.array(config["velocity"], dtype=np.result_type(w, float))
    next_w = np.zeros(np.shape(w), dtype=np.result_type(w, float))
    for index in np.ndindex(np.shape(w)):
        if config["convention"] == "classic":
            v[index] = beta * v[index] - lr * dw[index]
            next_w[index] = w[index] + v[index]
        else:
            v[index] = beta * v[index] + (1 - beta) * dw[index]
            next_w[index] = w[index] - lr * v[index]
    config["velocity"] = v
    return next_w, config
''',
        "ex-rmsprop": '''
def rmsprop(w, dw, config=None):
    config = {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8, "cache": np.zeros_like(w),
              **(config or {})}
    rho = config["decay_rate"]
    cache = np.array(config["cache"], dtype=np.result_type(w, float))
    next_w = np.zeros(np.shape(w), dtype=np.result_type(w, float))
    for index in np.ndindex(np.shape(w)):
        cache[index] = rho * cache[index] + (1 - rho) * dw[index] ** 2
        next_w[index] = w[index] - config["learning_rate"] * dw[index] / (math.sqrt(cache[index])
                                                                          + config["epsilon"])
    config["cache"] = cache
    return next_w, config
''',
        "ex-adam": '''
def adam(w, dw, config=None):
    config = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
              "m": np.zeros_like(w), "v": np.zeros_like(w), "t": 0, **(config or {})}
    b1, b2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = np.array(config["m"], dtype=np.result_type(w, float))
    v = np.array(config["v"], dtype=np.result_type(w, float))
    next_w = np.zeros(np.shape(w), dtype=np.result_type(w, float))
    for index in np.ndindex(np.shape(w)):
        m[index] = b1 * m[index] + (1 - b1) * dw[index]
        v[index] = b2 * v[index] + (1 - b2) * dw[index] ** 2
        m_hat = m[index] / (1 - b1 ** t)
        v_hat = v[index] / (1 - b2 ** t)
        next_w[index] = w[index] - config["learning_rate"] * m_hat / (math.sqrt(v_hat) + config["epsilon"])
    config.update(m=m, v=v, t=t)
    return next_w, config
''',
    },
}


def slow_notebook(solution_nb, notebook: str):
    """``solution_nb`` (an nbformat notebook) with every graded answer replaced by its slow answer (a copy)."""
    import copy

    nb = copy.deepcopy(solution_nb)
    answers = ANSWERS[notebook]
    first = True
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution") and gid in answers:
            cell.source = ((HELPERS if first else "") + answers[gid]).strip() + "\n"
            first = False
    missing = set(answers) - {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    assert not missing, f"{notebook}: no answer cell {sorted(missing)}"
    return nb
