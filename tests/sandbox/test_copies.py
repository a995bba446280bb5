"""Package functions that give an exercise's answer without being its reference (``checks/_copies.py``).

Each one, called from an answer, earns the exercise's points without the learner computing anything. They are
found here three ways (the probe of every package function on every exercise's cases, the functions a check's
reference returns, and the listed ones), every one must be listed, and every listed one, called from a
learner's function, passes the check outside grading (so the leak was real) and fails under the trusted grader
with a message that names the exercise; an answer cell that imports it is flagged for that exercise only.
"""

from __future__ import annotations

import tempfile
import types
from pathlib import Path

import numpy as np
import pytest

from backproplab import checking
from backproplab.checks import REGISTRY
from backproplab.checks._copies import COPIES, resolve
from backproplab.sandbox import poison
from backproplab.sandbox.scan import scan_source

REPO = Path(__file__).resolve().parents[2]


def test_every_function_that_answers_an_exercise_is_listed():
    """The probe of ``tests/publish/same_answers.py`` on the full package (the learner build's test runs it on
    the build): it finds the copies and composed answers it looks for, so it can fail; every function it finds
    is listed."""
    from tests.publish.same_answers import COMPOSED, NOT_AN_ANSWER, probe

    found = probe("-")
    assert "stable_softmax <- backproplab.activations.softmax" in found
    assert "numerical_derivative <- backproplab.gradcheck.numerical_gradient" in found
    assert all(f"{name} <- {label}" in found for name, labels in COMPOSED.items() for label in labels
               if f"{name} <- {label}" != NOT_AN_ANSWER)
    assert NOT_AN_ANSWER not in found
    found = [pair for pair in found if not pair.split(" <- ")[1].startswith("(")]  # composed of listed ones
    missing = [pair for pair in found if pair.split(" <- ")[1] not in COPIES.get(pair.split(" <- ")[0], ())]
    assert not missing, f"give these exercises' answers and are not in checks/_copies.py: {missing}"


def _called_by(fn) -> list:
    """The package functions ``fn``'s code names (globals, and attributes of the modules it names)."""
    out = []
    for name in fn.__code__.co_names:
        value = fn.__globals__.get(name)
        if isinstance(value, types.ModuleType):
            out += [getattr(value, attr) for attr in fn.__code__.co_names if hasattr(value, attr)]
        else:
            out.append(value)
    return [f for f in out if isinstance(f, types.FunctionType) and f.__module__.startswith("backproplab.")
            and not f.__module__.startswith(("backproplab.checks", "backproplab.checking", "backproplab.errors"))]


def test_what_a_checks_reference_returns_is_listed():
    """A reference written in ``checks/`` returns a package function's result (``softmax(Z, axis=-1)``)."""
    missing = []
    for name, ex in REGISTRY.items():
        ref = ex.reference
        if not ref.__module__.startswith("backproplab.checks"):
            continue
        listed = [resolve(d) for d in COPIES.get(name, ())]
        missing += [f"{name} <- {f.__module__}.{f.__name__}" for f in _called_by(ref)
                    if not any(f is g for g in listed)]
    assert not missing, f"checks' references return these and they are not in checks/_copies.py: {missing}"


def _wrapped(name: str, dotted: str):
    """A learner's answer that returns what ``dotted`` gives."""
    fn = resolve(dotted)
    if name == "he_normal":
        factor = ((lambda n_in, n_out: np.sqrt(2.0)) if dotted.endswith("lecun_normal")
                  else (lambda n_in, n_out: np.sqrt((n_in + n_out) / n_in)))
        return lambda n_in, n_out, rng: fn(n_in, n_out, rng) * factor(n_in, n_out)
    if dotted.endswith("numerical_vjp"):
        if name == "numerical_derivative":
            return lambda f, x, h=1e-5: float(fn(lambda t: np.asarray(f(t)), x, np.ones(()), h))
        return lambda f, params, h=1e-5: {
            "d" + k: fn(lambda v, k=k: np.asarray(f({**params, k: v})), params[k], np.ones(()), h) for k in params}
    if name == "fixed_loss_and_grads" and dotted.endswith("mlp_loss_and_grads"):
        return lambda params, X, Y, l2=0.0: fn(params, X, Y, output="softmax", loss="cross_entropy", l2=l2)
    if name == "numerical_gradients":
        return lambda f, params, h=1e-5: {"d" + k: fn(lambda v, k=k: f({**params, k: v}), params[k], h)
                                          for k in params}
    ref = REGISTRY[name].reference
    if ref.__module__.startswith("backproplab.checks") and any(fn is f for f in _called_by(ref)):
        return types.FunctionType(ref.__code__, ref.__globals__, "answer", ref.__defaults__)  # what it returns
    return lambda *args, **kwargs: fn(*args, **kwargs)


