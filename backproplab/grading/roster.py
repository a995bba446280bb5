"""The class list (optional): who the students are and how their files are named.

A roster is a CSV file with a ``student_id`` column (the id used in the gradebook and in grades.csv) and
any of ``file_key`` (the name or number the LMS puts in file names), ``name`` (or ``first_name`` and
``last_name``) and ``email``. A file is matched to a roster row when one of the file's keys (the name or
login the LMS wrote, its numeric user id) equals, ignoring case, accents, spaces and punctuation, the
row's ``file_key``, ``student_id``, name (either order) or email (whole or the part before ``@``).
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from .course import GradingError

_ALIASES = {
    "student_id": ("student_id", "id", "student", "username", "login", "login_id"),
    "file_key": ("file_key", "key", "file", "lms_id", "lms_key"),
    "name": ("name", "full_name", "student_name"),
    "first_name": ("first_name", "firstname", "given_name"),
    "last_name": ("last_name", "lastname", "surname", "family_name"),
    "email": ("email", "e-mail", "email_address", "mail"),
}


def normalize_key(text: str) -> str:
    """``"José  Smith-Jones"`` -> ``"josesmithjones"``: lower case ASCII letters and digits only."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]", "", text.lower())


def student_id_from(text: str) -> str:
    """A gradebook- and folder-safe student id: ``"John Smith"`` -> ``"john_smith"``."""
    text = unicodedata.normalize("NFKD", str(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).strip().lower()
    text = re.sub(r"[^a-z0-9_.@-]+", "_", text).strip("_.-")
    return text or "student"


@dataclass
class Student:
    student_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    keys: set[str] = field(default_factory=set)
    on_roster: bool = False

    @property
    def display(self) -> str:
        name = " ".join(x for x in (self.first_name, self.last_name) if x)
        return name or self.student_id


def _split_name(name: str) -> tuple[str | None, str | None]:
    name = " ".join(str(name).split())
    if not name:
        return None, None
    if "," in name:  # "Smith, John"
        last, first = (x.strip() for x in name.split(",", 1))
        return first or None, last or None
    first, _, last = name.rpartition(" ")
    return (first or last or None), (last if first else None)


def read_roster(path: Path) -> list[Student]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GradingError(f"cannot read the roster {path}: {exc}") from exc
    try:
        dialect = csv.Sniffer().sniff(text.splitlines()[0] if text else "", delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.DictReader(text.splitlines(), dialect=dialect))
    if not rows:
        raise GradingError(f"the roster {path} has no rows")
    header = {normalize_key(h): h for h in rows[0] if h}
    columns = {}
    for field_name, aliases in _ALIASES.items():
        for alias in aliases:
            if normalize_key(alias) in header:
                columns[field_name] = header[normalize_key(alias)]
                break
    if "student_id" not in columns:
        raise GradingError(f"the roster {path} needs a student_id column (has: {', '.join(rows[0])})")
    students: list[Student] = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        def get(name, row=row):
            value = row.get(columns.get(name, ""), "")
            return value.strip() if isinstance(value, str) and value.strip() else None

        raw_id = get("student_id")
        if not raw_id:
            continue
        sid = student_id_from(raw_id)
        if sid in seen:
            raise GradingError(f"the roster {path} lists student_id {raw_id!r} twice (line {line})")
        seen.add(sid)
        first, last = get("first_name"), get("last_name")
        if get("name") and not (first or last):
            first, last = _split_name(get("name"))
        email = get("email")
        keys = {normalize_key(raw_id), normalize_key(sid)}
        if get("file_key"):
            keys |= {normalize_key(k) for k in re.split(r"[|;]", get("file_key"))}
        if first or last:
            keys |= {normalize_key(f"{first or ''}{last or ''}"), normalize_key(f"{last or ''}{first or ''}")}
        if email:
            keys |= {normalize_key(email), normalize_key(email.split("@")[0])}
        keys.discard("")
        students.append(Student(sid, first, last, email, keys, on_roster=True))
    return students


def match(students: list[Student], keys: list[str]) -> tuple[Student | None, str | None]:
    """The one roster row any of ``keys`` names, and a problem message when several do."""
    wanted = {normalize_key(k) for k in keys} - {""}
    hits = [s for s in students if s.keys & wanted]
    if len(hits) == 1:
        return hits[0], None
    if len(hits) > 1:
        return None, "matches several roster rows (" + ", ".join(s.student_id for s in hits) + ")"
    return None, None
