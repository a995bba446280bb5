"""Explorer of notebook 08: train a network on 100 digits with chosen learning rate, batch size, L2 and dropout,
and watch the validation loss turn up while the training loss keeps falling (over-fitting), or both stay high
(under-fitting)."""

from __future__ import annotations

import html

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from backproplab.datasets import load_digits
from backproplab.plots.training import training_curves_figure
from backproplab.training import COURSE_PARTS, TrainingMonitor, init_network, train

__all__ = ["FIT_DEFAULTS", "fit_history", "fit_verdict", "fitting_explorer"]

#: Explorer runs stay cheap (about a second): 100 training images, one hidden layer of 64 units, 60 epochs.
FIT_DEFAULTS = {"learning_rate": 1e-2, "batch_size": 16, "l2": 0.0, "keep_prob": 1.0, "n_train": 100,
                "epochs": 60}


_RUNS: dict = {}  # fit_history's runs: moving a slider back costs nothing


def fit_history(learning_rate: float, batch_size: int, l2: float, keep_prob: float, n_train: int = 100,
                epochs: int = 60, train_fn=None, parts=None) -> dict:
    """Per-epoch loss and accuracy (training: the first ``n_train`` training images; validation: all 360) of a
    64 → 64 → 10 network trained with Adam from seed 0, by ``train_fn`` (the learner's ``train``; the course's
    when None or not written yet) with ``parts`` (the learner's, :func:`backproplab.parts.collect_parts`; the
    course's when None). Runs are cached (64 of them)."""
    key = (learning_rate, batch_size, l2, keep_prob, n_train, epochs, id(train_fn), id(parts))
    if key in _RUNS:
        return _RUNS[key]
    parts = COURSE_PARTS if parts is None else parts
    data = load_digits()
    small = data._replace(X_train=data.X_train[:n_train], y_train=data.y_train[:n_train])

    def run(loop):
        rng = np.random.default_rng(0)
        params = init_network((64, 64, 10), rng, parts)
        monitor = TrainingMonitor(small, epochs, draw=False, parts=parts)
        loop(params, small.X_train, small.Y_train, epochs, batch_size, parts.adam, {"learning_rate": learning_rate},
             l2, keep_prob, rng, monitor)
        return monitor.history

    try:
        history = run(train if train_fn is None else train_fn)
    except NotImplementedError:  # the learner's train is not written yet
        history = run(train)
    if len(_RUNS) >= 64:
        _RUNS.pop(next(iter(_RUNS)))
    _RUNS[key] = history
    return history


def fit_verdict(h: dict) -> str:
    """One sentence on a run: under-fitting (training accuracy below 90%), over-fitting (validation loss more than
    10% above its minimum at the end) or a good fit."""
    val = np.asarray(h["val_loss"])
    best = int(np.argmin(val))
    rise = val[-1] / val[best] - 1.0
    head = (f"training accuracy {100 * h['train_acc'][-1]:.1f}%, validation {100 * h['val_acc'][-1]:.1f}%; "
            f"validation loss {val[-1]:.3f}, lowest {val[best]:.3f} at epoch {h['epoch'][best]}")
    if h["train_acc"][-1] < 0.9:
        return f"{head}: under-fitting, even the training images are often wrong."
    if rise > 0.10:
        return (f"{head}: over-fitting, the validation loss has risen {100 * rise:.0f}% since its minimum while the "
                f"training loss fell to {h['train_loss'][-1]:.4f}.")
    return f"{head}: no over-fitting, the validation loss stays near its minimum."


def fitting_explorer(train_fn=None, parts=None):
    """Sliders: learning rate (log scale), batch size, L2 strength λ and dropout's keep probability; each change
    trains the network again with ``train_fn`` and ``parts`` (the learner's; see :func:`fit_history`; about a
    second; runs are cached) and redraws its curves."""
    d = FIT_DEFAULTS
    style = {"description_width": "110px"}
    lr = widgets.FloatLogSlider(value=d["learning_rate"], base=10, min=-4, max=-0.5, step=0.25,
                                description="learning rate", readout_format=".4f", continuous_update=False,
                                style=style)
    batch = widgets.SelectionSlider(options=[4, 8, 16, 32, 64, 100], value=d["batch_size"],
                                    description="batch size", continuous_update=False, style=style)
    l2 = widgets.SelectionSlider(options=[0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1], value=d["l2"],
                                 description="L2 λ", continuous_update=False, style=style)
    keep = widgets.FloatSlider(value=d["keep_prob"], min=0.3, max=1.0, step=0.1, description="keep_prob",
                               continuous_update=False, style=style)
    text = widgets.HTML()
    out = widgets.Output()

    def update(change=None):
        try:
            h = fit_history(float(lr.value), int(batch.value), float(l2.value), round(float(keep.value), 2),
                            d["n_train"], d["epochs"], train_fn, parts)
        except Exception as exc:  # a part or the training loop of the learner's raised: say so in one line
            text.value = html.escape(f"{type(exc).__name__}: {exc}")
            out.clear_output()
            return
        fig = training_curves_figure(h, epochs=d["epochs"], title=f"{d['n_train']} training images")
        text.value = fit_verdict(h)
        with out:
            out.clear_output(wait=True)
            display(fig)
        plt.close(fig)

    for control in (lr, batch, l2, keep):
        control.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox([widgets.VBox([lr, batch]), widgets.VBox([l2, keep])]), text, out])
