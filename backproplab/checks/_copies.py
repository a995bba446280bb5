"""Package functions that give an exercise's answer without being its reference, for the grader.

An answer that calls one of them computes nothing of its own, as one that calls the reference does: in grading
they are broken while a check runs the learner's function (:mod:`backproplab.sandbox.poison`) and an answer
cell that reaches them is flagged (:mod:`backproplab.sandbox.scan`), each for its exercise only (notebook 05's
answers may call ``softmax``; notebook 04's ``stable_softmax`` may not).

Three kinds, all kept here (``tests/sandbox/test_copies.py`` fails on one found and not listed):
- the package function a check's reference returns (``stable_softmax``'s reference is ``softmax(Z, axis=-1)``);
- a function that returns the reference's result on every case, under another name (found by calling every
  function of the package on every exercise's cases: ``tests/publish/same_answers.py``);
- a function one loop or one constant factor away: a parameter dictionary's gradients are a centred difference
  per array, He's initialization is LeCun's times √2.
"""

from __future__ import annotations

import importlib
import sys

COPIES: dict[str, tuple[str, ...]] = {
    "stable_softmax": ("backproplab.activations.softmax", "backproplab.training._stable_softmax"),
    "relu_backward": ("backproplab.activations.relu_derivative", "backproplab.training._relu_backward"),
    "two_layer_backward": ("backproplab.network.mlp_loss_and_grads", "backproplab.widgets.backward_pass._reference"),
    "numerical_derivative": ("backproplab.gradcheck.numerical_gradient", "backproplab.gradcheck.numerical_vjp"),
    "he_normal": ("backproplab.initializers.lecun_normal", "backproplab.initializers.xavier_normal"),
    "softmax_cross_entropy_grad": ("backproplab.losses.softmax_cross_entropy",
                                   "backproplab.training._softmax_cross_entropy_grad"),
    "mlp_backward": ("backproplab.network.mlp_loss_and_grads",),
    "dense_backward_col": ("backproplab.layers.dense_backward",),
    "numerical_gradients": ("backproplab.gradcheck.numerical_gradient", "backproplab.gradcheck.numerical_vjp"),
    "train_digits": ("backproplab.training.train_digits",),
    "fixed_loss_and_grads": ("backproplab.network.mlp_loss_and_grads", "backproplab.training.loss_and_grads",
                             "backproplab.training._COURSE_NETWORK"),
}


def resolve(dotted: str):
    """The object named ``module.attribute``."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


#: Modules of the figures and explorers: a headless grading kernel does not import them (nor matplotlib).
FIGURES = ("backproplab.plots", "backproplab.widgets")


def _loaded(dotted: str) -> bool:
    module = dotted.rpartition(".")[0]
    return not module.startswith(FIGURES) or module in sys.modules


def every_copy() -> list:
    """All of them but those of figure modules not imported yet (a grading kernel imports the others before
    any learner code runs; an answer that imports a figure module is flagged by the scan)."""
    return [resolve(dotted) for names in COPIES.values() for dotted in names if _loaded(dotted)]


def loaded_copies(exercise: str) -> list:
    """:func:`copies` of ``exercise`` whose modules a grading kernel holds now (what can be poisoned)."""
    return [resolve(dotted) for dotted in COPIES.get(exercise, ()) if _loaded(dotted)]


def copies(exercise: str) -> list:
    """The functions of :data:`COPIES` for ``exercise`` (none for most exercises)."""
    return [resolve(dotted) for dotted in COPIES.get(exercise, ())]
