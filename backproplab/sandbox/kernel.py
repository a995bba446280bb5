"""The grading kernel: ``python -P -m backproplab.sandbox.kernel -f CONNECTION_FILE``, or the same two steps in a
child of :mod:`.forkserver` (which has done :func:`prepare` once, before any request).

An ordinary IPython kernel, started after what must happen before any learner code runs:

1. the course package and numpy are imported from the installed locations (``-P`` keeps the working folder,
   where a submission's own files live, off ``sys.path`` until IPython adds it), so a submitted
   ``backproplab.py`` or ``numpy.py`` cannot stand in for them;
2. graded checks run the learner's function with the exercise's reference poisoned (:mod:`.poison`);
3. a seccomp filter (:mod:`.seccomp`): signals to itself only, no ``ptrace``, and with
   ``--no-new-processes`` no ``fork``/``vfork``/``clone`` of processes;
4. the launcher's own arguments are gone from ``sys.argv``;
5. with ``--output-cap=N``, each cell's printed text (``sys.stdout`` and ``sys.stderr`` together) stops a
   little past the grader's own cap of ``N`` bytes a cell: a flood of prints is dropped where it is made
   instead of being serialised, sent and thrown away by the grader (a cell printing 200 MB took seconds to
   answer an interrupt). This saves time only; the grader's caps (:mod:`.kernelclient`) are the limit.
"""

from __future__ import annotations

import os
import sys

#: What ipykernel imports only for its debugger (debugpy and pydevd: about a quarter of a second of CPU time
#: in each template, or in each kernel started as a new interpreter). A grading kernel is never debugged:
#: with these unimportable, ipykernel starts without a debugger (``kernel_info`` says ``"debugger": false``).
NOT_IMPORTED = ("debugpy",)


def prepare() -> None:
    """Step 1 and 2: what every kernel imports before any learner code, and the poisoned references."""
    for name in NOT_IMPORTED:
        if name not in sys.modules:
            sys.modules[name] = None  # an import of it raises ImportError
    import numpy  # noqa: F401

    import backproplab.check  # noqa: F401  (imports checking, checks and every reference)
    import backproplab.trusted  # noqa: F401
    from backproplab.sandbox import poison

    poison.install()
    from ipykernel import kernelapp  # noqa: F401


def start(argv: list[str]) -> None:
    """Steps 3 to 5, then the kernel runs until it is shut down (``argv``: the kernel's own arguments)."""
    from ipykernel import kernelapp

    argv = list(argv)
    no_fork = "--no-new-processes" in argv
    if no_fork:
        argv.remove("--no-new-processes")
    from backproplab.sandbox import seccomp

    if not seccomp.install(os.getpid(), no_fork=no_fork):
        print("backproplab sandbox: seccomp unavailable: prlimit limits only", file=sys.stderr)
    caps = [a for a in argv if a.startswith("--output-cap=")]
    for arg in caps:
        argv.remove(arg)
    sys.argv[:] = ["ipykernel_launcher", *argv]
    app = kernelapp.IPKernelApp.instance()
    app.initialize(argv)
    if caps:
        cap_printed_text(app.shell, int(caps[-1].split("=", 1)[1]) + _CAP_MARGIN)
    app.start()


def main() -> None:
    prepare()
    start(sys.argv[1:])


#: Bytes printed past the grader's cap (so that the grader still sees, and says, that it truncated).
_CAP_MARGIN = 4096


def cap_printed_text(shell, per_cell: int) -> None:
    """Drop what a cell writes to ``sys.stdout``/``sys.stderr`` past ``per_cell`` characters."""
    room = [per_cell]

    def reset(*_):
        room[0] = per_cell

    def capped(write):
        def write_capped(text):
            if room[0] <= 0:
                return len(text)
            if len(text) > room[0]:
                write(text[:room[0]])
                room[0] = 0
                return len(text)
            room[0] -= len(text)
            return write(text)

        return write_capped

    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.write = capped(stream.write)
    shell.events.register("pre_execute", reset)


if __name__ == "__main__":
    main()
