"""The integrity guard against a change to the SQLite gradebook made at any moment of a run, on a real nbgrader
gradebook. The change that slipped through before: made between the grader's commit and the guard's copy, it
became part of what the grader "last wrote" (seen under load in ``test_hostile_classmate``, weak mode: a
classmate's score became 1584)."""

from __future__ import annotations

import sqlite3
import warnings

import pytest
from sqlalchemy.exc import SAWarning

from backproplab.grading import integrity
from backproplab.grading.course import load_course
from tests.grading.classbuilder import make_course


def _attack(path) -> None:
    """What a kernel that can reach the file does: one UPDATE through SQLite."""
    with sqlite3.connect(path) as db:
        db.execute("UPDATE student SET first_name = 'Mallory was here'")


def _names(path) -> dict:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT id, first_name FROM student").fetchall())


@pytest.fixture
def gradebook(tmp_path):
    course = load_course(make_course(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        gb = course.gradebook()
        gb.add_student("ada", first_name="Ada")
        yield course, gb, course.db_url.split("sqlite:///", 1)[1]
        gb.close()


@pytest.mark.parametrize("when", ["during the grader's write", "between two writes", "after the last write"])
def test_a_change_to_the_gradebook_is_undone_whenever_it_is_made(gradebook, when):
    course, gb, path = gradebook
    guard = integrity.Guard.start(course, gb)
    with guard.writing():
        gb.add_student("bob", first_name="Bob")
        if when == "during the grader's write":  # after the grader's commit, before the guard's copy
            _attack(path)
    assert gb.find_student("bob").first_name == "Bob"  # the grader reads what it wrote
    if when == "between two writes":
        _attack(path)
    with guard.writing():
        gb.add_student("cat", first_name="Cat")
    if when == "after the last write":
        _attack(path)
    incidents = guard.finish()
    assert len(incidents) == 1 and "the gradebook (" in incidents[0] and "restored" in incidents[0], incidents
    assert _names(path) == {"ada": "Ada", "bob": "Bob", "cat": "Cat"}
    gb.add_student("dan", first_name="Dan")  # after the run, the Gradebook is the file's again
    assert _names(path)["dan"] == "Dan" and gb.find_student("bob").first_name == "Bob"


def test_without_a_change_nothing_is_reported_and_every_write_is_in_the_file(gradebook):
    course, gb, path = gradebook
    guard = integrity.Guard.start(course, gb)
    for sid in ("bob", "cat"):
        with guard.writing():
            gb.add_student(sid, first_name=sid.title())
        assert _names(path)[sid] == sid.title()  # written out at once: a killed run loses nothing written
    assert guard.finish() == []
    assert _names(path) == {"ada": "Ada", "bob": "Bob", "cat": "Cat"}
