"""Publish time: tabulate every graded function on the inputs the visible checks use.

Every target function (:func:`targets`) has its code swapped, for the duration of :func:`recording`, for the
same body the learner build gets (``return _published.reference(KEY, PARAMS)``), whose hook calls the
original and records the result. Then every exercise's visible trials are drawn, the reference run through
the exercise's harness and every recognised mistake evaluated, exactly as a visible check does.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import types

import numpy as np

from backproplab.publish import runtime

#: Instructor-side or build-time modules: never part of a learner build, never tabulated.
EXCLUDED = ("backproplab.grading", "backproplab.sandbox", "backproplab.publish", "backproplab.trusted",
            "backproplab.release", "backproplab.cli", "backproplab.nbexec", "backproplab.checks._copies")

#: Notebooks not part of a learner build, with the modules that are theirs alone (left out of the build, never
#: tabulated): none. Notebook 08 runs on the learner's own parts in a build (:mod:`backproplab.parts`: no course's
#: part to fall back on there; the network, its predictions and the live view are made of the parts, the loss
#: from the learner's ``stable_softmax``), its training cells run the learner's code only
#: (:data:`LEARNER_CODE_CELLS`), its checks answer from tables like every other notebook's: the course's network
#: near at rounding distance (:data:`NEAR`), the course's ``numerical_gradients`` by the values of the function
#: it is given (:data:`MATCHED_BY_VALUES`), and the debugging module holds no correct pass (:mod:`.planted`).
UNPUBLISHED: dict[str, tuple[str, ...]] = {}
#: Cells of the notebooks not run while publishing: in the build they run the learner's own code only (their
#: parts, their training loop), or say in one line what is missing; tables recorded there would serve no one
#: (and would be hundreds of MB: a network trained from scratch).
LEARNER_CODE_CELLS = {"08_training.ipynb": ("s4-check", "s7-run", "s7-confusion",
                                            "s7-misclassified", "s8-widget", "s9-measure")}
#: Graded functions taking a function whose table is also found by the values that function returns, at
#: every point the reference called it (the reference's result depends on nothing else): a learner's
#: ``wrong_gradients`` hands the course's ``numerical_gradients`` a loss function of its own, under any name.
MATCHED_BY_VALUES = ("backproplab.training.numerical_gradients", "backproplab.gradcheck.numerical_gradient")
#: Arguments a right answer may choose for itself, and the values tabulated beside each recorded call: a
#: learner's ``wrong_gradients`` may call ``numerical_gradients`` with a step of its own.
ALSO_TABULATED = {"backproplab.training.numerical_gradients": ("h", (1e-3, 1e-4, 1e-5, 1e-6, 1e-7))}
#: Near tables that answer checks (the others answer figures): their messages speak of a check's cases.
NEAR_IN_CHECKS = ("backproplab.training.loss_and_grads",)
UNPUBLISHED_MODULES = tuple(m for modules in UNPUBLISHED.values() for m in modules)


#: Functions of the figures and explorers tabulated whole (their results, not every graded call inside them): the
#: graded calls of one call are too many to tabulate on every slider position (a gradient norm per layer of a
#: 40-layer network, a 500-step path). In the build they are tables like the graded functions.
EXPLORER_DATA = ("backproplab.training.loss_and_grads",
                 "backproplab.plots.activation_functions.layer_gradient_norms",
                 "backproplab.trajectories.reference_path",
                 "backproplab.network.mlp_loss_and_grads",
                 "backproplab.plots.optimizers.classifier_probabilities")

#: Package functions that return a graded function's result under another name, on every visible case (found
#: by calling every other function of the build on each exercise's visible cases:
#: ``tests/publish/test_publish.py::test_no_function_of_the_build_answers_an_exercise``). ``softmax(Z)`` is
#: notebook 04's ``stable_softmax``: tabulated like it. The centred difference ``gradcheck.numerical_gradient`` is
#: notebook 01's ``numerical_derivative`` (and, one loop away, 08's ``numerical_gradients``): a table matched by
#: the values of the function it is given (:data:`MATCHED_BY_VALUES`), so the course's own gradient checks run
#: in the build and a learner's function is checked with the learner's own centred difference.
SAME_AS_GRADED = ("backproplab.activations.softmax", "backproplab.training._stable_softmax",
                  "backproplab.training._relu_backward", "backproplab.training._softmax_cross_entropy_grad",
                  "backproplab.gradcheck.numerical_gradient")

#: Functions tabulated whole whose tables also answer an input within a relative tolerance of a recorded one
#: (every array ``||a - b|| <= rtol ||b||``, everything else equal), by the recorded result: notebook 07's
#: training figure (``s6-run``) trains a network with the learner's own optimizers, which follow the course's
#: paths to rounding (measured: weights within 2.3e-11, elementwise, of the references' over the 200 steps, for
#: the solutions' RMSprop and Adam, which round differently from the references'), and needs the network's
#: gradients and predictions there. An input farther from every recorded one says so in plain words.
#: Notebook 08's network is answered near, at rounding distance only (1e-12), because a right
#: ``numerical_gradients`` may perturb an entry by ``+= h``, ``-= 2h``, ``+= h`` and reach ``p - h`` and ``p``
#: one rounding away from where the reference does; that far off, a finite difference moves by less than
#: 1e-12 / (2h) = 5e-8 (relative), far inside every check's tolerance, so no verdict can change.
NEAR = {"backproplab.training.loss_and_grads": 1e-12,
        "backproplab.network.mlp_loss_and_grads": 1e-9,
        "backproplab.plots.optimizers.classifier_probabilities": 1e-9}
#: The cells where the :data:`NEAR` functions are tabulated whole only (the graded calls inside them are not:
#: 199 MB in ``s6-run``) and answered near while publishing, as the build answers them. Elsewhere they are
#: tabulated whole *and* call by call, and answered exactly while publishing (a check's tables never come from a
#: near answer).
WHOLE_CELLS = ("07_optimizers.ipynb:s6-run",)
_IN_WHOLE_CELL = [False]


def unpublished(module: str) -> bool:
    """Whether the dotted ``module`` is instructor-side or belongs to a notebook left out of the build."""
    return any(module == e or module.startswith(e + ".") for e in EXCLUDED + UNPUBLISHED_MODULES)


def key_of(fn) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def exercises() -> dict:
    """The exercises of the notebooks a learner build holds."""
    import importlib

    from backproplab.checks import REGISTRY

    left_out = {ex.name for m in UNPUBLISHED_MODULES if m.startswith("backproplab.checks.")
                for ex in importlib.import_module(m).EXERCISES}
    return {name: ex for name, ex in REGISTRY.items() if name not in left_out}


def targets() -> dict[str, types.FunctionType]:
    """The graded functions: each exercise's reference and every package function named like an exercise."""
    return dict(_targets())


