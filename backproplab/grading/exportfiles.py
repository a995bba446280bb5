"""Reading an LMS export: its files (:func:`scan`), which graded notebook a name or a content is
(:class:`Catalogue`), and whose file it is (:func:`claim`). Nothing here writes; :mod:`.importer` decides
and copies.
"""

from __future__ import annotations

import os
import re
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .course import AssignmentInfo, GradingError
from .notebooks import MAX_BYTES, peek_grade_ids

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


def strip_wrappers(files: list[Incoming], catalogue: Catalogue) -> int:
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


def canvas_upload(who, slot) -> int:
    """Canvas names a re-upload ``<notebook>-N.ipynb`` (N = 1, 2, ...): N for such a file, else 0."""
    if slot is None or who.how != "canvas":
        return 0
    m = re.fullmatch(re.escape(slot.notebook) + r"-(\d+)\.ipynb", who.inner, re.IGNORECASE)
    return int(m.group(1)) if m else 0
