"""``backproplab publish OUT``: the learner build of a graded class.

Published once (module fixture). Checked: what the build holds (and does not), that no solution, hidden
test or graded implementation is in it (text, syntax tree, every module's functions, the tables' pickle),
that its visible checks say exactly what the full package says on every mutant and right answer of
``tests/mutants``, that repo2docker accepts it, that its notebooks run in a real kernel, and that a notebook
written in it is graded by ``backproplab grade``.
"""

from __future__ import annotations

import ast
import inspect
import io
import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from backproplab.checks import REGISTRY
from backproplab.nbexec import patch_reply_polling
from backproplab.publish import publish, strip_markers
from backproplab.publish.explorers import explorer_call
from backproplab.publish.record import UNPUBLISHED, code_only, exercises, solution_lines, targets
from tests.grading.classbuilder import REPO, dumps, make_course, write_zip
from tests.grading.test_grade import read_csv, run_grade

TOP = {"README.md", "pyproject.toml", "binder", "course", "backproplab", "scripts"}
#: Seconds one cell of a build's notebook may run in a test kernel (the longest, moving every explorer of
#: notebook 07, takes about 30 s on a quiet machine): past it the test fails and says which cell.
CELL_SECONDS = 600

# jupyter/nbclient#312 (backproplab.nbexec): the explorers' cells make nbclient's Output-widget emulation write a
# comm message on the shell socket for every redraw, while it waits on that socket for the cell's reply; a reply
# whose wake-up was consumed by one of those writes sat unread until the cell's whole timeout had passed (the
# "hangs" of the explorer test: the kernel idle, the reply queued in the client's socket). Polled in slices, a
# waiting reply is seen at once.
patch_reply_polling()


@pytest.fixture(scope="module")
def build(tmp_path_factory):
    out = tmp_path_factory.mktemp("publish") / "learners"
    files = publish(out)
    assert files and all(size > 0 or name.endswith(("__init__.py", "skipped.txt")) for name, size in files.items())
    return out


def _text_files(root: Path):
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix not in (".pkl", ".npz"):
            yield path, path.read_text(encoding="utf-8")


def _solution_cells():
    """(notebook, grade id, solution source without markers, hidden tests) of every solutions/ notebook."""
    for path in sorted((REPO / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and cell.cell_type == "code":
                yield path, meta["grade_id"], strip_markers(cell.source), None
            hidden = re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S)
            for text in hidden:
                yield path, meta.get("grade_id"), None, text


def test_the_build_is_the_learner_repository_and_nothing_else(build):
    assert {p.name for p in build.iterdir()} == TOP
    notebooks = sorted(p.relative_to(build / "course") for p in (build / "course").rglob("*.ipynb"))
    assert notebooks == sorted(p.relative_to(REPO / "course") for p in (REPO / "course").glob("*/*.ipynb")
                               if p.parent.name not in UNPUBLISHED)
    for rel in notebooks:  # the released notebooks themselves: cell ids and nbgrader metadata for the grader
        assert (build / "course" / rel).read_bytes() == (REPO / "course" / rel).read_bytes()
    names = {p.name for p in build.rglob("*")}
    for absent in ("solutions", "autograder", "tests", "gradebook.db", "grading", "sandbox", "trusted.py",
                   "release.py", "publish", "nbgrader_config.py", "grading_secret"):
        assert absent not in names, absent
    assert os.access(build / "binder" / "postBuild", os.X_OK)
    assert "does not contain them" in (build / "README.md").read_text()


def test_no_solution_and_no_hidden_test_in_the_text(build):
    """Searched as text: no nbgrader region, no hidden test; and no computing line of any solution (an operator
    or a numpy call, strings, comments and spaces aside) in the code of any file of the build."""
    texts = dict(_text_files(build))
    assert not [p for p, t in texts.items() if "BEGIN SOLUTION" in t or "BEGIN HIDDEN TESTS" in t]
    hidden = [" ".join(line.split()) for _, _, _, text in _solution_cells() if text for line in text.splitlines()]
    assert len(hidden) > 20
    for line in hidden:
        assert not [p for p, t in texts.items() if line in " ".join(t.split())], line
    code = {p: code_only(t) for p, t in texts.items() if p.suffix == ".py"}
    code.update({p: code_only("\n".join(c.source for c in nbformat.reads(t, as_version=4).cells
                                          if c.cell_type == "code")) for p, t in texts.items() if p.suffix == ".ipynb"})
    lines = solution_lines(REPO)
    assert len(lines) > 50
    leaks = sorted((line, str(p.relative_to(build))) for line in lines for p, t in code.items() if line in t)
    assert not leaks, leaks


def _bodies(tree) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            if body:
                found.add(ast.dump(ast.Module(body=body, type_ignores=[])))
        elif isinstance(node, ast.Lambda) and _computes(node.body):
            found.add(ast.dump(node.body))
    return found


def _computes(node) -> bool:
    """Whether an expression holds arithmetic or a numpy call: a lambda that only passes its argument on
    (``lambda p: loss_and_grads(p, X, Y, l2)[0]``, a check's and a reference's alike) implements nothing."""
    return any(isinstance(n, ast.BinOp | ast.UnaryOp) or (
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name)
        and n.func.value.id in ("np", "numpy")) for n in ast.walk(node))


