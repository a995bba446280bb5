"""Exercises of notebook 07 (optimizers): update rules with the CS231n signature ``fn(w, dw, config) -> (next_w,
config)``.

The harness runs :data:`STEPS` consecutive steps, feeding back the ``config`` returned by each call, and compares
the update of every step, ``next_w − w`` (``update1`` ... ``update4``): the updates, not the weights, so that a
wrong step is not drowned by the weights it is added to, and a step taken the wrong way is exactly −1 times the
right one. A mistake in the state handling (velocity not
stored, ``t`` not advanced, ...) shows up from step 2, a mistake in the formula at step 1. One visible case
resumes from a saved state (velocity, cache, ``m``/``v``/``t`` already in ``config``), so the keys are part of
the contract. The config passed in may be modified or not: the harness gives every call its own copy.
"""

from __future__ import annotations

import numpy as np

from backproplab.checking import CheckFinding, Exercise, Mistake, another_shape, visible_case
from backproplab.optimizers import adam, rmsprop, sgd, sgd_momentum

STEPS = 4
OUTPUTS = tuple(f"update{k} (next_w − w at step {k})" for k in range(1, STEPS + 1))


def _copy_config(config):
    return {k: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v) for k, v in config.items()}


#: Momentum conventions by code: the inputs hold a number, not a string, so that they are plain numeric data for
#: the trusted grader (which records the arguments after the call as numbers only).
CONVENTION_CODES = ("classic", "ema")


def run_steps(fn, args):
    """Run ``fn`` for ``len(dws)`` consecutive steps from ``(w, config)``; return each step's update next_w − w.

    ``args = (w, dws, config)`` or ``(w, dws, config, convention_code)``; the code (0: classic, 1: ema) becomes
    ``config["convention"]``. The first call receives ``w`` itself (so that an in-place update is noticed); later
    calls receive the ``next_w`` and ``config`` the previous call returned.
    """
    w, dws, config, *code = args
    config = _copy_config(config)
    if code:
        config["convention"] = CONVENTION_CODES[int(code[0])]
    ws = [np.array(w, dtype=np.float64, copy=True)]
    for k in range(len(dws)):
        result = fn(w, dws[k], config)
        name = getattr(fn, "__name__", "your function")
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            got = "None" if result is None else (f"{len(result)} values" if isinstance(result, (tuple, list))
                                                 else f"a {type(result).__name__}")
            raise CheckFinding(f"at step {k + 1}, `{name}` returned {got}; it should return two values, "
                          f"(next_w, config).", "none" if result is None else "structure")
        next_w, config = result
        if not isinstance(config, dict):
            raise CheckFinding(f"at step {k + 1}, the second value `{name}` returned is a {type(config).__name__}; it "
                          f"should be the config dict, holding the hyper-parameters and the updated state, so "
                          f"that the next call can continue from it.", "config_not_returned")
        try:
            ws.append(np.array(next_w, dtype=np.float64, copy=True))
        except (TypeError, ValueError):
            raise CheckFinding(f"at step {k + 1}, next_w is a {type(next_w).__name__}, not an array of numbers.",
                          "type") from None
        w = next_w
    return tuple(after - before for before, after in zip(ws, ws[1:], strict=False))


def _steps(step):
    """A mistake as the harness sees it: ``step`` run for every step (numpy warnings silenced)."""
    def wrong(*args):
        with np.errstate(all="ignore"):
            return run_steps(step, args)
    wrong.__name__ = getattr(step, "__name__", "wrong")
    return wrong


def _shape(rng, hidden, default=(2, 3)):
    if not hidden:
        return default
    if rng.random() < 0.3:
        return (int(rng.integers(1, 8)),)
    return tuple(int(k) for k in rng.integers(1, 6, size=2))


def _inputs(rng, shape, config):
    w = rng.standard_normal(shape)
    dws = rng.standard_normal((STEPS, *shape))
    return w, dws, config


# ---------------------------------------------------------------------------------------------------- sgd
def _sgd_inputs(rng, hidden):
    # visible: no lr whose square is the usual default 0.01, nor 0.5 (a forgotten lr would be a factor 2)
    lr = float(rng.uniform(0.01, 0.5)) if hidden else (0.2, 0.05, 0.3)[visible_case(rng, "sgd", 3)]
    return _inputs(rng, _shape(rng, hidden), {"learning_rate": lr})


