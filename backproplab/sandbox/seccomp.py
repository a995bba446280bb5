"""A seccomp filter for the grading kernel, installed by :mod:`.kernel` before any learner code runs.

Always (when seccomp is available):

* signals only to itself: ``kill``, ``tgkill``, ``rt_sigqueueinfo`` and ``rt_tgsigqueueinfo`` must target the
  kernel's own process id (``os.kill(os.getpid(), 9)`` still works; ``os.kill(-1, 9)``, which as the grading
  user would kill every process of that user, does not); ``tkill``, ``pidfd_*``, ``ptrace`` and
  ``process_vm_readv/writev`` are refused. This matters most when grading as an ordinary user, where the
  kernel shares its uid with the grader.

With ``no_fork`` (:attr:`Limits.no_new_processes`, the default):

* no new processes: ``fork``, ``vfork`` and ``clone`` without ``CLONE_THREAD`` are refused (threads still
  work). A fork bomb fails at its first ``os.fork()`` with ``PermissionError`` instead of filling the process
  limit (which would also stop the kernel's own threads), and ``subprocess``, ``os.system`` and
  ``multiprocessing`` fail the same way, so no learner code runs outside the kernel process. ``clone3``
  answers ``ENOSYS`` (a filter cannot read its flags), which makes the C library fall back to ``clone``.

``no_new_privs`` is set first, so this works for ordinary users too. x86-64 and arm64 only; elsewhere, or on a
kernel without seccomp, :func:`install` returns False and only the ``prlimit`` limits apply (the grader
reports it: ``Seccomp:`` of ``/proc/<kernel>/status``).
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

PR_SET_NO_NEW_PRIVS = 38
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
CLONE_THREAD = 0x00010000
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000

_ARCHES = {
    "x86_64": {
        "audit": 0xC000003E, "seccomp": 317, "x32": 0x40000000, "clone": 56, "clone3": 435,
        "fork": (57, 58),
        "refused": (200, 101, 310, 311, 424, 434, 438),  # tkill ptrace process_vm_readv/writev pidfd_*
        "signal": (62, 234, 129, 297),  # kill tgkill rt_sigqueueinfo rt_tgsigqueueinfo
    },
    "aarch64": {
        "audit": 0xC00000B7, "seccomp": 277, "x32": None, "clone": 220, "clone3": 435,
        "fork": (),
        "refused": (130, 117, 270, 271, 424, 434, 438),
        "signal": (129, 131, 138, 240),
    },
}

_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (little endian: ARG0 = low 32 bits)


def program(arch: str, pid: int, no_fork: bool) -> list[tuple[int, int, int, int]]:
    """The BPF instructions ``(code, jt, jf, k)`` of the filter."""
    a = _ARCHES[arch]
    eperm, enosys = ("ret", errno.EPERM), ("ret", errno.ENOSYS)
    body: list[tuple] = [(_LD_W_ABS, 0, 0, _ARCH), ("jeq", a["audit"], "next", eperm), (_LD_W_ABS, 0, 0, _NR)]
    if a["x32"] is not None:
        body.append(("jge", a["x32"], eperm, "next"))
    for nr in a["refused"]:
        body.append(("jeq", nr, eperm, "next"))
    for nr in a["signal"]:
        body.append(("jeq", nr, "own_pid", "next"))
    if no_fork:
        for nr in a["fork"]:
            body.append(("jeq", nr, eperm, "next"))
        body.append(("jeq", a["clone3"], enosys, "next"))
        body.append(("jeq", a["clone"], "next", "allow"))
        body.append((_LD_W_ABS, 0, 0, _ARG0))  # the clone flags
        body.append(("jset", CLONE_THREAD, "allow", eperm))
    else:
        body.append(("ja", "allow"))
    labels = {"own_pid": len(body)}
    body.append((_LD_W_ABS, 0, 0, _ARG0))
    body.append(("jeq", pid & 0xFFFFFFFF, "allow", eperm))
    labels["allow"] = len(body)
    tail = [(_RET, 0, 0, RET_ALLOW)]
    for err in (errno.EPERM, errno.ENOSYS):
        labels[("ret", err)] = len(body) + len(tail)
        tail.append((_RET, 0, 0, RET_ERRNO | err))
    out = []
    for i, ins in enumerate(body):
        if ins[0] == "ja":
            out.append((0x05, 0, 0, labels[ins[1]] - i - 1))  # BPF_JMP | BPF_JA
        elif isinstance(ins[0], str):
            op = {"jeq": _JEQ, "jge": _JGE, "jset": _JSET}[ins[0]]
            jt = 0 if ins[2] == "next" else labels[ins[2]] - i - 1
            jf = 0 if ins[3] == "next" else labels[ins[3]] - i - 1
            out.append((op, jt, jf, ins[1]))
        else:
            out.append(ins)
    return out + tail


def install(pid: int, *, no_fork: bool = True) -> bool:
    """Install the filter on this process (all its threads); True when it is in place."""
    arch = platform.machine()
    if arch not in _ARCHES:
        return False
    instructions = program(arch, pid, no_fork)
    raw = b"".join(struct.pack("HBBI", *ins) for ins in instructions)
    buf = ctypes.create_string_buffer(raw, len(raw))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(len(instructions), ctypes.addressof(buf))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    libc.syscall.restype = ctypes.c_long
    rc = libc.syscall(ctypes.c_long(_ARCHES[arch]["seccomp"]), ctypes.c_long(SECCOMP_SET_MODE_FILTER),
                      ctypes.c_long(SECCOMP_FILTER_FLAG_TSYNC), ctypes.byref(prog))
    return rc == 0
