"""Exercises of notebook 01 (the chain rule): scalar derivatives and a computational graph by hand.

The three exercises work on scalars and element-wise functions, so the package has no reference module for them
beyond :func:`backproplab.gradcheck.numerical_gradient`; the references below are the one-line definitions.

- ``chain_rule_derivative(f_prime, g, g_prime, x)``: ``f'(g(x)) * g'(x)``, element-wise.
- ``numerical_derivative(f, x, h)``: the centred difference ``(f(x + h) - f(x - h)) / (2h)`` of a scalar function.
- ``graph_backward(x, y)``: ``(df/dx, df/dy)`` for the graph ``a = x*y; b = a + x; c = sin(b); f = c*y`` of
  notebook 01, where ``x`` and ``y`` each feed two nodes, so their gradients are sums over two paths.
"""

from __future__ import annotations

import itertools

import numpy as np

from backproplab.checking import Exercise, Mistake, of_ranks
from backproplab.gradcheck import numerical_gradient

__all__ = ["CHAIN_RULE_DERIVATIVE", "COMPOSITIONS", "EXERCISES", "GRAPH_BACKWARD",
           "NUMERICAL_DERIVATIVE", "graph_forward", "graph_gradients"]


# ------------------------------------------------------------------------------------ chain_rule_derivative
def _tanh_prime(u):
    return 1.0 - np.tanh(u) ** 2


def _three(x):
    return np.full_like(np.asarray(x, dtype=np.float64), 3.0)


#: ``(label, f_prime, g, g_prime)`` of the compositions ``f(g(x))`` the checks draw from.
COMPOSITIONS = (
    ("sin(x²)", np.cos, np.square, lambda x: 2.0 * x),
    ("exp(sin x)", np.exp, np.sin, np.cos),
    ("tanh(x³)", _tanh_prime, lambda x: x ** 3, lambda x: 3.0 * x ** 2),
    ("log(1 + (3x − 1)²)", lambda u: 2.0 * u / (1.0 + u ** 2), lambda x: 3.0 * x - 1.0, _three),
    ("cos(x)²", lambda u: 2.0 * u, np.cos, lambda x: -np.sin(x)),
)


def _chain_rule_reference(f_prime, g, g_prime, x):
    return f_prime(g(x)) * g_prime(x)


def _chain_rule_inputs(rng, hidden):
    if hidden:
        _, f_prime, g, g_prime = COMPOSITIONS[int(rng.integers(len(COMPOSITIONS)))]
        size = int(rng.integers(1, 9))
        x = rng.uniform(-2.0, 2.0, size=size)
    else:
        # the three visible cases cycle through the first compositions (sin(x²) first)
        k = int(rng.integers(3))
        _, f_prime, g, g_prime = COMPOSITIONS[k]
        x = rng.uniform(-1.5, 1.5, size=5)
    return f_prime, g, g_prime, x


CHAIN_RULE_DERIVATIVE = Exercise(
    name="chain_rule_derivative",
    exact=True,
    signature="chain_rule_derivative(f_prime, g, g_prime, x) -> df/dx",
    reference=_chain_rule_reference,
    make_inputs=_chain_rule_inputs,
    edge_cases=of_ranks(_chain_rule_inputs, 2, 3),  # "element-wise": any shape, not only vectors
    outputs=("df/dx",),
    mistakes=(
        Mistake("outer_at_x",
                "the outer derivative is evaluated at x. The chain rule evaluates f′ at the inner value "
                "u = g(x): return f_prime(g(x)) * g_prime(x).",
                lambda f_prime, g, g_prime, x: f_prime(x) * g_prime(x)),
        Mistake("inner_factor_missing",
                "the inner derivative is missing: multiply f_prime(g(x)) by g_prime(x).",
                lambda f_prime, g, g_prime, x: f_prime(g(x))),
        Mistake("outer_factor_missing",
                "only the inner derivative g′(x) is returned: multiply it by the outer derivative f′(g(x)).",
                lambda f_prime, g, g_prime, x: g_prime(x)),
        Mistake("derivatives_composed",
                "the derivatives are composed, f′(g′(x)). The chain rule multiplies them: f′(g(x)) · g′(x).",
                lambda f_prime, g, g_prime, x: f_prime(g_prime(x))),
        Mistake("sum_not_product",
                "the two factors are added. The chain rule multiplies them: f′(g(x)) · g′(x).",
                lambda f_prime, g, g_prime, x: f_prime(g(x)) + g_prime(x)),
    ),
)


