"""Mutants of notebook 01 (chain rule): chain_rule_derivative, numerical_derivative, graph_backward."""

import numpy as np


# ---------------------------------------------------------------------------------- chain_rule_derivative
def outer_at_x(f_prime, g, g_prime, x):
    return f_prime(x) * g_prime(x)


def inner_factor_missing(f_prime, g, g_prime, x):
    return f_prime(g(x))


def composed(f_prime, g, g_prime, x):
    return f_prime(g_prime(x))


def added(f_prime, g, g_prime, x):
    return f_prime(g(x)) + g_prime(x)


def chain_negated(f_prime, g, g_prime, x):
    return -f_prime(g(x)) * g_prime(x)


def chain_product(f_prime, g, g_prime, x):
    return f_prime(g(x)) * g_prime(x)


def chain_in_steps(f_prime, g, g_prime, x):
    u = g(x)               # inner value
    outer = f_prime(u)     # df/du at u = g(x)
    inner = g_prime(x)     # du/dx
    return np.multiply(inner, outer)


# ----------------------------------------------------------------------------------- numerical_derivative
def forward_difference(f, x, h=1e-5):
    return (f(x + h) - f(x)) / h


def backward_difference(f, x, h=1e-5):
    return (f(x) - f(x - h)) / h


def divided_by_h(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / h


def precedence(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / 2 * h


def fixed_step(f, x, h=1e-5):
    eps = 1e-5
    return (f(x + eps) - f(x - eps)) / (2 * eps)


def swapped(f, x, h=1e-5):
    return (f(x - h) - f(x + h)) / (2 * h)


def centred(f, x, h=1e-5):
    return (f(x + h) - f(x - h)) / (2 * h)


def centred_as_mean_of_one_sided(f, x, h=1e-5):
    fwd = (f(x + h) - f(x)) / h
    bwd = (f(x) - f(x - h)) / h
    return 0.5 * (fwd + bwd)


# ----------------------------------------------------------------------------------------- graph_backward
def _forward(x, y):
    a = x * y
    b = a + x
    c = np.sin(b)
    return a, b, c


def overwrite_x(x, y):
    a, b, c = _forward(x, y)
    df_db = y * np.cos(b)
    dx = df_db * y      # through a
    dx = df_db          # through b: overwrites the first path
    dy = c + df_db * x
    return dx, dy


def overwrite_both(x, y):
    a, b, c = _forward(x, y)
    df_db = y * np.cos(b)
    dy = c
    dx = df_db
    dy = df_db * x
    return dx, dy


def overwrite_y(x, y):
    a, b, c = _forward(x, y)
    df_db = y * np.cos(b)
    dx = df_db * y + df_db
    dy = c              # f = c·y path only
    return dx, dy


def no_upstream(x, y):
    a, b, c = _forward(x, y)
    df_db = np.cos(b)   # forgot df/dc = y
    return df_db * y + df_db, c + df_db * x


def minus_cos(x, y):
    a, b, c = _forward(x, y)
    df_db = -y * np.cos(b)
    return df_db * y + df_db, c + df_db * x


def finite_differences(x, y):
    h = 1e-6

    def f(x_, y_):
        return y_ * np.sin(x_ * y_ + x_)

    return (f(x + h, y) - f(x - h, y)) / (2 * h), (f(x, y + h) - f(x, y - h)) / (2 * h)


def by_hand(x, y):
    a, b, c = _forward(x, y)
    df_dc = y
    df_db = df_dc * np.cos(b)
    df_da = df_db
    dx = df_da * y + df_db
    dy = df_da * x + c
    return dx, dy


def accumulated_in_dict(x, y):
    grads = {"x": 0.0, "y": 0.0}
    a, b, c = _forward(x, y)
    g_b = np.cos(b) * y
    grads["y"] += c             # from f = c * y
    grads["x"] += g_b           # from b = a + x
    grads["x"] += g_b * y       # from a = x * y
    grads["y"] += g_b * x       # from a = x * y
    return grads["x"], grads["y"]


MUTANTS = {
    "chain_rule_derivative": [
        ("outer_at_x", outer_at_x),
        ("inner_factor_missing", inner_factor_missing),
        ("derivatives_composed", composed),
        ("sum_not_product", added),
        ("sign", chain_negated),
    ],
    "numerical_derivative": [
        ("forward_difference", forward_difference),
        ("backward_difference", backward_difference),
        ("divided_by_h", divided_by_h),
        ("operator_precedence", precedence),
        ("ignores_h", fixed_step),
        ("sign", swapped),
    ],
    "graph_backward": [
        ("overwritten_not_accumulated", overwrite_x),
        ("overwritten_not_accumulated", overwrite_y),
        ("overwritten_not_accumulated", overwrite_both),
        ("missing_upstream", no_upstream),
        ("sin_derivative_sign", minus_cos),
        ("finite_differences", finite_differences),
    ],
}

CORRECT = {
    "chain_rule_derivative": [chain_product, chain_in_steps],
    "numerical_derivative": [centred, centred_as_mean_of_one_sided],
    "graph_backward": [by_hand, accumulated_in_dict],
}


# Slips a learner's-eye audit found named wrongly or generically (2026-11-26).
def swapped_outputs(x, y):
    a, b, c = _forward(x, y)
    df_db = y * np.cos(b)
    return c + df_db * x, df_db * y + df_db


def as_one_array(x, y):
    a, b, c = _forward(x, y)
    df_db = y * np.cos(b)
    return np.array([df_db * y + df_db, c + df_db * x])


def as_array_of_one(f, x, h=1e-5):
    return np.array([(f(x + h) - f(x - h)) / (2 * h)])


MUTANTS["graph_backward"] += [("output_order", swapped_outputs)]
MUTANTS["numerical_derivative"] += [("shape", as_array_of_one)]
CORRECT["graph_backward"] += [as_one_array]


def as_dict(x, y):
    a, b, c = _forward(x, y)
    df_db = y * np.cos(b)
    return {"dx": df_db * y + df_db, "dy": c + df_db * x}


MUTANTS["graph_backward"] += [("structure", as_dict)]
