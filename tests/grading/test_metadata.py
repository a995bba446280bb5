"""nbgrader's metadata validation, made fast in grading workers, accepts and rejects exactly what it did."""

from __future__ import annotations

import copy
import time

import jsonschema
import pytest
from nbformat.v4 import new_code_cell
from nbgrader.nbgraderformat import MetadataValidator, ValidationError, common

from backproplab.grading import metadata

GOOD = {"grade": True, "grade_id": "test-a", "locked": True, "points": 2, "schema_version": 3, "solution": False,
        "task": False}
BAD = [
    {**GOOD, "points": "two"},
    {**GOOD, "grade_id": 7},
    {k: v for k, v in GOOD.items() if k != "grade_id"},
    {**GOOD, "solution": "yes"},
    {**GOOD, "schema_version": 1},
    {**GOOD, "schema_version": 9},
    {**GOOD, "points": -1},
]


def _outcome(meta):
    cell = new_code_cell("x = 1", metadata={"nbgrader": copy.deepcopy(meta)})
    try:
        MetadataValidator().validate_cell(cell)
    except (ValidationError, common.SchemaMismatchError) as exc:
        return type(exc).__name__, str(exc).splitlines()[0]
    return None


@pytest.fixture
def plain(monkeypatch):
    monkeypatch.setattr(common, "jsonschema", jsonschema)  # nbgrader's own, restored after the test


def test_same_verdicts_as_jsonschema(plain):
    before = [_outcome(m) for m in [GOOD, *BAD]]
    assert before[0] is None and all(before[1:]), before
    metadata.install()
    assert common.jsonschema.validate is metadata.validate
    assert [_outcome(m) for m in [GOOD, *BAD]] == before


def test_faster_than_jsonschema(plain):
    """Measured side by side in one run (not a timed test): the cached validator must not be slower."""
    cells = [new_code_cell("", metadata={"nbgrader": dict(GOOD, grade_id=f"t{i}")}) for i in range(30)]
    seconds = []
    for install in (False, True):
        if install:
            metadata.install()
        start = time.perf_counter()
        for _ in range(3):
            validator = MetadataValidator()
            for cell in cells:
                validator.validate_cell(cell)
        seconds.append(time.perf_counter() - start)
    assert seconds[1] < seconds[0], f"cached {seconds[1]:.4f} s vs jsonschema {seconds[0]:.4f} s"


def test_a_schema_loaded_again_is_checked_once(plain, monkeypatch):
    """nbgrader loads its schema anew for each validator it makes (several per notebook): the same content is
    checked and compiled once, and still gives the same verdicts."""
    from jsonschema.validators import validator_for

    metadata.install()
    metadata._CACHE.clear()
    metadata._CHECKED.clear()
    from nbgrader.nbgraderformat.v3 import MetadataValidatorV3

    checked = []
    cls = validator_for(MetadataValidatorV3().schema)
    original = cls.check_schema
    monkeypatch.setattr(cls, "check_schema", classmethod(lambda c, s: (checked.append(1), original(s))[1]))
    outcomes = [[_outcome(m) for m in [GOOD, *BAD]] for _ in range(3)]  # a new MetadataValidator per cell
    assert outcomes[0] == outcomes[1] == outcomes[2] and outcomes[0][0] is None and all(outcomes[0][1:])
    assert len(checked) == 1


OUTPUTS = [("stream", {"name": "stdout", "text": "hi"}),
           ("execute_result", {"data": {"text/plain": "2"}, "execution_count": 1}),
           ("display_data", {"data": {"image/png": "iVBO", "text/plain": "<Figure>"}, "metadata": {}}),
           ("error", {"ename": "E", "evalue": "v", "traceback": ["t"]}),
           ("execute_result", {"data": {"text/plain": 2}, "execution_count": "x"}),
           ("stream", {"name": "stdout", "text": "hi", "extra": 1}),
           ("display_data", {"data": {"image/png": 3}}),
           ("error", {"ename": "E", "evalue": "v", "traceback": "not a list"})]


def _made(kind, fields):
    from nbformat import ValidationError
    from nbformat.v4 import new_output

    try:
        new_output(kind, **copy.deepcopy(fields))
    except ValidationError as exc:
        return str(exc).splitlines()[0]
    return None


def test_the_kernels_outputs_are_accepted_and_rejected_as_before(monkeypatch):
    """nbclient's outputs (``new_output``) checked with fastjsonschema first: the same outputs pass, the same
    fail with nbformat's own message, and the fast check is the one that accepted."""
    from nbformat.v4 import nbbase

    monkeypatch.setattr(nbbase, "validate", nbbase.validate)  # restored after the test
    before = [_made(kind, fields) for kind, fields in OUTPUTS]
    assert before[:4] == [None] * 4 and all(before[4:]), before
    metadata.install_output_validation()
    assert nbbase.validate._backproplab_fast
    assert [_made(kind, fields) for kind, fields in OUTPUTS] == before
    import nbformat

    slow = []
    monkeypatch.setattr(nbformat, "validate", lambda *a, **k: slow.append(a))  # nbformat's own: not reached
    assert [_made(kind, fields) for kind, fields in OUTPUTS[:4]] == [None] * 4 and slow == []
