"""Grading runs draw nothing: figures and explorers become stand-ins, and matplotlib and ipywidgets stay unloaded.

nbgrader sets ``NBGRADER_EXECUTION`` (``autograde`` or ``validate``) in the kernels it runs. A grading run only
needs the learner's functions and the graded cells, so :mod:`backproplab.plots` and :mod:`backproplab.widgets`
then bind every public name of their topic modules to a stand-in that returns :class:`Skipped` — read from the
modules' ``__all__`` without importing them — which saves about 0.4 s of imports and up to 0.5 s of explorer
set-up per notebook. Helpers that compute rather than draw (:mod:`backproplab.trajectories`) stay real.
``BACKPROPLAB_DRAW=1`` draws anyway (for feedback pages with figures).
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

__all__ = ["Skipped", "active", "install_stand_ins"]


def active() -> bool:
    """True in a kernel run by nbgrader (autograde or validate) unless ``BACKPROPLAB_DRAW=1``."""
    return bool(os.environ.get("NBGRADER_EXECUTION")) and os.environ.get("BACKPROPLAB_DRAW") != "1"


class Skipped:
    """What a figure or explorer returns during grading; it displays as one line naming what was not drawn."""

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"[{self.name}: not drawn during grading]"


def _stand_in(name: str):
    def stand_in(*args, **kwargs) -> Skipped:
        return Skipped(name)

    stand_in.__name__ = stand_in.__qualname__ = name
    stand_in.__doc__ = f"Stand-in for {name} while nbgrader runs the notebook: draws nothing."
    return stand_in


_ALL = re.compile(r"^__all__\s*(?::[^=\n]*)?=\s*(\[[^\]]*\])", re.MULTILINE)


def _declared_names(source: Path) -> list[str]:
    """The strings of a module's literal ``__all__`` list, read from its source without importing it (a regular
    expression and ``ast.literal_eval``: parsing the whole module would cost 1-2 ms a module)."""
    found = _ALL.search(source.read_text(encoding="utf-8"))
    return list(ast.literal_eval(found.group(1))) if found else []


def install_stand_ins(path, namespace: dict) -> list[str]:
    """Bind each public name of the topic modules in the package folders ``path`` to a stand-in, except names
    already in ``namespace`` (real helpers imported by the package); return all those names."""
    names = []
    for folder in path:
        for source in sorted(Path(folder).glob("[!_]*.py")):
            for name in _declared_names(source):
                namespace.setdefault(name, _stand_in(name))
                names.append(name)
    return names
