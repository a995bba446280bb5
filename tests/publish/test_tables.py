"""The publish tables, recorded and answered as a learner build does, without publishing a build (seconds):
what a judged exercise's tables hold, and the callbacks a tabulated function calls."""

from __future__ import annotations

import numpy as np
import pytest

from backproplab.publish import record, runtime


def _as_built(monkeypatch, tables: dict) -> None:
    """Answer from ``tables`` as the build does: no recorder, the tables loaded (inside :func:`record.recording`,
    whose swapped code is the build's body)."""
    monkeypatch.setattr(runtime, "_RECORDER", None)
    monkeypatch.setattr(runtime, "_TABLES", tables)


def test_a_judged_exercise_is_tabulated_without_running_its_reference():
    """``train_digits`` is judged by the accuracy of the learner's network: its check never runs the reference,
    so publishing does not either (it trained the course's network 30 epochs and recorded every step: 286 MB)."""
    from backproplab import training
    from backproplab.checks.training import TRAIN_DIGITS

    assert TRAIN_DIGITS.judge is not None
    functions = {record.key_of(f): f for f in (training.train_digits, training.train, training.train_step,
                                              training.minibatches)}
    tables = record.tabulate(only={"train_digits": TRAIN_DIGITS}, functions=functions)
    assert not tables["reference"], sorted({k for k, _ in tables["reference"]})
    assert record._array_bytes(tables) == 0


def _small_run():
    from backproplab import training

    rng = np.random.default_rng(3)
    params = training.init_network((3, 4, 2), rng)
    X = rng.standard_normal((7, 3))
    Y = np.eye(2)[rng.integers(0, 2, 7)]
    return params, X, Y


def test_the_calls_of_a_callback_are_made_again_by_the_table(monkeypatch):
    """A tabulated ``train`` given ``callback(epoch, params, losses)`` calls it as the function did, with the
    values it had then (the check of ``train`` reads what its callback saw); the table's result is the same."""
    from backproplab import training
    from backproplab.optimizers import adam

    functions = {record.key_of(training.train): training.train}
    tables: dict = {"reference": {}, "mistake": {}, "arrays": {}}
    params, X, Y = _small_run()

    def run(seen):
        def callback(epoch, params, losses):
            seen.append((epoch, {k: v.copy() for k, v in params.items()}, list(losses)))

        return training.train(params, X, Y, 3, 3, adam, {"learning_rate": 0.05}, 0.01, 1.0,
                              np.random.default_rng(5), callback)

    recorded, replayed = [], []
    with record.recording(functions, tables):
        first = run(recorded)
        assert len(tables["reference"]) == 1
        _as_built(monkeypatch, tables)
        again = run(replayed)
        with pytest.raises(runtime.NotPublished):  # another callback function is another input
            training.train(params, X, Y, 3, 3, adam, {"learning_rate": 0.05}, 0.01, 1.0, np.random.default_rng(5),
                           lambda *a: None)
    assert [e for e, _, _ in recorded] == [0, 1, 2] and len(recorded[-1][2]) == 9
    assert len(replayed) == len(recorded)
    for (e1, p1, l1), (e2, p2, l2) in zip(recorded, replayed, strict=True):
        assert e1 == e2 and l1 == l2
        assert all(np.array_equal(p1[k], p2[k]) for k in p1)
    assert first[1] == again[1] and all(np.array_equal(first[0][k], again[0][k]) for k in first[0])


def test_a_function_passed_on_is_fingerprinted_as_itself():
    """Wrapped to record its calls, a function argument keeps its name: the graded calls it is passed on to
    (``train`` passes ``update`` to ``train_step``) are keyed as when the learner's code passes it."""
    from backproplab import training
    from backproplab.optimizers import adam

    functions = {record.key_of(f): f for f in (training.train, training.train_step)}
    tables: dict = {"reference": {}, "mistake": {}, "arrays": {}}
    params, X, Y = _small_run()
    with record.recording(functions, tables):
        training.train(params, X, Y, 1, 7, adam, {"learning_rate": 0.05}, rng=np.random.default_rng(5))
    rng = np.random.default_rng(5)
    ((X_batch, Y_batch),) = training.minibatches(X, Y, 7, rng)  # the one batch, as the learner's loop gets it
    configs = {k: {"learning_rate": 0.05} for k in params}
    step = ("backproplab.training.train_step", runtime.fingerprint(
        [("params", params), ("configs", configs), ("X", X_batch), ("Y", Y_batch), ("update", adam),
         ("l2", 0.0), ("keep_prob", 1.0), ("rng", rng)]))
    assert step in tables["reference"], sorted(tables["reference"])
    assert tables["reference"][step][0] == "return"


