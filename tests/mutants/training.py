"""Mutants and correct variants for notebook 08 (training a network you built), written the way learners write
them. ``train_step`` and ``train`` call ``loss_and_grads``, ``minibatches`` and ``train_step`` by name, as in the
notebook: the checks give them the course's versions."""

import numpy as np

from backproplab import debugging, training
from backproplab.gradcheck import relative_error

loss_and_grads = training.loss_and_grads
minibatches = training.minibatches
train_step = training.train_step


# ------------------------------------------------------------------------------------------- minibatches
def mb_no_shuffle(X, Y, batch_size, rng):
    return [(X[k:k + batch_size], Y[k:k + batch_size]) for k in range(0, len(X), batch_size)]


def mb_drops_last(X, Y, batch_size, rng):
    order = rng.permutation(len(X))
    n_full = len(X) // batch_size
    return [(X[order[i * batch_size:(i + 1) * batch_size]], Y[order[i * batch_size:(i + 1) * batch_size]])
            for i in range(n_full)]


def mb_two_permutations(X, Y, batch_size, rng):
    Xs, Ys = X[rng.permutation(len(X))], Y[rng.permutation(len(Y))]
    return [(Xs[k:k + batch_size], Ys[k:k + batch_size]) for k in range(0, len(X), batch_size)]


def mb_with_replacement(X, Y, batch_size, rng):
    idx = rng.choice(len(X), len(X))
    return [(X[idx[k:k + batch_size]], Y[idx[k:k + batch_size]]) for k in range(0, len(X), batch_size)]


def mb_own_generator(X, Y, batch_size, rng):
    order = np.random.default_rng(0).permutation(len(X))
    return [(X[order[k:k + batch_size]], Y[order[k:k + batch_size]]) for k in range(0, len(X), batch_size)]


def mb_shuffles_in_place(X, Y, batch_size, rng):
    order = rng.permutation(len(X))
    X[:], Y[:] = X[order], Y[order]
    return [(X[k:k + batch_size].copy(), Y[k:k + batch_size].copy()) for k in range(0, len(X), batch_size)]


def mb_generator(X, Y, batch_size, rng):
    order = rng.permutation(X.shape[0])
    Xs, Ys = X[order], Y[order]
    start = 0
    while start < len(Xs):
        yield Xs[start:start + batch_size], Ys[start:start + batch_size]
        start += batch_size


def mb_array_split(X, Y, batch_size, rng):
    order = rng.permutation(len(X))
    cuts = np.arange(batch_size, len(X), batch_size)
    return list(zip(np.split(X[order], cuts), np.split(Y[order], cuts), strict=True))


# ----------------------------------------------------------------------------------- numerical_gradients
def ng_forward(f, params, h=1e-5):
    grads = {}
    for key in params:
        p = params[key]
        g = np.zeros_like(p)
        base = f(params)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            g[idx] = (f(params) - base) / h
            p[idx] = old
        grads["d" + key] = g
    return grads


def ng_no_restore(f, params, h=1e-5):
    grads = {}
    for key in params:
        p = params[key]
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            plus = f(params)
            p[idx] = old - h
            g[idx] = (plus - f(params)) / (2 * h)
        grads["d" + key] = g
    return grads


def ng_over_h(f, params, h=1e-5):
    return {k: 2 * v for k, v in training.numerical_gradients(f, params, h).items()}


def ng_keys_without_d(f, params, h=1e-5):
    return {k[1:]: v for k, v in training.numerical_gradients(f, params, h).items()}


def ng_cs231n(f, params, h=1e-5):
    """CS231n's eval_numerical_gradient per array, with nditer, modifying in place and restoring."""
    grads = {}
    for key, x in params.items():
        grad = np.zeros_like(x)
        it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
        while not it.finished:
            ix = it.multi_index
            oldval = x[ix]
            x[ix] = oldval + h
            fxph = f(params)
            x[ix] = oldval - h
            fxmh = f(params)
            x[ix] = oldval
            grad[ix] = (fxph - fxmh) / (2 * h)
            it.iternext()
        grads["d" + key] = grad
    return grads


def ng_plus_minus_in_place(f, params, h=1e-5):
    """Perturbs with += and -=, which may leave an entry one rounding away from where it was."""
    grads = {}
    for key in params:
        g = np.zeros_like(params[key])
        for i in range(params[key].size):
            flat = params[key].reshape(-1)
            flat[i] += h
            plus = f(params)
            flat[i] -= 2 * h
            minus = f(params)
            flat[i] += h
            g.reshape(-1)[i] = (plus - minus) / (2 * h)
        grads["d" + key] = g
    return grads


# -------------------------------------------------------------------------------------------- train_step
def ts_configs_not_kept(params, configs, X, Y, update, l2=0.0, keep_prob=1.0, rng=None):
    loss, grads = loss_and_grads(params, X, Y, l2, keep_prob, rng)
    new_params = {}
    for key in params:
        new_params[key], _ = update(params[key], grads["d" + key], configs[key])
    return new_params, configs, loss


