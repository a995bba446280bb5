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
import re
import shutil
import stat
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .course import AssignmentInfo, Course, GradingError, source_assignments
from .notebooks import MAX_BYTES, Unreadable, peek_grade_ids, read_notebook_bytes
from .roster import Student, match, normalize_key, student_id_from
from .worker import UNREADABLE_SUFFIX

_SKIP_PARTS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".git"}
_CANVAS = re.compile(r"^(?P<key>[A-Za-z0-9-]+?)(?:_late)?_(?P<uid>\d+)_(?P<aid>\d+)_(?P<file>.+)$", re.I)
_MOODLE_DIR = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_[a-z]+_?$", re.I)
#: what follows a notebook's name in a learner's own file name: not a student ("(1)", "copy2", "v2", "final")
_COPY_SUFFIX = re.compile(r"^(\(?\d*\)?|-?copy\d*|v\d+|final|draft|new|old)$", re.I)
_MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<pid>\d+)_assignsubmission_[a-z]+_(?P<file>.+)$", re.I)


# ------------------------------------------------------------------------------------------ reading
@dataclass
class Incoming:
    """One file of the export."""

    path: str  # as shown in reports: relative to the zip or the folder
    mtime: float
    size: int
    _loader: object = field(repr=False, default=None)
    _data: bytes | None = field(repr=False, default=None)

    @property
    def parts(self) -> tuple[str, ...]:
        return PurePosixPath(self.path).parts

    def read(self) -> bytes:
        if self._data is None:
            self._data = b"" if self.size > MAX_BYTES else self._loader()
        return self._data


def scan(source: Path) -> list[Incoming]:
    """Every file of a zip or a folder (hidden files, ``__MACOSX`` and checkpoints left out)."""
    source = Path(source)
    files: list[Incoming] = []

    def keep(rel: str) -> bool:
        parts = PurePosixPath(rel).parts
        return bool(parts) and not any(p in _SKIP_PARTS or p.startswith(".") for p in parts)

    if source.is_dir():
        for dirpath, dirnames, filenames in os.walk(source):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_PARTS and not d.startswith("."))
            for filename in sorted(filenames):
                full = Path(dirpath) / filename
                rel = full.relative_to(source).as_posix()
                if not keep(rel) or not full.is_file():
                    continue
                st = full.stat()
                files.append(Incoming(rel, st.st_mtime, st.st_size, _loader=full.read_bytes))
    elif source.is_file() and zipfile.is_zipfile(source):
        archive = zipfile.ZipFile(source)
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            rel = info.filename.replace("\\", "/").lstrip("/")
            if info.is_dir() or not keep(rel) or ".." in PurePosixPath(rel).parts:
                continue
            mtime = time.mktime((*info.date_time, 0, 0, -1))
            files.append(Incoming(rel, mtime, info.file_size,
                                  _loader=lambda name=info.filename: archive.read(name)))
    elif source.exists():
        raise GradingError(f"{source} is neither a folder nor a zip file")
    else:
        raise GradingError(f"{source} does not exist")
    return files


# ------------------------------------------------------------------------------------- naming rules
def _clean_name(stem: str) -> str:
    """``"Chain Rule (1)"`` -> ``"chain_rule"``; Canvas ``-1`` re-upload and Jupyter ``-Copy1`` removed."""
    s = stem.strip().lower()
    for _ in range(3):
        s = re.sub(r"(\s*\(\d+\)|-copy\d*|_copy\d*|\s+copy(\s*\d+)?|-\d+)$", "", s).strip()
    return re.sub(r"[\s\-.]+", "_", s).strip("_")


def _number(name: str) -> int | None:
    m = re.match(r"^(\d+)", name)
    return int(m.group(1)) if m else None


@dataclass
class Slot:
    assignment: str
    notebook: str


