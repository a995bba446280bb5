"""Imported first by the local workers' fork server (:data:`.workerprocs.PRELOAD`), so that its forks inherit it.

An interrupted run removes its semaphores and pipes while a worker may still be starting: that fork then fails
to read what its grader sent (``FileNotFoundError`` rebuilding a semaphore, ``EOFError`` on a closed pipe), and
multiprocessing's fork server hands the failure to ``sys.excepthook``, which printed a traceback on the
grader's terminal after its "interrupted" line. A failure of that kind, whose grader has gone, ends the fork in
silence; any other is printed as before. (A worker's own code runs under multiprocessing's bootstrap, which
prints its failures itself: this hook never sees them.)
"""

from __future__ import annotations

import sys

#: Failures of a fork whose grader has gone (its semaphores, pipes or sockets closed or removed).
GRADER_GONE = (FileNotFoundError, EOFError, BrokenPipeError, ConnectionError)

_default = sys.excepthook


def _hook(kind, value, tb) -> None:
    if isinstance(kind, type) and issubclass(kind, GRADER_GONE):
        return
    _default(kind, value, tb)


sys.excepthook = _hook
