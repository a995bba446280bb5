"""Mutants and correct variants for notebook 04 (activation functions)."""

import math

import numpy as np


# ------------------------------------------------------------------------------------------ sigmoid_derivative
def sigmoid_derivative_of_activation(z):
    s = 1 / (1 + np.exp(-z))
    a = 1 / (1 + np.exp(-s))  # the learner passed A where Z was expected
    return a * (1 - a)


def sigmoid_derivative_formula_on_z(z):
    return z * (1 - z)


def sigmoid_derivative_returns_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_derivative_squared(z):
    s = 1 / (1 + np.exp(-z))
    return s * s


def sigmoid_derivative_sign(z):
    s = 1 / (1 + np.exp(-z))
    return s * (s - 1)


def sigmoid_derivative_ok(z):
    s = 1 / (1 + np.exp(-z))
    return s * (1 - s)


def sigmoid_derivative_ok_exp(z):
    e = np.exp(-z)
    return e / (1 + e) ** 2


def sigmoid_derivative_ok_tanh(z):
    return 0.25 * (1 - np.tanh(z / 2) ** 2)


# ------------------------------------------------------------------------------------------ tanh_derivative
def tanh_derivative_of_activation(z):
    return 1 - np.tanh(np.tanh(z)) ** 2


def tanh_derivative_formula_on_z(z):
    return 1 - z ** 2


def tanh_derivative_no_square(z):
    return 1 - np.tanh(z)


def tanh_derivative_sigmoid_pattern(z):
    t = np.tanh(z)
    return t * (1 - t)


def tanh_derivative_ok(z):
    return 1 - np.tanh(z) ** 2


def tanh_derivative_ok_cosh(z):
    return 1 / np.cosh(z) ** 2


def tanh_derivative_ok_loop(z):
    out = np.empty_like(z)
    for idx in np.ndindex(z.shape):
        out[idx] = 1 - math.tanh(z[idx]) ** 2
    return out


# ------------------------------------------------------------------------------------------ relu_derivative
def relu_derivative_ge(z):
    return (z >= 0).astype(float)


def relu_derivative_heaviside_half(z):
    return np.heaviside(z, 0.5)


def relu_derivative_returns_relu(z):
    return np.maximum(0, z)


def relu_derivative_sign(z):
    return np.sign(z)


def relu_derivative_in_place(z):
    z[z <= 0] = 0.0
    z[z > 0] = 1.0
    return z


def relu_derivative_ok(z):
    return (z > 0).astype(float)


def relu_derivative_ok_where(z):
    return np.where(z > 0, 1, 0)  # ints are fine: the check reads them as float64


def relu_derivative_ok_heaviside(z):
    return np.heaviside(z, 0.0)


# ------------------------------------------------------------------------------------------ stable_sigmoid
def stable_sigmoid_naive(z):
    return 1 / (1 + np.exp(-z))


def stable_sigmoid_where_both_branches(z):
    return np.where(z >= 0, 1 / (1 + np.exp(-z)), np.exp(z) / (1 + np.exp(z)))


def stable_sigmoid_exp_ratio(z):
    e = np.exp(z)
    return e / (1 + e)


def stable_sigmoid_swapped(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, e / (1 + e), 1 / (1 + e))


def stable_sigmoid_in_place(z):
    e = np.exp(-np.abs(z))
    z[...] = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return z


def stable_sigmoid_ok(z):
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def stable_sigmoid_ok_masks(z):
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1 / (1 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1 + ez)
    return out


def stable_sigmoid_ok_tanh(z):
    return 0.5 * (1 + np.tanh(z / 2))


def stable_sigmoid_ok_logaddexp(z):
    return np.exp(-np.logaddexp(0, -z))


# ------------------------------------------------------------------------------------------ stable_softmax
def stable_softmax_naive(Z):
    E = np.exp(Z)
    return E / np.sum(E, axis=1, keepdims=True)


