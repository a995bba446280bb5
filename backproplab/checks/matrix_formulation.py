"""Exercises of notebook 06 (matrix formulation): the whole backward pass of an MLP, L2, conventions, dropout.

* ``mlp_backward(X, Y, params, lam=0.0) -> grads``: seed 001's network (ReLU hidden layers, linear output,
  MSE loss) plus ``(lam/2) sum ||W||^2``, fixed (factor 2 kept, ``X`` feeds the first layer).
* ``l2_grad(W, lam) -> lam * W``.
* ``dense_backward_col(dZ, cache) -> (dA_prev, dW, db)``: the dense layer in the column convention of seeds
  000/004; its reference is the row-convention :func:`~backproplab.layers.dense_backward` transposed.
* ``dropout_forward(X, keep_prob, rng) -> (out, cache)`` and ``dropout_backward(dout, cache) -> dX``:
  inverted dropout. The forward check is statistical (any way of drawing a keep-mask with probability
  ``keep_prob`` from ``rng`` passes): it measures the scale of the kept units and the fraction kept.
"""

from __future__ import annotations

import numpy as np

from backproplab.activations import relu
from backproplab.checking import CheckFinding, Exercise, Mistake, another_shape, visible_case
from backproplab.checks.backward_pass import at_kink
from backproplab.checks.forward_pass import below_zero
from backproplab.layers import dense_backward
from backproplab.losses import mse_grad
from backproplab.network import mlp_backward as _net_backward
from backproplab.network import mlp_forward, mlp_loss_and_grads
from backproplab.regularization import dropout_backward, dropout_forward, l2_grad

MAX_LAYERS = 3
GRAD_NAMES = tuple(f"{p}{l}" for l in range(1, MAX_LAYERS + 1) for p in ("dW", "db"))


# ------------------------------------------------------------------------------------------ mlp_backward
def mlp_backward_reference(X, Y, params, lam=0.0):
    """Gradients of ``MSE(Y_hat, Y) + (lam/2) sum ||W_l||^2`` for the ReLU MLP with a linear output."""
    return mlp_loss_and_grads(params, X, Y, hidden="relu", output="linear", loss="mse", l2=lam)[1]


def _n_layers(params) -> int:
    return sum(1 for k in params if k.startswith("W"))


def _grads_in_order(fn, args):
    """Call ``fn(X, Y, params, lam)`` and return its gradients in the order dW1, db1, ..., dW3, db3.

    Networks with fewer than three layers get empty arrays for the missing ones (the same for everyone), so
    that every trial has the same six outputs whatever the depth; the order of the learner's dict is free.
    """
    X, Y, params, lam = args
    grads = fn(X, Y, params, lam)
    if grads is None:
        raise CheckFinding("`mlp_backward` returned None: did you forget `return grads`?", "none")
    if not isinstance(grads, dict):
        raise CheckFinding(f"`mlp_backward` returned a {type(grads).__name__}; it should return a dict "
                      f"{{'dW1': ..., 'db1': ..., ...}}.", "structure")
    L = _n_layers(params)
    out = []
    for l in range(1, MAX_LAYERS + 1):
        for key in (f"dW{l}", f"db{l}"):
            if l > L:
                out.append(np.zeros(0))
                continue
            if key not in grads:
                have = ", ".join(repr(k) for k in grads) or "no keys"
                raise CheckFinding(f"the dict returned has no key {key!r} (it has {have}): name the gradient of W{l} "
                              f"'dW{l}' and that of b{l} 'db{l}', for every layer l = 1..{L}.", "missing_key")
            out.append(grads[key])
    return tuple(out)


VISIBLE_MLP = (([3, 5, 4, 3], 4, 0.0), ([3, 5, 4, 3], 6, 0.1), ([2, 6, 1], 5, 0.05), ([4, 2], 3, 0.1))


