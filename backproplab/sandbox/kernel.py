"""The grading kernel: ``python -P -m backproplab.sandbox.kernel -f CONNECTION_FILE``.

An ordinary IPython kernel, started after what must happen before any learner code runs:

1. the course package and numpy are imported from the installed locations (``-P`` keeps the working folder,
   where a submission's own files live, off ``sys.path`` until IPython adds it), so a submitted
   ``backproplab.py`` or ``numpy.py`` cannot stand in for them;
2. graded checks run the learner's function with the exercise's reference poisoned (:mod:`.poison`);
3. a seccomp filter (:mod:`.seccomp`): signals to itself only, no ``ptrace``, and with
   ``--no-new-processes`` no ``fork``/``vfork``/``clone`` of processes;
4. the launcher's own arguments are gone from ``sys.argv``.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    import numpy  # noqa: F401

    import backproplab.check  # noqa: F401  (imports checking, checks and every reference)
    import backproplab.trusted  # noqa: F401
    from backproplab.sandbox import poison

    poison.install()
    from ipykernel import kernelapp

    no_fork = "--no-new-processes" in sys.argv
    if no_fork:
        sys.argv.remove("--no-new-processes")
    from backproplab.sandbox import seccomp

    if not seccomp.install(os.getpid(), no_fork=no_fork):
        print("backproplab sandbox: seccomp unavailable: prlimit limits only", file=sys.stderr)
    sys.argv[0] = "ipykernel_launcher"
    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
