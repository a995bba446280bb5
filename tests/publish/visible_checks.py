"""Run every visible check on every mutant and every other right answer of ``tests/mutants``; print the messages
as JSON. ``python -m tests.publish.visible_checks BUILD`` runs them against the learner build's package in
BUILD, ``-`` against this repository's package."""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys


def messages() -> dict[str, str]:
    import tests.mutants as mutants
    from backproplab.checking import run_check
    from backproplab.checks import REGISTRY

    out = {}
    for info in pkgutil.iter_modules(mutants.__path__):
        try:
            module = importlib.import_module(f"tests.mutants.{info.name}")
        except ModuleNotFoundError as exc:  # a notebook a learner build leaves out (publish.record.UNPUBLISHED)
            if not (exc.name or "").startswith("backproplab."):
                raise
            continue
        cases = [(ex, name, fn) for ex, items in getattr(module, "MUTANTS", {}).items() for name, fn in items]
        cases += [(ex, "correct", fn) for ex, fns in getattr(module, "CORRECT", {}).items() for fn in fns]
        for ex, name, fn in cases:
            if ex not in REGISTRY:  # an exercise of a notebook a learner build leaves out (the test names them)
                continue
            try:
                message = run_check(REGISTRY[ex], fn).message
            except Exception as exc:  # a crash is a difference too
                message = f"CRASH {type(exc).__name__}: {exc}"
            out[f"{ex}/{name}/{fn.__name__}"] = message
    return out


if __name__ == "__main__":
    if sys.argv[1] != "-":
        sys.path.insert(0, sys.argv[1])
    import backproplab

    json.dump({"package": backproplab.__file__, "messages": messages()}, sys.stdout)
