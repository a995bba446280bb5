"""The first half of a confined kernel launch, run inside the new namespaces: ``python -I
.../backproplab/sandbox/enter.py SPEC.json``, started by ``unshare --mount --net --ipc`` (as root) or by ``unshare
--user --map-root-user --mount --net --ipc`` (as an ordinary user: root of a user namespace of its own, with
capabilities over its own mount namespace only, until it ``exec`` s ``setpriv``, which drops them all).

It reads the plan the grader wrote (:class:`backproplab.sandbox.confine.Plan`), then, before any learner
code exists:

1. joins the run's cgroups (memory and process count of the whole run);
2. lays a small empty tmpfs over every hidden folder (the gradebook folder, the instructor's sources, the
   tests, ``.git``, home folders, ``/tmp`` with other runs' scratch folders, ...) and ``/dev/null`` over hidden
   files, then binds back, read-only, the folders the kernel needs (the virtual environment, the Python
   installation, the ``backproplab`` package) and, writable, this run's scratch folder;
3. makes the hidden folders' tmpfs read-only (nothing to write outside the scratch folder);
4. as root, mounts a fresh ``/proc`` where a user sees only their own processes;
5. where the kernel has Landlock, restricts every write to the scratch folder (:mod:`.landlock`);
6. deletes the plan and ``exec`` s the rest of the command (``setpriv`` to the sandbox user, ``prlimit``,
   ``env -i``, the kernel): the process id stays the kernel's, so interrupts and kills reach it.

Nothing here runs as the learner; every failure stops the launch (the grader then reports a kernel that
did not start, never an unconfined one).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import sys

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)


def _enc(text: str | None) -> bytes | None:
    return None if text is None else text.encode()


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    if _libc.mount(_enc(source), _enc(target), _enc(fstype), flags, _enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {fstype or 'bind'} on {target}: {os.strerror(err)}")


def _depth(path: str) -> int:
    return path.rstrip("/").count("/")


def _is_same(path: str, st: os.stat_result) -> bool:
    try:
        now = os.stat(path)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)


def apply(plan: dict) -> None:
    for procs in plan.get("cgroups", []):
        with open(procs, "w") as fh:
            fh.write(str(os.getpid()))

    mount(None, "/", None, MS_REC | MS_PRIVATE)  # unshare(1) already did; never propagate to the host

    # Folders to bring back, opened before anything is hidden.
    exposed = []
    for path, writable in [(p, False) for p in plan.get("keep", [])] + [(p, True) for p in plan.get("writable", [])]:
        try:
            fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        except (FileNotFoundError, PermissionError):
            continue
        exposed.append((path, writable, fd, os.fstat(fd)))

    # Folders of the scratch area that get a tmpfs of their own (as an ordinary user: the disk the kernel can
    # fill), with what they held copied in.
    fills = []
    for entry in plan.get("tmpfs", []):
        fills.append((entry, os.open(entry["path"], os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)))

    covers = []
    for entry in sorted(plan.get("hide", []), key=lambda e: _depth(e["path"])):
        path = entry["path"]
        if os.path.islink(path) or not os.path.exists(path):
            continue
        if os.path.isdir(path):
            mode = entry.get("mode", "0755")
            size = entry.get("size", "1m")
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size={size}")
            if not entry.get("writable"):
                covers.append(path)
        else:
            mount("/dev/null", path, None, MS_BIND)

    for path, writable, fd, st in sorted(exposed, key=lambda e: _depth(e[0])):
        if not _is_same(path, st):
            os.makedirs(path, mode=0o755, exist_ok=True)
            _bind(fd, path, writable)
        elif not writable:  # visible already; still make it read-only for the kernel
            _bind(fd, path, writable)
        os.close(fd)

    for entry, fd in fills:
        import shutil

        path = entry["path"]
        mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"mode=0700,size={int(entry['size'])}")
        shutil.copytree(f"/proc/self/fd/{fd}", path, symlinks=True, dirs_exist_ok=True)
        os.close(fd)

    for path in covers:  # after the binds: their mount points are made in these tmpfs
        mount(None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)

    if plan.get("proc"):
        for option in ("hidepid=invisible", "hidepid=2"):
            try:
                mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, option)
                break
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
        else:
            raise OSError(errno.EINVAL, "could not mount /proc with hidepid")

    # The working folder was resolved before the mounts: enter it again, or ".." would lead into the
    # folders hidden under it.
    os.chdir(plan["cwd"])

    if plan.get("landlock"):
        _sibling("landlock").restrict([*plan.get("writable", []), "/dev/shm"])


def _sibling(name: str):
    """A module next to this file, loaded by its path: this runs as a script (``python -I enter.py``), which
    finds no package on ``sys.path`` when the grader's own packages come from ``PYTHONPATH``. In a child of the
    kernel template (:mod:`.forkserver`) the package's own module, imported once by the template, is used."""
    loaded = sys.modules.get(f"backproplab.sandbox.{name}")
    if loaded is not None:
        return loaded
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_backproplab_{name}",
                                                  os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                               f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


#: statvfs flags of a mount that a user namespace may not drop on a remount -> the mount flag that keeps it.
_LOCKED = {8: MS_NOEXEC, 1024: 1024, 2048: 2048, 4096: 1 << 21}  # noexec, noatime, nodiratime, relatime


def _bind(fd: int, path: str, writable: bool) -> None:
    mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
    # Keep the flags the original mount has (a user namespace may not clear them; EPERM otherwise).
    kept = os.statvfs(path).f_flag
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (0 if writable else MS_RDONLY)
    flags |= sum(flag for st, flag in _LOCKED.items() if kept & st)
    mount(None, path, None, flags)


def main(argv: list[str]) -> None:
    spec = argv[1]
    with open(spec, encoding="utf-8") as fh:
        plan = json.load(fh)
    os.unlink(spec)
    try:
        apply(plan)
    except OSError as exc:
        print(f"backproplab sandbox: {exc}", file=sys.stderr)
        raise SystemExit(97) from None
    command = plan["exec"]
    os.execv(command[0], command)


if __name__ == "__main__":
    main(sys.argv)
