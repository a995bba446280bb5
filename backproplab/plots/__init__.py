"""Matplotlib figures the notebooks call, one module per topic; every public name is re-exported here.

Each explorer/figure function returns its object (a widget or a matplotlib Figure) and states the shapes it expects.
"""

from importlib import import_module
from pkgutil import iter_modules

__all__: list[str] = []

for _info in sorted(iter_modules(__path__), key=lambda i: i.name):
    if _info.name.startswith("_"):
        continue
    _mod = import_module(f"{__name__}.{_info.name}")
    for _name in getattr(_mod, "__all__", ()):
        globals()[_name] = getattr(_mod, _name)
        __all__.append(_name)
