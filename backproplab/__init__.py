"""Backprop Lab: reference implementations, gradient checking, learner checks, plots and widgets.

``import backproplab`` loads numpy only; the submodules load on first access, so that
``backproplab.plots`` (matplotlib) and ``backproplab.widgets`` (ipywidgets) cost nothing until used.
"""

from importlib import import_module

from .lazyimports import defer_iri_syntax

defer_iri_syntax()  # 1 s of every process that imports nbformat, for a format no notebook uses

__version__ = "0.1.0"

_SUBMODULES = {
    "activations", "check", "checking", "checks", "errors", "gradcheck", "initializers", "layers", "trusted",
    "losses", "network", "optimizers", "plots", "regularization", "widgets",
}

__all__ = sorted(_SUBMODULES) + ["__version__"]


def __getattr__(name):
    if name in _SUBMODULES:
        module = import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'backproplab' has no attribute {name!r}")


def __dir__():
    return __all__
