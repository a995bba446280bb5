"""What was graded from which copy: lets an interrupted or repeated run skip finished work.

``autograded/.backproplab/state.json`` (a hidden folder nbgrader ignores) maps ``student/assignment`` to
the checksum of the submitted copy, the checksum of the release data it was graded against and the grader
version. An entry is written only after its grades are committed to the gradebook. It also remembers the
source digest each assignment was last recorded in the gradebook with, to skip recording it again.

Each result is appended, as one line, to ``state.journal`` next to it; :meth:`State.save` (at the end of a run,
interrupted or not) folds the journal into ``state.json``. Rewriting the whole file after every result cost
O(n²): a class of 2,000 re-encoded every earlier verdict 2,000 times. A run killed outright leaves the journal,
which the next run reads (a last line cut short is ignored).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from .protocol import NotebookResult, TaskResult

#: Bump when grading itself changes, so every submission is graded again.
PIPELINE_VERSION = 2


def submission_checksum(files: dict[str, Path | None]) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        path = files[name]
        digest.update(name.encode() + b"\0")
        if path is None:
            digest.update(b"<missing>\0")
        else:
            digest.update(Path(path).name.encode() + b"\0")
            digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:24]


class State:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.journal = self.path.with_suffix(".journal")
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            data = {}
        if not isinstance(data, dict) or data.get("version") != PIPELINE_VERSION:
            data = {}
        self.entries: dict = data.get("submissions", {})
        self.registered: dict = data.get("registered", {})
        self._replay()

    def _replay(self) -> None:
        try:
            lines = self.journal.read_text(encoding="utf-8").splitlines()
        except OSError:
            return
        for line in lines:
            try:
                change = json.loads(line)
            except ValueError:  # a line cut short by a killed run
                continue
            if not isinstance(change, dict) or change.get("version") != PIPELINE_VERSION:
                continue
            if change.get("entry") is None:
                self.entries.pop(change.get("key"), None)
            else:
                self.entries[change["key"]] = change["entry"]

    def _append(self, key: str, entry: dict | None) -> None:
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        with open(self.journal, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"version": PIPELINE_VERSION, "key": key, "entry": entry}, sort_keys=True) + "\n")

    @staticmethod
    def key(student: str, assignment: str) -> str:
        return f"{student}/{assignment}"

    def is_current(self, student: str, assignment: str, checksum: str, info_checksum: str) -> dict | None:
        entry = self.entries.get(self.key(student, assignment))
        if (isinstance(entry, dict) and entry.get("checksum") == checksum and entry.get("info") == info_checksum
                and entry.get("version") == PIPELINE_VERSION):
            return entry
        return None

    def record(self, result: TaskResult) -> None:
        """Remember ``result`` (whole: its verdicts and how its kernel ran, for the instructor and the tests)."""
        key = self.key(result.student, result.assignment)
        self.entries[key] = {
            "checksum": result.checksum, "info": result.info_checksum, "version": PIPELINE_VERSION,
            "notebooks": {name: nb.to_dict() for name, nb in result.notebooks.items()},
        }
        self._append(key, self.entries[key])

    def results(self, student: str, assignment: str) -> dict[str, NotebookResult]:
        """The recorded results of (student, assignment), per notebook (empty when it was not graded)."""
        entry = self.entries.get(self.key(student, assignment)) or {}
        return {name: NotebookResult.from_dict(nb) for name, nb in entry.get("notebooks", {}).items()}

    def forget(self, student: str, assignment: str) -> None:
        key = self.key(student, assignment)
        if self.entries.pop(key, None) is not None:
            self._append(key, None)

    def save(self) -> None:
        """Write everything to ``state.json`` and empty the journal."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        data = {"version": PIPELINE_VERSION, "registered": self.registered, "submissions": self.entries}
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)
        self.journal.unlink(missing_ok=True)
