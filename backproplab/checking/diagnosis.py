"""A diagnosis that is not a list: unforeseen slips named by searching plausible transformations.

Beside an exercise's hand-written :class:`~backproplab.checking.Mistake` s, a wrong answer is compared with

- the reference evaluated on *transformed inputs* (:func:`transform_finding`): one input negated, left out (set
  to 0: a bias or a term forgotten), inverted (a ``*`` written ``/``), squared, transposed, or used in the
  place of another input of the same shape;
  and one output holding the value of another output's formula;
- the learner's own function called on *re-ordered inputs* (:func:`reread_finding`, learner checks only): the
  parts of a tuple argument (a cache) permuted, two arguments swapped. When that gives the right answer, the
  code reads its inputs in another order than they come.

An explanation is named only when it fits every output and is the only one that fits (two different
explanations of one answer name neither): a wrong name is worse than none. When nothing fits,
:func:`pattern_text` describes the error honestly: which rows or columns, proportional to which input.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

#: Relative error within which an answer counts as "the same" as a transformed reference.
MATCH_TOL = 1e-9

#: CPU time the searches (transformed inputs here, slips in the formula in :mod:`.formula`) may take together
#: on one answer, in seconds: the message must stay fast (scripts/seed_sweep.py and scripts/learner_audit.py
#: measure it). CPU time, not wall time, so that a loaded machine does not change the message. An unfinished
#: search names nothing (another explanation could have fitted too).
BUDGET = 0.03


class Budget:
    """The CPU time left to the searches on one answer. One evaluation that takes more than a quarter of it
    spends it all: a reference that slow (numerical_gradients evaluates the network hundreds of times) cannot
    be searched in time, and trying would only make the message slow."""

    def __init__(self, seconds: float = BUDGET, cost: float = 0.0):
        """``cost``: the CPU seconds one evaluation of the reference is known to take."""
        self.seconds = seconds
        self.end = time.process_time() + seconds if cost <= seconds / 4 else 0.0

    def left(self) -> bool:
        return time.process_time() < self.end

    def run(self, fn: Callable, *args):
        start = time.process_time()
        try:
            return fn(*args)
        finally:
            if time.process_time() - start > self.seconds / 4:
                self.end = 0.0

    def aside(self, fn: Callable, *args):
        """``fn(*args)`` on a clock of its own: work done once and cached (compiling a reference's variants)
        is not the search's, and counting it would leave a learner's first check without a name."""
        start = time.process_time()
        try:
            return fn(*args)
        finally:
            if self.end:
                self.end += time.process_time() - start

#: ``search=`` value of a comparison that runs the generic search even where the engine names a factor.
SEARCH_PAST_FACTORS = "*"

#: Findings that describe an answer without claiming a cause (where it is wrong, a constant factor, an error
#: raised, NaN in the result): never a wrong name.
DESCRIPTIONS = frozenset({None, "scale", "exception", "shape", "overflow", "ambiguous", "approximate",
                          "missing_key", "structure", "none"})

#: The family of each generic finding: what kind of slip it claims (``negated:Y`` and ``sign`` both claim a
#: sign slip). Keys ``kind:detail`` of this module are looked up by their kind.
_FAMILIES = {
    "sign": "sign", "negated": "sign",
    "left_out": "left_out", "inverted": "inverted", "squared": "squared",
    "extra_factor_2": "factor", "dropped_factor_2": "factor", "missing_1_over_m": "factor",
    "double_1_over_m": "factor", "wrong_m": "factor",
    "transpose": "transpose", "transposed": "transpose",
    "keepdims": "axis", "bias_axis": "axis", "reduced": "axis", "not_reduced": "axis", "other_axis": "axis",
    "used_for": "variable", "at_activation": "variable", "swapped": "variable", "reads_order": "variable",
    "other_output": "variable", "output_order": "variable",
    "boundary": "boundary",
    # one slip in the reference's formula (backproplab.checking.formula)
    "sign_in": "sign", "mul_div_in": "inverted", "factor_in": "factor", "term_in": "left_out",
    "square_in": "factor", "two_in": "factor", "transpose_in": "transpose", "order_in": "order",
    "axis_in": "axis", "keepdims_in": "axis", "boundary_in": "boundary",
}


#: Names read from a wrong shape, not from values (a lost keepdims gives (n,) for (1, n) on any input): each
#: case of one slip may show another of them, (1,) for (1, 1) where n = 1.
_BY_SHAPE = frozenset({"transpose", "keepdims", "bias_axis", "reduced", "not_reduced"})


def is_generic_name(key: str | None) -> bool:
    """The key names a slip by the generic diagnosis or the engine's shared findings (not a description, not
    an exercise's own finding)."""
    return key not in DESCRIPTIONS and key.split(":", 1)[0] in _FAMILIES


def searched(key: str | None) -> bool:
    """The name was found by the search (transformed inputs, re-ordered inputs, a slip in the formula), not
    read from a factor or a shape by the engine."""
    return is_generic_name(key) and ":" in key


def needs_confirming(key: str | None) -> bool:
    """A generic name read from the values of one case, which must hold on the others too: values can make
    two slips coincide (:func:`backproplab.checking.run.evaluate`); a name read from a shape cannot."""
    return is_generic_name(key) and key not in _BY_SHAPE


def family(key: str | None) -> str | None:
    """What kind of slip a finding's key claims (``"sign"`` for ``"negated:Y"``); ``"scale"`` for a constant
    factor; ``None`` for a description (:data:`DESCRIPTIONS`); the key itself for any other finding."""
    if key == "scale":
        return "scale"
    if key in DESCRIPTIONS:
        return None
    kind = key.split(":", 1)[0]
    return _FAMILIES.get(kind, kind)


# ------------------------------------------------------------------------------------------ inputs
def argument_names(signature: str, n: int) -> list[str]:
    """The learner's names for the ``n`` positional arguments, read from ``"fn(a, b=1) -> out"``."""
    found = re.match(r"\s*\w+\((.*?)\)", signature or "")
    names = [p.split("=")[0].strip() for p in found.group(1).split(",")] if found else []
    names = [nm for nm in names if nm and nm.isidentifier()]
    return (names + [f"argument {i + 1}" for i in range(len(names), n)])[:n]


def leaves(args: tuple, names: list[str], parts: dict) -> Iterator[tuple[str, tuple, Any]]:
    """``(label, path, value)`` of every float array or float number in ``args``, one level into tuples (a
    cache, named by ``parts[arg]`` when given) and dicts (``params['W1']``)."""
    for i, (name, value) in enumerate(zip(names, args, strict=False)):
        if isinstance(value, (tuple, list)) and not isinstance(value, str):
            inner = parts.get(name, ())
            for j, item in enumerate(value):
                label = inner[j] if j < len(inner) else f"{name}[{j}]"
                if _is_float_data(item):
                    yield label, (i, j), item
        elif isinstance(value, dict):
            for key, item in value.items():
                if _is_float_data(item):
                    yield f"{name}[{key!r}]", (i, key), item
        elif _is_float_data(value):
            yield name, (i,), value


def _is_float_data(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f" and value.size > 0
    return isinstance(value, float)


def replaced(args: tuple, path: tuple, new) -> tuple:
    """A copy of ``args`` with the leaf at ``path`` replaced by ``new`` (containers copied, arrays shared)."""
    out = list(args)
    if len(path) == 1:
        out[path[0]] = new
        return tuple(out)
    i, key = path
    container = out[i]
    if isinstance(container, dict):
        out[i] = {**container, key: new}
    else:
        items = list(container)
        items[key] = new
        out[i] = type(container)(*items) if hasattr(container, "_fields") else type(container)(items)
    return tuple(out)


#: The activations whose derivative a learner may take at the activation ``a = f(z)`` instead of at ``z``. Not
#: the course's own ``sigmoid``: a graded function, which the learner build does not hold (σ(z) = (1 + tanh(z/2))/2).
_ACTIVATIONS = (("σ", lambda z: 0.5 * (1.0 + np.tanh(0.5 * z))), ("tanh", np.tanh))


def _at_activation(label: str) -> bool:
    """``z``, ``Z``, ``Z1``: the course's names of a pre-activation."""
    return label[:1] in ("z", "Z") and label[1:].isdigit() or label in ("z", "Z")


def _transposed_back(outputs: list) -> list:
    return [o.T if np.ndim(o) == 2 else o for o in outputs]


def _other_axis(args: tuple) -> Iterator[tuple[str, str, tuple, Callable]]:
    """Every 2-D input transposed, the 2-D outputs transposed back: a row-wise formula (a softmax, a sum over
    a row) computed over the columns."""
    arrays = [a for a in args if isinstance(a, np.ndarray)]
    if arrays and all(a.ndim == 2 and a.dtype.kind == "f" and a.shape[0] != a.shape[1] for a in arrays):
        moved = tuple(a.T if isinstance(a, np.ndarray) else a for a in args)
        yield ("other_axis", "the right formula computed over the other axis: each column where each row "
                             "belongs (a sum, max or mean with `axis=0` where `axis=1` belongs, or the other way "
                             "round)", moved, _transposed_back)


def _transforms(args: tuple, names: list[str], parts: dict) -> Iterator[tuple[str, str, tuple, Callable | None]]:
    """``(key, text, transformed args, what to do to the outputs or None)`` of the plausible slips on the
    inputs."""
    yield from _other_axis(args)
    found = list(leaves(args, names, parts))
    for label, path, value in found:
        if isinstance(value, np.ndarray) and _at_activation(label):
            for act, f in _ACTIVATIONS:
                yield (f"at_activation:{label}:{act}", f"the derivative taken at the activation {act}(`{label}`) "
                                                       f"instead of at `{label}`: the formula is applied to "
                                                       f"{act}(`{label}`), which it computes itself",
                       replaced(args, path, f(value)), None)
        if np.any(value != 0):
            yield (f"negated:{label}", f"the right formula with `{label}` replaced by −`{label}`: a sign slip on "
                                      f"`{label}` (a difference written the wrong way round, or a lost minus)",
                   replaced(args, path, -value), None)
            yield (f"left_out:{label}", f"the right formula without the term in `{label}` (as if `{label}` were "
                                        f"0): a bias or a term is left out",
                   replaced(args, path, value * 0.0), None)
        if np.all(value != 0) and np.any(np.abs(value) != 1):
            yield (f"inverted:{label}", f"the right formula with `{label}` replaced by 1/`{label}`: a "
                                        f"multiplication by `{label}` written as a division (or the other way "
                                        f"round)",
                   replaced(args, path, 1.0 / value), None)
        if isinstance(value, float) and value not in (0.0, 1.0, -1.0):
            yield (f"squared:{label}", f"the right formula with `{label}` applied twice (`{label}`² where "
                                       f"`{label}` belongs)",
                   replaced(args, path, value * value), None)
        if isinstance(value, np.ndarray) and value.ndim == 2 and value.shape[0] == value.shape[1] > 1 \
                and not np.allclose(value, value.T):
            yield (f"transposed:{label}", f"the right formula with `{label}` transposed: a `.T` too many or "
                                          f"missing on `{label}`",
                   replaced(args, path, value.T), None)
    for (la, pa, va), (lb, _, vb) in itertools.permutations(found, 2):
        if np.shape(va) == np.shape(vb) and not np.array_equal(va, vb):
            yield (f"used_for:{lb}->{la}", f"the right formula with `{lb}` used where `{la}` belongs",
                   replaced(args, pa, vb), None)


# ---------------------------------------------------------------------------------------- comparing
def _rel(a: np.ndarray, b: np.ndarray) -> float:
    denom = np.linalg.norm(a.ravel()) + np.linalg.norm(b.ravel())
    return 0.0 if denom == 0 else float(np.linalg.norm((a - b).ravel()) / denom)


def same(a, b, tol: float = MATCH_TOL) -> bool:
    """``a`` and ``b`` are the same values (to :data:`MATCH_TOL`), NaN and inf at the same places."""
    return _same(a, b, tol)


def _same(a: np.ndarray, b: np.ndarray, tol: float = MATCH_TOL) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or not np.array_equal(np.isfinite(a), np.isfinite(b)):
        return False
    finite = np.isfinite(a)
    return _rel(a[finite], b[finite]) <= tol


def explains(arrays: list, exps: list, candidate: list) -> bool:
    """The candidate explains the answer: every output equals the candidate's (or the right one), every wrong
    output equals the candidate's, one output is wrong, and the candidate differs from the right answer. A
    wrong output that is 0 everywhere is explained by nothing: many slips give 0 (a difference of two equal
    terms, a factor vanished), and saying which one would be a guess."""
    if len(candidate) != len(arrays):
        return False
    differs = wrong = False
    for got, exp, cand in zip(arrays, exps, candidate, strict=True):
        right = _same(got, exp)
        if not right and (not _same(got, cand) or not np.any(got)):
            return False
        differs = differs or not _same(cand, exp)
        wrong = wrong or not right
    return differs and wrong  # an answer right to MATCH_TOL (an approximation) is no slip's


def _unique(found: list[tuple[str, str]]):
    """The one explanation found, or None when there are none or several that differ."""
    keys = {k for k, _ in found}
    return found[0] if len(keys) == 1 else None


def transform_finding(run_reference: Callable[[tuple], list], args: tuple, names: list[str], parts: dict,
                      out_names: tuple, arrays: list, exps: list, only: str | None = None,
                      budget: Budget | None = None) -> tuple[str, str] | None:
    """``(key, sentence)`` naming the transformation of the inputs, or of one output's formula, that turns the
    right answer into the learner's; ``None`` when none or more than one fits, or the ``budget`` ran out.
    ``only``: try that key alone."""
    found = []
    budget = budget or Budget()
    for key, text, moved, post in _transforms(args, names, parts):
        if only is not None and key != only:
            continue
        if not budget.left():
            return None
        try:
            with np.errstate(all="ignore"):
                candidate = budget.run(run_reference, moved)
                candidate = post(candidate) if post is not None else candidate
        except Exception:  # noqa: BLE001  (a transformation the reference cannot compute explains nothing)
            continue
        if explains(arrays, exps, candidate):
            found.append((key, text))
    for i, j in itertools.permutations(range(len(arrays)), 2) if only is None or \
            only.startswith("other_output:") else ():
        if not _same(arrays[i], exps[i]) and _same(arrays[i], exps[j]) and not _same(exps[i], exps[j]):
            found.append((f"other_output:{out_names[j]}->{out_names[i]}",
                          f"the value of `{out_names[j]}`: `{out_names[i]}` is computed with `{out_names[j]}`'s "
                          f"formula (or returns that variable)"))
    best = _unique(found)
    if best is None:
        return None
    key, text = best
    wrong = next((n for n, g, e in zip(out_names, arrays, exps, strict=True) if not _same(g, e)), out_names[0])
    return key, f"`{wrong}` equals {text}."


def reread_finding(call: Callable[[tuple], list], args: tuple, names: list[str], parts: dict,
                   exps: list, fn_name: str) -> tuple[str, str] | None:
    """Call the learner's function (``call``) on re-ordered inputs; name the order its code reads them in when
    that order gives the right answer."""
    found = []
    for i, (name, value) in enumerate(zip(names, args, strict=False)):
        if isinstance(value, tuple) and 1 < len(value) <= 4:
            labels = parts.get(name) or tuple(f"{name}[{j}]" for j in range(len(value)))
            for perm in itertools.permutations(range(len(value))):
                if perm == tuple(range(len(value))):
                    continue
                moved = list(args)
                moved[i] = type(value)(*(value[p] for p in perm)) if hasattr(value, "_fields") else \
                    tuple(value[p] for p in perm)
                if _gives(call, tuple(moved), exps):
                    read = ", ".join(labels[p] for p in perm)
                    found.append((f"reads_order:{name}",
                                  f"`{fn_name}` gives the right answer when `{name}` holds ({read}): your code "
                                  f"reads `{name}` in that order, but it holds ({', '.join(labels)}). Unpack it "
                                  f"in the order it is stored: `{', '.join(labels)} = {name}`."))
    for i, j in itertools.combinations(range(len(args)), 2):
        a, b = args[i], args[j]
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape:
            moved = list(args)
            moved[i], moved[j] = b, a
            if _gives(call, tuple(moved), exps):
                found.append((f"swapped:{names[i]},{names[j]}",
                              f"`{fn_name}` gives the right answer when `{names[i]}` and `{names[j]}` are swapped: "
                              f"your code uses each in the other's place (the arguments come in the order "
                              f"{', '.join(names)})."))
    return _unique(found)


def _gives(call, moved: tuple, exps: list) -> bool:
    try:
        with np.errstate(all="ignore"):
            outs = call(moved)
    except Exception:  # noqa: BLE001  (learner code on re-ordered inputs: an error only means "not this")
        return False
    return len(outs) == len(exps) and all(_same(o, e) for o, e in zip(outs, exps, strict=True))


# ------------------------------------------------------------------------------------------- pattern
def pattern_text(name: str, got: np.ndarray, exp: np.ndarray, wrong: np.ndarray,
                 inputs: list[tuple[str, Any]]) -> str:
    """Where the error sits and what it is proportional to, in one sentence ('' when nothing simple holds)."""
    bits = []
    if got.ndim == 2 and wrong.any() and not wrong.all():
        rows = np.flatnonzero(wrong.any(axis=1))
        cols = np.flatnonzero(wrong.any(axis=0))
        if wrong[rows].all() and len(rows) < got.shape[0]:
            bits.append(f"only row(s) {_list(rows)} of `{name}` are wrong, every entry of them")
        elif wrong[:, cols].all() and len(cols) < got.shape[1]:
            bits.append(f"only column(s) {_list(cols)} of `{name}` are wrong, every entry of them")
        else:
            bits.append(f"the wrong entries of `{name}` lie in rows {_list(rows)} and columns {_list(cols)}")
    where = _where(wrong, inputs)
    if where:
        bits.append(f"the wrong entries are exactly those where {where}")
    diff = got - exp
    if not (np.all(np.isfinite(diff)) and np.any(diff != 0)):
        return ("; ".join(bits) + ".") if bits else ""
    if diff.ndim == 2 and diff.shape[0] > 1 and np.allclose(diff, diff[:1], rtol=MATCH_TOL, atol=0.0):
        bits.append("the error is the same in every row (one value per column, like a bias's)")
    elif diff.ndim == 2 and diff.shape[1] > 1 and np.allclose(diff, diff[:, :1], rtol=MATCH_TOL, atol=0.0):
        bits.append("the error is the same in every column (one value per row, per example)")
    for label, value in inputs:
        value = np.asarray(value, dtype=np.float64)
        if value.ndim == 0:  # any constant error is "c × a number": that would say nothing
            continue
        try:
            value = np.broadcast_to(value, diff.shape)
        except ValueError:
            continue
        if np.any(value != 0):
            c = float(np.vdot(diff, value) / np.vdot(value, value))
            if abs(c) > 1e-12 and _rel(diff, c * value) < MATCH_TOL:
                bits.append(f"the error is exactly {c:.4g} × `{label}`")
                break
    return ("; ".join(bits) + ".") if bits else ""


def _where(wrong: np.ndarray, inputs: list[tuple[str, Any]]) -> str:
    """``"`Y` = 0"`` when the wrong entries are exactly where an input of the same shape is 0 (or 1, or
    positive, or negative): the term of the formula for those entries is the one to look at."""
    if not wrong.any() or wrong.all():
        return ""
    for label, value in inputs:
        if not isinstance(value, np.ndarray) or value.shape != wrong.shape:
            continue
        for text, mask in ((f"`{label}` = 0", value == 0), (f"`{label}` = 1", value == 1),
                           (f"`{label}` > 0", value > 0), (f"`{label}` < 0", value < 0)):
            if np.array_equal(mask, wrong):
                return text
    return ""


def _list(idx) -> str:
    shown = ", ".join(str(int(i)) for i in idx[:6])
    return f"[{shown}{', …' if len(idx) > 6 else ''}]"
