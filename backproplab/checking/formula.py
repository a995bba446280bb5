"""One slip in the reference's own formula: the generic diagnosis's search beyond its inputs.

The transformations of :mod:`.diagnosis` change what goes *into* the reference (an input negated, transposed,
left out). A slip inside a formula (``s * (1 - s)`` written ``s / (1 - s)``, a term of a sum left out, a sum
over the other axis, ``>`` where ``>=`` belongs) changes nothing an input can express. This module rewrites the
reference's own code, one plausible slip at a time (:func:`variants`): in the reference's body and in the
``backproplab`` functions it calls directly, each ``+``/``-`` swapped, ``*``/``/`` swapped, a factor or a term
left out, a square dropped, a ``.T`` dropped, the operands of ``@`` swapped, a minus dropped, ``axis=`` changed,
a comparison's strictness changed, a 2 written 1. :func:`formula_finding` names the slip when exactly one kind
of slip gives the learner's answer, quoting the part of the formula where it sits, as the course writes it.
"""

from __future__ import annotations

import ast
import copy
import functools
import inspect
import textwrap
import time
import types
from collections.abc import Callable

import numpy as np

#: CPU time the search may take on one answer, in seconds: the message must stay fast (scripts/seed_sweep.py
#: measures it). CPU time, not wall time, so that a loaded machine does not change the message. A reference
#: slower than that (numerical_gradients evaluates the network hundreds of times) gets no formula search.
BUDGET = 0.02

_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
_STRICT = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt}
_OP = {ast.Add: "+", ast.Sub: "−", ast.Mult: "*", ast.Div: "/"}

#: What each kind of slip is called in a message.
KINDS = {
    "sign_in": "a sign slip (a + for a − or the other way round, or a lost minus)",
    "mul_div_in": "a multiplication written as a division (or the other way round)",
    "factor_in": "a factor left out",
    "term_in": "a term left out",
    "square_in": "a square left out",
    "transpose_in": "a `.T` missing",
    "order_in": "the operands of a matrix product in the wrong order",
    "axis_in": "a sum (or max) over the other axis",
    "boundary_in": "a comparison's strictness (`>` for `>=` or the other way round): the entries exactly at "
                   "the boundary are wrong",
    "two_in": "a factor 2 left out (a 2 written 1)",
}


def _sites(fn: ast.FunctionDef):
    """``(kind, node index in ast.walk, change)`` of every slip one node of ``fn`` can hold."""
    for i, node in enumerate(ast.walk(fn)):
        if isinstance(node, ast.BinOp) and type(node.op) in _SWAP:
            yield ("sign_in" if type(node.op) in (ast.Add, ast.Sub) else "mul_div_in"), i, "swap"
            if isinstance(node.op, (ast.Add, ast.Sub)):
                yield "term_in", i, "left"
            elif isinstance(node.op, ast.Mult):
                yield "factor_in", i, "left"
                yield "factor_in", i, "right"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and \
                isinstance(node.right, ast.Constant) and node.right.value == 2:
            yield "square_in", i, "left"
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
            yield "order_in", i, "swap"
        elif isinstance(node, ast.Attribute) and node.attr == "T":
            yield "transpose_in", i, "drop"
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            yield "sign_in", i, "drop"
        elif isinstance(node, ast.keyword) and node.arg == "axis" and isinstance(node.value, ast.Constant) \
                and node.value.value in (0, 1):
            yield "axis_in", i, "other"
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _STRICT:
            yield "boundary_in", i, "strict"
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value == 2:
            yield "two_in", i, "one"


def _apply(node, change: str):
    """The node after the slip (a new node, or ``node`` changed in place: it is a deep copy)."""
    if change == "swap" and isinstance(node.op, ast.MatMult):
        node.left, node.right = node.right, node.left
    elif change == "swap":
        node.op = _SWAP[type(node.op)]()
    elif change == "left":
        return node.left
    elif change == "right":
        return node.right
    elif change == "drop":
        return node.value if isinstance(node, ast.Attribute) else node.operand
    elif change == "other":
        node.value = ast.Constant(1 - node.value.value)
    elif change == "strict":
        node.ops = [_STRICT[type(node.ops[0])]()]
    elif change == "one":
        return ast.Constant(1)
    return node


class _Slip(ast.NodeTransformer):
    def __init__(self, target, change: str):
        self.target, self.change, self.before, self.after = target, change, "", ""

    def visit(self, node):
        if node is not self.target:
            return self.generic_visit(node)
        self.before = _text(node)
        new = _apply(node, self.change)
        self.after = _text(new)
        return new


