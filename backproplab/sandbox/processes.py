"""The processes of a grading run: found and killed by uid or session, counted by thread (from ``/proc``)."""

from __future__ import annotations

import contextlib
import os
import signal

#: Indexes in :func:`stat_fields` (proc(5)'s field number minus 3).
STATE, PPID, SESSION, UTIME = 0, 1, 3, 11
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(pid: int | str) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (``[STATE]``, ``[PPID]``, ...), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
        return stat[stat.rindex(b")") + 2:].split()
    except (OSError, ValueError):
        return None


def cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds the process ``pid`` has used (all its threads, and its children it has waited for)."""
    fields = stat_fields(pid) if pid else None
    try:
        return sum(int(v) for v in fields[UTIME:UTIME + 4]) / _CLOCK_TICKS  # utime stime cutime cstime
    except (TypeError, ValueError):
        return None


def children_of() -> dict[int, list[int]]:
    """parent pid -> the pids of its children, for every process in ``/proc``."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        fields = stat_fields(name) if name.isdigit() else None
        if fields is not None:
            children.setdefault(int(fields[PPID]), []).append(int(name))
    return children


def _proc_fields(pid: str) -> tuple[int, int] | None:
    """(real uid, session id) of a live process, or None when it is gone or a zombie (nothing to kill)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            uid = next(int(line.split()[1]) for line in fh if line.startswith(b"Uid:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return None
    fields = stat_fields(pid)
    if fields is None or fields[STATE] in (b"Z", b"X"):
        return None
    return uid, int(fields[SESSION])


def find_processes(*, uid: int | None = None, session: int | None = None, exclude: int | None = None) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == exclude:
            continue
        fields = _proc_fields(name)
        if fields is None:
            continue
        if (uid is not None and fields[0] == uid) or (session is not None and fields[1] == session):
            found.append(int(name))
    return found


def kill_processes(*, uid: int | None = None, session: int | None = None, exclude: int | None = None,
                   rounds: int = 50) -> int:
    """Stop, then kill, every process of ``uid`` (or of ``session``) but ``exclude``; returns how many.

    Stopped processes cannot fork, so a fork bomb is frozen first and then killed as a whole."""
    if uid is None and session is None:
        return 0
    if session is not None and uid is None and session == os.getsid(0):
        return 0  # never the grader's own session
    stopped: set[int] = set()
    for _ in range(rounds):
        new = [p for p in find_processes(uid=uid, session=session, exclude=exclude) if p not in stopped]
        if not new:
            break
        for pid in new:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGSTOP)
            stopped.add(pid)
    for pid in stopped:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    return len(stopped)


def count_tasks(uid: int) -> int:
    """Processes and threads of ``uid`` (what ``RLIMIT_NPROC`` counts)."""
    n = 0
    for pid in find_processes(uid=uid):
        try:
            n += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            pass
    return n


def kill_user(uid: int) -> int:
    return kill_processes(uid=uid)
