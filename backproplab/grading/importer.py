"""From an LMS export (a zip or a folder) to ``autograder/submitted/<student>/<assignment>/``.

Recognised layouts (mixed freely in one export):

* Canvas: ``smithjohn_12345_67890_01_chain_rule.ipynb`` (``_late_`` and re-upload suffixes ``-1`` too);
* Moodle: ``John Smith_12345_assignsubmission_file_/01_chain_rule.ipynb`` (or flattened with the folder
  name as a prefix);
* a folder per student: ``alice/01_chain_rule.ipynb`` (deeper folders allowed);
* a flat file per student and notebook: ``alice_01_chain_rule.ipynb`` or ``01_chain_rule_alice.ipynb``.

A single top folder wrapping everything is skipped. Which notebook a file is comes from its name
(``01_chain_rule``, ``01_chain_rule (1)``, ``chain rule-Copy1``) or, when the name says nothing or
contradicts the content, from the grade ids of its cells. Every decision is a row of the mapping report;
a roster CSV (:mod:`.roster`) overrides the student ids.

The export is only ever read. A copy that would replace a different earlier copy is first moved to
``submitted/.history/<student>/<assignment>/<time>/`` (nbgrader does not look into hidden folders).
Files that are not notebooks are kept too, as ``<notebook>.ipynb.unreadable`` next to where the notebook
would be, so plain ``nbgrader autograde`` treats them as missing while nothing is lost.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from .course import AssignmentInfo, Course, source_assignments
from .exportfiles import Catalogue, Claim, Incoming, Slot, canvas_upload, claim, scan, strip_wrappers
from .notebooks import MAX_BYTES, Unreadable, peek_grade_ids, read_notebook_bytes
from .protocol import UNREADABLE_SUFFIX
from .roster import Student, match, normalize_key, student_id_from


def _better(chosen, other) -> str:
    if other.rank > chosen.rank:
        return "better-named"
    return "later uploaded" if chosen.upload > other.upload else "newer"


# ------------------------------------------------------------------------------------------- the plan
@dataclass
class Candidate:
    file: Incoming
    slot: Slot
    how: str  # how the notebook was recognised
    rank: int  # 0 exact name, 1 renamed, 2 by content; +10 unreadable
    reason: str | None  # why it is unreadable
    upload: int = 0  # Canvas's re-upload number: 'name-2.ipynb' is the student's third upload


@dataclass
class ImportResult:
    students: dict[str, Student]
    submissions: dict[tuple[str, str], dict[str, Path | None]]  # (student, assignment) -> notebook -> copy
    mapping: list[dict]  # one row per file of the export
    notes: list[tuple[str, str, str]]  # (student, assignment, message)
    copied: int = 0
    unchanged: int = 0
    archived: int = 0

    def row(self, file: Incoming, student: str = "", assignment: str = "", how: str = "") -> None:
        """One row of the mapping report: what was decided about ``file``."""
        self.mapping.append({"file": file.path, "student_id": student, "assignment": assignment, "how": how})


def other_notebooks(course: Course, infos: dict[str, AssignmentInfo]) -> dict[tuple[str, str], set[str]]:
    """``(assignment, notebook) -> grade ids`` of the source notebooks of the assignments not in ``infos``."""
    found = {}
    for assignment in source_assignments(course):
        if assignment not in infos:
            for path in sorted(course.path("source", assignment=assignment).glob("*.ipynb")):
                found[(assignment, path.stem)] = peek_grade_ids(path.read_bytes())
    return found


def import_submissions(source: Path, course: Course, infos: dict[str, AssignmentInfo],
                       roster: list[Student] | None = None) -> ImportResult:
    """Read the export ``source``, decide which file is whose which notebook, and copy the chosen ones."""
    catalogue = Catalogue(infos, other_notebooks(course, infos))
    files = scan(source)
    depth = strip_wrappers(files, catalogue)
    ids = _StudentIds(roster or [])
    result = ImportResult(students=ids.students, submissions={}, mapping=[], notes=ids.notes)
    candidates: dict[tuple[str, str, str], list[Candidate]] = {}
    for file in files:
        who = claim(file, depth, catalogue)
        if who is None:
            result.row(file, how="ignored: cannot tell whose file it is")
            continue
        sid = ids.resolve(who)
        found = _candidate(file, who, catalogue)
        if isinstance(found, str):
            result.row(file, sid, "", found)
        else:
            candidates.setdefault((sid, found.slot.assignment, found.slot.notebook), []).append(found)
    chosen = _choose(candidates, result)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for sid in sorted(result.students):
        for assignment, info in sorted(infos.items()):
            folder = course.path("submitted", sid, assignment)
            result.submissions[(sid, assignment)] = {
                notebook: _store(chosen.get((sid, assignment, notebook)), folder, notebook, course, sid, assignment,
                                 stamp, result)
                for notebook in sorted(info.notebooks)}
    return result


class _StudentIds:
    """Student ids for the claims of an export: the roster's, else made from the claimed name (one id per
    identity, never a roster student's)."""

    def __init__(self, roster: list[Student]):
        self.roster = roster
        self.students: dict[str, Student] = {s.student_id: s for s in roster}
        self.by_identity: dict[tuple, str] = {}
        self.owners: dict[str, tuple] = {}
        self.notes: list[tuple[str, str, str]] = []

    def resolve(self, who: Claim) -> str:
        identity = (normalize_key(who.key), who.aliases)
        sid = self.by_identity.get(identity)
        if sid is None:
            sid = self.by_identity[identity] = self._new(who, identity)
        return sid

    def _new(self, who: Claim, identity: tuple) -> str:
        entry, problem = match(self.roster, [who.key, *who.aliases]) if self.roster else (None, None)
        if entry is not None:
            return entry.student_id
        base = sid = student_id_from(who.key)
        n = 1
        while (sid in self.students and self.students[sid].on_roster) or self.owners.get(sid, identity) != identity:
            n += 1
            sid = student_id_from(f"{base}_{who.aliases[0]}") if who.aliases and n == 2 else f"{base}_{n}"
        self.owners[sid] = identity
        if sid not in self.students:
            first, last = None, None
            if who.how == "moodle":  # Moodle writes the full name
                first, _, last = " ".join(who.key.split()).rpartition(" ")
                first, last = (first or last), (last if first else None)
            self.students[sid] = Student(sid, first, last)
        if self.roster:
            self.notes.append((sid, "", f"'{who.key}' is not on the roster" +
                               (f" ({problem})" if problem else "") + f": graded as '{sid}'"))
        return sid


