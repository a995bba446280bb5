"""What confines a grading kernel: its user, what it sees of the file system, its cgroups, its scratch folder.

As root (the intended way to grade), each run gets

* a **user of its own**: a uid from :data:`UID_RANGE` leased with a lock file, so that parallel runs cannot
  signal, trace or read each other, the process limit of one run is not shared with another, and every
  process of a run can be found and killed by its uid; groups cleared, no capabilities, ``no_new_privs``;
* a **private mount namespace** (``unshare --mount --net --ipc``, see :mod:`.enter`) in which the course
  folder (gradebook, instructor sources, tests, ``.git``, ...), home folders, ``/tmp`` (other runs) and
  ``/run`` are empty tmpfs, except the virtual environment, the Python installation and the ``backproplab``
  package (read-only) and this run's scratch folder; ``/proc`` shows only the run's own processes; no
  network (the kernel talks to the grader over Unix sockets in the scratch folder);
* a **scratch folder** that is a tmpfs of :attr:`Limits.scratch_bytes` (the disk the run can fill);
* **cgroups** (v1 or v2, when available) bounding the memory and process count of the whole run.

As an ordinary user (a laptop, a university server, JupyterHub: no ``sudo``), the same file-system
confinement comes from an **unprivileged user namespace** (``unshare --user --map-root-user --mount --net
--ipc``): the kernel's view of the file system is the same as root's (see :mod:`.enter`), it has no network,
and it runs without any capability, so it cannot undo the mounts. What it cannot get without root: a uid of its
own (it shares the grading user's, which seccomp and Landlock keep from signalling or tracing the grader), a
scratch tmpfs and cgroups. Where the system forbids unprivileged user namespaces, :func:`userns_problem` names
the setting and ``backproplab grade`` refuses unless the instructor accepts the weaker confinement.

In both modes :mod:`.landlock` (where the kernel has it) lets the kernel write only in its scratch folder.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from .cgroups import Cgroups
from .limits import Limits
from .processes import count_tasks, kill_user

#: uids handed to grading kernels (never in /etc/passwd; far above any real user's).
UID_RANGE = range(1_900_000_000, 1_900_004_096)

PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: The course repository (the folder holding ``autograder/``), when the package runs from a checkout.
COURSE_ROOT = PACKAGE_DIR.parent if (PACKAGE_DIR.parent / "autograder").is_dir() else None

#: The only top-level folders a confined kernel sees (the system); every other one — /root, /home, /tmp,
#: /work, /opt, /srv, /var, ... wherever the course, other checkouts or other students' files may live — is
#: hidden, and the Python installation, the venv and the package are bound back read-only.
SYSTEM_DIRS = frozenset({"bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "proc", "dev", "sys"})


def hidden_top_level() -> tuple[str, ...]:
    """Every top-level folder of ``/`` outside :data:`SYSTEM_DIRS` (hidden in every confined run)."""
    try:
        names = os.listdir("/")
    except OSError:
        names = []
    return tuple(sorted(f"/{n}" for n in names if n not in SYSTEM_DIRS and os.path.isdir(f"/{n}")
                        and not os.path.islink(f"/{n}")))

_CAN_CONFINE: bool | None = None
_USERNS_PROBLEM: list[str | None] = []

#: The settings that switch unprivileged user namespaces off: (sysctl name, file, the value that forbids them).
USERNS_SETTINGS = (
    ("kernel.unprivileged_userns_clone", "/proc/sys/kernel/unprivileged_userns_clone", "0"),
    ("user.max_user_namespaces", "/proc/sys/user/max_user_namespaces", "0"),
    ("kernel.apparmor_restrict_unprivileged_userns", "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1"),
)


def tool(name: str) -> str:
    found = shutil.which(name, path=os.pathsep.join(["/usr/bin", "/bin", "/usr/sbin", "/sbin",
                                                     os.environ.get("PATH", "")]))
    if not found:
        raise RuntimeError(f"the sandbox needs `{name}` (util-linux / coreutils), which is not installed")
    return found


def running_as_root() -> bool:
    return os.geteuid() == 0


def can_confine() -> bool:
    """Root, and the tools and the kernel allow a private mount namespace."""
    global _CAN_CONFINE
    if _CAN_CONFINE is None:
        ok = running_as_root()
        if ok:
            try:
                ok = subprocess.run([tool("unshare"), "--mount", "--net", "--ipc", "--", tool("true")],
                                    capture_output=True, timeout=20).returncode == 0
                tool("setpriv")
            except (RuntimeError, OSError, subprocess.TimeoutExpired):
                ok = False
        _CAN_CONFINE = ok
    return _CAN_CONFINE


def userns_problem() -> str | None:
    """None when this (ordinary) user can confine a kernel in a user namespace of its own with private mount,
    network and IPC namespaces; else why not, naming the system setting that forbids it."""
    if not _USERNS_PROBLEM:
        problem = _probe_userns()
        if problem is not None and not any(name in problem for name, _, _ in USERNS_SETTINGS):
            problem = _probe_userns()  # a passing failure (a busy machine): once more
        if problem is not None and not any(name in problem for name, _, _ in USERNS_SETTINGS):
            return problem  # not a setting: ask again next time
        _USERNS_PROBLEM.append(problem)
    return _USERNS_PROBLEM[0]


def _probe_userns() -> str | None:
    try:
        done = subprocess.run([tool("unshare"), "--user", "--map-root-user", "--mount", "--net", "--ipc", "--",
                               tool("true")], capture_output=True, text=True, timeout=60)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare could not be run ({exc})"
    if done.returncode == 0:
        return None
    for name, path, forbidding in USERNS_SETTINGS:
        try:
            value = Path(path).read_text().strip()
        except OSError:
            continue
        if value == forbidding:
            return f"the system forbids unprivileged user namespaces ({name} = {value})"
    why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit status {done.returncode}"
    return f"unprivileged user namespaces are not available here (unshare --user: {why})"


def confinement_summary() -> tuple[str, str | None]:
    """(what a grading kernel gets here, in a few words; the reason the file-system confinement is missing
    or None). Said by ``backproplab grade`` before it grades."""
    if running_as_root():
        if can_confine():
            return "root: a uid of its own per kernel, private mount and network namespaces", None
        return ("root without mount namespaces: a uid of its own per kernel, but it sees the file system as "
                "any user", "mount namespaces are not available here (unshare --mount failed)")
    problem = userns_problem()
    if problem is None:
        return ("ordinary user: a user namespace per kernel (private mount and network namespaces, no "
                "capabilities)", None)
    return "ordinary user WITHOUT file-system confinement: resource limits and seccomp only", problem


#: Set (to "1") when the instructor accepted kernels without file-system confinement; otherwise
#: :func:`backproplab.sandbox.execute.execute_confined` never starts one as an ordinary user.
ACCEPT_WEAK_ENV = "BACKPROPLAB_ACCEPT_WEAK_CONFINEMENT"


class WeakConfinement(ValueError):
    """Grading would run learners' code able to read and change the course: refused unless accepted."""


