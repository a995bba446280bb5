"""Real servers for the grading tests: a throwaway PostgreSQL cluster and a Dask scheduler with worker
processes of their own (``make test`` installs PostgreSQL's programs: scripts/ensure-postgres.sh)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def _pg_program(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)),
                                       None)
    assert found, f"PostgreSQL's {name} is missing: run `make postgres` (scripts/ensure-postgres.sh)"
    return found


@contextlib.contextmanager
def postgres():
    """A PostgreSQL server on a Unix socket in a temporary folder (run as the ``postgres`` user when this is
    root: the server refuses root); yields a function ``url(database)`` that creates the database."""
    import psycopg

    folder = Path(tempfile.mkdtemp(prefix="backproplab-pg-"))
    data, sock = folder / "data", folder / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in (folder, sock):
            os.chown(path, user.pw_uid, user.pw_gid)
        os.chmod(folder, 0o755)
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_user, _pg_program("initdb"), "-D", str(data), "-U", "grader", "--auth=trust",
                    "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
    options = f"-c listen_addresses='' -c unix_socket_directories={sock} -c fsync=off -c max_connections=60"
    subprocess.run([*as_user, _pg_program("pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"),
                    "-w", "-t", "60", "start"], check=True, capture_output=True)

    def url(database: str) -> str:
        with psycopg.connect(f"host={sock} user=grader dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        return f"postgresql+psycopg://grader@/{database}?host={sock}"

    try:
        yield url
    finally:
        subprocess.run([*as_user, _pg_program("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DaskCluster:
    """``dask scheduler`` and ``dask worker`` processes (no nanny: a killed worker stays dead). ``hide``:
    folders the workers must not see — each worker runs in a mount namespace of its own with an empty tmpfs
    over them (as root; otherwise in a user namespace of its own mapped to this user), working in ``/``."""

    def __init__(self, folder: Path, workers: int, hide: list[Path] = ()):
        self.folder, self.hide = folder, [Path(p) for p in hide]
        self.address = f"tcp://127.0.0.1:{free_port()}"
        folder.mkdir(parents=True, exist_ok=True)
        self.scheduler = self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port",
                                                   self.address.rsplit(":", 1)[1], "--no-dashboard"])
        self.workers = [self._start(f"worker{k}", ["worker", self.address, "--nthreads", "1", "--no-nanny",
                                                   "--no-dashboard", "--name", f"w{k}"], self.hide)
                        for k in range(workers)]
        with self.client() as client:
            client.wait_for_workers(workers, timeout=120)

    def _start(self, name: str, args: list[str], hide: list[Path] = ()) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (the process holds it)
        command = [str(BIN / "dask"), *args]
        if hide:
            mounts = " && ".join(f"mount -t tmpfs -o size=1m,mode=0755 tmpfs {shlex.quote(str(p))}" for p in hide)
            user = [] if os.geteuid() == 0 else ["--user", "--map-current-user"]
            command = ["unshare", *user, "--mount", "--propagation", "private", "--", "sh", "-c",
                       f'{mounts} && cd / && exec "$0" "$@"', *command]
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=self.folder)

    def client(self):
        from distributed import Client

        return Client(self.address, timeout=60, set_as_default=False)

    def busy_worker(self, client) -> str | None:
        """The address of a worker running a task now."""
        return next((w for w, keys in client.processing().items() if keys), None)

    def kill(self, address: str, client) -> int:
        """SIGKILL the worker at ``address`` (and its kernel, in its session); returns its pid."""
        pid = client.run(os.getpid, workers=[address])[address]
        os.killpg(os.getpgid(pid), signal.SIGKILL)
        return pid

    def close(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(30)
        time.sleep(0.1)