@functools.cache
def _targets() -> dict[str, types.FunctionType]:
    """:func:`targets`, found once per process (reading every function's source and the solutions: seconds;
    and while :func:`recording`, a graded function's code is not its source's)."""
    import importlib
    import pkgutil

    import backproplab

    found: dict[str, types.FunctionType] = {}
    names = set(exercises())
    for ex in exercises().values():
        ref = inspect.unwrap(ex.reference)
        if "<locals>" in ref.__qualname__:
            raise RuntimeError(f"the reference of {ex.name} is not a module-level function")
        found[key_of(ref)] = ref
    for fn in list(found.values()):
        if fn.__module__.startswith("backproplab.checks."):
            found.update(_helpers(fn))
    for key in EXPLORER_DATA + SAME_AS_GRADED:
        module, name = key.rsplit(".", 1)
        found[key] = getattr(importlib.import_module(module), name)
    lines = solution_lines()
    for info in pkgutil.walk_packages(backproplab.__path__, "backproplab."):
        if unpublished(info.name) or info.name.startswith(("backproplab.plots", "backproplab.widgets")):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if not (isinstance(value, types.FunctionType) and value.__module__ == info.name
                    and value.__qualname__ == name):
                continue
            if name in names:
                found[key_of(value)] = value
                continue
            code = code_only(inspect.getsource(value))  # once per function, not once per solution line
            if any(line in code for line in lines):
                found[key_of(value)] = value
    return found


