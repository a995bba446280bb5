"""Answers an outsider's audit wrote with the package's own functions, without computing the answer (audit 10):
``(topic, exercise, notebook, answer cell)``. Grading must refuse each (the scan blocks it for its exercise, or the
poisoned copies make its graded check fail), except :data:`STILL_ACCEPTED`, where the learner writes the whole
formula anyway. Used by tests/sandbox/test_copies.py."""

# ruff: noqa: E501

ANSWERS = [
('chain_rule','graph_backward','01','''
from backproplab.plots.chain_rule import graph_gradients
def graph_backward(x, y):
    g = graph_gradients(x, y)
    return g["dx"], g["dy"]
'''),
('chain_rule','numerical_derivative','01','''
from backproplab.training import numerical_gradients as _ng
def numerical_derivative(f, x, h=1e-5):
    return float(_ng(lambda p: f(p["x"]), {"x": x}, h)["dx"])
'''),
('fwd','dense_forward','02','''
from backproplab.widgets.backward_pass import BUGGY_BACKWARDS
_ng = BUGGY_BACKWARDS["bug: ReLU gate missing"]
def dense_forward(X, W, b):
    m = X.shape[0]; n_out = W.shape[1]
    Y = -np.eye(m) * m / 2
    p = {"W2": np.zeros((n_out, m)), "b2": np.zeros((1, m))}
    pos = _ng(X, Y, {"W1": W, "b1": b, **p})["dW2"].T
    neg = _ng(X, Y, {"W1": -W, "b1": -b, **p})["dW2"].T
    return pos - neg, (X, W, b)
'''),
('fwd','mlp_forward','02','''
from backproplab.plots.matrix_formulation import dense_forward as _df
def mlp_forward(X, params):
    L = len([k for k in params if k.startswith("W")])
    A, caches = X, []
    for l in range(1, L + 1):
        Z, cache = _df(A, params[f"W{l}"], params[f"b{l}"])
        caches.append((cache, Z))
        A = relu(Z) if l < L else Z
    return A, caches
'''),
('fwd','he_normal','02','''
from backproplab.plots.forward_pass import _std_one
def he_normal(n_in, n_out, rng):
    return _std_one(n_in, n_out, rng) * np.sqrt(2.0 / n_in)
'''),
('bwd','dense_backward','03','''
from backproplab.widgets.backward_pass import BUGGY_BACKWARDS
_ng = BUGGY_BACKWARDS["bug: ReLU gate missing"]
def dense_backward(dZ, cache):
    X, W, b = cache
    m, n_in = X.shape; n_out = W.shape[1]
    Y = -dZ * m / 2
    g = _ng(X, Y, {"W1": np.zeros((n_in, n_out)), "b1": np.zeros((1, n_out)), "W2": np.eye(n_out), "b2": np.zeros((1, n_out))})
    h = _ng(np.eye(m), Y, {"W1": np.zeros((m, n_in)), "b1": np.zeros((1, n_in)), "W2": W, "b2": np.zeros((1, n_out))})
    return h["dW1"], g["dW1"], g["db1"]
'''),
('bwd','relu_backward','03','''
from backproplab.debugging import backward_with
_lg = backward_with(1)[1]
def relu_backward(dA, Z):
    m, n = Z.shape
    p = {"W1": Z, "b1": np.zeros((1, n)), "W2": np.eye(n), "b2": np.zeros((1, n))}
    g0 = _lg(p, np.eye(m), np.zeros((m, n)))[1]["dW1"]
    g1 = _lg(p, np.eye(m), -m * dA)[1]["dW1"]
    return g1 - g0
'''),
('bwd','two_layer_backward','03','''
from backproplab.plots.backward_pass import mlp_forward as _mf
from backproplab.plots.loss_functions import mse_grad as _g
from backproplab.network import mlp_backward as _mb
def two_layer_backward(X, Y, params):
    Y_hat, caches = _mf(X, params)
    return _mb(_g(Y_hat, Y), caches)
'''),
('act','sigmoid_derivative','04','''
from backproplab.activations import softmax_derivative
def sigmoid_derivative(z):
    z = np.asarray(z, dtype=float)
    J = softmax_derivative(np.stack([z.ravel(), np.zeros(z.size)], axis=-1))
    return J[:, 0, 0].reshape(z.shape)
'''),
('act','tanh_derivative','04','''
from backproplab.plots.loss_functions import sigmoid_derivative as _sd
def tanh_derivative(z):
    return 4.0 * _sd(2.0 * np.asarray(z, dtype=float))
'''),
('act','relu_derivative','04','''
from backproplab.widgets.training import COURSE_PARTS
def relu_derivative(z):
    z = np.asarray(z, dtype=float)
    return COURSE_PARTS.relu_backward(np.ones_like(z), z)
'''),
('act','stable_sigmoid','04','''
def stable_sigmoid(z):
    z = np.asarray(z, dtype=float)
    return softmax(np.stack([z, np.zeros_like(z)], axis=-1))[..., 0]
'''),
('act','stable_softmax','04','''
from backproplab.debugging import backward_with
_lg = backward_with(0)[1]
def stable_softmax(Z):
    Z = np.asarray(Z, dtype=float); m, K = Z.shape
    p = {"W1": np.eye(m), "b1": np.zeros((1, m)), "W2": Z, "b2": np.zeros((1, K))}
    return _lg(p, np.eye(m), np.zeros((m, K)))[1]["dW2"] * m
'''),
('act','softmax_backward','04','''
def softmax_backward(dA, A):
    return np.stack([softmax_jacobian(np.log(a)).T @ d for a, d in zip(A, dA)])
'''),
('loss','mse_grad','05','''
from backproplab.widgets.optimizers import _optimizers
def mse_grad(Y_hat, Y):
    return _optimizers.sgd(Y_hat, Y, {"learning_rate": 1.0})[0] * (2.0 / Y_hat.shape[0])
'''),
('loss','bce_grad','05','''
from backproplab.plots.loss_functions import bce_with_logits_grad as _g
def bce_grad(P, Y):
    return _g(np.log(P) - np.log1p(-P), Y) / (P * (1 - P))
'''),
('loss','bce_with_logits_loss','05','''
def bce_with_logits_loss(Z, Y):
    z, y = np.ravel(Z), np.ravel(Y)
    loss, _ = softmax_cross_entropy(np.stack([z, np.zeros_like(z)], 1), np.stack([y, 1 - y], 1))
    return loss * z.size / np.shape(Z)[0]
'''),
('loss','cross_entropy_grad','05','''
from backproplab.plots.loss_functions import bce_grad as _b
def cross_entropy_grad(P, Y):
    return Y * _b(P, np.ones_like(P))
'''),
('loss','softmax_cross_entropy_grad','05','''
from backproplab.debugging import backward_with
_lg = backward_with(0)[1]
def softmax_cross_entropy_grad(Z, Y):
    Z = np.asarray(Z, dtype=float); m, K = Z.shape
    p = {"W1": np.eye(m), "b1": np.zeros((1, m)), "W2": Z, "b2": np.zeros((1, K))}
    return _lg(p, np.eye(m), Y)[1]["dW2"]
'''),
('mat','l2_grad','06','''
from backproplab.widgets.optimizers import _optimizers
def l2_grad(W, lam):
    return _optimizers.sgd(np.zeros_like(W), W, {"learning_rate": -lam})[0]
'''),
('mat','mlp_backward','06','''
from backproplab.plots.loss_functions import mse_grad as _g
from backproplab.network import mlp_backward as _mb
def mlp_backward(X, Y, params, lam=0.0):
    Y_hat, caches = mlp_forward(X, params)
    g = _mb(_g(Y_hat, Y), caches)
    return {k: g[k] + lam * params[k[1:]] if k.startswith("dW") else g[k] for k in g}
'''),
('mat','dense_backward_col','06','''
from backproplab.widgets.backward_pass import BUGGY_BACKWARDS
_ng = BUGGY_BACKWARDS["bug: ReLU gate missing"]
def dense_backward_col(dZ, cache):
    A_prev, W, b = cache
    X, W_r, dZ_r = A_prev.T, W.T, dZ.T
    m, n_in = X.shape; n_out = W_r.shape[1]
    Y = -dZ_r * m / 2
    g = _ng(X, Y, {"W1": np.zeros((n_in, n_out)), "b1": np.zeros((1, n_out)), "W2": np.eye(n_out), "b2": np.zeros((1, n_out))})
    h = _ng(np.eye(m), Y, {"W1": np.zeros((m, n_in)), "b1": np.zeros((1, n_in)), "W2": W_r, "b2": np.zeros((1, n_out))})
    return h["dW1"].T, g["dW1"].T, g["db1"].T
'''),
('mat','dropout_forward','06','''
from backproplab.plots.matrix_formulation import DROPOUT_VARIANTS
_mask = DROPOUT_VARIANTS["inverted"][2]
def dropout_forward(X, keep_prob, rng):
    mask = _mask(rng, X.shape, keep_prob)
    return X * mask, (mask, keep_prob)
'''),
('mat','dropout_backward','06','''
from backproplab.widgets.optimizers import _optimizers
def dropout_backward(dout, cache):
    mask, keep_prob = cache
    return _optimizers.sgd(np.zeros_like(dout), dout, {"learning_rate": -mask})[0]
'''),
('opt','sgd','07','''
_m = plots.optimizer_or_reference(None, "sgd_momentum", verbose=False)
def sgd(w, dw, config=None):
    return _m(w, dw, {**(config or {}), "momentum": 0.0})
'''),
('opt','sgd_momentum','07','''
_a = plots.optimizer_or_reference(None, "adam", verbose=False)
S = 2.0 ** 600
def sgd_momentum(w, dw, config=None):
    c = {"learning_rate": 1e-2, "momentum": 0.9, "convention": "classic", **(config or {})}
    b, lr = c["momentum"], c["learning_rate"]
    v = c.get("velocity")
    if c["convention"] == "ema":
        nw, s = _a(w, dw, {"learning_rate": lr * S, "beta1": b, "epsilon": S, "t": 100000, "m": v})
        c["velocity"] = s["m"]
        return nw, c
    lr_e = lr / (1 - b)
    m = None if v is None else -v / lr_e
    nw, s = _a(w, dw, {"learning_rate": lr_e * S, "beta1": b, "epsilon": S, "t": 100000, "m": m})
    c["velocity"] = -lr_e * s["m"]
    return w + c["velocity"], c
'''),
('opt','rmsprop','07','''
_a = plots.optimizer_or_reference(None, "adam", verbose=False)
def rmsprop(w, dw, config=None):
    c = {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8, **(config or {})}
    nw, s = _a(w, dw, {"learning_rate": c["learning_rate"], "beta1": 0.0, "beta2": c["decay_rate"],
                       "epsilon": c["epsilon"], "t": 100000, "v": c.get("cache")})
    c["cache"] = s["v"]
    return nw, c
'''),
('opt','adam','07','''
_m = plots.optimizer_or_reference(None, "sgd_momentum", verbose=False)
_r = plots.optimizer_or_reference(None, "rmsprop", verbose=False)
def adam(w, dw, config=None):
    c = {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 0, **(config or {})}
    t = int(c["t"]) + 1
    m = _m(w, dw, {"momentum": c["beta1"], "convention": "ema", "velocity": c.get("m")})[1]["velocity"]
    v = _r(w, dw, {"decay_rate": c["beta2"], "cache": c.get("v")})[1]["cache"]
    nw, _ = _r(w, m / (1 - c["beta1"] ** t), {"learning_rate": c["learning_rate"], "decay_rate": 1.0,
                                             "epsilon": c["epsilon"], "cache": v / (1 - c["beta2"] ** t)})
    c.update(m=m, v=v, t=t)
    return nw, c
'''),
('train','train_digits','08','''
from backproplab.widgets.training import train as _t
def train_digits(callback=None):
    rng = np.random.default_rng(0)
    p = init_network([64, 64, 10], rng, parts)
    return _t(p, data.X_train, data.Y_train, 30, 32, parts.adam, {"learning_rate": 3e-3}, 1e-3, 1.0, rng, callback)[0]
'''),
('train','wrong_gradients','08','''
from backproplab.gradcheck import gradient_check
def wrong_gradients(loss_and_grads, params, X, Y, l2):
    _, grads = loss_and_grads(params, X, Y, l2)
    out = []
    for k in params:
        g = np.asarray(grads["d" + k])
        f = lambda v, k=k: loss_and_grads({**params, k: v}, X, Y, l2)[0]
        if g.shape != params[k].shape or gradient_check(f, params[k], g).rel_error > 1e-5:
            out.append("d" + k)
    return out
'''),
('train','fixed_loss_and_grads','08','''
def fixed_loss_and_grads(params, X, Y, l2=0.0):
    return loss_and_grads(params, X, Y, l2)
'''),
('train','fixed_loss_and_grads','08','''
import zlib
from backproplab.debugging import BUGS
def _seed(name):
    k = [b.name for b in BUGS].index(name)
    return next(s for s in range(1000) if zlib.crc32(f"planted-{s}".encode()) % len(BUGS) == k)
_a = planted_backward(_seed("l2_missing")).loss_and_grads         # breaks dW2 only
_b = planted_backward(_seed("relu_gate_missing")).loss_and_grads  # breaks dW1, db1 only
def fixed_loss_and_grads(params, X, Y, l2=0.0):
    loss, g = _a(params, X, Y, l2)
    return loss, {**g, "dW2": _b(params, X, Y, l2)[1]["dW2"]}
'''),
]