def _mlp_inputs(rng, hidden, L=None, m=None, lam=None):
    if hidden:
        L = int(rng.integers(1, MAX_LAYERS + 1)) if L is None else L
        sizes = [int(n) for n in rng.integers(1, 8, size=L + 1)]
        m = int(rng.choice([1, 2, 3, 5, 8])) if m is None else m
        lam = float(rng.choice([0.0, rng.uniform(0.05, 0.5)])) if lam is None else lam
    else:
        # n_in == n_out in the first two cases, so that a first layer fed with Y_hat instead of X is recognised.
        sizes, m, lam = VISIBLE_MLP[visible_case(rng, "mlp_backward", len(VISIBLE_MLP))]
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.standard_normal((sizes[l - 1], sizes[l])) * np.sqrt(2.0 / sizes[l - 1])
        params[f"b{l}"] = rng.standard_normal((1, sizes[l])) * 0.5
    X = rng.standard_normal((m, sizes[0]))
    Y = rng.standard_normal((m, sizes[-1]))
    at_kink(X, params)  # a hidden unit exactly at ReLU's kink
    return X, Y, params, lam


def _with_l2(grads, params, lam, scale=1.0):
    return {k: (g + scale * lam * params["W" + k[2:]] if k.startswith("dW") else g) for k, g in grads.items()}


def _mse_half(X, Y, params, lam):
    g = mlp_loss_and_grads(params, X, Y, l2=0.0)[1]
    return _with_l2({k: 0.5 * v for k, v in g.items()}, params, lam)


def _double_1_over_m(X, Y, params, lam):
    g = mlp_loss_and_grads(params, X, Y, l2=0.0)[1]
    return _with_l2({k: v / X.shape[0] for k, v in g.items()}, params, lam)


def _first_layer_wraps(X, Y, params, lam):
    """Seed 001's ``activations[i-1]`` at i = 0: the first layer's input is the output Y_hat, not X."""
    Y_hat, caches = mlp_forward(X, params)
    first = caches[0]
    caches[0] = first._replace(dense=first.dense._replace(X=Y_hat))
    return _with_l2(_net_backward(mse_grad(Y_hat, Y), caches), params, lam)


def _mean_over_outputs(X, Y, params, lam):
    g = mlp_loss_and_grads(params, X, Y, l2=0.0)[1]
    return _with_l2({k: v / Y.shape[1] for k, v in g.items()}, params, lam)


def _l2_over_m(X, Y, params, lam):
    return _with_l2(mlp_backward_reference(X, Y, params, 0.0), params, lam, scale=1.0 / X.shape[0])


def _hand_backward(gate=lambda Z, A: Z > 0, layer_input=lambda A_prev, Z_prev: A_prev):
    """A backward pass written out, with the ReLU gate ``gate(Z, A)`` and each layer's input for dW
    ``layer_input(A_prev, Z_prev)`` as switches for a learner's slip (X, not Z_0, for the first layer)."""
    def backward(X, Y, params, lam):
        L, A, layers = _n_layers(params), X, []
        for l in range(1, L + 1):
            Z = A @ params[f"W{l}"] + params[f"b{l}"]
            layers.append((A, Z))
            A = Z if l == L else relu(Z)
        dA, grads = 2.0 * (A - Y) / X.shape[0], {}
        for l in range(L, 0, -1):
            A_prev, Z = layers[l - 1]
            dZ = dA if l == L else dA * gate(Z, relu(Z))
            dW_input = A_prev if l == 1 else layer_input(A_prev, layers[l - 2][1])
            grads[f"dW{l}"] = dW_input.T @ dZ + lam * params[f"W{l}"]
            grads[f"db{l}"] = dZ.sum(axis=0, keepdims=True)
            dA = dZ @ params[f"W{l}"].T
        return grads
    return backward


def _relu_on_output(X, Y, params, lam):
    return mlp_loss_and_grads(params, X, Y, hidden="relu", output="relu", loss="mse", l2=lam)[1]


def _l2_on_biases(X, Y, params, lam):
    g = mlp_backward_reference(X, Y, params, lam)
    return {k: (v + lam * params["b" + k[2:]] if k.startswith("db") else v) for k, v in g.items()}


def _l2_twice(X, Y, params, lam):
    return _with_l2(mlp_backward_reference(X, Y, params, 0.0), params, lam, scale=2.0)


def _l2_missing(X, Y, params, lam):
    return mlp_backward_reference(X, Y, params, 0.0)


def _in_order(wrong):
    def run(*args):
        return _grads_in_order(wrong, args)
    run.__name__ = wrong.__name__
    return run


