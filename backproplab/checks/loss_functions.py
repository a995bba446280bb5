"""Exercises of notebook 05 (loss functions).

Every loss is a mean over the batch and a sum over outputs, prediction first and target second; its gradient
carries the ``1/m`` of the mean (``m = Y_hat.shape[0]``), once. Visible inputs have several outputs per example
(``n_out = 3``), so that dividing by ``Y_hat.size`` (a mean over the outputs too) is told apart from the factor
2 of the MSE. ``softmax_cross_entropy_grad`` and ``bce_with_logits_loss`` run under
:func:`~backproplab.checks.activation_functions.strict_call`: their inputs hold logits far beyond ±709.
"""

from __future__ import annotations

import numpy as np

from backproplab.activations import sigmoid, softmax
from backproplab.checking import Exercise, Mistake, another_shape, visible_shape
from backproplab.checks.activation_functions import (
    SOFTMAX_NAN_MISTAKES,
    quiet,
    softmax_logits,
    strict_call,
    warned,
)
from backproplab.losses import (
    bce_grad,
    bce_with_logits_loss,
    cross_entropy_grad,
    mse_grad,
    softmax_cross_entropy,
)

__all__ = ["EXERCISES", "softmax_cross_entropy_grad_reference"]


def _batch(args) -> int:
    return int(np.shape(args[0])[0])


def _shape(rng, hidden, visible, low_n=1):
    if not hidden:
        return visible_shape(rng, visible) if isinstance(visible[0], tuple) else visible
    return int(rng.integers(1, 8)), int(rng.integers(low_n, 5))


def _mean_over_all(fn, loss: str, arg: str, over: str = "outputs", K: str = "n_out"):
    """The np.mean mistake: divided by ``arg.size = m * K`` instead of ``m``."""

    def wrong(*args):
        m, size = np.shape(args[0])[0], np.size(args[0])
        return np.asarray(fn(*args)) * (m / size)

    return Mistake("mean_over_outputs",
                   f"you divided by {arg}.size = m·{K} (np.mean over every entry). {loss} averages over the batch "
                   f"and sums over the {over}: divide by m = {arg}.shape[0].",
                   wrong)


# ------------------------------------------------------------------------------------------------ MSE
def _mse_inputs(rng, hidden):
    m, n = _shape(rng, hidden, ((5, 3), (3, 4), (6, 5)))
    return rng.standard_normal((m, n)), rng.standard_normal((m, n))


MSE_GRAD = Exercise(
    name="mse_grad",
    exact=True,
    signature="mse_grad(Y_hat, Y) -> dY_hat",
    reference=mse_grad,
    make_inputs=_mse_inputs,
    outputs=("dY_hat",),
    batch_size=_batch,
    mistakes=(
        Mistake("mse_dropped_factor_2",
                "you returned (Ŷ − Y)/m, half the gradient: d/dŷ (ŷ − y)² = 2(ŷ − y), so dŶ = (2/m)(Ŷ − Y). "
                "(Ŷ − Y)/m is the gradient of half the MSE, (1/2m) Σ (ŷ − y)², not of the loss.",
                lambda Y_hat, Y: (Y_hat - Y) / Y_hat.shape[0]),
        Mistake("mse_missing_2_and_1_over_m",
                "you returned Ŷ − Y: both the factor 2 of d/dŷ (ŷ − y)² = 2(ŷ − y) and the 1/m of the mean are "
                "missing. dŶ = (2/m)(Ŷ − Y), with m = Y_hat.shape[0].",
                lambda Y_hat, Y: Y_hat - Y),
        _mean_over_all(mse_grad, "The MSE", "Y_hat"),
    ),
)


# ------------------------------------------------------------------------------------------------ BCE
def _bce_inputs(rng, hidden):
    m, n = _shape(rng, hidden, ((5, 3), (3, 4), (6, 5)))
    P = rng.uniform(0.03, 0.97, size=(m, n))
    Y = (rng.random((m, n)) < 0.5).astype(np.float64)
    Y.flat[0], Y.flat[-1] = 1.0, 0.0
    return P, Y