def preflight(accept_weak: bool = False) -> str:
    """What ``backproplab grade`` says before it grades: how the kernels will be confined. Raises
    :class:`WeakConfinement`, naming the system setting, when they would see the course's files, unless
    ``accept_weak`` (the instructor's ``--accept-weak-confinement``)."""
    summary, problem = confinement_summary()
    if problem is None:
        return f"grading kernels: {summary}"
    risk = ("a learner's code could then read the hidden tests and change the gradebook, the sources and other "
            "students' files")
    if accept_weak:
        os.environ[ACCEPT_WEAK_ENV] = "1"  # the grading workers (and execute_confined) inherit the decision
    else:
        raise WeakConfinement(f"{problem}: {risk}. Allow them (e.g. sysctl -w user.max_user_namespaces=15000, "
                              f"or kernel.unprivileged_userns_clone=1 / kernel.apparmor_restrict_unprivileged_"
                              f"userns=0 where these exist), grade as root, or pass --accept-weak-confinement "
                              f"to grade anyway")
    return f"WARNING: grading kernels: {summary} ({problem}; accepted with --accept-weak-confinement: {risk})"


# ------------------------------------------------------------------------------------------- users
class UidLease:
    """A uid of :data:`UID_RANGE` held for one run (a lock file per uid; across processes).

    The lock file says whether its last holder left the uid without a process (:meth:`released_clean`, once the
    run has killed everything of the uid): the next holder then skips its scan of ``/proc`` for leftovers (4-8 ms
    of CPU time). A holder that crashed never said so, and the next one kills what it left. A process tries first
    the uid it last released clean (its runs follow one another: the previous one has nothing left of it)."""

    CLEAN = b"clean\n"
    _recent: dict[str, int] = {}  # lock folder -> the uid this process last released clean there

    def __init__(self, lock_dir: str | os.PathLike | None = None):
        self.lock_dir = Path(lock_dir or Path(tempfile.gettempdir()) / "backproplab-sandbox-uids")
        self.uid: int | None = None
        self._fd: int | None = None

    def __enter__(self) -> UidLease:
        self.lock_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.lock_dir, 0o700)
        start = (os.getpid() * 7919 + time.monotonic_ns()) % len(UID_RANGE)
        recent = self._recent.get(str(self.lock_dir))
        order = ([recent] if recent in UID_RANGE else []) + [UID_RANGE[(start + i) % len(UID_RANGE)]
                                                              for i in range(len(UID_RANGE))]
        for uid in order:
            fd = os.open(self.lock_dir / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.uid, self._fd = uid, fd
            clean = os.pread(fd, len(self.CLEAN) + 1, 0) == self.CLEAN
            os.ftruncate(fd, 0)  # held: a crash from now on leaves the uid "not clean"
            if not clean:
                kill_user(uid)  # leftovers of a grader that crashed while holding this uid
            return self
        raise RuntimeError(f"all {len(UID_RANGE)} sandbox uids are in use")

    def released_clean(self) -> None:
        """The holder has killed every process of the uid: the next holder need not look for leftovers."""
        if self._fd is not None:
            os.pwrite(self._fd, self.CLEAN, 0)
            self._recent[str(self.lock_dir)] = self.uid

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# ---------------------------------------------------------------------------------------- scratch
@dataclass
class Scratch:
    """``<workdir>/backproplab-run-XXXX/``: the run's folders (a tmpfs of ``scratch_bytes`` as root).

    ``work`` (the kernel's working folder), ``records`` (``BACKPROPLAB_RECORD_DIR``), ``run`` (connection
    file and sockets), ``home`` and ``tmp`` belong to the sandbox user; the top folder to root, so the
    kernel cannot replace its subfolders (e.g. ``records`` by a symbolic link)."""

    root: Path
    mounted: bool = False

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def records(self) -> Path:
        return self.root / "records"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"

    @classmethod
    def create(cls, workdir: str | os.PathLike | None, limits: Limits, uid: int | None,
               tmpfs: bool = True) -> Scratch:
        root = Path(tempfile.mkdtemp(prefix="backproplab-run-", dir=workdir)).resolve()
        self = cls(root)
        if uid is not None and tmpfs:
            from .enter import MS_NODEV, MS_NOSUID, mount

            mount("tmpfs", str(root), "tmpfs", MS_NOSUID | MS_NODEV, f"mode=0711,size={limits.scratch_bytes}")
            self.mounted = True
        os.chmod(root, 0o711)
        for sub in (self.work, self.records, self.run, self.home, self.tmp):
            sub.mkdir(mode=0o700)
            if uid is not None:
                os.chown(sub, uid, uid)
        return self

    def remove(self) -> None:
        if self.mounted:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            if libc.umount2(str(self.root).encode(), 2) != 0:  # MNT_DETACH
                raise OSError(ctypes.get_errno(), f"could not unmount {self.root}")
            self.mounted = False
        shutil.rmtree(self.root, ignore_errors=True)


# ------------------------------------------------------------------------------------------ command
def _python_prefixes(python: str) -> list[str]:
    """Folders a Python interpreter needs: its environment, its base installation, the binary's folder."""
    out = subprocess.run([python, "-I", "-c", "import sys, os; print(sys.prefix); print(sys.base_prefix); "
                          "print(os.path.realpath(sys.executable))"], capture_output=True, text=True, timeout=60,
                         check=True).stdout.split("\n")
    prefix, base, exe = out[0], out[1], out[2]
    paths = {os.path.realpath(prefix), os.path.realpath(base), os.path.dirname(exe)}
    if os.path.basename(os.path.dirname(exe)) == "bin":
        paths.add(os.path.dirname(os.path.dirname(exe)))
    return sorted(paths)


_PREFIX_CACHE: dict[str, list[str]] = {}


def python_prefixes(python: str) -> list[str]:
    if python not in _PREFIX_CACHE:
        _PREFIX_CACHE[python] = _python_prefixes(python)
    return _PREFIX_CACHE[python]


def pythonpath_packages() -> list[str]:
    """The package folders (``site-packages``/``dist-packages``) on the grader's ``PYTHONPATH``, which the
    kernel inherits: shown to it read-only. Other entries (a checkout's root, say) stay hidden."""
    return [os.path.realpath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep)
            if p and os.path.basename(p.rstrip("/")) in ("site-packages", "dist-packages") and os.path.isdir(p)]