MLP_BACKWARD = Exercise(
    name="mlp_backward",
    exact=True,
    signature="mlp_backward(X, Y, params, lam=0.0) -> grads",
    reference=mlp_backward_reference,
    make_inputs=_mlp_inputs,
    visible_trials=len(VISIBLE_MLP),  # the last: one layer, the linear output
    # every graded run: a one-layer network (its only layer is the linear output), and a deep one with L2,
    # several examples and a unit at ReLU's kink
    edge_cases=(lambda rng: below_zero(*_mlp_inputs(rng, True, L=1)),
                lambda rng: _mlp_inputs(rng, True, L=MAX_LAYERS, m=5, lam=float(rng.uniform(0.05, 0.5)))),
    outputs=GRAD_NAMES,
    call=_grads_in_order,
    batch_size=lambda args: args[0].shape[0],
    mistakes=(
        Mistake("mse_factor_2_dropped",
                "every gradient of the MSE part is half the right one: the factor 2 of d/dŶ (Ŷ − Y)² was dropped "
                "(some tutorials write dŶ = (Ŷ − Y)/m 'to save computation'). Use dŶ = 2(Ŷ − Y)/m.",
                _in_order(_mse_half)),
        Mistake("double_1_over_m",
                "the gradients are 1/m too small: the 1/m of the mean is already in dŶ = 2(Ŷ − Y)/m, so do not "
                "divide dW or db by m again.",
                _in_order(_double_1_over_m)),
        Mistake("first_layer_input",
                "dW1 uses the network's output instead of X: the input of layer 1 is X. A list of activations "
                "without X, indexed with [l-2] or [i-1], wraps around to the last entry (Ŷ) at the first layer. "
                "Keep X as A0 in your list of activations.",
                _in_order(_first_layer_wraps)),
        Mistake("relu_on_output",
                "ReLU (or ReLU') is applied at the output layer too: the output layer is linear, Ŷ = Z_L and "
                "dZ_L = dŶ. Only the hidden layers use ReLU, and ReLU'(Z_l) in the backward pass.",
                _in_order(_relu_on_output)),
        Mistake("l2_on_biases",
                "db includes lam·b: the L2 penalty (lam/2)·Σ‖W‖² involves the weights only, biases are not "
                "regularised, so db has no L2 term.",
                _in_order(_l2_on_biases)),
        Mistake("l2_factor_2",
                "the L2 term of dW is 2·lam·W: that is the gradient of lam·Σ W², the other convention. Here the "
                "penalty is (lam/2)·Σ‖W‖², whose gradient is lam·W.",
                _in_order(_l2_twice)),
        Mistake("l2_missing",
                "dW has no L2 term: add lam·W (the gradient of (lam/2)·‖W‖²) to every dW.",
                _in_order(_l2_missing)),
        Mistake("l2_over_m",
                "the L2 term of dW is lam·W/m: that is the convention where the penalty is (lam/2m)·Σ‖W‖², as in "
                "some courses. Here the penalty is (lam/2)·Σ‖W‖², outside the mean, and its gradient is lam·W.",
                _in_order(_l2_over_m)),
        Mistake("mean_over_outputs",
                "dŶ divides by Y.size = m·n_out (np.mean over every entry). The MSE averages over the m "
                "examples and sums over the outputs: dŶ = 2(Ŷ − Y)/m, with m = X.shape[0].",
                _in_order(_mean_over_outputs)),
        Mistake("derivative_at_zero",
                "the ReLU gate lets the gradient through where Z is exactly 0 (Z >= 0). The course takes "
                "ReLU′(0) = 0: dZ = dA * (Z > 0).",
                _in_order(_hand_backward(gate=lambda Z, A: Z >= 0))),
        Mistake("gate_times_activation",
                "the hidden layers' dA is multiplied by A = ReLU(Z). Multiply by its derivative, ReLU′(Z) = "
                "(Z > 0), which is 0 or 1: dZ = dA * (Z > 0).",
                _in_order(_hand_backward(gate=lambda Z, A: A))),
        Mistake("Z_instead_of_A",
                "dW uses the previous layer's Z. A layer's input is the previous layer's activation "
                "A = ReLU(Z) (X for the first layer): dW_l = A_{l−1}ᵀ·dZ_l.",
                _in_order(_hand_backward(layer_input=lambda A_prev, Z_prev: Z_prev))),
    ),
)