BCE_GRAD = Exercise(
    name="bce_grad",
    exact=True,
    signature="bce_grad(P, Y) -> dP",
    reference=bce_grad,
    make_inputs=_bce_inputs,
    outputs=("dP",),
    batch_size=_batch,
    mistakes=(
        Mistake("bce_grad_wrt_logits",
                "you returned (P − Y)/m, the gradient with respect to the logits Z (after the sigmoid). This "
                "function takes the probabilities P: dP = (1/m)(−Y/P + (1 − Y)/(1 − P)).",
                lambda P, Y: (P - Y) / P.shape[0]),
        Mistake("bce_grad_missing_second_term",
                "you returned −Y/(mP), only the y·log p term. The (1 − y)·log(1 − p) term contributes "
                "+(1 − Y)/(1 − P): dP = (1/m)(−Y/P + (1 − Y)/(1 − P)).",
                lambda P, Y: -Y / P / P.shape[0]),
        Mistake("bce_grad_second_term_sign",
                "the second term has the wrong sign: d/dp log(1 − p) = −1/(1 − p), so −(1 − y)·log(1 − p) "
                "gives +(1 − Y)/(1 − P): dP = (1/m)(−Y/P + (1 − Y)/(1 − P)).",
                lambda P, Y: (-Y / P - (1.0 - Y) / (1.0 - P)) / P.shape[0]),
        Mistake("bce_grad_returned_loss_terms",
                "you returned the loss terms −(Y·log P + (1 − Y)·log(1 − P))/m, not their derivative: "
                "d/dp of −(y log p + (1 − y) log(1 − p)) is −y/p + (1 − y)/(1 − p), so "
                "dP = (1/m)(−Y/P + (1 − Y)/(1 − P)).",
                lambda P, Y: -(Y * np.log(P) + (1.0 - Y) * np.log(1.0 - P)) / P.shape[0]),
        _mean_over_all(bce_grad, "Binary cross-entropy", "P"),
    ),
)


# ------------------------------------------------------------------------------------------------ BCE from logits
def _bce_logits_inputs(rng, hidden):
    m, n = _shape(rng, hidden, (4, 3))
    Z = rng.normal(0.0, 3.0, size=(m, n))
    Y = (rng.random((m, n)) < 0.5).astype(np.float64)
    if hidden:
        big = rng.random((m, n)) < 0.3
        Z[big] = rng.choice([-1.0, 1.0], size=int(big.sum())) * rng.uniform(40.0, 3000.0, size=int(big.sum()))
        Z.flat[0], Y.flat[0] = rng.uniform(710.0, 3000.0), 0.0    # confidently wrong: loss = z, exp(z) = inf
        if Z.size > 1:
            Z.flat[-1], Y.flat[-1] = -rng.uniform(40.0, 700.0), 1.0  # confidently wrong the other way
    else:
        Z[0], Y[0] = [800.0, -800.0, 0.0], [0.0, 0.0, 1.0]     # loss 800, 0 and log 2
        Z[1, 0], Y[1, 0] = -60.0, 1.0                          # loss 60: clipping caps it at -log(eps)
        Z[2, 1], Y[2, 1] = 45.0, 1.0                           # sigmoid(45) == 1.0 exactly
    return Z, Y


def _clipped_bce(eps):
    def wrong(Z, Y):
        P = np.clip(sigmoid(Z), eps, 1.0 - eps)
        return float(-np.sum(Y * np.log(P) + (1.0 - Y) * np.log(1.0 - P)) / Z.shape[0])

    return wrong


def _naive_bce(Z, Y):
    P = sigmoid(Z)
    return float(-np.sum(Y * np.log(P) + (1.0 - Y) * np.log(1.0 - P)) / Z.shape[0])


_CLIP_MESSAGE = ("you clipped the probabilities to [ε, 1 − ε] (here ε = {eps:g}): that keeps log finite but caps "
                 "every example's loss at −log ε ≈ {cap:.1f}, so a confidently wrong logit (z = 800 with y = 0 "
                 "costs 800) is under-counted and its gradient vanishes. Compute from the logits, without any "
                 "probability: ℓ = log(1 + e^z) − y·z = np.logaddexp(0, Z) − Y * Z.")

