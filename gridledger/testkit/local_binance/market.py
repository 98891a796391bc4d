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

# ``render(kind)``: one event of that kind for the current market (None: nothing to send yet).
Render = Callable[[str], dict[str, Any] | None]


class StreamHub:
    """Market-stream connections and their subscriptions, for any set of stream ``kinds``:
    the framing, the (UN)SUBSCRIBE protocol and the fan-out the spot and the USDⓈ-M hubs share.
    """

    kinds: tuple[str, ...] = ()

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._subs: dict[WsPeer, set[str]] = {}
        self._on_change = on_change

    @property
    def peers(self) -> list[WsPeer]:
        return list(self._subs)

    def count(self, stream: str) -> int:
        """How many connections are subscribed to ``stream`` (e.g. ``btcusdt@ticker``)."""
        return sum(1 for names in self._subs.values() if stream in names)

    def valid(self, name: str) -> bool:
        symbol, _, kind = name.partition("@")
        return bool(symbol) and symbol == symbol.lower() and kind in self.kinds

    def push(self, venue_id: str, render: Render, kinds: tuple[str, ...] | None = None) -> None:
        """Push the events of ``kinds`` (default: all) to their subscribers; ``render(kind)``
        builds one (once per kind; None: nothing to send yet, e.g. no print)."""
        symbol = venue_id.lower()
        rendered: dict[str, str | None] = {}
        for peer, names in self._subs.items():
            for kind in self.kinds if kinds is None else kinds:
                if f"{symbol}@{kind}" not in names:
                    continue
                if kind not in rendered:
                    event = render(kind)
                    rendered[kind] = None if event is None else json.dumps(event, separators=(",", ":"))
                text = rendered[kind]
                if text is not None:
                    peer.send_text(text)

    async def serve(self, request: web.Request, tail: str) -> web.WebSocketResponse:
        """One connection: the streams named in the path ``tail``, then (UN)SUBSCRIBE frames."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        peer = WsPeer(ws, request.transport)
        self._subs[peer] = {n for n in tail.split("/") if self.valid(n)}
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
            if not isinstance(params, list) or not all(isinstance(p, str) and self.valid(p) for p in params):
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


class MarketHub(StreamHub):
    """The spot hub: 24h tickers and the book ticker, rendered from :class:`TickerStats`."""

    kinds = _KINDS

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        super().__init__(on_change)
        self._update_id = 0

    def publish(self, stats: TickerStats) -> None:
        """Push the current tickers to their subscribers (each event rendered once)."""
        self._update_id += 1
        self.push(stats.symbol, lambda kind: self._event(kind, stats))

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
        return await self.serve(request, request.match_info.get("tail", ""))