PAIRS = [(name, dotted) for name, names in COPIES.items() for dotted in names]
#: Listed functions an answer calls directly (or as the check's reference does): the others are reached in
#: the audit's routes (``copied_answers.py``, below).
DIRECT = [
    ("numerical_derivative", "backproplab.gradcheck.numerical_gradient"),
    ("numerical_derivative", "backproplab.gradcheck.numerical_vjp"),
    ("he_normal", "backproplab.initializers.lecun_normal"), ("he_normal", "backproplab.initializers.xavier_normal"),
    ("relu_backward", "backproplab.activations.relu_derivative"),
    ("relu_backward", "backproplab.training._relu_backward"),
    ("two_layer_backward", "backproplab.network.mlp_loss_and_grads"),
    ("two_layer_backward", "backproplab.widgets.backward_pass._reference"),
    ("stable_softmax", "backproplab.activations.softmax"), ("stable_softmax", "backproplab.training._stable_softmax"),
    ("softmax_cross_entropy_grad", "backproplab.losses.softmax_cross_entropy"),
    ("softmax_cross_entropy_grad", "backproplab.training._softmax_cross_entropy_grad"),
    ("mlp_backward", "backproplab.network.mlp_loss_and_grads"),
    ("dense_backward_col", "backproplab.layers.dense_backward"),
    ("numerical_gradients", "backproplab.gradcheck.numerical_gradient"),
    ("numerical_gradients", "backproplab.gradcheck.numerical_vjp"),
    ("train_digits", "backproplab.training.train_digits"),
    ("fixed_loss_and_grads", "backproplab.network.mlp_loss_and_grads"),
    ("fixed_loss_and_grads", "backproplab.training.loss_and_grads"),
    ("fixed_loss_and_grads", "backproplab.training._COURSE_NETWORK"),
]


@pytest.mark.parametrize(("name", "dotted"), PAIRS, ids=[f"{n}<-{d.rsplit('.', 1)[1]}" for n, d in PAIRS])
def test_every_listed_function_is_broken_while_the_answer_runs(name, dotted, tmp_path, monkeypatch):
    fn = resolve(dotted)
    monkeypatch.setattr(checking.run, "_graded_call_guard", checking.graded_call_guard())
    poison.install()
    monkeypatch.setenv(checking.RECORD_DIR_ENV, str(tmp_path))
    result = checking.run_check(REGISTRY[name], lambda *args, **kwargs: fn())
    assert not result.passed and "cannot be used in a graded answer" in result.message, result.message
    assert f"write `{name}` with your own code" in result.message


@pytest.mark.parametrize(("name", "dotted"), DIRECT, ids=[f"{n}<-{d.rsplit('.', 1)[1]}" for n, d in DIRECT])
def test_a_copy_answers_outside_grading_and_not_in_it(name, dotted, tmp_path, monkeypatch):
    ex = REGISTRY[name]  # a new answer object for each check: train_digits' check trains once per object
    assert checking.run_check(ex, _wrapped(name, dotted)).passed, "the copy gives the answer (else it is not one)"
    monkeypatch.setattr(checking.run, "_graded_call_guard", checking.graded_call_guard())  # undone after
    poison.install()
    monkeypatch.setenv(checking.RECORD_DIR_ENV, str(tmp_path))
    result = checking.run_check(ex, _wrapped(name, dotted))
    assert not result.passed and "cannot be used in a graded answer" in result.message, result.message
    assert f"write `{name}` with your own code" in result.message
    monkeypatch.delenv(checking.RECORD_DIR_ENV)
    assert checking.run_check(ex, _wrapped(name, dotted)).passed  # restored as soon as the learner's function returned


