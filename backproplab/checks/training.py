"""Exercises of notebook 08 (training a network you built): mini-batches, a full-network gradient check, one
training step, the training loop, and the trained network itself.

Each harness runs the learner's function with the course's version of the *other* exercises and parts (it rebinds
``minibatches``, ``train_step`` and ``loss_and_grads`` in the learner's function's globals), so that one mistake is
named once, where it is. Random generators never cross a check's boundary: the inputs hold a seed, the harness
makes ``np.random.default_rng(seed)``.
"""

from __future__ import annotations

import types
import weakref

import numpy as np

from backproplab import debugging, training
from backproplab.checking import CheckFinding, Exercise, Mistake, another_shape, visible_case
from backproplab.checking.measure import relative_gap
from backproplab.datasets import load_digits, one_hot
from backproplab.optimizers import adam

EPOCHS = 2
MINIBATCH_OUTPUTS = tuple(f"{what}, epoch {e}" for e in range(1, EPOCHS + 1)
                          for what in ("X batches stacked", "Y batches stacked", "batch sizes"))
PARAM_KEYS = ("W1", "b1", "W2", "b2")


def with_course_parts(fn, **names):
    """``fn`` with the course's ``names`` (e.g. ``minibatches=...``) in its globals; ``fn`` itself is unchanged."""
    if not isinstance(fn, types.FunctionType):
        return fn
    scope = dict(fn.__globals__)
    scope.update(names)
    new = types.FunctionType(fn.__code__, scope, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__ = fn.__kwdefaults__
    return new


def _tiny_params(rng, sizes):
    """Weights N(0, 0.6²) and biases N(0, 0.1²) of a tiny network (drawn here, not by the graded ``he_normal``:
    a table in a learner build, and a check's diagnosis draws inputs beyond the recorded ones)."""
    weights = [rng.normal(0.0, 0.6, size=(n_in, n_out)) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]
    biases = [0.1 * rng.standard_normal((1, n)) for n in sizes[1:]]
    return {key: value for l, (W, b) in enumerate(zip(weights, biases, strict=True), start=1)
            for key, value in ((f"W{l}", W), (f"b{l}", b))}


def _classes(rng, m, k):
    return one_hot(rng.integers(0, k, m), k)


# -------------------------------------------------------------------------------------------- minibatches
VISIBLE_BATCHES = ((10, 4), (10, 5), (7, 3))


def _minibatch_inputs(rng, hidden):
    if hidden:
        m = int(rng.integers(1, 21))
        batch_size = int(rng.integers(1, m + 4))
        n = int(rng.integers(1, 5))
    else:
        (m, batch_size), n = VISIBLE_BATCHES[visible_case(rng, "minibatches", 3)], 3
    X = rng.standard_normal((m, n))
    Y = rng.standard_normal((m, 2))  # distinct rows, so that X and Y rows shuffled apart are seen
    return X, Y, batch_size, float(rng.integers(0, 2**31))


def _stack(rows, like):
    return np.concatenate(rows) if rows else np.zeros((0, like.shape[1]))


def _epoch_outputs(fn, X, Y, batch_size, rng, epoch):
    batches = fn(X, Y, batch_size, rng)
    if batches is None:
        raise CheckFinding("`minibatches` returned None: return the list of (X_batch, Y_batch) pairs.", "none")
    try:
        batches = list(batches)
    except TypeError:
        raise CheckFinding(f"`minibatches` returned a {type(batches).__name__}; return a list of (X_batch, Y_batch) "
                      f"pairs (or yield them).", "structure") from None
    xs, ys, sizes = [], [], []
    for k, batch in enumerate(batches):
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise CheckFinding(f"in epoch {epoch}, batch {k + 1} is not a pair (X_batch, Y_batch).", "structure")
        xb, yb = (np.asarray(b, dtype=np.float64) for b in batch)
        if xb.ndim != 2 or yb.ndim != 2 or len(xb) != len(yb):
            raise CheckFinding(f"in epoch {epoch}, batch {k + 1} holds X_batch of shape {xb.shape} and Y_batch of "
                               f"shape {yb.shape}: both should be 2-D with the same number of rows (batch_size, "
                               f"or fewer in the last batch).", "shape")
        xs.append(xb)
        ys.append(yb)
        sizes.append(float(len(xb)))
    return _stack(xs, X), _stack(ys, Y), np.array(sizes)


def run_minibatches(fn, args):
    """Two epochs: ``fn(X, Y, batch_size, rng)`` called twice with one generator; each epoch's batches stacked."""
    X, Y, batch_size, seed = args
    rng = np.random.default_rng(int(seed))
    out = ()
    for epoch in range(1, EPOCHS + 1):
        out += _epoch_outputs(fn, X, Y, int(batch_size), rng, epoch)
    ours = np.random.default_rng(int(seed))
    shuffled = out[0].shape == np.shape(X) and not np.array_equal(out[0], X)
    if shuffled and np.array_equal(out[0], out[3]) and \
            not np.array_equal(ours.permutation(len(X)), ours.permutation(len(X))):
        raise CheckFinding(SAME_ORDER, "same_order_each_epoch")
    return out


SAME_ORDER = ("epoch 2 repeats the order of epoch 1: draw the order from the generator you are given, "
              "rng.permutation(m), not from a new generator with a fixed seed, so that every epoch (every call) draws "
              "a new order.")


def _harnessed(fn):
    def wrong(*args):
        return run_minibatches(fn, args)
    return wrong


def _unshuffled(X, Y, batch_size, rng):
    return [(X[k:k + batch_size], Y[k:k + batch_size]) for k in range(0, len(X), batch_size)]


def _last_dropped(X, Y, batch_size, rng):
    order = rng.permutation(len(X))
    return [(X[order[k:k + batch_size]], Y[order[k:k + batch_size]])
            for k in range(0, len(X) - batch_size + 1, batch_size)]


def _apart(X, Y, batch_size, rng):
    ox, oy = rng.permutation(len(X)), rng.permutation(len(X))
    return [(X[ox[k:k + batch_size]], Y[oy[k:k + batch_size]]) for k in range(0, len(X), batch_size)]


def _choice(X, Y, batch_size, rng):
    order = rng.choice(len(X), size=len(X), replace=True)
    return [(X[order[k:k + batch_size]], Y[order[k:k + batch_size]]) for k in range(0, len(X), batch_size)]


def _in_place(X, Y, batch_size, rng):
    order = rng.permutation(len(X))
    X[:], Y[:] = X[order], Y[order]
    return [(X[k:k + batch_size].copy(), Y[k:k + batch_size].copy()) for k in range(0, len(X), batch_size)]


def _same_order(*args):
    """Each epoch re-seeds its generator the same way: epoch 2 repeats epoch 1."""
    X, Y, batch_size, seed = args
    first = _epoch_outputs(training.minibatches, X, Y, int(batch_size), np.random.default_rng(int(seed)), 1)
    return first + first


MINIBATCHES = Exercise(
    name="minibatches",
    signature="minibatches(X, Y, batch_size, rng) -> [(X_batch, Y_batch), ...]",
    reference=training.minibatches,
    make_inputs=_minibatch_inputs,
    outputs=MINIBATCH_OUTPUTS,
    call=run_minibatches,
    shape_hint="an epoch's batches hold every row once: m rows in ⌈m / batch_size⌉ batches, the last one with the "
               "m % batch_size remaining rows when batch_size does not divide m.",
    mistakes=(
        Mistake("not_shuffled", "the batches keep the order of the rows: shuffle them at every call (every epoch) "
                                "with order = rng.permutation(m), then cut X[order] and Y[order] into batches.",
                _harnessed(_unshuffled)),
        Mistake("last_batch_dropped", "the last, partial batch is missing: when batch_size does not divide m, the "
                                      "remaining m % batch_size rows form a smaller last batch (range(0, m, "
                                      "batch_size) gives every start).", _harnessed(_last_dropped)),
        Mistake("shuffled_apart", "X and Y are shuffled by two different permutations, so the rows no longer meet "
                                  "their labels: draw one order = rng.permutation(m) and index both X and Y with "
                                  "it.", _harnessed(_apart)),
        Mistake("with_replacement", "the order is drawn with replacement (rng.choice(m, m)): some rows appear twice "
                                    "and others never. An epoch visits every row once: order = rng.permutation(m).",
                _harnessed(_choice)),
        Mistake("shuffled_in_place", "X and Y are shuffled in place, so the caller's arrays change and the next "
                                     "epoch starts from the shuffled rows: index with the order instead, X[order] "
                                     "and Y[order] are new arrays.", _harnessed(_in_place)),
        Mistake("same_order_each_epoch", SAME_ORDER, _same_order),
    ),
)


# ------------------------------------------------------------------------------------ numerical_gradients
GRAD_OUTPUTS = tuple(f"d{k}" for k in PARAM_KEYS)


def _gradcheck_inputs(rng, hidden):
    if hidden:
        n0, n1, k, m = (int(v) for v in rng.integers(1, 6, size=4))
        k = max(k, 2)
    else:
        n0, n1, k, m = ((3, 4, 3, 5), (2, 3, 2, 4), (4, 2, 3, 1))[visible_case(rng, "numerical_gradients", 3)]
    params = _tiny_params(rng, (n0, n1, k))
    return params, rng.standard_normal((m, n0)), _classes(rng, m, k), 1e-5


def run_gradcheck(fn, args):
    """``fn(f, params, h)`` with ``f(params)`` the tiny network's loss; the gradients in the order of PARAM_KEYS."""
    params, X, Y, h = args

    def f(p):
        return training.loss_and_grads(p, X, Y)[0]

    grads = fn(f, {k: np.array(v, copy=True) for k, v in params.items()}, h)
    if not isinstance(grads, dict):
        raise CheckFinding(f"`numerical_gradients` returned a {type(grads).__name__}; return a dict "
                      f"{{'dW1': ..., 'db1': ..., ...}} like the grads of loss_and_grads.", "structure")
    missing = [k for k in GRAD_OUTPUTS if k not in grads]
    if missing:
        hint = " (keys start with 'd': 'dW1', not 'W1')" if all(k[1:] in grads for k in missing) else ""
        raise CheckFinding(f"the dict `numerical_gradients` returned has no {', '.join(repr(k) for k in missing)}"
                      f"{hint}: one entry per parameter array.", "structure")
    return tuple(grads[k] for k in GRAD_OUTPUTS)


def _gradcheck_wrong(numeric):
    """A wrong numerical_gradients from ``numeric(f, work, key, idx, h) -> value`` (``work`` may be left changed)."""
    def fn(f, params, h=1e-5):
        work = {k: np.array(v, copy=True) for k, v in params.items()}
        grads = {}
        for key in params:
            g = np.zeros_like(work[key])
            for idx in np.ndindex(g.shape):
                g[idx] = numeric(f, work, key, idx, h)
            grads["d" + key] = g
        return grads
    return lambda *args: run_gradcheck(fn, args)


def _forward_difference(f, work, key, idx, h):
    base = f(work)
    old = work[key][idx]
    work[key][idx] = old + h
    plus = f(work)
    work[key][idx] = old
    return (plus - base) / h


def _not_restored(f, work, key, idx, h):
    old = work[key][idx]
    work[key][idx] = old + h
    plus = f(work)
    work[key][idx] = old - h
    return (plus - f(work)) / (2 * h)


NUMERICAL_GRADIENTS = Exercise(
    name="numerical_gradients",
    signature="numerical_gradients(f, params, h=1e-5) -> grads",
    reference=training.numerical_gradients,
    make_inputs=_gradcheck_inputs,
    outputs=GRAD_OUTPUTS,
    call=run_gradcheck,
    tol=1e-6,
    shape_hint="grads['dW1'] has the shape of params['W1'], grads['db1'] that of params['b1'], and so on.",
    mistakes=(
        Mistake("forward_difference", "this is the forward difference (f(p + h) − f(p)) / h, whose error is of "
                                      "order h: use the centred one, (f(p + h) − f(p − h)) / (2h), accurate to "
                                      "order h².", _gradcheck_wrong(_forward_difference)),
        Mistake("not_restored", "each entry is left at p − h after its difference, so later entries are measured "
                                "at a shifted point: put the entry back (params[key][idx] = old) before moving on.",
                _gradcheck_wrong(_not_restored)),
    ),
)


# -------------------------------------------------------------------------------------------- train_step
STEPS = 3
STEP_OUTPUTS = tuple(f"{k} after {STEPS} steps" for k in PARAM_KEYS) + (f"losses of the {STEPS} steps",)
VISIBLE_STEP = ((0.0, 1.0), (0.1, 1.0), (0.05, 0.7))


def _step_inputs(rng, hidden):
    if hidden:
        n0, n1, k, m = (int(v) for v in rng.integers(2, 6, size=4))
        l2 = float(rng.choice([0.0, rng.uniform(0.01, 0.3)]))
        keep_prob = float(rng.choice([1.0, rng.uniform(0.5, 0.9)]))
    else:
        (n0, n1, k, m), (l2, keep_prob) = (3, 4, 3, 6), VISIBLE_STEP[visible_case(rng, "train_step", 3)]
    params = _tiny_params(rng, (n0, n1, k))
    return (params, rng.standard_normal((m, n0)), _classes(rng, m, k), float(rng.uniform(0.005, 0.05)), l2,
            keep_prob, float(rng.integers(0, 2**31)))


def run_steps(fn, args):
    """Three consecutive ``fn(params, configs, X, Y, adam, l2, keep_prob, rng)`` steps, each fed what the last
    returned, with the course's ``loss_and_grads``; the parameters after the last step and every step's loss."""
    params, X, Y, lr, l2, keep_prob, seed = args
    step = with_course_parts(fn, loss_and_grads=training.loss_and_grads)
    rng = np.random.default_rng(int(seed))
    configs = {key: {"learning_rate": lr} for key in params}
    losses = []
    for k in range(STEPS):
        result = step(params, configs, X, Y, adam, l2, keep_prob, rng)
        if not isinstance(result, (tuple, list)) or len(result) != 3:
            raise CheckFinding(f"at step {k + 1}, `train_step` returned "
                          f"{'None' if result is None else type(result).__name__}; it should return three values, "
                          f"(new_params, new_configs, loss).", "none" if result is None else "structure")
        params, configs, loss = result
        if not isinstance(params, dict) or not isinstance(configs, dict):
            raise CheckFinding("new_params and new_configs should be dicts with one entry per parameter array "
                          "('W1', 'b1', ...).", "structure")
        losses.append(float(np.asarray(loss, dtype=np.float64)))
    return (*(params[key] for key in PARAM_KEYS), np.array(losses))


def _step_wrong(step):
    return lambda *args: run_steps(step, args)


def _configs_kept(params, configs, X, Y, update, l2=0.0, keep_prob=1.0, rng=None):
    loss, grads = training.loss_and_grads(params, X, Y, l2, keep_prob, rng)
    return {k: update(params[k], grads["d" + k], configs[k])[0] for k in params}, configs, loss


def _loss_after(params, configs, X, Y, update, l2=0.0, keep_prob=1.0, rng=None):
    new_params, new_configs, _ = training.train_step(params, configs, X, Y, update, l2, keep_prob, rng)
    return new_params, new_configs, training.loss_and_grads(new_params, X, Y, l2)[0]


def _no_regularization(params, configs, X, Y, update, l2=0.0, keep_prob=1.0, rng=None):
    return training.train_step(params, configs, X, Y, update, 0.0, 1.0, rng)


def _ascent(params, configs, X, Y, update, l2=0.0, keep_prob=1.0, rng=None):
    loss, grads = training.loss_and_grads(params, X, Y, l2, keep_prob, rng)
    new = {k: update(params[k], -grads["d" + k], configs[k]) for k in params}
    return {k: v[0] for k, v in new.items()}, {k: v[1] for k, v in new.items()}, loss


TRAIN_STEP = Exercise(
    name="train_step",
    signature="train_step(params, configs, X, Y, update, l2=0.0, keep_prob=1.0, rng=None) -> (new_params, "
              "new_configs, loss)",
    reference=training.train_step,
    make_inputs=_step_inputs,
    edge_cases=(another_shape(_step_inputs),),  # a shape besides the printed ones
    outputs=STEP_OUTPUTS,
    call=run_steps,
    shape_hint="new_params[key] has the shape of params[key]; the loss is one number.",
    mistakes=(
        Mistake("configs_not_updated", "step 1 is right but Adam starts afresh at every step: keep the config each "
                                       "update returns, new_configs[key], and return new_configs (it holds m, v "
                                       "and t for the next step).", _step_wrong(_configs_kept)),
        Mistake("loss_after_update", "the loss is measured after the update: return the loss that loss_and_grads "
                                     "gave for the batch, before the step (the one its gradients belong to).",
                _step_wrong(_loss_after)),
        Mistake("regularization_not_passed", "l2 and keep_prob do not reach the network: call loss_and_grads("
                                             "params, X, Y, l2, keep_prob, rng).", _step_wrong(_no_regularization)),
        Mistake("gradient_negated", "the parameters move up the gradient: pass grads['d' + key] itself to update, "
                                    "which subtracts it.", _step_wrong(_ascent)),
    ),
)


# ----------------------------------------------------------------------------------------------- train
def _train_inputs(rng, hidden):
    if hidden:
        n0, n1, k = (int(v) for v in rng.integers(2, 6, size=3))
        m, epochs = int(rng.integers(3, 12)), int(rng.integers(1, 4))
        batch_size = int(rng.integers(1, m + 2))
        l2 = float(rng.choice([0.0, 0.05]))
        keep_prob = float(rng.choice([1.0, 0.8]))
    else:
        n0, n1, k, m, batch_size = 3, 4, 3, 7, 3
        epochs, l2, keep_prob = ((2, 0.0, 1.0), (3, 0.1, 1.0), (2, 0.05, 0.8))[visible_case(rng, "train", 3)]
    params = _tiny_params(rng, (n0, n1, k))
    return (params, rng.standard_normal((m, n0)), _classes(rng, m, k), float(epochs), float(batch_size),
            float(rng.uniform(0.005, 0.05)), l2, keep_prob, float(rng.integers(0, 2**31)))


TRAIN_OUTPUTS = tuple(f"final {k}" for k in PARAM_KEYS) + ("losses", "callback calls (epoch, number of losses)")


def run_train(fn, args):
    """``fn(params, X, Y, epochs, batch_size, adam, {"learning_rate": lr}, l2, keep_prob, rng, callback)`` with the
    course's ``minibatches`` and ``train_step``; final parameters, losses and what the callback saw."""
    params, X, Y, epochs, batch_size, lr, l2, keep_prob, seed = args
    loop = with_course_parts(fn, minibatches=training.minibatches, train_step=training.train_step)
    calls = []

    def callback(epoch, params, losses=None):
        calls.append((float(epoch), float(len(losses)) if losses is not None else -1.0))

    result = loop(params, X, Y, int(epochs), int(batch_size), adam, {"learning_rate": lr}, l2, keep_prob,
                  np.random.default_rng(int(seed)), callback)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        raise CheckFinding(f"`train` returned {'None' if result is None else type(result).__name__}; it should return "
                      f"(params, losses).", "none" if result is None else "structure")
    final, losses = result
    if not isinstance(final, dict) or any(k not in final for k in PARAM_KEYS):
        raise CheckFinding("the first value `train` returns should be the trained params dict ('W1', 'b1', ...).",
                      "structure")
    return (*(final[k] for k in PARAM_KEYS), np.asarray(losses, dtype=np.float64).ravel(),
            np.array(calls).reshape(-1, 2))


def _train_wrong(loop):
    return lambda *args: run_train(loop, args)


def _configs_each_epoch(params, X, Y, epochs, batch_size, update, config, l2=0.0, keep_prob=1.0, rng=None,
                        callback=None):
    losses = []
    for epoch in range(epochs):
        params, part = training.train(params, X, Y, 1, batch_size, update, config, l2, keep_prob, rng)
        losses += part
        if callback is not None:
            callback(epoch, params, losses)
    return params, losses


def _loss_per_epoch(params, X, Y, epochs, batch_size, update, config, l2=0.0, keep_prob=1.0, rng=None,
                    callback=None):
    kept = []

    def keep_last(epoch, params, losses):
        kept.append(losses[-1])
        if callback is not None:
            callback(epoch, params, kept)

    params, _ = training.train(params, X, Y, epochs, batch_size, update, config, l2, keep_prob, rng, keep_last)
    return params, kept


def _no_callback(params, X, Y, epochs, batch_size, update, config, l2=0.0, keep_prob=1.0, rng=None,
                 callback=None):
    return training.train(params, X, Y, epochs, batch_size, update, config, l2, keep_prob, rng)


TRAIN = Exercise(
    name="train",
    signature="train(params, X, Y, epochs, batch_size, update, config, l2=0.0, keep_prob=1.0, rng=None, "
              "callback=None) -> (params, losses)",
    reference=training.train,
    make_inputs=_train_inputs,
    edge_cases=(another_shape(_train_inputs),),  # a shape besides the printed ones
    outputs=TRAIN_OUTPUTS,
    call=run_train,
    shape_hint="losses holds one loss per step: epochs × ⌈m / batch_size⌉ numbers; the callback is called once "
               "per epoch, after the epoch's last step.",
    mistakes=(
        Mistake("configs_each_epoch", "the first epoch is right, then Adam restarts: make the configs once, "
                                      "before the loop over epochs, and keep the ones train_step returns.",
                _train_wrong(_configs_each_epoch)),
        Mistake("loss_per_epoch", "losses holds one loss per epoch: append the loss of every step (every batch).",
                _train_wrong(_loss_per_epoch)),
        Mistake("callback_not_called", "the callback is never called: call callback(epoch, params, losses) at the "
                                       "end of every epoch when it is not None (it draws the live curves).",
                _train_wrong(_no_callback)),
    ),
)


# --------------------------------------------------------------------------------------- train_digits
#: The graded result: accuracy the trained network must reach on the validation set (visible check) and the
#: test set (hidden check).
TARGETS = {0: ("validation", 0.95), 1: ("test", 0.93)}
_TRAINED = weakref.WeakKeyDictionary()


def run_train_digits(fn, args):
    """``fn()`` once per function object (the visible and hidden checks share one training run)."""
    try:
        return _TRAINED[fn]
    except (KeyError, TypeError):
        pass
    params = fn()
    try:
        _TRAINED[fn] = params
    except TypeError:
        pass
    return params


def judge_digits(params, args) -> str:
    """Outside the kernel: the accuracy of the returned parameters on the split ``args[0]`` names."""
    split, target = TARGETS[int(args[0])]
    if not isinstance(params, dict):
        raise CheckFinding(f"`train_digits` returned {'None' if params is None else type(params).__name__}; it should "
                      f"return the trained params dict ('W1', 'b1', ...).", "none" if params is None else "structure")
    layers = len([k for k in params if str(k).startswith("W")])
    need = [f"{p}{l}" for l in range(1, layers + 1) for p in "Wb"]
    if not layers or any(not isinstance(params.get(k), np.ndarray) for k in need):
        raise CheckFinding("`train_digits` should return a dict of arrays 'W1', 'b1', 'W2', 'b2', ... (the trained "
                      "network).", "structure")
    data = load_digits()
    X, y = (data.X_val, data.y_val) if split == "validation" else (data.X_test, data.y_test)
    try:
        with np.errstate(all="ignore"):
            acc = training.accuracy({k: params[k] for k in need}, X, y, training.parts_in_use())
    except ValueError as exc:
        raise CheckFinding(f"the returned weights do not fit the digits (64 inputs, 10 classes): {exc}",
                           "shape") from None
    if not acc >= target:
        raise CheckFinding(f"your network classifies {100 * acc:.1f}% of the {split} images right; the target is "
                      f"{100 * target:.0f}%. Train longer (epochs), adjust the learning rate, or widen the hidden "
                      f"layer.", "below_target")
    return f"your network classifies {100 * acc:.1f}% of the {split} images right (target {100 * target:.0f}%)."


def _reference_digits():
    return training.train_digits()


TRAIN_DIGITS = Exercise(
    name="train_digits",
    signature="train_digits() -> params",
    reference=_reference_digits,
    make_inputs=lambda rng, hidden: (1.0 if hidden else 0.0,),
    outputs=("params",),
    call=run_train_digits,
    judge=judge_digits,
    visible_trials=1,
    hidden_trials=1,
)

# ------------------------------------------------------------------------- the planted bug: name it, fix it
FLAG_OUTPUTS = tuple(f"{k} flagged (1: wrong, 0: right)" for k in debugging.GRADIENT_KEYS)
VISIBLE_BUGS = (0, 3, -1)  # a missing ReLU gate (two gradients), the 1/m applied twice in dW1, no bug


def _debug_network(rng, hidden, square):
    n0, n1 = (int(rng.integers(2, 5)), int(rng.integers(2, 4))) if hidden else (4, 3)
    k = n1 if square else (int(rng.integers(2, 5)) if hidden else 3)
    m = int(rng.integers(2, 6)) if hidden else 5
    params = _tiny_params(rng, (n0, n1, k))
    return params, rng.standard_normal((m, n0)), _classes(rng, m, k), float(rng.uniform(0.1, 0.5))


def _bug_inputs(rng, hidden, bug: int | None = None):
    if bug is None:
        bug = int(rng.integers(-1, len(debugging.BUGS))) if hidden else VISIBLE_BUGS[visible_case(
            rng, "wrong_gradients", 3)]
    expected = set(debugging.BUGS[bug].breaks) if bug >= 0 else set()
    loss_and_grads = debugging.backward_with(None if bug < 0 else bug)[1]
    for _ in range(50):  # inputs on which any sensible threshold sees exactly the gradients the bug breaks
        params, X, Y, l2 = _debug_network(rng, hidden, square=True)
        if _clear_cut(loss_and_grads, params, X, Y, l2, expected):
            break
    return float(bug), params, X, Y, l2


#: The gradient check's verdict on a case must not depend on the threshold a learner picks (1e-7 … 1e-3, the
#: readings of gradcheck.verdict): right gradients agree with their finite differences below the lower end,
#: broken ones differ above the upper end (a ReLU kink between p − h and p + h, or m = 1 hiding a 1/m, can blur
#: them on some draws).
_CLEAR_RIGHT, _CLEAR_WRONG = 1e-8, 1e-2


def _clear_cut(loss_and_grads, params, X, Y, l2, expected: set) -> bool:
    _, grads = loss_and_grads(params, X, Y, l2)
    numeric = training.numerical_gradients(lambda p: loss_and_grads(p, X, Y, l2)[0], params)
    for key in debugging.GRADIENT_KEYS:
        analytic = np.asarray(grads[key])
        err = relative_gap(analytic, numeric[key]) if analytic.shape == numeric[key].shape else np.inf
        if (err < _CLEAR_WRONG) if key in expected else (err > _CLEAR_RIGHT):
            return False
    return True


def run_wrong_gradients(fn, args):
    """``fn(loss_and_grads, params, X, Y, l2)`` on the backward pass with bug ``args[0]`` planted (-1: none), with
    the course's ``numerical_gradients``; the answer as one flag per gradient."""
    bug, params, X, Y, l2 = args
    buggy = debugging.backward_with(None if bug < 0 else int(bug))[1]
    finder = with_course_parts(fn, numerical_gradients=training.numerical_gradients, relative_error=relative_gap)
    found = finder(buggy, {k: np.array(v, copy=True) for k, v in params.items()}, X, Y, l2)
    if found is None:
        raise CheckFinding("`wrong_gradients` returned None: return the list of the keys whose check fails ([] when "
                      "every gradient is right).", "none")
    if isinstance(found, str) or not isinstance(found, (list, tuple, set)):
        raise CheckFinding(f"`wrong_gradients` returned a {type(found).__name__}; return a list of keys such as "
                      f"['dW1', 'db1'] (an empty list when every gradient is right).", "structure")
    unknown = [k for k in found if k not in debugging.GRADIENT_KEYS]
    if unknown:
        hint = " (the gradients' keys start with 'd')" if all(f"d{k}" in debugging.GRADIENT_KEYS
                                                              for k in unknown) else ""
        raise CheckFinding(f"`wrong_gradients` returned {unknown!r}: the keys are 'dW1', 'db1', 'dW2' and 'db2'{hint}.",
                      "structure")
    return tuple(float(k in found) for k in debugging.GRADIENT_KEYS)


def _only_worst(loss_and_grads, params, X, Y, l2=0.0):
    _, grads = loss_and_grads(params, X, Y, l2)
    numeric = training.numerical_gradients(lambda p: loss_and_grads(p, X, Y, l2)[0], params)
    errors = {k: (relative_gap(np.asarray(grads[k]), numeric[k]) if np.shape(grads[k]) == numeric[k].shape
                  else 1.0) for k in grads}
    return [max(errors, key=errors.get)]


WRONG_GRADIENTS = Exercise(
    name="wrong_gradients",
    signature="wrong_gradients(loss_and_grads, params, X, Y, l2) -> list of keys",
    reference=debugging.wrong_gradients,
    make_inputs=_bug_inputs,
    # every run, whatever the seed draws: a bug that breaks all four gradients, and none (a finder that returns
    # one key, or every key, would otherwise pass on the seeds that draw only one-gradient bugs: 1 % of them)
    edge_cases=(lambda rng: _bug_inputs(rng, True, bug=len(debugging.BUGS) - 1),
                lambda rng: _bug_inputs(rng, True, bug=-1)),
    outputs=FLAG_OUTPUTS,
    call=run_wrong_gradients,
    mistakes=(
        Mistake("only_the_worst", "you return one key, the worst, every time: a bug can break several gradients (a "
                                  "missing ReLU gate breaks dW1 and db1) or none. Return every key whose check "
                                  "fails, [] when all pass.", lambda *args: run_wrong_gradients(_only_worst, args)),
        Mistake("everything_flagged", "every gradient is flagged: compare each analytic gradient with its own "
                                      "numerical gradient, and flag it only when the relative error is above 1e-5 "
                                      "(or the shapes differ).",
                lambda *args: (1.0, 1.0, 1.0, 1.0)),
    ),
)


def _loss_and_grads_outputs(fn, args):
    params, X, Y, l2 = args
    result = fn({k: np.array(v, copy=True) for k, v in params.items()}, X, Y, l2)
    if not isinstance(result, (tuple, list)) or len(result) != 2 or not isinstance(result[1], dict):
        raise CheckFinding("`fixed_loss_and_grads` should return (loss, grads), grads a dict with 'dW1', 'db1', 'dW2' "
                      "and 'db2', as the planted code does.", "structure")
    loss, grads = result
    missing = [k for k in debugging.GRADIENT_KEYS if k not in grads]
    if missing:
        raise CheckFinding(f"grads has no {', '.join(missing)}.", "structure")
    return (loss, *(grads[k] for k in debugging.GRADIENT_KEYS))


def _fixed_inputs(rng, hidden):
    return _debug_network(rng, hidden, square=bool(rng.random() < 0.5) if hidden else True)


def _finite_differences(params, X, Y, l2=0.0):
    correct = debugging.backward_with(None)[1]
    loss = correct(params, X, Y, l2)[0]
    grads = training.numerical_gradients(lambda p: correct(p, X, Y, l2)[0], params)
    return (loss, *(grads[k] for k in debugging.GRADIENT_KEYS))


def _still(k):
    bug = debugging.BUGS[k]
    planted = debugging.backward_with(k)[1]
    # the message names the slip, not its fix: the planted code run unchanged must not print the answer
    return Mistake(f"still_{bug.name}", f"the planted bug is still there: the line `{bug.wrong_line}` is the slip "
                                        f"(it breaks {', '.join(bug.breaks)}); work out what it should read.",
                   lambda *args: _loss_and_grads_outputs(planted, args))


FIXED_LOSS_AND_GRADS = Exercise(
    name="fixed_loss_and_grads",
    signature="fixed_loss_and_grads(params, X, Y, l2=0.0) -> (loss, grads)",
    reference=debugging.backward_with(None)[1],
    make_inputs=_fixed_inputs,
    edge_cases=(another_shape(_fixed_inputs),),  # a shape besides the printed ones
    outputs=("loss", *debugging.GRADIENT_KEYS),
    call=_loss_and_grads_outputs,
    exact=True,  # finite differences (right to about 1e-10) are not a backward pass
    shape_hint="each gradient has the shape of its parameter: dW1 (n_0, n_1), db1 (1, n_1), dW2 (n_1, K), "
               "db2 (1, K).",
    mistakes=(*(_still(k) for k in range(len(debugging.BUGS))),
              Mistake("finite_differences", "these are finite-difference estimates (right to about 1e-10), not the "
                                            "exact gradients of a backward pass: fix the planted code, whose "
                                            "gradients the check compares to rounding differences.",
                      _finite_differences)),
)

EXERCISES = [MINIBATCHES, NUMERICAL_GRADIENTS, TRAIN_STEP, TRAIN, TRAIN_DIGITS, WRONG_GRADIENTS, FIXED_LOSS_AND_GRADS]
