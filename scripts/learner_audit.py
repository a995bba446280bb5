"""A mechanical learner: every small slip of the solutions' code, checked as a learner's answer would be.

The mutants of ``tests/mutants/`` are slips someone thought of. This audit writes its own, without judgement:
it takes each exercise's function from ``solutions/`` and changes one thing at a time (``+``/``-``, ``*``/``/``,
a comparison's strictness, ``axis=0``/``1``, ``keepdims``, a ``.T`` dropped, the operands of ``@`` swapped,
a minus dropped, a 2 written 1), then runs the learner check and the graded check on several seeds.

It reports what must never happen: a slip whose graded verdict depends on the seed, a slip the learner check
passes but the graded check fails ("all cases match", then zero points), and, for review by a person, the
slips that pass everywhere (mostly equivalent code: ``>`` for ``>=`` where no input sits on the boundary).
It also counts how each rejected slip is explained: by a hand-written mistake, by a generic finding that names
the slip's own class (correctly), by one that names another (WRONGLY: a wrong name is worse than none), by a
description only (where the error is, no cause claimed), or by the error the code raised, shown at its line.
Every slip knows its class (:data:`SLIP_CLASSES`: a ``+`` for a ``-`` is a sign slip, a dropped ``.T`` a
transpose, ``axis=`` changed a sum over the other axis, ...), every generic finding its family
(:func:`backproplab.checking.diagnosis.family`), and :data:`COMPATIBLE` says which families name which class.

    python -m scripts.learner_audit               # 20 seeds per slip
    python -m scripts.learner_audit --seeds 100 --exercise dense_backward
    python -m scripts.learner_audit --seeds 5 --names     # every generic explanation, one line per slip
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from backproplab.checking import evaluate, run_check
from backproplab.checking.diagnosis import family, is_generic_name
from backproplab.checks import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
_STRICT = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt}

#: The class of each kind of slip (the first word of its description).
SLIP_CLASSES = {"Add": "sign", "Sub": "sign", "minus": "sign", "Mult": "mul_div", "Div": "mul_div",
                "MatMult": "operand_order", "comparison": "boundary", "axis=": "axis", "keepdims=": "axis",
                ".T": "transpose", "2": "factor"}
#: Which families of generic findings (diagnosis.family) name a slip of each class correctly. A constant factor
#: off ("scale") is the truth about a sign slip in a factor (1 − βᵗ written 1 + βᵗ) as about a `*` for a `/`.
COMPATIBLE = {
    "sign": {"sign", "scale"},
    "mul_div": {"inverted", "factor", "scale"},
    "operand_order": {"transpose", "variable", "order"},
    "boundary": {"boundary"},
    "axis": {"axis"},
    "transpose": {"transpose"},
    "factor": {"factor", "scale"},
}


def slip_class(what: str) -> str:
    """``"sign"`` for ``"Sub changed at line 9"``: the class of a slip from its description."""
    return SLIP_CLASSES[what.split()[0]]


def solution_functions():
    """``(exercise, context, function)`` for every exercise a notebook of ``solutions/`` solves (its function
    holds ``### BEGIN SOLUTION``); ``context`` is the notebook's imports (without plots and widgets) and its
    other functions, which the exercise may call (``mlp_forward`` calls ``dense_forward``)."""
    for path in sorted(ROOT.glob("solutions/*/*.ipynb")):
        cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        imports, functions = [], []
        for cell in cells:
            for node in ast.parse("".join(cell["source"])).body:
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    node.names = [a for a in node.names if a.name not in ("plots", "widgets")
                                  and "plots" not in a.name and "widgets" not in a.name]
                    imports += [node] if node.names else []
                elif isinstance(node, ast.FunctionDef):
                    functions.append((node, "BEGIN SOLUTION" in ast.get_source_segment("".join(cell["source"]),
                                                                                       node)))
        for node, solved in functions:
            if solved and node.name in REGISTRY:
                others = [f for f, _ in functions if f is not node]
                yield node.name, imports + others, node


def _sites(fn: ast.FunctionDef):
    """Every node of ``fn`` one operator can change, as (index in ast.walk, description)."""
    for i, node in enumerate(ast.walk(fn)):
        if isinstance(node, ast.BinOp) and (type(node.op) in _SWAP or isinstance(node.op, ast.MatMult)):
            yield i, f"{type(node.op).__name__} changed at line {node.lineno}"
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _STRICT:
            yield i, f"comparison strictness at line {node.lineno}"
        elif isinstance(node, ast.keyword) and node.arg in ("axis", "keepdims"):
            yield i, f"{node.arg}= changed at line {node.value.lineno}"
        elif isinstance(node, ast.Attribute) and node.attr == "T":
            yield i, f".T dropped at line {node.lineno}"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            yield i, f"minus dropped at line {node.lineno}"
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value == 2:
            yield i, f"2 written 1 at line {node.lineno}"


class _Mutate(ast.NodeTransformer):
    def __init__(self, target: int, order: list):
        self.target = order[target]

    def visit(self, node):
        node = self.generic_visit(node)
        if node is not self.target:
            return node
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            node.left, node.right = node.right, node.left
        elif isinstance(node, ast.BinOp):
            node.op = _SWAP[type(node.op)]()
        elif isinstance(node, ast.Compare):
            node.ops = [_STRICT[type(node.ops[0])]()]
        elif isinstance(node, ast.keyword) and node.arg == "axis":
            node.value = ast.Constant(1 if getattr(node.value, "value", None) == 0 else 0)
        elif isinstance(node, ast.keyword):
            node.value = ast.Constant(not getattr(node.value, "value", True))
        elif isinstance(node, ast.Attribute):
            return node.value
        elif isinstance(node, ast.UnaryOp):
            return node.operand
        elif isinstance(node, ast.Constant):
            return ast.Constant(1)
        return node


def mutants(fn: ast.FunctionDef):
    """``(description, mutated FunctionDef)`` for every site."""
    for index, what in _sites(fn):
        clone = copy.deepcopy(fn)
        order = list(ast.walk(clone))
        yield what, ast.fix_missing_locations(_Mutate(index, order).visit(clone))


def _compile(name: str, context: list, fn: ast.FunctionDef):
    module = ast.Module(body=[*context, fn], type_ignores=[])
    namespace: dict = {}
    exec(compile(ast.fix_missing_locations(module), f"<audit {name}>", "exec"), namespace)
    return namespace[name]


def _timeout(*_):
    raise TimeoutError


def judge_name(ex, what: str, mistake: str | None) -> str:
    """How the learner check explained a slip: ``"hand-written"``, ``"named correctly"``, ``"named wrongly"``,
    ``"described only"`` or ``"raised"`` (the code raised; the error is shown at its line). A finding of the
    exercise's own harness (``caches`` of the wrong length) counts with the hand-written ones."""
    if mistake in {mk.name for mk in ex.mistakes} or (family(mistake) is not None and not is_generic_name(mistake)
                                                      and mistake != "scale"):
        return "hand-written"
    if mistake == "exception":
        return "raised"
    fam = family(mistake)
    if fam in COMPATIBLE[slip_class(what)]:
        return "named correctly"
    return "described only" if fam is None else "named wrongly"


def audit(seeds: int, only: str | None = None) -> dict:
    problems, survivors, names, total = [], [], Counter(), 0
    explained: list[tuple[str, str, str]] = []
    latency: list[tuple[float, str]] = []
    signal.signal(signal.SIGALRM, _timeout)
    for name, imports, fn in solution_functions():
        if only and name != only:
            continue
        ex = REGISTRY[name]
        for what, mutated in mutants(fn):
            total += 1
            try:
                signal.alarm(20)
                learner = _compile(name, imports, mutated)
                start = time.process_time()
                visible = run_check(ex, learner)
                latency.append((1000 * (time.process_time() - start), f"{name}: {what}"))
                graded = [evaluate(ex, learner, hidden=True, seed=s).passed for s in range(seeds)]
            except TimeoutError:
                problems.append(f"{name}: {what}: the check took over 20 s")
                continue
            finally:
                signal.alarm(0)
            if any(graded) and not all(graded):
                problems.append(f"{name}: {what}: graded verdict depends on the seed "
                                f"(passes {sum(graded)}/{seeds})")
            elif visible.passed and not any(graded):
                problems.append(f"{name}: {what}: the learner check passes, the graded check fails")
            elif visible.passed and all(graded):
                survivors.append(f"{name}: {what}")
            if not visible.passed:
                how = judge_name(ex, what, visible.mistake)
                names[how] += 1
                explained.append((how, f"{name}: {what} [{slip_class(what)}]", visible.message))
    return {"total": total, "problems": problems, "survivors": survivors, "names": names, "explained": explained,
            "slowest": max(latency, default=(0.0, "none"))}


def summary(r: dict) -> str:
    """The figures: how the rejected slips are explained, and the share the generic diagnosis names correctly
    among those no hand-written mistake names (the slips that raise an error are counted apart)."""
    n = r["names"]
    generic = n["named correctly"] + n["named wrongly"] + n["described only"]
    share = n["named correctly"] / generic if generic else 1.0
    return (f"{r['total']} one-operator slips of the solutions; rejected by the learner check: {sum(n.values())}: "
            f"named by a hand-written mistake {n['hand-written']}; raised an error (shown at its line) "
            f"{n['raised']}; of the other {generic}, the generic diagnosis names {n['named correctly']} correctly "
            f"({100 * share:.0f} %), {n['named wrongly']} WRONGLY, describes {n['described only']} only; "
            f"pass everywhere: {len(r['survivors'])}; problems: {len(r['problems'])}; slowest learner check "
            f"(CPU time, one run): {r['slowest'][0]:.0f} ms ({r['slowest'][1]})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--exercise")
    parser.add_argument("--names", action="store_true", help="print how every rejected slip is explained")
    args = parser.parse_args(argv)
    r = audit(args.seeds, args.exercise)
    for line in r["problems"]:
        print("PROBLEM", line)
    for line in r["survivors"]:
        print("passes everywhere (equivalent?)", line)
    for how, slip, message in r["explained"]:
        if args.names or how == "named wrongly":
            print(f"{how.upper() if how == 'named wrongly' else how}: {slip}: {message}")
    print(summary(r))
    return 1 if r["problems"] or r["names"]["named wrongly"] else 0


if __name__ == "__main__":
    sys.exit(main())
