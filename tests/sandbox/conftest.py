"""One batch: every attack of tests/sandbox/attacks.py and three honest students, graded together.

The course is a temporary nbgrader-like folder (``autograder/gradebook.db``, ``autograder/submitted/<student>/
ps1/ps1.ipynb``, ``solutions/ps1/ps1.ipynb`` with the hidden tests); the submissions run in parallel (a few at
a time) in one event loop, with small limits, and every file of that folder is fingerprinted before and after.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
from pathlib import Path

import nbformat
import pytest

from backproplab.sandbox import Limits
from backproplab.sandbox.runsync import run_sync
from tests.sandbox.attacks import ATTACKS, BY_NAME, source_notebook

SECRET = b"sandbox-test-secret-0123456789"
HONEST = ["honest_1", "honest_2", "honest_3"]
PARALLEL = 6
TEST_LIMITS = Limits(cpu_seconds=20, memory_bytes=2 * 2**30, max_processes=64, file_bytes=16 * 2**20,
                     scratch_bytes=64 * 2**20, cell_timeout=3, total_timeout=60, startup_timeout=60,
                     output_bytes_per_cell=64 * 2**10, output_bytes_total=256 * 2**10, message_bytes=4 * 2**20)
REPO = Path(__file__).resolve().parents[2]


def students() -> dict[str, object]:
    """student id -> Attack (the honest students submit the honest answers)."""
    out = {a.name: a for a in ATTACKS}
    out.update({name: BY_NAME["honest"] for name in HONEST})
    return out


def fingerprint(*roots: Path) -> dict[str, str]:
    found = {}
    for root in roots:
        if root.is_file():
            found[str(root)] = hashlib.sha256(root.read_bytes()).hexdigest()
            continue
        for path in sorted(root.rglob("*")) if root.exists() else ():
            if path.is_file() and not path.is_symlink():
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def make_course(root: Path) -> Path:
    (root / "solutions" / "ps1").mkdir(parents=True)
    nbformat.write(source_notebook(), root / "solutions" / "ps1" / "ps1.ipynb")
    (root / "autograder").mkdir()
    db = sqlite3.connect(root / "autograder" / "gradebook.db")
    db.execute("CREATE TABLE grade (id TEXT, student TEXT, manual_score REAL)")
    db.executemany("INSERT INTO grade VALUES (?, ?, NULL)", [(f"test-{i}", s) for s in students() for i in range(3)])
    db.commit()
    db.close()
    for student, attack in students().items():
        folder = root / "autograder" / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        nbformat.write(attack.submission(str(root)), folder / "ps1.ipynb")
    return root


@pytest.fixture(scope="session")
def course(tmp_path_factory) -> Path:
    return make_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="session")
def batch(course, tmp_path_factory):
    """Grade every student; returns a dict with the grades, the seconds and the fingerprints."""
    from backproplab.sandbox import can_confine
    from backproplab.sandbox.grade import grade_submission_async

    if not can_confine():
        pytest.skip("the attack batch needs root (uid switch, mount namespace): see test_unprivileged.py")
    records = tmp_path_factory.mktemp("records")
    watched = [course]  # the attacks write only there; what they read of the repository is checked in outputs
    before = fingerprint(*watched)
    source = course / "solutions" / "ps1" / "ps1.ipynb"

    async def run_all():
        gate = asyncio.Semaphore(PARALLEL)

        async def one(student, attack):
            async with gate:
                return await grade_submission_async(
                    course / "autograder" / "submitted" / student / "ps1" / "ps1.ipynb", source,
                    student=student, assignment="ps1", notebook="ps1", secret=SECRET,
                    limits=TEST_LIMITS.with_(**attack.limits), record_dir=records / student)

        order = list(students().items())
        results = await asyncio.gather(*(one(s, a) for s, a in order), return_exceptions=True)
        return dict(zip([s for s, _ in order], results, strict=True))

    start = time.monotonic()
    grades = run_sync(run_all())
    return {"grades": grades, "seconds": time.monotonic() - start, "before": before,
            "after": fingerprint(*watched), "records": records, "source": source}
