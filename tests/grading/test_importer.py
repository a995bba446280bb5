"""How LMS exports map to students and notebooks (no kernel runs: fast)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backproplab.grading.course import AssignmentInfo, NotebookInfo, load_course
from backproplab.grading.importer import import_submissions
from backproplab.grading.roster import read_roster
from tests.grading.classbuilder import REPO, write_tree, write_zip

NAMES = ["01_chain_rule", "02_forward_pass"]


def _nb(*grade_ids) -> bytes:
    cells = [{"cell_type": "code", "source": "", "metadata": {"nbgrader": {"grade_id": g}}, "outputs": [],
              "execution_count": None} for g in grade_ids]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


NB1 = _nb("ex-a", "test-a")
NB2 = _nb("ex-b", "test-b")


@pytest.fixture
def course(tmp_path):
    root = tmp_path / "root"
    (root / "autograder").mkdir(parents=True)
    (root / "autograder" / "nbgrader_config.py").write_text(
        (REPO / "autograder" / "nbgrader_config.py").read_text())
    return load_course(root)


@pytest.fixture
def infos():
    def info(name, ids):
        cells = {g: {"cell_type": "code", "locked": g.startswith("test"), "source": "", "checksum": "x"}
                 for g in ids}
        return AssignmentInfo(name, {name: NotebookInfo(name, None, list(ids), cells,
                                                        {ids[1]: 1.0}, [ids[0]])})
    return {NAMES[0]: info(NAMES[0], ["ex-a", "test-a"]), NAMES[1]: info(NAMES[1], ["ex-b", "test-b"])}


def _who(result) -> dict[tuple[str, str], str]:
    return {(r["student_id"], r["assignment"]): r["file"] for r in result.mapping
            if r["assignment"] and not r["how"].startswith("ignored")}


def test_lms_layouts_in_one_zip(tmp_path, course, infos):
    export = write_zip(tmp_path / "export.zip", {
        "Assignment 1 Submissions/smithjohn_12345_67890_01_chain_rule.ipynb": NB1,
        "Assignment 1 Submissions/smithjohn_late_12345_67891_02_forward_pass-1.ipynb": NB2,
        "Assignment 1 Submissions/Jane Doe_222_assignsubmission_file_/01_chain_rule.ipynb": NB1,
        "Assignment 1 Submissions/Jane Doe_222_assignsubmission_file_02_forward_pass.ipynb": NB2,
        "Assignment 1 Submissions/alice/work/01_chain_rule.ipynb": NB1,
        "Assignment 1 Submissions/bob_02_forward_pass.ipynb": NB2,
        "Assignment 1 Submissions/02_forward_pass_carl.ipynb": NB2,
        "Assignment 1 Submissions/__MACOSX/alice/._01_chain_rule.ipynb": b"junk",
        "Assignment 1 Submissions/dora/.ipynb_checkpoints/01_chain_rule-checkpoint.ipynb": NB1,
    })
    result = import_submissions(export, course, infos)
    assert sorted(result.students) == ["alice", "bob", "carl", "jane_doe", "smithjohn"]
    who = _who(result)
    assert who[("smithjohn", NAMES[1])].endswith("smithjohn_late_12345_67891_02_forward_pass-1.ipynb")
    assert who[("jane_doe", NAMES[1])].endswith("Jane Doe_222_assignsubmission_file_02_forward_pass.ipynb")
    assert who[("alice", NAMES[0])].endswith("alice/work/01_chain_rule.ipynb")
    assert (course.root / "autograder/submitted/carl/02_forward_pass/02_forward_pass.ipynb").read_bytes() == NB2
    assert result.submissions[("bob", NAMES[0])] == {NAMES[0]: None}
    assert result.students["jane_doe"].first_name == "Jane"


def test_single_student_folder_is_not_taken_for_a_wrapper(tmp_path, course, infos):
    export = write_tree(tmp_path / "export", {"alice/01_chain_rule.ipynb": NB1, "alice/02_forward_pass.ipynb": NB2})
    result = import_submissions(export, course, infos)
    assert sorted(result.students) == ["alice"]
    assert all(result.submissions[("alice", a)][a] is not None for a in NAMES)


def test_notebook_recognised_by_content_and_best_copy_wins(tmp_path, course, infos):
    export = write_tree(tmp_path / "export", {
        "alice/Untitled.ipynb": NB2,  # the wrong name: its cells say 02
        "alice/01_chain_rule.ipynb": NB1,
        "alice/01_chain_rule (1).ipynb": NB1 + b" ",
        "alice/01_chain_rule.pdf": b"%PDF",
    })
    result = import_submissions(export, course, infos)
    who = _who(result)
    assert who[("alice", NAMES[1])] == "alice/Untitled.ipynb"
    assert who[("alice", NAMES[0])] == "alice/01_chain_rule.ipynb"
    ignored = [r for r in result.mapping if r["how"].startswith("ignored")]
    assert sorted(r["file"] for r in ignored) == ["alice/01_chain_rule (1).ipynb", "alice/01_chain_rule.pdf"]


def test_roster_fixes_ids_and_lists_absent_students(tmp_path, course, infos):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id,name,email\nS001,John Smith,jsmith@uni.edu\nS002,Jane Doe,jd@uni.edu\n"
                      "S003,Absent Person,absent@uni.edu\n")
    export = write_tree(tmp_path / "export", {
        "smithjohn_12345_67890_01_chain_rule.ipynb": NB1,  # Canvas: last name first
        "Jane Doe_222_assignsubmission_file_/01_chain_rule.ipynb": NB1,  # Moodle: the full name
        "stranger/01_chain_rule.ipynb": NB1,
    })
    result = import_submissions(export, course, infos, read_roster(roster))
    assert sorted(result.students) == ["s001", "s002", "s003", "stranger"]
    assert result.students["s001"].email == "jsmith@uni.edu"
    assert ("stranger", "", "'stranger' is not on the roster: graded as 'stranger'") in result.notes
    assert result.submissions[("s003", NAMES[0])] == {NAMES[0]: None}


def test_roster_file_key_column(tmp_path, course, infos):
    roster = tmp_path / "roster.csv"
    roster.write_text("student_id;file_key\nalice.a;12345\n")  # semicolons, Canvas numeric id
    export = write_tree(tmp_path / "export", {"smithjohn_12345_67890_01_chain_rule.ipynb": NB1})
    result = import_submissions(export, course, infos, read_roster(roster))
    assert list(result.students) == ["alice.a"]


def test_a_different_copy_is_archived_never_overwritten(tmp_path, course, infos):
    first = write_tree(tmp_path / "one", {"alice/01_chain_rule.ipynb": NB1})
    import_submissions(first, course, infos)
    again = import_submissions(first, course, infos)
    assert (again.copied, again.unchanged, again.archived) == (0, 1, 0)
    second = write_tree(tmp_path / "two", {"alice/01_chain_rule.ipynb": b"not json"})
    result = import_submissions(second, course, infos)
    assert result.archived == 1
    folder = course.root / "autograder/submitted/alice/01_chain_rule"
    assert (folder / "01_chain_rule.ipynb.unreadable").read_bytes() == b"not json"
    assert not (folder / "01_chain_rule.ipynb").exists()
    kept = list((course.root / "autograder/submitted/.history/alice/01_chain_rule").glob("*/01_chain_rule.ipynb"))
    assert [p.read_bytes() for p in kept] == [NB1]
    assert any("earlier, different copy was replaced" in m for _, _, m in result.notes)


def test_missing_file_keeps_the_earlier_copy(tmp_path, course, infos):
    import_submissions(write_tree(tmp_path / "one", {"alice/01_chain_rule.ipynb": NB1}), course, infos)
    result = import_submissions(write_tree(tmp_path / "two", {"alice/02_forward_pass.ipynb": NB2}), course, infos)
    assert result.submissions[("alice", NAMES[0])][NAMES[0]] == Path(
        course.root / "autograder/submitted/alice/01_chain_rule/01_chain_rule.ipynb")
    assert ("alice", NAMES[0], "no 01_chain_rule.ipynb in this export: the copy from an earlier import "
                               "was graded") in result.notes


def test_other_notebooks_of_the_course_are_not_graded_in_this_run(tmp_path, course, infos):
    """Grading one assignment from an export of the whole course: the other notebooks (which share a `setup`
    cell with it) are reported as not graded now, never taken for it, and never read as notebooks."""
    sources = {NAMES[0]: _nb("setup", "ex-a", "test-a"), NAMES[1]: _nb("setup", "ex-b", "test-b")}
    for name, data in sources.items():
        folder = course.path("source", assignment=name)
        folder.mkdir(parents=True)
        (folder / f"{name}.ipynb").write_bytes(data)
    export = write_tree(tmp_path / "export", {
        "alice/01_chain_rule.ipynb": sources[NAMES[0]],
        "alice/02_forward_pass.ipynb": sources[NAMES[1]],
        "bob/02_forward_pass.ipynb": sources[NAMES[1]],  # bob did not hand in 01
        "carl/my work.ipynb": sources[NAMES[1]],  # 02 by its cells
        "dana/02_forward_pass.ipynb": sources[NAMES[0]],  # 01 under 02's name
    })
    ids = ["setup", "ex-a", "test-a"]
    cells = {g: {"cell_type": "code", "locked": g != "ex-a", "source": "", "checksum": "x"} for g in ids}
    info = AssignmentInfo(NAMES[0], {NAMES[0]: NotebookInfo(NAMES[0], None, ids, cells, {"test-a": 1.0}, ["ex-a"])})
    result = import_submissions(export, course, {NAMES[0]: info})
    how = {r["file"]: r["how"] for r in result.mapping}
    later = f"not graded in this run: {NAMES[1]}/{NAMES[1]}.ipynb"
    assert how["alice/01_chain_rule.ipynb"] == "exact name"
    assert how["alice/02_forward_pass.ipynb"] == f"{later} (exact name)"
    assert how["bob/02_forward_pass.ipynb"] == f"{later} (exact name)"
    assert how["carl/my work.ipynb"] == f"{later} (named 'my work.ipynb': identified by its cells)"
    assert how["dana/02_forward_pass.ipynb"].endswith(f"but holds {NAMES[0]}: identified by its cells")
    assert _who(result) == {("alice", NAMES[0]): "alice/01_chain_rule.ipynb",
                            ("dana", NAMES[0]): "dana/02_forward_pass.ipynb"}
    assert result.submissions[("bob", NAMES[0])] == {NAMES[0]: None}
    assert not [n for n in result.notes if "ignored" in n[2]]


def test_canvas_re_upload_beats_the_original_whatever_the_times(tmp_path, course, infos):
    """Canvas names a student's second upload ``<notebook>-1.ipynb``, the third ``-2``; zip times may be equal."""
    export = write_zip(tmp_path / "export.zip", {
        "nguyenbao_10006_50006_01_chain_rule.ipynb": NB1,
        "nguyenbao_late_10006_50099_01_chain_rule-2.ipynb": NB1 + b"\n",
        "nguyenbao_late_10006_50098_01_chain_rule-1.ipynb": NB1 + b" ",
    })
    result = import_submissions(export, course, infos)
    assert _who(result)[("nguyenbao", NAMES[0])].endswith("01_chain_rule-2.ipynb")
    notes = [text for sid, _, text in result.notes if sid == "nguyenbao"]
    assert sum("later uploaded copy" in text for text in notes) == 2, notes
    how = {r["file"]: r["how"] for r in result.mapping}
    assert how["nguyenbao_late_10006_50099_01_chain_rule-2.ipynb"] == "re-upload 2 of 01_chain_rule.ipynb"
