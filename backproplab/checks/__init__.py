"""Exercise definitions, one module per notebook topic; each module lists its exercises in ``EXERCISES``.

``REGISTRY`` maps an exercise name (the learner's function name) to its :class:`~backproplab.checking.Exercise`.
"""

from importlib import import_module
from pkgutil import iter_modules

from backproplab.checking import Exercise

REGISTRY: dict[str, Exercise] = {}

for _info in sorted(iter_modules(__path__), key=lambda i: i.name):
    if _info.name.startswith("_"):
        continue
    for _ex in import_module(f"{__name__}.{_info.name}").EXERCISES:
        if _ex.name in REGISTRY:
            raise RuntimeError(f"two exercises are named {_ex.name!r}")
        REGISTRY[_ex.name] = _ex