def _sgd_ascent(w, dw, config):
    return w + config["learning_rate"] * dw, dict(config)


def _sgd_no_lr(w, dw, config):
    return w - dw, dict(config)


def _sgd_no_update(w, dw, config):
    return np.array(w, copy=True), dict(config)


SGD = Exercise(
    name="sgd",
    signature="sgd(w, dw, config=None) -> (next_w, config)",
    reference=sgd,
    make_inputs=_sgd_inputs,
    edge_cases=(another_shape(_sgd_inputs),),  # a shape besides the printed ones
    outputs=OUTPUTS,
    call=run_steps,
    mistakes=(
        Mistake("ascent", "the step goes up the gradient: gradient DEScent subtracts it, next_w = w − "
                          "learning_rate·dw.", _steps(_sgd_ascent)),
        Mistake("learning_rate_ignored", "the step is the whole gradient: multiply it by config['learning_rate'] "
                                         "(next_w = w − learning_rate·dw).", _steps(_sgd_no_lr)),
        Mistake("no_update", "next_w equals w: compute next_w = w − learning_rate·dw and return it.",
                _steps(_sgd_no_update)),
        Mistake("learning_rate_hard_coded",
                "the step uses a fixed learning rate of 0.01 (the usual default): read it from the config, "
                "next_w = w − config['learning_rate']·dw.",
                _steps(lambda w, dw, config: (w - 1e-2 * dw, dict(config)))),
    ),
)


# ------------------------------------------------------------------------------------------- sgd_momentum
#: ``(convention, β, lr, resume)``: lr ≠ 1 − β and lr ≠ 0.5 in every case, so that no two named mistakes give the
#: same steps (with lr = 1 − β the classic slip w + lr·v IS the ema convention; with lr = 0.5 a forgotten lr is
#: an exact factor 2); both conventions resume from a saved velocity.
VISIBLE_MOMENTUM = (("classic", 0.9, 0.05, False), ("ema", 0.8, 0.3, False), ("classic", 0.85, 0.07, True),
                    ("ema", 0.75, 0.2, True))


def _momentum_inputs(rng, hidden, convention=None, resume=None):
    if hidden:
        convention = str(rng.choice(["classic", "ema"])) if convention is None else convention
        beta, lr = float(rng.uniform(0.5, 0.95)), float(rng.uniform(0.01, 0.5))
        resume = bool(rng.random() < 0.4) if resume is None else resume
    else:
        convention, beta, lr, resume = VISIBLE_MOMENTUM[visible_case(rng, "sgd_momentum", len(VISIBLE_MOMENTUM))]
    shape = _shape(rng, hidden)
    config = {"learning_rate": lr, "momentum": beta}
    if resume:
        config["velocity"] = rng.standard_normal(shape) * 0.5
    return (*_inputs(rng, shape, config), float(CONVENTION_CODES.index(convention)))


def _flip(convention):
    return "ema" if convention == "classic" else "classic"


def _momentum_other_convention(w, dw, config):
    next_w, new = sgd_momentum(w, dw, {**config, "convention": _flip(config["convention"])})
    new["convention"] = config["convention"]
    return next_w, new


def _momentum_velocity_not_kept(w, dw, config):
    next_w, new = sgd_momentum(w, dw, {k: v for k, v in config.items() if k != "velocity"})
    del new["velocity"]
    return next_w, new


def _momentum_other_key(w, dw, config):
    """Keeps its velocity under config['v']: fine from scratch, but a saved config['velocity'] is ignored."""
    own = {k: v for k, v in config.items() if k not in ("v", "velocity")}
    if "v" in config:
        own["velocity"] = config["v"]
    next_w, new = sgd_momentum(w, dw, own)
    new["v"] = new.pop("velocity")
    if "velocity" in config:
        new["velocity"] = config["velocity"]
    return next_w, new


def _momentum_slip(convention, step):
    """``sgd_momentum`` with one convention's step replaced by a learner's slip ``step(w, dw, v, beta, lr) ->
    (next_w, v)``, ``v`` being the saved velocity (zeros at first); the other convention stays right."""
    def update(w, dw, config):
        if config["convention"] != convention:
            return sgd_momentum(w, dw, config)
        next_w, v = step(w, dw, config.get("velocity", np.zeros_like(w)), config["momentum"],
                         config["learning_rate"])
        return next_w, {**config, "velocity": v}
    return update