def code_only(text: str) -> str:
    """``text``'s code without strings, comments and spaces: ``'Z = X @ W + b  # (m, n)'`` -> ``'Z=X@W+b'``."""
    import io
    import tokenize

    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type not in (tokenize.STRING, tokenize.COMMENT):
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return "".join(text.split())
    return "".join("".join(out).split())


def solution_lines(root=None) -> set[str]:
    """Every computing line of the solutions (``solutions/``), as :func:`code_only`: a line with an operator
    or a numpy call, not a ``def``/``for``/``if`` header. A package function holding one is tabulated."""
    import re
    from pathlib import Path

    import nbformat

    root = Path(root) if root else Path(__file__).resolve().parents[2]
    found = set()
    for path in sorted((root / "solutions").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
                regions = re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S)
                for line in "\n".join(regions).splitlines():  # the answer, not the given code around it
                    code = code_only(line.strip())
                    if (len(code) >= 6 and re.search(r"[@*/+\-]|np\.", code)
                            and not code.startswith(("def", "for", "if", "elif", "while", "###"))):
                        found.add(code)
    return found


def _helpers(fn) -> dict[str, types.FunctionType]:
    """The module-level functions of ``fn``'s (check) module that ``fn`` calls, transitively: a reference's
    helpers (notebook 01's ``graph_gradients``) are its implementation too."""
    import ast
    import sys

    module = sys.modules[fn.__module__]
    tree = ast.parse(inspect.getsource(module))
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    todo, seen = [fn.__name__], set()
    while todo:
        name = todo.pop()
        for node in ast.walk(defs[name]):
            if isinstance(node, ast.Name) and node.id in defs and node.id not in seen and node.id != fn.__name__:
                seen.add(node.id)
                todo.append(node.id)
    return {f"{module.__name__}.{n}": getattr(module, n) for n in seen
            if isinstance(getattr(module, n, None), types.FunctionType)}


def param_source(fn) -> tuple[str, str]:
    """``("a, b=None, *args, c=None, **kw", "[('a', a), ('b', b), ('args', args), ('c', c), ('kw', kw)]")``."""
    sig = inspect.signature(fn)
    parts, items, star = [], [], False
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
            star = True
        elif p.kind is p.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        else:
            if p.kind is p.KEYWORD_ONLY and not star:
                parts.append("*")
                star = True
            parts.append(p.name + ("=None" if p.default is not p.empty else ""))
        items.append(f"({p.name!r}, {p.name})")
    positional_only = [p for p in sig.parameters.values() if p.kind is p.POSITIONAL_ONLY]
    if positional_only:
        parts.insert(len(positional_only), "/")
    return ", ".join(parts), "[" + ", ".join(items) + "]"


_SIGNATURES: dict = {}  # inspect.signature of each original, once (a million calls while explorers are driven)


def _call(original, params: list):
    sig = _SIGNATURES.get(original.__code__)
    if sig is None:
        sig = _SIGNATURES[original.__code__] = inspect.signature(original)
    args, kwargs = [], {}
    for (name, value), p in zip(params, sig.parameters.values(), strict=True):
        if p.kind is p.VAR_POSITIONAL:
            args.extend(value)
        elif p.kind is p.VAR_KEYWORD:
            kwargs.update(value)
        elif p.kind is p.KEYWORD_ONLY:
            kwargs[name] = value
        else:
            args.append(value)
    return original(*args, **kwargs)


