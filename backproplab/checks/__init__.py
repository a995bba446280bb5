"""Exercise definitions, one module per notebook topic; each module lists its exercises in ``EXERCISES``.

``REGISTRY`` maps an exercise name (the learner's function name) to its :class:`~backproplab.checking.Exercise`.
"""

from backproplab._topics import topic_modules
from backproplab.checking import Exercise

REGISTRY: dict[str, Exercise] = {}

for _module in topic_modules(__name__, __path__):
    for _ex in _module.EXERCISES:
        if _ex.name in REGISTRY:
            raise RuntimeError(f"two exercises are named {_ex.name!r}")
        REGISTRY[_ex.name] = _ex
