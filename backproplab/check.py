"""One check per exercise, called on the learner's own function: ``check.dense_backward(dense_backward)``.

Each check runs the function on small inputs, compares with the reference and answers in one short
paragraph: a pass, or what differs and the likely mistake. While it runs the learner's function, the course's
reference and the functions that give the same answer (``checks/_copies.py``) are broken, as in grading.
Graded cells call the same check with ``graded=True`` (raise on failure) and ``hidden=True`` (random shapes
drawn per submission).
"""

from functools import wraps

from backproplab.checking import CheckResult, learner_guard, run_check
from backproplab.checks import REGISTRY

try:  # an answer made of the course's own functions is refused here as grading refuses it
    from backproplab.checks import _copies  # noqa: F401  (a learner build has no list: no reference to break)
    from backproplab.sandbox.poison import poisoned as _guard
except ImportError:
    _guard = None


def _make(exercise):
    @wraps(exercise.reference)
    def check(fn, *, graded=False, hidden=False, seed=None) -> CheckResult | None:
        __tracebackhide__ = True  # noqa: F841
        with learner_guard(_guard):
            return run_check(exercise, fn, graded=graded, hidden=hidden, seed=seed)

    check.__name__ = check.__qualname__ = exercise.name
    check.__doc__ = (f"Check your `{exercise.signature or exercise.name}` against the reference.\n\n"
                     f"Prints a pass, or what differs and the likely mistake. Graded cells call it with "
                     f"graded=True (raises AssertionError on failure) and hidden=True (random inputs).")
    del check.__wrapped__
    return check


_CHECKS = {name: _make(ex) for name, ex in REGISTRY.items()}
globals().update(_CHECKS)
__all__ = sorted(_CHECKS)


def __dir__():
    return __all__
