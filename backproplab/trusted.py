"""Verdicts from outside the learner's kernel.

Code in a learner's answer cell runs in the same process as any in-kernel assertion, so it can subvert it
(monkeypatch numpy or the checks, return an object whose ``__eq__`` always says True, ...). Under the trusted
grader, a graded check therefore only *records* what the learner's function returned — as plain JSON numbers,
strings and lists (no pickle, no objects) — and the grader process, which the learner's code never touches,
recomputes the trial inputs from the same seed, decodes the records and judges them with the same engine
(:func:`backproplab.checking.evaluate`). Whatever the kernel does, the only thing that can earn points is a
record of correct float64 results for inputs the grader chose.

Record files: ``<directory>/<exercise>.<visible|hidden>.<n>.json``, one per graded check call.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from backproplab.checking import CheckFinding, CheckOutcome, CheckResult, Exercise, evaluate
from backproplab.records import MAX_ELEMENTS, Opaque, decode, encode, record

__all__ = ["MAX_ELEMENTS", "Opaque", "decode", "encode", "judge", "load_records", "record"]


def _outcome_from_json(obj: Any) -> CheckOutcome:
    if type(obj) is not dict:
        return CheckOutcome(error=CheckFinding("the recorded result is malformed.", "malformed"))
    if "error" in obj:
        mistake = obj.get("mistake")
        mistake = mistake if isinstance(mistake, str) and mistake.isidentifier() else "exception"
        return CheckOutcome(error=CheckFinding(str(obj["error"])[:2000], mistake))
    return CheckOutcome(decode(obj.get("result")), decode(obj.get("args_after")))


def load_records(directory: str | os.PathLike, exercise: str, hidden: bool,
                 max_bytes: int = 64 * 2**20) -> list[list[CheckOutcome]]:
    """Every record of one exercise's graded check (outside the kernel); unreadable files count as failures."""
    kind = "hidden" if hidden else "visible"
    found = []
    for path in sorted(Path(directory).glob(f"{exercise}.{kind}.*.json")):
        try:
            if path.stat().st_size > max_bytes:
                raise ValueError("record too large")
            obj = json.loads(path.read_text(encoding="utf-8"))
            if obj.get("exercise") != exercise or obj.get("hidden") is not hidden:
                raise ValueError("record of another check")
            found.append([_outcome_from_json(o) for o in obj["outcomes"]])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            found.append([CheckOutcome(error=CheckFinding("the recorded result could not be read.", "malformed"))])
    return found


def judge(exercise: Exercise, directory: str | os.PathLike, *, hidden: bool, seed: int | None) -> CheckResult:
    """The trusted verdict on one graded check: every record must pass; no record fails.

    ``seed`` is the grading seed the grader gave the kernel; the trial inputs are recomputed here from it.
    """
    records = load_records(directory, exercise.name, hidden)
    if not records:
        return CheckResult(exercise.name, False, f"{exercise.name}: the graded check did not run (the cell was "
                                                 f"removed, or the kernel stopped before it).", "missing")
    for outcomes in records:
        result = evaluate(exercise, None, hidden=hidden, seed=seed, outcomes=outcomes)
        if not result.passed:
            return result
    return result
