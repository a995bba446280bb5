"""A new gradebook is stamped with the schema revision nbgrader's own way gives (``alembic heads`` in a
subprocess), read in-process from nbgrader's migration scripts (backproplab.grading.course)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from nbgrader.dbutil import _temp_alembic_ini

from backproplab.grading.course import load_course
from tests.grading.classbuilder import make_course


def test_a_new_gradebook_has_the_revision_alembic_heads_reports(tmp_path):
    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'unused.db'}") as ini:
        heads = subprocess.run([str(Path(sys.executable).parent / "alembic"), "-c", ini, "heads"], check=True,
                               capture_output=True, text=True).stdout
    expected = heads.split("\n")[0].split(" ")[0]
    root = make_course(tmp_path)
    with load_course(root).gradebook():
        pass
    with sqlite3.connect(root / "autograder" / "gradebook.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(expected,)]
    assert len(expected) == 12