@contextlib.contextmanager
def recording(functions: dict[str, types.FunctionType], tables: dict):
    """Swap the code of ``functions`` for the learner build's body; record every call into ``tables``."""
    originals = {}
    for key, fn in functions.items():
        originals[key] = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__,
                                            fn.__closure__)
        originals[key].__kwdefaults__ = fn.__kwdefaults__

    pool = tables["arrays"]
    inside = [0]  # calls of EXPLORER_DATA under way: the graded calls they make are not tabulated
    also = [False]  # tabulating the calls of ALSO_TABULATED

    def hook(key, params):
        if inside[0]:  # a graded call inside a function tabulated whole: not tabulated itself
            return _call(originals[key], params)
        if key in EXPLORER_DATA:
            fp = runtime.fingerprint(params)
            entry = tables["reference"].get((key, fp))
            if entry is None and key in NEAR and _IN_WHOLE_CELL[0]:
                entry, _ = runtime.nearest(tables, key, params)
            if entry is not None:  # tabulated whole already: answered as the build will answer it
                _, result, after, _ = runtime.unpack(entry, pool)
                runtime._replay(params, after)
                return result
            before = [runtime.fingerprint(v) for _, v in params]
            # a NEAR function is tabulated whole and, outside the cells of WHOLE_CELLS, its graded calls too (a
            # check's harness or a learner's function calls its parts on the same inputs); not notebook 08's
            # network, whose parts nothing else calls on its inputs (the checks call the network whole)
            whole_only = key not in NEAR or _IN_WHOLE_CELL[0] or key in NEAR_IN_CHECKS
            inside[0] += whole_only
            try:
                result = _call(originals[key], params)
            finally:
                inside[0] -= whole_only
            if not callable(result):
                entry = ("return", copy.deepcopy(result), runtime._after_state(params, before), [])
                tables["reference"][(key, fp)] = runtime.pack(entry, pool)
                if key in NEAR:
                    _keep_input(tables, key, params, fp)
            return result
        fp = runtime.fingerprint(params)
        before = [runtime.fingerprint(v) for _, v in params]
        calls: list = []
        replies: list | None = [] if key in MATCHED_BY_VALUES else None
        try:
            result = _call(originals[key], _spied(params, calls, replies))
        except Exception as exc:
            if (key, fp) not in tables["reference"]:
                tables["reference"][(key, fp)] = runtime.pack(
                    ("raise", exc, runtime._after_state(params, before), calls), pool)
            raise
        # a function that makes a function (a check's mistake factory holding solution lines) is not data:
        # not tabulated; the build never calls it (its callers are tables, or mistakes, themselves tables)
        if replies is not None:  # told apart by what the function returned too (two lambdas share a name)
            fp = runtime.fingerprint([params, [reply[3] for reply in replies]])
        if (key, fp) not in tables["reference"] and not callable(result):
            tables["reference"][(key, fp)] = runtime.pack(
                ("return", copy.deepcopy(result), runtime._after_state(params, before), calls), pool)
            if replies is not None:
                tables.setdefault("by_values", {}).setdefault((key, runtime.fingerprint(runtime.masked(params))),
                                                              []).append((fp, runtime.pack(replies, pool)))
            if key in ALSO_TABULATED and not also[0]:
                name, values = ALSO_TABULATED[key]
                also[0] = True
                try:
                    for value in values:
                        with contextlib.suppress(Exception):
                            hook(key, [(n, value if n == name else v) for n, v in params])
                finally:
                    also[0] = False
        return result

    saved = {}
    try:
        for key, fn in functions.items():
            signature, items = param_source(fn)
            namespace: dict = {}
            exec(f"def {fn.__name__}({signature}):\n    return __published__.reference({key!r}, {items})\n",
                 {}, namespace)
            saved[key] = fn.__code__
            fn.__globals__["__published__"] = runtime
            fn.__code__ = namespace[fn.__name__].__code__
        runtime._RECORDER = hook
        yield tables
    finally:
        runtime._RECORDER = None
        for key, code in saved.items():
            functions[key].__code__ = code
            functions[key].__globals__.pop("__published__", None)


