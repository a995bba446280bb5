"""Call every function of a package that is not a table on every exercise's visible cases; print, as JSON, the
``"exercise <- module.function"`` pairs whose function returns the reference's result on all of them (a graded
function under another name). ``python -m tests.publish.same_answers BUILD`` probes the learner build in BUILD
with its tables emptied (what answers then is code that computes the answer, not a call of a table, which
answers the recorded cases only), ``-`` this repository's package (where every reference and its copies answer,
which shows that the probe finds what it looks for: ``backproplab/checks/_copies.py`` lists them)."""

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
           "_published", "headless", "lazyimports")


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
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-9, atol=1e-12))


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


def probe(where: str) -> list[str]:
    """The matches of this probe run in a new process on ``where`` (a build's folder, or ``-``)."""
    import subprocess
    from pathlib import Path

    done = subprocess.run([sys.executable, "-m", "tests.publish.same_answers", where], capture_output=True,
                          text=True, timeout=900, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)["matches"]


def _majority(params, X, Y, l2=0.0):
    """The planted passes side by side: each gradient as most of them compute it (each plants one bug)."""
    from backproplab import debugging

    outs = [debugging.backward_with(i)[1](params, X, Y, l2) for i in range(len(debugging.BUGS))]
    grads = {}
    for key in outs[0][1]:
        values = [np.asarray(out[1][key]) for out in outs]
        grads[key] = max(values, key=lambda v: sum(v.shape == w.shape and np.allclose(v, w) for w in values))
    return outs[0][0], grads


#: Answers written with package functions and a line of one's own, by exercise: ``label -> answer``.
COMPOSED = {
    "numerical_gradients": {
        "(gradcheck.numerical_gradient per array)": lambda f, params, h=1e-5: {
            "d" + k: _mod("gradcheck").numerical_gradient(lambda v, k=k: f({**params, k: v}), params[k], h)
            for k in params}},
    "he_normal": {
        "(initializers.lecun_normal * sqrt(2))":
            lambda n_in, n_out, rng: _mod("initializers").lecun_normal(n_in, n_out, rng) * np.sqrt(2.0),
        "(initializers.xavier_normal * sqrt((n_in + n_out) / n_in))":
            lambda n_in, n_out, rng: _mod("initializers").xavier_normal(n_in, n_out, rng)
            * np.sqrt((n_in + n_out) / n_in)},
    "two_layer_backward": {
        "(network.mlp_loss_and_grads)": lambda X, Y, params: _mod("network").mlp_loss_and_grads(
            params, X, Y, hidden="relu", output="linear", loss="mse")[1]},
    "softmax_cross_entropy_grad": {
        "(losses.softmax_cross_entropy)": lambda Z, Y: _mod("losses").softmax_cross_entropy(Z, Y)[1]},
    "relative_error": {  # not an answer: the checks measure with a formula of their own (checking.measure)
        "(checking.measure.relative_gap, the checks' own measure)":
            lambda a, b: _mod("checking.measure").relative_gap(a, b)},
    "fixed_loss_and_grads": {
        "(network.mlp_loss_and_grads)": lambda params, X, Y, l2=0.0: _mod("network").mlp_loss_and_grads(
            params, X, Y, output="softmax", loss="cross_entropy", l2=l2),
        "(a majority vote of debugging's planted passes)": _majority},
}


#: Tried, and an answer nowhere: the checks' own distance is not notebook 03's formula.
NOT_AN_ANSWER = "relative_error <- (checking.measure.relative_gap, the checks' own measure)"


def _mod(name: str):
    return importlib.import_module(f"backproplab.{name}")


def matches(empty_tables: bool = False) -> list[str]:
    import backproplab
    from backproplab.checking import trial_inputs
    from backproplab.checking.values import _copy
    from backproplab.checks import REGISTRY

    candidates = functions(backproplab)
    cases = []
    for name, ex in sorted(REGISTRY.items()):
        if ex.judge is not None:  # judged on a trained network's accuracy, not compared with a reference
            continue
        trials = trial_inputs(ex, False, None)
        wanted = [ex.run(ex.reference, _copy(args)) for args in trials]
        if not all(_same(w, wanted[0]) for w in wanted[1:]):  # a function returning a constant would match
            cases.append((name, ex, trials, wanted))
    if empty_tables:  # the results wanted came from the tables; the candidates get none
        from backproplab import _published

        _published._TABLES = {"reference": {}, "mistake": {}, "arrays": {}, "near": {}, "by_values": {}}
    out = []
    for name, ex, trials, wanted in cases:
        for key, fn in [*candidates.items(), *COMPOSED.get(name, {}).items()]:
            if fn is ex.reference:
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
    build = sys.argv[1] != "-"
    if build:
        sys.path.insert(0, sys.argv[1])
    import backproplab

    json.dump({"package": backproplab.__file__, "matches": matches(empty_tables=build)}, sys.stdout)
