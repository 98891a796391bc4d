"""Public market streams (``/stream/ws/...``): ``<symbol>@miniTicker``, ``@ticker``, ``@bookTicker``.

Raw-stream framing as on ``wss://stream.binance.com:9443/ws``: bare events, no
``{"stream", "data"}`` wrapper. A connection subscribes either through its path
(``/stream/ws/btcusdt@ticker``) or with ``{"method": "SUBSCRIBE", "params": [...], "id": N}``,
answered ``{"result": null, "id": N}``; that is what ccxt's ``watch_ticker`` sends: it
connects to ``.../ws/<n>`` and, in ccxt 4.5.90, subscribes ``btcusdt@miniTicker`` (its
``watchTickers.name`` default; the ``callerMethodName`` that would select ``ticker`` is
dropped on the way), or ``btcusdt@ticker`` with ``params={"name": "ticker"}``. Events are pushed after each
print of the simulated market, not on Binance's one-second timer, so tests are
deterministic.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from gridledger.exchange.sim import binance_market as mfmt
from gridledger.exchange.sim.values import TickerStats
from gridledger.testkit.local_binance.peer import WsPeer

_KINDS = ("ticker", "miniTicker", "bookTicker")


class MarketHub:
    """Market-stream connections and their subscriptions."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._subs: dict[WsPeer, set[str]] = {}
        self._update_id = 0
        self._on_change = on_change

    @property
    def peers(self) -> list[WsPeer]:
        return list(self._subs)

    def count(self, stream: str) -> int:
        """How many connections are subscribed to ``stream`` (e.g. ``btcusdt@ticker``)."""
        return sum(1 for names in self._subs.values() if stream in names)

    def publish(self, stats: TickerStats) -> None:
        """Push the current tickers to their subscribers (each event rendered once)."""
        self._update_id += 1
        symbol = stats.symbol.lower()
        rendered: dict[str, str] = {}
        for peer, names in self._subs.items():
            for kind in _KINDS:
                if f"{symbol}@{kind}" in names:
                    if kind not in rendered:
                        rendered[kind] = json.dumps(self._event(kind, stats), separators=(",", ":"))
                    peer.send_text(rendered[kind])

    def _event(self, kind: str, stats: TickerStats) -> dict[str, Any]:
        full = mfmt.ws_ticker_24hr(stats)
        if kind == "ticker":
            return full
        if kind == "miniTicker":
            keys = ("E", "s", "c", "o", "h", "l", "v", "q")
            return {"e": "24hrMiniTicker", **{k: full[k] for k in keys}}
        return self._book_event(stats)

    def _book_event(self, stats: TickerStats) -> dict[str, Any]:
        rest = mfmt.book_ticker(stats)
        return {
            "u": self._update_id,
            "s": stats.symbol,
            "b": rest["bidPrice"],
            "B": rest["bidQty"],
            "a": rest["askPrice"],
            "A": rest["askQty"],
        }

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        peer = WsPeer(ws, request.transport)
        tail = request.match_info.get("tail", "")
        self._subs[peer] = {n for n in tail.split("/") if _valid(n)}
        self._changed()
        try:
            await peer.run(lambda text: self._on_text(peer, text))
        finally:
            self._subs.pop(peer, None)
            self._changed()
        return ws

    async def _on_text(self, peer: WsPeer, text: str) -> None:
        try:
            request = json.loads(text)
        except ValueError:
            peer.send_json({"error": {"code": 3, "msg": "Invalid JSON: expected value"}, "id": None})
            return
        if not isinstance(request, dict):
            peer.send_json({"error": {"code": 3, "msg": "Invalid JSON: expected an object"}, "id": None})
            return
        req_id = request.get("id")
        method = request.get("method")
        params = request.get("params") or []
        names = self._subs.setdefault(peer, set())
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) and _valid(p) for p in params):
                peer.send_json({"error": {"code": 2, "msg": "Invalid request: unknown stream name"}, "id": req_id})
                return
            if method == "SUBSCRIBE":
                names.update(params)
            else:
                names.difference_update(params)
            peer.send_json({"result": None, "id": req_id})
            self._changed()
        elif method == "LIST_SUBSCRIPTIONS":
            peer.send_json({"result": sorted(names), "id": req_id})
        else:
            peer.send_json({"error": {"code": 2, "msg": "Invalid request: unknown method"}, "id": req_id})

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()


def _valid(name: str) -> bool:
    symbol, _, kind = name.partition("@")
    return bool(symbol) and symbol == symbol.lower() and kind in _KINDS