def _keep_input(tables: dict, key: str, params: list, fp: str) -> None:
    """Keep the arrays of an input of a :data:`NEAR` function, for :func:`runtime.nearest` to measure."""
    near = tables.setdefault("near", {}).setdefault(key, {"rtol": NEAR[key], "inputs": [],
                                                          "checks": key in NEAR_IN_CHECKS})
    refs = []
    for array in runtime._arrays(params, []):
        ref = runtime.fingerprint(array)
        tables["arrays"].setdefault(ref, np.array(array, copy=True))
        refs.append(ref)
    near["inputs"].append((runtime.fingerprint(runtime.skeleton(params)), refs, fp))


_FUNCTIONS = (types.FunctionType, types.BuiltinFunctionType, np.ufunc, functools.partial)


def _spied(params: list, calls: list, replies: list | None = None) -> list:
    """``params`` with every function argument (a callback) wrapped so that each of its calls that returns
    None is kept in ``calls`` as ``(argument index, args, kwargs)``: a procedure's effect is what it did to its
    caller's state (a training loop's ``callback(epoch, params, losses)`` filling the check's list), which the
    build replays (:func:`runtime.reference`). The wrapper keeps the function's name: a graded call it is passed
    on to is fingerprinted as with the function itself. ``replies``: every call and what it returned, kept too
    (:data:`MATCHED_BY_VALUES`)."""
    out = []
    for index, (name, value) in enumerate(params):
        if isinstance(value, _FUNCTIONS):  # a lambda, a numpy ufunc (np.exp), a partial: told apart by values
            value = _spy(value, index, calls, replies)
        out.append((name, value))
    return out


def _spy(fn, index: int, calls: list, replies: list | None = None):
    @functools.wraps(fn)
    def spy(*args, **kwargs):
        kept = (index, copy.deepcopy(args), copy.deepcopy(kwargs))  # as they were when the call was made
        out = fn(*args, **kwargs)
        if out is None:
            calls.append(kept)
        elif replies is not None:
            replies.append((*kept, copy.deepcopy(out)))
        return out
    return spy


def tabulate(extra=None, *, only: dict | None = None, functions: dict | None = None) -> dict:
    """Tables of every graded function and every mistake on the visible trials (and on what
    ``extra(tables)``, called while recording, computes: the notebooks' figures). ``only``: these exercises
    (``{name: Exercise}``) instead of the build's; ``functions``: these instead of :func:`targets`.

    A judged exercise (``Exercise.judge``: a trained network judged by its accuracy) has its reference never
    run: its check judges the learner's result alone (running the reference of notebook 08's ``train_digits``
    recorded 30 epochs of a 64-64-10 network, 286 MB of arrays, for nothing)."""
    from backproplab.checking import trial_inputs
    from backproplab.checking.values import _copy

    tables: dict = {"reference": {}, "mistake": {}, "arrays": {}, "near": {}, "by_values": {}}
    with recording(targets() if functions is None else functions, tables):
        seen: dict[tuple[str, str], int] = {}
        for ex in (exercises() if only is None else only).values():
            trials = trial_inputs(ex, False, None)
            for args in trials if ex.judge is None else ():  # a judged exercise's check never runs its reference
                with contextlib.suppress(Exception):
                    ex.run(ex.reference, _copy(args))
            for m in ex.mistakes:
                # mistakes of the same name and message are told apart by the order they were made in
                occurrence = seen[(m.name, m.message)] = seen.get((m.name, m.message), -1) + 1
                for args in trials:
                    fp = runtime.fingerprint(tuple(_copy(args)))
                    try:
                        entry = ("return", copy.deepcopy(m.wrong(*_copy(args))))
                    except Exception as exc:
                        entry = ("raise", exc)
                    tables["mistake"][(m.name, m.message, occurrence, fp)] = runtime.pack(entry, tables["arrays"])
        if extra is not None:
            extra(tables)
    return tables