BCE_WITH_LOGITS_LOSS = Exercise(
    name="bce_with_logits_loss",
    signature="bce_with_logits_loss(Z, Y) -> float",
    reference=bce_with_logits_loss,
    make_inputs=_bce_logits_inputs,
    edge_cases=(another_shape(_bce_logits_inputs),),  # a shape besides the printed ones
    outputs=("loss",),
    batch_size=_batch,
    call=strict_call(bce_with_logits_loss),
    mistakes=(
        warned(bce_with_logits_loss,
               "numpy warned while computing it (overflow in exp, or log of 0), even though the value comes "
               "out right. Compute ℓ = log(1 + e^z) − y·z with np.logaddexp(0, Z) − Y * Z, which never "
               "overflows."),
        Mistake("bce_logits_unstable",
                "the loss is inf or nan. Through the probabilities, sigmoid(z) rounds to exactly 1.0 for z > 37 "
                "(and to 0.0 far below), so log(1 − p) = log 0 = −inf; and np.log(1 + np.exp(z)) overflows for "
                "z > 709. Never form the probability, and never exponentiate a large positive number: "
                "ℓ = log(1 + e^z) − y·z = np.logaddexp(0, Z) − Y * Z.",
                quiet(_naive_bce)),
        *(Mistake("bce_clipped_probabilities", _CLIP_MESSAGE.format(eps=eps, cap=-np.log(eps)),
                  quiet(_clipped_bce(eps)))
          for eps in (10.0 ** -k for k in range(3, 16))),
        _mean_over_all(bce_with_logits_loss, "Binary cross-entropy", "Z"),
    ),
)


# ------------------------------------------------------------------------------------------------ cross-entropy
def _ce_inputs(rng, hidden):
    m, K = _shape(rng, hidden, (4, 3), low_n=2)
    P = rng.dirichlet(np.full(K, 2.0), size=m)  # rows of probabilities (no softmax: a table in a build)
    Y = np.eye(K)[rng.integers(0, K, size=m)]
    return P, Y


CROSS_ENTROPY_GRAD = Exercise(
    name="cross_entropy_grad",
    exact=True,
    signature="cross_entropy_grad(P, Y) -> dP",
    reference=cross_entropy_grad,
    make_inputs=_ce_inputs,
    edge_cases=(another_shape(_ce_inputs),),  # a shape besides the printed ones
    outputs=("dP",),
    batch_size=_batch,
    mistakes=(
        Mistake("ce_grad_shortcut",
                "you returned (P − Y)/m: that is the gradient with respect to the logits Z, after pushing "
                "through the softmax. With respect to the probabilities P it is −(1/m) Y / P.",
                lambda P, Y: (P - Y) / P.shape[0]),
        Mistake("ce_grad_shortcut_without_1_over_m",
                "you returned P − Y: that is the gradient with respect to the logits Z (after the softmax), and "
                "without its 1/m. This function takes the probabilities P: dP = −Y/(mP).",
                lambda P, Y: P - Y),
        Mistake("ce_grad_returned_loss_terms",
                "you returned −Y·log(P)/m, the loss terms; their derivative is −(1/m) Y / P "
                "(d/dp log p = 1/p).",
                lambda P, Y: -Y * np.log(P) / P.shape[0]),
        Mistake("ce_grad_missing_Y",
                "you returned −1/(mP) for every class: only the target class appears in the loss, so multiply "
                "by Y: −(1/m) Y / P, which is 0 for the other classes.",
                lambda P, Y: -1.0 / P / P.shape[0]),
        _mean_over_all(cross_entropy_grad, "Cross-entropy", "P", "classes", "K"),
    ),
)


# ------------------------------------------------------------------------------------------------ softmax + CE
def softmax_cross_entropy_grad_reference(Z, Y):
    """``dZ = (softmax(Z) - Y) / m`` for logits ``Z`` and one-hot ``Y``, both ``(m, K)``."""
    return softmax_cross_entropy(Z, Y)[1]


def _jacobian_route(Z, Y, clip=0.0):
    P = softmax(Z)
    if clip:
        P = np.clip(P, clip, 1.0 - clip) if clip < 1e-9 else np.clip(P, clip, 1.0)
    dP = -Y / P / Z.shape[0]
    return P * (dP - np.sum(dP * P, axis=1, keepdims=True))


