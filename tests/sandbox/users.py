"""Running the grader in both modes from the tests: as root, and as an ordinary user the tests create.

``MODES``: ``"root"`` and ``"user"``. As root (CI here), the ordinary user is ``bpl-instructor``, created with
``useradd`` (a home folder in ``/home``, like an instructor's account) and reached with ``setpriv``; run as an
ordinary user, the tests are that user, and root is reached with ``sudo -n`` (a CI runner's passwordless
sudo). Either way both modes run: nothing here skips.
"""

from __future__ import annotations

import atexit
import functools
import os
import pwd
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
USER = "bpl-instructor"
MODES = ("root", "user")


@dataclass(frozen=True)
class Account:
    mode: str
    uid: int
    gid: int
    home: Path


def _sudo() -> list[str]:
    return [] if os.geteuid() == 0 else ["sudo", "-n", "--preserve-env=PYTHONPATH"]


def account(mode: str) -> Account:
    """Who runs the grader in ``mode`` (the ordinary user is created when the tests run as root)."""
    if mode == "root":
        return Account("root", 0, 0, Path("/root"))
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return Account("user", me.pw_uid, me.pw_gid, Path(me.pw_dir))
    try:
        entry = pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", "--user-group", USER], check=True,
                       capture_output=True, timeout=60)
        entry = pwd.getpwnam(USER)
    home = Path(entry.pw_dir)
    home.mkdir(mode=0o700, exist_ok=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    return Account("user", entry.pw_uid, entry.pw_gid, home)


@functools.cache
def _python(who: Account) -> tuple[str, list[str]]:
    """(interpreter, extra sys.path) that ``who`` can run with this environment's packages: this one, or the
    system's Python of the same version with this environment's ``site-packages`` (when this environment
    lives where only root can go, e.g. ``/root/.pyenv``). Found once per account and test process (each probe
    imports ipykernel, numpy, nbclient and nbgrader: seconds of CPU)."""
    system = f"/usr/bin/python{sys.version_info[0]}.{sys.version_info[1]}"
    packages = [sysconfig.get_paths()["purelib"], *site.getsitepackages()]
    for python, paths in ((sys.executable, []), (system, packages)):
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": os.pathsep.join([str(REPO), *paths])}
        done = subprocess.run([*_prefix(who), python, "-c", "import os, sys, ipykernel, numpy, nbclient, nbgrader; "
                               "sys.exit(0 if os.access(sys.executable, os.X_OK) else 1)"],
                              capture_output=True, env=env, timeout=120)
        if done.returncode == 0:
            return python, paths
    raise RuntimeError(f"no Python interpreter that {who.mode} can run with this environment's packages "
                       f"(tried {sys.executable} and {system}): install python3 from the system's packages")


def _prefix(who: Account) -> list[str]:
    if who.mode == "root":
        return _sudo()
    if os.geteuid() != 0:
        return []
    return ["setpriv", f"--reuid={who.uid}", f"--regid={who.gid}", "--init-groups", "--"]


#: Runs ARGV as UID:GID in a user namespace of its own (uids and gids 0-65535 mapped to themselves) whose
#: ``user.max_user_namespaces`` is 0: a machine that forbids unprivileged user namespaces, without changing
#: this machine's settings for anyone else. Run by root.
_FORBIDDING = r"""
import ctypes, os, sys
uid, gid, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
libc = ctypes.CDLL(None, use_errno=True)
ready_r, ready_w = os.pipe()
mapped_r, mapped_w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(ready_r)
    os.close(mapped_w)
    if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
        os._exit(120)
    os.write(ready_w, b"1")
    os.read(mapped_r, 1)
    with open("/proc/sys/user/max_user_namespaces", "w") as fh:
        fh.write("0")
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    os.execvp(argv[0], argv)
os.close(ready_w)
os.close(mapped_r)
os.read(ready_r, 1)
try:
    for name in ("uid_map", "gid_map"):
        with open(f"/proc/{pid}/{name}", "w") as fh:
            fh.write("0 0 65536\n")
finally:
    os.close(mapped_w)  # the child goes on (or fails at once) either way
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
"""


def run_as(who: Account, args: list[str], *, cwd: Path, env: dict | None = None, timeout: float = 900,
           python: bool = True, forbid_userns: bool = False) -> subprocess.CompletedProcess:
    """Run ``python args...`` (or ``args``) as ``who``, with this checkout and environment importable;
    ``forbid_userns``: on a system where unprivileged user namespaces are switched off."""
    interpreter, paths = _python(who)
    tools = _tools(who, interpreter) if paths else Path(interpreter).parent
    full = {"PATH": f"{tools}:/usr/bin:/bin", "HOME": str(who.home), "LANG": "C.UTF-8",
            "PYTHONPATH": os.pathsep.join([str(REPO), *paths]), **(env or {})}
    if paths:  # the system's Python: this environment's Jupyter data (nbconvert's templates) all the same
        full["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    command = [*_prefix(who), *([interpreter] if python else []), *args]
    if forbid_userns:
        command = [*_sudo(), sys.executable, "-c", _FORBIDDING, str(who.uid), str(who.gid),
                   *([interpreter] if python else []), *args]
    return subprocess.run(command, capture_output=True, text=True, env=full, cwd=cwd, timeout=timeout)


def _tools(who: Account, interpreter: str) -> Path:
    """A folder of the console scripts the grader runs (nbgrader runs ``alembic``), for the system's Python
    (this environment's own scripts start an interpreter ``who`` cannot run)."""
    folder = who.home / ".backproplab-test-bin"
    folder.mkdir(exist_ok=True)
    script = folder / "alembic"
    script.write_text(f"#!{interpreter}\nimport sys\nfrom alembic.config import main\nsys.exit(main())\n")
    script.chmod(0o755)
    give(folder, who)
    return folder


def give(path: Path, who: Account) -> None:
    """Make ``who`` the owner of ``path`` and everything under it (a course copy the grader owns)."""
    if os.geteuid() != 0:
        if who.mode == "root":
            subprocess.run([*_sudo(), "chown", "-R", "0:0", str(path)], check=True, timeout=120)
        return
    for folder, dirs, files in os.walk(path):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            os.lchown(name, who.uid, who.gid)


def workspace(who: Account, name: str) -> Path:
    """A fresh folder in ``who``'s home (where an instructor keeps a course), owned by ``who``."""
    # unique per session: test runs of other worktrees may use the same account at the same time
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=who.home))
    path.chmod(0o755)  # as mkdir made it
    atexit.register(shutil.rmtree, path, True)
    give(path, who)
    return path
