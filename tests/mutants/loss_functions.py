"""Mutants and correct variants for notebook 05 (loss functions)."""

import numpy as np


# ------------------------------------------------------------------------------------------ mse_grad
def mse_grad_dropped_2(Y_hat, Y):
    return (Y_hat - Y) / Y_hat.shape[0]  # "simplified to save computation"


def mse_grad_no_mean(Y_hat, Y):
    return 2 * (Y_hat - Y)


def mse_grad_sign(Y_hat, Y):
    return 2 * (Y - Y_hat) / len(Y_hat)


def mse_grad_np_mean(Y_hat, Y):
    return 2 * (Y_hat - Y) / Y_hat.size


def mse_grad_double_m(Y_hat, Y):
    m = Y_hat.shape[0]
    return 2 * (Y_hat - Y) / m / m


def mse_grad_ok(Y_hat, Y):
    return 2 * (Y_hat - Y) / Y_hat.shape[0]


def mse_grad_ok_sign_inside(Y_hat, Y):
    return -2.0 / len(Y_hat) * (Y - Y_hat)


def mse_grad_ok_loop(Y_hat, Y):
    m = Y_hat.shape[0]
    out = np.zeros_like(Y_hat)
    for i in range(m):
        for k in range(Y_hat.shape[1]):
            out[i, k] = 2 * (Y_hat[i, k] - Y[i, k]) / m
    return out


# ------------------------------------------------------------------------------------------ bce_grad
def bce_grad_logits(P, Y):
    return (P - Y) / P.shape[0]


def bce_grad_first_term_only(P, Y):
    return -Y / P / P.shape[0]


def bce_grad_second_sign(P, Y):
    return (-Y / P - (1 - Y) / (1 - P)) / P.shape[0]


def bce_grad_no_mean(P, Y):
    return -Y / P + (1 - Y) / (1 - P)


def bce_grad_sign(P, Y):
    return (Y / P - (1 - Y) / (1 - P)) / P.shape[0]


def bce_grad_np_mean(P, Y):
    return (-Y / P + (1 - Y) / (1 - P)) / P.size


def bce_grad_ok(P, Y):
    return (-Y / P + (1 - Y) / (1 - P)) / P.shape[0]


def bce_grad_ok_factored(P, Y):
    return (P - Y) / (P * (1 - P)) / len(P)


def bce_grad_ok_clipped(P, Y):
    eps = 1e-15
    P = np.clip(P, eps, 1 - eps)
    return (-(Y / P) + (1 - Y) / (1 - P)) * (1.0 / P.shape[0])


# ------------------------------------------------------------------------------------------ bce_with_logits_loss
def bce_logits_through_sigmoid(Z, Y):
    P = 1 / (1 + np.exp(-Z))
    return -np.sum(Y * np.log(P) + (1 - Y) * np.log(1 - P)) / Z.shape[0]


def bce_logits_naive_softplus(Z, Y):
    return np.sum(np.log(1 + np.exp(Z)) - Y * Z) / Z.shape[0]


def bce_logits_clipped(Z, Y):
    e = np.exp(-np.abs(Z))
    P = np.where(Z >= 0, 1 / (1 + e), e / (1 + e))
    P = np.clip(P, 1e-7, 1 - 1e-7)
    return -np.sum(Y * np.log(P) + (1 - Y) * np.log(1 - P)) / Z.shape[0]


def bce_logits_sum(Z, Y):
    return np.sum(np.logaddexp(0, Z) - Y * Z)


def bce_logits_np_mean(Z, Y):
    return np.mean(np.logaddexp(0, Z) - Y * Z)


def bce_logits_sign(Z, Y):
    return np.sum(Y * Z - np.logaddexp(0, Z)) / Z.shape[0]


def bce_logits_ok(Z, Y):
    return np.sum(np.logaddexp(0, Z) - Y * Z) / Z.shape[0]


def bce_logits_ok_tf_form(Z, Y):
    # max(z, 0) - z*y + log(1 + exp(-|z|)), as tf.nn.sigmoid_cross_entropy_with_logits
    per_entry = np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))
    return float(np.mean(np.sum(per_entry, axis=1)))


def bce_logits_ok_other_form(Z, Y):
    # log(1 + e^-z) + (1 - y) z, written stably
    softplus_neg = np.logaddexp(0, -Z)
    return np.sum(softplus_neg + (1 - Y) * Z) / len(Z)


# ------------------------------------------------------------------------------------------ cross_entropy_grad
def ce_grad_shortcut(P, Y):
    return (P - Y) / P.shape[0]


def ce_grad_loss_terms(P, Y):
    return -Y * np.log(P) / P.shape[0]


def ce_grad_no_Y(P, Y):
    return -1 / P / P.shape[0]


def ce_grad_no_mean(P, Y):
    return -Y / P


def ce_grad_sign(P, Y):
    return Y / P / P.shape[0]


def ce_grad_np_mean(P, Y):
    return -Y / P / P.size


def ce_grad_ok(P, Y):
    return -Y / P / P.shape[0]


def ce_grad_ok_where(P, Y):
    out = np.zeros_like(P)
    np.divide(-Y, P, out=out, where=Y != 0)
    return out / len(P)


def ce_grad_ok_loop(P, Y):
    m, K = P.shape
    out = np.zeros((m, K))
    for i in range(m):
        k = int(np.argmax(Y[i]))
        out[i, k] = -1.0 / (m * P[i, k])
    return out


# ------------------------------------------------------------------------------------------ softmax_cross_entropy_grad
def _softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def sce_grad_no_max(Z, Y):
    E = np.exp(Z)
    P = E / E.sum(axis=1, keepdims=True)
    return (P - Y) / Z.shape[0]