# ------------------------------------------------------------------------------------------------ l2_grad
def _l2_inputs(rng, hidden):
    shape = tuple(int(k) for k in rng.integers(1, 7, size=2)) if hidden else (3, 2)
    lam = float(rng.uniform(0.01, 1.0)) if hidden else (0.1, 0.5, 0.03)[visible_case(rng, "l2_grad", 3)]
    return rng.standard_normal(shape), lam


L2_GRAD = Exercise(
    name="l2_grad",
    exact=True,
    signature="l2_grad(W, lam) -> dW",
    reference=l2_grad,
    make_inputs=_l2_inputs,
    edge_cases=(another_shape(_l2_inputs),),  # a shape besides the printed ones
    outputs=("dW",),
    mistakes=(
        Mistake("l2_factor_2",
                "you returned 2·lam·W, the gradient of lam·Σ W² (a convention some sources use). The penalty "
                "here is (lam/2)·Σ W², so the 2 of d/dW W² = 2W cancels the 1/2: the gradient is lam·W.",
                lambda W, lam: 2 * lam * W),
        Mistake("l2_half",
                "you returned (lam/2)·W: differentiating (lam/2)·W² brings down a 2, so the gradient is lam·W.",
                lambda W, lam: 0.5 * lam * W),
        Mistake("l2_penalty_value",
                "you returned the penalty (lam/2)·Σ W² (a number); the gradient is an array shaped like W: lam·W.",
                lambda W, lam: 0.5 * lam * np.sum(W * W)),
    ),
)


# ------------------------------------------------------------------------------------- dense_backward_col
def dense_backward_col_reference(dZ, cache):
    """Column convention: the row-convention backward pass, transposed (every quantity is a transpose)."""
    A_prev, W, b = cache
    dX, dW, db = dense_backward(dZ.T, (A_prev.T, W.T, b.T))
    return dX.T, dW.T, db.T


def _col_inputs(rng, hidden):
    if hidden:
        m, n_in, n_out = (int(k) for k in rng.integers(1, 8, size=3))
    else:
        m, n_in, n_out = 5, 3, 2
    A_prev = rng.standard_normal((n_in, m))
    W = rng.standard_normal((n_out, n_in))
    b = rng.standard_normal((n_out, 1))
    dZ = rng.standard_normal((n_out, m)) / m
    return dZ, (A_prev, W, b)


def _col_replace(i, value_fn):
    def wrong(dZ, cache):
        out = list(dense_backward_col_reference(dZ, cache))
        out[i] = value_fn(dZ, cache)
        return tuple(out)
    return wrong


DENSE_BACKWARD_COL = Exercise(
    name="dense_backward_col",
    exact=True,
    signature="dense_backward_col(dZ, cache) -> (dA_prev, dW, db)",
    reference=dense_backward_col_reference,
    make_inputs=_col_inputs,
    edge_cases=(another_shape(_col_inputs),),  # a shape besides the printed ones
    outputs=("dA_prev", "dW", "db"),
    batch_size=lambda args: args[0].shape[1],
    shape_hint="in the column convention A_prev is (n_in, m), W is (n_out, n_in) and dZ is (n_out, m): "
               "dA_prev = W.T @ dZ is (n_in, m) and dW = dZ @ A_prev.T is (n_out, n_in).",
    mistakes=(
        Mistake("col_bias_axis0",
                "db is summed over axis 0, the habit of the row convention. In the column convention the examples "
                "are the columns: db = dZ.sum(axis=1, keepdims=True), shape (n_out, 1) like b.",
                _col_replace(2, lambda dZ, c: dZ.sum(axis=0, keepdims=True))),
        Mistake("col_bias_axis0",
                "db is summed over axis 0, the habit of the row convention. In the column convention the examples "
                "are the columns: db = dZ.sum(axis=1, keepdims=True), shape (n_out, 1) like b.",
                _col_replace(2, lambda dZ, c: dZ.sum(axis=0))),
        Mistake("col_keepdims",
                "db lost its second dimension: use keepdims=True so that db is (n_out, 1) like b.",
                _col_replace(2, lambda dZ, c: dZ.sum(axis=1))),
        Mistake("col_dW_transposed",
                "dW is A_prev·dZᵀ, shape (n_in, n_out): that is the row-convention dW. In the column convention "
                "W is (n_out, n_in), and dW = dZ·A_prevᵀ has that shape.",
                _col_replace(1, lambda dZ, c: c[0] @ dZ.T)),
        Mistake("col_dA_transposed",
                "dA_prev is (m, n_in), the row-convention shape. In the column convention dA_prev = Wᵀ·dZ, "
                "(n_in, n_out)·(n_out, m) = (n_in, m) like A_prev.",
                _col_replace(0, lambda dZ, c: dZ.T @ c[1])),
    ),
)