# ------------------------------------------------------------------------------------- numerical_derivative
#: ``(label, f)``: smooth functions whose second and third derivatives do not vanish on the drawn x.
_SMOOTH = (
    ("sin", np.sin, (0.5, 1.3)),
    ("exp", np.exp, (-1.0, 1.0)),
    ("cube", lambda x: x ** 3, (0.5, 1.5)),
    ("tanh", np.tanh, (0.4, 1.2)),
    ("x·exp(−x)", lambda x: x * np.exp(-x), (-1.0, 0.5)),
)
_VISIBLE_H = (0.1, 0.01, 0.05)


def _numerical_derivative_reference(f, x, h=1e-5):
    return numerical_gradient(f, x, h)


def _numerical_derivative_inputs(rng, hidden):
    k = int(rng.integers(len(_SMOOTH)))
    _, f, (lo, hi) = _SMOOTH[k]
    x = float(rng.uniform(lo, hi))
    h = float(10.0 ** rng.uniform(-2.0, -0.7)) if hidden else _VISIBLE_H[k % 3]
    return f, x, h


NUMERICAL_DERIVATIVE = Exercise(
    name="numerical_derivative",
    signature="numerical_derivative(f, x, h=1e-5) -> float",
    reference=_numerical_derivative_reference,
    make_inputs=_numerical_derivative_inputs,
    outputs=("derivative",),
    mistakes=(
        Mistake("forward_difference",
                "this is the forward difference (f(x + h) − f(x)) / h, whose error shrinks only like h. Use the "
                "centred difference (f(x + h) − f(x − h)) / (2h): its error shrinks like h².",
                lambda f, x, h=1e-5: (f(x + h) - f(x)) / h),
        Mistake("backward_difference",
                "this is the backward difference (f(x) − f(x − h)) / h, whose error shrinks only like h. Use the "
                "centred difference (f(x + h) − f(x − h)) / (2h).",
                lambda f, x, h=1e-5: (f(x) - f(x - h)) / h),
        Mistake("divided_by_h",
                "the difference is divided by h. The two points x − h and x + h are 2h apart: divide by 2 * h.",
                lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / h),
        Mistake("operator_precedence",
                "`/ 2*h` divides by 2 and then multiplies by h (Python reads a / 2*h as (a / 2) * h). Write "
                "(f(x + h) - f(x - h)) / (2 * h).",
                lambda f, x, h=1e-5: (f(x + h) - f(x - h)) / 2 * h),
        Mistake("operator_precedence",
                "only f(x − h) is divided: write the difference in parentheses, (f(x + h) - f(x - h)) / (2 * h).",
                lambda f, x, h=1e-5: f(x + h) - f(x - h) / (2 * h)),
        Mistake("ignores_h",
                "the step h passed in is ignored (a fixed step is used instead). Use the argument h.",
                lambda f, x, h=1e-5: (f(x + 1e-5) - f(x - 1e-5)) / 2e-5),
    ),
)


# ------------------------------------------------------------------------------------------- graph_backward
def graph_forward(x, y):
    """Forward values of notebook 01's graph: ``{"a": x*y, "b": a + x, "c": sin(b), "f": c*y}``."""
    a = x * y
    b = a + x
    c = np.sin(b)
    return {"a": a, "b": b, "c": c, "f": c * y}


