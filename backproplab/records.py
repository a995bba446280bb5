"""Records of a graded check, written inside the learner's kernel and read by the trusted grader.

A graded check under the trusted grader (``BACKPROPLAB_RECORD_DIR`` set) records what the learner's function
returned as plain JSON numbers, strings and lists (no pickle, no objects): a float64 array as its base64
little-endian bytes. :mod:`backproplab.trusted` decodes them outside the kernel and judges them. This module
knows nothing of the check engine (an outcome is anything with ``result``, ``args_after`` and ``error``), so
that the engine can write records without importing the grader's side.

Record files: ``<directory>/<exercise>.<visible|hidden>.<n>.json``, one per graded check call.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

#: Largest number of array elements recorded per value; a bigger result is recorded as too large.
MAX_ELEMENTS = 1_000_000
_MAX_DEPTH = 8


class Opaque:
    """A learner value that is not plain numeric data; only its type name crosses the boundary."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name}>"


def encode(value: Any, depth: int = 0) -> Any:
    """A learner's value as plain JSON data: a float64 array as ``{"shape": [...], "f64": "<base64>"}`` (its
    little-endian bytes, NaN and infinities included), numbers as ``{"scalar"}``, containers as lists."""
    if depth > _MAX_DEPTH:
        return {"opaque": "deeply nested value"}
    # Read through the base types' own methods: a learner's subclass whose __iter__, __float__ or items() is
    # overridden runs no code here (it would run after the graded call, where nothing of the course is broken,
    # and could hand over the reference's numbers: an outsider's audit did, for 20 exercises).
    if value is None or type(value) is bool:
        return value
    if isinstance(value, str):
        return {"str": str.__str__(value)[:10_000]}
    if type(value) in (int, float):
        return {"scalar": _float(value)}
    if isinstance(value, np.bool_):
        return bool(np.generic.item(value))
    if isinstance(value, np.number):
        return {"scalar": _float(np.generic.item(value))}
    if isinstance(value, np.ndarray):  # subclasses included: only the float64 data crosses
        if value.dtype == object or value.size > MAX_ELEMENTS:
            return {"opaque": "ndarray of objects" if value.dtype == object else "array too large"}
        try:
            data = np.array(np.ndarray.view(value, np.ndarray), dtype="<f8", order="C")
        except (TypeError, ValueError):
            return {"opaque": f"ndarray of {value.dtype}"}
        return {"shape": list(data.shape), "f64": base64.b64encode(data.tobytes()).decode("ascii")}
    if isinstance(value, tuple):
        return {"seq": [encode(v, depth + 1) for v in tuple.__iter__(value)], "tuple": True}
    if isinstance(value, list):
        return {"seq": [encode(v, depth + 1) for v in list.__iter__(value)], "tuple": False}
    if isinstance(value, dict):
        return {"dict": [[_key(k), encode(v, depth + 1)] for k, v in dict.items(value)]}
    return {"opaque": type(value).__name__}


def _key(k) -> str:
    if isinstance(k, str):
        return str.__str__(k)
    return str(k) if type(k) in (int, float, bool) or k is None else f"<{type(k).__name__}>"


def _float(x) -> float | str:
    f = float(x)
    return f if math.isfinite(f) else repr(f)


def _unfloat(x) -> float:
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    if x in ("nan", "inf", "-inf"):
        return float(x)
    raise ValueError("not a number")


def decode(obj: Any, depth: int = 0) -> Any:
    """Inverse of :func:`encode`, strict: anything unexpected decodes to an :class:`Opaque` value."""
    if depth > _MAX_DEPTH + 1:
        return Opaque("deeply nested value")
    if obj is None or type(obj) is bool:
        return obj
    if type(obj) is not dict:
        return Opaque("malformed record")
    try:
        if "str" in obj:
            return str(obj["str"])
        if "scalar" in obj:
            return _unfloat(obj["scalar"])
        if "shape" in obj:
            return _decode_array(obj)
        if "seq" in obj:
            items = [decode(v, depth + 1) for v in obj["seq"]]
            return tuple(items) if obj.get("tuple") else items
        if "dict" in obj:
            return {str(k): decode(v, depth + 1) for k, v in obj["dict"]}
        if "opaque" in obj:
            return Opaque(str(obj["opaque"])[:80])
    except (TypeError, ValueError, KeyError, binascii.Error):
        pass
    return Opaque("malformed record")


def _decode_array(obj: dict) -> np.ndarray:
    """A float64 array from ``{"shape", "f64"}`` (base64 bytes) or ``{"shape", "data"}`` (a list of numbers);
    raises ``ValueError`` unless the data fits the shape exactly."""
    shape = tuple(int(n) for n in obj["shape"])
    size = math.prod(shape)
    if any(n < 0 for n in shape) or len(shape) > 32 or size > MAX_ELEMENTS:
        raise ValueError("bad shape")
    if "f64" in obj:
        raw = base64.b64decode(str(obj["f64"]), validate=True)
        if len(raw) != 8 * size:
            raise ValueError("data does not fit the shape")
        return np.frombuffer(raw, dtype="<f8").astype(np.float64).reshape(shape)
    data = np.array([_unfloat(x) for x in obj["data"]], dtype=np.float64)
    return data.reshape(shape)


def outcome_to_json(outcome) -> dict:
    """One outcome (``result``, ``args_after``, ``error`` with ``message`` and ``mistake``) as plain JSON."""
    if outcome.error is not None:
        return {"error": outcome.error.message[:2000], "mistake": outcome.error.mistake}
    return {"result": encode(outcome.result), "args_after": encode(outcome.args_after)}


def record(exercise, outcomes: Iterable, *, hidden: bool, directory: str | os.PathLike) -> Path:
    """Write one graded check's outcomes as plain JSON into ``directory`` (inside the kernel)."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    kind = "hidden" if hidden else "visible"
    payload = json.dumps({"exercise": exercise.name, "hidden": hidden,
                          "outcomes": [outcome_to_json(o) for o in outcomes]})
    n = 0
    while True:
        path = folder / f"{exercise.name}.{kind}.{n}.json"
        try:
            with open(path, "x", encoding="utf-8") as fh:
                fh.write(payload)
            return path
        except FileExistsError:
            n += 1


