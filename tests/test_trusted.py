"""The verdict from outside the kernel: records are plain data, and only correct results earn a pass."""

import json

import numpy as np
import pytest

from backproplab.checking import RECORD_DIR_ENV, run_check
from backproplab.trusted import decode, encode, judge
from tests.test_checking import TOY, _ref


def _grade_in_kernel(fn, tmp_path, monkeypatch, hidden=True, seed=99):
    """What the kernel does: a graded check with the record folder set (it may raise: the kernel's view)."""
    monkeypatch.setenv(RECORD_DIR_ENV, str(tmp_path))
    try:
        run_check(TOY, fn, graded=True, hidden=hidden, seed=seed)
    except AssertionError:
        pass
    monkeypatch.delenv(RECORD_DIR_ENV)
    return judge(TOY, tmp_path, hidden=hidden, seed=seed)


def test_correct_answer_passes_outside(tmp_path, monkeypatch):
    assert _grade_in_kernel(_ref, tmp_path, monkeypatch).passed


@pytest.mark.parametrize("fn", [
    lambda X, W: -_ref(X, W),
    lambda X, W: np.zeros((X.shape[1], W.shape[1])).view(type("Liar", (np.ndarray,), {"__eq__": lambda s, o: True})),
    lambda X, W: type("Always", (), {"__eq__": lambda s, o: True, "__array__": lambda s, *a, **k: _ref(X, W)})(),
])
def test_wrong_or_lying_answers_fail_outside(fn, tmp_path, monkeypatch):
    assert not _grade_in_kernel(fn, tmp_path, monkeypatch).passed


def test_patching_the_engine_in_the_kernel_does_not_help(tmp_path, monkeypatch):
    import backproplab.checking.compare as engine
    monkeypatch.setattr(engine, "_close", lambda *a, **k: True)     # in-kernel comparison subverted...
    monkeypatch.setenv(RECORD_DIR_ENV, str(tmp_path))
    assert run_check(TOY, lambda X, W: -_ref(X, W), graded=True, hidden=True, seed=3).passed
    monkeypatch.undo()                                              # ...the grader process is untouched
    assert not judge(TOY, tmp_path, hidden=True, seed=3).passed


def test_forged_or_missing_records_fail(tmp_path):
    assert judge(TOY, tmp_path, hidden=True, seed=1).mistake == "missing"
    (tmp_path / "toy.hidden.0.json").write_text("not json")
    assert not judge(TOY, tmp_path, hidden=True, seed=1).passed
    (tmp_path / "toy.hidden.0.json").write_text(json.dumps({"exercise": "toy", "hidden": True,
                                                            "outcomes": [{"result": {"scalar": 1}}] * 8}))
    assert not judge(TOY, tmp_path, hidden=True, seed=1).passed


def test_inputs_come_from_the_graders_seed(tmp_path, monkeypatch):
    """A kernel that draws its own inputs (another seed) records answers to the wrong questions."""
    monkeypatch.setenv(RECORD_DIR_ENV, str(tmp_path))
    run_check(TOY, _ref, graded=True, hidden=True, seed=5)
    monkeypatch.delenv(RECORD_DIR_ENV)
    assert judge(TOY, tmp_path, hidden=True, seed=5).passed
    assert not judge(TOY, tmp_path, hidden=True, seed=6).passed


def test_encoding_round_trip():
    value = (np.arange(6.0).reshape(2, 3), {"t": 3, "v": [1.5, None], "c": "ema"}, np.float32(2), float("nan"))
    back = decode(json.loads(json.dumps(encode(value))))
    assert np.array_equal(back[0], value[0]) and back[0].dtype == np.float64
    assert back[1] == {"t": 3.0, "v": [1.5, None], "c": "ema"} and back[2] == 2.0 and np.isnan(back[3])
    assert repr(decode(encode(object()))) == "<object>"
    assert repr(decode({"shape": [2], "data": ["x", 1]})) == "<malformed record>"


def test_arrays_cross_as_exact_float64_bytes():
    """Arrays travel as base64 of their float64 bytes: bit-exact (NaN, infinities, -0.0), any layout, and a
    record whose bytes do not fit its shape is malformed, never reshaped or padded."""
    value = np.array([[0.1, -0.0, np.nan], [np.inf, -np.inf, 1e-310]]).T  # not C-contiguous
    record = json.loads(json.dumps(encode(value)))
    assert set(record) == {"shape", "f64"}
    back = decode(record)
    assert back.dtype == np.float64 and back.shape == (3, 2) and back.flags.writeable
    assert back.tobytes() == np.ascontiguousarray(value).tobytes()
    assert np.array_equal(decode(encode(np.arange(6, dtype=np.int32))), np.arange(6.0))
    for bad in ({"shape": [4], "f64": record["f64"]}, {"shape": [3, 2], "f64": "not base64!"},
                {"shape": [-1, -6], "f64": record["f64"]}, {"shape": [10**7], "data": []}):
        assert repr(decode(bad)) == "<malformed record>", bad


@pytest.mark.parametrize("name", sorted(__import__("backproplab.checks", fromlist=["REGISTRY"]).REGISTRY))
def test_every_exercise_round_trips_through_records(name, tmp_path, monkeypatch):
    """The course's own exercises: the reference recorded in the kernel passes the outside verdict, and the
    first mutant of the mutation suite fails it — so JSON records carry every input and output type used."""
    from backproplab.checks import REGISTRY
    from tests.test_mutants import MUTANTS

    exercise = REGISTRY[name]
    monkeypatch.setenv(RECORD_DIR_ENV, str(tmp_path / "good"))
    run_check(exercise, exercise.reference, graded=True, hidden=True, seed=11)
    monkeypatch.setenv(RECORD_DIR_ENV, str(tmp_path / "bad"))
    try:
        run_check(exercise, MUTANTS[name][0][1], graded=True, hidden=True, seed=11)
    except AssertionError:
        pass
    monkeypatch.delenv(RECORD_DIR_ENV)
    good = judge(exercise, tmp_path / "good", hidden=True, seed=11)
    assert good.passed, good.message
    assert not judge(exercise, tmp_path / "bad", hidden=True, seed=11).passed