def test_a_whole_result_table_is_answered_as_built(monkeypatch):
    """A function tabulated whole (``record.EXPLORER_DATA``: its result, not the graded calls inside it) answers
    in the build like any table."""
    from backproplab import training

    key = record.key_of(training.minibatches)
    monkeypatch.setattr(record, "EXPLORER_DATA", (key,))
    tables: dict = {"reference": {}, "mistake": {}, "arrays": {}}
    params, X, Y = _small_run()
    with record.recording({key: training.minibatches}, tables):
        first = training.minibatches(X, Y, 3, np.random.default_rng(2))
        _as_built(monkeypatch, tables)
        again = training.minibatches(X, Y, 3, np.random.default_rng(2))
    assert len(tables["reference"]) == 1 and len(first) == len(again) == 3
    assert all(np.array_equal(a, b) for pair, other in zip(first, again, strict=True)
               for a, b in zip(pair, other, strict=True))


def test_a_near_table_answers_inputs_within_its_tolerance_only(monkeypatch):
    """``mlp_loss_and_grads`` (``record.NEAR``): weights within 1e-9 (relative) of recorded ones get the recorded
    result, which the function itself gives there to ~1e-9; weights farther get a plain sentence saying how far
    (in IPython, that sentence instead of a traceback); another shape is not an input of the table at all."""
    from backproplab.network import init_mlp, mlp_loss_and_grads

    key = record.key_of(mlp_loss_and_grads)
    assert key in record.NEAR and key in record.EXPLORER_DATA
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((30, 2)), (rng.random((30, 1)) > 0.5).astype(float)
    params = init_mlp([2, 8, 1], rng=1)
    tables: dict = {"reference": {}, "mistake": {}, "arrays": {}, "near": {}}

    def moved(rel):
        return {k: v * (1 + rel) for k, v in params.items()}

    monkeypatch.setattr(record, "_IN_WHOLE_CELL", [True])  # publishing the training figure's cell
    with record.recording({key: mlp_loss_and_grads}, tables):
        loss, grads = mlp_loss_and_grads(params, X, Y, output="sigmoid", loss="bce")
        again = mlp_loss_and_grads(moved(1e-12), X, Y, output="sigmoid", loss="bce")  # answered as the build
        assert len(tables["near"][key]["inputs"]) == 1 and again[0] == loss
        _as_built(monkeypatch, tables)
        near_loss, near_grads = mlp_loss_and_grads(moved(1e-10), X, Y, output="sigmoid", loss="bce")
        with pytest.raises(runtime.NotPublished, match=r"1\.0e-06 away \(relative\)") as far:
            mlp_loss_and_grads(moved(1e-6), X, Y, output="sigmoid", loss="bce")
        with pytest.raises(runtime.NotPublished, match="not part of this course build"):
            mlp_loss_and_grads(params, X[:10], Y[:10], output="sigmoid", loss="bce")
        with pytest.raises(runtime.NotPublished, match="not part of this course build"):  # other settings
            mlp_loss_and_grads(params, X, Y, output="sigmoid", loss="bce", l2=0.1)
    true_loss, true_grads = mlp_loss_and_grads(moved(1e-10), X, Y, output="sigmoid", loss="bce")
    assert near_loss == loss and all(np.array_equal(near_grads[k], grads[k]) for k in grads)
    assert abs(true_loss - loss) <= 1e-9 * abs(loss)
    assert all(np.linalg.norm(true_grads[k] - grads[k]) <= 1e-8 * np.linalg.norm(grads[k]) for k in grads)
    assert far.value._render_traceback_() == [f"NotPublished: {far.value}"]


@pytest.mark.parametrize("in_whole_cell", [True, False], ids=["training-figure", "elsewhere"])
def test_a_near_function_is_tabulated_call_by_call_too_outside_its_cells(monkeypatch, in_whole_cell):
    """Outside ``record.WHOLE_CELLS`` a near function is tabulated whole and its graded calls too (a learner's
    ``mlp_backward`` calls the graded ``relu_derivative`` on the inputs a check's mistake gave
    ``mlp_loss_and_grads``), and publishing answers it exactly, never near (a check's table never comes from a
    near answer); in the training figure's cell it is tabulated whole only, and answered near."""
    from backproplab.activations import relu_derivative
    from backproplab.network import init_mlp, mlp_loss_and_grads

    monkeypatch.setattr(record, "_IN_WHOLE_CELL", [in_whole_cell])
    key, inner = record.key_of(mlp_loss_and_grads), record.key_of(relu_derivative)
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((12, 3)), rng.standard_normal((12, 2))
    params = init_mlp([3, 5, 2], rng=1)
    tables: dict = {"reference": {}, "mistake": {}, "arrays": {}, "near": {}}
    with record.recording({key: mlp_loss_and_grads, inner: relu_derivative}, tables):
        mlp_loss_and_grads(params, X, Y)
        mlp_loss_and_grads({k: v * (1 + 1e-12) for k, v in params.items()}, X, Y)
    keys = [k for k, _ in tables["reference"]]
    assert keys.count(key) == (1 if in_whole_cell else 2)
    assert (inner in keys) is not in_whole_cell


