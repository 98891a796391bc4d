"""Helpers for tests that drive ccxt against a :class:`LocalBinance` without sleeping.

ccxt creates a watch's future only after the user-data subscription is acknowledged, and
frames that arrive before it exists are absorbed into ccxt's caches without resolving
anything. A test that makes an event right after ``server.wait_user_subscribers()`` could
therefore race ccxt; :func:`ccxt_waiting` waits until the watch is really pending.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from gridledger.testkit.local_binance.client import build_client
from gridledger.testkit.local_binance.config import LocalBinanceConfig
from gridledger.testkit.local_binance.server import LocalBinance


async def until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
    """Poll ``predicate`` (each loop turn, ~1 ms apart) until it holds; TimeoutError after
    ``timeout`` seconds. For conditions nothing signals, like ccxt's internal state."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.001)


def ws_api_client(exchange: Any) -> Any:
    """ccxt's client for the WebSocket API URL (where the spot user data stream lives)."""
    url = exchange.urls["api"]["ws"]["ws-api"]["spot"]
    return (exchange.clients or {}).get(url)


async def ccxt_waiting(exchange: Any, message_hash: str = "orders", timeout: float = 5.0) -> None:
    """Until ccxt has a pending future for ``message_hash`` on the WebSocket API client
    (``orders``, ``myTrades``, ``spot:balance``; with a symbol: ``orders:BTC/USDT``)."""

    def pending() -> bool:
        client = ws_api_client(exchange)
        if client is None:
            return False
        fut = client.futures.get(message_hash)
        return fut is not None and not fut.done()

    await until(pending, timeout, f"ccxt to watch {message_hash!r}")


class FrameSpy:
    """Records every decoded frame ccxt's binance handles, with its connection's URL.

    Installed by replacing the instance's ``handle_message`` (ccxt binds it when it creates
    a connection), so install it before the first watch call.
    """

    def __init__(self, exchange: Any) -> None:
        self.frames: list[tuple[str, Any, Any]] = []  # (url, ccxt client, message)
        inner = exchange.handle_message

        def spy(client: Any, message: Any) -> Any:
            self.frames.append((client.url, client, message))
            return inner(client, message)

        exchange.handle_message = spy

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """User-data events seen (unwrapped from the WebSocket-API envelope)."""
        out = []
        for _, _, message in self.frames:
            if isinstance(message, dict) and isinstance(message.get("event"), dict):
                event = message["event"]
                if kind is None or event.get("e") == kind:
                    out.append(event)
        return out


@asynccontextmanager
async def local_exchange(
    config: LocalBinanceConfig | None = None, **client_kw: Any
) -> AsyncIterator[tuple[LocalBinance, Any]]:
    """A started server and a ccxt client for it; both closed on exit."""
    async with LocalBinance(config) as server:
        exchange = build_client(server, **client_kw)
        try:
            yield server, exchange
        finally:
            await exchange.close()