def stable_softmax_global_max(Z):
    E = np.exp(Z - np.max(Z))
    return E / np.sum(E, axis=1, keepdims=True)


def stable_softmax_columns(Z):
    E = np.exp(Z - np.max(Z, axis=0, keepdims=True))
    return E / np.sum(E, axis=0, keepdims=True)


def stable_softmax_not_normalised(Z):
    return np.exp(Z - np.max(Z, axis=1, keepdims=True))


def stable_softmax_no_keepdims(Z):
    E = np.exp(Z - np.max(Z, axis=1))  # (m, K) - (m,): fails to broadcast for m != K
    return E / np.sum(E, axis=1)


def stable_softmax_ok(Z):
    E = np.exp(Z - np.max(Z, axis=1, keepdims=True))
    return E / np.sum(E, axis=1, keepdims=True)


def stable_softmax_ok_loop(Z):
    out = np.empty_like(Z)
    for i, z in enumerate(Z):
        e = np.exp(z - z.max())
        out[i] = e / e.sum()
    return out


def stable_softmax_ok_log_domain(Z):
    shifted = Z - Z.max(axis=-1, keepdims=True)
    return np.exp(shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True)))


# ------------------------------------------------------------------------------------------ softmax_backward
def softmax_backward_elementwise(dA, A):
    return dA * A * (1 - A)


def softmax_backward_sum_all(dA, A):
    return A * (dA - np.sum(dA * A))


def softmax_backward_axis0(dA, A):
    return A * (dA - np.sum(dA * A, axis=0, keepdims=True))


def softmax_backward_unweighted(dA, A):
    return A * (dA - np.sum(dA, axis=1, keepdims=True))


def softmax_backward_no_leading_A(dA, A):
    return dA - np.sum(dA * A, axis=1, keepdims=True)


def softmax_backward_sign(dA, A):
    return A * (np.sum(dA * A, axis=1, keepdims=True) - dA)


def softmax_backward_ok(dA, A):
    return A * (dA - np.sum(dA * A, axis=1, keepdims=True))


def softmax_backward_ok_jacobian_loop(dA, A):
    dZ = np.empty_like(dA)
    for i in range(A.shape[0]):
        s = A[i]
        J = np.diag(s) - np.outer(s, s)
        dZ[i] = J.T @ dA[i]
    return dZ


def softmax_backward_ok_einsum(dA, A):
    J = np.einsum("ij,jk->ijk", A, np.eye(A.shape[1])) - np.einsum("ij,ik->ijk", A, A)
    return np.einsum("ijk,ij->ik", J, dA)


MUTANTS = {
    "sigmoid_derivative": [
        ("derivative_of_activation", sigmoid_derivative_of_activation),
        ("formula_on_z", sigmoid_derivative_formula_on_z),
        ("returned_activation", sigmoid_derivative_returns_sigmoid),
        ("missing_one_minus", sigmoid_derivative_squared),
        ("sign", sigmoid_derivative_sign),
    ],
    "tanh_derivative": [
        ("derivative_of_activation", tanh_derivative_of_activation),
        ("formula_on_z", tanh_derivative_formula_on_z),
        ("missing_square", tanh_derivative_no_square),
        ("sigmoid_formula", tanh_derivative_sigmoid_pattern),
    ],
    "relu_derivative": [
        ("relu_derivative_at_zero", relu_derivative_ge),
        ("relu_derivative_half_at_zero", relu_derivative_heaviside_half),
        ("relu_instead_of_derivative", relu_derivative_returns_relu),
        ("sign_function", relu_derivative_sign),
        ("in_place", relu_derivative_in_place),
    ],
    "stable_sigmoid": [
        ("exp_overflow_warning", stable_sigmoid_naive),
        ("exp_overflow_warning", stable_sigmoid_where_both_branches),
        ("overflow", stable_sigmoid_exp_ratio),
        ("sigmoid_branches_swapped", stable_sigmoid_swapped),
        ("in_place", stable_sigmoid_in_place),
    ],
    "stable_softmax": [
        ("no_max_subtraction", stable_softmax_naive),
        ("global_max", stable_softmax_global_max),
        ("softmax_wrong_axis", stable_softmax_columns),
        ("softmax_not_normalised", stable_softmax_not_normalised),
        ("exception", stable_softmax_no_keepdims),
    ],
    "softmax_backward": [
        ("softmax_elementwise", softmax_backward_elementwise),
        ("softmax_backward_sum_all", softmax_backward_sum_all),
        ("softmax_backward_wrong_axis", softmax_backward_axis0),
        ("softmax_backward_unweighted_sum", softmax_backward_unweighted),
        ("softmax_backward_missing_factor_A", softmax_backward_no_leading_A),
        ("sign", softmax_backward_sign),
    ],
}

