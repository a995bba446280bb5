"""The course's own notebooks through the trusted grader: a solution earns every point, the learner's stub
none, and an answer that calls the package's reference loses that exercise's points."""

from __future__ import annotations

import ast
import asyncio
import copy
import importlib

import pytest

from backproplab.checks import REGISTRY
from backproplab.sandbox import Limits
from backproplab.sandbox.notebook import graded_test_cells, is_solution, read_notebook
from backproplab.sandbox.runsync import run_sync
from tests.conftest import SOLUTIONS, notebook_id, notebook_names

NAMES = notebook_names(SOLUTIONS)
LIMITS = Limits(cpu_seconds=120, memory_bytes=3 * 2**30, cell_timeout=60, total_timeout=240)
MACHINERY = ("backproplab.checks", "backproplab.checking")


def _cheat(source):
    """(submission, exercise): the solution with one answer replaced by a call to the reference, or None."""
    nb = copy.deepcopy(read_notebook(source))
    for cell in nb.cells:
        if not is_solution(cell) or cell.cell_type != "code":
            continue
        try:
            defined = [n.name for n in ast.parse(cell.source).body if isinstance(n, ast.FunctionDef)]
        except SyntaxError:
            continue
        for name in defined:
            ref = getattr(REGISTRY.get(name), "reference", None)
            module = getattr(ref, "__module__", "") or ""
            if ref is None or module.startswith(MACHINERY) or \
                    getattr(importlib.import_module(module), getattr(ref, "__name__", ""), None) is not ref:
                continue
            cell.source = (f"from {module} import {ref.__name__} as _reference\n\n"
                           f"def {name}(*args, **kwargs):\n    return _reference(*args, **kwargs)")
            return nb, name
    return None, None


@pytest.fixture(scope="module")
def graded(released):
    """{(notebook, variant): SubmissionGrade} for variants solution / stub / cheat."""
    from backproplab.sandbox import can_confine
    from backproplab.sandbox.grade import grade_submission_async

    if not NAMES:
        pytest.fail("no notebooks in solutions/")
    if not can_confine():
        pytest.skip("needs root (the confined kernel); test_unprivileged covers ordinary users")
    jobs = {}
    for name in NAMES:
        source = SOLUTIONS / name
        jobs[(name, "solution")] = (source, None)
        if (released / name).exists():  # the learner's notebook, released from solutions/ for this session
            jobs[(name, "stub")] = (released / name, None)
        cheat, exercise = _cheat(source)
        if cheat is not None:
            jobs[(name, "cheat")] = (cheat, exercise)

    async def run():
        gate = asyncio.Semaphore(6)

        async def one(key, submission):
            async with gate:
                return key, await grade_submission_async(submission, SOLUTIONS / key[0], student="s",
                                                         assignment=key[0], secret=b"real-notebooks-secret",
                                                         limits=LIMITS)

        return dict(await asyncio.gather(*(one(k, sub) for k, (sub, _) in jobs.items())))

    return run_sync(run()), {k: ex for k, (_, ex) in jobs.items()}


def _why(grade):
    return {gid: s.message[:160] for gid, s in grade.scores.items() if not s.passed}, grade.execution.problem


@pytest.mark.parametrize("name", NAMES, ids=[notebook_id(n) for n in NAMES])
def test_solution_earns_every_point(graded, name):
    grade = graded[0][(name, "solution")]
    assert grade.max_points > 0 and grade.points == grade.max_points, _why(grade)
    assert not grade.findings or not any(f.blocking for f in grade.findings)


@pytest.mark.parametrize("name", NAMES, ids=[notebook_id(n) for n in NAMES])
def test_stub_earns_nothing(graded, name):
    grade = graded[0][(name, "stub")]
    assert grade.points == 0, _why(grade)


#: Notebooks with an answer that a learner could replace by a call to a public reference (not 01: its
#: scalar exercises have no reference in the package's public modules).
CHEATABLE = [n for n in NAMES if _cheat(SOLUTIONS / n)[0] is not None]


def test_most_notebooks_have_a_cheatable_answer():
    assert len(CHEATABLE) >= len(NAMES) - 1, CHEATABLE


@pytest.mark.parametrize("name", CHEATABLE, ids=[notebook_id(n) for n in CHEATABLE])
def test_calling_the_reference_earns_nothing(graded, name):
    grade, exercise = graded[0][(name, "cheat")], graded[1][(name, "cheat")]
    cells = {c.grade_id: c for c in graded_test_cells(SOLUTIONS / name)}
    for gid, score in grade.scores.items():
        if exercise in {c.name for c in cells[gid].calls}:
            assert score.points == 0 and "reference implementation" in score.message, (gid, score.message)
        else:  # untouched exercises keep their points unless the scan says they were reached too
            assert score.passed or score.findings, (gid, score.message)
