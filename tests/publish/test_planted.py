"""The learner build's ``debugging`` module (:mod:`backproplab.publish.planted`): the eight planted backward
passes of notebook 08, without the correct one, answering as the full module does."""

from __future__ import annotations

import ast
import sys
import types

import numpy as np
import pytest

from backproplab import debugging, training
from backproplab.publish import planted, record, runtime
from backproplab.publish.transform import transform_module
from tests.publish.test_publish import _bodies, _solution_cells


def _functions() -> dict:
    return {record.key_of(f): f for f in (debugging.loss_and_grads, debugging.wrong_gradients,
                                          training.numerical_gradients)}


def _build_text() -> str:
    with open(debugging.__file__, encoding="utf-8") as fh:
        return transform_module(planted.build_source(fh.read()), planted.MODULE, _functions())


def _strings(tree) -> list[str]:
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def test_the_build_holds_no_correct_backward_pass():
    """Neither as code nor in a string: no function of the module, nor any string of it parsed as code, has
    the body of the correct pass (``debugging.SOURCE``) or of the solution of ``fixed_loss_and_grads``; no
    variant holds the correct line of its own bug; the bugs carry no correct line."""
    text = _build_text()
    tree = ast.parse(text)
    correct = _bodies(ast.parse(debugging.SOURCE))
    (solution,) = [s for _, gid, s, _ in _solution_cells() if gid == "ex-fixed-loss-and-grads" and s]
    correct |= _bodies(ast.parse(solution))
    assert correct
    found = _bodies(tree)
    programs = []
    for s in _strings(tree):
        try:
            programs.append(ast.parse(s))
        except SyntaxError:
            continue
    for program in programs:
        found |= _bodies(program)
    variants = [p for p in programs if any(isinstance(n, ast.FunctionDef) and n.name == "loss_and_grads"
                                           for n in p.body)]
    assert len(variants) == len(debugging.BUGS)  # the planted passes are there, as strings
    assert not correct & found
    assert debugging.SOURCE not in text and "SOURCE = None" in text
    values = [s for s in _strings(tree) if s.startswith("def loss_and_grads")]
    for bug, source in zip(debugging.BUGS, values, strict=True):
        assert bug.wrong_line in source and bug.line not in source.replace(bug.wrong_line, ""), bug.name
    bugs = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "BUGS")
    assert [c.args[1].value for c in bugs.value.elts] == [None] * len(debugging.BUGS)


@pytest.fixture(scope="module")
def built():
    """The build's module, loaded with its ``_published`` answering from the tables of the visible checks of the
    two debugging exercises (as publishing records them)."""
    from backproplab.checks.training import FIXED_LOSS_AND_GRADS, WRONG_GRADIENTS

    tables = record.tabulate(only={e.name: e for e in (FIXED_LOSS_AND_GRADS, WRONG_GRADIENTS)},
                             functions=_functions())
    saved = sys.modules.get("backproplab._published"), runtime._TABLES, runtime._RECORDER
    sys.modules["backproplab._published"] = runtime
    runtime._TABLES, runtime._RECORDER = tables, None
    module = types.ModuleType(planted.MODULE)
    try:
        exec(compile(_build_text(), "<build debugging.py>", "exec"), module.__dict__)
        yield module, tables
    finally:
        if saved[0] is None:
            sys.modules.pop("backproplab._published", None)
        else:
            sys.modules["backproplab._published"] = saved[0]
        runtime._TABLES, runtime._RECORDER = saved[1], saved[2]


def _network(seed: int):
    rng = np.random.default_rng(seed)
    params = training.init_network([4, 3, 3], rng)
    params["b1"], params["b2"] = rng.standard_normal((1, 3)), rng.standard_normal((1, 3))
    return params, rng.standard_normal((5, 4)), np.eye(3)[rng.integers(0, 3, 5)], 0.3


def test_every_learner_draws_the_same_planted_pass_as_in_the_full_package(built):
    module, _ = built
    drawn = set()
    for seed in range(60):
        mine = module.planted_backward(seed)
        assert mine.source == debugging.planted_backward(seed).source
        drawn.add(mine.source)
        params, X, Y, l2 = _network(seed)
        loss, grads = mine.loss_and_grads(params, X, Y, l2)
        ref_loss, ref_grads = debugging.planted_backward(seed).loss_and_grads(params, X, Y, l2)
        assert loss == ref_loss and all(np.array_equal(grads[k], ref_grads[k]) for k in grads)
    assert len(drawn) == len(debugging.BUGS)


def test_the_correct_pass_is_a_table_of_the_visible_inputs(built):
    """``backward_with(None)`` (the reference of the fix) answers the visible checks' inputs as recorded, and
    nothing else; the variants are told apart from it and from each other by the tables."""
    from backproplab.checking import trial_inputs
    from backproplab.checks.training import FIXED_LOSS_AND_GRADS

    module, tables = built
    source, correct = module.backward_with(None)
    assert source is None
    for args in trial_inputs(FIXED_LOSS_AND_GRADS, False, None):
        loss, grads = correct(*args)
        ref_loss, ref_grads = debugging.loss_and_grads(*args)
        assert loss == ref_loss and all(np.array_equal(grads[k], ref_grads[k]) for k in grads)
    with pytest.raises(runtime.NotPublished):
        correct(*_network(1))
    names = {runtime.fingerprint(module.backward_with(k)[1]) for k in range(len(debugging.BUGS))}
    assert len(names | {runtime.fingerprint(correct)}) == len(debugging.BUGS) + 1
