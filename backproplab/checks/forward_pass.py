"""Exercises of notebook 02 (forward pass): a dense layer, a multi-layer forward pass with its cache, and
two weight initializers.

- ``dense_forward(X, W, b) -> (Z, cache)`` with ``cache = (X, W, b)``; the check compares ``Z`` and the three
  cached arrays (harness :func:`_dense_forward_call`).
- ``mlp_forward(X, params) -> (Y_hat, caches)``: ReLU hidden layers, linear output; ``caches[l-1]`` is layer
  ``l``'s ``(cache, Z)`` with ``cache = (A_prev, W, b)``. The check compares ``Y_hat``, the cached inputs
  ``A_prev`` and the cached pre-activations ``Z`` of every layer (the package's ``LayerCache`` and a flat
  ``(A_prev, W, b, Z)`` are read too).
- ``he_normal`` / ``xavier_uniform(n_in, n_out, rng) -> W``: the check passes a generator seeded per trial and
  compares the values exactly, so the draw must be one call on ``rng`` in the shape ``(n_in, n_out)``
  (``rng.normal(0.0, std, size=(n_in, n_out))`` or, equivalently, ``std * rng.standard_normal((n_in, n_out))``);
  a transposed draw, the variance used as the standard deviation or the wrong fan are named.
"""

from __future__ import annotations

import itertools

import numpy as np

from backproplab.activations import relu
from backproplab.checking import CheckFinding, Exercise, Mistake, another_shape, visible_case
from backproplab.initializers import he_normal, xavier_uniform
from backproplab.layers import dense_forward
from backproplab.network import mlp_forward

__all__ = ["DENSE_FORWARD", "EXERCISES", "HE_NORMAL", "MLP_FORWARD", "XAVIER_UNIFORM", "below_zero", "layer_parts"]


def _sizes(rng, hidden, visible):
    if hidden:
        return tuple(int(k) for k in rng.integers(1, 8, size=len(visible)))
    return visible


# ------------------------------------------------------------------------------------------- dense_forward
def _dense_forward_inputs(rng, hidden):
    m, n_in, n_out = _sizes(rng, hidden, (4, 3, 2))
    X = rng.standard_normal((m, n_in))
    W = rng.standard_normal((n_in, n_out))
    b = rng.standard_normal((1, n_out))
    return X, W, b


def _dense_forward_call(fn, args):
    """``fn(X, W, b) -> (Z, (X, W, b))`` flattened to ``(Z, X, W, b)``; another structure is a finding."""
    result = fn(*args)
    if result is None:
        raise CheckFinding("`dense_forward` returned None: did you forget `return Z, cache`?", "none")
    if isinstance(result, np.ndarray):
        raise CheckFinding("`dense_forward` returned Z alone: return the cache too, `return Z, (X, W, b)`; the "
                      "backward pass needs X and W.", "structure")
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        got = f"{len(result)} values" if isinstance(result, (tuple, list)) else f"a {type(result).__name__}"
        raise CheckFinding(f"`dense_forward` returned {got}; it should return two, Z and the cache: "
                      f"`return Z, (X, W, b)` (the cache is one tuple).", "structure")
    Z, cache = result
    if not isinstance(cache, (tuple, list)) or len(cache) != 3:
        got = f"{len(cache)} values" if isinstance(cache, (tuple, list)) else f"a {type(cache).__name__}"
        raise CheckFinding(f"the cache `dense_forward` returned holds {got}; it should be the tuple (X, W, b).",
                      "structure")
    return (Z, *cache)


def _dense_wrong(compute_Z, cache=lambda X, W, b, Z: (X, W, b)):
    def wrong(X, W, b):
        Z = compute_Z(X, W, b)
        return (Z, *cache(X, W, b, Z))
    return wrong


