"""Per-submission grading seeds: stable across re-grades, unpredictable for learners.

The seed of a submission is an HMAC of (assignment, notebook, student) under a secret that only the grader
holds (``autograder/grading_secret``, mode 0600, created on first use, never released). A learner who knows
the course package can compute the hidden inputs of any seed, but cannot know their own seed before the
grading run, and a re-grade draws exactly the same hidden inputs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

SECRET_BYTES = 32


def derive_seed(secret: bytes, student: str, assignment: str, notebook: str = "") -> int:
    """The 32-bit grading seed of one submission (``BACKPROPLAB_GRADING_SEED``)."""
    if not secret:
        raise ValueError("the grading secret is empty")
    message = "\0".join((assignment, notebook, student)).encode("utf-8")
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return int.from_bytes(digest[:4], "big")


def load_secret(path: str | os.PathLike) -> bytes:
    """The grader's secret, created (random, mode 0600) when ``path`` does not exist yet.

    Keep the file out of the release and of version control: whoever reads it can compute every seed.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, secrets.token_hex(SECRET_BYTES).encode() + b"\n")
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic: of two graders creating it at once, one secret wins
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    data = path.read_bytes()
    data = data.strip()
    if len(data) < 16:
        raise ValueError(f"{path}: the grading secret is too short (at least 16 characters)")
    return data


def cell_seed(seed: int, grade_id: str) -> int:
    """The seed of the hidden checks of one graded test cell: the kernel is never told the submission's seed,
    only each test cell's, written into the cell as it runs (:func:`backproplab.sandbox.notebook.with_cell_seeds`).
    An answer that ran the learner's own hidden check at cell time would otherwise see the hidden inputs in
    advance and work their answers out with the course's functions while nothing is broken (a fourth audit did,
    for 25 exercises); a later cell learns only the seeds of the cells already graded."""
    digest = hashlib.sha256(f"{int(seed)}:{grade_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little")
