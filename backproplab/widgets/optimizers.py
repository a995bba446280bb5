"""Explorer of notebook 07: race SGD, momentum, RMSprop and Adam on a 2-D loss surface, with a learning-rate
slider per optimizer, a β slider (momentum and Adam's β₁) and the number of steps; the trajectories are drawn on
the contour plot and a table gives each optimizer's final loss."""

from __future__ import annotations

import html

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from backproplab import optimizers as _optimizers
from backproplab.plots.optimizers import OPTIMIZER_COLORS, optimizer_paths_figure
from backproplab.trajectories import SURFACES, _resolve, optimizer_path, reference_path

__all__ = ["RACE_BETAS", "RACE_DEFAULTS", "RACE_LEARNING_RATES", "RACE_MAX_STEPS", "optimizer_race", "race_paths",
           "race_table"]

#: Per surface: learning rate of each optimizer, β and number of steps the race starts with.
RACE_DEFAULTS = {
    "elongated": {"sgd": 0.19, "sgd_momentum": 0.05, "rmsprop": 0.1, "adam": 0.1, "beta": 0.9, "steps": 100},
    "rosenbrock": {"sgd": 0.002, "sgd_momentum": 0.002, "rmsprop": 0.1, "adam": 0.3, "beta": 0.9, "steps": 300},
}
#: The learning rates the race's sliders offer: five per decade from 1e-4 to 1, and the defaults. A finite set (a
#: learner build draws the reference's paths from tables recorded on it: :func:`reference_path`).
RACE_LEARNING_RATES = tuple(sorted({10.0 ** (k / 5) for k in range(-20, 1)}
                                   | {d[k] for d in RACE_DEFAULTS.values() for k in ("sgd", "sgd_momentum", "rmsprop",
                                                                                   "adam")}))
#: The values of the β slider (momentum coefficient and Adam's β₁).
RACE_BETAS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99)
RACE_MAX_STEPS = 500
_LABELS = {"sgd": "SGD", "sgd_momentum": "momentum (classic)", "rmsprop": "RMSprop", "adam": "Adam"}


def _config(name: str, lr: float, beta: float) -> dict:
    if name == "sgd_momentum":
        return {"learning_rate": lr, "momentum": beta, "convention": "classic"}
    if name == "rmsprop":
        return {"learning_rate": lr, "decay_rate": 0.9}
    if name == "adam":
        return {"learning_rate": lr, "beta1": beta, "beta2": 0.999}
    return {"learning_rate": lr}


def race_paths(updates: dict, lrs: dict, beta: float, surface: str = "elongated", steps: int = 100) -> dict:
    """Trajectories of each optimizer on ``surface``: ``updates`` maps a name of ``sgd, sgd_momentum, rmsprop,
    adam`` to an update rule, ``lrs`` the same names to learning rates. Returns label -> path (k, 2)."""
    paths = {}
    for name, update in updates.items():
        config = _config(name, lrs[name], beta)
        if update is getattr(_optimizers, name, None) and int(steps) <= RACE_MAX_STEPS:  # a prefix of the longest
            path = reference_path(name, config, surface, RACE_MAX_STEPS)[: int(steps) + 1]
        else:
            path = optimizer_path(update, config, surface, steps)
        paths[_LABELS.get(name, name)] = path
    return paths


def race_table(paths: dict, surface: str, notes=()) -> str:
    """HTML table: final loss and distance to the minimum of each path, plus notes on reference fallbacks."""
    s = SURFACES[surface]
    rows = []
    for label, path in paths.items():
        w = path[-1]
        finite = bool(np.all(np.isfinite(w)))
        loss = s.f(w) if finite else float("nan")
        dist = float(np.hypot(*(w - np.array(s.minimum)))) if finite else float("nan")
        diverged = not finite or loss > s.f(path[0])
        result = f"diverges ({loss:.3g})" if diverged and finite else ("diverges" if diverged else f"{loss:.3g}")
        rows.append(f"<tr><td style='padding:1px 10px'>{html.escape(label)}</td><td style='padding:1px 10px;"
                    f"text-align:right'>{result}</td><td style='padding:1px 10px;text-align:right'>"
                    f"{'' if diverged else f'{dist:.3g}'}</td><td style='padding:1px 10px;text-align:right'>"
                    f"{len(path) - 1}</td></tr>")
    note = "".join(f"<br><i>{html.escape(n)}</i>" for n in notes)
    return ("<table><tr><th style='text-align:left;padding:1px 10px'>optimizer</th><th>final loss</th>"
            f"<th>distance to minimum</th><th>steps</th></tr>{''.join(rows)}</table>{note}")


def optimizer_race(sgd=None, sgd_momentum=None, rmsprop=None, adam=None, surface: str = "elongated"):
    """Race your update rules (any of them ``None`` or not written yet: the reference runs instead, and the
    table says so) on the elongated bowl or Rosenbrock's valley. Sliders: one learning rate per optimizer (log
    scale), β (momentum coefficient and Adam's β₁) and the number of steps; the surface menu resets the sliders
    to values that work on that surface."""
    given = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}
    updates, notes = {}, []
    for name, fn in given.items():
        updates[name], note = _resolve(fn, name)
        if note:
            notes.append(note)
    d = RACE_DEFAULTS[surface]
    surface_menu = widgets.Dropdown(options=[("elongated bowl", "elongated"), ("Rosenbrock", "rosenbrock")],
                                    value=surface, description="surface")
    lr = {name: widgets.SelectionSlider(options=[(f"{v:.2g}", v) for v in RACE_LEARNING_RATES], value=d[name],
                                        description=f"lr {_LABELS[name].split(' ')[0]}", continuous_update=False,
                                       style={"description_width": "90px"},
                                       layout=widgets.Layout(width="340px"))
          for name in updates}
    for name, slider in lr.items():
        slider.style.handle_color = OPTIMIZER_COLORS[name]
    beta = widgets.SelectionSlider(options=[(f"{v:g}", v) for v in RACE_BETAS], value=d["beta"],
                                   description="β (momentum, β₁)", continuous_update=False,
                                   style={"description_width": "110px"})
    steps = widgets.IntSlider(value=d["steps"], min=10, max=RACE_MAX_STEPS, step=10, description="steps",
                              continuous_update=False)
    table = widgets.HTML()
    out = widgets.Output()
    busy = {"resetting": False}

    def update(change=None):
        if busy["resetting"]:
            return
        paths = race_paths(updates, {k: s.value for k, s in lr.items()}, beta.value, surface_menu.value,
                           steps.value)
        styles = {_LABELS[k]: {"color": OPTIMIZER_COLORS[k]} for k in updates}
        fig = optimizer_paths_figure(paths, surface_menu.value, styles=styles)
        table.value = race_table(paths, surface_menu.value, notes)
        with out:
            out.clear_output(wait=True)
            display(fig)
        plt.close(fig)

    def reset(change):
        busy["resetting"] = True
        defaults = RACE_DEFAULTS[change["new"]]
        for name, slider in lr.items():
            slider.value = defaults[name]
        beta.value, steps.value = defaults["beta"], defaults["steps"]
        busy["resetting"] = False
        update()

    surface_menu.observe(reset, names="value")
    for control in (*lr.values(), beta, steps):
        control.observe(update, names="value")
    update()
    left = widgets.VBox([surface_menu, *lr.values()])
    right = widgets.VBox([beta, steps, table])
    return widgets.VBox([widgets.HBox([left, right]), out])