DENSE_FORWARD = Exercise(
    name="dense_forward",
    signature="dense_forward(X, W, b) -> (Z, cache)",
    reference=dense_forward,
    make_inputs=_dense_forward_inputs,
    edge_cases=(another_shape(_dense_forward_inputs),),  # a shape besides the printed ones
    call=_dense_forward_call,
    outputs=("Z", "cache[0] (X)", "cache[1] (W)", "cache[2] (b)"),
    shape_hint="In the row convention X is (m, n_in), W is (n_in, n_out) and b is (1, n_out): Z = X @ W + b is "
               "(m, n_out), b broadcasting over the m rows.",
    mistakes=(
        Mistake("bias_missing", "the bias is missing: Z = X @ W + b.",
                _dense_wrong(lambda X, W, b: X @ W)),
        Mistake("column_convention",
                "this is the column convention Zᵀ = Wᵀ Xᵀ + bᵀ, shape (n_out, m). In the row convention each "
                "example is a row: Z = X @ W + b has shape (m, n_out).",
                _dense_wrong(lambda X, W, b: W.T @ X.T + b.T)),
        *(Mistake("cache_order",
                  f"the cache holds ({', '.join(order)}): the same arrays in another order. dense_backward unpacks "
                  f"`X, W, b = cache`, so return Z, (X, W, b) in that order.",
                  _dense_wrong(lambda X, W, b: X @ W + b,
                               lambda X, W, b, Z, order=order: tuple({"X": X, "W": W, "b": b}[k] for k in order)))
          for order in itertools.permutations("XWb") if order != ("X", "W", "b")),
        Mistake("cached_Z_not_X",
                "the cache holds Z where it should hold the layer's input X. The backward pass needs X "
                "(dW = Xᵀ·dZ): return (Z, (X, W, b)).",
                _dense_wrong(lambda X, W, b: X @ W + b, lambda X, W, b, Z: (Z, W, b))),
    ),
)


# --------------------------------------------------------------------------------------------- mlp_forward
def _random_params(rng, sizes):
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.standard_normal((sizes[l - 1], sizes[l])) * np.sqrt(2.0 / sizes[l - 1])
        params[f"b{l}"] = 0.5 * rng.standard_normal((1, sizes[l]))
    return params


VISIBLE_MLP_FORWARD = (([3, 4, 4, 2], 5), ([2, 5, 1], 4), ([4, 3, 3, 3, 2], 3), ([3, 2], 4))


def _mlp_forward_inputs(rng, hidden, n_layers=None):
    if hidden:
        n_layers = int(rng.integers(1, 5)) if n_layers is None else n_layers
        sizes = [int(k) for k in rng.integers(1, 7, size=n_layers + 1)]
        m = int(rng.integers(1, 7))
    else:  # four depths, one layer included, so that a loop written for one depth shows
        sizes, m = VISIBLE_MLP_FORWARD[visible_case(rng, "mlp_forward", len(VISIBLE_MLP_FORWARD))]
    X = rng.standard_normal((m, sizes[0]))
    return X, _random_params(rng, sizes)


def below_zero(X, *rest):
    """``(X, ..., params, ...)`` with the first layer's first unit below 0 on every example (its bias lowered): in a
    one-layer network that unit is an output, and a ReLU applied to it (the first layer computed as a hidden
    one) shows on every seed, not only when a random Z happens to be negative."""
    params = next(a for a in rest if isinstance(a, dict))
    Z = X @ params["W1"] + params["b1"]
    params["b1"] = params["b1"].copy()
    params["b1"][0, 0] -= float(Z[:, 0].max()) + 1.0
    return (X, *rest)


def layer_parts(entry):
    """``(A_prev, Z)`` of one layer's cache: ``((A_prev, W, b), Z)`` (the course's layout), the package's
    ``LayerCache`` ``((A_prev, W, b), (name, Z, A))`` or a flat ``(A_prev, W, b, Z)``; ``(None, None)`` if none."""
    if isinstance(entry, (tuple, list)):
        if len(entry) == 2 and isinstance(entry[0], (tuple, list)) and len(entry[0]) >= 1:
            second = entry[1]
            if isinstance(second, (tuple, list)) and len(second) == 3 and isinstance(second[0], str):
                second = second[1]
            return entry[0][0], second
        if len(entry) == 4:
            return entry[0], entry[3]
    return None, None


