"""Run inside a notebook's kernel (its source is sent as a cell, after the source of ``controls`` and
``reachable`` from :mod:`backproplab.publish.explorers`: the learner build has no ``backproplab.publish``):
build each explorer again and move every control through reachable values (its ends and random ones in
between), then whole random positions; report what each move did."""

import hashlib
import json
import random

import ipywidgets as _w

controls_of = globals()["controls"]  # from backproplab.publish.explorers (see above)
reachable = globals()["reachable"]
_BROKEN = ("NotPublished", "not part of this course build", "Traceback", "MissingPart")


def _display(widget):
    """What the explorer shows that Python can read: its HTML texts and images."""
    parts = []
    stack = [widget]
    while stack:
        node = stack.pop()
        if isinstance(node, _w.Box):
            stack.extend(node.children)
        elif isinstance(node, _w.HTML):
            parts.append(node.value)
        elif isinstance(node, _w.Image):
            parts.append(hashlib.sha256(bytes(node.value)).hexdigest())
    return parts


def _move(box, control, value):
    before = _display(box)
    try:
        control.value = value
        error = None
    except Exception as exc:  # an explorer's observer raising: what the learner would see in the log
        error = f"{type(exc).__name__}: {exc}"
    after = _display(box)
    broken = [p for p in after if any(b in p for b in _BROKEN)]
    return {"control": control.description, "value": repr(value), "error": error or (broken[0][:300] if broken
                                                                                      else None),
            "changed": after != before}


#: Explorers that call no table (notebook 08's fitting explorer trains the learner's own parts, about a second a
#: move): each control's ends and one random whole position are enough to see them redraw.
LEARNER_CODE = {"fitting_explorer": (2, 1)}


def explorer_moves(explorers, namespace, seed=0, per_control=4, positions=3):
    """``explorers``: ``[(label, expression), ...]``; returns ``{label: [move, ...]}`` (see :func:`_move`)."""
    rng = random.Random(seed)
    out = {}
    default = (per_control, positions)
    for label, expression in explorers:
        per_control, positions = LEARNER_CODE.get(label.rsplit(":", 1)[-1], default)
        box = eval(expression, namespace)
        controls = list(controls_of(box))
        moves = []
        for control in controls:
            values = reachable(control)
            picks = [values[-1], values[0]] + rng.sample(values, min(per_control - 2, len(values)))
            for value in picks:
                if value != control.value:
                    moves.append(_move(box, control, value))
        for _ in range(positions):
            for control in controls:
                value = rng.choice(reachable(control))
                if value != control.value:
                    moves.append(_move(box, control, value))
        out[label] = moves
    return out


def report(explorers, namespace):
    print("EXPLORER-MOVES " + json.dumps(explorer_moves(explorers, namespace)))
