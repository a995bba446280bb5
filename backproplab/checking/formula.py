"""One slip in the reference's own formula: the generic diagnosis's search beyond its inputs.

The transformations of :mod:`.diagnosis` change what goes *into* the reference (an input negated, transposed,
left out). A slip inside a formula (``s * (1 - s)`` written ``s / (1 - s)``, a term of a sum left out, a sum
over the other axis, ``>`` where ``>=`` belongs) changes nothing an input can express. This module rewrites the
reference's own code, one plausible slip at a time (:func:`variants`): in the reference's body and in the
``backproplab`` functions it calls, up to :data:`DEPTH` calls deep, each ``+``/``-`` swapped, ``*``/``/``
swapped, a factor or a term left out, a square dropped, a ``.T`` dropped, the operands of ``@`` swapped, a minus
dropped, ``axis=`` changed, ``keepdims`` lost, a comparison's strictness changed, a 2 written 1.
:func:`formula_finding` names the slip when exactly one family of slips gives the learner's answer, quoting the
part of the formula where it sits, as the course writes it; :func:`raising_finding` names an error the
learner's code raised when one slip raises the very same error.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
import textwrap
import types
from collections.abc import Callable
from typing import Any

import numpy as np

from backproplab.checking.diagnosis import Budget, family

_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
_STRICT = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt}

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
    "keepdims_in": "a `keepdims=True` lost (a row's sum no longer broadcasts back over the row)",
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
        elif isinstance(node, ast.keyword) and node.arg == "axis" and (
                isinstance(node.value, ast.Name) or _is_minus_one(node.value)):
            yield "axis_in", i, "zero"  # axis=axis, axis=-1: the rows' sum where the last axis's belongs
        elif isinstance(node, ast.keyword) and node.arg == "keepdims" and isinstance(node.value, ast.Constant) \
                and node.value.value is True:
            yield "keepdims_in", i, "false"
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _STRICT:
            yield "boundary_in", i, "strict"
        elif isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value == 2:
            yield "two_in", i, "one"


def _is_minus_one(node) -> bool:
    return isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and \
        isinstance(node.operand, ast.Constant) and node.operand.value == 1


def _apply(node, change: str):
    """Make the slip on ``node``: ``(new node, undo)``. The new node is ``node`` changed in place (``undo()``
    restores it) or another node to put in its place (``undo`` is None)."""
    if change == "swap" and isinstance(node.op, ast.MatMult):
        node.left, node.right = node.right, node.left
        return node, lambda: _swap_operands(node)
    if change in ("swap", "other", "zero", "false", "strict"):
        field = {"swap": "op", "other": "value", "zero": "value", "false": "value", "strict": "ops"}[change]
        old = getattr(node, field)
        setattr(node, field, _SWAP[type(old)]() if change == "swap" else
                ast.copy_location(ast.Constant(1 - old.value), old) if change == "other" else
                ast.copy_location(ast.Constant(0), old) if change == "zero" else
                ast.copy_location(ast.Constant(False), old) if change == "false" else
                [_STRICT[type(old[0])]()])
        return node, lambda: setattr(node, field, old)
    if change in ("left", "right"):
        return getattr(node, change), None
    if change == "drop":
        return (node.value if isinstance(node, ast.Attribute) else node.operand), None
    return ast.copy_location(ast.Constant(1), node), None  # "one"


def _swap_operands(node) -> None:
    node.left, node.right = node.right, node.left


def _parents(tree: ast.AST) -> dict[int, tuple[ast.AST, str, int | None]]:
    """``id(node) -> (parent, field, index in the field's list or None)`` for every node of ``tree``."""
    out = {}
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for k, child in enumerate(value):
                    if isinstance(child, ast.AST):
                        out[id(child)] = (parent, field, k)
            elif isinstance(value, ast.AST):
                out[id(value)] = (parent, field, None)
    return out


def _put(where: tuple[ast.AST, str, int | None], node: ast.AST) -> None:
    parent, field, k = where
    if k is None:
        setattr(parent, field, node)
    else:
        getattr(parent, field)[k] = node


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
    if len(node.body) > 1 and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant):
        node.body = node.body[1:]  # the docstring: nothing to slip in, and it slows each compilation
    return node


