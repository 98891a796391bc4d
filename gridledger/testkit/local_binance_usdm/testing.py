"""Helpers for tests that drive ccxt's ``binanceusdm`` against a :class:`LocalBinanceUsdm`.

Nothing here sleeps to wait: :func:`ccxt_waiting` polls ccxt's state until a watch is really
pending (frames that arrive before ccxt created the future resolve nothing), with
:func:`gridledger.testkit.local_binance.testing.until`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

from gridledger.testkit.local_binance.testing import until
from gridledger.testkit.local_binance_usdm.client import build_usdm_client
from gridledger.testkit.local_binance_usdm.config import LocalBinanceUsdmConfig
from gridledger.testkit.local_binance_usdm.server import LocalBinanceUsdm

__all__ = ["ccxt_waiting", "private_client", "signed_query", "until", "usdm_exchange"]


def private_client(exchange: Any) -> Any:
    """ccxt's client for the user data stream (``.../private/ws?listenKey=...``), or None."""
    for url, client in (exchange.clients or {}).items():
        if "/private/ws" in url:
            return client
    return None


async def ccxt_waiting(exchange: Any, message_hash: str = "orders", timeout: float = 5.0) -> None:
    """Until ccxt has a pending future for ``message_hash`` on the user-stream client
    (``orders``, ``myTrades``, ``orders:BTC/USDT:USDT``)."""

    def pending() -> bool:
        client = private_client(exchange)
        if client is None:
            return False
        fut = client.futures.get(message_hash)
        return fut is not None and not fut.done()

    await until(pending, timeout, f"ccxt to watch {message_hash!r}")


def signed_query(params: Mapping[str, Any], secret: str, *, timestamp_ms: int | None = None) -> str:
    """A SIGNED request's query string, as Binance expects it (for raw HTTP tests)."""
    values = dict(params)
    values.setdefault("timestamp", timestamp_ms if timestamp_ms is not None else time.time_ns() // 1_000_000)
    query = urlencode(values)
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


@asynccontextmanager
async def usdm_exchange(
    config: LocalBinanceUsdmConfig | None = None, **client_kw: Any
) -> AsyncIterator[tuple[LocalBinanceUsdm, Any]]:
    """A started server and a ccxt ``binanceusdm`` for it; both closed on exit."""
    async with LocalBinanceUsdm(config) as server:
        exchange = build_usdm_client(server, **client_kw)
        try:
            yield server, exchange
        finally:
            await exchange.close()