def _old_velocity_step(w, dw, v, beta, lr):
    """classic, w updated with the velocity of the previous step: w = w + v; v = βv − ηg"""
    return w + v, beta * v - lr * dw


def _flipped_velocity_step(w, dw, v, beta, lr):
    """classic with the velocity's sign flipped: v = βv + ηg, w = w − v (the same steps from a zero velocity)"""
    v = beta * v + lr * dw
    return w - v, v


def _swapped_ema_step(w, dw, v, beta, lr):
    """ema with β and 1 − β swapped: v = (1 − β)v + β·g"""
    v = (1.0 - beta) * v + beta * dw
    return w - lr * v, v


_momentum_step_with_old_velocity = _momentum_slip("classic", _old_velocity_step)
_momentum_velocity_sign = _momentum_slip("classic", _flipped_velocity_step)
_momentum_ema_weights_swapped = _momentum_slip("ema", _swapped_ema_step)


SGD_MOMENTUM = Exercise(
    name="sgd_momentum",
    signature="sgd_momentum(w, dw, config=None) -> (next_w, config)",
    reference=sgd_momentum,
    make_inputs=_momentum_inputs,
    visible_trials=len(VISIBLE_MOMENTUM),
    edge_cases=tuple((lambda rng, c=c: _momentum_inputs(rng, True, convention=c, resume=True))
                     for c in CONVENTION_CODES),  # a saved velocity, in each convention
    outputs=OUTPUTS,
    call=run_steps,
    mistakes=(
        Mistake("other_convention",
                "this is the other momentum convention. Read config['convention']: \"classic\" is "
                "v = β·v − lr·dw, w = w + v; \"ema\" is v = β·v + (1 − β)·dw, w = w − lr·v (without the "
                "(1 − β), v = β·v + dw is the classic convention in disguise).",
                _steps(_momentum_other_convention)),
        Mistake("velocity_not_kept",
                "step 1 is right but the velocity starts from zero at every step: store it, config['velocity'] "
                "= v, and read it back at the next call (zeros only when the key is missing).",
                _steps(_momentum_velocity_not_kept)),
        Mistake("ignores_saved_velocity",
                "a velocity saved in config['velocity'] is ignored: read the velocity from that key (the check "
                "resumes from a saved velocity), e.g. v = config.get('velocity', np.zeros_like(w)).",
                _steps(_momentum_other_key)),
        Mistake("velocity_after_step",
                "the classic step uses the old velocity: update the velocity first, v = β·v − lr·dw, then "
                "w = w + v.",
                _steps(_momentum_step_with_old_velocity)),
        Mistake("velocity_sign",
                "your classic velocity has the opposite sign: v = β·v + lr·dw with w = w − v takes the same "
                "steps from a zero velocity, but a saved config['velocity'] (stored as v = β·v − lr·dw, the "
                "step itself) then pushes the wrong way. Keep the convention's sign: v = β·v − lr·dw, w = w + v.",
                _steps(_momentum_velocity_sign)),
        Mistake("ema_weights_swapped",
                "in the \"ema\" convention β weighs the new gradient: the average keeps β of the OLD velocity, "
                "v = β·v + (1 − β)·dw.",
                _steps(_momentum_ema_weights_swapped)),
    ),
)


# ------------------------------------------------------------------------------------------------ rmsprop
#: lr ≠ 1 − ρ in every visible case: a learner who writes lr where (1 − ρ) belongs must fail each of them.
VISIBLE_RMSPROP = ((0.03, 0.99, 1e-8, False), (0.05, 0.9, 1e-4, False), (0.02, 0.95, 1e-3, True))


def _rmsprop_inputs(rng, hidden, resume=None):
    if hidden:
        lr, rho = float(rng.uniform(0.005, 0.1)), float(rng.uniform(0.8, 0.99))
        eps = float(10 ** rng.uniform(-4, -2))
        resume = bool(rng.random() < 0.4) if resume is None else resume
    else:
        lr, rho, eps, resume = VISIBLE_RMSPROP[visible_case(rng, "rmsprop", 3)]
    shape = _shape(rng, hidden)
    config = {"learning_rate": lr, "decay_rate": rho, "epsilon": eps}
    if resume:
        config["cache"] = rng.uniform(0.1, 2.0, size=shape)
    return _inputs(rng, shape, config)


