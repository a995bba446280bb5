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

_cache: dict[int, types.CodeType] = {}


def message(exercise) -> str:
    ref = exercise.reference
    where = f"{getattr(ref, '__module__', 'backproplab')}.{getattr(ref, '__name__', exercise.name)}"
    return (f"the course's reference implementation ({where}) cannot be used in a graded answer: "
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


@contextmanager
def poisoned(exercise):
    """Break ``exercise.reference`` (a plain Python function) for the duration of the ``with`` block."""
    ref = exercise.reference
    if not isinstance(ref, types.FunctionType):
        yield
        return
    original = ref.__code__
    try:
        code = _cache.get(id(original))
        if code is None:
            code = _cache[id(original)] = _poison_code(ref, message(exercise))
        ref.__code__ = code
    except (TypeError, ValueError, SyntaxError):  # a reference this cannot poison: leave it alone
        yield
        return
    try:
        yield
    finally:
        ref.__code__ = original


def install() -> None:
    """Make :func:`poisoned` the guard of every recorded graded call (an explicit hook of the engine,
    :func:`backproplab.checking.set_graded_call_guard`; the engine enters it only under the trusted grader)."""
    from backproplab.checking import set_graded_call_guard

    set_graded_call_guard(poisoned)