def _flat(arrays):
    try:
        return np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays])
    except (TypeError, ValueError):
        return None


def _mlp_forward_call(fn, args):
    """``fn(X, params) -> (Y_hat, caches)`` as ``(Y_hat, every cached A_prev, every cached Z)`` (flattened)."""
    result = fn(*args)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        return result
    Y_hat, caches = result
    n_layers = sum(1 for k in args[1] if k.startswith("W"))
    if not isinstance(caches, (tuple, list)) or len(caches) != n_layers:
        got = f"{len(caches)} entries" if isinstance(caches, (tuple, list)) else f"a {type(caches).__name__}"
        raise CheckFinding(f"`caches` holds {got} for a network of {n_layers} layer(s): append one cache per layer, "
                      f"the output layer included.", "caches_structure")
    parts = [layer_parts(entry) for entry in caches]
    m = np.shape(args[0])[0]
    for l, (a, z) in enumerate(parts, start=1):
        if a is None or z is None:
            raise CheckFinding(f"the cache of layer {l} is not ((A_prev, W, b), Z): append `(cache, Z)` with the "
                          f"cache that dense_forward returned and Z before the activation.", "caches_structure")
        n_in, n_out = np.shape(args[1][f"W{l}"])
        for what, value, shape in (("A_prev", a, (m, n_in)), ("Z", z, (m, n_out))):
            if np.shape(value) != shape:
                source = "X" if l == 1 else f"A_{l - 1}, the previous layer's activation"
                expected = source if what == "A_prev" else f"Z_{l} = A_prev @ W{l} + b{l}"
                raise CheckFinding(f"the cache of layer {l} holds {what} of shape {np.shape(value)}; it should be "
                              f"{expected}, shape {shape}.", "caches_structure")
    return Y_hat, _flat(a for a, _ in parts), _flat(z for _, z in parts)


def _mlp_wrong(hidden_act=relu, output_act=lambda Z: Z, cache_A=False):
    def wrong(X, params):
        n_layers = sum(1 for k in params if k.startswith("W"))
        A, A_prevs, Zs = X, [], []
        for l in range(1, n_layers + 1):
            Z = A @ params[f"W{l}"] + params[f"b{l}"]
            A_prevs.append(A)
            A = output_act(Z) if l == n_layers else hidden_act(Z)
            Zs.append(A if cache_A else Z)
        return A, _flat(A_prevs), _flat(Zs)
    return wrong


MLP_FORWARD = Exercise(
    name="mlp_forward",
    signature="mlp_forward(X, params) -> (Y_hat, caches)",
    reference=mlp_forward,
    make_inputs=_mlp_forward_inputs,
    visible_trials=len(VISIBLE_MLP_FORWARD),
    edge_cases=(lambda rng: below_zero(*_mlp_forward_inputs(rng, True, n_layers=1)),),  # output layer = first
    call=_mlp_forward_call,
    outputs=("Y_hat", "A_prev of every layer (from caches)", "Z of every layer (from caches)"),
    mistakes=(
        Mistake("relu_on_output",
                "ReLU is applied to the output layer too. The output layer is linear here: Y_hat = Z_L "
                "(ReLU would clip every negative prediction to 0).",
                _mlp_wrong(output_act=relu)),
        Mistake("no_hidden_activation",
                "the hidden layers have no activation. Apply ReLU to every hidden layer's Z; without it the "
                "network collapses into a single linear map.",
                _mlp_wrong(hidden_act=lambda Z: Z)),
        Mistake("cached_A_not_Z",
                "the cache holds each layer's activation A = ReLU(Z) where it should hold Z. The backward pass "
                "needs Z for ReLU′(Z): cache (cache, Z) with Z before the activation.",
                _mlp_wrong(cache_A=True)),
    ),
)


