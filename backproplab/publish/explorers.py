"""Publish time: move every explorer of the notebooks through every slider position a learner can reach, while
the graded calls are recorded (:func:`.record.recording`), so that in the build each explorer redraws wherever
its controls are.

An explorer is a notebook cell whose code ends with a call ``widgets.NAME(...)``; it is built again, in the
notebook's namespace, and driven through the real widgets' ``value``. What a learner can reach:
a dropdown's, toggle's or selection slider's options, and an integer slider's ``min..max`` by ``step`` (a value
typed into an integer slider's readout is an integer in that range too). Float sliders whose value feeds a graded
function are selection sliders (a value typed into a float slider's readout is any float: no table holds them).

The positions are the product of every control's values, except where :data:`LOCKSTEP`, :data:`UNDRIVEN` and
:data:`AT_LARGEST` say otherwise; an explorer whose controls, moved one at a time (through :data:`PROBE` values
each), never call a graded function is not driven further (notebook 04's softmax explorer: 161⁴ positions, no
graded call); one that does is driven through the product as soon as it does.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator

from backproplab.publish import runtime

#: Controls (by description prefix) of an explorer moved together, to the same option: each draws its own part
#: of the figure (the race: one learning rate per optimizer, each path depends on its own rate alone).
LOCKSTEP = {"optimizer_race": "lr "}
#: Controls never moved: the race's number of steps (the reference's paths are tabulated at the most steps,
#: :data:`backproplab.widgets.optimizers.RACE_MAX_STEPS`; a shorter race is a prefix).
UNDRIVEN = {"optimizer_race": ("steps",)}
#: Controls moved to their largest value only, the others then driven: every graded call a smaller value makes,
#: the largest makes too (the init explorer: a network of depth d draws its weights as the first d layers of the
#: deepest one, from the same generator; the depth slider went through all 30 values for nothing).
AT_LARGEST = {"init_explorer": ("depth",)}
#: How many values of each control (evenly spaced, both ends included) are tried one control at a time, to tell
#: whether the explorer calls a graded function at all.
PROBE = 25
#: The most positions one explorer may have (a product larger than this needs a coarser grid in its widget).
MAX_POSITIONS = 5000


def explorer_call(source: str) -> tuple[str, str] | None:
    """``(name, expression)`` when the cell's code ends with a call ``widgets.NAME(...)``, else None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return None
    call = tree.body[-1].value
    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name) and call.func.value.id == "widgets"):
        return call.func.attr, ast.get_source_segment(source, call)
    return None


def controls(widget) -> Iterator:
    """The value controls of a widget tree (sliders, dropdowns, toggle buttons), depth first."""
    import ipywidgets as w

    if isinstance(widget, w.Box):
        for child in widget.children:
            yield from controls(child)
    elif isinstance(widget, w.widgets.widget_selection._Selection | w.IntSlider | w.FloatSlider
                    | w.FloatLogSlider):
        yield widget


def reachable(control) -> list:
    """Every value a learner can give ``control`` (a float slider: the positions of its handle; its readout
    also takes any float typed in, which :func:`drive` refuses for an explorer that calls a graded function)."""
    import ipywidgets as w

    if isinstance(control, w.IntSlider):
        return list(range(control.min, control.max + 1, control.step))
    if isinstance(control, w.FloatSlider | w.FloatLogSlider):
        n = round((control.max - control.min) / control.step)
        exponents = [control.min + k * control.step for k in range(n + 1)]
        return [control.base ** e for e in exponents] if isinstance(control, w.FloatLogSlider) else exponents
    return [v[1] if isinstance(v, tuple) else v for v in control.options]


def axes(name: str, box) -> list[list]:
    """The explorer's controls, grouped: the controls of one group move together."""
    fixed = UNDRIVEN.get(name, ()) + AT_LARGEST.get(name, ())
    found = [c for c in controls(box) if not c.description.startswith(fixed or ("\0",))]
    together = [c for c in found if name in LOCKSTEP and c.description.startswith(LOCKSTEP[name])]
    return [[c] for c in found if c not in together] + ([together] if together else [])


def _values(group: list) -> list:
    values = reachable(group[0])
    if any(reachable(c) != values for c in group[1:]):
        raise ValueError(f"controls moved together have different options: {[c.description for c in group]}")
    return values


def _set(group: list, value) -> None:
    """Move the controls of ``group`` to ``value``: all but the last silently (traitlets' stored value: the
    explorer's redraw is not called), then the last, whose change redraws once with the whole group moved."""
    for control in group[:-1]:
        values = reachable(control)
        control._trait_values["value"] = value
        if "index" in control._trait_values:  # a selection: its index and label follow its value
            control._trait_values["index"] = values.index(value)
            control._trait_values["label"] = control._options_labels[values.index(value)]
    group[-1].value = value


def _no_png(self, fname, *args, **kwargs) -> None:
    """A figure not rendered (while an explorer is driven at publish time)."""


def drive(name: str, box) -> dict:
    """Move the explorer ``box`` (made by ``widgets.NAME``) through its reachable positions; returns
    ``{"positions": how many were drawn, "graded_calls": graded calls made}``. Errors of the explorer at a
    position propagate (a publish that cannot tabulate an explorer fails)."""
    import ipywidgets
    import matplotlib.figure

    largest = [c for c in controls(box) if c.description.startswith(AT_LARGEST.get(name, ("\0",)))]
    groups = axes(name, box)
    start = [group[0].value for group in groups]
    calls = [0]
    recorder = runtime._RECORDER

    def counting(key, params):
        calls[0] += 1
        return recorder(key, params)

    runtime._RECORDER = counting
    positions = 0
    savefig = matplotlib.figure.Figure.savefig
    matplotlib.figure.Figure.savefig = _no_png  # the figures are made, not rendered: what they show is tabulated
    try:
        for control in largest:
            control.value = reachable(control)[-1]
            positions += 1
        for k, group in enumerate(groups):  # one at a time, the others where the explorer starts
            values = _values(group)
            for value in values[:: max(1, len(values) // PROBE)] + values[-1:]:
                if calls[0]:
                    break  # a graded call: every position is drawn below
                _set(group, value)
                positions += 1
            _set(group, start[k])
        if calls[0]:
            floats = [c.description for group in groups for c in group
                      if isinstance(c, ipywidgets.FloatSlider | ipywidgets.FloatLogSlider)]
            if floats:
                raise ValueError(f"explorer {name} calls a graded function and has float sliders {floats}: their "
                                 f"readouts take any float, which no table holds; offer a SelectionSlider")
            grid = [_values(group) for group in groups]
            total = 1
            for values in grid:
                total *= len(values)
            if total > MAX_POSITIONS:
                raise ValueError(f"explorer {name} has {total} positions (at most {MAX_POSITIONS}): give its "
                                 f"widget a coarser grid, or move independent controls together (LOCKSTEP)")
            for position in itertools.product(*grid):
                for group, value in zip(groups, position, strict=True):
                    _set(group, value)
                positions += 1
    finally:
        runtime._RECORDER = recorder
        matplotlib.figure.Figure.savefig = savefig
    return {"positions": positions, "graded_calls": calls[0]}