# ------------------------------------------------------------------------------------------------ dropout
def _dropout_inputs(rng, hidden, m=None):
    if hidden:
        m = int(rng.choice([1, 3, 16, 50])) if m is None else m
        n = int(np.ceil(6000 / m)) + int(rng.integers(0, 50))
        keep_prob = float(rng.choice([rng.uniform(0.15, 0.4), rng.uniform(0.6, 0.95)]))
    else:
        m, n = 100, 80
        keep_prob = (0.8, 0.3, 0.65)[visible_case(rng, "dropout_forward", 3)]
    X = rng.uniform(0.5, 2.0, size=(m, n)) * rng.choice([-1.0, 1.0], size=(m, n))
    seed = int(rng.integers(0, 2**31))
    return X, keep_prob, seed


def _pair(result, what):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        got = "None" if result is None else (f"{len(result)} values" if isinstance(result, (tuple, list))
                                             else f"a {type(result).__name__}")
        raise CheckFinding(f"`dropout_forward` should return two values, {what}; it returned {got}.",
                      "none" if result is None else "structure")
    return result


def _as_float(value, name):
    try:
        return np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise CheckFinding(f"`{name}` should be a numpy array of numbers, got a {type(value).__name__}.",
                      "type") from None


DROPOUT_OUTPUTS = ("scale_of_kept_units", "fraction_kept", "one_scale_for_all_kept_units",
                   "mask_drawn_from_rng", "cache_holds_mask", "cache_holds_keep_prob",
                   "mask_independent (1; 0: one row for all examples, 2: one value per example)")


def _independence(kept: np.ndarray) -> float:
    """1.0 when the keep pattern varies across examples and across units, 0.0 when every example (row) has the
    same pattern (a mask drawn with shape (1, n)), 2.0 when every unit of an example shares it ((m, 1)). An
    independent mask of at least 100 entries per row or column repeats a whole row with probability below
    0.95^100 for keep_prob ≤ 0.95, so the test is exact in practice; one row or one column tells nothing."""
    m, n = kept.shape if kept.ndim == 2 else (1, kept.size)
    if m > 1 and n >= 100 and bool(np.all(kept == kept[:1])):
        return 0.0
    if n > 1 and m > 1 and n * m >= 100 and bool(np.all(kept == kept[:, :1])):
        return 2.0
    return 1.0


def _dropout_stats(fn, args):
    """Run ``fn(X, keep_prob, rng)`` and measure what its mask does, as six numbers (plain data).

    Any way of drawing a keep-mask from ``rng`` passes: the check measures the mask, it does not replay one
    particular stream of random numbers. Returns (scale of the kept units, fraction kept, and four 0/1 flags:
    the kept units share one scale, two generators seeded alike give the same mask and one seeded otherwise
    another mask, ``cache[0]`` is the
    mask ``out / X``, ``cache[1]`` is ``keep_prob``). The fraction kept reads as ``keep_prob`` (or
    ``1 - keep_prob``) when it lies within 5 standard deviations of it, so a correct answer gives exactly
    ``(1/p, p, 1, 1, 1, 1)``.
    """
    X, p, seed = args
    X0 = np.array(X, copy=True)
    out, cache = _pair(fn(X, p, np.random.default_rng(seed)), "(out, cache)")
    out = _as_float(out, "out")
    if out.shape != X0.shape:
        raise CheckFinding(f"`out` has shape {out.shape} but should have the shape of X, {X0.shape}.", "shape")
    with np.errstate(all="ignore"):
        ratio = out / X0  # X has no zeros: |X| >= 0.5
    kept = ratio != 0.0
    scale = float(np.mean(ratio[kept])) if kept.any() else 0.0
    one_scale = bool(kept.any()) and bool(np.allclose(ratio[kept], scale, rtol=1e-9, atol=0.0))
    if not one_scale:
        scale = 0.0  # no single scale to report
    again = _as_float(_pair(fn(X0.copy(), p, np.random.default_rng(seed)), "(out, cache)")[0], "out")
    other = _as_float(_pair(fn(X0.copy(), p, np.random.default_rng(seed + 1)), "(out, cache)")[0], "out")
    same = (again.shape == out.shape and bool(np.array_equal(again, out, equal_nan=True))
            and not (other.shape == out.shape and bool(np.array_equal(other, out, equal_nan=True))))
    holds_mask = holds_p = False
    if isinstance(cache, (tuple, list)) and len(cache) == 2:
        try:
            mask = np.asarray(cache[0], dtype=np.float64)
            mask = np.broadcast_to(mask, X0.shape)  # a (1, n) or (m, 1) mask multiplies X the same way
            holds_mask = bool(np.allclose(mask, ratio, rtol=1e-9, atol=1e-12))
            holds_p = bool(np.isclose(float(cache[1]), p))
        except (TypeError, ValueError):
            pass
    frac = float(np.mean(kept))
    sigma = np.sqrt(p * (1.0 - p) / X0.size)
    rate = frac
    for candidate in (p, 1.0 - p):
        if abs(frac - candidate) < 5.0 * sigma:
            rate = candidate
            break
    return scale, rate, float(one_scale), float(same), float(holds_mask), float(holds_p), _independence(kept)


