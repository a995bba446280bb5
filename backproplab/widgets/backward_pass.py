"""Explorer of notebook 03: a gradient check of a two-layer backward pass (yours, the reference or a buggy one)
against centred differences, with a slider for the step h."""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np
from IPython.display import display

from backproplab.gradcheck import relative_error as _reference_relative_error
from backproplab.gradcheck import verdict
from backproplab.network import mlp_loss_and_grads
from backproplab.plots.backward_pass import (
    GRAD_KEYS,
    gradcheck_h_figure,
    gradcheck_problem,
    gradcheck_rel_errors,
    verdict_colour,
)

__all__ = ["BUGGY_BACKWARDS", "gradient_check_explorer", "gradient_check_table"]


def _reference(X, Y, params):
    return mlp_loss_and_grads(params, X, Y)[1]


def _scaled(factor):
    def backward(X, Y, params):
        m = X.shape[0]
        return {k: g * (factor(m) if callable(factor) else factor) for k, g in _reference(X, Y, params).items()}
    return backward


def _no_gate(X, Y, params):
    m = X.shape[0]
    A1 = np.maximum(X @ params["W1"] + params["b1"], 0.0)
    dZ2 = 2.0 * (A1 @ params["W2"] + params["b2"] - Y) / m
    dZ1 = dZ2 @ params["W2"].T  # the ReLU gate is missing
    return {"dW1": X.T @ dZ1, "db1": dZ1.sum(0, keepdims=True), "dW2": A1.T @ dZ2, "db2": dZ2.sum(0, keepdims=True)}


#: Backward passes with one classic bug each (label -> ``fn(X, Y, params) -> grads``).
BUGGY_BACKWARDS = {
    "bug: 1/m applied twice": _scaled(lambda m: 1.0 / m),
    "bug: MSE factor 2 dropped": _scaled(0.5),
    "bug: ReLU gate missing": _no_gate,
}


def _safe(fn, *args):
    """``(value, None)`` or ``(None, message)`` when ``fn`` raises (``NotImplementedError``: not written yet)."""
    try:
        return fn(*args), None
    except NotImplementedError:
        return None, f"`{getattr(fn, '__name__', 'function')}` is not written yet"
    except Exception as exc:  # the learner's code: report, never crash the explorer
        return None, f"`{getattr(fn, '__name__', 'function')}` raised {type(exc).__name__}: {exc}"


def gradient_check_table(backward, h: float = 1e-5, rel_error=None) -> tuple[str, dict | None]:
    """HTML table of the gradient check of ``backward(X, Y, params) -> grads`` on the explorer's problem, with
    ``rel_error`` (default: the reference) per parameter; returns ``(html, errors or None)``."""
    notes = []
    X, Y, params = gradcheck_problem()
    grads, problem = _safe(backward, X, Y, {k: v.copy() for k, v in params.items()})
    if problem:
        hint = (" Choose the reference or a buggy version above, or come back after the exercise."
                if problem.endswith("not written yet") else "")
        return f"<span style='color:#d62728'>{html.escape(problem)}.{hint}</span>", None
    missing = [k for k in GRAD_KEYS if not isinstance(grads, dict) or k not in grads]
    if missing:
        return (f"<span style='color:#d62728'>the grads dict has no {', '.join(missing)} "
                f"(expected keys dW1, db1, dW2, db2).</span>", None)
    shapes = [k for k in GRAD_KEYS if np.shape(grads[k]) != params[k[1:]].shape]
    if shapes:
        k = shapes[0]
        return (f"<span style='color:#d62728'>{k} has shape {np.shape(grads[k])}, but {k[1:]} has shape "
                f"{params[k[1:]].shape}: a gradient has the shape of its parameter.</span>", None)
    fn = _reference_relative_error
    if rel_error is not None:
        value, problem = _safe(rel_error, np.ones(2), np.ones(2))
        if problem is None and np.ndim(value) == 0:
            fn = rel_error
        else:
            notes.append(f"{problem or '`relative_error` does not return a number'}: using the reference "
                         f"relative error.")
    errors = gradcheck_rel_errors(grads, h, rel_error=fn)
    rows = "".join(
        f"<tr><td style='padding:2px 12px'><code>{k}</code></td><td style='padding:2px 12px'>{shape}</td>"
        f"<td style='padding:2px 12px;text-align:right'>{e:.2e}</td>"
        f"<td style='padding:2px 12px;color:{verdict_colour(e)}'><b>{verdict(e)}</b></td></tr>"
        for k, e, shape in ((k, errors[k], params[k[1:]].shape) for k in GRAD_KEYS))
    head = ("<tr><th style='padding:2px 12px'>gradient</th><th style='padding:2px 12px'>shape</th>"
            "<th style='padding:2px 12px'>relative error</th><th style='padding:2px 12px'>verdict</th></tr>")
    note = "".join(f"<br><i>{html.escape(n)}</i>" for n in notes)
    return f"<b>h = {h:.0e}</b><table>{head}{rows}</table>{note}", errors


def gradient_check_explorer(backward=None, rel_error=None):
    """Gradient-check a two-layer backward pass (3-5-2 network, ReLU, MSE, m = 6) against centred differences.

    ``backward``: your ``two_layer_backward(X, Y, params) -> grads`` (optional; the dropdown also offers the
    reference and three buggy versions); ``rel_error``: your ``relative_error(a, b)`` (optional). A slider sets
    the step h; the table gives the relative error and verdict per parameter, the plot the error against h.
    """
    options = {}
    if backward is not None:
        options["your two_layer_backward"] = backward
    options["reference"] = _reference
    options.update(BUGGY_BACKWARDS)
    choice = widgets.Dropdown(options=list(options), value=list(options)[0], description="backward",
                              layout=widgets.Layout(width="360px"))
    h_slider = widgets.SelectionSlider(options=[(f"1e{k}", 10.0 ** k) for k in range(-12, 0)], value=1e-5,
                                       description="step h", continuous_update=False)
    table = widgets.HTML()
    out = widgets.Output()

    def update(change=None):
        fn = options[choice.value]
        table.value, errors = gradient_check_table(fn, h_slider.value, rel_error)
        with out:
            out.clear_output(wait=True)
            if errors is not None:
                display(gradcheck_h_figure({choice.value: fn}, h_marker=h_slider.value))

    for w in (choice, h_slider):
        w.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([choice, h_slider]), table, out])
