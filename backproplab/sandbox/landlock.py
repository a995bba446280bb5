"""Landlock, a further layer under the mount namespace: a grading kernel may write only in its scratch folder.

Landlock (Linux 5.13+) lets any process, root or not, restrict what it and its children may do to the file
system, and (ABI 4+) to TCP, and (ABI 6+) which processes outside its domain it may signal. :mod:`.enter`
calls :func:`restrict` just before it ``exec`` s the kernel, after the mounts are in place:

* reading and executing stay allowed everywhere (what the kernel can see is the mount namespace's business);
* every kind of writing (writing, truncating, creating, removing, renaming, linking files, folders, sockets,
  pipes and devices) is allowed only under the given folders (the run's scratch folder and the private
  ``/dev/shm``), plus writing to ``/dev/null``;
* no TCP ``bind``/``connect`` at all (ABI 4+), no signal to a process outside the kernel's own domain
  (ABI 6+: the grader, the other kernels) and no connection to an abstract Unix socket outside it.

Where the kernel has no Landlock (:func:`abi` is 0), nothing is applied and the grader says so.
"""

from __future__ import annotations

import ctypes
import os
import struct

_SYS_CREATE_RULESET, _SYS_ADD_RULE, _SYS_RESTRICT_SELF = 444, 445, 446  # the same on x86-64 and arm64
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR, MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = (
    1 << 4, 1 << 5, 1 << 6, 1 << 7, 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12)
REFER, TRUNCATE = 1 << 13, 1 << 14  # ABI 2, ABI 3
NET_BIND_TCP, NET_CONNECT_TCP = 1, 2  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1, 2  # ABI 6

_READ = EXECUTE | READ_FILE | READ_DIR
_WRITE_ABI1 = (WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG | MAKE_SOCK | MAKE_FIFO
               | MAKE_BLOCK | MAKE_SYM)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def abi() -> int:
    """The Landlock ABI version of the running kernel; 0 when it has none (or it is switched off)."""
    rc = _libc.syscall(ctypes.c_long(_SYS_CREATE_RULESET), None, ctypes.c_size_t(0),
                       ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(0, int(rc))


def _write_rights(version: int) -> int:
    rights = _WRITE_ABI1
    if version >= 2:
        rights |= REFER
    if version >= 3:
        rights |= TRUNCATE
    return rights


def describe(version: int) -> str:
    if version <= 0:
        return "no Landlock (the kernel has none)"
    extra = []
    if version >= 4:
        extra.append("no TCP")
    if version >= 6:
        extra.append("no signal outside its own processes")
    return f"Landlock ABI {version}: writes only in its scratch folder" + (", " + ", ".join(extra) if extra else "")


def _check(rc: int, what: str) -> int:
    if rc < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"landlock {what}: {os.strerror(err)}")
    return rc


def restrict(writable: list[str], write_files: tuple[str, ...] = ("/dev/null",)) -> int:
    """Restrict this process and everything it starts; returns the ABI applied (0: no Landlock here).

    Raises ``OSError`` when the kernel has Landlock but the restriction fails (the launch must then stop)."""
    version = abi()
    if version <= 0:
        return 0
    write = _write_rights(version)
    handled_fs = _READ | write
    attr = struct.pack("QQQ", handled_fs, NET_BIND_TCP | NET_CONNECT_TCP if version >= 4 else 0,
                       SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if version >= 6 else 0)
    size = 8 if version < 4 else 16 if version < 6 else 24
    buf = ctypes.create_string_buffer(attr[:size], size)
    ruleset = _check(_libc.syscall(ctypes.c_long(_SYS_CREATE_RULESET), buf, ctypes.c_size_t(size),
                                   ctypes.c_uint32(0)), "create_ruleset")
    try:
        rules = [("/", _READ, True)] + [(p, _READ | write, True) for p in writable]
        rules += [(p, WRITE_FILE | (TRUNCATE if version >= 3 else 0), False) for p in write_files]
        for path, rights, is_dir in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC | (os.O_DIRECTORY if is_dir else 0))
            except OSError:
                continue
            try:
                if not is_dir:  # rights that make sense on a file only
                    rights &= WRITE_FILE | READ_FILE | EXECUTE | TRUNCATE
                rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
                _check(_libc.syscall(ctypes.c_long(_SYS_ADD_RULE), ctypes.c_int(ruleset),
                                     ctypes.c_int(_RULE_PATH_BENEATH), rule, ctypes.c_uint32(0)), f"rule {path}")
            finally:
                os.close(fd)
        _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(_libc.syscall(ctypes.c_long(_SYS_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)),
               "restrict_self")
    finally:
        os.close(ruleset)
    return version
