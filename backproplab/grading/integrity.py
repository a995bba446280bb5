"""Defence in depth: the grader notices when anything but itself changed the course during a run.

Confinement (:mod:`backproplab.sandbox.confine`) keeps a learner's code away from the course's files. Should
it fail (a weaker mode the instructor accepted, a kernel bug, a file made reachable by mistake), this is the
second line: :class:`Guard` takes, before the submissions run,

* a copy (in its memory) and a fingerprint of every file that nothing may change while grading: the instructor's sources
  (``solutions/``), the release (``course/``), the submissions (``autograder/submitted/``), the grading
  package of a checkout (``backproplab/``) and the files directly in ``autograder/`` (configuration, the
  grading secret; a file planted there is new);
* a copy (in its memory) of the gradebook, which becomes the gradebook of the run: the grader's own writes and
  reads go to the copy (:meth:`Guard.start` rebinds nbgrader's ``Gradebook`` to it), and after each write
  (``with guard.writing():``) the copy is written out to the file and fingerprinted. Before the grader's next
  write and at the end, the file must still be exactly what the grader wrote out. The copy is never read back
  from the file while learners' code runs: a change made to the file at any moment, even while the grader is
  writing, is noticed and undone (a copy renewed from the file after each write would adopt a change made
  between the grader's commit and the copy).

:meth:`Guard.finish` compares; anything else that changed is restored from the copies (a file that appeared is
moved to ``autograder/quarantine/`` , never deleted) and reported, and the run's results are not to be trusted
(:attr:`Guard.tampered`): the pipeline says so at the top of the report and forgets the run's grades in its
state, so that the next run grades everything again.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

#: the gradebook's companions, written by SQLite itself
_SQLITE_SIDE = ("-journal", "-wal", "-shm")


def _digest(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


@dataclass
class Guard:
    gradebook: Path
    root: Path  # what paths are reported relative to
    frozen: list[tuple[Path, bool]]  # (folder, recursive)
    files: dict[Path, str] = field(default_factory=dict)  # frozen file -> sha256
    incidents: list[str] = field(default_factory=list)
    # The copies live in the grader's memory: on disk, code running as the grading user could change them too.
    copies: dict[Path, bytes] = field(default_factory=dict)
    _gradebook_copy: sqlite3.Connection = field(
        default_factory=lambda: sqlite3.connect(":memory:", check_same_thread=False))
    _gradebook_digest: str | None = None
    _held: tuple | None = None  # (the Gradebook rebound to the copy, its own engine)

    @classmethod
    def start(cls, course, gb) -> Guard:
        """Fingerprint ``course`` (a :class:`backproplab.grading.course.Course`) before the submissions run;
        ``gb``, nbgrader's ``Gradebook``, then reads and writes the copy of a SQLite gradebook until :meth:`finish`
        (a database server's gradebook is out of a kernel's reach: not watched)."""
        from backproplab.sandbox.seeds import load_secret

        root = Path(course.root)
        load_secret(root / "autograder" / "grading_secret")  # the grader's own file, made before the fingerprints
        gradebook = Path(course.db_url.split("sqlite:///", 1)[-1])
        frozen = [(course.path("source"), True), (course.path("release"), True), (course.path("submitted"), True),
                  (root / "backproplab", True), (root / "autograder", False), (gradebook.parent, False)]
        self = cls(gradebook=gradebook, root=root, frozen=frozen)
        for path in self._walk():
            data = path.read_bytes()
            self.files[path] = hashlib.sha256(data).hexdigest()
            self.copies[path] = data
        if course.db_url.startswith("sqlite:///") and self.gradebook.exists():
            with contextlib.closing(sqlite3.connect(self.gradebook)) as src:  # before any learner code runs
                src.backup(self._gradebook_copy)
            self._gradebook_digest = self._gradebook_state()
            self._hold(gb)
        return self

    # ----------------------------------------------------------------------------------- the gradebook
    @contextlib.contextmanager
    def writing(self):
        """Around each of the grader's own writes to the gradebook (interrupted too: what it committed before
        the interruption is the grader's). Yields a list: the callables put in it run once what the grader
        wrote is in the gradebook's file (the resume state is told only then: a run killed before loses
        nothing it claimed)."""
        self._check_gradebook("before the grader's next write")
        then: list = []
        try:
            yield then
        finally:
            if self._held:  # the grader wrote the copy: the file must still be what it last wrote out
                self._check_gradebook("while the grader wrote")
                self._write_out()
            for done in then:
                done()

    def _hold(self, gb) -> None:
        """From now on ``gb`` reads and writes the copy in memory, which only the grader can reach."""
        from sqlalchemy import create_engine
        from sqlalchemy.pool import StaticPool

        gb.db.commit()
        gb.db.remove()
        self._held = (gb, gb.engine)
        gb.engine = create_engine("sqlite://", creator=lambda: self._gradebook_copy, poolclass=StaticPool,
                                  future=True)
        gb.db.configure(bind=gb.engine)

    def _release(self) -> None:
        """``gb`` reads and writes the file again (after :meth:`finish` wrote the copy out one last time)."""
        gb, engine = self._held
        gb.db.remove()
        gb.engine.dispose()
        gb.engine = engine
        gb.db.configure(bind=engine)
        self._held = None

    def _write_out(self) -> None:
        with contextlib.closing(sqlite3.connect(self.gradebook)) as dst:
            self._gradebook_copy.backup(dst)
        self._gradebook_digest = self._gradebook_state()

    def _gradebook_state(self) -> str | None:
        return "|".join(str(_digest(Path(f"{self.gradebook}{s}"))) for s in ("", "-wal"))

    def _check_gradebook(self, when: str) -> None:
        if not self._held or self._gradebook_state() == self._gradebook_digest:
            return
        self.incidents.append(f"the gradebook ({self._rel(self.gradebook)}) was changed by something other than "
                              f"the grader (noticed {when}): restored to what the grader last wrote")
        self._write_out()

    # ------------------------------------------------------------------------------------ frozen files
    def _walk(self):
        seen = set()
        for folder, recursive in self.frozen:
            if not folder.is_dir():
                continue
            entries = folder.rglob("*") if recursive else folder.iterdir()
            for path in sorted(entries):
                if path in seen or path.is_symlink() or not path.is_file():
                    continue
                if path.name.startswith(self.gradebook.name) and path.parent == self.gradebook.parent:
                    continue  # the gradebook is watched on its own
                seen.add(path)
                yield path

    def _rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def finish(self) -> list[str]:
        """Compare, restore and say what happened (an empty list: nothing but the grader changed anything)."""
        self._check_gradebook("at the end of the run")
        if self._held:
            self._release()
        now = set(self._walk())
        changed = [p for p, d in self.files.items() if p in now and _digest(p) != d]
        gone = [p for p in self.files if p not in now]
        new = sorted(now - set(self.files))
        for path in changed + gone:
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                if path.is_symlink() or path.is_dir():
                    self._quarantine(path)
            path.write_bytes(self.copies[path])
        quarantined = [self._quarantine(p) for p in new]
        for label, paths in (("changed", changed), ("deleted", gone)):
            if paths:
                self.incidents.append(f"{len(paths)} file(s) {label} by something other than the grader, restored: "
                                      + ", ".join(self._rel(p) for p in paths[:8]) + (" ..." if len(paths) > 8 else ""))
        if new:
            self.incidents.append(f"{len(new)} file(s) appeared where the grader writes nothing, moved to "
                                  f"{self._rel(quarantined[0].parent)}/: "
                                  + ", ".join(self._rel(p) for p in new[:8]) + (" ..." if len(new) > 8 else ""))
        self.copies.clear()
        self._gradebook_copy.close()
        return list(self.incidents)

    def _quarantine(self, path: Path) -> Path:
        folder = self.root / "autograder" / "quarantine" / time.strftime("%Y%m%d-%H%M%S")
        target = folder / self._rel(path).replace(os.sep, "__")
        folder.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)
        return target

    @property
    def tampered(self) -> bool:
        return bool(self.incidents)

    def warning(self) -> list[str]:
        """The lines that open the report when the run was tampered with."""
        if not self.incidents:
            return []
        return ["INTEGRITY: during this run, something other than the grader changed the course's files. The "
                "grades of this run are NOT to be trusted: they are forgotten, and the next run grades every "
                "submission again (as root, or with user namespaces allowed, learners' code cannot do this).",
                *(f"  - {line}" for line in self.incidents)]
