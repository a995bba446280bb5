"""The learner build's stand-in for every graded function (copied into the build as ``backproplab/_published.py``).

In a learner build for a graded class, the body of every graded function (the reference of each exercise,
and every function of the package named like an exercise) is ``return _published.reference(KEY, PARAMS)``,
and every recognised mistake is ``_published.mistake(NAME)``: both answer from tables of outputs computed
when the build was published, for the inputs the visible checks (and the notebooks' figures) use. The
implementation is not in the build; an input that was not tabulated raises :class:`NotPublished`.

The same module records those tables at publish time (:func:`recording`), so keys and fingerprints are
computed by one piece of code.
"""

from __future__ import annotations

import copy
import hashlib
import pickle
from pathlib import Path

import numpy as np

TABLE_FILE = "_published_tables.pkl"
_TABLES: dict | None = None
_RECORDER = None  # set while publishing: (key, params, original) -> result


class NotPublished(RuntimeError):
    """A graded function was called on inputs its table does not hold."""

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for it: the message, not a traceback through the course's code."""
        return [f"NotPublished: {self}"]


# ------------------------------------------------------------------------------------------- fingerprints
def _feed(h, obj) -> None:
    if isinstance(obj, np.ndarray | np.generic):
        arr = np.asarray(obj)
        h.update(b"A" + arr.dtype.str.encode() + repr(arr.shape).encode())
        h.update(np.ascontiguousarray(arr).tobytes() if arr.dtype != object else repr(arr.tolist()).encode())
    elif obj is None or isinstance(obj, bool | int | float | complex | str | bytes):
        h.update(b"S" + type(obj).__name__.encode() + repr(obj).encode())
    elif isinstance(obj, dict):
        h.update(b"D%d" % len(obj))
        for k in sorted(obj, key=repr):
            _feed(h, k)
            _feed(h, obj[k])
    elif isinstance(obj, list | tuple):
        h.update(b"L" + type(obj).__name__.encode() + b"%d" % len(obj))
        for v in obj:
            _feed(h, v)
    elif isinstance(obj, np.random.Generator):
        _feed(h, obj.bit_generator.state)
    elif callable(obj):
        h.update(b"F" + f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', repr(obj))}".encode())
    else:
        h.update(b"O" + type(obj).__qualname__.encode())
        _feed(h, getattr(obj, "__dict__", repr(obj)))


def fingerprint(obj) -> str:
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()[:32]


# ------------------------------------------------------------------------------------------- state
def _after_state(params: list, before: list[str]) -> list:
    """What the call changed in its mutable arguments (dicts, arrays, random generators), to replay it;
    ``before``: the fingerprint of each argument before the call."""
    out = []
    for (_, value), fp in zip(params, before, strict=True):
        if isinstance(value, np.random.Generator) and fingerprint(value) != fp:
            out.append(("rng", copy.deepcopy(value.bit_generator.state)))
        elif isinstance(value, dict | np.ndarray | list) and fingerprint(value) != fp:
            out.append(("value", copy.deepcopy(value)))
        else:
            out.append(None)
    return out


def pack(obj, pool: dict):
    """``obj`` with every array replaced by its fingerprint, the array kept once in ``pool``."""
    if isinstance(obj, np.ndarray) and obj.dtype != object:
        key = fingerprint(obj)
        pool.setdefault(key, obj)
        return (_MARK, key)
    if isinstance(obj, dict):
        return {k: pack(v, pool) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(pack(v, pool) for v in obj))
    if isinstance(obj, list | tuple):
        return type(obj)(pack(v, pool) for v in obj)
    return obj


def unpack(obj, pool: dict):
    if isinstance(obj, tuple) and len(obj) == 2 and obj[0] == _MARK:
        return pool[obj[1]].copy()
    if isinstance(obj, dict):
        return {k: unpack(v, pool) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return type(obj)(*(unpack(v, pool) for v in obj))
    if isinstance(obj, list | tuple):
        return type(obj)(unpack(v, pool) for v in obj)
    return obj


_MARK = "\x00published-array"  # (_MARK, fingerprint) stands for an array of the pool: plain data, no class


def _replay(params: list, after: list) -> None:
    for (_, value), state in zip(params, after, strict=True):
        if state is None:
            continue
        kind, data = state
        if kind == "rng":
            value.bit_generator.state = copy.deepcopy(data)
        elif isinstance(value, dict):
            value.clear()
            value.update(copy.deepcopy(data))
        elif isinstance(value, list):
            value[:] = copy.deepcopy(data)
        elif isinstance(value, np.ndarray) and value.flags.writeable and value.shape == data.shape:
            value[...] = data


# ------------------------------------------------------------------------------------------- the build
def _tables() -> dict:
    global _TABLES
    if _TABLES is None:
        path = Path(__file__).with_name(TABLE_FILE)
        with open(path, "rb") as fh:
            _TABLES = pickle.load(fh)
    return _TABLES


# ------------------------------------------------------------------------------------------- near inputs
def skeleton(obj):
    """``obj`` with every array replaced by its dtype and shape: two inputs with the same skeleton differ in
    their arrays' values only."""
    if isinstance(obj, np.ndarray) and obj.dtype != object:
        return ("\x00array", obj.dtype.str, obj.shape)
    if isinstance(obj, dict):
        return {k: skeleton(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(skeleton(v) for v in obj) if not hasattr(obj, "_fields") else tuple(map(skeleton, obj))
    return obj


def _arrays(obj, out: list) -> list:
    """The arrays of ``obj`` in a fixed order (dicts by key, as :func:`_feed` orders them)."""
    if isinstance(obj, np.ndarray) and obj.dtype != object:
        out.append(obj)
    elif isinstance(obj, tuple) and len(obj) == 2 and obj[0] == _MARK:
        out.append(obj)
    elif isinstance(obj, dict):
        for k in sorted(obj, key=repr):
            _arrays(obj[k], out)
    elif isinstance(obj, list | tuple):
        for v in obj:
            _arrays(v, out)
    return out


def distance(given: list, recorded: list) -> float:
    """The largest relative difference ``||a - b|| / ||b||`` between the arrays of two inputs of one skeleton."""
    worst = 0.0
    for a, b in zip(given, recorded, strict=True):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        gap = float(np.linalg.norm(a - b))
        if gap != gap:  # NaN in the input: near nothing
            return gap
        if gap:
            scale = float(np.linalg.norm(b))
            worst = max(worst, gap / scale if scale else np.inf)
    return worst


_LAST: dict[str, int] = {}  # the input of each near table answered last: the next call is usually the next one


class _Block:
    """The recorded inputs of one skeleton of one near table, their arrays stacked position by position (one
    row per input, grown by doubling): the gaps to all of them in a few numpy calls, not a loop per input."""

    def __init__(self, arrays: list):
        self.ids: list[int] = []
        self.rows = [np.empty((8, a.size)) for a in arrays]
        self.norms = [np.empty(8) for _ in arrays]

    def add(self, i: int, arrays: list) -> None:
        n = len(self.ids)
        if n == len(self.rows[0]):
            self.rows = [np.concatenate([r, np.empty_like(r)]) for r in self.rows]
            self.norms = [np.concatenate([v, np.empty_like(v)]) for v in self.norms]
        for j, a in enumerate(arrays):
            self.rows[j][n] = a.ravel()
            self.norms[j][n] = np.linalg.norm(a)
        self.ids.append(i)

    def gaps(self, given: list) -> np.ndarray:
        """:func:`distance` from ``given`` to every input of the block, in the order of :attr:`ids`."""
        n = len(self.ids)
        worst = np.zeros(n)
        with np.errstate(divide="ignore", invalid="ignore"):
            for rows, norms, a in zip(self.rows, self.norms, given, strict=True):
                gap = np.linalg.norm(rows[:n] - np.asarray(a, dtype=np.float64).ravel(), axis=1)
                worst = np.maximum(worst, np.where(gap == 0, 0.0, gap / norms[:n]))
        return worst


_INDEX: dict[str, tuple] = {}  # key -> (near["inputs"] indexed last for it, {skeleton: _Block})


def _blocks(key: str, near: dict, pool: dict) -> dict:
    """The near table's inputs by skeleton, indexed as they were recorded (publishing adds inputs as it goes)."""
    inputs = near["inputs"]
    held = _INDEX.get(key)
    if held is None or held[0] is not inputs:
        held = _INDEX[key] = (inputs, {})
    blocks = held[1]
    for i in range(sum(len(b.ids) for b in blocks.values()), len(inputs)):
        shape, refs, _ = inputs[i]
        arrays = [np.asarray(pool[r], dtype=np.float64) for r in refs]
        if shape not in blocks:
            blocks[shape] = _Block(arrays)
        blocks[shape].add(i, arrays)
    return blocks


def nearest(tables: dict, key: str, params: list):
    """``(entry, gap)``: the entry of the recorded input of ``key`` nearest to ``params`` if within the key's
    tolerance (``tables["near"][key]``: inputs of the same skeleton whose arrays differ by at most ``rtol``,
    relative), else ``(None, smallest gap)`` (``None`` when no input of this skeleton was recorded). Of several
    within it, the first after the one answered last (in recording order, round)."""
    near = tables.get("near", {}).get(key)
    if not near:
        return None, None
    shape = fingerprint(skeleton(params))
    given = _arrays(params, [])
    inputs = near["inputs"]
    start = _LAST.get(key, -1) + 1
    if start < len(inputs) and inputs[start][0] == shape:  # the usual case: the input after the last one
        gap = distance(given, [tables["arrays"][r] for r in inputs[start][1]])
        if gap <= near["rtol"]:
            _LAST[key] = start
            return tables["reference"][(key, inputs[start][2])], gap
    block = _blocks(key, near, tables["arrays"]).get(shape)
    if block is None:
        return None, None
    gaps = block.gaps(given)
    within = np.flatnonzero(gaps <= near["rtol"])
    if not len(within):
        return None, float(gaps.min())
    first = within[np.argmin((np.asarray(block.ids)[within] - start) % len(inputs))]
    i = block.ids[first]
    _LAST[key] = i
    return tables["reference"][(key, inputs[i][2])], float(gaps[first])


# ------------------------------------------------------------------------------------------- functions given
def _given_function(value) -> bool:
    return callable(value) and not isinstance(value, np.ndarray | np.generic | np.random.Generator | type)


def masked(params: list) -> list:
    """``params`` with every function argument replaced by one mark: an input told apart by its data only."""
    return [(name, "\x00function" if _given_function(value) else value) for name, value in params]


def by_values(tables: dict, key: str, params: list):
    """The entry of a recorded call of ``key`` whose data are ``params``' and whose function argument returned
    what ``params``' function returns, at every point where the recorded call called it; else None."""
    if not any(_given_function(value) for _, value in params):
        return None
    for fp, replies in tables.get("by_values", {}).get((key, fingerprint(masked(params))), ()):
        replies = unpack(replies, tables["arrays"])
        if all(fingerprint(params[i][1](*copy.deepcopy(args), **copy.deepcopy(kwargs))) == fingerprint(out)
               for i, args, kwargs, out in replies):
            return tables["reference"][(key, fp)]
    return None


def _by_values_keys(tables: dict) -> set:
    keys = tables.get("_by_values_keys")
    if keys is None:
        keys = tables["_by_values_keys"] = {key for key, _ in tables.get("by_values", {})}
    return keys


def reference(key: str, params: list):
    """The tabulated result of graded function ``key`` called with ``params`` (``[(name, value), ...]``)."""
    if _RECORDER is not None:
        return _RECORDER(key, params)
    gap = None
    if key in _by_values_keys(_tables()):  # never by the function's name: two lambdas may share it
        entry = by_values(_tables(), key, params)
    else:
        entry = _tables()["reference"].get((key, fingerprint(params)))
    if entry is None:
        entry, gap = nearest(_tables(), key, params)
    if entry is None:
        name = key.rsplit(".", 1)[-1]
        if gap is not None and _tables()["near"][key].get("checks"):
            raise NotPublished(
                f"`{name}` is called here on values {gap:.1e} away (relative) from every value a right answer "
                f"passes it in this check's cases, whose results were computed in advance (this course build "
                f"holds no implementation of it): compare what your function passes it with the exercise's "
                f"steps.")
        if key in _by_values_keys(_tables()):
            raise NotPublished(
                f"`{name}` is answered in this course build only where the course calls it, on its own functions "
                f"(its results were computed in advance; the build holds no implementation of it): on a function "
                f"of yours, use a centred difference of your own (notebook 01's exercise). An exercise that asks "
                f"for an analytic gradient does not take finite differences.")
        if gap is not None:
            rtol = _tables()["near"][key]["rtol"]
            raise NotPublished(
                f"this figure was computed in advance along the course's own runs, and `{name}` is called here "
                f"on values {gap:.1e} away (relative) from the nearest of them (up to {rtol:.0e} counts as the "
                f"same): a function of yours upstream gives other values than the course's (its check says "
                f"where), or the figure's settings were changed, which this course build cannot draw.")
        raise NotPublished(f"`{name}` is not part of this course build, only its results on the inputs of the "
                           f"checks and figures, computed in advance, and this call's inputs are not among them: "
                           f"where it is one of your exercises, use your own; where a check runs your function "
                           f"with the course's, call it as the exercise says (its default arguments).")
    kind, result, after, calls = unpack(entry, _tables()["arrays"])
    for index, args, kwargs in calls:  # the callbacks' calls the function made (those that returned None)
        params[index][1](*args, **kwargs)
    _replay(params, after)
    if kind == "raise":
        raise result
    return result


_MADE: dict[tuple[str, str], int] = {}


def mistake(name: str, message: str):
    """A recognised mistake of a check: its answers on the visible cases, as tabulated. Mistakes of the same
    name and message are told apart by the order they are made in (as when they were tabulated)."""
    occurrence = _MADE[(name, message)] = _MADE.get((name, message), -1) + 1

    def wrong(*args):
        entry = _tables()["mistake"].get((name, message, occurrence, fingerprint(args)))
        if entry is None:
            raise NotPublished(name)
        kind, result = unpack(entry, _tables()["arrays"])
        if kind == "raise":
            raise result
        return result

    wrong.__name__ = wrong.__qualname__ = name
    return wrong