def _dropout_wrong(draw):
    """A wrong dropout_forward: ``draw(X, p, rng) -> (keep, scale)``; out = X * keep * scale."""
    def wrong(X, p, seed):
        def fn(X, p, rng):
            keep, scale = draw(X, p, rng)
            mask = keep * scale
            return X * mask, (mask, p)
        return _dropout_stats(fn, (X, p, seed))
    return wrong


def _flag_off(*indices):
    """The correct measurements with some of the flags at 0 (everything else right)."""
    def wrong(X, p, seed):
        out = [1.0 / p, p, 1.0, 1.0, 1.0, 1.0, 1.0]
        for index in indices:
            out[index] = 0.0
        if 2 in indices:
            out[0] = 0.0  # no single scale is reported then
        return tuple(out)
    return wrong


DROPOUT_FORWARD = Exercise(
    name="dropout_forward",
    signature="dropout_forward(X, keep_prob, rng) -> (out, cache)",
    reference=dropout_forward,
    make_inputs=_dropout_inputs,
    edge_cases=(lambda rng: _dropout_inputs(rng, True, m=50),),  # every graded run: a mask for 50 examples
    outputs=DROPOUT_OUTPUTS,
    call=_dropout_stats,
    mistakes=(
        Mistake("scale_1_over_1_minus_p",
                "the kept units are scaled by 1/(1 − keep_prob): some tutorials keep units with probability p "
                "and then divide by 1 − p. Inverted dropout divides by the probability of KEEPING a unit, "
                "1/keep_prob, so that the expected output equals X.",
                _dropout_wrong(lambda X, p, rng: (rng.random(X.shape) < p, 1.0 / (1.0 - p)))),
        Mistake("drop_probability_convention",
                "you read keep_prob as the probability of DROPPING a unit (mask rng.random(X.shape) > p, scaled "
                "by 1/(1 − p)): that is inverted dropout with a drop rate, as in PyTorch's nn.Dropout(p). Here "
                "the argument is the probability of KEEPING a unit: mask = (rng.random(X.shape) < keep_prob) / "
                "keep_prob.",
                _dropout_wrong(lambda X, p, rng: (rng.random(X.shape) > p, 1.0 / (1.0 - p)))),
        Mistake("not_rescaled",
                "the kept units are not rescaled: the expected output is keep_prob·X during training but X at "
                "test time. Divide the mask by keep_prob (inverted dropout).",
                _dropout_wrong(lambda X, p, rng: (rng.random(X.shape) < p, 1.0))),
        Mistake("keep_drop_swapped",
                "about 1 − keep_prob of the units are kept: keep_prob is the probability of KEEPING a unit, so "
                "the mask is rng.random(X.shape) < keep_prob (not < 1 − keep_prob, not > keep_prob).",
                _dropout_wrong(lambda X, p, rng: (rng.random(X.shape) < 1.0 - p, 1.0 / p))),
        Mistake("multiplied_by_keep_prob",
                "the kept units are multiplied by keep_prob: inverted dropout DIVIDES them by keep_prob.",
                _dropout_wrong(lambda X, p, rng: (rng.random(X.shape) < p, p))),
        Mistake("mask_values",
                "the kept units are not all multiplied by the same number: out = X * mask with "
                "mask = (rng.random(X.shape) < keep_prob) / keep_prob, whose entries are 0 or 1/keep_prob.",
                _flag_off(2)),
        Mistake("rng_not_used",
                "the mask does not follow the `rng` argument (generators seeded alike gave different masks, or "
                "generators seeded differently the same one): draw it with rng.random(X.shape), not from "
                "np.random or a generator of your own, so that runs are reproducible and every step drops "
                "other units.",
                _flag_off(3)),
        Mistake("cache_mask",
                "cache[0] should be the mask that multiplied X, already divided by keep_prob (entries 0 or "
                "1/keep_prob), so that the backward pass is dout * mask.",
                _flag_off(4)),
        Mistake("cache_keep_prob",
                "return cache = (mask, keep_prob): cache[1] should be keep_prob.",
                _flag_off(5)),
        Mistake("mask_shared_across_examples",
                "every example gets the same mask (one row drawn, e.g. rng.random((1, n)) < keep_prob, then "
                "broadcast): each example must drop its own units, independently. Draw the mask with the shape "
                "of X, rng.random(X.shape).",
                _dropout_wrong(lambda X, p, rng: (rng.random((1, X.shape[1])) < p, 1.0 / p))),
        Mistake("mask_shared_across_units",
                "each example keeps or drops all of its units together (one number per example, e.g. "
                "rng.random((m, 1))): every unit is dropped on its own. Draw the mask with the shape of X, "
                "rng.random(X.shape).",
                _dropout_wrong(lambda X, p, rng: (rng.random((X.shape[0], 1)) < p, 1.0 / p))),
        Mistake("cache_structure",
                "the cache should be the pair (mask, keep_prob), with the mask already divided by keep_prob: "
                "return out, (mask, keep_prob).",
                _flag_off(4, 5)),
    ),
)


