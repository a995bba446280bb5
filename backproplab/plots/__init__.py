"""Matplotlib figures the notebooks call, one module per topic; every public name is re-exported here.

Each explorer/figure function returns its object (a widget or a matplotlib Figure) and states the shapes it expects.
"""

from backproplab._topics import reexport

__all__: list[str] = reexport(__name__, __path__, globals())