def _rmsprop_variant(*, sqrt=True, keep=True, eps_inside=False, swap_decay=False, with_eps=True, square=True):
    def step(w, dw, config):
        rho = config["decay_rate"]
        if swap_decay:
            rho = 1.0 - rho
        cache = config.get("cache") if keep else None
        cache = rho * (np.zeros_like(w) if cache is None else cache) + (1.0 - rho) * (dw * dw if square else dw)
        eps = config["epsilon"] if with_eps else 0.0
        denom = np.sqrt(cache + eps) if eps_inside else (np.sqrt(cache) + eps if sqrt else cache + eps)
        new = {**config, "cache": cache} if keep else dict(config)
        return w - config["learning_rate"] * dw / denom, new
    return step


RMSPROP = Exercise(
    name="rmsprop",
    signature="rmsprop(w, dw, config=None) -> (next_w, config)",
    reference=rmsprop,
    make_inputs=_rmsprop_inputs,
    edge_cases=(lambda rng: _rmsprop_inputs(rng, True, resume=True),),
    outputs=OUTPUTS,
    call=run_steps,
    mistakes=(
        Mistake("no_sqrt",
                "the step divides by the cache itself: divide by its square root, dw / (√cache + ε). The cache "
                "holds squared gradients, so √cache has the units of dw and the step has the units of lr.",
                _steps(_rmsprop_variant(sqrt=False))),
        Mistake("cache_not_kept",
                "step 1 is right but the cache starts from zero at every step: store it, config['cache'] = "
                "cache, and read it back at the next call.",
                _steps(_rmsprop_variant(keep=False))),
        Mistake("eps_inside_sqrt",
                "ε is inside the square root: some libraries write √(cache + ε); this course (and the docstring) "
                "uses dw / (√cache + ε).",
                _steps(_rmsprop_variant(eps_inside=True))),
        Mistake("decay_rate_swapped",
                "the decay rate weighs the new gradient: cache = ρ·cache + (1 − ρ)·dw², with ρ = "
                "config['decay_rate'] on the OLD cache.",
                _steps(_rmsprop_variant(swap_decay=True))),
        Mistake("eps_missing",
                "ε is missing from the denominator: dw / (√cache + ε), with ε = config['epsilon'], so that a "
                "weight whose gradients have been near 0 does not take a huge step.",
                _steps(_rmsprop_variant(with_eps=False))),
        Mistake("gradient_not_squared",
                "the cache averages dw itself: it holds squared gradients, cache = ρ·cache + (1 − ρ)·dw², so that "
                "√cache measures each weight's gradient size whatever its sign.",
                _steps(_rmsprop_variant(square=False))),
    ),
)


# --------------------------------------------------------------------------------------------------- adam
#: lr ≠ 1 − β₁, 1 − β₂ and 0.5 in every visible case (no two slips give the same steps).
VISIBLE_ADAM = ((2e-3, 0.9, 0.999, 1e-8, False), (0.08, 0.8, 0.99, 1e-6, False), (0.01, 0.85, 0.995, 1e-8, True))


def _adam_inputs(rng, hidden, resume=None):
    if hidden:
        lr, b1 = float(rng.uniform(1e-3, 0.1)), float(rng.uniform(0.5, 0.95))
        b2 = float(rng.uniform(0.9, 0.999))
        resume = bool(rng.random() < 0.4) if resume is None else resume
        eps = float(10 ** rng.uniform(-6, -3))  # large enough that where ε sits shows
    else:
        lr, b1, b2, eps, resume = VISIBLE_ADAM[visible_case(rng, "adam", 3)]
    shape = _shape(rng, hidden)
    config = {"learning_rate": lr, "beta1": b1, "beta2": b2, "epsilon": eps}
    if resume:
        config.update(m=rng.standard_normal(shape) * 0.1, v=rng.uniform(0.1, 1.0, size=shape) * 0.05,
                      t=int(rng.integers(3, 20)))
    return _inputs(rng, shape, config)