#: Values learners clip probabilities to before dividing by them (np.clip(P, ε, 1 − ε)).
CLIP_VALUES = (1e-7, 1e-8, 1e-9, 1e-10, 1e-12, 1e-15)


def _sce_inputs(rng, hidden):
    Z = softmax_logits(rng, hidden)
    m, K = Z.shape
    return Z, np.eye(K)[rng.integers(0, K, size=m)]


def _sce_clip_edge(rng):
    """Every run: rows whose true class has a probability of about 1e-26, 10^-k near every usual clipping
    value, and 1, so that clipping P shows whatever its ε (down to about 1e-13: below that a clip is as small as
    a correct answer's rounding)."""
    K = int(rng.integers(3, 6))
    rows, classes = [], []
    for logp in (-60.0, -40.0, -30.0, -25.0, -20.0, -16.0, 0.0):
        z = rng.normal(0.0, 1.0, size=K)
        true = int(rng.integers(K))
        others = np.arange(K) != true
        z[true] = 0.0
        if logp == 0.0:
            z[others] -= 60.0  # P = 1 to the last bit for the true class, about 1e-26 elsewhere
        else:
            z[others] = rng.normal(0.0, 0.1, size=K - 1) - np.log(K - 1)  # the others share probability ~1
            z[true] = logp
        rows.append(z)  # logits of moderate size: rounding cannot hide a clip of 1e-12 (it could near ±3000)
        classes.append(true)
    return np.array(rows), np.eye(K)[classes]


SOFTMAX_CROSS_ENTROPY_GRAD = Exercise(
    name="softmax_cross_entropy_grad",
    exact=True,
    signature="softmax_cross_entropy_grad(Z, Y) -> dZ",
    reference=softmax_cross_entropy_grad_reference,
    make_inputs=_sce_inputs,
    edge_cases=(_sce_clip_edge,),
    outputs=("dZ",),
    batch_size=_batch,
    call=strict_call(softmax_cross_entropy_grad_reference),
    mistakes=(
        warned(softmax_cross_entropy_grad_reference,
               "numpy warned while computing it (overflow or 0/0), even though the values come out right. "
               "Subtract each row's maximum before np.exp, so that no exponent is positive."),
        *(Mistake(mk.name, mk.message, quiet(lambda Z, Y, f=mk.wrong: (f(Z) - Y) / Z.shape[0]))
          for mk in SOFTMAX_NAN_MISTAKES),
        Mistake("jacobian_route_divides_by_P",
                "you went through the probabilities, dP = −Y/(mP), then the softmax's Jacobian: in a row whose "
                "logits spread widely, the true class's probability underflows to 0 and −Y/P is infinite. The "
                "1/P and the P cancel on paper, so use the shortcut dZ = (P − Y)/m, which never divides by P.",
                quiet(_jacobian_route)),
        *(Mistake("clipped_probabilities",
                  "you clipped the probabilities (np.clip(P, ε, …)) before dividing by them: every "
                  "probability below the clip, and a true class at probability 1, then gives a slightly wrong "
                  "gradient. The 1/P and the P cancel on paper: use the shortcut dZ = (P − Y)/m, which never "
                  "divides by P and needs no clipping.",
                  quiet(lambda Z, Y, c=c: _jacobian_route(Z, Y, c))) for c in CLIP_VALUES),
        Mistake("ce_grad_forgot_softmax",
                "you returned (Z − Y)/m: the shortcut is (softmax(Z) − Y)/m, with the probabilities P = "
                "softmax(Z), not the logits.",
                lambda Z, Y: (Z - Y) / Z.shape[0]),
        Mistake("softmax_wrong_axis",
                "your softmax normalises each column (axis=0). Each row of Z (m, K) is one example: max and "
                "sum over axis=1 with keepdims=True.",
                lambda Z, Y: (softmax(Z, axis=0) - Y) / Z.shape[0]),
        _mean_over_all(softmax_cross_entropy_grad_reference, "Cross-entropy", "Z", "classes", "K"),
    ),
)

EXERCISES = [MSE_GRAD, BCE_GRAD, BCE_WITH_LOGITS_LOSS, CROSS_ENTROPY_GRAD, SOFTMAX_CROSS_ENTROPY_GRAD]
