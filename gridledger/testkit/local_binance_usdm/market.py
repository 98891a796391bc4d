"""USDⓈ-M market streams: ``<symbol>@ticker``, ``@miniTicker``, ``@bookTicker``, ``@markPrice[@1s]``.

Raw-stream framing as on ``wss://fstream.binance.com/market/ws`` (bare events). A connection
subscribes through its path (``.../ws/btcusdt@ticker``) or with
``{"method": "SUBSCRIBE", "params": [...], "id": N}`` answered ``{"result": null, "id": N}``;
that is what ccxt's ``watch_ticker`` does for a linear market: it connects to
``<linear ws>/market/ws/<n>`` and, in ccxt 4.5.90, subscribes ``btcusdt@miniTicker`` (as for
spot; ``params={"name": "ticker"}`` selects ``btcusdt@ticker``); ``watch_mark_price``
subscribes ``btcusdt@markPrice@1s``. Events are pushed after each print of the simulated market (and
after a mark-price change), not on Binance's timers, so tests are deterministic.
"""

from __future__ import annotations

from aiohttp import web

from gridledger.testkit.local_binance.market import Render, StreamHub

KINDS = ("ticker", "miniTicker", "bookTicker", "markPrice", "markPrice@1s")


class UsdmMarketHub(StreamHub):
    """Market-stream connections and their subscriptions (the protocol is :class:`StreamHub`'s)."""

    kinds = KINDS

    def publish(self, venue_id: str, render: Render, kinds: tuple[str, ...] = KINDS) -> None:
        """Push the events of ``kinds`` to their subscribers; ``render(kind)`` builds one
        (once per kind; None: nothing to send yet, e.g. no print)."""
        self.push(venue_id, render, kinds)

    async def handle(self, request: web.Request, tail: str) -> web.WebSocketResponse:
        return await self.serve(request, tail)


__all__ = ["KINDS", "Render", "UsdmMarketHub"]
