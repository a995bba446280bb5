"""``backproplab publish OUT``: the learner build of a graded class, checked as files and as a package.

Published once per test run (``tests/publish/conftest.py``). Checked: what the build holds (and does not),
that no solution, hidden test or graded implementation is in it (text, syntax tree, every module's functions,
the tables' pickle), that its visible checks say exactly what the full package says on every mutant and right
answer of ``tests/mutants``, that repo2docker accepts it and that pip installs exactly it. Its notebooks in a
real kernel: ``test_build_answered.py`` and ``test_build_released.py``.
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

from backproplab.checks import REGISTRY
from backproplab.publish import strip_markers
from backproplab.publish.record import UNPUBLISHED, code_only, exercises, solution_lines, targets
from tests.grading.classbuilder import REPO

TOP = {"README.md", "pyproject.toml", "binder", "course", "backproplab", "scripts"}
#: Seconds one cell of a build's notebook may run in a test kernel (the longest, moving every explorer of
#: notebook 07, takes about 30 s on a quiet machine): past it the test fails and says which cell.


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


def _messages(where: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "tests.publish.visible_checks", where], capture_output=True,
                          text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


#: Answers of ``tests/mutants`` that call the package's own graded functions or the course's network (notebook
#: 08's ``training.train_digits``, ``training.loss_and_grads``, ``network.mlp_loss_and_grads``), which a learner's
#: notebook in a build cannot call either: there their check says so in one line.


#: Answers of ``tests/mutants`` that call the package's own graded functions or the course's network (notebook
#: 08's ``training.train_digits``, ``training.loss_and_grads``, ``network.mlp_loss_and_grads``), which a learner's
#: notebook in a build cannot call either: there their check says so in one line.
CALL_THE_PACKAGE = {"fixed_loss_and_grads/correct/fx_correct_package",
                    "fixed_loss_and_grads/correct/fx_correct_training", "train_digits/below_target/td_one_epoch",
                    "train_digits/below_target/td_untrained", "train_digits/correct/td_wider",
                    "train_digits/correct/train_digits", "train_digits/structure/td_returns_losses"}
#: A wrong answer that calls the course's network with values no right answer passes it (``train_step`` without
#: l2 and keep_prob): rejected in the build too, which cannot say which slip (the table holds right answers' calls).


#: A wrong answer that calls the course's network with values no right answer passes it (``train_step`` without
#: l2 and keep_prob): rejected in the build too, which cannot say which slip (the table holds right answers' calls).
OFF_THE_RIGHT_CALLS = {"train_step/regularization_not_passed/ts_forgets_regularization"}
#: A right answer that reaches the course's network one rounding away (``+= h``, ``-= 2h``, ``+= h``): passed in
#: both, answered at the recorded point in the build (a relative error of 0).


#: A right answer that reaches the course's network one rounding away (``+= h``, ``-= 2h``, ``+= h``): passed in
#: both, answered at the recorded point in the build (a relative error of 0).
NEAR_RIGHT = {"numerical_gradients/correct/ng_plus_minus_in_place"}
#: Wrong answers that approximate an analytic gradient with the package's centred difference, which the build
#: answers only on the course's own functions (``gradcheck.numerical_gradient``, matched by values): one line
#: that says so, and that finite differences are not the answer.


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
