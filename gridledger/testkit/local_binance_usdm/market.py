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

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from gridledger.testkit.local_binance.peer import WsPeer

KINDS = ("ticker", "miniTicker", "bookTicker", "markPrice", "markPrice@1s")

Render = Callable[[str], dict[str, Any] | None]


def valid_stream(name: str) -> bool:
    symbol, _, kind = name.partition("@")
    return bool(symbol) and symbol == symbol.lower() and kind in KINDS


class UsdmMarketHub:
    """Market-stream connections and their subscriptions."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._subs: dict[WsPeer, set[str]] = {}
        self._on_change = on_change

    @property
    def peers(self) -> list[WsPeer]:
        return list(self._subs)

    def count(self, stream: str) -> int:
        """How many connections are subscribed to ``stream`` (e.g. ``btcusdt@ticker``)."""
        return sum(1 for names in self._subs.values() if stream in names)

    def publish(self, venue_id: str, render: Render, kinds: tuple[str, ...] = KINDS) -> None:
        """Push the events of ``kinds`` to their subscribers; ``render(kind)`` builds one
        (once per kind; None: nothing to send yet, e.g. no print)."""
        symbol = venue_id.lower()
        rendered: dict[str, str | None] = {}
        for peer, names in self._subs.items():
            for kind in kinds:
                if f"{symbol}@{kind}" not in names:
                    continue
                if kind not in rendered:
                    event = render(kind)
                    rendered[kind] = None if event is None else json.dumps(event, separators=(",", ":"))
                text = rendered[kind]
                if text is not None:
                    peer.send_text(text)

    async def handle(self, request: web.Request, tail: str) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        peer = WsPeer(ws, request.transport)
        self._subs[peer] = {n for n in tail.split("/") if valid_stream(n)}
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
            if not isinstance(params, list) or not all(isinstance(p, str) and valid_stream(p) for p in params):
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
