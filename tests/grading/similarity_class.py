"""A synthetic class for the similarity report, on notebook 03 (four answer cells).

Eight students answer independently. The one-line answers are naturally identical across the class
(``dZ @ W.T``, ``dA * (Z > 0)``); the longer ones are written in each student's own way. Then:

- ``copier`` copies ``s1``'s notebook, renames every variable, reorders the functions of a cell and
  rewrites the comments;
- ``paster`` pastes the package's own ``dense_backward`` and ``relative_error`` (backproplab's source).

Expected: exactly the pairs (copier, s1) and (paster, backproplab source) are flagged.
"""

from __future__ import annotations

import textwrap

from backproplab.grading.similarity import package_functions

NOTEBOOK = "03_backward_pass"
CELLS = ["ex-dense-backward", "ex-relu-backward", "ex-two-layer-backward", "ex-relative-error"]
STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"

DENSE = [
    "X, W, b = cache\ndX = dZ @ W.T\ndW = X.T @ dZ\ndb = np.sum(dZ, axis=0, keepdims=True)\nreturn dX, dW, db",
    "X, W, b = cache\nreturn dZ @ W.T, X.T @ dZ, dZ.sum(axis=0, keepdims=True)",
]
RELU = ["return dA * (Z > 0)", "return np.where(Z > 0, dA, 0.0)"]
TWO_LAYER = [
    # s0: through the package's layers
    """Z1, c1 = layers.dense_forward(X, params["W1"], params["b1"])
A1 = np.maximum(Z1, 0)
Y_hat, c2 = layers.dense_forward(A1, params["W2"], params["b2"])
dY = 2 * (Y_hat - Y) / X.shape[0]
dA1, dW2, db2 = dense_backward(dY, c2)
_, dW1, db1 = dense_backward(relu_backward(dA1, Z1), c1)
return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}""",
    # s1: helpers of its own (the copier's source)
    """def forward(X, params):
    # hidden layer, then the linear output
    Z1 = X @ params["W1"] + params["b1"]
    A1 = np.maximum(Z1, 0.0)
    out = A1 @ params["W2"] + params["b2"]
    return Z1, A1, out

def grads_of(X, Y, params):
    Z1, A1, out = forward(X, params)
    m = X.shape[0]
    d_out = (out - Y) * (2.0 / m)       # the mean's 1/m, once
    g_W2 = A1.T @ d_out
    g_b2 = d_out.sum(axis=0, keepdims=True)
    d_hidden = (d_out @ params["W2"].T) * (Z1 > 0)
    g_W1 = X.T @ d_hidden
    g_b1 = d_hidden.sum(axis=0, keepdims=True)
    return {"dW1": g_W1, "db1": g_b1, "dW2": g_W2, "db2": g_b2}

return grads_of(X, Y, params)""",
    # s2: a loop over the two layers
    """Ws = [params["W1"], params["W2"]]
bs = [params["b1"], params["b2"]]
acts = [X]
pre = []
for k, (W, b) in enumerate(zip(Ws, bs)):
    Z = acts[-1] @ W + b
    pre.append(Z)
    acts.append(np.maximum(Z, 0) if k == 0 else Z)
grad = 2.0 * (acts[-1] - Y) / len(X)
out = {}
for k in (1, 0):
    if k == 0:
        grad = grad * (pre[0] > 0)
    out[f"dW{k + 1}"] = acts[k].T @ grad
    out[f"db{k + 1}"] = grad.sum(0, keepdims=True)
    grad = grad @ Ws[k].T
return out""",
    # s3: everything inline, einsum
    """H = np.maximum(X @ params["W1"] + params["b1"], 0)
P = H @ params["W2"] + params["b2"]
E = (P - Y) * 2 / Y.shape[0]
G = np.einsum("ij,jk->ik", E, params["W2"].T) * (H > 0)
return {"dW2": np.einsum("ij,ik->jk", H, E), "db2": E.sum(axis=0)[None, :],
        "dW1": np.einsum("ij,ik->jk", X, G), "db1": G.sum(axis=0)[None, :]}""",
    # s4: dictionary bookkeeping
    """cache = {}
cache["z1"] = np.dot(X, params["W1"]) + params["b1"]
cache["a1"] = cache["z1"] * (cache["z1"] > 0)
cache["yh"] = np.dot(cache["a1"], params["W2"]) + params["b2"]
n = X.shape[0]
delta2 = 2.0 / n * (cache["yh"] - Y)
delta1 = np.dot(delta2, params["W2"].T)
delta1[cache["z1"] <= 0] = 0.0
grads = dict(dW2=np.dot(cache["a1"].T, delta2), db2=np.sum(delta2, axis=0, keepdims=True))
grads.update(dW1=np.dot(X.T, delta1), db1=np.sum(delta1, axis=0, keepdims=True))
return grads""",
    # s5: transpose-heavy, column view
    """Zt = params["W1"].T @ X.T + params["b1"].T
At = np.clip(Zt, 0, None)
Yt = params["W2"].T @ At + params["b2"].T
dYt = (Yt - Y.T) * (2.0 / X.shape[0])
dW2 = (dYt @ At.T).T
db2 = dYt.sum(axis=1, keepdims=True).T
dZt = (params["W2"] @ dYt) * (Zt > 0)
dW1 = (dZt @ X).T
db1 = dZt.sum(axis=1, keepdims=True).T
return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}""",
    # s6: a tiny class
    """class Net:
    def __init__(self, p):
        self.p = p

    def run(self, X):
        self.X, self.Z = X, X @ self.p["W1"] + self.p["b1"]
        self.A = self.Z * (self.Z > 0)
        return self.A @ self.p["W2"] + self.p["b2"]

    def back(self, d):
        dA = d @ self.p["W2"].T
        dZ = dA * (self.Z > 0)
        return {"dW2": self.A.T @ d, "db2": d.sum(0, keepdims=True), "dW1": self.X.T @ dZ,
                "db1": dZ.sum(0, keepdims=True)}

net = Net(params)
pred = net.run(X)
return net.back(2 * (pred - Y) / X.shape[0])""",
    # s7: explicit per-example loop
    """m = X.shape[0]
res = {k: np.zeros_like(v) for k, v in (("dW1", params["W1"]), ("db1", params["b1"]),
                                         ("dW2", params["W2"]), ("db2", params["b2"]))}
for i in range(m):
    x = X[i:i + 1]
    z = x @ params["W1"] + params["b1"]
    a = np.maximum(z, 0)
    yhat = a @ params["W2"] + params["b2"]
    g = 2 * (yhat - Y[i:i + 1]) / m
    res["dW2"] += a.T @ g
    res["db2"] += g
    gz = (g @ params["W2"].T) * (z > 0)
    res["dW1"] += x.T @ gz
    res["db1"] += gz
return res""",
]
RELATIVE = [
    "num = np.linalg.norm(a - b)\nden = np.linalg.norm(a) + np.linalg.norm(b)\nreturn 0.0 if den == 0 else num / den",
    "d = np.sqrt(np.sum((a - b) ** 2))\ns = np.sqrt(np.sum(a ** 2)) + np.sqrt(np.sum(b ** 2))\n"
    "if s == 0:\n    return 0.0\nreturn float(d / s)",
    "top = np.linalg.norm((a - b).ravel())\nbottom = np.linalg.norm(a.ravel()) + np.linalg.norm(b.ravel())\n"
    "return top / bottom if bottom > 0 else 0.0",
    "try:\n    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))\n"
    "except ZeroDivisionError:\n    return 0.0",
]