def _code_in_strings(tree) -> list:
    """The syntax trees of the strings of ``tree`` that are Python (code compiled at run time, such as notebook
    08's planted backward passes)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "\n" in node.value:
            try:
                found.append(ast.parse(node.value))
            except SyntaxError:
                continue
    return found


def test_no_graded_implementation_in_the_syntax_trees(build):
    """No function or lambda of the build, nor of the code its strings hold (compiled at run time), has the body
    of a solution's function or of a graded function of the full package (each reference and each function
    named like an exercise)."""
    built = set()
    for path in build.rglob("*.py"):
        tree = ast.parse(path.read_text())
        built |= _bodies(tree)
        for program in _code_in_strings(tree):
            built |= _bodies(program)
    graded = {}
    for nb, gid, solution, _ in _solution_cells():
        if solution:
            for body in _bodies(ast.parse(solution)):
                graded[body] = f"{nb.name} {gid}"
    for key, fn in targets().items():
        import inspect
        import textwrap

        for body in _bodies(ast.parse(textwrap.dedent(inspect.getsource(fn)))):
            graded[body] = key
    assert len(graded) > 50
    leaks = sorted(where for body, where in graded.items() if body in built)
    assert not leaks, leaks


def test_every_graded_function_is_a_table_by_any_name(build):
    """Imported from the build by module and name, each graded function's code is one call to the tables."""
    keys = sorted(targets())
    code = ("import importlib, inspect, json, sys\nsys.path.insert(0, sys.argv[1])\nout = {}\n"
            "for key in json.loads(sys.argv[2]):\n"
            "    module, name = key.rsplit('.', 1)\n"
            "    fn = getattr(importlib.import_module(module), name, None)\n"
            "    out[key] = None if fn is None else [inspect.getsource(fn), sorted(fn.__code__.co_names),\n"
            "                                        inspect.getfile(fn)]\n"
            "print(json.dumps(out))\n")
    done = subprocess.run([sys.executable, "-c", code, str(build), json.dumps(keys)], capture_output=True,
                          text=True, timeout=120, cwd=build.parent)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert len(found) == len(keys) >= 31
    absent = [key for key, v in found.items() if v is None]  # helpers only mistakes used: gone altogether
    assert all(".checks." in key for key in absent) and len(absent) < 10, absent
    for key, (source, names, path) in ((k, v) for k, v in found.items() if v is not None):
        assert path.startswith(str(build)), (key, path)
        assert names == ["_published", "reference"], (key, names, source)


def test_the_tables_hold_data_only(build):
    allowed = ("numpy", "builtins", "copyreg", "collections", "_codecs", "backproplab.errors", "backproplab.layers",
               "backproplab.activations", "backproplab.network", "backproplab.regularization")
    seen = set()

    class Only(pickle.Unpickler):
        def find_class(self, module, name):
            obj = super().find_class(module, name)
            seen.add(f"{module}.{name}")
            assert module.startswith(allowed), f"{module}.{name}"
            assert isinstance(obj, type) or module.startswith(("numpy", "copyreg", "_codecs")), f"{module}.{name}"
            return obj

    tables = Only(io.BytesIO((build / "backproplab" / "_published_tables.pkl").read_bytes())).load()
    assert set(tables) == {"reference", "mistake", "arrays", "near", "by_values"}
    assert not any(s.endswith(("FunctionType", "CodeType", "eval", "exec")) for s in seen)