def template_env(python: str) -> dict[str, str]:
    """What every grading kernel's environment holds whatever the run (and all a kernel template gets)."""
    env = {
        "PATH": os.pathsep.join([str(Path(python).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8",
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        # ipykernel imports debugpy, which warns on stderr about frozen modules unless told not to check
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    if os.environ.get("PYTHONPATH"):  # where the grader finds its packages, the kernel finds them too
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def kernel_env(scratch: Scratch, extra: dict[str, str], python: str) -> dict[str, str]:
    """The kernel's whole environment (nothing is inherited from the grader: no tokens, no paths)."""
    env = {
        **template_env(python),
        "HOME": str(scratch.home),
        "TMPDIR": str(scratch.tmp),
        "IPYTHONDIR": str(scratch.home / ".ipython"),
        "JUPYTER_CONFIG_DIR": str(scratch.home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(scratch.home / ".local/share/jupyter"),
        "JUPYTER_RUNTIME_DIR": str(scratch.run),
        "MPLCONFIGDIR": str(scratch.home / ".matplotlib"),
    }
    env.update({k: str(v) for k, v in extra.items()})
    return env


@dataclass
class Launch:
    """How one kernel is started: the command, the plan for :mod:`.enter`, and what confines it."""

    command: list[str]
    description: str
    plan_path: Path | None = None


def kernel_arguments(connection_file: str, limits: Limits) -> list[str]:
    """The kernel's own arguments (after ``python -P -m backproplab.sandbox.kernel``, or for a forked kernel)."""
    return ["-f", connection_file,
            "--HistoryManager.hist_file=:memory:",
            # ipykernel sleeps 0.5 ms after every cell for clients that do not wait for the kernel's "idle"
            # (nbclient does): 0.5 ms a cell of latency the grader does not need
            "--IPythonKernel._execute_sleep=0",
            # Python's plain tracebacks: IPython's default ("Context") loads stack_data and pygments at the
            # first error (85 ms) and highlights every frame after (16 ms an error), in the blank and partial
            # submissions that fail their graded cells. Feedback pages show the trusted verdict in graded
            # cells, never their traceback; a learner's own error still shows its line.
            "--InteractiveShell.xmode=Plain",
            f"--output-cap={int(limits.output_bytes_per_cell)}",
            *(["--no-new-processes"] if limits.no_new_processes else [])]


def mount_plan(*, scratch: Scratch, limits: Limits, python: str, uid: int | None, cgroups: Cgroups | None,
               hide: list[str], keep: list[str]) -> dict:
    """What :func:`.enter.apply` does in the kernel's new namespaces (both launch paths)."""
    hidden = sorted({*hidden_top_level(), *([str(COURSE_ROOT)] if COURSE_ROOT else []), *map(str, hide)})
    kept = sorted({*python_prefixes(python), *pythonpath_packages(), str(PACKAGE_DIR), *map(str, keep)})
    from .landlock import abi

    return {
        "hide": [{"path": p} for p in hidden] + [{"path": "/dev/shm", "mode": "1777", "size": "16m",
                                                  "writable": True}],
        "keep": kept,
        "writable": [str(scratch.root)],
        "proc": uid is not None,  # a /proc of its own needs a PID namespace: root only
        "cgroups": cgroups.procs_files if cgroups else [],
        "landlock": abi() > 0,  # enter.py stops the launch if it then fails
        # as an ordinary user the scratch folder is on the real disk: the folders the kernel writes to get a
        # tmpfs of their own inside its namespace (the records and the sockets stay where the grader sees them)
        "tmpfs": [] if uid is not None else [
            {"path": str(scratch.work), "size": limits.scratch_bytes // 2},
            {"path": str(scratch.home), "size": limits.scratch_bytes // 4},
            {"path": str(scratch.tmp), "size": limits.scratch_bytes // 4}],
        "cwd": str(scratch.work),
    }


def _describe(uid: int | None, namespace: bool, plan: dict | None, cgroups: Cgroups | None) -> str:
    if uid is None and not namespace:
        return ("resource limits only (grading as an ordinary user without user namespaces: the kernel sees and "
                "may change what the grading user can)")
    if not namespace:  # root, but no mount namespace here (a container without CAP_SYS_ADMIN?)
        return (f"uid {uid} (no groups, no capabilities) and resource limits; NO mount namespace (unshare "
                f"failed): the kernel sees what any unprivileged user sees")
    from .landlock import abi, describe

    who = "a user namespace of its own (no capabilities)" if uid is None else f"uid {uid} (no groups, no capabilities)"
    what = ", ".join(cgroups.applied) if cgroups and cgroups.applied else "none available"
    proc = ("/proc of its own" if uid is not None
            else "the machine's /proc (processes listed; their files and memory out of reach)")
    hidden = sum(1 for entry in plan["hide"] if entry["path"] != "/dev/shm")
    return (f"{who}, private mount namespace hiding {hidden} folders, no network, {proc}; {describe(abi())}; "
            f"cgroups: {what}")


def fork_request(*, scratch: Scratch, connection_file: str, env: dict[str, str], limits: Limits, python: str,
                 uid: int | None, cgroups: Cgroups | None, hide: list[str], keep: list[str], log: Path,
                 namespace: bool = True) -> tuple[dict, str]:
    """(what :mod:`.forkserver` needs to confine one forked kernel, its description): the same namespaces,
    mounts, uid, limits and environment as :func:`build_launch`'s command."""
    plan = mount_plan(scratch=scratch, limits=limits, python=python, uid=uid, cgroups=cgroups, hide=hide,
                      keep=keep) if namespace else None
    rlimits = {"cpu": limits.cpu_seconds, "as": limits.memory_bytes, "fsize": limits.file_bytes,
               "nofile": limits.open_files, "core": 0,
               "nproc": limits.max_processes + (count_tasks(os.getuid()) if uid is None else 0)}
    request = {"mode": ("root" if uid is not None else "userns") if namespace else "none", "uid": uid,
               "plan": plan, "cwd": str(scratch.work), "limits": rlimits, "env": env, "log": str(log),
               "argv": kernel_arguments(connection_file, limits)}
    return request, "kernel forked from a template; " + _describe(uid, namespace, plan, cgroups)


def build_launch(*, scratch: Scratch, connection_file: str, env: dict[str, str], limits: Limits, python: str,
                 uid: int | None, cgroups: Cgroups | None, hide: list[str], keep: list[str],
                 namespace: bool = True) -> Launch:
    """The kernel command: ``[unshare ... enter PLAN →] [setpriv →] prlimit → env -i → python -P -m kernel``.

    ``uid``: the leased uid (root), or None (an ordinary user). ``namespace``: whether the namespaces can be
    made (root: mount namespaces; an ordinary user: unprivileged user namespaces)."""
    kernel = [python, "-P", "-m", "backproplab.sandbox.kernel", *kernel_arguments(connection_file, limits)]
    environment = [tool("env"), "-i", *(f"{k}={v}" for k, v in sorted(env.items())), *kernel]
    if uid is None:
        limited = [tool("prlimit"), *limits.prlimit_args(count_tasks(os.getuid())), "--", *environment]
        if not namespace:
            return Launch(limited, _describe(uid, namespace, None, cgroups))
        # Root of its own user namespace while enter.py mounts; then no capability at all (an empty bounding
        # set: the exec of prlimit gives it none back), so it cannot undo a mount.
        command = [tool("setpriv"), "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--", *limited]
        entry = [tool("unshare"), "--user", "--map-root-user", "--mount", "--net", "--ipc", "--"]
    else:
        command = [tool("setpriv"), f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                   "--inh-caps=-all", "--bounding-set=-all", "--",
                   tool("prlimit"), *limits.prlimit_args(), "--", *environment]
        if not namespace:
            return Launch(command, _describe(uid, namespace, None, cgroups))
        entry = [tool("unshare"), "--mount", "--net", "--ipc", "--"]
    plan = mount_plan(scratch=scratch, limits=limits, python=python, uid=uid, cgroups=cgroups, hide=hide,
                      keep=keep)
    plan["exec"] = command
    plan_path = Path(tempfile.gettempdir()) / f"backproplab-plan-{uuid.uuid4().hex}.json"
    fd = os.open(plan_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(plan, fh)
    # The first half runs the grader's interpreter in isolated mode (-I): the working folder, where the
    # submission's files are, is never on its sys.path.
    entry += [sys.executable, "-I", str(Path(__file__).with_name("enter.py")), str(plan_path)]
    return Launch(entry, _describe(uid, namespace, plan, cgroups), plan_path)