def fill(stub: str, body: str) -> str:
    """The stub with its ``raise NotImplementedError()`` replaced by ``body`` (indented into the function)."""
    assert STUB in stub, stub
    return stub.replace(STUB, textwrap.indent(body, "    "))


def independent(stubs: dict[str, str], k: int) -> dict[str, str]:
    return {
        "ex-dense-backward": fill(stubs["ex-dense-backward"], DENSE[0 if k % 3 else 1]),
        "ex-relu-backward": fill(stubs["ex-relu-backward"], RELU[0 if k % 4 else 1]),
        "ex-two-layer-backward": fill(stubs["ex-two-layer-backward"], TWO_LAYER[k]),
        "ex-relative-error": fill(stubs["ex-relative-error"], RELATIVE[k % len(RELATIVE)]),
    }


COPIED_TWO_LAYER = """def gradients(inputs, targets, weights):
    h_pre, h_act, pred = run_net(inputs, weights)
    batch = inputs.shape[0]
    g_pred = (pred - targets) * (2.0 / batch)       # derivative of the mean squared error
    gw2 = h_act.T @ g_pred
    gb2 = g_pred.sum(axis=0, keepdims=True)
    g_h = (g_pred @ weights["W2"].T) * (h_pre > 0)
    gw1 = inputs.T @ g_h
    gb1 = g_h.sum(axis=0, keepdims=True)
    return {"dW1": gw1, "db1": gb1, "dW2": gw2, "db2": gb2}

def run_net(inputs, weights):
    # forward: ReLU layer then a linear layer
    h_pre = inputs @ weights["W1"] + weights["b1"]
    h_act = np.maximum(h_pre, 0.0)
    pred = h_act @ weights["W2"] + weights["b2"]
    return h_pre, h_act, pred

return gradients(X, Y, params)"""

COPIED_RELATIVE = ("dist = np.sqrt(np.sum((a - b) ** 2))   # how far apart\n"
                   "total = np.sqrt(np.sum(a ** 2)) + np.sqrt(np.sum(b ** 2))   # how large\n"
                   "if total == 0:\n    return 0.0\nreturn float(dist / total)")


def synthetic_class(stubs: dict[str, str]) -> dict[str, dict[str, str]]:
    """student -> {answer cell: source}: s0..s7 independent, ``copier`` (of s1) and ``paster``."""
    answers = {f"s{k}": independent(stubs, k) for k in range(8)}
    s1 = answers["s1"]
    answers["copier"] = {
        "ex-dense-backward": s1["ex-dense-backward"].replace("X, W, b = cache", "inp, wts, bias = cache")
        .replace("W.T", "wts.T").replace("X.T", "inp.T"),
        "ex-relu-backward": s1["ex-relu-backward"],
        "ex-two-layer-backward": fill(stubs["ex-two-layer-backward"], COPIED_TWO_LAYER),
        "ex-relative-error": fill(stubs["ex-relative-error"], COPIED_RELATIVE),
    }
    source = package_functions()
    answers["paster"] = dict(independent(stubs, 6))
    answers["paster"]["ex-two-layer-backward"] = stubs["ex-two-layer-backward"]  # not answered
    answers["paster"]["ex-dense-backward"] = source["dense_backward"]
    answers["paster"]["ex-relative-error"] = source["relative_error"]
    return answers