def graph_gradients(x, y):
    """Every gradient of notebook 01's graph, with the two paths of ``x`` and of ``y`` kept apart.

    Returns a dict: ``df_dc, df_db, df_da`` and ``dx_via_a, dx_via_b, dy_via_a, dy_via_f, dx, dy``.
    """
    v = graph_forward(x, y)
    df_dc = y
    df_db = df_dc * np.cos(v["b"])
    df_da = df_db  # b = a + x: local derivative 1
    g = {"df_dc": df_dc, "df_db": df_db, "df_da": df_da,
         "dx_via_a": df_da * y, "dx_via_b": df_db, "dy_via_a": df_da * x, "dy_via_f": v["c"]}
    g["dx"] = g["dx_via_a"] + g["dx_via_b"]
    g["dy"] = g["dy_via_a"] + g["dy_via_f"]
    return g


def _graph_reference(x, y):
    """``(dx, dy)`` computed in extended precision and rounded once: at y ≈ −1 the float64 graph cancels
    (``b = x·y + x``, ``dx = y·y·cos b + y·cos b``), and the reference must not blame an exact answer."""
    g = graph_gradients(np.longdouble(x), np.longdouble(y))
    return float(g["dx"]), float(g["dy"])


def _graph_inputs(rng, hidden):
    lo, hi = (-2.0, 2.0) if hidden else (-1.5, 1.5)
    x, y = (float(v) for v in rng.uniform(lo, hi, size=2))
    return x, y


def _overwritten(x_path, y_path):
    def wrong(x, y):
        g = graph_gradients(x, y)
        return g[x_path] if x_path else g["dx"], g[y_path] if y_path else g["dy"]
    return wrong


_OVERWRITTEN = tuple(
    Mistake("overwritten_not_accumulated",
            "a gradient is overwritten instead of accumulated. x feeds two nodes (a = x·y and b = a + x) and y "
            "feeds two nodes (a = x·y and f = c·y): each use sends back its own contribution, and the gradient "
            "of the variable is their sum. Add them (`dx += ...`), do not replace one by the other (`dx = ...`).",
            _overwritten(xp, yp))
    for xp, yp in itertools.product((None, "dx_via_a", "dx_via_b"), (None, "dy_via_a", "dy_via_f"))
    if (xp, yp) != (None, None)
)


def _missing_upstream(x, y):
    v = graph_forward(x, y)
    local = np.cos(v["b"])  # df/db without the upstream factor df/dc = y
    return local * y + local, v["c"] + local * x


def _sin_sign(x, y):
    v = graph_forward(x, y)
    df_db = -y * np.cos(v["b"])
    return df_db * y + df_db, v["c"] + df_db * x


def _finite_differences(x, y):
    return (float(numerical_gradient(lambda t: graph_forward(t, y)["f"], x)),
            float(numerical_gradient(lambda t: graph_forward(x, t)["f"], y)))


GRAPH_BACKWARD = Exercise(
    name="graph_backward",
    exact=True,
    signature="graph_backward(x, y) -> (dx, dy)",
    reference=_graph_reference,
    make_inputs=_graph_inputs,
    outputs=("dx", "dy"),
    mistakes=_OVERWRITTEN + (
        Mistake("finite_differences",
                "these are finite-difference estimates (right to about 1e-10), not the exact gradients of a "
                "backward pass. Compute them node by node with the chain rule: the check accepts only rounding "
                "differences.",
                _finite_differences),
        Mistake("missing_upstream",
                "a local derivative is used without the gradient that arrives from above. Each step multiplies: "
                "∂f/∂b = ∂f/∂c · ∂c/∂b = y · cos(b), then ∂f/∂a = ∂f/∂b · 1.",
                _missing_upstream),
        Mistake("sin_derivative_sign",
                "the derivative of sin(b) is cos(b) (it is the derivative of cos that carries a minus sign).",
                _sin_sign),
    ),
)

EXERCISES = [CHAIN_RULE_DERIVATIVE, NUMERICAL_DERIVATIVE, GRAPH_BACKWARD]
