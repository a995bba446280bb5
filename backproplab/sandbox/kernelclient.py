"""The kernel manager and notebook client of a confined run (:mod:`.execute`): the launch command is the
confined one, the connection file is readable by the sandbox user, and outputs are capped as they arrive.

Imported only by :func:`backproplab.sandbox.execute.execute_confined` (the grading kernel itself never
imports nbclient or jupyter_client).
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import time

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from traitlets import DottedObjectName, Type

from backproplab.nbexec import patch_reply_polling

patch_reply_polling()  # jupyter/nbclient#312: a missed reply must not cost a whole cell timeout


class ReadyClient(AsyncKernelClient):
    """jupyter_client's client, ready as soon as the kernel is: its ``wait_for_ready`` ends by reading IOPub
    until nothing came for 0.2 s (200 ms of every kernel start); this one stops at the kernel's "idle" after a
    ``kernel_info`` request, which also shows that IOPub is connected. Older messages left behind are
    harmless: nbclient keeps only the messages whose parent is the cell it runs."""

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except queue.Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply" and await self._iopub_idle(0.5):
                self._handle_kernel_info_reply(reply)
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

    async def _iopub_idle(self, timeout: float) -> bool:
        """Whether IOPub carried the kernel's "idle" after a ``kernel_info`` request within ``timeout``."""
        until = time.monotonic() + timeout
        while (left := until - time.monotonic()) > 0:
            try:
                msg = await self.iopub_channel.get_msg(timeout=left)
            except queue.Empty:
                return False
            if (msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle"
                    and msg["parent_header"].get("msg_type") == "kernel_info_request"):
                return True
        return False


class ConfinedKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose launch command is the confined one and whose connection file the
    sandbox user can read."""

    client_class = DottedObjectName("backproplab.sandbox.kernelclient.ReadyClient")
    client_factory = Type(ReadyClient)

    def setup(self, command, uid, stderr, message_bytes, spawn=None):
        """``spawn``: None (``command`` is run), or a function returning a :class:`.forked.ForkedKernel`
        (a kernel forked from the template; ``command`` then only names it)."""
        self._bpl_command, self._bpl_uid, self._bpl_stderr = command, uid, stderr
        self._bpl_message_bytes = message_bytes
        self._bpl_spawn = spawn

    async def _async_wait(self, pollinterval: float = 0.005) -> None:
        """Wait for the killed kernel to be gone, looking every 5 ms (jupyter_client: 100 ms, a tenth of a
        second at the end of every run)."""
        await super()._async_wait(pollinterval=min(pollinterval, 0.005))

    def format_kernel_cmd(self, extra_arguments=None):
        return list(self._bpl_command)

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        if self._bpl_uid is not None:
            os.chown(self.connection_file, self._bpl_uid, self._bpl_uid)
            os.chmod(self.connection_file, 0o400)

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self._bpl_spawn is not None:
            import asyncio

            provisioner = self.provisioner
            provisioner.process = await asyncio.get_running_loop().run_in_executor(None, self._bpl_spawn)
            # signals go to the kernel itself (LocalProvisioner would use its process group): ForkedKernel
            # signals only a kernel the template has not reaped, so never a recycled process id
            provisioner.pid, provisioner.pgid = provisioner.process.pid, None
            self._reconcile_connection_info(provisioner.connection_info)
            return
        kw["stdin"] = subprocess.DEVNULL
        kw["stdout"] = self._bpl_stderr
        kw["stderr"] = self._bpl_stderr
        kw["env"] = {"PATH": "/usr/bin:/bin"}  # only the root half sees it; the kernel's is set by env -i
        await super()._async_launch_kernel(kernel_cmd, **kw)

    def client(self, **kwargs):
        kc = super().client(**kwargs)
        # A single message bigger than this never reaches the grader's memory: ZeroMQ drops it.
        kc.context.setsockopt(zmq.MAXMSGSIZE, self._bpl_message_bytes)
        return kc


_OUTPUT_KINDS = ("stream", "display_data", "execute_result", "error", "update_display_data")


class CappedClient(NotebookClient):
    """nbclient's client keeping at most ``per_cell`` / ``total`` bytes of outputs."""

    def setup_caps(self, per_cell: int, total: int):
        self._cap_cell, self._cap_total = per_cell, total
        self._used_total = 0
        self.truncated: dict[int, int] = {}
        self.lost_output: set[int] = set()
        self.clients = []
        self._saw_idle = False
        self.reset_cell_cap()

    def reset_cell_cap(self):
        self._used_cell = 0

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        self.clients.append(kc)
        return kc

    def close_clients(self):
        for kc in self.clients:
            with contextlib.suppress(Exception):
                kc.stop_channels()
                kc.context.destroy(linger=0)

    def _take(self, msg, kind: str, cell_index: int) -> tuple[int, bool]:
        """``(bytes kept, first truncation of this cell)`` for an output message, trimming a long print."""
        size = _size(msg.get("content")) + sum(len(b) for b in msg.get("buffers") or ())
        room = min(self._cap_cell - self._used_cell, self._cap_total - self._used_total)
        notice = False
        if size > room:
            dropped = size
            if kind == "stream" and room > 0:  # keep the beginning of a long print
                msg["content"]["text"] = msg["content"].get("text", "")[:room]
                dropped, size = size - room, room
            else:
                size = 0
            notice = cell_index not in self.truncated
            self.truncated[cell_index] = self.truncated.get(cell_index, 0) + dropped
        self._used_cell += size
        self._used_total += size
        return size, notice

    def process_message(self, msg, cell, cell_index):
        kind = msg.get("msg_type", "")
        if kind == "status" and msg.get("content", {}).get("execution_state") == "idle":
            self._saw_idle = True
        notice = False
        if kind in _OUTPUT_KINDS or kind.startswith("comm"):
            size, notice = self._take(msg, kind, cell_index)
            if size == 0:
                if notice:
                    cell.outputs.append(_notice())
                return None
        out = super().process_message(msg, cell, cell_index)
        if notice:
            cell.outputs.append(_notice())
        return out

    async def async_execute_cell(self, cell, cell_index, *args, **kwargs):
        self._saw_idle = False
        out = await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        if not self._saw_idle and self.kc is not None and cell.cell_type == "code" and cell.source.strip():
            # The kernel's "idle" never arrived: ZeroMQ dropped a message over the size limit and
            # closed the output channel (it does not reconnect after that). Open a new one.
            self.lost_output.add(cell_index)
            old, self.kc._iopub_channel = self.kc._iopub_channel, None
            if old is not None:
                old.close()
            self.kc.iopub_channel  # noqa: B018 (connects)
            await self._iopub_ready()
        return out

    async def _iopub_ready(self, patience: float = 10.0) -> bool:
        """Wait until the new output channel hears the kernel (ZeroMQ's subscriptions start late: what the
        next cell printed, and its "idle", would be lost, and each such cell would wait for ``iopub_timeout``).
        A ``kernel_info`` request makes the kernel publish its status; nbclient ignores the replies."""
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            self.kc.kernel_info()
            try:
                while True:
                    msg = await self.kc.get_iopub_msg(timeout=0.5)
                    if msg.get("msg_type") == "status":
                        return True
            except (TimeoutError, queue.Empty):
                continue
        return False


def _notice():
    from nbformat.v4 import new_output

    return new_output("stream", name="stderr",
                      text="[backproplab grader: output truncated here — it exceeded the output limit]\n")


def _size(obj) -> int:
    if isinstance(obj, str):
        return len(obj)
    if isinstance(obj, (bytes, bytearray)):
        return len(obj)
    if isinstance(obj, dict):
        return sum(len(str(k)) + _size(v) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return sum(_size(v) for v in obj)
    return 8