def _text(node) -> str:
    if isinstance(node, ast.keyword):
        return f"{node.arg}={ast.unparse(node.value)}"
    return ast.unparse(node)


def _parse(fn: Callable) -> ast.FunctionDef | None:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError, IndentationError):
        return None
    node = tree.body[0] if tree.body else None
    if not isinstance(node, ast.FunctionDef) or any(isinstance(n, (ast.While, ast.AsyncFunctionDef, ast.Yield,
                                                                   ast.YieldFrom)) for n in ast.walk(node)):
        return None
    node.decorator_list = []
    return node


def _own(fn) -> bool:
    """A plain function of the course's package (not numpy's, not the checking engine's): its slips are the
    learner's to make."""
    module = getattr(fn, "__module__", "") or ""
    return isinstance(fn, types.FunctionType) and fn.__closure__ is None and module.startswith("backproplab") \
        and not module.startswith("backproplab.checking")


def _compile(node: ast.FunctionDef, fn: types.FunctionType, glob: dict):
    module = ast.fix_missing_locations(ast.Module(body=[node], type_ignores=[]))
    namespace: dict = {}
    exec(compile(module, f"<slip in {fn.__name__}>", "exec"), glob, namespace)  # noqa: S102  (the course's own code)
    new = namespace[node.name]
    return types.FunctionType(new.__code__, glob, fn.__name__, fn.__defaults__, None)


@functools.lru_cache(maxsize=64)
def variants(reference: Callable) -> tuple[tuple[str, str, str, Callable], ...]:
    """``(kind, before, after, function)`` for every one-slip variant of ``reference``: slips in its body, and
    slips in each course function its body calls by name (the reference then calls the changed one)."""
    if not _own(reference):
        return ()
    root = _parse(reference)
    if root is None:
        return ()
    out = []
    targets = [(reference, root, None)]
    for name in sorted({n.id for n in ast.walk(root) if isinstance(n, ast.Name)}):
        helper = reference.__globals__.get(name)
        if helper is not reference and _own(helper):
            parsed = _parse(helper)
            if parsed is not None:
                targets.append((helper, parsed, name))
    for fn, tree, name in targets:
        for kind, index, change in _sites(tree):
            clone = copy.deepcopy(tree)
            slip = _Slip(list(ast.walk(clone))[index], change)
            clone = slip.visit(clone)
            try:
                changed = _compile(clone, fn, dict(fn.__globals__))
                if name is not None:  # the reference, calling the changed helper
                    glob = {**reference.__globals__, name: changed}
                    changed = types.FunctionType(reference.__code__, glob, reference.__name__,
                                                 reference.__defaults__, None)
            except Exception:  # noqa: BLE001  (a slip that does not compile is no variant)
                continue
            if slip.before != slip.after:
                out.append((kind, slip.before, slip.after, changed))
    return tuple(out)


def formula_finding(reference: Callable, run: Callable[[Callable], list], wrong: str,
                    explains: Callable[[list], bool], only: str | None = None) -> tuple[str, str] | None:
    """``(key, sentence)`` naming the one kind of slip in ``reference``'s formula that gives the learner's answer:
    ``run(variant)`` evaluates a variant on this trial's inputs, ``explains(outputs)`` says whether they are the
    learner's, ``wrong`` is the name of the first wrong output. ``None`` when no slip fits, or slips of two
    kinds do (a wrong name is worse than none). ``only``: try the slips of that key alone."""
    found: dict[str, list[tuple[str, str]]] = {}
    deadline = time.process_time() + BUDGET
    for kind, before, after, fn in variants(reference):
        if only is not None and f"{kind}:{before}" != only:
            continue
        if time.process_time() > deadline:
            return None  # an unfinished search names nothing: another kind could have fitted too
        try:
            with np.errstate(all="ignore"):
                candidate = run(fn)
        except Exception:  # noqa: BLE001  (a variant that cannot run on these inputs is not the slip)
            continue
        if explains(candidate):
            found.setdefault(kind, []).append((before, after))
    if len(found) != 1:
        return None
    kind, where = next(iter(found.items()))
    places = " or ".join(f"`{b}` written `{a}`" for b, a in list(dict.fromkeys(where))[:2])
    return (f"{kind}:{where[0][0]}",
            f"`{wrong}` equals the right formula with one slip, {KINDS[kind]}: {places}.")
