"""Optimizers: steps checked against arithmetic done by hand, both momentum conventions and their equivalence."""

import numpy as np
import pytest

from backproplab import optimizers as opt
from backproplab.errors import BackpropLabError


def test_sgd_by_hand():
    w, dw = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    next_w, config = opt.sgd(w, dw, {"learning_rate": 0.1})
    # 1 - 0.1 * 0.5 = 0.95;  2 - 0.1 * (-1) = 2.1
    np.testing.assert_allclose(next_w, [0.95, 2.1], rtol=1e-15)
    next_w, config = opt.sgd(w, dw)
    assert config["learning_rate"] == 1e-2
    np.testing.assert_allclose(next_w, [0.995, 2.01], rtol=1e-15)


W0 = np.array([1.0, -2.0])
G1 = np.array([0.5, -1.0])
G2 = np.array([1.0, 0.5])


def test_momentum_classic_by_hand():
    config = {"learning_rate": 0.1, "momentum": 0.9}
    w1, config = opt.sgd_momentum(W0, G1, config)
    # v1 = 0.9 * 0 - 0.1 * [0.5, -1] = [-0.05, 0.1];   w1 = [1, -2] + v1 = [0.95, -1.9]
    np.testing.assert_allclose(config["velocity"], [-0.05, 0.1], rtol=1e-15)
    np.testing.assert_allclose(w1, [0.95, -1.9], rtol=1e-15)
    w2, config = opt.sgd_momentum(w1, G2, config)
    # v2 = 0.9 * [-0.05, 0.1] - 0.1 * [1, 0.5] = [-0.045 - 0.1, 0.09 - 0.05] = [-0.145, 0.04]
    # w2 = [0.95 - 0.145, -1.9 + 0.04] = [0.805, -1.86]
    np.testing.assert_allclose(config["velocity"], [-0.145, 0.04], rtol=1e-14)
    np.testing.assert_allclose(w2, [0.805, -1.86], rtol=1e-14)
    assert config["convention"] == "classic"


def test_momentum_ema_by_hand():
    config = {"learning_rate": 0.1, "momentum": 0.9, "convention": "ema"}
    w1, config = opt.sgd_momentum(W0, G1, config)
    # v1 = 0.9 * 0 + 0.1 * [0.5, -1] = [0.05, -0.1];   w1 = [1, -2] - 0.1 * v1 = [0.995, -1.99]
    np.testing.assert_allclose(config["velocity"], [0.05, -0.1], rtol=1e-15)
    np.testing.assert_allclose(w1, [0.995, -1.99], rtol=1e-15)
    w2, config = opt.sgd_momentum(w1, G2, config)
    # v2 = 0.9 * [0.05, -0.1] + 0.1 * [1, 0.5] = [0.045 + 0.1, -0.09 + 0.05] = [0.145, -0.04]
    # w2 = [0.995 - 0.0145, -1.99 + 0.004] = [0.9805, -1.986]
    np.testing.assert_allclose(config["velocity"], [0.145, -0.04], rtol=1e-14)
    np.testing.assert_allclose(w2, [0.9805, -1.986], rtol=1e-14)


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.99])
def test_momentum_conventions_give_identical_trajectories(beta):
    # f(w) = 1/2 w^T A w + c^T w, gradient A w + c
    rng = np.random.default_rng(0)
    M = rng.normal(size=(4, 4))
    A, c = M @ M.T + np.eye(4), rng.normal(size=4)
    lr_ema = 0.05
    lr_classic = opt.momentum_lr_equivalent(lr_ema, beta, "ema", "classic")
    assert lr_classic == pytest.approx((1 - beta) * lr_ema, rel=1e-15)
    w_e = w_c = rng.normal(size=4)
    cfg_e = {"learning_rate": lr_ema, "momentum": beta, "convention": "ema"}
    cfg_c = {"learning_rate": lr_classic, "momentum": beta, "convention": "classic"}
    for _ in range(60):
        w_e, cfg_e = opt.sgd_momentum(w_e, A @ w_e + c, cfg_e)
        w_c, cfg_c = opt.sgd_momentum(w_c, A @ w_c + c, cfg_c)
        np.testing.assert_allclose(w_c, w_e, rtol=1e-12, atol=1e-14)
        # the classic velocity is -lr_ema times the EMA velocity
        np.testing.assert_allclose(cfg_c["velocity"], -lr_ema * cfg_e["velocity"], rtol=1e-10, atol=1e-15)