def test_a_copy_is_poisoned_for_its_exercise_only(tmp_path, monkeypatch):
    """Notebook 05's answers may call ``softmax`` (its setup imports it); notebook 04's ``stable_softmax`` not."""
    from backproplab.activations import softmax

    monkeypatch.setattr(checking.run, "_graded_call_guard", checking.graded_call_guard())
    poison.install()
    monkeypatch.setenv(checking.RECORD_DIR_ENV, str(tmp_path))
    result = checking.run_check(REGISTRY["softmax_cross_entropy_grad"],
                                lambda Z, Y: (softmax(Z, axis=1) - Y) / Z.shape[0])
    assert result.passed, result.message


@pytest.mark.parametrize(("name", "dotted"), PAIRS, ids=[f"{n}<-{d.rsplit('.', 1)[1]}" for n, d in PAIRS])
def test_an_answer_cell_importing_a_copy_is_flagged(name, dotted):
    module, attr = dotted.rsplit(".", 1)
    hits = scan_source(f"from {module} import {attr}\n")
    assert any(exercises is None or name in exercises for _, _, kind, exercises in hits if kind == "reaches"), hits


# ------------------------------------------------------------------ an outsider's routes, and honest answers
def _notebook(number: str):
    import nbformat

    return nbformat.read(next((REPO / "course").glob(f"{number}_*/{number}_*.ipynb")), as_version=4)


def _namespace(number: str, monkeypatch) -> tuple[dict, dict]:
    """The names a learner's answer sees (the setup cell run; notebook 08 also loads its data and parts) and the
    scan's bindings of the instructor's cells, as grading builds them."""
    from backproplab.sandbox.scan import SETUP_BINDINGS

    nb = _notebook(number)
    monkeypatch.chdir(next((REPO / "course").glob(f"{number}_*")))
    namespace, bindings = {}, dict(SETUP_BINDINGS)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("solution") or meta.get("grade"):
            continue
        scan_source(cell.source, bindings)
        if cell.get("id") in ("setup", "s1-load", "s2-collect"):
            exec(cell.source, namespace)  # noqa: S102  (the course's own cells)
    return namespace, bindings


def _graded(name: str, answer, monkeypatch, tmp_path) -> bool:
    """Whether ``answer`` earns ``name``'s points under the trusted grader (visible, and two hidden seeds): the
    graded check writes its records in the kernel, under the guard, and the judge decides from them outside."""
    from backproplab import trusted

    monkeypatch.setattr(checking.run, "_graded_call_guard", checking.graded_call_guard())
    poison.install()
    ex = REGISTRY[name]
    for hidden, seed in ((False, None), (True, 0), (True, 7)):
        records = Path(tempfile.mkdtemp(dir=tmp_path))
        monkeypatch.setenv(checking.RECORD_DIR_ENV, str(records))
        try:
            checking.run_check(ex, answer, graded=True, hidden=hidden, seed=seed)
        except Exception:  # noqa: BLE001, S110  (a failed graded check raises; the judge reads the records)
            pass
        if not trusted.judge(ex, records, hidden=hidden, seed=seed).passed:
            return False
    return True


def _routes():
    from tests.sandbox.copied_answers import ANSWERS

    return [pytest.param(name, number, source, id=f"{name}-{k}") for k, (_, name, number, source) in enumerate(ANSWERS)]


