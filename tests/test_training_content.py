"""Notebook 08 (training a network you built): the shipped data, the learner's parts, the network they make, the
live view, figures, the fitting explorer, AdamW, and the graded result judged outside the kernel."""

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from backproplab import checking, trusted  # noqa: E402
from backproplab import training as T  # noqa: E402
from backproplab.checks import REGISTRY  # noqa: E402
from backproplab.datasets import load_digits, one_hot  # noqa: E402
from backproplab.gradcheck import relative_error  # noqa: E402
from backproplab.network import mlp_loss_and_grads  # noqa: E402
from backproplab.optimizers import adam, adamw  # noqa: E402
from backproplab.parts import PARTS, collect_parts  # noqa: E402
from tests.conftest import ROOT, SOLUTIONS  # noqa: E402

DATA = ROOT / "backproplab" / "data"


# ---------------------------------------------------------------------------------------------- data
def test_digits_file_is_small_and_documented():
    path = DATA / "digits.npz"
    assert path.stat().st_size < 100_000
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in readme and "Alpaydin" in readme and "archive.ics.uci.edu" in readme
    with np.load(path) as archive:
        assert archive["images"].shape == (1797, 8, 8) and archive["images"].dtype == np.uint8
        assert archive["images"].max() == 16 and sorted(set(archive["labels"].tolist())) == list(range(10))


def test_load_digits_split():
    d = load_digits()
    assert d.X_train.shape == (1077, 64) and d.X_val.shape == (360, 64) and d.X_test.shape == (360, 64)
    assert d.y_train.shape == (1077,) and d.Y_val.shape == (360, 10) and d.images_val.shape == (360, 8, 8)
    assert d.X_train.dtype == np.float64 and 0.0 <= d.X_train.min() and d.X_train.max() == 1.0
    np.testing.assert_array_equal(d.Y_train.argmax(axis=1), d.y_train)
    with np.load(DATA / "digits.npz") as archive:  # the three splits are a partition of the 1,797 images
        original = np.c_[archive["images"].reshape(-1, 64) / 16.0, archive["labels"]]
    splits = np.r_[np.c_[d.X_train, d.y_train], np.c_[d.X_val, d.y_val], np.c_[d.X_test, d.y_test]]
    np.testing.assert_array_equal(np.unique(splits, axis=0, return_counts=True)[1].sum(), 1797)
    np.testing.assert_array_equal(np.sort(splits.view([("", float)] * 65), axis=0),
                                  np.sort(original.view([("", float)] * 65), axis=0))
    again = load_digits()
    np.testing.assert_array_equal(again.X_val, d.X_val)
    other = load_digits(seed=1)
    assert not np.array_equal(other.y_val, d.y_val)
    counts = np.bincount(np.concatenate([d.y_train, d.y_val, d.y_test]))
    assert counts.sum() == 1797 and counts.min() >= 174


def test_installed_package_lists_the_data():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"data/*.npz"' in text


# --------------------------------------------------------------------------------------------- parts
def test_parts_from_the_solutions_are_all_yours(capsys):
    parts = collect_parts(SOLUTIONS)
    assert set(parts.sources.values()) == {"yours"}
    assert f"{len(PARTS)} of {len(PARTS)} parts are yours" in capsys.readouterr().out


def _copy_notebook(src_topic: str, dest: Path, edit=None):
    nb = json.loads((SOLUTIONS / src_topic / f"{src_topic}.ipynb").read_text(encoding="utf-8"))
    if edit:
        for cell in nb["cells"]:
            if cell["id"] in edit:
                cell["source"] = edit[cell["id"]]
    (dest / src_topic).mkdir(parents=True)
    (dest / src_topic / f"{src_topic}.ipynb").write_text(json.dumps(nb), encoding="utf-8")