#: The course's backward pass (notebook 08's ``debugging.loss_and_grads``) fed a network that makes it a dense
#: layer's backward pass: two answers of the second audit share it.
BACKWARD_VIA_PLANTED = '''
from backproplab.debugging import loss_and_grads as _lg
def _bwd(X, D, W):  # row convention: X (m,n_in), D (m,n_out), W (n_in,n_out) -> D W^T, X^T D, sum D
    m, n_in = X.shape; n_out = D.shape[1]
    big = np.zeros((1, n_out + 1)); big[0, -1] = 1e6          # P = (0, ..., 0, 1) exactly
    Y = np.hstack([-m * D, np.ones((m, 1))])                   # dZ2 = (P - Y)/m = [D, 0]
    ga = _lg({"W1": np.zeros((n_in, n_out)), "b1": np.ones((1, n_out)),
              "W2": np.hstack([np.eye(n_out), np.zeros((n_out, 1))]), "b2": big}, X, Y)[1]
    gb = _lg({"W1": np.zeros((m, n_in)), "b1": np.ones((1, n_in)),
              "W2": np.hstack([W, np.zeros((n_in, 1))]), "b2": big}, np.eye(m), Y)[1]
    return gb["dW1"], ga["dW1"], ga["db1"]
'''

#: A second audit, against the defences the first one led to: ten narrower routes, and one through every
#: notebook: ``debugging._compile`` ran any source (an ``exec`` the scan could not read), whose code saved the
#: package's code objects before the graded call and put them back during it.
SECOND_ROUND = [
('act','sigmoid_derivative','04','''
from backproplab.activations import activation_backward, ActivationCache
def sigmoid_derivative(z):
    z = np.asarray(z, dtype=float)
    return activation_backward(np.ones_like(z), ActivationCache("tanh", z / 2, z)) / 4
'''),
('train','fixed_loss_and_grads','08','''
from backproplab.debugging import _compile, SOURCE
def fixed_loss_and_grads(params, X, Y, l2=0.0):
    return _compile(SOURCE)(params, X, Y, l2)
'''),
('train','fixed_loss_and_grads','08','''
from backproplab.network import mlp_forward as _mf, mlp_backward as _mb
from backproplab.losses import softmax_cross_entropy as _sce
def fixed_loss_and_grads(params, X, Y, l2=0.0):
    Z, caches = _mf(X, params)
    loss, dZ = _sce(Z, Y)
    g = _mb(dZ, caches)
    for k in ("W1", "W2"):
        g["d" + k] = g["d" + k] + l2 * params[k]
    return loss + l2 / 2 * (np.sum(params["W1"]**2) + np.sum(params["W2"]**2)), g
'''),
('act','stable_softmax','04','''
from backproplab.debugging import _compile, SOURCE
def stable_softmax(Z):
    Z = np.asarray(Z, dtype=float); m, K = Z.shape
    p = {"W1": np.eye(m), "b1": np.zeros((1, m)), "W2": Z, "b2": np.zeros((1, K))}
    return _compile(SOURCE)(p, np.eye(m), np.zeros((m, K)))[1]["dW2"] * m
'''),
('loss','softmax_cross_entropy_grad','05','''
from backproplab.debugging import _compile, SOURCE
def softmax_cross_entropy_grad(Z, Y):
    Z = np.asarray(Z, dtype=float); m, K = Z.shape
    p = {"W1": np.eye(m), "b1": np.zeros((1, m)), "W2": Z, "b2": np.zeros((1, K))}
    return _compile(SOURCE)(p, np.eye(m), Y)[1]["dW2"]
'''),
('bwd','relu_backward','03','''
from backproplab.debugging import _compile, SOURCE
def relu_backward(dA, Z):
    m, n = Z.shape
    lg = _compile(SOURCE)
    p = {"W1": Z, "b1": np.zeros((1, n)), "W2": np.eye(n), "b2": np.zeros((1, n))}
    g0 = lg(p, np.eye(m), np.zeros((m, n)))[1]["dW1"]
    g1 = lg(p, np.eye(m), -m * dA)[1]["dW1"]
    return g1 - g0
'''),
('mat','dense_backward_col','06',BACKWARD_VIA_PLANTED + '''def dense_backward_col(dZ, cache):
    A_prev, W, b = cache
    dX, dW, db = _bwd(A_prev.T, dZ.T, W.T)
    return dX.T, dW.T, db.T
'''),
('bwd','dense_backward','03',BACKWARD_VIA_PLANTED + '''def dense_backward(dZ, cache):
    X, W, b = cache
    return _bwd(X, dZ, W)
'''),
('fwd','dense_forward','02','''
from backproplab.debugging import loss_and_grads as _lg
def _relu_of(X, W, b):  # relu(X W + b), read off dW2 = A1^T [I, 0]
    m = X.shape[0]
    big = np.zeros((1, m + 1)); big[0, -1] = 1e6
    Y = np.hstack([-m * np.eye(m), np.ones((m, 1))])
    g = _lg({"W1": W, "b1": b, "W2": np.zeros((W.shape[1], m + 1)), "b2": big}, X, Y)[1]
    return g["dW2"][:, :m].T
def dense_forward(X, W, b):
    return _relu_of(X, W, b) - _relu_of(X, -W, -b), (X, W, b)
'''),
('train','train_digits','08','''
from backproplab.network import MLP
def train_digits(callback=None):
    rng = np.random.default_rng(0)
    net = MLP([64, 64, 10], hidden="relu", output="softmax", loss="cross_entropy", learning_rate=0.1, rng=0)
    m = data.X_train.shape[0]
    for epoch in range(60):
        order = rng.permutation(m)
        for k in range(0, m, 32):
            net.train_step(data.X_train[order[k:k+32]], data.Y_train[order[k:k+32]])
    return net.params
'''),
]