def ts_loss_after(params, configs, X, Y, update, l2=0.0, keep_prob=1.0, rng=None):
    loss, grads = loss_and_grads(params, X, Y, l2, keep_prob, rng)
    new_params, new_configs = {}, {}
    for key in params:
        new_params[key], new_configs[key] = update(params[key], grads["d" + key], configs[key])
    loss, _ = loss_and_grads(new_params, X, Y, l2)
    return new_params, new_configs, loss


def ts_forgets_regularization(params, configs, X, Y, update, l2=0.0, keep_prob=1.0, rng=None):
    loss, grads = loss_and_grads(params, X, Y)
    new_params, new_configs = {}, {}
    for key in params:
        new_params[key], new_configs[key] = update(params[key], grads["d" + key], configs[key])
    return new_params, new_configs, loss


def ts_ascent(params, configs, X, Y, update, l2=0.0, keep_prob=1.0, rng=None):
    loss, grads = loss_and_grads(params, X, Y, l2, keep_prob, rng)
    out = {key: update(params[key], -grads["d" + key], configs[key]) for key in params}
    return {k: v[0] for k, v in out.items()}, {k: v[1] for k, v in out.items()}, loss


def ts_wrong_key(params, configs, X, Y, update, l2=0.0, keep_prob=1.0, rng=None):
    loss, grads = loss_and_grads(params, X, Y, l2, keep_prob, rng)
    out = {key: update(params[key], grads[key], configs[key]) for key in params}
    return {k: v[0] for k, v in out.items()}, {k: v[1] for k, v in out.items()}, loss


def ts_correct_items(params, configs, X, Y, update, l2=0.0, keep_prob=1.0, rng=None):
    loss, grads = loss_and_grads(params, X, Y, l2=l2, keep_prob=keep_prob, rng=rng)
    results = {key: update(value, grads[f"d{key}"], configs[key]) for key, value in params.items()}
    return ({key: r[0] for key, r in results.items()}, {key: r[1] for key, r in results.items()}, float(loss))


def ts_correct_copy(params, configs, X, Y, update, l2=0.0, keep_prob=1.0, rng=None):
    new_params, new_configs = dict(params), dict(configs)
    loss, grads = loss_and_grads(params, X, Y, l2, keep_prob, rng)
    for key in params:
        new_params[key], new_configs[key] = update(new_params[key], grads["d" + key], new_configs[key])
    return new_params, new_configs, loss


# ------------------------------------------------------------------------------------------------ train
def _loop_with(configs_each_epoch=False, loss_per_epoch=False, calls_back=True):
    """A training loop with some of a learner's slips."""
    def loop(params, X, Y, epochs, batch_size, update, config, l2=0.0, keep_prob=1.0, rng=None, callback=None):
        configs, losses = {key: dict(config) for key in params}, []
        for epoch in range(epochs):
            if configs_each_epoch:
                configs = {key: dict(config) for key in params}
            for X_batch, Y_batch in minibatches(X, Y, batch_size, rng):
                params, configs, loss = train_step(params, configs, X_batch, Y_batch, update, l2, keep_prob, rng)
                if not loss_per_epoch:
                    losses.append(loss)
            if loss_per_epoch:
                losses.append(loss)
            if calls_back and callback is not None:
                callback(epoch, params, losses)
        return params, losses
    return loop


tr_configs_each_epoch = _loop_with(configs_each_epoch=True)
tr_loss_per_epoch = _loop_with(loss_per_epoch=True)
tr_no_callback = _loop_with(calls_back=False)
tr_correct_flags = _loop_with()


def tr_correct_while(params, X, Y, epochs, batch_size, update, config, l2=0.0, keep_prob=1.0, rng=None,
                     callback=None):
    configs = {}
    for key in params:
        configs[key] = config.copy()
    losses, epoch = [], 0
    while epoch < epochs:
        batches = minibatches(X, Y, batch_size, rng)
        for X_b, Y_b in batches:
            params, configs, loss = train_step(params, configs, X_b, Y_b, update, l2=l2, keep_prob=keep_prob, rng=rng)
            losses.append(float(loss))
        if callback:
            callback(epoch, params, losses)
        epoch += 1
    return params, losses


# ----------------------------------------------------------------------------------------- train_digits
def td_untrained():
    return training.init_network([64, 64, 10], np.random.default_rng(0))


def td_one_epoch():
    return training.train_digits(epochs=1, learning_rate=1e-4)


def td_returns_losses():
    return training.train_digits(), [0.1]


def td_wider():
    return training.train_digits(sizes=(64, 128, 10))


# ----------------------------------------------------------------------------------- wrong_gradients
numerical_gradients = training.numerical_gradients


def wg_only_worst(loss_and_grads, params, X, Y, l2):
    _, grads = loss_and_grads(params, X, Y, l2)
    numeric = numerical_gradients(lambda p: loss_and_grads(p, X, Y, l2)[0], params)
    errors = {}
    for key in grads:
        errors[key] = relative_error(grads[key], numeric[key]) if grads[key].shape == numeric[key].shape else 1.0
    return [max(errors, key=errors.get)]