def test_a_wrong_or_missing_part_is_named_and_replaced(tmp_path, capsys):
    wrong = ("def dense_backward(dZ, cache):\n    X, W, b = cache\n"
             "    return dZ @ W.T, X.T @ dZ / X.shape[0], dZ.sum(axis=0, keepdims=True)\n")
    _copy_notebook("03_backward_pass", tmp_path, {"ex-dense-backward": wrong})
    _copy_notebook("07_optimizers", tmp_path)
    parts = collect_parts(tmp_path)
    out = capsys.readouterr().out
    assert parts.sources["adam"] == "yours" and parts.sources["relu_backward"] == "yours"
    assert parts.sources["dense_backward"] == "course" and parts.sources["dense_forward"] == "course"
    line = next(x for x in out.splitlines() if "dense_backward" in x)
    assert "the course's" in line and "1/m" in line, line
    assert "notebook 02 not found" in next(x for x in out.splitlines() if "dense_forward" in x)
    # the network made of these parts still learns
    loss_and_grads = T.make_loss_and_grads(parts)
    rng = np.random.default_rng(0)
    params = T.init_network([3, 4, 2], rng, parts)
    loss, grads = loss_and_grads(params, rng.standard_normal((5, 3)), one_hot([0, 1, 1, 0, 1], 2))
    assert np.isfinite(loss) and set(grads) == {"dW1", "db1", "dW2", "db2"}


def test_a_cell_that_raises_is_named(tmp_path, capsys):
    _copy_notebook("07_optimizers", tmp_path, {"ex-adam": "def adam(w, dw, config=None):\n    return w +\n"})
    parts = collect_parts(tmp_path)
    assert parts.sources["adam"] == "course" and parts.adam is adam
    assert "SyntaxError" in capsys.readouterr().out


def test_an_answer_may_use_its_notebooks_imports(tmp_path, capsys):
    """Notebook 05's setup imports ``softmax``: an answer written with it is the learner's part in 08 too."""
    with_softmax = "def softmax_cross_entropy_grad(Z, Y):\n    return (softmax(Z, axis=1) - Y) / Z.shape[0]\n"
    _copy_notebook("05_loss_functions", tmp_path, {"ex-softmax-cross-entropy-grad": with_softmax})
    parts = collect_parts(tmp_path)
    assert parts.sources["softmax_cross_entropy_grad"] == "yours", capsys.readouterr().out


def test_a_wrong_part_is_quoted_from_its_own_cell(tmp_path, capsys):
    """The check's message quotes the learner's line from the answer cell (not a line of the .ipynb file)."""
    wrong = ("def dense_backward(dZ, cache):\n    X, W, b = cache\n    dX = dZ @ W\n"
             "    return dX, X.T @ dZ, dZ.sum(axis=0, keepdims=True)\n")
    _copy_notebook("03_backward_pass", tmp_path, {"ex-dense-backward": wrong})
    collect_parts(tmp_path)
    line = next(x for x in capsys.readouterr().out.splitlines() if "dense_backward" in x)
    assert "dX = dZ @ W" in line and '"cells"' not in line, line