CELL_BUDGET = 2_000_000  # bytes of tabulated arrays one notebook cell may add (a training loop adds far more)
#: Cells allowed more than :data:`CELL_BUDGET`: notebook 07's training figure, 200 steps of a 2-16-16-1 network
#: with each of four optimizers (the references' steps, the gradients and the predictions on a 110 x 110 grid).
CELL_BUDGETS = {"07_optimizers.ipynb:s6-run": 8_000_000}


def _array_bytes(tables: dict) -> int:
    return sum(a.nbytes for a in tables["arrays"].values())


def run_notebooks(notebooks: list, answers: dict | None = None, tables: dict | None = None,
                  skipped: list | None = None) -> None:
    """Run the code cells of ``notebooks`` in this process (figures drawn off screen, explorers built), so
    that the graded functions the figures call are tabulated on the figures' inputs. ``answers`` maps a
    notebook path to ``{grade_id: source}`` put in place of the answer cells (the solutions: the figures
    that draw the learner's own function then draw). A cell whose tables would exceed
    :data:`CELL_BUDGET` is not tabulated (its id goes to ``skipped``): in the build it says so.

    Without ``answers`` (the notebooks as released), every explorer is also moved through every position a
    learner can reach (:mod:`.explorers`). Answered, an explorer given the learner's functions (03, 07) runs
    them, not a graded function; what it still calls (the reference and its numerical gradients in 03's
    dropdown, the race's reference paths) it calls as released too."""
    import contextlib
    import io
    import os

    import matplotlib
    import nbformat

    from backproplab.publish import explorers

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        given = (answers or {}).get(str(path), {})
        namespace: dict = {"__name__": "__main__"}
        here = os.getcwd()
        os.chdir(os.path.dirname(os.path.abspath(path)))
        try:
            for cell in nb.cells:
                if cell.cell_type != "code":
                    continue
                meta = cell.metadata.get("nbgrader", {})
                if meta.get("grade"):
                    continue  # graded test cells: their hidden checks run on the grader
                if cell.get("id") in LEARNER_CODE_CELLS.get(os.path.basename(path), ()):
                    continue  # in the build it runs the learner's code only: nothing to tabulate
                source = given.get(meta.get("grade_id"), cell.source)
                lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
                keys = {k: set(v) for k, v in tables.items() if k != "near"} if tables is not None else None
                kept = {k: len(v["inputs"]) for k, v in tables.get("near", {}).items()} if tables else {}
                size = _array_bytes(tables) if tables is not None else 0
                _IN_WHOLE_CELL[0] = f"{os.path.basename(path)}:{cell.get('id')}" in WHOLE_CELLS
                try:
                    with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
                        exec(compile("\n".join(lines), f"{path}:{cell.get('id')}", "exec"), namespace)
                finally:
                    _IN_WHOLE_CELL[0] = False
                plt.close("all")
                explorer = explorers.explorer_call("\n".join(lines))
                if explorer is not None and tables is not None and answers is None:
                    with contextlib.redirect_stdout(io.StringIO()):
                        box = eval(compile(explorer[1], f"{path}:{cell.get('id')}", "eval"), namespace)
                        explorers.drive(explorer[0], box)
                    plt.close("all")
                    continue  # an explorer's tables: every position a learner can reach, whatever their size
                label = f"{os.path.basename(path)}:{cell.get('id')}"
                if tables is not None and _array_bytes(tables) - size > CELL_BUDGETS.get(label, CELL_BUDGET):
                    for name, old in keys.items():
                        for k in set(tables[name]) - old:
                            del tables[name][k]
                    for k, near in tables.get("near", {}).items():
                        del near["inputs"][kept.get(k, 0):]
                    if skipped is not None:
                        skipped.append(label)
        finally:
            os.chdir(here)
