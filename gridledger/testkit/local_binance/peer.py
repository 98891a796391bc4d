"""One accepted WebSocket connection with an ordered outbox.

Everything the server sends on a connection (answers, stream events, a server-side close)
goes through one FIFO queue drained by one writer task, so frames leave in the order they
were produced, from synchronous code (the matching core's event dispatch) as well as from
async handlers. ``flushed()`` lets the server wait until what it queued is on the wire.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

_CLOSE = object()  # outbox sentinel: close handshake from the server side
_ABORT = object()  # outbox sentinel: drop the TCP connection, no close frame


def dumps(obj: Any) -> str:
    """Compact JSON, as Binance sends it."""
    return json.dumps(obj, separators=(",", ":"))


class WsPeer:
    """A server-side WebSocket with a queued, ordered writer."""

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None = None) -> None:
        self.ws = ws
        self._transport = transport
        self._outbox: asyncio.Queue[object] = asyncio.Queue()
        self._closing = False
        self._writer = asyncio.get_running_loop().create_task(self._write(), name="local-binance-ws-writer")

    @property
    def open(self) -> bool:
        return not self._closing and not self.ws.closed

    def send_text(self, text: str) -> None:
        if self.open:
            self._outbox.put_nowait(text)

    def send_json(self, obj: Any) -> None:
        self.send_text(dumps(obj))

    def close_soon(self, abort: bool = False) -> None:
        """Close from the server side once everything queued before has been sent: with a
        close frame, or (``abort``) by dropping the TCP connection like a network failure."""
        if self.open:
            self._outbox.put_nowait(_ABORT if abort and self._transport is not None else _CLOSE)
            self._closing = True

    async def flushed(self) -> None:
        await self._outbox.join()

    async def run(self, on_text: Callable[[str], Awaitable[None]]) -> None:
        """Read frames until the connection ends, then stop the writer."""
        try:
            async for msg in self.ws:
                if msg.type == WSMsgType.TEXT:
                    await on_text(msg.data)
                elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                    break
        finally:
            self._closing = True
            if not self._writer.done():
                # Let a queued server-side close finish; otherwise stop writing now.
                self._outbox.put_nowait(_CLOSE)
                try:
                    await asyncio.wait_for(asyncio.shield(self._writer), 1.0)
                except (TimeoutError, asyncio.CancelledError):
                    self._writer.cancel()
            self._discard()

    async def close(self) -> None:
        """Close now (server shutdown)."""
        self._closing = True
        if not self.ws.closed:
            await self.ws.close()
        if not self._writer.done():
            self._writer.cancel()
        self._discard()

    async def _write(self) -> None:
        try:
            while True:
                item = await self._outbox.get()
                try:
                    if item is _CLOSE:
                        if not self.ws.closed:
                            await self.ws.close()
                        return
                    if item is _ABORT:
                        assert self._transport is not None
                        self._transport.abort()
                        return
                    assert isinstance(item, str)
                    await self.ws.send_str(item)
                finally:
                    self._outbox.task_done()
        except (ConnectionError, RuntimeError):
            pass  # the peer went away; run() ends on its own
        finally:
            self._closing = True
            self._discard()

    def _discard(self) -> None:
        """Mark whatever is left as done so ``flushed()`` never waits on a dead peer."""
        while not self._outbox.empty():
            self._outbox.get_nowait()
            self._outbox.task_done()