@pytest.mark.parametrize(("name", "number", "source"), _routes())
def test_an_answer_made_of_the_course_is_refused(name, number, source, monkeypatch, tmp_path):
    from tests.sandbox.copied_answers import STILL_ACCEPTED

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")  # figures and explorers as a grading kernel has them
    namespace, bindings = _namespace(number, monkeypatch)
    blocked = any(kind == "reaches" and (exercises is None or name in exercises)
                  for _, _, kind, exercises in scan_source(source, bindings))
    try:
        exec(source, namespace)  # noqa: S102  (the audit's answer)
    except Exception:  # noqa: BLE001  (the cell fails: no function, no points)
        assert name not in STILL_ACCEPTED
        return
    passed = _graded(name, namespace[name], monkeypatch, tmp_path)
    if name in STILL_ACCEPTED:
        assert passed and not blocked, "refused now: move it out of STILL_ACCEPTED"
    else:
        assert blocked or not passed, f"{name}: the audit's answer is accepted"


@pytest.mark.parametrize("number", ["01", "02", "03", "04", "05", "06", "07", "08"])
def test_the_solutions_pass_under_the_poison_and_the_scan(number, monkeypatch, tmp_path):
    """Nothing listed in checks/_copies.py is something an honest answer calls (notebook 05's answers use
    ``softmax``; 06's the setup's ``mlp_forward``)."""
    import nbformat

    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    namespace, bindings = _namespace(number, monkeypatch)
    source = nbformat.read(next((REPO / "solutions").glob(f"{number}_*/{number}_*.ipynb")), as_version=4)
    names = []
    for cell in source.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution"):
            hits = [h for h in scan_source(cell.source, bindings) if h[2] == "reaches"]
            exec(cell.source, namespace)  # noqa: S102  (the solutions)
            names += [n for n in REGISTRY if n in namespace and f"def {n}(" in cell.source]
            assert all(h[3] is not None and not (h[3] & set(names)) for h in hits), (cell.source[:200], hits)
    assert names
    failed = [n for n in names if not _graded(n, namespace[n], monkeypatch, tmp_path)]
    assert not failed


#: Mutants written with the course's own functions for brevity (a slip simulated on the course's pass), and
#: answers that are the course's: under the guard they are refused for calling it, as a learner's would be.
MUTANTS_CALLING_THE_COURSE = {
    ("numerical_gradients", "ng_over_h"), ("numerical_gradients", "ng_keys_without_d"),
    ("wrong_gradients", "wg_param_names"), ("wrong_gradients", "wg_returns_string"),
    ("fixed_loss_and_grads", "fx_still_gate"), ("fixed_loss_and_grads", "fx_still_sign"),
    ("fixed_loss_and_grads", "fx_still_not_transposed"), ("fixed_loss_and_grads", "fx_finite_differences"),
    ("train", "train"), ("fixed_loss_and_grads", "fx_correct_package"),
    ("fixed_loss_and_grads", "fx_correct_training")}


def test_the_guard_changes_no_message_of_an_answer_of_ones_own(monkeypatch):
    """Every mutant and right answer of the mutation suite, checked with and without the guard (as grading
    and a learner's visible check run it): the same message, unless it calls the course. A check's harness
    that compares with the reference while the learner's function is guarded (``strict_call``: an overflow
    warning, then the reference) gets the reference (``checking.course_code``): before, grading told a learner
    whose sigmoid overflowed that the course's reference cannot be used."""
    from tests.test_mutants import CORRECT, MUTANTS

    answers = [(name, fn) for name, ms in MUTANTS.items() for _, fn in ms]
    answers += [(name, fn) for name, fns in CORRECT.items() for fn in fns]
    plain = [checking.run_check(REGISTRY[name], fn).message for name, fn in answers]
    monkeypatch.setattr(checking.run, "_graded_call_guard", checking.graded_call_guard())
    poison.install()
    with checking.learner_guard(poison.poisoned):
        guarded = [checking.run_check(REGISTRY[name], fn).message for name, fn in answers]
    changed = {(name, fn.__name__) for (name, fn), a, b in zip(answers, plain, guarded, strict=True) if a != b}
    assert changed == MUTANTS_CALLING_THE_COURSE
    for (name, fn), message in zip(answers, guarded, strict=True):
        if (name, fn.__name__) in MUTANTS_CALLING_THE_COURSE:
            assert "cannot be used in a graded answer" in message or "cannot be called" in message, message
