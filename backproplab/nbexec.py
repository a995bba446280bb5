"""Notebook execution helpers shared by the tests, the release pipeline and the grader.

:func:`patch_reply_polling` works around jupyter/nbclient#312: after a cell that opens ipywidgets comms, the
kernel's reply sometimes sits unnoticed in the client's ZMQ socket until the whole cell timeout has passed
(the cell then "passes" minutes late). Polling in short slices sees a waiting message at once, so a missed
wake-up costs at most one slice. It patches jupyter_client's async channel class once per process, so every
client built afterwards (nbclient, nbconvert's ExecutePreprocessor, nbgrader's Execute) benefits.
"""

from __future__ import annotations

import time
from queue import Empty

#: Longest single wait on a kernel channel, in seconds.
POLL_SLICE = 0.25


def patch_reply_polling() -> None:
    """Make ``AsyncZMQSocketChannel.get_msg(timeout)`` poll in :data:`POLL_SLICE` slices (idempotent)."""
    from jupyter_client.channels import AsyncZMQSocketChannel

    if getattr(AsyncZMQSocketChannel.get_msg, "_backproplab_sliced", False):
        return
    original = AsyncZMQSocketChannel.get_msg

    async def get_msg(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            step = POLL_SLICE if deadline is None else max(0.0, min(POLL_SLICE, deadline - time.monotonic()))
            try:
                return await original(self, timeout=step)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    get_msg._backproplab_sliced = True
    get_msg.__doc__ = original.__doc__
    AsyncZMQSocketChannel.get_msg = get_msg