def _own(fn) -> bool:
    """A plain function of the course's package (not numpy's, not the checking engine's): its slips are the
    learner's to make."""
    module = getattr(fn, "__module__", "") or ""
    return isinstance(fn, types.FunctionType) and fn.__closure__ is None and module.startswith("backproplab") \
        and not module.startswith("backproplab.checking")


def _compile(node: ast.FunctionDef, fn: types.FunctionType, glob: dict):
    module = ast.Module(body=[node], type_ignores=[])
    namespace: dict = {}
    exec(compile(module, f"<slip in {fn.__name__}>", "exec"), glob, namespace)  # noqa: S102  (the course's own code)
    new = namespace[node.name]
    out = types.FunctionType(new.__code__, glob, fn.__name__, fn.__defaults__, None)
    out.__kwdefaults__ = fn.__kwdefaults__
    return out


#: How deep the search follows the course functions a reference calls (the reference, its helpers, theirs).
DEPTH = 3


def _callees(fn, tree: ast.FunctionDef) -> list[tuple[str, types.FunctionType]]:
    """The course functions ``fn``'s body calls by a global name."""
    names = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})
    return [(name, fn.__globals__[name]) for name in names
            if fn.__globals__.get(name) is not fn and _own(fn.__globals__.get(name))]


def _rebind(chain: list[tuple[str, types.FunctionType]], changed):
    """The outermost function of ``chain`` (``[(name, fn), ...]``, reference first) calling ``changed`` in place
    of the innermost: each caller gets a copy of its globals with its callee replaced."""
    for (_, caller), (name, _) in zip(reversed(chain[:-1]), reversed(chain[1:]), strict=True):
        changed = types.FunctionType(caller.__code__, {**caller.__globals__, name: changed}, caller.__name__,
                                     caller.__defaults__, None)
    return changed


@functools.lru_cache(maxsize=64)
def variants(reference: Callable) -> tuple[tuple[str, str, str, Callable, types.CodeType], ...]:
    """``(kind, before, after, function, code)`` for every one-slip variant of ``reference``: slips in its body
    and in the course functions it calls by name, and in theirs (:data:`DEPTH`), the reference then calling the
    changed one; ``code`` is that of the function the slip is in."""
    if not _own(reference):
        return ()
    out, seen = [], {reference}
    frontier = [[("", reference)]]
    for depth in range(DEPTH + 1):
        deeper = []
        for chain in frontier:
            fn = chain[-1][1]
            tree = _parse(fn)
            if tree is None:
                continue
            out += _slips(fn, tree, chain)
            if depth < DEPTH:
                for name, callee in _callees(fn, tree):
                    if callee not in seen:
                        seen.add(callee)
                        deeper.append([*chain, (name, callee)])
        frontier = deeper
    return tuple(out)


def _slips(fn, tree: ast.FunctionDef, chain: list) -> list[tuple[str, str, str, Callable, types.CodeType]]:
    """The variants of one function: each slip made on its tree in place, compiled, then undone."""
    out = []
    nodes = list(ast.walk(tree))
    parents = _parents(tree)
    for kind, index, change in _sites(tree):
        node = nodes[index]
        before = _text(node)
        new, undo = _apply(node, change)
        after = _text(new)
        if undo is None:
            _put(parents[id(node)], new)
        try:
            if before != after:
                changed = _rebind(chain, _compile(tree, fn, dict(fn.__globals__)))
                out.append((kind, before, after, changed, fn.__code__))
        except Exception:  # noqa: BLE001  (a slip that does not compile is no variant)
            pass
        finally:
            if undo is None:
                _put(parents[id(node)], node)
            else:
                undo()
    return out