def test_a_function_argument_is_matched_by_its_values(monkeypatch):
    """``numerical_gradients(f, params)`` (``record.MATCHED_BY_VALUES``) answers a loss function of any name that
    returns the recorded values at every point the reference evaluated it, and no other: a learner's
    ``wrong_gradients`` hands the course's ``numerical_gradients`` a function of its own."""
    from backproplab import training

    functions = {record.key_of(training.numerical_gradients): training.numerical_gradients}
    tables: dict = {"reference": {}, "mistake": {}, "arrays": {}}
    params, X, Y = _small_run()

    def loss(p):
        return training.loss_and_grads(p, X, Y)[0]

    with record.recording(functions, tables):
        recorded = training.numerical_gradients(loss, params)
        _as_built(monkeypatch, tables)

        def renamed(p):  # another name, the same values
            value, _ = training.loss_and_grads(p, X, Y)
            return value

        again = training.numerical_gradients(renamed, params)
        assert again.keys() == recorded.keys() and all(np.array_equal(again[k], recorded[k]) for k in again)
        with pytest.raises(runtime.NotPublished):  # other values at one of the points: another input
            training.numerical_gradients(lambda p: training.loss_and_grads(p, X, Y, l2=0.1)[0], params)
        tenth = training.numerical_gradients(renamed, params, h=1e-6)  # a step of record.ALSO_TABULATED
        assert all(np.allclose(tenth[k], recorded[k], rtol=1e-6, atol=1e-8) for k in tenth)
        with pytest.raises(runtime.NotPublished):  # a step of no table
            training.numerical_gradients(renamed, params, h=2e-5)


def _nearest_by_loop(tables: dict, key: str, params: list, start: int):
    """:func:`runtime.nearest` written as the plain loop it replaces: the first input within the tolerance in
    recording order from ``start`` (round), else the smallest gap."""
    near = tables["near"][key]
    shape = runtime.fingerprint(runtime.skeleton(params))
    given = runtime._arrays(params, [])
    inputs, best = near["inputs"], None
    for i in [*range(start, len(inputs)), *range(0, start)]:
        if inputs[i][0] != shape:
            continue
        gap = runtime.distance(given, [tables["arrays"][r] for r in inputs[i][1]])
        if gap <= near["rtol"]:
            return i, gap
        best = gap if best is None or not best <= gap else best
    return None, best


def test_the_nearest_input_is_the_loops_on_random_tables(monkeypatch):
    """The stacked search of a near table (:class:`runtime._Block`) gives what the loop over inputs gives: the
    same entry (several within the tolerance: the first after the last answered), the same smallest gap, none
    for an unknown shape, NaN near nothing; inputs recorded between two searches are searched too."""
    rng = np.random.default_rng(5)
    key = "k"
    tables: dict = {"reference": {}, "arrays": {}, "near": {key: {"rtol": 1e-9, "inputs": [], "checks": False}}}
    shapes = [(3, 2), (4, 4)]

    def record_input(params):
        refs = []
        for array in runtime._arrays(params, []):
            ref = runtime.fingerprint(array)
            tables["arrays"].setdefault(ref, np.array(array, copy=True))
            refs.append(ref)
        fp = runtime.fingerprint(params)
        tables["near"][key]["inputs"].append((runtime.fingerprint(runtime.skeleton(params)), refs, fp))
        tables["reference"][(key, fp)] = fp

    recorded = []
    monkeypatch.setattr(runtime, "_LAST", {})
    for step in range(120):
        if step % 3 == 0 or not recorded:
            shape = shapes[rng.integers(2)]
            params = [("W", rng.standard_normal(shape)), ("b", rng.standard_normal((1, shape[1]))), ("lr", 0.1)]
            record_input(params)
            recorded.append(params)
            if rng.random() < 0.5:  # a twin of an earlier input, within the tolerance: two inputs answer
                twin = [(n, v * (1 + 1e-11) if isinstance(v, np.ndarray) else v)
                        for n, v in recorded[rng.integers(len(recorded))]]
                record_input(twin)
                recorded.append(twin)
        base = recorded[rng.integers(len(recorded))]
        scale = rng.choice([0.0, 1e-12, 1e-10, 1e-8, 1e-3])
        query = [(n, v * (1 + scale * rng.standard_normal(v.shape)) if isinstance(v, np.ndarray) else v)
                 for n, v in base]
        if step % 17 == 5:
            query = [(n, np.full_like(v, np.nan) if n == "W" else v) for n, v in query]
        if step % 23 == 7:
            query = [(n, rng.standard_normal((2, 2)) if n == "W" else v) for n, v in query]
        start = runtime._LAST.get(key, -1) + 1
        i, want = _nearest_by_loop(tables, key, query, start)
        entry, gap = runtime.nearest(tables, key, query)
        if i is None:
            assert entry is None and (gap is None) == (want is None), (step, gap, want)
            if want is not None and want == want:
                assert gap == pytest.approx(want, rel=1e-9), step
        else:
            inputs = tables["near"][key]["inputs"]
            assert entry == inputs[i][2] and runtime._LAST[key] == i, step
            assert gap == pytest.approx(want, rel=1e-6, abs=1e-15), step