# --------------------------------------------------------------------------------------------- initializers
def _init_inputs(rng, hidden):
    n_in, n_out = _sizes(rng, hidden, (5, 3))
    return n_in, n_out, int(rng.integers(2 ** 31))


def _init_call(fn, args):
    """Call ``fn(n_in, n_out, rng)`` with a generator seeded by the trial, twice: the draws must come from it."""
    n_in, n_out, seed = args
    W = fn(n_in, n_out, np.random.default_rng(seed))
    again = fn(n_in, n_out, np.random.default_rng(seed))
    try:
        same = np.array_equal(np.asarray(W, dtype=np.float64), np.asarray(again, dtype=np.float64))
    except (TypeError, ValueError):
        return W  # not numbers: the comparison says so
    if not same:
        raise CheckFinding("two calls with generators seeded alike gave different weights: draw them from the `rng` "
                      "argument (rng.normal, rng.uniform), not from np.random, so that a seed always gives the "
                      "same network.", "rng_not_used")
    return W


def _normal(std_of, shape_of=lambda n_in, n_out: (n_in, n_out), transpose=False):
    def wrong(n_in, n_out, seed):
        W = np.random.default_rng(seed).normal(0.0, std_of(n_in, n_out), size=shape_of(n_in, n_out))
        return W.T if transpose else W
    return wrong


def _normal_mean(mean_of):
    def wrong(n_in, n_out, seed):
        return np.random.default_rng(seed).normal(mean_of(n_in, n_out), size=(n_in, n_out))
    return wrong


def _uniform(low_of, high_of, shape_of=lambda n_in, n_out: (n_in, n_out), transpose=False):
    def wrong(n_in, n_out, seed):
        W = np.random.default_rng(seed).uniform(low_of(n_in, n_out), high_of(n_in, n_out),
                                                size=shape_of(n_in, n_out))
        return W.T if transpose else W
    return wrong


def _he_std(n_in, n_out):
    return np.sqrt(2.0 / n_in)


def _limit(n_in, n_out):
    return np.sqrt(6.0 / (n_in + n_out))


_INIT_SHAPE = ("W is (n_in, n_out), one row per input of the layer; the arguments come in the order "
               "(n_in, n_out, rng).")
_COLUMN_SHAPE = ("W has shape (n_out, n_in), the column convention of some tutorials. In the row convention "
                 "Z = X @ W + b, so W is (n_in, n_out): draw with size=(n_in, n_out).")


HE_NORMAL = Exercise(
    name="he_normal",
    signature="he_normal(n_in, n_out, rng) -> W",
    reference=he_normal,
    make_inputs=_init_inputs,
    edge_cases=(another_shape(_init_inputs),),  # a shape besides the printed ones
    call=_init_call,
    outputs=("W",),
    shape_hint=_INIT_SHAPE,
    mistakes=(
        Mistake("variance_as_std",
                "the variance 2/n_in is used as the standard deviation. He initialization has variance 2/n_in, "
                "so its standard deviation is np.sqrt(2 / n_in): rng.normal(0.0, np.sqrt(2 / n_in), size=...).",
                _normal(lambda n_in, n_out: 2.0 / n_in)),
        Mistake("fan_out",
                "the standard deviation uses n_out. He initialization scales by the number of inputs of a unit: "
                "np.sqrt(2 / n_in).",
                _normal(lambda n_in, n_out: np.sqrt(2.0 / n_out))),
        Mistake("xavier_std",
                "this is Xavier's standard deviation np.sqrt(2 / (n_in + n_out)). He initialization (for ReLU) "
                "uses np.sqrt(2 / n_in).",
                _normal(lambda n_in, n_out: np.sqrt(2.0 / (n_in + n_out)))),
        Mistake("lecun_std",
                "this is LeCun's standard deviation np.sqrt(1 / n_in). ReLU zeroes half of its inputs, so He "
                "doubles the variance: np.sqrt(2 / n_in).",
                _normal(lambda n_in, n_out: np.sqrt(1.0 / n_in))),
        Mistake("std_as_mean",
                "the standard deviation went in as the mean: rng.normal(loc, scale, size) takes the mean first. "
                "Draw rng.normal(0.0, np.sqrt(2 / n_in), size=(n_in, n_out)).",
                _normal_mean(_he_std)),
        Mistake("no_scaling",
                "the weights are standard normal (std 1). Scale them by np.sqrt(2 / n_in).",
                _normal(lambda n_in, n_out: 1.0)),
        Mistake("transposed_draw",
                "the values are drawn in shape (n_out, n_in) and transposed. Draw them directly with "
                "size=(n_in, n_out), so that a seed always gives the same weights.",
                _normal(_he_std, lambda n_in, n_out: (n_out, n_in), transpose=True)),
        Mistake("column_shape", _COLUMN_SHAPE, _normal(_he_std, lambda n_in, n_out: (n_out, n_in))),
    ),
)