def test_momentum_lr_equivalent():
    assert opt.momentum_lr_equivalent(0.1, 0.9, "ema", "classic") == pytest.approx(0.01, rel=1e-15)
    assert opt.momentum_lr_equivalent(0.01, 0.9, "classic", "ema") == pytest.approx(0.1, rel=1e-14)
    assert opt.momentum_lr_equivalent(0.3, 0.9, "ema", "ema") == 0.3
    for args in [(0.1, 0.9, "nesterov", "ema"), (0.1, 1.0, "ema", "classic")]:
        with pytest.raises(BackpropLabError):
            opt.momentum_lr_equivalent(*args)


def test_rmsprop_by_hand():
    w, g = np.array([1.0, 2.0]), np.array([0.1, -0.2])
    next_w, config = opt.rmsprop(w, g, {"learning_rate": 0.01})
    # cache = 0.99 * 0 + 0.01 * [0.01, 0.04] = [1e-4, 4e-4];  sqrt(cache) = [0.01, 0.02]
    # step = 0.01 * [0.1 / (0.01 + 1e-8), -0.2 / (0.02 + 1e-8)]
    np.testing.assert_allclose(config["cache"], [1e-4, 4e-4], rtol=1e-14)
    np.testing.assert_allclose(next_w, [1.0 - 0.01 * 0.1 / 0.01000001, 2.0 + 0.01 * 0.2 / 0.02000001], rtol=1e-14)
    assert (config["decay_rate"], config["epsilon"]) == (0.99, 1e-8)
    next_w, config = opt.rmsprop(next_w, g, config)
    # cache = 0.99 * [1e-4, 4e-4] + 0.01 * [0.01, 0.04] = [1.99e-4, 7.96e-4]
    np.testing.assert_allclose(config["cache"], [1.99e-4, 7.96e-4], rtol=1e-14)


def test_adam_two_steps_by_hand():
    w0, g1, g2 = np.array([1.0, -1.0]), np.array([0.5, -0.2]), np.array([0.1, 0.4])
    config = {"learning_rate": 0.1}
    w1, config = opt.adam(w0, g1, config)
    # t = 1 (advanced before the correction)
    # m1 = 0.1 * g1 = [0.05, -0.02];  v1 = 0.001 * g1**2 = [0.00025, 0.00004]
    # m_hat = m1 / (1 - 0.9) = [0.5, -0.2];  v_hat = v1 / (1 - 0.999) = [0.25, 0.04];  sqrt = [0.5, 0.2]
    # w1 = w0 - 0.1 * m_hat / (sqrt + 1e-8) = [1 - 0.1 * 0.5 / 0.50000001, -1 + 0.1 * 0.2 / 0.20000001]
    assert config["t"] == 1
    np.testing.assert_allclose(config["m"], [0.05, -0.02], rtol=1e-14)
    np.testing.assert_allclose(config["v"], [0.00025, 0.00004], rtol=1e-12)
    np.testing.assert_allclose(w1, [1 - 0.1 * 0.5 / 0.50000001, -1 + 0.1 * 0.2 / 0.20000001], rtol=1e-14)
    w2, config = opt.adam(w1, g2, config)
    # t = 2
    # m2 = 0.9 * [0.05, -0.02] + 0.1 * [0.1, 0.4] = [0.055, 0.022]
    # v2 = 0.999 * [0.00025, 0.00004] + 0.001 * [0.01, 0.16] = [0.00025975, 0.00019996]
    # m_hat = m2 / (1 - 0.81) = m2 / 0.19;  v_hat = v2 / (1 - 0.998001) = v2 / 0.001999
    assert config["t"] == 2
    m2, v2 = np.array([0.055, 0.022]), np.array([0.00025975, 0.00019996])
    np.testing.assert_allclose(config["m"], m2, rtol=1e-14)
    np.testing.assert_allclose(config["v"], v2, rtol=1e-12)
    expected = w1 - 0.1 * (m2 / 0.19) / (np.sqrt(v2 / 0.001999) + 1e-8)
    np.testing.assert_allclose(w2, expected, rtol=1e-12)
    # = [0.9 - 0.1 * 0.2894737 / 0.3604720, -0.9 - 0.1 * 0.1157895 / 0.3162752] to 7 digits
    np.testing.assert_allclose(w2, [0.9 - 0.1 * 0.2894737 / 0.3604720, -0.9 - 0.1 * 0.1157895 / 0.3162752],
                               rtol=1e-6)


