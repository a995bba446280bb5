"""How much one confined execution may use: process limits (``prlimit``), timeouts and output caps."""

from __future__ import annotations

from dataclasses import dataclass, replace

MB = 2**20
GB = 2**30


@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's kernel.

    Per process (``prlimit``, inherited by every process the kernel starts): ``cpu_seconds`` of CPU time,
    ``memory_bytes`` of address space, ``max_processes`` processes and threads of the sandbox user,
    ``file_bytes`` per written file, ``open_files`` descriptors, no core dumps.

    For the whole run (when grading as root): ``scratch_bytes`` of disk (the scratch folder is a tmpfs of
    that size) and, when the kernel supports cgroups, ``memory_bytes`` and ``max_processes`` for all the
    kernel's processes together.

    Computation: ``cell_cpu_seconds`` of the kernel's CPU time per cell (None: no such limit), then the kernel
    is interrupted and the run goes on. CPU time does not grow when the machine is busy, so a correct answer
    is never stopped by a neighbour's load.

    Wall clock: ``cell_timeout`` seconds per cell (then the kernel is interrupted and the run goes on),
    ``total_timeout`` for the whole notebook (then the kernel is killed), ``startup_timeout`` for the kernel
    to answer. Output: at most ``output_bytes_per_cell`` / ``output_bytes_total`` of outputs are kept in the
    executed notebook (the rest is replaced by a one-line notice); one message larger than
    ``message_bytes`` is dropped by ZeroMQ before it reaches the grader's memory.

    ``no_new_processes``: the kernel may not start processes at all (seccomp; threads are fine), which stops a
    fork bomb at its first ``fork`` and keeps every line of learner code inside the kernel process.
    """

    cpu_seconds: int = 600
    memory_bytes: int = 4 * GB
    max_processes: int = 64
    file_bytes: int = 64 * MB
    open_files: int = 256
    scratch_bytes: int = 256 * MB
    cell_timeout: float = 120.0
    cell_cpu_seconds: float | None = None
    total_timeout: float = 1800.0
    startup_timeout: float = 60.0
    output_bytes_per_cell: int = 1 * MB
    output_bytes_total: int = 8 * MB
    message_bytes: int = 32 * MB
    no_new_processes: bool = True

    def with_(self, **changes) -> Limits:
        return replace(self, **changes)

    def prlimit_args(self, nproc_offset: int = 0) -> list[str]:
        """``prlimit`` options (soft = hard). ``nproc_offset``: processes the sandbox user already runs (the
        limit counts every process of the real uid, so without a uid switch it includes the grader's)."""
        return [
            f"--cpu={self.cpu_seconds}",
            f"--as={self.memory_bytes}",
            f"--nproc={self.max_processes + nproc_offset}",
            f"--fsize={self.file_bytes}",
            f"--nofile={self.open_files}",
            "--core=0",
        ]


#: Defaults for grading a course notebook (plots, widgets and a few thousand small matrix products).
DEFAULT_LIMITS = Limits()
