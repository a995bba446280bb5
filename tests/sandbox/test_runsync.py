"""Grading works from code that already runs an event loop (a notebook, Playwright's sync API)."""

import asyncio

from backproplab.sandbox.runsync import run_sync


async def _answer():
    await asyncio.sleep(0)
    return 42


def test_run_sync_without_and_inside_a_running_loop():
    assert run_sync(_answer()) == 42

    async def outer():
        return run_sync(_answer())  # asyncio.run() here would raise "cannot be called from a running loop"

    assert run_sync(outer()) == 42  # outer runs inside a loop: the inner call takes the thread path
