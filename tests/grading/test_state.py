"""The resume state (backproplab.grading.state): one journal line per result instead of rewriting the whole file
after each (O(n²) in the class size), replayed by the next run even when this one was killed outright."""

from __future__ import annotations

import json

from backproplab.grading.protocol import TaskResult
from backproplab.grading.state import State


def _result(student: str) -> TaskResult:
    return TaskResult(student, "ps1", f"sum-{student}", "info-1", {})


def test_results_survive_a_killed_run_and_a_save_folds_them_in(tmp_path):
    path = tmp_path / ".backproplab" / "state.json"
    first = State(path)
    first.registered["ps1"] = "digest"
    first.save()
    for student in ("ann", "ben", "cat"):
        first.record(_result(student))
    first.forget("ben", "ps1")
    assert json.loads(path.read_text())["submissions"] == {}  # nothing rewritten per result
    with open(first.journal, "a") as fh:
        fh.write('{"version": 2, "key": "dan/ps1", "entr')  # the run was killed in the middle of a line

    again = State(path)  # the next run
    assert sorted(again.entries) == ["ann/ps1", "cat/ps1"]
    assert again.is_current("cat", "ps1", "sum-cat", "info-1") and again.registered == {"ps1": "digest"}
    again.save()
    assert not again.journal.exists()
    assert sorted(json.loads(path.read_text())["submissions"]) == ["ann/ps1", "cat/ps1"]
    assert sorted(State(path).entries) == ["ann/ps1", "cat/ps1"]