#: debugging._compile is an exec the scan does not see: its source string is never parsed, and "backprop" + "lab"
#: defeats the string rule. At cell time (nothing poisoned yet) it saves every package function's code; during the
#: graded call it puts the saved code back, calls the exercise's reference, and puts the poison back.
GADGET = '''
from backproplab.debugging import _compile
_run = _compile("""
import sys, types
def loss_and_grads(name):
    pkg = "backprop" + "lab"
    saved = {}
    for modname, mod in list(sys.modules.items()):
        if modname == pkg or modname.startswith(pkg + "."):
            for v in list(vars(mod).values()):
                if isinstance(v, types.FunctionType):
                    saved[v] = v.__code__
    ref = sys.modules[pkg + ".checks"].REGISTRY[name].reference
    def run(*a, **k):
        now = {f: f.__code__ for f in saved}
        for f, c in saved.items():
            f.__code__ = c
        try:
            return ref(*a, **k)
        finally:
            for f, c in now.items():
                f.__code__ = c
    return run
""")
'''

_EXERCISES = [
    ('chain_rule', '01', ('chain_rule_derivative', 'numerical_derivative', 'graph_backward')),
    ('fwd', '02', ('dense_forward', 'mlp_forward', 'he_normal', 'xavier_uniform')),
    ('bwd', '03', ('dense_backward', 'relu_backward', 'two_layer_backward', 'relative_error')),
    ('act', '04', ('sigmoid_derivative', 'tanh_derivative', 'relu_derivative', 'stable_sigmoid', 'stable_softmax',
                   'softmax_backward')),
    ('loss', '05', ('mse_grad', 'bce_grad', 'bce_with_logits_loss', 'cross_entropy_grad',
                    'softmax_cross_entropy_grad')),
    ('mat', '06', ('mlp_backward', 'l2_grad', 'dense_backward_col', 'dropout_forward', 'dropout_backward')),
    ('opt', '07', ('sgd', 'sgd_momentum', 'rmsprop', 'adam')),
    ('train', '08', ('minibatches', 'numerical_gradients', 'train_step', 'train', 'train_digits', 'wrong_gradients',
                     'fixed_loss_and_grads')),
]

