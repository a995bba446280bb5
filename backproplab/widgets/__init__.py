"""ipywidgets explorers the notebooks call, one module per topic; every public name is re-exported here.

Each explorer/figure function returns its object (a widget or a matplotlib Figure) and states the shapes it expects.
While nbgrader runs a notebook, explorers are stand-ins that build nothing (:mod:`backproplab.headless`).
"""

from backproplab import headless

if headless.active():
    __all__: list[str] = headless.install_stand_ins(__path__, globals())
else:
    from backproplab._topics import reexport

    __all__ = reexport(__name__, __path__, globals())
