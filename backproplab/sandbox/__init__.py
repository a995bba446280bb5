"""Grades that learner code cannot forge (see autograder/SECURITY.md).

With plain nbgrader, a learner's answer cell runs as the instructor inside the course folder: it can open the
gradebook, print the hidden tests, or return an object whose ``__eq__`` always says True. Here

1. :func:`execute_confined` runs one submission in a kernel with resource limits, timeouts and output caps
   in a mount namespace where the gradebook, the sources, the tests and other submissions do not exist (as
   root: as a user of its own; as an ordinary user: in a user namespace of its own), writing only in its
   scratch folder (:mod:`.confine`, :mod:`.enter`, :mod:`.landlock`, :mod:`.kernel`);
2. :func:`score_submission` judges in the grader process, from the plain records the graded checks wrote and
   the grader's seed, with the source notebook's test cells (:mod:`.scoring`, :mod:`backproplab.trusted`);
   answers that call the reference implementation are caught (:mod:`.poison` in the kernel, :mod:`.scan`
   outside).

These are parts, not a grading path: one notebook is graded, start to finish, by
:func:`backproplab.grading.steps.grade_notebook` (which calls both), for ``backproplab grade``, the attack
suite and the benchmarks alike.

Modules: ``limits`` (Limits), ``seeds`` (per-submission seeds), ``notebook`` (graded cells, check calls,
hidden regions), ``confine`` (uid, namespaces, scratch), ``processes``, ``cgroups``, ``enter`` (root's half
of the launch), ``kernel`` (the kernel's entry point), ``poison``, ``execute`` (with ``kernelclient``), ``runsync``,
``scan``, ``scoring``.
"""

from importlib import import_module

_EXPORTS = {
    "Limits": "limits", "DEFAULT_LIMITS": "limits",
    "derive_seed": "seeds", "load_secret": "seeds",
    "Execution": "execute", "execute_confined": "execute", "execute_confined_async": "execute",
    "CellScore": "scoring", "score_submission": "scoring",
    "Finding": "scan", "scan_submission": "scan",
    "can_confine": "confine",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    # Lazy: the grading kernel imports backproplab.sandbox.kernel and must not pay for nbclient & co.
    if name in _EXPORTS:
        value = getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
