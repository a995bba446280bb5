"""Mutants and correct variants for notebook 07 (optimizers), written the way learners write them (CS231n style)."""

import numpy as np


def _cfg(config, **defaults):
    config = {} if config is None else config
    for k, v in defaults.items():
        config.setdefault(k, v)
    return config


# ---------------------------------------------------------------------------------------------------- sgd
def sgd_plus(w, dw, config=None):
    config = _cfg(config, learning_rate=1e-2)
    return w + config["learning_rate"] * dw, config


def sgd_forgot_lr(w, dw, config=None):
    config = _cfg(config, learning_rate=1e-2)
    return w - dw, config


def sgd_in_place(w, dw, config=None):
    config = _cfg(config, learning_rate=1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def sgd_returns_w_only(w, dw, config=None):
    config = _cfg(config, learning_rate=1e-2)
    return w - config["learning_rate"] * dw


def sgd_returns_lr_as_config(w, dw, config=None):
    config = _cfg(config, learning_rate=1e-2)
    return w - config["learning_rate"] * dw, config["learning_rate"]


def sgd_correct(w, dw, config=None):
    config = _cfg(config, learning_rate=1e-2)
    return w - config["learning_rate"] * dw, config


def sgd_correct_new_dict(w, dw, config=None):
    config = dict(config or {})
    lr = config.setdefault("learning_rate", 1e-2)
    next_w = np.subtract(w, np.multiply(lr, dw))
    return next_w, config


# ------------------------------------------------------------------------------------------- sgd_momentum
def _mom_cfg(w, config):
    config = _cfg(config, learning_rate=1e-2, momentum=0.9, convention="classic")
    v = config.get("velocity", np.zeros_like(w))
    return config, v


def mom_always_classic(w, dw, config=None):
    config, v = _mom_cfg(w, config)
    v = config["momentum"] * v - config["learning_rate"] * dw
    config["velocity"] = v
    return w + v, config


def mom_always_ema(w, dw, config=None):
    config, v = _mom_cfg(w, config)
    v = config["momentum"] * v + (1 - config["momentum"]) * dw
    config["velocity"] = v
    return w - config["learning_rate"] * v, config


def mom_velocity_not_stored(w, dw, config=None):
    config, v = _mom_cfg(w, config)
    mu, lr = config["momentum"], config["learning_rate"]
    if config["convention"] == "classic":
        v = mu * v - lr * dw
        return w + v, config
    v = mu * v + (1 - mu) * dw
    return w - lr * v, config


def mom_key_v(w, dw, config=None):
    config = _cfg(config, learning_rate=1e-2, momentum=0.9, convention="classic")
    v = config.get("v", np.zeros_like(w))
    mu, lr = config["momentum"], config["learning_rate"]
    if config["convention"] == "classic":
        v = mu * v - lr * dw
        next_w = w + v
    else:
        v = mu * v + (1 - mu) * dw
        next_w = w - lr * v
    config["v"] = v
    return next_w, config


def mom_pytorch_ema(w, dw, config=None):
    config, v = _mom_cfg(w, config)
    mu, lr = config["momentum"], config["learning_rate"]
    if config["convention"] == "classic":
        v = mu * v - lr * dw
        next_w = w + v
    else:
        v = mu * v + dw
        next_w = w - lr * v
    config["velocity"] = v
    return next_w, config


def mom_old_velocity(w, dw, config=None):
    config, v = _mom_cfg(w, config)
    mu, lr = config["momentum"], config["learning_rate"]
    if config["convention"] == "classic":
        next_w = w + v
        v = mu * v - lr * dw
    else:
        v = mu * v + (1 - mu) * dw
        next_w = w - lr * v
    config["velocity"] = v
    return next_w, config


def mom_in_place(w, dw, config=None):
    config, v = _mom_cfg(w, config)
    mu, lr = config["momentum"], config["learning_rate"]
    if config["convention"] == "classic":
        v = mu * v - lr * dw
        w += v
    else:
        v = mu * v + (1 - mu) * dw
        w -= lr * v
    config["velocity"] = v
    return w, config


def mom_correct(w, dw, config=None):
    config, v = _mom_cfg(w, config)
    mu, lr = config["momentum"], config["learning_rate"]
    if config["convention"] == "classic":
        v = mu * v - lr * dw
        next_w = w + v
    else:
        v = mu * v + (1 - mu) * dw
        next_w = w - lr * v
    config["velocity"] = v
    return next_w, config


def mom_correct_positive_velocity(w, dw, config=None):
    """Classic with v' = −v (v' = βv' + lr·g, w −= v'): the same trajectory; the stored velocity keeps the
    documented sign so that a saved state means the same thing."""
    config = dict(config or {})
    mu = config.setdefault("momentum", 0.9)
    lr = config.setdefault("learning_rate", 1e-2)
    conv = config.setdefault("convention", "classic")
    v = np.asarray(config.get("velocity", np.zeros_like(w)), dtype=float)
    if conv == "ema":
        v = mu * v + (1 - mu) * dw
        next_w = w - lr * v
    else:
        u = mu * (-v) + lr * dw
        next_w = w - u
        v = -u
    config["velocity"] = v
    return next_w, config


# ------------------------------------------------------------------------------------------------ rmsprop
def _rms_cfg(w, config):
    config = _cfg(config, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8)
    return config, config.get("cache", np.zeros_like(w))


def rms_no_sqrt(w, dw, config=None):
    config, cache = _rms_cfg(w, config)
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * dw ** 2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (cache + config["epsilon"]), config


def rms_cache_not_stored(w, dw, config=None):
    config, cache = _rms_cfg(w, config)
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * dw ** 2
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def rms_eps_inside(w, dw, config=None):
    config, cache = _rms_cfg(w, config)
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * dw ** 2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / np.sqrt(cache + config["epsilon"]), config


def rms_decay_swapped(w, dw, config=None):
    config, cache = _rms_cfg(w, config)
    cache = (1 - config["decay_rate"]) * cache + config["decay_rate"] * dw ** 2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def rms_correct(w, dw, config=None):
    config, cache = _rms_cfg(w, config)
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * dw ** 2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def rms_correct_in_place_state(w, dw, config=None):
    """Updates the cache array in place (allowed: it belongs to the optimiser), never w."""
    config, cache = _rms_cfg(w, config)
    rho = config["decay_rate"]
    cache = np.array(cache, dtype=float) if "cache" not in config else config["cache"]
    cache *= rho
    cache += (1 - rho) * np.square(dw)
    config["cache"] = cache
    step = config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    return w - step, config


# --------------------------------------------------------------------------------------------------- adam
def _adam(w, dw, config, *, correct=True, t_first=True, store_t=True, store=True, square=True):
    config = _cfg(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, t=0)
    m = config.get("m", np.zeros_like(w))
    v = config.get("v", np.zeros_like(w))
    t = config["t"] + 1 if t_first else config["t"]
    b1, b2 = config["beta1"], config["beta2"]
    m = b1 * m + (1 - b1) * dw
    v = b2 * v + (1 - b2) * (dw ** 2 if square else dw)
    m_hat = m / (1 - b1 ** t) if correct else m
    v_hat = v / (1 - b2 ** t) if correct else v
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    if store:
        config["m"], config["v"] = m, v
    if store_t:
        config["t"] = config["t"] + 1
    return next_w, config


def adam_no_bias_correction(w, dw, config=None):
    return _adam(w, dw, config, correct=False)


def adam_t_after_use(w, dw, config=None):
    return _adam(w, dw, config, t_first=False)


def adam_t_not_stored(w, dw, config=None):
    return _adam(w, dw, config, store_t=False)


def adam_moments_not_stored(w, dw, config=None):
    return _adam(w, dw, config, store=False)


def adam_m_hat_only(w, dw, config=None):
    config = _cfg(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, t=0)
    config["t"] += 1
    t, b1, b2 = config["t"], config["beta1"], config["beta2"]
    config["m"] = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    config["v"] = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw * dw
    m_hat = config["m"] / (1 - b1 ** t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(config["v"]) + config["epsilon"]), config


def adam_correct(w, dw, config=None):
    return _adam(w, dw, config)


def adam_correct_folded_lr(w, dw, config=None):
    """The paper's 'efficient' ordering: lr_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ) with ε̂ = ε·√(1−β₂ᵗ) is exactly equivalent."""
    config = dict(config or {})
    for k, v in dict(learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, t=0).items():
        config.setdefault(k, v)
    t = config["t"] + 1
    b1, b2 = config["beta1"], config["beta2"]
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * np.square(dw)
    lr_t = config["learning_rate"] * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    eps_hat = config["epsilon"] * np.sqrt(1 - b2 ** t)
    config.update(m=m, v=v, t=t)
    return w - lr_t * m / (np.sqrt(v) + eps_hat), config


MUTANTS = {
    "sgd": [
        ("ascent", sgd_plus),
        ("learning_rate_ignored", sgd_forgot_lr),
        ("in_place", sgd_in_place),
        ("structure", sgd_returns_w_only),
        ("config_not_returned", sgd_returns_lr_as_config),
    ],
    "sgd_momentum": [
        ("other_convention", mom_always_classic),
        ("other_convention", mom_always_ema),
        ("velocity_not_kept", mom_velocity_not_stored),
        ("ignores_saved_velocity", mom_key_v),
        ("other_convention", mom_pytorch_ema),
        ("velocity_after_step", mom_old_velocity),
        ("in_place", mom_in_place),
    ],
    "rmsprop": [
        ("no_sqrt", rms_no_sqrt),
        ("cache_not_kept", rms_cache_not_stored),
        ("eps_inside_sqrt", rms_eps_inside),
        ("decay_rate_swapped", rms_decay_swapped),
    ],
    "adam": [
        ("no_bias_correction", adam_no_bias_correction),
        ("t_after_use", adam_t_after_use),
        ("t_not_stored", adam_t_not_stored),
        ("moments_not_kept", adam_moments_not_stored),
        ("bias_correction_m_only", adam_m_hat_only),
    ],
}

CORRECT = {
    "sgd": [sgd_correct, sgd_correct_new_dict],
    "sgd_momentum": [mom_correct, mom_correct_positive_velocity],
    "rmsprop": [rms_correct, rms_correct_in_place_state],
    "adam": [adam_correct, adam_correct_folded_lr],
}


# Slips a learner's-eye audit found named generically (2026-11-26).
def rms_no_eps(w, dw, config=None):
    config, cache = _rms_cfg(w, config)
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * dw ** 2
    config["cache"] = cache
    return w - config["learning_rate"] * dw / np.sqrt(cache), config


def adam_eps_inside(w, dw, config=None):
    return _adam_variant_step(w, dw, config, eps_inside=True)


def adam_stores_corrected(w, dw, config=None):
    return _adam_variant_step(w, dw, config, store_hat=True)


def _adam_variant_step(w, dw, config, *, eps_inside=False, store_hat=False, power_of_quotient=False):
    config = _cfg(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8)
    b1, b2 = config["beta1"], config["beta2"]
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw * dw
    m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
    if power_of_quotient:  # (1 - b1)**t for 1 - b1**t
        m_hat, v_hat = m / (1 - b1) ** t, v / (1 - b2) ** t
    eps = config["epsilon"]
    denom = np.sqrt(v_hat + eps) if eps_inside else np.sqrt(v_hat) + eps
    config.update(t=t, m=m_hat if store_hat else m, v=v_hat if store_hat else v)
    return w - config["learning_rate"] * m_hat / denom, config


MUTANTS["rmsprop"] += [("eps_missing", rms_no_eps)]
MUTANTS["adam"] += [("eps_inside_sqrt", adam_eps_inside), ("corrected_moments_stored", adam_stores_corrected)]


def sgd_fixed_learning_rate(w, dw, config=None):
    return w - 1e-2 * dw, _cfg(config, learning_rate=1e-2)


def _mom_variant(name, classic=lambda v, dw, mu, lr: mu * v - lr * dw, sign=1.0,
                 ema=lambda v, dw, mu: mu * v + (1 - mu) * dw):
    """Both momentum conventions, one of them changed: w += sign·v (classic) or w −= lr·v (ema)."""
    def step(w, dw, config=None):
        config, v = _mom_cfg(w, config)
        mu, lr = config["momentum"], config["learning_rate"]
        if config["convention"] == "classic":
            v = classic(v, dw, mu, lr)
            next_w = w + sign * v
        else:
            v = ema(v, dw, mu)
            next_w = w - lr * v
        config["velocity"] = v
        return next_w, config
    step.__name__ = name
    return step


# classic with v = βv + lr·dw, w −= v, and that v stored: right from zero, wrong from a saved velocity
mom_velocity_sign_flipped = _mom_variant("mom_velocity_sign_flipped", lambda v, dw, mu, lr: mu * v + lr * dw, -1.0)
mom_ema_weights_swapped = _mom_variant("mom_ema_weights_swapped", ema=lambda v, dw, mu: (1 - mu) * v + mu * dw)

MUTANTS["sgd"] += [("learning_rate_hard_coded", sgd_fixed_learning_rate)]
MUTANTS["sgd_momentum"] += [("velocity_sign", mom_velocity_sign_flipped),
                            ("ema_weights_swapped", mom_ema_weights_swapped)]


# Round 2 of the audit (2026-11-26): with updates compared, a step the wrong way is exactly −1× the right one.
def rms_ascent(w, dw, config=None):
    next_w, config = rms_correct(w, dw, config)
    return 2 * w - next_w, config


def adam_ascent(w, dw, config=None):
    next_w, config = adam_correct(w, dw, config)
    return 2 * w - next_w, config


def adam_eps_outside_parentheses(w, dw, config=None):
    config = _cfg(config, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8)
    b1, b2 = config["beta1"], config["beta2"]
    t = config.get("t", 0) + 1
    m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
    v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw * dw
    config.update(t=t, m=m, v=v)
    return w - config["learning_rate"] * (m / (1 - b1 ** t)) / np.sqrt(v / (1 - b2 ** t)) + config["epsilon"], config


MUTANTS["rmsprop"] += [("sign", rms_ascent)]
MUTANTS["adam"] += [("sign", adam_ascent), ("approximate", adam_eps_outside_parentheses)]


def rms_gradient_not_squared(w, dw, config=None):
    config, cache = _rms_cfg(w, config)
    cache = config["decay_rate"] * cache + (1 - config["decay_rate"]) * dw
    config["cache"] = cache
    with np.errstate(invalid="ignore"):
        return w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"]), config


def adam_power_of_quotient(w, dw, config=None):
    return _adam_variant_step(w, dw, config, power_of_quotient=True)


MUTANTS["rmsprop"] += [("gradient_not_squared", rms_gradient_not_squared)]
MUTANTS["adam"] += [("bias_correction_power_misplaced", adam_power_of_quotient)]
