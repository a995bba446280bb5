"""The mechanical learner (scripts/learner_audit.py): every one-operator slip of the solutions gets one verdict
on every seed, and never "all cases match" from the learner check with zero points from the graded one."""

from scripts.learner_audit import audit


def test_no_slip_of_the_solutions_gets_a_seed_dependent_or_contradictory_verdict():
    r = audit(seeds=2)
    assert r["total"] > 100
    assert not r["problems"], "\n".join(r["problems"])
    assert len(r["survivors"]) <= 5, r["survivors"]  # review any new one: equivalent code, or a blind spot
