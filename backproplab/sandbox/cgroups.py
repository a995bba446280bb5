"""The cgroups of a grading run (v1 or v2, when available): memory and process count for all its processes."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from .limits import Limits


@dataclass
class Cgroups:
    """The run's cgroups: memory and process count for all its processes together (best effort)."""

    dirs: list[Path] = field(default_factory=list)
    procs_files: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, name: str, limits: Limits) -> Cgroups:
        self = cls()
        base = Path("/sys/fs/cgroup")
        v2 = base / "cgroup.controllers"
        try:
            if v2.exists():
                controllers = v2.read_text().split()
                if "memory" in controllers or "pids" in controllers:
                    d = base / name
                    d.mkdir()
                    self.dirs.append(d)
                    if "memory" in controllers:
                        (d / "memory.max").write_text(str(limits.memory_bytes))
                        with contextlib.suppress(OSError):
                            (d / "memory.swap.max").write_text("0")
                        self.applied.append("memory")
                    if "pids" in controllers:
                        (d / "pids.max").write_text(str(limits.max_processes))
                        self.applied.append("pids")
                    self.procs_files.append(str(d / "cgroup.procs"))
                return self
            for controller, knob, value in (("memory", "memory.limit_in_bytes", limits.memory_bytes),
                                            ("pids", "pids.max", limits.max_processes)):
                root = base / controller
                if not (root / "cgroup.procs").exists():
                    continue
                d = root / name
                d.mkdir()
                self.dirs.append(d)
                (d / knob).write_text(str(value))
                self.procs_files.append(str(d / "cgroup.procs"))
                self.applied.append(controller)
        except OSError:
            pass
        return self

    def remove(self) -> None:
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    for pid in (d / "cgroup.procs").read_text().split() if (d / "cgroup.procs").exists() else ():
                        with contextlib.suppress(OSError):
                            os.kill(int(pid), signal.SIGKILL)
                    time.sleep(0.05)
        self.dirs.clear()
