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

import functools
import importlib
import sys

_NETWORK = ("backproplab.network.mlp_loss_and_grads", "backproplab.network.mlp_backward",
            "backproplab.network._backprop_from_dz", "backproplab.training.mean_cross_entropy")
_PLANTED = ("backproplab.debugging.loss_and_grads", "backproplab.debugging.backward_with",
            "backproplab.debugging.planted_backward", "backproplab.debugging._compile")
_SOFTMAX = ("backproplab.activations.softmax", "backproplab.training._stable_softmax",
            "backproplab.losses.softmax_cross_entropy")
_JACOBIAN = ("backproplab.activations.softmax_jacobian", "backproplab.activations.softmax_derivative")
_NO_GATE = ("backproplab.widgets.backward_pass._no_gate",)

COPIES: dict[str, tuple[str, ...]] = {
    # notebook 01
    "numerical_derivative": ("backproplab.gradcheck.numerical_gradient", "backproplab.gradcheck.numerical_vjp",
                             "backproplab.training.numerical_gradients"),
    "graph_backward": ("backproplab.checks.chain_rule.graph_gradients",),
    # 02
    "dense_forward": (*_NO_GATE, *_PLANTED),
    "mlp_forward": ("backproplab.layers.dense_forward", *_PLANTED),
    "he_normal": ("backproplab.initializers.lecun_normal", "backproplab.initializers.xavier_normal",
                  "backproplab.plots.forward_pass._std_one", "backproplab.plots.forward_pass._std_small"),
    # 03
    "dense_backward": (*_NO_GATE, *_PLANTED),
    "relu_backward": ("backproplab.activations.relu_derivative", "backproplab.training._relu_backward", *_PLANTED),
    "two_layer_backward": (*_NETWORK, "backproplab.widgets.backward_pass._reference", *_PLANTED),
    # 04
    "sigmoid_derivative": ("backproplab.activations.tanh_derivative", *_JACOBIAN),
    "tanh_derivative": ("backproplab.activations.sigmoid_derivative", *_JACOBIAN),
    "relu_derivative": ("backproplab.training._relu_backward",),
    "stable_sigmoid": _SOFTMAX,
    "stable_softmax": (*_SOFTMAX[:2], *_PLANTED),
    "softmax_backward": _JACOBIAN,
    # 05
    "bce_grad": ("backproplab.losses.bce_with_logits_grad", "backproplab.losses.cross_entropy_grad"),
    "bce_with_logits_loss": ("backproplab.losses.softmax_cross_entropy",),
    "cross_entropy_grad": ("backproplab.losses.bce_grad",),
    "softmax_cross_entropy_grad": ("backproplab.losses.softmax_cross_entropy",
                                   "backproplab.training._softmax_cross_entropy_grad", *_PLANTED),
    # 06
    "mlp_backward": (*_NETWORK, *_PLANTED),
    "dense_backward_col": ("backproplab.layers.dense_backward", *_NO_GATE, *_PLANTED),
    "dropout_forward": ("backproplab.plots.matrix_formulation.inverted_mask",),
    # 07: each optimizer, with special settings, is another (momentum 0 is SGD; Adam with beta1 = 0 and no bias
    # correction is RMSprop)
    "sgd": ("backproplab.optimizers.sgd_momentum", "backproplab.optimizers.rmsprop", "backproplab.optimizers.adam",
            "backproplab.optimizers.adamw"),
    "sgd_momentum": ("backproplab.optimizers.adam", "backproplab.optimizers.adamw"),
    "rmsprop": ("backproplab.optimizers.adam", "backproplab.optimizers.adamw"),
    "adam": ("backproplab.optimizers.sgd_momentum", "backproplab.optimizers.rmsprop"),
    # 08 (not wrong_gradients: its check hands the learner's code the course's numerical_gradients and
    # relative_error; not train_step or train: their checks run the course's network inside the learner's call)
    "numerical_gradients": ("backproplab.gradcheck.numerical_gradient", "backproplab.gradcheck.numerical_vjp"),
    "train_digits": ("backproplab.training.train_digits", "backproplab.training.train",
                     "backproplab.network.mlp_loss_and_grads", "backproplab.widgets.training.fit_history"),
    "fixed_loss_and_grads": (*_NETWORK[:3], "backproplab.training.loss_and_grads",
                             "backproplab.training._COURSE_NETWORK", "backproplab.training.mean_cross_entropy",
                             *_PLANTED[1:]),
}
#: Exercises whose answer a planted backward pass of notebook 08 gives (fed an identity network, or logits
#: large enough to make the softmax one-hot), or, merged from two of them, is: every pass compiled so far
#: (:func:`backproplab.debugging.compiled`) is broken too, and compiling another (``_compile``).
PLANTED_PASSES = ("relu_backward", "stable_softmax", "softmax_cross_entropy_grad", "fixed_loss_and_grads",
                  "dense_forward", "mlp_forward", "dense_backward", "two_layer_backward", "mlp_backward",
                  "dense_backward_col")


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
    """:func:`copies` of ``exercise`` whose modules a grading kernel holds now (what can be poisoned), and the
    planted passes compiled so far where they give its answer."""
    found = [resolve(dotted) for dotted in COPIES.get(exercise, ()) if _loaded(dotted)]
    if exercise in PLANTED_PASSES and "backproplab.debugging" in sys.modules:
        found += sys.modules["backproplab.debugging"].compiled()
    return found


def copies(exercise: str) -> list:
    """The functions of :data:`COPIES` for ``exercise`` (none for most exercises)."""
    return [resolve(dotted) for dotted in COPIES.get(exercise, ())]


@functools.cache
def _index() -> dict[int, frozenset[str]]:
    found: dict[int, set[str]] = {}
    for name in COPIES:
        for fn in copies(name):
            found.setdefault(id(fn), set()).add(name)
    return {key: frozenset(names) for key, names in found.items()}


def exercises_of(obj) -> frozenset[str]:
    """The exercises whose answer ``obj`` gives (it is one of their copies), for the scan."""
    return _index().get(id(obj), frozenset())