def wg_all(loss_and_grads, params, X, Y, l2):
    return ["dW1", "db1", "dW2", "db2"]


def wg_param_names(loss_and_grads, params, X, Y, l2):
    return [key[1:] for key in debugging.wrong_gradients(loss_and_grads, params, X, Y, l2)]


def wg_no_l2(loss_and_grads, params, X, Y, l2):
    """Checks without the penalty: an L2 slip goes unseen."""
    return debugging.wrong_gradients(loss_and_grads, params, X, Y, 0.0)


def wg_returns_string(loss_and_grads, params, X, Y, l2):
    return ", ".join(debugging.wrong_gradients(loss_and_grads, params, X, Y, l2))


def wg_correct_manual(loss_and_grads, params, X, Y, l2):
    loss, grads = loss_and_grads(params, X, Y, l2)
    numeric = numerical_gradients(lambda p: loss_and_grads(p, X, Y, l2)[0], params)
    bad = []
    for name in params:
        a, n = np.asarray(grads["d" + name]), numeric["d" + name]
        if a.shape != n.shape:
            bad.append("d" + name)
        elif np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n)) > 1e-5:
            bad.append("d" + name)
    return bad


def wg_correct_set(loss_and_grads, params, X, Y, l2):
    _, grads = loss_and_grads(params, X, Y, l2)
    numeric = numerical_gradients(lambda p: loss_and_grads(p, X, Y, l2)[0], params, h=1e-6)
    return {k for k, g in grads.items() if np.shape(g) != numeric[k].shape or relative_error(g, numeric[k]) > 1e-6}


# ------------------------------------------------------------------------------ fixed_loss_and_grads
def fx_still_gate(params, X, Y, l2=0.0):
    return debugging.backward_with(0)[1](params, X, Y, l2)


def fx_still_sign(params, X, Y, l2=0.0):
    return debugging.backward_with(7)[1](params, X, Y, l2)


def fx_still_not_transposed(params, X, Y, l2=0.0):
    """Changed another line than the planted one: dA1 = dZ2 @ W2 is still there."""
    return debugging.backward_with(6)[1](params, X, Y, l2)


def fx_finite_differences(params, X, Y, l2=0.0):
    """The gradients measured instead of derived: close, but an analytic gradient is asked for."""
    loss = debugging.backward_with(None)[1](params, X, Y, l2)[0]
    return loss, numerical_gradients(lambda p: debugging.backward_with(None)[1](p, X, Y, l2)[0], params)


def fx_correct_package(params, X, Y, l2=0.0):
    from backproplab.network import mlp_loss_and_grads

    return mlp_loss_and_grads(params, X, Y, output="softmax", loss="cross_entropy", l2=l2)


def fx_correct_training(params, X, Y, l2=0.0):
    return training.loss_and_grads(params, X, Y, l2)


MUTANTS = {
    "minibatches": [("not_shuffled", mb_no_shuffle), ("last_batch_dropped", mb_drops_last),
                    ("shuffled_apart", mb_two_permutations), ("with_replacement", mb_with_replacement),
                    ("shuffled_in_place", mb_shuffles_in_place), ("same_order_each_epoch", mb_own_generator)],
    "numerical_gradients": [("forward_difference", ng_forward), ("not_restored", ng_no_restore),
                            ("extra_factor_2", ng_over_h), ("structure", ng_keys_without_d)],
    "train_step": [("configs_not_updated", ts_configs_not_kept), ("loss_after_update", ts_loss_after),
                   ("regularization_not_passed", ts_forgets_regularization), ("gradient_negated", ts_ascent),
                   ("exception", ts_wrong_key)],
    "train": [("configs_each_epoch", tr_configs_each_epoch), ("loss_per_epoch", tr_loss_per_epoch),
              ("callback_not_called", tr_no_callback)],
    "train_digits": [("below_target", td_untrained), ("below_target", td_one_epoch), ("structure", td_returns_losses)],
    "wrong_gradients": [("only_the_worst", wg_only_worst), ("everything_flagged", wg_all),
                        ("structure", wg_param_names), ("structure", wg_returns_string)],
    "fixed_loss_and_grads": [("still_relu_gate_missing", fx_still_gate), ("still_output_gradient_sign", fx_still_sign),
                             ("still_W2_not_transposed", fx_still_not_transposed),
                             ("finite_differences", fx_finite_differences)],
}

CORRECT = {
    "minibatches": [mb_generator, mb_array_split],
    "numerical_gradients": [ng_cs231n, ng_plus_minus_in_place],
    "train_step": [ts_correct_items, ts_correct_copy],
    "train": [tr_correct_while, tr_correct_flags, training.train],
    "train_digits": [training.train_digits, td_wider],
    "wrong_gradients": [wg_correct_manual, wg_correct_set],
    "fixed_loss_and_grads": [fx_correct_package, fx_correct_training],
}
