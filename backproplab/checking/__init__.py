"""The engine behind every learner check and every graded check.

An :class:`Exercise` names the learner's function, the reference it must agree with, how to draw inputs, and
the realistic :class:`Mistake` s a learner makes. :func:`run_check` calls the learner's function on a few
inputs, compares each returned array with the reference and answers in one short paragraph: a pass, or what
differs and the likely mistake. Learner checks and graded cells call the same function, so feedback and grade
agree. The modules, in the order a check uses them:

- :mod:`.model`: exercises, mistakes, results, findings, trials (visible, hidden, edge cases);
- :mod:`.values`: reading and comparing values; rounding bounds derived from the problem's conditioning;
- :mod:`.compare`: one trial's comparison, the first explanation that fits;
- :mod:`.findings`: what every exercise shares (shapes, factors, approximations, exceptions);
- :mod:`.diagnosis`: the generic search for unforeseen slips;
- :mod:`.run`: calling the learner, :func:`run_check` and :func:`evaluate`.
"""

from backproplab.checking.model import (
    APPROXIMATION_POLICY,
    DEFAULT_TOL,
    CheckFinding,
    CheckResult,
    Exercise,
    Mistake,
    another_shape,
    grading_seed,
    of_ranks,
    trial_inputs,
    visible_case,
    visible_shape,
)
from backproplab.checking.run import (
    RECORD_DIR_ENV,
    CheckOutcome,
    call_learner,
    course_code,
    evaluate,
    graded_call_guard,
    learner_guard,
    run_check,
    set_graded_call_guard,
)
from backproplab.checking.values import rounding_bounds

__all__ = ["APPROXIMATION_POLICY", "DEFAULT_TOL", "RECORD_DIR_ENV", "CheckFinding", "CheckOutcome", "CheckResult",
           "Exercise", "Mistake", "another_shape", "call_learner", "course_code", "evaluate", "graded_call_guard",
           "grading_seed", "learner_guard", "of_ranks", "rounding_bounds", "run_check", "set_graded_call_guard",
           "trial_inputs", "visible_case", "visible_shape"]