class Catalogue:
    """The notebooks being graded, and how to recognise one by name or by content.

    ``others`` are the course's other notebooks, ``(assignment, notebook) -> grade ids``: an export usually holds
    every notebook of the course, and a file that is one of those is not graded in this run (never mistaken for
    a graded one). Content is recognised from the grade ids that only one notebook of the course has (every
    notebook has a ``setup`` cell, for instance)."""

    def __init__(self, infos: dict[str, AssignmentInfo], others: dict[tuple[str, str], set[str]] | None = None):
        self.slots = [Slot(a, n) for a, info in sorted(infos.items()) for n in sorted(info.notebooks)]
        graded = {(s.assignment, s.notebook) for s in self.slots}
        others = {key: ids for key, ids in (others or {}).items() if key not in graded}
        self.all_slots = self.slots + [Slot(a, n) for a, n in sorted(others)]
        ids = {(s.assignment, s.notebook): set(infos[s.assignment].notebooks[s.notebook].source_cells)
               for s in self.slots} | {key: set(v) for key, v in others.items()}
        seen = Counter(i for found in ids.values() for i in found)
        self.ids = {key: {i for i in found if seen[i] == 1} for key, found in ids.items()}

    def graded(self, slot: Slot) -> bool:
        """Whether ``slot`` is one of the notebooks graded in this run."""
        return slot in self.slots

    def by_name(self, filename: str) -> tuple[Slot | None, bool]:
        """The slot a file name designates and whether the name is exactly ``<notebook>.ipynb``."""
        stem = filename[:-6] if filename.lower().endswith(".ipynb") else os.path.splitext(filename)[0]
        for slot in self.all_slots:
            if filename == f"{slot.notebook}.ipynb":
                return slot, True
        clean = _clean_name(stem)
        for slot in self.all_slots:
            if clean in (slot.notebook.lower(), slot.assignment.lower()):
                return slot, False
        hits = []
        for slot in self.all_slots:
            topic = re.sub(r"^\d+_", "", slot.notebook.lower())
            num = _number(slot.notebook)
            if clean == topic or clean.endswith("_" + topic) or (
                    num is not None and _number(clean) == num and (topic in clean or clean == str(_number(clean)))):
                hits.append(slot)
        return (hits[0], False) if len(hits) == 1 else (None, False)

    def by_content(self, data: bytes) -> Slot | None:
        found = peek_grade_ids(data)
        if not found:
            return None
        scores = sorted(((len(found & ids), key) for key, ids in self.ids.items()), reverse=True)
        if scores[0][0] == 0 or (len(scores) > 1 and scores[1][0] == scores[0][0]):
            return None
        a, n = scores[0][1]
        return Slot(a, n)

    def split_flat(self, stem: str) -> tuple[str, str] | None:
        """``alice_01_chain_rule`` -> ``("alice", "01_chain_rule")``; also the notebook first."""
        low = stem.lower()
        for name in sorted({s.notebook for s in self.all_slots} | {s.assignment for s in self.all_slots},
                           key=len, reverse=True):
            n = name.lower()
            for sep in ("_", "-", " "):
                if low.endswith(sep + n) and len(stem) > len(n) + 1:
                    return stem[: -len(n) - 1], stem[-len(n):]
                if low.startswith(n + sep) and len(stem) > len(n) + 1:
                    return stem[len(n) + 1:], stem[: len(n)]
        return None


@dataclass
class Claim:
    """Who a file belongs to according to the export's naming, and the file name the learner used."""

    key: str
    aliases: tuple[str, ...]
    how: str
    inner: str


def _strip_wrappers(files: list[Incoming], catalogue: Catalogue) -> int:
    """How many leading folders all files share that name no student (``export/``, ``submissions/``)."""
    depth = 0
    while files:
        heads = {f.parts[depth] if len(f.parts) > depth + 1 else None for f in files}
        if len(heads) != 1 or None in heads:
            break
        head = heads.pop()
        if _MOODLE_DIR.match(head):
            break
        below = [f.parts[depth + 1:] for f in files]
        deeper = all(len(p) >= 2 for p in below)
        self_named = all(len(p) >= 2 or _claim_from_filename(p[0], catalogue) for p in below)
        next_are_notebooks = all(len(p) >= 2 and catalogue.by_name(p[0] + ".ipynb")[0] for p in below)
        if (deeper and not next_are_notebooks) or (not deeper and self_named):
            depth += 1
            continue
        break
    return depth


def _claim_from_filename(filename: str, catalogue: Catalogue, flat: bool = True) -> Claim | None:
    """Identity from a file name; only a file outside any student folder (``flat``) names its owner."""
    if not flat:
        return None
    m = _MOODLE_FILE.match(filename)
    if m:
        return Claim(m["name"], (m["pid"],), "moodle", m["file"])
    m = _CANVAS.match(filename)
    if m:
        return Claim(m["key"], (m["uid"],), "canvas", m["file"])
    stem, ext = os.path.splitext(filename)
    if filename.lower().endswith(".ipynb"):
        stem, ext = filename[:-6], ".ipynb"
    split = catalogue.split_flat(stem)
    if split and not _COPY_SUFFIX.match(split[0]):
        return Claim(split[0], (), "file name", split[1] + ext)
    return None


def claim(file: Incoming, depth: int, catalogue: Catalogue) -> Claim | None:
    """A Moodle folder, else the student's folder, else the file name (Canvas, Moodle or flat)."""
    parts = file.parts[depth:]
    for part in parts[:-1]:
        m = _MOODLE_DIR.match(part)
        if m:
            return Claim(m["name"], (m["pid"],), "moodle", parts[-1])
    found = _claim_from_filename(parts[-1], catalogue, flat=len(parts) == 1)
    if found:
        return found
    if len(parts) >= 2:
        return Claim(parts[0], (), "folder", parts[-1])
    return None


