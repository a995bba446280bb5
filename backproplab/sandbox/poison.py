"""In the grading kernel: while a graded check runs the learner's function, the exercise's reference is broken.

The course package ships the reference implementation of every exercise (the checks compare against it), so
an answer cell could simply call it: ``def dense_backward(dZ, cache): return backproplab.layers.dense_backward(
dZ, cache)``. During every call of the learner's function made by a graded check under the trusted grader
(``BACKPROPLAB_RECORD_DIR`` set; :func:`install` makes this the engine's graded-call guard), the reference
function object's ``__code__`` is swapped for code that
raises, so every name bound to that function (``backproplab.layers.dense_backward``, the alias in
``backproplab.checks``, a learner's ``ref = ...``, a ``functools.partial`` of it) stops working; the code is
restored as soon as the learner's function returns, before the check compares anything.

This is an in-kernel measure and only stops the plain forms: a learner who copies the code object first
(``types.FunctionType(ref.__code__, ...)``), re-imports the module under another name or pastes the source
keeps a working copy. :mod:`backproplab.sandbox.scan` flags those constructs statically, outside the kernel.
"""

from __future__ import annotations

import types
from contextlib import contextmanager

_cache: dict[tuple[int, str], types.CodeType] = {}


def message(exercise, fn=None) -> str:
    """What a learner's call of ``fn`` (the exercise's reference, or one of its copies) says while poisoned."""
    ref = exercise.reference if fn is None else fn
    where = f"{getattr(ref, '__module__', 'backproplab')}.{getattr(ref, '__name__', exercise.name)}"
    if getattr(ref, "__module__", "").startswith("backproplab.debugging.planted"):
        return (f"the course's planted backward pass ({where}) cannot be called by a graded answer: write "
                f"`{exercise.name}` with your own code (copy the pass's code into your cell and fix it there)")
    if fn is None or fn is exercise.reference:
        return (f"the course's reference implementation ({where}) cannot be used in a graded answer: "
                f"write `{exercise.name}` with your own code")
    return (f"the course's {where} gives `{exercise.name}`'s answer and cannot be used in a graded answer: "
            f"write `{exercise.name}` with your own code")


def _poison_code(fn: types.FunctionType, text: str) -> types.CodeType:
    """A code object that raises ``RuntimeError(text)``, with as many free variables as ``fn`` has."""
    free = fn.__code__.co_freevars
    lines = ["def _outer():"]
    lines += [f"    {name} = None" for name in free]
    lines += ["    def _poisoned(*args, **kwargs):", f"        raise RuntimeError({text!r})"]
    if free:
        lines.append(f"        ({', '.join(free)},)")  # never runs; keeps the free variables
    lines.append("    return _poisoned")
    namespace: dict = {}
    exec(compile("\n".join(lines), f"<poisoned {fn.__name__}>", "exec"), namespace)
    return namespace["_outer"]().__code__


def _targets(exercise) -> list[types.FunctionType]:
    """The reference and the package functions that give the same answer (:mod:`backproplab.checks._copies`)."""
    from backproplab.checks._copies import loaded_copies

    found = [exercise.reference, *loaded_copies(exercise.name)]
    return [fn for i, fn in enumerate(found) if isinstance(fn, types.FunctionType) and fn not in found[:i]]


_ACTIVE: list[tuple[types.FunctionType, types.CodeType, types.CodeType]] = []  # (function, its code, poison)


@contextmanager
def poisoned(exercise):
    """Break ``exercise.reference`` and its copies (plain Python functions) for the duration of the ``with``
    block; a function this cannot poison is left alone."""
    swapped = []
    try:
        for fn in _targets(exercise):
            original = fn.__code__
            try:
                code = _cache.get((id(original), exercise.name))
                if code is None:
                    code = _cache[(id(original), exercise.name)] = _poison_code(fn, message(exercise, fn))
                fn.__code__ = code
            except (TypeError, ValueError, SyntaxError):
                continue
            swapped.append((fn, original, code))
        _ACTIVE.extend(swapped)
        yield
    finally:
        for fn, original, _ in reversed(swapped):
            fn.__code__ = original
        del _ACTIVE[len(_ACTIVE) - len(swapped):]


@contextmanager
def suspended():
    """The poisoned functions working again for the duration of the block: a check's harness comparing the
    learner's result with the reference's while the learner's function is under the guard
    (:func:`backproplab.checking.course_code`)."""
    active = list(_ACTIVE)
    for fn, original, _ in active:
        fn.__code__ = original
    try:
        yield
    finally:
        for fn, _, code in active:
            fn.__code__ = code


poisoned.suspended = suspended


def install() -> None:
    """Make :func:`poisoned` the guard of every recorded graded call (an explicit hook of the engine,
    :func:`backproplab.checking.set_graded_call_guard`; the engine enters it only under the trusted grader)."""
    from backproplab.checking import set_graded_call_guard
    from backproplab.checks._copies import every_copy

    every_copy()  # their modules imported now: a learner's import during a graded call finds them poisoned
    set_graded_call_guard(poisoned)
