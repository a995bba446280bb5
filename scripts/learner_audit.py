"""A mechanical learner: every small slip of the solutions' code, checked as a learner's answer would be.

The mutants of ``tests/mutants/`` are slips someone thought of. This audit writes its own, without judgement:
it takes each exercise's function from ``solutions/`` and changes one thing at a time (``+``/``-``, ``*``/``/``,
a comparison's strictness, ``axis=0``/``1``, ``keepdims``, a ``.T`` dropped, the operands of ``@`` swapped,
a minus dropped, a 2 written 1), then runs the learner check and the graded check on several seeds.

It reports what must never happen: a slip whose graded verdict depends on the seed, a slip the learner check
passes but the graded check fails ("all cases match", then zero points), and, for review by a person, the
slips that pass everywhere (mostly equivalent code: ``>`` for ``>=`` where no input sits on the boundary).
It also counts which slips are named by a hand-written mistake, by the generic diagnosis, or not at all.

    python -m scripts.learner_audit               # 20 seeds per slip
    python -m scripts.learner_audit --seeds 100 --exercise dense_backward
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import signal
import sys
from collections import Counter
from pathlib import Path

from backproplab.checking import evaluate, run_check
from backproplab.checks import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
_STRICT = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt}


def solution_functions():
    """``(exercise, imports, function source)`` for every exercise defined in ``solutions/``."""
    for path in sorted(ROOT.glob("solutions/*/*.ipynb")):
        cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        imports = "\n".join(line for c in cells for line in "".join(c["source"]).splitlines()
                            if line.startswith(("import ", "from ")) and "plots" not in line
                            and "widgets" not in line)
        for cell in cells:
            tree = ast.parse("".join(cell["source"]))
            for node in tree.body:
                if isinstance(node, ast.FunctionDef) and node.name in REGISTRY:
                    yield node.name, imports, node


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


def _compile(name: str, imports: str, fn: ast.FunctionDef):
    module = ast.Module(body=[*ast.parse(imports).body, fn], type_ignores=[])
    namespace: dict = {}
    exec(compile(ast.fix_missing_locations(module), f"<audit {name}>", "exec"), namespace)
    return namespace[name]


def _timeout(*_):
    raise TimeoutError


def audit(seeds: int, only: str | None = None) -> dict:
    problems, survivors, names, total = [], [], Counter(), 0
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
                visible = run_check(ex, learner)
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
                hand = visible.mistake in {mk.name for mk in ex.mistakes}
                names["hand-written" if hand else ("generic" if visible.mistake else "described only")] += 1
    return {"total": total, "problems": problems, "survivors": survivors, "names": names}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--exercise")
    args = parser.parse_args(argv)
    r = audit(args.seeds, args.exercise)
    for line in r["problems"]:
        print("PROBLEM", line)
    for line in r["survivors"]:
        print("passes everywhere (equivalent?)", line)
    caught = sum(r["names"].values())
    print(f"{r['total']} one-operator slips of the solutions; rejected by the learner check: {caught} "
          f"(named by a hand-written mistake {r['names']['hand-written']}, by the generic findings "
          f"{r['names']['generic']}, described only {r['names']['described only']}); pass everywhere: "
          f"{len(r['survivors'])}; problems: {len(r['problems'])}")
    return 1 if r["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