def _canvas_upload(who, slot) -> int:
    """Canvas names a re-upload ``<notebook>-N.ipynb`` (N = 1, 2, ...): N for such a file, else 0."""
    if slot is None or who.how != "canvas":
        return 0
    m = re.fullmatch(re.escape(slot.notebook) + r"-(\d+)\.ipynb", who.inner, re.IGNORECASE)
    return int(m.group(1)) if m else 0


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
    catalogue = Catalogue(infos, other_notebooks(course, infos))
    files = scan(source)
    depth = _strip_wrappers(files, catalogue)
    roster = roster or []
    students: dict[str, Student] = {s.student_id: s for s in roster}
    identity_to_id: dict[tuple, str] = {}
    owners: dict[str, tuple] = {}
    mapping: list[dict] = []
    notes: list[tuple[str, str, str]] = []
    candidates: dict[tuple[str, str, str], list[Candidate]] = {}

    def row(file, student="", assignment="", how=""):
        mapping.append({"file": file.path, "student_id": student, "assignment": assignment, "how": how})

    for file in files:
        who = claim(file, depth, catalogue)
        if who is None:
            row(file, how="ignored: cannot tell whose file it is")
            continue
        identity = (normalize_key(who.key), who.aliases)
        sid = identity_to_id.get(identity)
        if sid is None:
            entry, problem = match(roster, [who.key, *who.aliases]) if roster else (None, None)
            if entry is not None:
                sid = entry.student_id
            else:
                base = sid = student_id_from(who.key)
                n = 1
                while (sid in students and students[sid].on_roster) or owners.get(sid, identity) != identity:
                    n += 1
                    sid = student_id_from(f"{base}_{who.aliases[0]}") if who.aliases and n == 2 else f"{base}_{n}"
                owners[sid] = identity
                if sid not in students:
                    first, last = None, None
                    if who.how == "moodle":  # Moodle writes the full name
                        first, _, last = " ".join(who.key.split()).rpartition(" ")
                        first, last = (first or last), (last if first else None)
                    students[sid] = Student(sid, first, last)
                if roster:
                    notes.append((sid, "", f"'{who.key}' is not on the roster" +
                                  (f" ({problem})" if problem else "") + f": graded as '{sid}'"))
            identity_to_id[identity] = sid

        slot, exact = catalogue.by_name(who.inner)
        is_notebook_name = who.inner.lower().endswith(".ipynb")
        data = file.read() if (is_notebook_name or slot) else b""
        content = catalogue.by_content(data) if data else None
        upload = _canvas_upload(who, slot)
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
            row(file, sid, "", f"ignored: '{who.inner}' is not one of the graded notebooks")
            continue
        if not catalogue.graded(slot):
            row(file, sid, "", f"not graded in this run: {slot.assignment}/{slot.notebook}.ipynb ({how})")
            continue
        reason = None
        if file.size > MAX_BYTES:
            reason = f"not graded: the file is larger than {MAX_BYTES // (1024 * 1024)} MB"
        else:
            try:
                read_notebook_bytes(data)
            except Unreadable as exc:
                reason = str(exc)
        if reason:
            rank += 10
        candidates.setdefault((sid, slot.assignment, slot.notebook), []).append(
            Candidate(file, slot, how, rank, reason, upload))

    # one file per (student, notebook): the best recognised, then the last uploaded, then the newest
    chosen: dict[tuple[str, str, str], Candidate] = {}
    for key, found in candidates.items():
        found.sort(key=lambda c: (c.rank, -c.upload, -c.file.mtime, c.file.path))
        chosen[key] = found[0]
        sid, assignment, notebook = key
        row(found[0].file, sid, assignment, found[0].how + (f"; {found[0].reason}" if found[0].reason else ""))
        if found[0].rank in (1, 2, 11, 12):
            notes.append((sid, assignment, f"{notebook}.ipynb was submitted as '{found[0].file.path}' "
                                           f"({found[0].how})"))
        for other in found[1:]:
            row(other.file, sid, assignment, f"ignored: '{found[0].file.path}' used instead")
            notes.append((sid, assignment, f"'{other.file.path}' ignored: '{found[0].file.path}' is the "
                                           f"{_better(found[0], other)} copy"))

    result = ImportResult(students=students, submissions={}, mapping=mapping, notes=notes)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for sid in sorted(students):
        for assignment, info in sorted(infos.items()):
            folder = course.path("submitted", sid, assignment)
            copies: dict[str, Path | None] = {}
            for notebook in sorted(info.notebooks):
                pick = chosen.get((sid, assignment, notebook))
                copies[notebook] = _store(pick, folder, notebook, course, sid, assignment, stamp, result)
            result.submissions[(sid, assignment)] = copies
    return result


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
