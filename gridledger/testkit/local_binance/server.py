"""LocalBinance: a Binance SPOT look-alike on 127.0.0.1 for ccxt's unmodified ``binance``.

    async with LocalBinance(LocalBinanceConfig()) as server:
        exchange = build_client(server)          # client.py: ccxt.pro.binance -> this server
        ...
        await server.set_price(Decimal("29900")) # manual mode: the price moves only here
        await exchange.close()

It runs in the caller's event loop (aiohttp), wraps one :class:`SimCore` (``server.core`` is
the ground truth) and serves:

- ``/api/v3/...``  REST (:mod:`.rest`), signed requests checked like Binance (:mod:`.auth`);
- ``/ws-api/v3``   WebSocket API with the user data stream (:mod:`.wsapi`, :mod:`.userstream`);
- ``/stream/ws/..`` market streams (:mod:`.market`). The path contains ``/stream`` because
  ccxt decides "spot" for market-stream messages by that substring of the URL.

Faults (see :class:`LocalBinanceConfig`): user-stream duplicates / reordering / disconnects /
replays and latency, late answers to creates, and injected bad frames (``inject_*``).
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from gridledger.exchange.sim.matching import SimCore
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import SimTrade
from gridledger.testkit.local_binance.config import LocalBinanceConfig
from gridledger.testkit.local_binance.rest import RestApi
from gridledger.testkit.local_binance.server_base import LocalServerBase
from gridledger.testkit.local_binance.userstream import envelope
from gridledger.testkit.local_binance.venue import Venue
from gridledger.testkit.local_binance.wsapi import WsApi

MALFORMED_JSON = '{"subscriptionId":0,"event":{"e":"executionReport","E":17'


class LocalBinance(LocalServerBase):
    """One local Binance spot venue; see the module docstring. Lifecycle, prices, waiters and
    raw-frame faults are :class:`LocalServerBase`'s; here: the spot routes and frames."""

    config: LocalBinanceConfig
    venue: Venue
    malformed_json = MALFORMED_JSON
    feed_task_name = "local-binance-feed"

    def __init__(self, config: LocalBinanceConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else LocalBinanceConfig()
        self.venue = Venue(self.config, self.faults, self._notify)

    def _add_routes(self, app: web.Application) -> None:
        app.add_routes(
            [
                web.get("/ws-api/v3", WsApi(self.venue).handle),
                web.get("/stream/ws", self.venue.market.handle),
                web.get("/stream/ws/{tail:.*}", self.venue.market.handle),
            ]
        )
        app.add_routes(RestApi(self.venue, lambda: self.klines).routes())

    def _user_peers(self) -> list[Any]:
        return list(self.venue.ws_api_peers)

    # --- ground truth --------------------------------------------------------------------------

    @property
    def core(self) -> SimCore:
        return self.venue.core

    async def tick(self, tick: Tick) -> list[SimTrade]:
        """Apply one print now; returns the fills (see :meth:`LocalServerBase.tick`)."""
        return await super().tick(tick)

    # --- bad frames on the user stream ---------------------------------------------------------

    def inject_event(self, event: dict[str, Any]) -> int:
        """Send ``event`` in the WebSocket-API envelope, bypassing faults and latency."""
        return self.venue.user.inject(lambda sid: envelope(sid, event))

    def inject_unknown_fields(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Re-send the latest executionReport with extra fields Binance might add one day.

        Returns the event sent. It is a copy of a real event, so the engine also sees it as a
        duplicate of that event; raises LookupError when no executionReport exists yet.
        """
        for event in reversed(self.core.events):
            if event.kind == "executionReport":
                payload = copy.deepcopy(event.payload)
                break
        else:
            raise LookupError("no executionReport yet to copy")
        payload.update(extra if extra is not None else {"zz": "new-field", "Xq": {"nested": [1, 2]}, "ξ": None})
        self.injected.unknown_fields += 1
        self.inject_event(payload)
        return payload

    def inject_other_symbol(self, venue_id: str = "ETHUSDT", order_id: int = 900_000_001) -> dict[str, Any]:
        """A well-formed NEW executionReport for a symbol this venue does not list."""
        now = self.venue.now_ms()
        payload: dict[str, Any] = {
            "e": "executionReport",
            "E": now,
            "s": venue_id,
            "c": "other-symbol-order",
            "S": "BUY",
            "o": "LIMIT",
            "f": "GTC",
            "q": "1.00000000",
            "p": "1000.00000000",
            "P": "0.00000000",
            "F": "0.00000000",
            "g": -1,
            "C": "",
            "x": "NEW",
            "X": "NEW",
            "r": "NONE",
            "i": order_id,
            "l": "0.00000000",
            "z": "0.00000000",
            "L": "0.00000000",
            "n": "0",
            "N": None,
            "T": now,
            "t": -1,
            "I": order_id,
            "w": True,
            "m": False,
            "M": False,
            "O": now,
            "Z": "0.00000000",
            "Y": "0.00000000",
            "Q": "0.00000000",
            "W": now,
            "V": "NONE",
        }
        self.injected.other_symbol += 1
        self.inject_event(payload)
        return payload

    def terminate_user_stream(self) -> int:
        """Send ``eventStreamTerminated`` and end every user-data subscription (ccxt turns it
        into an ExchangeError on the pending watch)."""
        self.injected.stream_terminated += 1
        return self.venue.user.terminate({"e": "eventStreamTerminated", "E": self.venue.now_ms()})


__all__ = ["MALFORMED_JSON", "LocalBinance"]