def _run_here(reference: Callable, run: Callable[[Callable], Any], budget: Budget) -> list:
    """The variants of ``reference`` whose slip is in a function that ``run(reference)`` (this case) calls:
    a slip in code these inputs never reach (the cross-entropy branch of an MSE network) cannot be the one.
    Compiled once per reference, outside the budget."""
    every = budget.aside(variants, reference)
    codes: set = set()

    def profile(frame, event, arg):
        if event == "call":
            codes.add(frame.f_code)

    before = sys.getprofile()
    sys.setprofile(profile)
    try:
        with np.errstate(all="ignore"):
            budget.run(run, reference)
    except Exception:  # noqa: BLE001  (the reference raising here: search every variant)
        codes = set()
    finally:
        sys.setprofile(before)
    if reference.__code__ not in codes:  # a harness with its own profiler (strict_call) hid the calls
        codes = {code for *_, code in every}
    return [(kind, b, a, fn) for kind, b, a, fn, code in every if code in codes]


def formula_finding(reference: Callable, run: Callable[[Callable], list], wrong: str,
                    explains: Callable[[list], bool], only: str | None = None,
                    budget: Budget | None = None) -> tuple[str, str] | None:
    """``(key, sentence)`` naming the one kind of slip in ``reference``'s formula that gives the learner's answer:
    ``run(variant)`` evaluates a variant on this trial's inputs, ``explains(outputs)`` says whether they are the
    learner's, ``wrong`` is the name of the first wrong output. ``None`` when no slip fits, or slips of two
    families (:func:`~backproplab.checking.diagnosis.family`) do (a wrong name is worse than none), or the
    ``budget`` ran out. ``only``: try the slips of that key alone."""
    found: dict[str, list[tuple[str, str]]] = {}
    budget = budget or Budget()
    for kind, before, after, fn in _run_here(reference, run, budget):
        if only is not None and f"{kind}:{before}" != only:
            continue
        if not budget.left():
            return None  # an unfinished search names nothing: another kind could have fitted too
        try:
            with np.errstate(all="ignore"):
                candidate = budget.run(run, fn)
        except Exception:  # noqa: BLE001  (a variant that cannot run on these inputs is not the slip)
            continue
        if explains(candidate):
            found.setdefault(kind, []).append((before, after))
    if len({family(kind) for kind in found}) != 1:  # a 2 written 1 is also a factor left out: one family
        return None
    kind, where = next(iter(found.items()))
    places = " or ".join(f"`{b}` written `{a}`" for b, a in list(dict.fromkeys(where))[:2])
    return (f"{kind}:{where[0][0]}",
            f"`{wrong}` equals the right formula with one slip, {KINDS[kind]}: {places}.")


def raising_finding(reference: Callable, raised_by: Callable[[Callable], tuple | None], raised: tuple,
                    holds: Callable[[Callable], bool]) -> tuple[str, str] | None:
    """``(key, sentence)`` naming the one family of slips in ``reference``'s formula that raises the very error
    the learner's code raised (``raised``; ``raised_by(variant)`` is the error a variant raises on this case, or
    None) and with which the learner's function agrees on every other case (``holds``): a `.T` missing raises
    numpy's matmul error with the same sizes. ``None`` otherwise."""
    found: dict[str, list[tuple[str, str, str, Callable]]] = {}
    budget = Budget()
    for kind, before, after, fn in _run_here(reference, raised_by, budget):
        if not budget.left():
            return None
        if budget.run(raised_by, fn) == raised:
            found.setdefault(family(kind), []).append((kind, before, after, fn))
    held = [matches for matches in found.values() if holds(matches[0][3])]  # other cases tell slips apart
    if len(held) != 1:
        return None
    (matches,) = held
    kind, before, after, fn = matches[0]
    places = " or ".join(f"`{b}` written `{a}`" for b, a in list(dict.fromkeys((b, a) for _, b, a, _ in matches))[:2])
    return f"{kind}:{before}", f"The right formula raises exactly this error with one slip, {KINDS[kind]}: {places}."
