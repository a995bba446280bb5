"""Call every function of a package that is not a table on every exercise's visible cases; print, as JSON, the
``"exercise <- module.function"`` pairs whose function returns the reference's result on all of them (a graded
function under another name). ``python -m tests.publish.same_answers BUILD`` probes the learner build in BUILD,
``-`` this repository's package (where every reference and its copies answer, which shows that the probe finds
what it looks for)."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import pkgutil
import sys
import types
import warnings

import numpy as np

SKIPPED = ("checks", "checking", "grading", "sandbox", "publish", "cli", "trusted", "release", "nbexec",
           "_published", "widgets", "plots", "headless", "lazyimports")


def _tabulated(fn) -> bool:
    """A build's graded function: its body is ``return _published.reference(KEY, PARAMS)``."""
    return "_published" in fn.__code__.co_names and "reference" in fn.__code__.co_names


def _same(a, b) -> bool:
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    try:
        a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == b.shape and a.size > 1 and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))


def functions(package) -> dict:
    found = {}
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name.split(".")[1] in SKIPPED:
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if (isinstance(value, types.FunctionType) and value.__module__ == info.name
                    and not _tabulated(value)):
                found[f"{info.name}.{name}"] = value
    return found


def matches() -> list[str]:
    import backproplab
    from backproplab.checking import trial_inputs
    from backproplab.checking.values import _copy
    from backproplab.checks import REGISTRY

    candidates = functions(backproplab)
    out = []
    for name, ex in sorted(REGISTRY.items()):
        if ex.judge is not None:  # judged on a trained network's accuracy, not compared with a reference
            continue
        trials = trial_inputs(ex, False, None)
        wanted = [ex.run(ex.reference, _copy(args)) for args in trials]
        for key, fn in candidates.items():
            if key.rsplit(".", 1)[1] == ex.reference.__name__ and fn is ex.reference:
                continue
            try:
                with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if all(_same(ex.run(fn, _copy(args)), want) for args, want in zip(trials, wanted, strict=True)):
                        out.append(f"{name} <- {key}")
            except Exception:  # noqa: S112 - a function that cannot take these inputs is not a copy
                continue
    return out


if __name__ == "__main__":
    if sys.argv[1] != "-":
        sys.path.insert(0, sys.argv[1])
    import backproplab

    json.dump({"package": backproplab.__file__, "matches": matches()}, sys.stdout)