def test_grading_uses_the_course_parts(monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    parts = collect_parts(SOLUTIONS)
    assert set(parts.sources.values()) == {"course"}
    assert "grading run" in capsys.readouterr().out


# ------------------------------------------------------------------------------------------- network
@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_network_matches_the_package_mlp(l2):
    rng = np.random.default_rng(3)
    params = T.init_network([5, 7, 6, 4], rng)
    X, Y = rng.standard_normal((9, 5)), one_hot(rng.integers(0, 4, 9), 4)
    loss, grads = T.loss_and_grads(params, X, Y, l2=l2)
    ref_loss, ref_grads = mlp_loss_and_grads(params, X, Y, output="softmax", loss="cross_entropy", l2=l2)
    assert abs(loss - ref_loss) < 1e-12
    for key in ref_grads:
        assert relative_error(grads[key], ref_grads[key]) < 1e-12


def test_dropout_network_passes_a_gradient_check_with_a_fixed_mask():
    rng = np.random.default_rng(4)
    params = T.init_network([4, 6, 3], rng)
    X, Y = rng.standard_normal((5, 4)), one_hot([0, 1, 2, 1, 0], 3)

    def f(p):
        return T.loss_and_grads(p, X, Y, l2=0.1, keep_prob=0.7, rng=np.random.default_rng(9))[0]

    _, grads = T.loss_and_grads(params, X, Y, l2=0.1, keep_prob=0.7, rng=np.random.default_rng(9))
    numeric = T.numerical_gradients(f, params)
    for key in grads:
        assert relative_error(grads[key], numeric[key]) < 1e-7


def test_course_recipe_reaches_the_target():
    params = T.train_digits()
    d = load_digits()
    assert T.accuracy(params, d.X_val, d.y_val) >= 0.95 and T.accuracy(params, d.X_test, d.y_test) >= 0.93


# ------------------------------------------------------------------------------------------- adamw
def test_adamw_is_adam_plus_decoupled_decay():
    rng = np.random.default_rng(0)
    w, dw = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    same, _ = adamw(w, dw, {"learning_rate": 0.01, "weight_decay": 0.0})
    np.testing.assert_allclose(same, adam(w, dw, {"learning_rate": 0.01})[0], rtol=0, atol=0)
    nxt, config = adamw(w, dw, {"learning_rate": 0.01, "weight_decay": 0.1})
    np.testing.assert_allclose(nxt, adam(w, dw, {"learning_rate": 0.01})[0] - 0.01 * 0.1 * w, rtol=1e-15)
    assert config["weight_decay"] == 0.1 and config["t"] == 1
    # an L2 penalty through Adam is another method: the decay term is rescaled by Adam's normalization
    l2_step, _ = adam(w, dw + 0.1 * w, {"learning_rate": 0.01})
    assert np.abs(l2_step - nxt).max() > 1e-4


# ------------------------------------------------------------------------------------ live view, plots
def test_monitor_measures_each_epoch_and_draws_nothing_headless(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.delenv("BACKPROPLAB_DRAW", raising=False)
    d = load_digits()
    monitor = T.TrainingMonitor(d, epochs=3)
    assert not monitor.draw
    T.train_digits(callback=monitor, epochs=3)
    h = monitor.history
    assert h["epoch"] == [1, 2, 3] and len(h["val_acc"]) == 3 and h["train_loss"][2] < h["train_loss"][0]
    assert 'value="3" max="3"' in monitor.progress_html()


def test_training_curves_update_in_place():
    from backproplab import plots

    h = {"epoch": [1], "train_loss": [2.0], "val_loss": [2.1], "train_acc": [0.3], "val_acc": [0.25]}
    fig = plots.training_curves_figure(h, epochs=5)
    longer = {k: v + [v[-1] / 2] for k, v in h.items()}
    longer["epoch"] = [1, 2]
    assert plots.update_training_curves(fig, longer) is fig
    xs, ys = fig.axes[1].lines[1].get_data()
    assert list(xs) == [1, 2] and list(ys) == [25.0, 12.5]


def test_confusion_matrix_and_misclassified():
    from backproplab import plots

    y, p = np.array([0, 1, 1, 2, 2, 2]), np.array([0, 1, 2, 2, 2, 0])
    C = plots.confusion_matrix(y, p, k=3)
    np.testing.assert_array_equal(C, [[1, 0, 0], [0, 1, 1], [1, 0, 2]])
    fig = plots.confusion_matrix_figure(y, p, k=3)
    assert "2" in [t.get_text() for t in fig.axes[0].texts]
    images = np.random.default_rng(0).random((6, 64))
    fig = plots.misclassified_figure(images, y, p)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["1 → 2", "2 → 0"]
    assert plots.misclassified_figure(images, y, y).axes[0].texts[0].get_text() == "no misclassified image"


def test_fitting_explorer_reacts_and_shows_over_and_under_fitting():
    from backproplab import widgets
    from backproplab.widgets.training import FIT_DEFAULTS, fit_history, fit_verdict

    d = FIT_DEFAULTS
    plain = fit_history(d["learning_rate"], d["batch_size"], 0.0, 1.0)
    assert plain["val_loss"][-1] > 1.1 * min(plain["val_loss"]) and plain["train_loss"][-1] < 0.01
    assert "over-fitting" in fit_verdict(plain)
    held = fit_history(d["learning_rate"], d["batch_size"], 3e-3, 1.0)  # L2 keeps the validation loss down
    assert held["val_loss"][-1] < 1.05 * min(held["val_loss"]) and min(held["val_loss"]) < min(plain["val_loss"])
    assert "no over-fitting" in fit_verdict(held)
    slow = fit_history(1e-4, d["batch_size"], 0.0, 1.0)
    assert slow["train_acc"][-1] < 0.8 and "under-fitting" in fit_verdict(slow)
    box = widgets.fitting_explorer()
    controls, text = box.children[0], box.children[1]
    before = text.value
    controls.children[1].children[0].value = 3e-3  # the L2 slider
    assert text.value != before and "no over-fitting" in text.value


# ------------------------------------------------------------------------------------- graded result
def test_train_digits_is_judged_outside_the_kernel(tmp_path, monkeypatch):
    ex = REGISTRY["train_digits"]
    monkeypatch.setenv(checking.RECORD_DIR_ENV, str(tmp_path))
    checking.run_check(ex, T.train_digits, graded=True)
    checking.run_check(ex, T.train_digits, graded=True, hidden=True)
    untrained = lambda: T.init_network([64, 8, 10], np.random.default_rng(0))  # noqa: E731
    other = tmp_path / "other"
    monkeypatch.setenv(checking.RECORD_DIR_ENV, str(other))
    with pytest.raises(AssertionError):
        checking.run_check(ex, untrained, graded=True)
    monkeypatch.delenv(checking.RECORD_DIR_ENV)
    passed = trusted.judge(ex, tmp_path, hidden=False, seed=None)
    assert passed.passed and "validation images" in passed.message
    assert trusted.judge(ex, tmp_path, hidden=True, seed=None).passed
    failed = trusted.judge(ex, other, hidden=False, seed=None)
    assert not failed.passed and failed.mistake == "below_target" and "target is 95%" in failed.message


def test_judge_refuses_a_fake_result(tmp_path):
    ex = REGISTRY["train_digits"]
    fake = checking.CheckOutcome(result={"W1": "not an array", "b1": 0.0}, args_after=(0.0,))
    trusted.record(ex, [fake], hidden=False, directory=tmp_path)
    assert not trusted.judge(ex, tmp_path, hidden=False, seed=None).passed


def test_modules_stay_light():
    code = ("import sys, backproplab.training, backproplab.parts, backproplab.datasets, backproplab.checks;"
            "assert 'matplotlib' not in sys.modules and 'ipywidgets' not in sys.modules")
    import subprocess

    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# ---------------------------------------------------------------------------------------- planted bug
def test_each_planted_bug_breaks_what_it_says():
    from backproplab import debugging
    from backproplab.checks.training import _bug_inputs

    for k, bug in enumerate(debugging.BUGS):
        source, buggy = debugging.backward_with(k)
        assert bug.wrong_line in source and bug.line not in source.replace(bug.wrong_line, "")
        for seed in range(4):
            code, params, X, Y, l2 = _bug_inputs(np.random.default_rng(1000 * k + seed), True)
            planted = debugging.backward_with(None if code < 0 else int(code))[1]
            found = set(debugging.wrong_gradients(planted, params, X, Y, l2))
            assert found == (set(debugging.BUGS[int(code)].breaks) if code >= 0 else set()), (code, found)
        rng = np.random.default_rng(k)
        params = T.init_network([4, 3, 3], rng)
        params["b1"], params["b2"] = rng.standard_normal((1, 3)), rng.standard_normal((1, 3))
        X, Y = rng.standard_normal((5, 4)), one_hot(rng.integers(0, 3, 5), 3)
        loss, _ = buggy(params, X, Y, 0.3)
        right, _ = debugging.backward_with(None)[1](params, X, Y, 0.3)
        assert loss == right  # only the gradients are wrong


def test_the_correct_backward_pass_passes_and_equals_the_package():
    from backproplab import debugging

    rng = np.random.default_rng(5)
    params = T.init_network([4, 3, 2], rng)
    X, Y = rng.standard_normal((6, 4)), one_hot(rng.integers(0, 2, 6), 2)
    correct = debugging.backward_with(None)[1]
    assert debugging.wrong_gradients(correct, params, X, Y, 0.2) == []
    loss, grads = correct(params, X, Y, 0.2)
    ref_loss, ref_grads = mlp_loss_and_grads(params, X, Y, output="softmax", loss="cross_entropy", l2=0.2)
    assert abs(loss - ref_loss) < 1e-12 and all(relative_error(grads[k], ref_grads[k]) < 1e-12 for k in grads)


def test_planted_bug_is_drawn_per_submission(monkeypatch):
    from backproplab import debugging

    drawn = {debugging.planted_backward(seed).source for seed in range(40)}
    assert len(drawn) == len(debugging.BUGS)
    monkeypatch.setenv("BACKPROPLAB_GRADING_SEED", "17")
    assert debugging.planted_backward().source == debugging.planted_backward(17).source