def sce_grad_global_max(Z, Y):
    E = np.exp(Z - Z.max())
    P = E / E.sum(axis=1, keepdims=True)
    return (P - Y) / Z.shape[0]


def sce_grad_no_mean(Z, Y):
    return _softmax(Z) - Y


def sce_grad_sign(Z, Y):
    return (Y - _softmax(Z)) / Z.shape[0]


def sce_grad_no_softmax(Z, Y):
    return (Z - Y) / Z.shape[0]


def sce_grad_columns(Z, Y):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return (E / E.sum(axis=0, keepdims=True) - Y) / len(Z)


def sce_grad_np_mean(Z, Y):
    return (_softmax(Z) - Y) / Z.size


def sce_grad_ok(Z, Y):
    return (_softmax(Z) - Y) / Z.shape[0]


def sce_grad_jacobian_route(Z, Y):
    m = Z.shape[0]
    P = _softmax(Z)
    dP = -Y / P / m
    return np.stack([(np.diag(p) - np.outer(p, p)).T @ d for p, d in zip(P, dP, strict=True)])


def sce_grad_ok_log_softmax(Z, Y):
    shifted = Z - np.max(Z, axis=1, keepdims=True)
    log_p = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    return (np.exp(log_p) - Y) / len(Z)


MUTANTS = {
    "mse_grad": [
        ("mse_dropped_factor_2", mse_grad_dropped_2),
        ("missing_1_over_m", mse_grad_no_mean),
        ("sign", mse_grad_sign),
        ("mean_over_outputs", mse_grad_np_mean),
        ("double_1_over_m", mse_grad_double_m),
    ],
    "bce_grad": [
        ("bce_grad_wrt_logits", bce_grad_logits),
        ("bce_grad_missing_second_term", bce_grad_first_term_only),
        ("bce_grad_second_term_sign", bce_grad_second_sign),
        ("missing_1_over_m", bce_grad_no_mean),
        ("sign", bce_grad_sign),
        ("mean_over_outputs", bce_grad_np_mean),
    ],
    "bce_with_logits_loss": [
        ("bce_logits_unstable", bce_logits_through_sigmoid),
        ("bce_logits_unstable", bce_logits_naive_softplus),
        ("bce_clipped_probabilities", bce_logits_clipped),
        ("missing_1_over_m", bce_logits_sum),
        ("mean_over_outputs", bce_logits_np_mean),
        ("sign", bce_logits_sign),
    ],
    "cross_entropy_grad": [
        ("ce_grad_shortcut", ce_grad_shortcut),
        ("ce_grad_returned_loss_terms", ce_grad_loss_terms),
        ("ce_grad_missing_Y", ce_grad_no_Y),
        ("missing_1_over_m", ce_grad_no_mean),
        ("sign", ce_grad_sign),
        ("mean_over_outputs", ce_grad_np_mean),
    ],
    "softmax_cross_entropy_grad": [
        ("no_max_subtraction", sce_grad_no_max),
        ("global_max", sce_grad_global_max),
        ("missing_1_over_m", sce_grad_no_mean),
        ("sign", sce_grad_sign),
        ("ce_grad_forgot_softmax", sce_grad_no_softmax),
        ("softmax_wrong_axis", sce_grad_columns),
        ("mean_over_outputs", sce_grad_np_mean),
        ("jacobian_route_divides_by_P", sce_grad_jacobian_route),
    ],
}

CORRECT = {
    "mse_grad": [mse_grad_ok, mse_grad_ok_sign_inside, mse_grad_ok_loop],
    "bce_grad": [bce_grad_ok, bce_grad_ok_factored, bce_grad_ok_clipped],
    "bce_with_logits_loss": [bce_logits_ok, bce_logits_ok_tf_form, bce_logits_ok_other_form],
    "cross_entropy_grad": [ce_grad_ok, ce_grad_ok_where, ce_grad_ok_loop],
    "softmax_cross_entropy_grad": [sce_grad_ok, sce_grad_ok_log_softmax],
}


# Slips a learner's-eye audit found named generically (2026-11-26).
def mse_grad_plain_difference(Y_hat, Y):
    return Y_hat - Y


def bce_logits_clipped_1e_5(Z, Y):
    P = np.clip(1.0 / (1.0 + np.exp(-np.clip(Z, -500, 500))), 1e-5, 1 - 1e-5)
    return float(-np.sum(Y * np.log(P) + (1 - Y) * np.log(1 - P)) / Z.shape[0])


def sce_grad_mean_shift(Z, Y):
    E = np.exp(Z - Z.mean(axis=1, keepdims=True))
    return (E / E.sum(axis=1, keepdims=True) - Y) / Z.shape[0]


MUTANTS["mse_grad"] += [("mse_missing_2_and_1_over_m", mse_grad_plain_difference)]
MUTANTS["bce_with_logits_loss"] += [("bce_clipped_probabilities", bce_logits_clipped_1e_5)]
MUTANTS["softmax_cross_entropy_grad"] += [("row_mean_or_min_shift", sce_grad_mean_shift)]


def ce_grad_logits_shortcut_without_mean(P, Y):
    return P - Y


MUTANTS["cross_entropy_grad"] += [("ce_grad_shortcut_without_1_over_m", ce_grad_logits_shortcut_without_mean)]


# Round 2 of the audit (2026-11-26).
def bce_grad_loss_terms(P, Y):
    return -(Y * np.log(P) + (1 - Y) * np.log(1 - P)) / P.shape[0]


MUTANTS["bce_grad"] += [("bce_grad_returned_loss_terms", bce_grad_loss_terms)]