def test_adam_defaults_and_first_step_size():
    w, dw = np.array([3.0, -4.0, 0.0]), np.array([1e-3, -50.0, 0.0])
    next_w, config = opt.adam(w, dw)
    assert {k: config[k] for k in ("learning_rate", "beta1", "beta2", "epsilon")} == {
        "learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
    # with the bias correction the first step is lr * sign(g), whatever the gradient's scale
    np.testing.assert_allclose(next_w - w, [-1e-3, 1e-3, 0.0], rtol=1e-5)


@pytest.mark.parametrize("update", [opt.sgd, opt.sgd_momentum, opt.rmsprop, opt.adam])
def test_never_in_place(update):
    w, dw = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[0.1, -0.2], [0.3, 0.0]])
    w0, dw0 = w.copy(), dw.copy()
    config = {"learning_rate": 0.1}
    next_w, new_config = update(w, dw, config)
    next_w2, newer_config = update(next_w, dw, new_config)
    np.testing.assert_array_equal(w, w0)
    np.testing.assert_array_equal(dw, dw0)
    assert config == {"learning_rate": 0.1}  # the caller's config is left alone
    assert next_w is not w and next_w2 is not next_w
    assert next_w.dtype == np.float64 and next_w.shape == (2, 2)
    for value in new_config.values():
        if isinstance(value, np.ndarray):
            assert not any(value is v for v in newer_config.values())


@pytest.mark.parametrize("update", [opt.sgd, opt.sgd_momentum, opt.rmsprop, opt.adam])
def test_bad_inputs(update):
    for args, match in [
        ((np.ones(3), np.ones(2)), "same shape"),
        (("w", np.ones(2)), "got str"),
        ((np.ones(2), None), "got None"),
        ((np.ones(2), np.ones(2), [0.1]), "config must be a dict"),
    ]:
        with pytest.raises(BackpropLabError, match=match) as info:
            update(*args)
        assert "\n" not in str(info.value)


def test_bad_state_and_convention():
    with pytest.raises(BackpropLabError, match="convention"):
        opt.sgd_momentum(np.ones(2), np.ones(2), {"convention": "nesterov"})
    with pytest.raises(BackpropLabError, match='config\\["velocity"\\]'):
        opt.sgd_momentum(np.ones(2), np.ones(2), {"velocity": np.zeros(3)})


def test_promotes_to_float64():
    next_w, config = opt.adam(np.array([1, 2], dtype=np.int64), np.array([1, 1], dtype=np.float32))
    assert next_w.dtype == np.float64 and config["m"].dtype == np.float64
    next_w, _ = opt.sgd([[1, 2]], [[1, 1]], {"learning_rate": 1})
    np.testing.assert_array_equal(next_w, [[0.0, 1.0]])