CORRECT = {
    "sigmoid_derivative": [sigmoid_derivative_ok, sigmoid_derivative_ok_exp, sigmoid_derivative_ok_tanh],
    "tanh_derivative": [tanh_derivative_ok, tanh_derivative_ok_cosh, tanh_derivative_ok_loop],
    "relu_derivative": [relu_derivative_ok, relu_derivative_ok_where, relu_derivative_ok_heaviside],
    "stable_sigmoid": [stable_sigmoid_ok, stable_sigmoid_ok_masks, stable_sigmoid_ok_tanh,
                       stable_sigmoid_ok_logaddexp],
    "stable_softmax": [stable_softmax_ok, stable_softmax_ok_loop, stable_softmax_ok_log_domain],
    "softmax_backward": [softmax_backward_ok, softmax_backward_ok_jacobian_loop, softmax_backward_ok_einsum],
}


# Slips a learner's-eye audit found passing (2026-11-26): a shift by the row's mean or minimum still overflows.
def stable_softmax_mean_shift(Z):
    E = np.exp(Z - Z.mean(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def stable_softmax_min_shift(Z):
    E = np.exp(Z - Z.min(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


MUTANTS["stable_softmax"] += [("row_mean_or_min_shift", stable_softmax_mean_shift),
                              ("row_mean_or_min_shift", stable_softmax_min_shift)]


def sigmoid_derivative_one_minus_only(z):
    return 1.0 - 1.0 / (1.0 + np.exp(-z))


def tanh_derivative_returns_tanh(z):
    return np.tanh(z)


def softmax_backward_dA_times_A(dA, A):
    return dA * A


MUTANTS["sigmoid_derivative"] += [("missing_factor_s", sigmoid_derivative_one_minus_only)]
MUTANTS["tanh_derivative"] += [("returned_activation", tanh_derivative_returns_tanh)]
MUTANTS["softmax_backward"] += [("softmax_backward_diagonal_term_only", softmax_backward_dA_times_A)]


# Round 2 of the audit (2026-11-26).
def stable_sigmoid_silenced(z):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-z))


def stable_sigmoid_zero_left_out(z):
    e = np.exp(-np.abs(z))
    return np.where(z > 0, 1 / (1 + e), np.where(z < 0, e / (1 + e), 0.0))


def stable_sigmoid_one_branch(z):
    return 1.0 / (1.0 + np.exp(-np.abs(z)))


def stable_softmax_column_max(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


MUTANTS["stable_sigmoid"] += [("warnings_silenced", stable_sigmoid_silenced),
                              ("zero_left_out", stable_sigmoid_zero_left_out),
                              ("one_branch_only", stable_sigmoid_one_branch)]
MUTANTS["stable_softmax"] += [("softmax_max_over_columns", stable_softmax_column_max)]


def stable_sigmoid_ok_mentions_errstate(z):
    """No np.errstate needed: e = exp(-|z|) never overflows."""
    e = np.exp(-np.abs(z))  # unlike code that calls np.seterr
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


CORRECT["stable_sigmoid"] += [stable_sigmoid_ok_mentions_errstate]