def _dropout_backward_inputs(rng, hidden):
    if hidden:
        shape = tuple(int(k) for k in rng.integers(1, 9, size=2))
        p = float(rng.uniform(0.2, 0.95))
    else:
        shape, p = (4, 5), (0.8, 0.5, 0.3)[visible_case(rng, "dropout_backward", 3)]
    X = rng.standard_normal(shape)
    _, cache = dropout_forward(X, p, rng)
    return rng.standard_normal(shape), (np.array(cache.mask), float(cache.keep_prob))


DROPOUT_BACKWARD = Exercise(
    name="dropout_backward",
    exact=True,
    signature="dropout_backward(dout, cache) -> dX",
    reference=dropout_backward,
    make_inputs=_dropout_backward_inputs,
    edge_cases=(another_shape(_dropout_backward_inputs),),  # a shape besides the printed ones
    outputs=("dX",),
    parts={"cache": ("mask", "keep_prob")},
    mistakes=(
        Mistake("scaled_twice",
                "dX is divided by keep_prob once more: the mask in the cache already holds the 1/keep_prob "
                "factor, so dX = dout * mask.",
                lambda dout, cache: dout * cache[0] / cache[1]),
        Mistake("backward_not_scaled",
                "dX uses the 0/1 pattern without the 1/keep_prob factor: the forward pass multiplied X by "
                "mask = keep/keep_prob, so the backward pass multiplies dout by the same mask.",
                lambda dout, cache: dout * (cache[0] != 0)),
        Mistake("mask_ignored",
                "dX equals dout: dropped units had no effect on the loss, so their gradient is 0. Multiply by "
                "the mask: dX = dout * mask.",
                lambda dout, cache: np.array(dout, copy=True)),
        Mistake("drop_probability_convention",
                "dX divides by 1 − keep_prob: keep_prob is the probability of KEEPING a unit, and the cached "
                "mask already holds the factor 1/keep_prob, so dX = dout * mask.",
                lambda dout, cache: dout * (cache[0] != 0) / (1.0 - cache[1])),
        Mistake("inverted_mask",
                "the gradient flows through the dropped units instead of the kept ones: dX = dout * mask.",
                lambda dout, cache: dout * (cache[0] == 0) / cache[1]),
    ),
)

EXERCISES = [MLP_BACKWARD, L2_GRAD, DENSE_BACKWARD_COL, DROPOUT_FORWARD, DROPOUT_BACKWARD]
