"""Every attack of attacks.py, graded with honest students by one ``backproplab grade`` run (conftest.py).

For each submission: the exact score in the gradebook; for all of them: the run finished, the honest
students' grades are what they are alone, no file of the course (sources, release, export, configuration)
changed, the gradebook holds no forged grade, and no hidden test reached an output before the graded cells
or any feedback page.
"""

from __future__ import annotations

import errno
import re

import pytest

from tests.sandbox.attacks import ATTACKS, BY_NAME, HIDDEN_MARKER, TOTAL
from tests.sandbox.conftest import HONEST, SANDBOX_LIMITS, students


def _grade(batch, student):
    assert batch["rc"] == 0, batch["output"][-3000:]
    grade = batch["graded"].get(student)
    assert grade is not None, f"{student} was not graded:\n{batch['output'][-3000:]}"
    return grade


def _outputs_text(nb, until_graded: bool = False) -> str:
    parts = []
    for cell in nb.cells:
        if until_graded and cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            break
        for out in cell.get("outputs", []):
            parts.append(" ".join(str(out.get(k, "")) for k in ("text", "data", "ename", "evalue")))
    return "\n".join(parts)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.name for a in ATTACKS])
def test_exact_score(batch, attack):
    grade = _grade(batch, attack.name)
    detail = {gid: (s.points, s.message[:200]) for gid, s in grade.scores.items()}
    assert grade.points == attack.expected, (
        f"{attack.name}: {grade.points} points, expected {attack.expected}\n{detail}\n"
        f"problem: {grade.run.problem}\nincidents: {grade.run.incidents}\nnotes: {grade.result.notes}")
    assert grade.max_points == TOTAL
    assert sum(s.points for s in grade.scores.values()) == grade.points  # every cell judged outside


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.expected_without_scan is not None],
                         ids=[a.name for a in ATTACKS if a.expected_without_scan is not None])
def test_score_without_the_static_scan(batch, attack):
    """What the records alone give (the scan is the only defence where this is higher than ``expected``): the
    points of the cells whose every check passed on its records."""
    grade = _grade(batch, attack.name)
    by_records = sum(s.max_points for s in grade.scores.values() if s.checks and all(c[2] for c in s.checks))
    assert by_records == attack.expected_without_scan


def test_batch_finished_in_time(batch):
    for student in students():
        _grade(batch, student)
    assert set(batch["graded"]) == set(students())
    # about 60 s on an idle 2-core machine; the bound only catches a run held up by an attack (a hung
    # kernel costs its notebook total_timeout, 60 s), with room for a machine shared with other work (one
    # run per mode of the session)
    assert batch["seconds"] < 480, f"the batch took {batch['seconds']:.0f} s"


def test_honest_students_are_not_affected(batch):
    for student in HONEST + ["honest"]:
        grade = _grade(batch, student)
        assert grade.points == TOTAL, {g: s.message for g, s in grade.scores.items()}
        assert grade.run.problem is None and not any(s.findings for s in grade.scores.values())
        assert grade.result.notes == []
        # every hidden trial and edge case of the exercise matched (their number is the exercise's)
        assert all(re.search(r"all \d+ hidden random cases match", s.message) for s in grade.scores.values())


def test_no_course_file_was_touched(batch):
    changed = sorted(p for p in set(batch["before"]) | set(batch["after"])
                     if batch["before"].get(p) != batch["after"].get(p))
    assert batch["before"] and not changed, f"changed or deleted by a submission: {changed}"


def test_the_gradebook_and_other_students_were_out_of_reach(batch):
    import nbformat
    from nbgrader.api import Gradebook

    out = _outputs_text(_grade(batch, "write_gradebook").nb)
    assert "done" in out and "gradebook written" not in out and "overwrote" not in out
    out = _outputs_text(_grade(batch, "delete_course").nb)
    assert "deleted" not in out
    root = batch["root"]
    with Gradebook(f"sqlite:///{root / 'autograder' / 'gradebook.db'}", "backproplab") as gb:
        grades = [g for a in ("ps1", "ps1forks") for sub in gb.assignment_submissions(a) for nb in sub.notebooks
                  for g in nb.grades]
        assert len(grades) == 3 * len(students()) and all(g.manual_score is None for g in grades)
    for student, grade in batch["graded"].items():  # every autograded notebook is the one graded
        assert nbformat.read(grade.result.autograded, as_version=4).cells, student


def test_hidden_tests_were_out_of_reach(batch):
    grade = _grade(batch, "read_hidden_tests")
    before = _outputs_text(grade.nb, until_graded=True)
    assert "read 0 files with hidden tests" in before
    assert HIDDEN_MARKER not in before and "BEGIN HIDDEN" not in before