def _candidate(file: Incoming, who: Claim, catalogue: Catalogue) -> Candidate | str:
    """Which graded notebook ``file`` is (by name, or by its cells when the name says nothing or
    contradicts them), or why it is ignored."""
    slot, exact = catalogue.by_name(who.inner)
    is_notebook_name = who.inner.lower().endswith(".ipynb")
    data = file.read() if (is_notebook_name or slot) else b""
    content = catalogue.by_content(data) if data else None
    upload = canvas_upload(who, slot)
    how = "exact name" if exact else (f"re-upload {upload} of {slot.notebook}.ipynb" if upload else
                                      f"named '{who.inner}'")
    rank = 0 if (exact or upload) else 1
    if content and (slot is None or (slot != content and not
                    (peek_grade_ids(data) & catalogue.ids[(slot.assignment, slot.notebook)]))):
        if slot is not None:
            how = f"named '{who.inner}' but holds {content.notebook}: identified by its cells"
        else:
            how = f"named '{who.inner}': identified by its cells"
        slot, rank = content, 2
    if slot is None:
        return f"ignored: '{who.inner}' is not one of the graded notebooks"
    if not catalogue.graded(slot):
        return f"not graded in this run: {slot.assignment}/{slot.notebook}.ipynb ({how})"
    reason = None
    if file.size > MAX_BYTES:
        reason = f"not graded: the file is larger than {MAX_BYTES // (1024 * 1024)} MB"
    else:
        try:
            read_notebook_bytes(data)
        except Unreadable as exc:
            reason = str(exc)
    return Candidate(file, slot, how, rank + (10 if reason else 0), reason, upload)


def _choose(candidates: dict[tuple[str, str, str], list[Candidate]],
            result: ImportResult) -> dict[tuple[str, str, str], Candidate]:
    """One file per (student, notebook): the best recognised, then the last uploaded, then the newest."""
    chosen: dict[tuple[str, str, str], Candidate] = {}
    for key, found in candidates.items():
        found.sort(key=lambda c: (c.rank, -c.upload, -c.file.mtime, c.file.path))
        best = chosen[key] = found[0]
        sid, assignment, notebook = key
        result.row(best.file, sid, assignment, best.how + (f"; {best.reason}" if best.reason else ""))
        if best.rank in (1, 2, 11, 12):
            result.notes.append((sid, assignment, f"{notebook}.ipynb was submitted as '{best.file.path}' "
                                                  f"({best.how})"))
        for other in found[1:]:
            result.row(other.file, sid, assignment, f"ignored: '{best.file.path}' used instead")
            result.notes.append((sid, assignment, f"'{other.file.path}' ignored: '{best.file.path}' is the "
                                                  f"{_better(best, other)} copy"))
    return chosen


def _existing(folder: Path, notebook: str) -> Path | None:
    for name in (f"{notebook}.ipynb", f"{notebook}.ipynb{UNREADABLE_SUFFIX}"):
        if (folder / name).is_file():
            return folder / name
    return None


def _store(pick: Candidate | None, folder: Path, notebook: str, course: Course, sid: str, assignment: str,
           stamp: str, result: ImportResult) -> Path | None:
    """Copy the chosen file into ``folder``; an earlier, different copy is archived, never overwritten."""
    old = _existing(folder, notebook)
    if pick is None:
        if old is not None:
            result.notes.append((sid, assignment, f"no {notebook}.ipynb in this export: the copy from an "
                                                  "earlier import was graded"))
        return old
    data = pick.file.read()
    target = folder / (f"{notebook}.ipynb" + (UNREADABLE_SUFFIX if pick.reason else ""))
    if old is not None and old == target and old.read_bytes() == data:
        result.unchanged += 1
        return target
    if old is not None:
        archive = course.path("submitted") / ".history" / sid / assignment / stamp
        archive.mkdir(parents=True, exist_ok=True)
        moved = archive / old.name
        n = 1
        while moved.exists():
            moved = archive / f"{old.name}.{n}"
            n += 1
        shutil.move(str(old), str(moved))
        result.archived += 1
        result.notes.append((sid, assignment, f"an earlier, different copy was replaced; it is kept in "
                                              f"{moved.relative_to(course.root)}"))
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{target.name}.tmp"
    tmp.write_bytes(data)
    os.chmod(tmp, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    os.replace(tmp, target)
    result.copied += 1
    return target