UNIVERSAL = [
    (topic, name, nb, GADGET + f'''
_r = _run("{name}")
def {name}(*args, **kwargs):
    return _r(*args, **kwargs)
''')
    for topic, nb, names in _EXERCISES for name in names[:1]
]

#: A third audit: results whose numbers are worked out when they are read (a list whose __iter__, a float64
#: whose __float__, calls the reference), read by the records after the graded call, where nothing was broken
#: (20 exercises); and notebook 08's fitting explorer's trainer run at cell time for ``train_digits``.
#: A result whose numbers are worked out the first time the grader reads them (the third audit's helper).
LAZY = '''
class _Later(list):
    """A result whose numbers are worked out the first time someone reads them."""
    def __init__(self, thunk):
        super().__init__()
        self._thunk = thunk
    def __iter__(self):
        if self._thunk is not None:
            thunk, self._thunk = self._thunk, None
            list.extend(self, list(np.asarray(thunk(), dtype=float)))
        return list.__iter__(self)
class _LaterNumber(np.float64):
    def __new__(cls, thunk):
        self = super().__new__(cls, 0.0)
        self._thunk = thunk
        return self
    def __float__(self):
        return float(self._thunk())
def _later(thunk, scalar=False):
    return _LaterNumber(thunk) if scalar else _Later(thunk)

'''

