"""Matplotlib figures the notebooks call, one module per topic; every public name is re-exported here.

Each explorer/figure function returns its object (a widget or a matplotlib Figure) and states the shapes it expects.
While nbgrader runs a notebook, figures are stand-ins that draw nothing (:mod:`backproplab.headless`); the
trajectory helpers stay real.
"""

from backproplab import headless

if headless.active():
    from backproplab.trajectories import SURFACES, optimizer_or_reference, optimizer_path  # noqa: F401

    __all__: list[str] = headless.install_stand_ins(__path__, globals())
else:
    from backproplab._topics import reexport

    __all__ = reexport(__name__, __path__, globals())