def _adam_variant(*, correct_m=True, correct_v=True, store_t=True, advance_first=True, keep_moments=True,
                  eps_inside=False, store_corrected=False, power_of_quotient=False):
    def step(w, dw, config):
        b1, b2 = config["beta1"], config["beta2"]
        t0 = int(config.get("t", 0))
        t = t0 + 1 if advance_first else t0
        m = config.get("m") if keep_moments else None
        v = config.get("v") if keep_moments else None
        m = b1 * (np.zeros_like(w) if m is None else m) + (1.0 - b1) * dw
        v = b2 * (np.zeros_like(w) if v is None else v) + (1.0 - b2) * dw * dw
        m_hat = m / (1.0 - b1 ** t) if correct_m else m
        v_hat = v / (1.0 - b2 ** t) if correct_v else v
        if power_of_quotient:  # m / (1 - b1)**t: the power binds to the parenthesis
            m_hat, v_hat = m / (1.0 - b1) ** t, v / (1.0 - b2) ** t
        new = dict(config)
        if keep_moments:
            new.update(m=m_hat if store_corrected else m, v=v_hat if store_corrected else v)
        if store_t:
            new["t"] = t0 + 1
        eps = config["epsilon"]
        denom = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
        return w - config["learning_rate"] * m_hat / denom, new
    return step


ADAM = Exercise(
    name="adam",
    signature="adam(w, dw, config=None) -> (next_w, config)",
    reference=adam,
    make_inputs=_adam_inputs,
    edge_cases=(lambda rng: _adam_inputs(rng, True, resume=True),),
    outputs=OUTPUTS,
    call=run_steps,
    mistakes=(
        Mistake("no_bias_correction",
                "the moments are not bias-corrected: m and v start at 0, so early on they are too small by "
                "factors (1 − β₁ᵗ) and (1 − β₂ᵗ). Use m̂ = m / (1 − β₁ᵗ) and v̂ = v / (1 − β₂ᵗ) in the step.",
                _steps(_adam_variant(correct_m=False, correct_v=False))),
        Mistake("t_after_use",
                "the step counter is used before it is advanced: with t = 0 the bias correction divides by "
                "1 − β⁰ = 0 (NaN), and later steps use t − 1. Advance first, t = config['t'] + 1, then use t.",
                _steps(_adam_variant(advance_first=False))),
        Mistake("t_not_stored",
                "the step counter is not stored: every call uses t = 1. Store config['t'] = t so that the bias "
                "correction fades out over the steps.",
                _steps(_adam_variant(store_t=False))),
        Mistake("moments_not_kept",
                "step 1 is right but m and v start from zero at every step: store config['m'] = m and "
                "config['v'] = v, and read them back at the next call.",
                _steps(_adam_variant(keep_moments=False))),
        Mistake("bias_correction_m_only",
                "only m is bias-corrected: v is biased towards 0 as well, divide it by (1 − β₂ᵗ).",
                _steps(_adam_variant(correct_v=False))),
        Mistake("bias_correction_v_only",
                "only v is bias-corrected: m is biased towards 0 as well, divide it by (1 − β₁ᵗ).",
                _steps(_adam_variant(correct_m=False))),
        Mistake("eps_inside_sqrt",
                "ε is inside the square root: some libraries write √(v̂ + ε); this course (and the original "
                "paper) uses m̂ / (√v̂ + ε).",
                _steps(_adam_variant(eps_inside=True))),
        Mistake("corrected_moments_stored",
                "the bias-corrected m̂ and v̂ are stored in config: store the raw moments m and v (the "
                "correction divides by 1 − βᵗ afresh at every step, from the raw averages).",
                _steps(_adam_variant(store_corrected=True))),
        Mistake("bias_correction_power_misplaced",
                "the bias correction divides by (1 − β)ᵗ: the power belongs to β alone, m̂ = m / (1 − β₁**t) and "
                "v̂ = v / (1 − β₂**t) (write `1 - b1**t`, not `(1 - b1)**t`).",
                _steps(_adam_variant(power_of_quotient=True))),
    ),
)

EXERCISES = [SGD, SGD_MOMENTUM, RMSPROP, ADAM]