def _answered_course(build: Path, folder: Path) -> Path:
    """A copy of the build's ``course/`` in ``folder`` with every notebook answered and saved (as a learner who
    got everything right: notebook 08 reads the learner's parts from the saved 02-07 beside it)."""
    course = folder / "course"
    for path in sorted((build / "course").glob("*/*.ipynb")):
        dest = course / path.relative_to(build / "course")
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(_answered(path), dest)
    return course


@pytest.fixture(scope="module")
def saved(build, tmp_path_factory) -> Path:
    """The build's course, every notebook answered and saved."""
    return _answered_course(build, tmp_path_factory.mktemp("answered"))


def _errors(nb) -> dict:
    return {c.get("id"): o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"}


def _text(nb, cell_id: str) -> str:
    (cell,) = [c for c in nb.cells if c.get("id") == cell_id]
    return "".join(o.get("text", "") for o in cell.outputs) + "".join(
        str(o.get("data", {}).get("text/plain", "")) for o in cell.outputs)


def test_notebook_08_trains_the_learners_own_parts_in_the_build(build, saved):
    """Notebook 08 in the build, every notebook answered and saved: its network is made of the learner's parts
    from 02-07 (section 2 says so, part by part), it trains to the target, and every cell runs."""
    path = saved / "08_training" / "08_training.ipynb"
    nb = nbformat.read(path, as_version=4)
    _execute(nb, path, build)
    assert not _errors(nb), {k: v["evalue"][:300] for k, v in _errors(nb).items()}
    collected = _text(nb, "s2-collect")
    assert "11 of 11 parts are yours" in collected, collected
    run = _text(nb, "s7-run")
    accuracy = float(re.search(r"validation accuracy: ([\d.]+)%", run).group(1))
    assert accuracy >= 95.0 and "with 11 of 11 parts of your own" in run, run
    assert "target 95%" in _text(nb, "test-train-digits")
    assert "validation accuracy" in _text(nb, "s9-measure") and "AdamW" in _text(nb, "s9-measure")


def test_notebook_08_names_a_missing_part_in_one_line(build, tmp_path):
    """Notebook 03 left as released: no course's part to fall back on in the build, so section 2 names the
    missing parts with their notebook, a cell that needs one says which in one line (no traceback), and the
    checks of 08's own exercises still answer."""
    course = _answered_course(build, tmp_path)
    released = build / "course" / "03_backward_pass" / "03_backward_pass.ipynb"
    (course / "03_backward_pass" / "03_backward_pass.ipynb").write_bytes(released.read_bytes())
    path = course / "08_training" / "08_training.ipynb"
    nb = nbformat.read(path, as_version=4)
    _execute(nb, path, build)
    collected = _text(nb, "s2-collect")
    assert "8 of 11 parts are yours" in collected, collected
    for part in ("dense_backward", "relu_backward", "relative_error"):
        assert f"✗ {part} (notebook 03): missing" in collected, collected
    errors = _errors(nb)
    for cell_id in ("s4-check", "s7-run", "s9-measure", "s10-run"):  # the cells that run the network
        error = errors[cell_id]
        assert error["ename"] == "MissingPart" and "(notebook 03) is not ready" in error["evalue"], (cell_id, error)
        assert error["traceback"] == [f"MissingPart: {error['evalue']}"], error["traceback"]
    for check in ("try-minibatches", "try-numerical-gradients", "try-train-step", "try-train",
                  "try-fixed-loss-and-grads"):
        assert "match the reference" in _text(nb, check), (check, _text(nb, check))


def _messages(where: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "tests.publish.visible_checks", where], capture_output=True,
                          text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


#: Answers of ``tests/mutants`` that call the package's own graded functions or the course's network (notebook
#: 08's ``training.train_digits``, ``training.loss_and_grads``, ``network.mlp_loss_and_grads``), which a learner's
#: notebook in a build cannot call either: there their check says so in one line.
CALL_THE_PACKAGE = {"fixed_loss_and_grads/correct/fx_correct_package",
                    "fixed_loss_and_grads/correct/fx_correct_training", "train_digits/below_target/td_one_epoch",
                    "train_digits/below_target/td_untrained", "train_digits/correct/td_wider",
                    "train_digits/correct/train_digits", "train_digits/structure/td_returns_losses"}
#: A wrong answer that calls the course's network with values no right answer passes it (``train_step`` without
#: l2 and keep_prob): rejected in the build too, which cannot say which slip (the table holds right answers' calls).
OFF_THE_RIGHT_CALLS = {"train_step/regularization_not_passed/ts_forgets_regularization"}
#: A right answer that reaches the course's network one rounding away (``+= h``, ``-= 2h``, ``+= h``): passed in
#: both, answered at the recorded point in the build (a relative error of 0).
NEAR_RIGHT = {"numerical_gradients/correct/ng_plus_minus_in_place"}
#: Wrong answers that approximate an analytic gradient with the package's centred difference, which the build
#: answers only on the course's own functions (``gradcheck.numerical_gradient``, matched by values): one line
#: that says so, and that finite differences are not the answer.
FINITE_DIFFERENCES = {"dense_backward/approximate/dense_backward_fd", "mse_grad/approximate/mse_grad_numeric",
                      "softmax_backward/approximate/softmax_backward_numerical_vjp",
                      "two_layer_backward/finite_differences/tl_numerical"}


def test_the_visible_checks_say_the_same_in_the_build(build):
    full = _messages("-")
    learners = _messages(str(build))
    assert learners["package"].startswith(str(build)) and not full["package"].startswith(str(build))
    assert len(full["messages"]) > 400
    assert set(full["messages"]) == set(learners["messages"]) and set(exercises()) == set(REGISTRY)
    for key in CALL_THE_PACKAGE:
        assert "raised NotPublished" in learners["messages"][key] and "not part of this course build" in \
            learners["messages"][key], (key, learners["messages"][key])
    for key in OFF_THE_RIGHT_CALLS:
        assert "Likely mistake" in full["messages"][key], full["messages"][key]
        assert "raised NotPublished" in learners["messages"][key] and "right answer passes it" in \
            learners["messages"][key], (key, learners["messages"][key])
    for key in NEAR_RIGHT:
        assert "match the reference" in full["messages"][key] and "match the reference" in learners["messages"][key]
    for key in FINITE_DIFFERENCES:
        assert "close to the answer" in full["messages"][key] or "finite-difference" in full["messages"][key]
        assert "raised NotPublished" in learners["messages"][key] and "analytic gradient does not take finite" \
            in learners["messages"][key], (key, learners["messages"][key])
    exempt = CALL_THE_PACKAGE | OFF_THE_RIGHT_CALLS | NEAR_RIGHT | FINITE_DIFFERENCES
    published = {k: v for k, v in full["messages"].items() if k not in exempt}
    assert {k: v for k, v in learners["messages"].items() if k not in exempt} == published
    assert sum("Likely mistake" in m for m in learners["messages"].values()) > 150  # named mistakes
    assert sum("match the reference" in m for m in learners["messages"].values()) > 30  # right answers pass


#: Answers the build still computes without any table: each needs the exercise's own step (He's factor over
#: LeCun's or Xavier's, telling the planted bug in each of eight passes), and grading refuses them
#: (checks/_copies.py poisons the initializers and the planted passes). INSTRUCTORS.md lists them ("What a
#: learner can still find in a build").
STILL_IN_BUILD = ["fixed_loss_and_grads <- (a majority vote of debugging's planted passes)",
                  "he_normal <- (initializers.lecun_normal * sqrt(2))",
                  "he_normal <- (initializers.xavier_normal * sqrt((n_in + n_out) / n_in))"]


def test_no_function_of_the_build_answers_an_exercise(build):
    """Every function of the build, and answers composed of them (``same_answers.COMPOSED``), called on every
    exercise's visible cases with the build's tables emptied: only :data:`STILL_IN_BUILD` returns the reference's
    results (``activations.softmax`` was notebook 04's ``stable_softmax``, ``gradcheck.numerical_gradient`` notebook
    01's ``numerical_derivative``). The same probe on the full package finds every copy and composed answer it
    looks for (``tests/sandbox/test_copies.py``), so it can fail."""
    from tests.publish.same_answers import probe

    assert probe(str(build)) == STILL_IN_BUILD


def test_repo2docker_accepts_the_build(build):
    """repo2docker's own detection, without Docker: the Dockerfile it would build (``--no-build --debug``)."""
    r2d = Path(sys.executable).with_name("repo2docker")
    done = subprocess.run([r2d, "--no-build", "--debug", str(build)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    dockerfile = done.stdout + done.stderr
    assert 'env update -p ${NB_PYTHON_PREFIX} --file "binder/environment.yml"' in dockerfile
    assert "./binder/postBuild" in dockerfile or "binder/postBuild" in dockerfile
    assert "COPY --chown=0:0 src/ ${REPO_DIR}/" in dockerfile  # the whole build: the package, the notebooks


def _answered(path: Path) -> nbformat.NotebookNode:
    """The build's notebook with every answer cell holding the solution (as a learner who got it right)."""
    nb = nbformat.read(path, as_version=4)
    source = nbformat.read(REPO / "solutions" / path.parent.name / path.name, as_version=4)
    answers = {c.metadata["nbgrader"]["grade_id"]: strip_markers(c.source) for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


def _execute(nb: nbformat.NotebookNode, path: Path, root: Path, seconds: int = CELL_SECONDS) -> None:
    """Run ``nb`` (a notebook of the build at ``path``) in a real kernel whose ``backproplab`` is ``root``'s
    package; a cell that runs past ``seconds``, or a kernel that dies, fails the test and says where."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    started = []
    old = os.environ.copy()
    os.environ.update({"PYTHONPATH": str(root), "MPLBACKEND": "Agg"})  # the kernel's environment
    try:
        NotebookClient(nb, timeout=seconds, kernel_name="python3", allow_errors=True,
                       on_cell_start=lambda cell, cell_index: started.append(cell.get("id") or cell_index),
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except CellTimeoutError:
        pytest.fail(f"{path.name}: cell {started[-1:]} still running after {seconds} s (interrupted)",
                    pytrace=False)
    except DeadKernelError as exc:
        pytest.fail(f"{path.name}: the kernel died in cell {started[-1:]}: {exc}", pytrace=False)
    finally:
        os.environ.clear()
        os.environ.update(old)


def test_a_cell_past_its_time_fails_the_test_and_says_which(tmp_path):
    """The kernel tests never hang: a cell still running at the deadline fails them, naming the notebook and cell."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1", id="quick"),
                                         nbformat.v4.new_code_cell("import time\ntime.sleep(60)", id="slow")])
    with pytest.raises(pytest.fail.Exception, match=r"late\.ipynb: cell \['slow'\] still running after 3 s"):
        _execute(nb, tmp_path / "late.ipynb", tmp_path, seconds=3)


def test_a_control_tabulated_at_its_largest_value_covers_its_others():
    """The premise of ``explorers.AT_LARGEST``, for each explorer it names: the other controls where the explorer
    starts, every graded call the explorer makes at any value of the control it also makes at the largest value
    (so publishing drives the others with that control at its largest and no redraw is lost)."""
    import matplotlib.pyplot as plt

    from backproplab import widgets
    from backproplab.publish.explorers import AT_LARGEST, controls, reachable
    from backproplab.publish.record import recording, targets

    functions = targets()
    assert AT_LARGEST
    for name, prefixes in AT_LARGEST.items():
        box = getattr(widgets, name)()
        (control,) = [c for c in controls(box) if c.description.startswith(prefixes)]
        values = reachable(control)
        calls = {}
        for value in [values[-1], *values[:-1]]:  # each a change: the explorer redraws
            tables: dict = {"reference": {}, "mistake": {}, "arrays": {}}
            with recording(functions, tables):
                control.value = value
            plt.close("all")
            calls[value] = set(tables["reference"])
        assert len(values) > 2 and calls[values[-1]], (name, values)
        missing = {v: len(keys - calls[values[-1]]) for v, keys in calls.items() if keys - calls[values[-1]]}
        assert not missing, (name, missing)


def test_the_notebooks_run_in_a_kernel_on_the_build(build):
    """Every notebook of the build, answered, runs top to bottom in a real kernel that imports the build's
    package; the only errors are the figures whose tables were too large (listed in the build), which say so."""
    skipped = set((build / "backproplab" / "_published_skipped.txt").read_text().split())
    failures = {}
    for path in sorted((build / "course").glob("*/*.ipynb")):
        if path.parent.name == "08_training":  # on the learner's saved parts: test_notebook_08_trains_...
            continue
        nb = _answered(path)
        _execute(nb, path, build)
        for cell in nb.cells:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    failures[f"{path.name}:{cell.get('id')}"] = f"{output['ename']}: {output['evalue']}"
        first = next(c for c in nb.cells if c.cell_type == "code")
        assert not any(o.get("output_type") == "error" for o in first.outputs), path
        if path.name == "07_optimizers.ipynb":  # the training figure, with the solutions' optimizers
            (run,) = [c for c in nb.cells if c.get("id") == "s6-run"]
            text = "".join(o.get("text", "") for o in run.outputs)
            assert "using your adam" in text and "using your rmsprop" in text, text
            assert any("Figure" in str(o.get("data", {})) for o in run.outputs), run.outputs
    unexpected = {k: v for k, v in failures.items() if k not in skipped or not v.startswith("NotPublished")}
    assert not unexpected, unexpected
    assert set(failures) <= skipped
    assert not skipped  # every figure is tabulated (07's training figure by near inputs: record.NEAR)


def test_a_training_figure_off_the_course_path_says_so_in_one_line(build):
    """Notebook 07's training figure with a learner's Adam that leaves out the bias correction: the network's
    gradients were tabulated along the course's paths only, and the cell says so in one line (how far the
    weights are from the nearest recorded ones), no traceback; the other cells are unaffected (the graded cell
    of ``adam`` names the slip)."""
    path = build / "course" / "07_optimizers" / "07_optimizers.ipynb"
    nb = _answered(path)
    (adam,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex-adam"]
    adam.source = adam.source.replace("m_hat = m / (1 - b1**t)", "m_hat = m").replace(
        "v_hat = v / (1 - b2**t)", "v_hat = v")
    assert "m_hat = m\n" in adam.source and "v_hat = v\n" in adam.source
    _execute(nb, path, build)
    errors = {c.get("id"): o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"}
    assert set(errors) == {"s6-run", "test-adam"}, {k: v["evalue"][:200] for k, v in errors.items()}
    assert "not bias-corrected" in errors["test-adam"]["evalue"]  # the graded cell names the slip
    error = errors["s6-run"]
    assert error["ename"] == "NotPublished" and "away (relative) from the nearest" in error["evalue"], error
    assert error["traceback"] == [f"NotPublished: {error['evalue']}"]


def test_no_check_of_the_build_calls_a_near_table(build):
    """The tables of ``record.NEAR`` answer near inputs, for figures: no code of the build's checks calls them
    (their references and mistakes that did are tables themselves), so no verdict comes from a near answer;
    except notebook 08's network, answered at rounding distance only (1e-12: a finite difference moves by at
    most 5e-8 there, far inside every check's tolerance), which its checks call (a right ``numerical_gradients``
    may perturb ``+= h``, ``-= 2h``, ``+= h``)."""
    from backproplab.publish.record import NEAR, NEAR_IN_CHECKS

    assert all(NEAR[key] <= 1e-12 for key in NEAR_IN_CHECKS)
    names = {key.rsplit(".", 1)[1] for key in NEAR if key not in NEAR_IN_CHECKS}
    checks = sorted((build / "backproplab" / "checks").glob("*.py")) + sorted(
        (build / "backproplab" / "checking").glob("*.py"))
    assert len(checks) > 10
    calls = [(p.name, n.lineno) for p in checks for n in ast.walk(ast.parse(p.read_text()))
             if isinstance(n, ast.Call) and (getattr(n.func, "id", None) or getattr(n.func, "attr", None)) in names]
    assert not calls, calls


def _explorers(nb) -> list[tuple[str, str]]:
    """``(cell id:explorer, expression)`` of every explorer cell of ``nb`` (code ending in ``widgets.NAME(...)``)."""
    found = []
    for cell in nb.cells:
        call = explorer_call(cell.source) if cell.cell_type == "code" else None
        if call:
            found.append((f"{cell.get('id')}:{call[0]}", call[1]))
    return found


def explorer_moves(root: Path, answered: bool, course: Path | None = None) -> dict:
    """Every explorer of the notebooks under ``root/course``, in a real kernel importing ``root``'s package, after
    the notebook ran (``answered``: with the solutions in its answer cells, else as released), moved through
    reachable positions (:mod:`tests.publish.explorer_moves`): ``{notebook:cell:explorer: [move, ...]}``."""
    from backproplab.publish import explorers

    # the build has no backproplab.publish: the kernel gets its controls() and reachable() as source
    mover = "\n\n".join(["from __future__ import annotations\nfrom collections.abc import Iterator",
                          inspect.getsource(explorers.controls), inspect.getsource(explorers.reachable),
                          Path(__file__).with_name("explorer_moves.py").read_text()])
    found = {}
    for path in sorted((course or root / "course").glob("*/*.ipynb")):
        nb = _answered(path) if answered else nbformat.read(path, as_version=4)
        explorers = _explorers(nb)
        if not explorers:
            continue
        nb.cells.append(nbformat.v4.new_code_cell(f"{mover}\nreport({explorers!r}, globals())"))
        _execute(nb, path, root)
        text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
        errors = [o for o in nb.cells[-1].outputs if o.get("output_type") == "error"]
        assert not errors and "EXPLORER-MOVES " in text, (path.name, errors, text[-2000:])
        moves = json.loads(text.split("EXPLORER-MOVES ", 1)[1].splitlines()[0])
        found.update({f"{path.name}:{label}": m for label, m in moves.items()})
    return found


@pytest.mark.parametrize("answered", [False, True], ids=["as-released", "answered"])
def test_every_explorer_redraws_in_the_build(build, answered, saved):
    """Every explorer of the build's notebooks, in a real kernel on the build's package, moved control by control
    to its ends and random reachable values, then to random whole positions: no move raises or shows
    NotPublished, and each explorer's display changes (the explorers that call graded functions included:
    gradient check, init, vanishing gradients, loss, race)."""
    moves = explorer_moves(build, answered, saved if answered else None)
    names = {label.rsplit(":", 1)[1] for label in moves}
    assert {"init_explorer", "gradient_check_explorer", "vanishing_gradient_explorer", "loss_explorer",
            "optimizer_race", "softmax_explorer", "chain_rule_explorer", "dropout_explorer",
            "fitting_explorer"} <= names, names
    if not answered:  # 08's explorer trains the learner's own parts, none written yet: every move says so
        fitting = moves.pop(next(label for label in moves if label.endswith(":fitting_explorer")))
        assert len(fitting) >= 4 and all((m["error"] or "").startswith("MissingPart: notebook 08 runs on your own "
                                                                        "parts") for m in fitting), fitting[:2]
    broken = {label: [m for m in ms if m["error"]] for label, ms in moves.items()}
    broken = {label: ms[:3] for label, ms in broken.items() if ms}
    assert not broken, broken
    for label, ms in moves.items():
        assert len(ms) >= 4, (label, ms)
        changed = sum(m["changed"] for m in ms)
        assert changed >= len(ms) // 2, (label, changed, ms)


def test_a_notebook_written_in_the_build_is_graded(build, tmp_path):
    name = "03_backward_pass"
    root = make_course(tmp_path, [name])
    right = _answered(build / "course" / name / f"{name}.ipynb")
    wrong = _answered(build / "course" / name / f"{name}.ipynb")
    for cell in wrong.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex-dense-backward":
            cell.source = cell.source.replace("dW = X.T @ dZ", "dW = X.T @ dZ / X.shape[0]")
            assert "/ X.shape[0]" in cell.source
    export = write_zip(tmp_path / "export.zip", {f"ann/{name}.ipynb": dumps(right), f"ben/{name}.ipynb": dumps(wrong)})
    out = tmp_path / "reports"
    rc, text = run_grade(export, "--course", root, "--jobs", 2, "--out", out, "--no-release")
    assert rc == 0, text
    rows = {r["student_id"]: r for r in read_csv(out / "grades.csv")}
    assert float(rows["ann"]["score"]) == float(rows["ann"]["max_score"]) > 0
    exercises = {(r["student_id"], r["cell"]): float(r["score"]) for r in read_csv(out / "exercises.csv")}
    assert exercises[("ben", "test-dense-backward")] == 0
    assert float(rows["ben"]["score"]) < float(rows["ann"]["score"])


def test_the_installed_wheel_is_the_build(build, tmp_path):
    """The wheel pip builds from the build (what `pip install` puts in site-packages) holds the build's package
    files and nothing else: everything checked above holds for it."""
    import shutil
    import zipfile

    source = tmp_path / "source"  # pip writes build/ and *.egg-info into the folder it builds
    shutil.copytree(build, source)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = tmp_path.glob("backproplab-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        files = {n: zf.read(n) for n in zf.namelist() if n.startswith("backproplab/")}
    built = {str(p.relative_to(build)): p.read_bytes() for p in (build / "backproplab").rglob("*")
             if p.is_file() and (p.suffix in (".py", ".pkl"))}
    assert files == built


def _browser_helpers():
    """tests/browser's conftest (server and Chromium) as a module of its own, and its lab driver."""
    import importlib.util

    here = REPO / "tests" / "browser"
    spec = importlib.util.spec_from_file_location("bplab_browser_conftest", here / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = conftest  # its dataclasses look their module up
    spec.loader.exec_module(conftest)  # puts tests/browser on sys.path: lab_driver imports
    import lab_driver

    return conftest, lab_driver


def test_the_race_redraws_in_jupyterlab_on_the_build(build, tmp_path):
    """The build's notebook 07 as released, opened in a real JupyterLab (learner settings, the build's package in
    the kernel) in headless Chromium and run cell by cell; the race, which races the references while the
    exercises are not written (their paths are tables), gets its first learning-rate slider moved with the
    keyboard: what it shows changes, and no error or NotPublished appears."""
    from playwright.sync_api import sync_playwright

    conftest, lab_driver = _browser_helpers()
    exe = conftest.find_chromium()
    assert exe, "no Chromium: `make browser` installs it"
    (tmp_path / "lab").mkdir()
    server = conftest._start_server(tmp_path / "lab", root=build, env_extra={"PYTHONPATH": str(build)})
    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=exe, headless=True, args=conftest.CHROMIUM_ARGS)
        page = chromium.new_context(viewport=conftest.VIEWPORT).new_page()
        page.set_default_timeout(60_000)
        page.on("dialog", lambda dialog: dialog.accept())
        lab = lab_driver.Lab(page, server)
        lab.open("course/07_optimizers/07_optimizers.ipynb")
        lab.run_each()
        assert lab.wait_idle(), "the kernel is still busy after running every cell"
        assert lab.wait_widgets(), "widgets still loading"
        cells = [c for c in lab.report()["cells"] if c["type"] == "code"]
        (race,) = [c for c in cells if "widgets.optimizer_race" in c["source"]]
        (eid,) = [d["explorer"] for d in race["dom"] if d["widget"]]
        explorer = page.locator(f'[data-bplab-explorer="{eid}"]')
        explorer.scroll_into_view_if_needed()
        before = explorer.text_content()
        assert "not written yet: using the reference" in before, before[:500]
        result = lab.poke(eid)
        after = explorer.text_content()
        assert result["control"] == "slider" and result["changed"], (result, after[:800], server.log_tail())
        assert not lab.explorer_errors(eid), lab.explorer_errors(eid)
        assert "NotPublished" not in after and "not part of this course build" not in after
        assert after != before
        chromium.close()
    finally:
        pw.stop()
        conftest._stop_server(server)
