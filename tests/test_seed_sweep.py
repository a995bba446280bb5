"""CI runs a few seeds of the seed sweep (scripts/seed_sweep.py; ``make bench`` runs 500): every mutant rejected,
every correct alternative accepted, no unforeseen slip named wrongly."""

from scripts.seed_sweep import sweep


def test_a_few_seeds_of_the_sweep():
    r = sweep(seeds=3, latency=False)
    assert r.rejected and r.accepted and r.generic_nameable
    assert not r.failures, "\n".join(r.failures)
    assert not r.generic_wrong, "\n".join(r.generic_wrong)
    assert r.generic_named >= 0.8 * r.generic_nameable
