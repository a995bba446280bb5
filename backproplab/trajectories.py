"""Optimizer trajectories on 2-D loss surfaces, without matplotlib (the figures are in :mod:`backproplab.plots`).

Update rules have the CS231n signature ``update(w, dw, config) -> (next_w, config)``; ``w`` has shape (2,).
:func:`optimizer_or_reference` falls back to the reference while a learner's rule is not written yet, so that
notebook 07's figures and its race can be drawn from the first run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backproplab import optimizers as _reference

__all__ = ["SURFACES", "Surface", "optimizer_or_reference", "optimizer_path", "reference_path"]

_STATE_KEYS = ("velocity", "cache", "m", "v", "t")


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface: ``f(w) -> float`` and ``grad(w) -> (2,)`` for ``w`` of shape (2,)."""

    title: str
    f: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    start: tuple[float, float]
    minimum: tuple[float, float]
    extent: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max
    levels: np.ndarray


def _bowl_f(w):
    return 0.05 * w[0] ** 2 + 5.0 * w[1] ** 2


def _bowl_grad(w):
    return np.array([0.1 * w[0], 10.0 * w[1]])


def _rosen_f(w):
    return (1.0 - w[0]) ** 2 + 100.0 * (w[1] - w[0] ** 2) ** 2


def _rosen_grad(w):
    return np.array([-2.0 * (1.0 - w[0]) - 400.0 * w[0] * (w[1] - w[0] ** 2), 200.0 * (w[1] - w[0] ** 2)])


#: The surfaces of the race: an elongated bowl (curvatures 0.1 and 10) and Rosenbrock's banana-shaped valley.
SURFACES = {
    "elongated": Surface("elongated bowl  f = w₁²/20 + 5 w₂²  (curvatures 0.1 and 10)", _bowl_f, _bowl_grad,
                         (-4.5, 1.2), (0.0, 0.0), (-5.0, 1.5, -1.6, 1.6),
                         np.array([0.02, 0.1, 0.3, 0.6, 1, 2, 4, 7, 11])),
    "rosenbrock": Surface("Rosenbrock  f = (1 − w₁)² + 100 (w₂ − w₁²)²", _rosen_f, _rosen_grad, (-1.5, 2.0),
                          (1.0, 1.0), (-2.0, 2.0, -1.0, 3.0), np.array([0.3, 1, 3, 10, 30, 100, 300, 1000, 2500])),
}


def _surface(surface) -> Surface:
    if isinstance(surface, Surface):
        return surface
    try:
        return SURFACES[surface]
    except KeyError:
        raise ValueError(f"unknown surface {surface!r}; choose one of {', '.join(SURFACES)}") from None


def _resolve(fn, name: str | None = None):
    """``(callable, note)``: ``fn`` when it runs, else the reference of the same name and a note saying why."""
    name = name or getattr(fn, "__name__", None)
    reference = getattr(_reference, str(name), None) if name in ("sgd", "sgd_momentum", "rmsprop", "adam") else None
    if fn is None or not callable(fn):
        if reference is None:
            raise ValueError(f"no optimizer given and no reference named {name!r}")
        return reference, f"{name}: no function given, using the reference"
    if reference is None:
        return fn, None
    w, dw = np.linspace(-1.0, 1.0, 3), np.array([0.5, -0.25, 1.0])
    hyper = {k: v for k, v in reference(w, dw, None)[1].items() if k not in _STATE_KEYS}
    try:
        with np.errstate(all="ignore"):
            result = fn(w.copy(), dw.copy(), dict(hyper))
            ok = isinstance(result, (tuple, list)) and len(result) == 2 and isinstance(result[1], dict)
            result = fn(np.asarray(result[0], dtype=np.float64), dw.copy(), result[1]) if ok else None
            ok = ok and isinstance(result, (tuple, list)) and len(result) == 2
    except NotImplementedError:
        return reference, f"your {name} is not written yet: using the reference implementation"
    except Exception as exc:  # a learner's bug must not break the figure
        return reference, f"your {name} raised {type(exc).__name__}: using the reference implementation"
    if not ok:
        return reference, f"your {name} does not return (next_w, config): using the reference implementation"
    return fn, None


def optimizer_or_reference(fn, name: str | None = None, verbose: bool = True):
    """Your update rule ``fn`` if it runs (two calls on a small input, whatever its values), else the
    reference of the same name from :mod:`backproplab.optimizers`; prints which one is used when ``verbose``."""
    chosen, note = _resolve(fn, name)
    if verbose:
        print(note or f"using your {getattr(fn, '__name__', 'function')}")
    return chosen


def optimizer_path(update, config: dict, surface="elongated", steps: int = 100, start=None) -> np.ndarray:
    """Run ``update`` for ``steps`` steps on a 2-D surface from ``start`` (default: the surface's start).

    Returns the trajectory, shape ``(k + 1, 2)`` with ``k <= steps``: it stops early if the weights leave the
    plotted region by far (divergence) or stop being finite.
    """
    s = _surface(surface)
    w = np.array(s.start if start is None else start, dtype=np.float64)
    config = dict(config)
    path = [w.copy()]
    x0, x1, y0, y1 = s.extent
    limit = 10.0 * max(x1 - x0, y1 - y0)
    with np.errstate(all="ignore"):
        for _ in range(int(steps)):
            w, config = update(w, s.grad(w), config)
            w = np.asarray(w, dtype=np.float64)
            path.append(w.copy())
            if not np.all(np.isfinite(w)) or np.max(np.abs(w)) > limit:
                break
    return np.array(path)


def reference_path(name: str, config: dict, surface="elongated", steps: int = 100) -> np.ndarray:
    """:func:`optimizer_path` of the reference update rule ``name`` (``sgd``, ``sgd_momentum``, ``rmsprop``,
    ``adam``). In a learner build this is a table of whole paths recorded when the build was published (on the
    race's grid of learning rates and β, at its largest number of steps: a shorter race is a prefix), not of
    every step: the reference's code is not in the build."""
    return optimizer_path(getattr(_reference, name), config, surface, steps)