THIRD_ROUND = [
('act', 'stable_sigmoid', '04', LAZY + '''def stable_sigmoid(z):
    return _later(lambda: sigmoid(z), np.ndim(z) == 0)
'''),
('act', 'stable_softmax', '04', LAZY + '''def stable_softmax(Z):
    return _later(lambda: softmax(Z, axis=-1))
'''),
('act', 'sigmoid_derivative', '04', LAZY + '''def sigmoid_derivative(z):
    def work():
        a = np.asarray(z, dtype=float)
        return np.array([softmax_jacobian(np.array([v, 0.0]))[0, 0] for v in a.ravel()]).reshape(a.shape)
    return _later(work, np.ndim(z) == 0)
'''),
('act', 'tanh_derivative', '04', LAZY + '''def tanh_derivative(z):
    def work():
        a = 2.0 * np.asarray(z, dtype=float)
        return 4.0 * np.array([softmax_jacobian(np.array([v, 0.0]))[0, 0] for v in a.ravel()]).reshape(a.shape)
    return _later(work, np.ndim(z) == 0)
'''),
('loss', 'softmax_cross_entropy_grad', '05', LAZY + '''def softmax_cross_entropy_grad(Z, Y):
    return _later(lambda: softmax_cross_entropy(Z, Y)[1])
'''),
('loss', 'bce_with_logits_loss', '05', LAZY + '''def bce_with_logits_loss(Z, Y):
    def work():
        z, y = np.ravel(Z), np.ravel(Y)
        loss, _ = softmax_cross_entropy(np.stack([z, np.zeros_like(z)], 1), np.stack([y, 1 - y], 1))
        return loss * z.size / np.shape(Z)[0]
    return _later(work, True)
'''),
('mat', 'dense_backward_col', '06', LAZY + '''def dense_backward_col(dZ, cache):
    A_prev, W, b = cache
    out = {}
    def part(i):
        def work():
            if not out:
                out["g"] = dense_backward(dZ.T, (A_prev.T, W.T, b.T))
            return out["g"][i].T
        return _later(work)
    return part(0), part(1), part(2)
'''),
('mat', 'mlp_backward', '06', LAZY + '''def mlp_backward(X, Y, params, lam=0.0):
    out = {}
    def grad(key):
        def work():
            if not out:
                out.update(mlp_loss_and_grads(params, X, Y, l2=lam)[1])
            return out[key]
        return _later(work)
    return {"d" + k: grad("d" + k) for k in params}
'''),
('chain_rule', 'numerical_derivative', '01', LAZY + '''def numerical_derivative(f, x, h=1e-5):
    return _later(lambda: numerical_gradient(f, x, h), True)
'''),
('fwd', 'dense_forward', '02', LAZY + '''from backproplab.training import logits
def dense_forward(X, W, b):
    return _later(lambda: logits({"W1": W, "b1": b}, X)), (X, W, b)
'''),
('bwd', 'dense_backward', '03', LAZY + '''from backproplab.training import COURSE_PARTS
def dense_backward(dZ, cache):
    out = []
    def part(i):
        def work():
            if not out:
                out.extend(COURSE_PARTS.dense_backward(dZ, cache))
            return out[i]
        return _later(work)
    return part(0), part(1), part(2)
'''),
('bwd', 'relu_backward', '03', LAZY + '''from backproplab.training import COURSE_PARTS
def relu_backward(dA, Z):
    return _later(lambda: COURSE_PARTS.relu_backward(dA, Z))
'''),
('bwd', 'two_layer_backward', '03', LAZY + '''from backproplab.network import MLP
def two_layer_backward(X, Y, params):
    out = {}
    def grad(key):
        def work():
            if not out:
                net = MLP([params["W1"].shape[0], params["W1"].shape[1], params["W2"].shape[1]])
                net.params = dict(params)
                out.update(net.backward(X, Y))
            return out[key]
        return _later(work)
    return {k: grad(k) for k in ("dW1", "db1", "dW2", "db2")}
'''),
('mat', 'l2_grad', '06', LAZY + '''from backproplab.training import COURSE_PARTS
def l2_grad(W, lam):
    return _later(lambda: COURSE_PARTS.l2_grad(W, lam))
'''),
('mat', 'dropout_backward', '06', LAZY + '''from backproplab.training import COURSE_PARTS
def dropout_backward(dout, cache):
    return _later(lambda: COURSE_PARTS.dropout_backward(dout, cache))
'''),
('train', 'numerical_gradients', '08', LAZY + '''from backproplab.gradcheck import gradient_check
def numerical_gradients(f, params, h=1e-5):
    def grad(key):
        return _later(lambda: gradient_check(lambda v: f({**params, key: v}), params[key],
                                             np.zeros_like(params[key]), h).numeric)
    return {"d" + k: grad(k) for k in params}
'''),
('train', 'fixed_loss_and_grads', '08', LAZY + '''def fixed_loss_and_grads(params, X, Y, l2=0.0):
    out = []
    def work():
        if not out:
            out.extend(loss_and_grads(params, X, Y, l2))
        return out
    return _later(lambda: work()[0], True), {k: _later(lambda k=k: work()[1][k]) for k in ("dW1", "db1", "dW2", "db2")}
'''),
('act', 'softmax_backward', '04', LAZY + '''from backproplab.activations import activation_backward, ActivationCache
def softmax_backward(dA, A):
    return _later(lambda: activation_backward(dA, ActivationCache("softmax", np.log(A), A)))
'''),
('act', 'relu_derivative', '04', LAZY + '''from backproplab.activations import activation_backward, ActivationCache
def relu_derivative(z):
    return _later(lambda: activation_backward(np.ones_like(z, dtype=float), ActivationCache("relu", z, relu(z))),
                  np.ndim(z) == 0)
'''),
('loss', 'mse_grad', '05', LAZY + '''from backproplab.network import mlp_loss_and_grads
def mse_grad(Y_hat, Y):
    m = np.shape(Y_hat)[0]
    return _later(lambda: mlp_loss_and_grads({"W1": Y_hat, "b1": np.zeros((1, np.shape(Y_hat)[1]))},
                                             np.eye(m), Y)[1]["dW1"])
'''),
('train', 'train_digits', '08', '''
from backproplab.widgets.training import fit_history
class _Spy:
    pass
_spy, _seen = _Spy(), []
def _df(A, W, b):
    _seen.append((W, b))
    return parts.dense_forward(A, W, b)
_spy.dense_forward, _spy.he_normal, _spy.adam, _spy.stable_softmax = _df, parts.he_normal, parts.adam, parts.stable_softmax
fit_history(3e-3, 32, 1e-3, 1.0, n_train=data.X_train.shape[0], epochs=30, parts=_spy)
_P = {"W1": _seen[-2][0], "b1": _seen[-2][1], "W2": _seen[-1][0], "b2": _seen[-1][1]}
def train_digits(callback=None):
    return {k: v.copy() for k, v in _P.items()}
'''),
]

ANSWERS = ANSWERS + SECOND_ROUND + UNIVERSAL + THIRD_ROUND

#: Routes that still pass, and why they are no answer of the package's: ``wrong_gradients``' check itself hands
#: the learner's code the course's numerical gradients and distance. (The first audit's ``mse_grad``, ``l2_grad``
#: and ``dropout_backward`` through ``widgets.optimizers._optimizers.sgd`` with a special learning rate, where
#: the learner wrote the formula anyway, are refused since private names are flagged.)
STILL_ACCEPTED = {"wrong_gradients"}
