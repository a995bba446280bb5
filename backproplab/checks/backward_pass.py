"""Exercises of notebook 03 (backward pass)."""


from backproplab.checking import Exercise, Mistake
from backproplab.layers import dense_backward


def _dense_backward_inputs(rng, hidden):
    if hidden:
        m, n_in, n_out = (int(k) for k in rng.integers(1, 8, size=3))
    else:
        m, n_in, n_out = 4, 3, 2
    X = rng.standard_normal((m, n_in))
    W = rng.standard_normal((n_in, n_out))
    b = rng.standard_normal((1, n_out))
    dZ = rng.standard_normal((m, n_out)) / m
    return dZ, (X, W, b)


def _dx_without_transpose(dZ, cache):
    X, W, _ = cache
    dX, dW, db = dense_backward(dZ, cache)
    return dZ @ W if W.shape[0] == W.shape[1] else None, dW, db


DENSE_BACKWARD = Exercise(
    name="dense_backward",
    signature="dense_backward(dZ, cache) -> (dX, dW, db)",
    reference=dense_backward,
    make_inputs=_dense_backward_inputs,
    outputs=("dX", "dW", "db"),
    batch_size=lambda args: args[0].shape[0],
    mistakes=(
        Mistake("seed002_double_1_over_m",
                "dW and db divide by m again, but dZ already carries the 1/m of the mean loss (seed 002 puts "
                "1/m both in ∂L/∂Ŷ and in ∂L/∂W). The 1/m appears exactly once on the backward path.",
                lambda dZ, cache: (dZ @ cache[1].T, cache[0].T @ dZ / len(dZ), dZ.sum(0, keepdims=True) / len(dZ))),
        Mistake("dx_missing_transpose",
                "dX = dZ·W is missing a transpose: dX = dZ·Wᵀ, shape (m, n_out)·(n_out, n_in) = (m, n_in).",
                _dx_without_transpose),
    ),
)

EXERCISES = [DENSE_BACKWARD]