XAVIER_UNIFORM = Exercise(
    name="xavier_uniform",
    signature="xavier_uniform(n_in, n_out, rng) -> W",
    reference=xavier_uniform,
    make_inputs=_init_inputs,
    edge_cases=(another_shape(_init_inputs),),  # a shape besides the printed ones
    call=_init_call,
    outputs=("W",),
    shape_hint=_INIT_SHAPE,
    mistakes=(
        Mistake("std_as_limit",
                "the bound is np.sqrt(2 / (n_in + n_out)), the standard deviation of Xavier's normal version. "
                "A uniform U[−a, a] has variance a²/3, so the same variance needs a = np.sqrt(6 / (n_in + n_out)).",
                _uniform(lambda n_in, n_out: -np.sqrt(2.0 / (n_in + n_out)),
                         lambda n_in, n_out: np.sqrt(2.0 / (n_in + n_out)))),
        Mistake("normal_not_uniform",
                "the weights are drawn from a normal distribution. Xavier uniform draws "
                "rng.uniform(-limit, limit, size=(n_in, n_out)) with limit = np.sqrt(6 / (n_in + n_out)).",
                _normal(_limit)),
        Mistake("normal_not_uniform",
                "the weights are drawn from a normal distribution. Xavier uniform draws "
                "rng.uniform(-limit, limit, size=(n_in, n_out)) with limit = np.sqrt(6 / (n_in + n_out)).",
                _normal(lambda n_in, n_out: np.sqrt(2.0 / (n_in + n_out)))),
        Mistake("not_centred",
                "the weights are drawn from [0, limit]: they must be centred on 0, "
                "rng.uniform(-limit, limit, size=...).",
                _uniform(lambda n_in, n_out: 0.0, _limit)),
        Mistake("fan_in_only",
                "the bound uses n_in only. Xavier averages the two fans: limit = np.sqrt(6 / (n_in + n_out)).",
                _uniform(lambda n_in, n_out: -np.sqrt(6.0 / n_in), lambda n_in, n_out: np.sqrt(6.0 / n_in))),
        Mistake("missing_sqrt",
                "the square root is missing: limit = np.sqrt(6 / (n_in + n_out)).",
                _uniform(lambda n_in, n_out: -6.0 / (n_in + n_out), lambda n_in, n_out: 6.0 / (n_in + n_out))),
        Mistake("transposed_draw",
                "the values are drawn in shape (n_out, n_in) and transposed. Draw them directly with "
                "size=(n_in, n_out), so that a seed always gives the same weights.",
                _uniform(lambda n_in, n_out: -_limit(n_in, n_out), _limit, lambda n_in, n_out: (n_out, n_in),
                         transpose=True)),
        Mistake("column_shape", _COLUMN_SHAPE,
                _uniform(lambda n_in, n_out: -_limit(n_in, n_out), _limit, lambda n_in, n_out: (n_out, n_in))),
    ),
)

EXERCISES = [DENSE_FORWARD, MLP_FORWARD, HE_NORMAL, XAVIER_UNIFORM]
