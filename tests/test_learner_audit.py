"""The mechanical learner (scripts/learner_audit.py): every one-operator slip of the solutions gets one verdict
on every seed, and never "all cases match" from the learner check with zero points from the graded one; the
generic diagnosis never names a slip of another class than the one the audit made."""

import pytest

from backproplab.checks import REGISTRY
from scripts.learner_audit import audit, judge_name, slip_class


def test_no_slip_of_the_solutions_gets_a_seed_dependent_or_contradictory_verdict_or_a_wrong_name():
    r = audit(seeds=2)
    assert r["total"] > 100
    assert not r["problems"], "\n".join(r["problems"])
    assert len(r["survivors"]) <= 5, r["survivors"]  # review any new one: equivalent code, or a blind spot
    n = r["names"]
    wrong = [f"{slip}: {message}" for how, slip, message in r["explained"] if how == "named wrongly"]
    assert not wrong, "\n".join(wrong)
    # measured 82 % (scripts/learner_audit.py); the searches stop at a CPU-time budget, so a slower machine
    # may name a few less, never a wrong one: this guards against a regression, the goal is 80 %
    generic = n["named correctly"] + n["described only"]
    assert n["named correctly"] >= 0.75 * generic, n


@pytest.mark.parametrize("what, mistake, how", [
    ("Sub changed at line 9", "negated:Y", "named correctly"),
    ("Sub changed at line 9", "sign_in:1.0 - t * t", "named correctly"),
    ("Add changed at line 8", "extra_factor_2", "named wrongly"),        # xavier's n_in − n_out at (5, 3)
    ("Add changed at line 8", "left_out:h", "named wrongly"),            # a sign slip is no term left out
    ("Div changed at line 9", "scale", "named correctly"),
    ("Div changed at line 9", "inverted:P", "named correctly"),
    (".T dropped at line 10", "transpose_in:W.T", "named correctly"),
    (".T dropped at line 10", "negated:W", "named wrongly"),
    ("axis= changed at line 10", "other_axis", "named correctly"),
    ("comparison strictness at line 8", "boundary_in:z > 0", "named correctly"),
    ("MatMult changed at line 8", "exception", "raised"),
    ("2 written 1 at line 9", None, "described only"),
    ("2 written 1 at line 9", "overflow", "described only"),
])
def test_the_audit_tells_a_right_name_from_a_wrong_one(what, mistake, how):
    assert judge_name(REGISTRY["mse_grad"], what, mistake) == how


def test_a_hand_written_mistake_counts_apart():
    ex = REGISTRY["mse_grad"]
    assert judge_name(ex, "Sub changed at line 9", ex.mistakes[0].name) == "hand-written"
    assert slip_class("minus dropped at line 3") == "sign" and slip_class(".T dropped at line 3") == "transpose"