@pytest.mark.parametrize("student", ["read_hidden_tests", "honest", "one_wrong", "eq_override"])
def test_feedback_never_shows_hidden_tests(batch, student):
    grade = _grade(batch, student)
    page = grade.page
    assert HIDDEN_MARKER not in page and "BEGIN HIDDEN" not in page and "hidden=True" not in page
    assert "hidden tests: not shown" in page
    for score in grade.scores.values():
        assert score.message.split(":")[0] in page


def test_failure_feedback_names_the_mistake(batch):
    score = _grade(batch, "one_wrong").scores["test-dense-backward"]
    assert score.points == 0 and "1/m" in score.message and "dense_backward" in score.message


def test_runaway_code_was_stopped_and_reported(batch):
    ex = {name: _grade(batch, name) for name in
          ("infinite_loop", "sleep", "interrupt_proof_loop", "os_exit", "kill_self", "print_flood", "huge_alloc",
           "fork_bomb", "fork_bounded")}
    assert any("interrupted" in i for i in ex["infinite_loop"].run.incidents)
    assert any("interrupted" in i for i in ex["sleep"].run.incidents)
    assert "did not stop when interrupted" in ex["interrupt_proof_loop"].run.problem
    assert "kernel died" in ex["os_exit"].run.problem and "kernel died" in ex["kill_self"].run.problem
    assert any("output" in i for i in ex["print_flood"].run.incidents)
    assert len(_outputs_text(ex["print_flood"].nb)) < 400_000
    assert "MemoryError" in _outputs_text(ex["huge_alloc"].nb)
    assert "PermissionError" in _outputs_text(ex["fork_bomb"].nb)
    forked = _outputs_text(ex["fork_bounded"].nb)
    assert "forks refused after" in forked
    n = int(forked.split("forks refused after")[1].split()[0])
    # the process limit (threads of the kernel count too); as an ordinary user it counts all of that user's
    # processes (the grader's, the other kernels'), so it stops the loop later
    assert 0 < n < (64 if batch["mode"] == "root" else 1000), n
    assert any("process(es)" in i for i in ex["fork_bounded"].run.incidents)


def test_honest_dynamic_code_is_reported_and_costs_nothing(batch):
    from tests.sandbox.attacks import HONEST_DYNAMIC

    for attack in HONEST_DYNAMIC:
        grade = _grade(batch, attack.name)
        assert grade.points == TOTAL and not any(s.findings for s in grade.scores.values()), attack.name
    for name, what in (("honest_getattr", "getattr with a computed name"), ("honest_globals", "globals"),
                       ("honest_inspect", "import inspect")):
        notes = _grade(batch, name).result.notes
        assert any(what in n and "here it costs nothing" in n for n in notes), (name, notes)


def test_the_kernel_was_confined(batch):
    grade = _grade(batch, "honest")
    assert "private mount namespace" in grade.run.confinement
    assert "seccomp: no new processes" in grade.run.confinement
    assert "new processes allowed" in _grade(batch, "fork_bounded").run.confinement
    unconfined = {s: g.run.confinement for s, g in batch["graded"].items()
                  if "private mount namespace" not in g.run.confinement}
    assert not unconfined, unconfined  # every kernel of the class, whichever worker started it


def test_cheats_are_explained_to_the_learner(batch):
    msg = _grade(batch, "call_reference").scores["test-dense-backward"].message
    assert "reference implementation" in msg and "backproplab.layers" in msg
    msg = _grade(batch, "copy_reference").scores["test-relu-backward"].message
    assert "can reach the course's reference implementations" in msg
    msg = _grade(batch, "patch_check").scores["test-dense-backward"].message
    assert "did not run" in msg
    assert BY_NAME["patch_check"].expected == 3.0


def test_the_kernel_had_no_network_no_other_processes_and_a_bounded_disk(batch):
    out = _outputs_text(_grade(batch, "network").nb)
    errnos = [int(line.split()[-1]) for line in out.splitlines() if line.startswith("network errno")]
    # no route (a network namespace of its own), or refused first by Landlock (no TCP)
    assert "connected" not in out and len(errnos) == 3, out
    assert set(errnos) <= {errno.ENETUNREACH, errno.EACCES}, out
    out = _outputs_text(_grade(batch, "peek_proc").nb)
    visible = int(out.split("processes visible:")[1].split()[0])
    if batch["mode"] == "root":  # its own processes only (a PID namespace needs root here)
        assert 0 < visible <= 5 and "pid 1 visible: False" in out, out
    else:  # the machine's processes are listed; their files are out of reach (test_confine_modes.py)
        assert visible > 0, out
    out = _outputs_text(_grade(batch, "fill_disk").nb)
    written = int(out.split("disk full after")[1].split()[0])
    assert f"errno {errno.ENOSPC}" in out and written <= SANDBOX_LIMITS["scratch_bytes"] // 2**20, out


def test_ptrace_and_process_vm_are_refused(batch):
    out = _outputs_text(_grade(batch, "ptrace").nb)
    assert f"ptrace -1 {errno.EPERM}" in out and f"process_vm_readv -1 {errno.EPERM}" in out, out
