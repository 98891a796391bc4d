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

import asyncio
import contextlib
import copy
from collections.abc import Callable
from decimal import Decimal
from types import TracebackType
from typing import Any

from aiohttp import web

from gridledger.exchange.sim.faults import FaultCounters
from gridledger.exchange.sim.matching import SimCore
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import SimTrade
from gridledger.testkit.local_binance.config import InjectionCounters, LocalBinanceConfig
from gridledger.testkit.local_binance.klines import KlineHistory
from gridledger.testkit.local_binance.rest import RestApi
from gridledger.testkit.local_binance.userstream import envelope
from gridledger.testkit.local_binance.venue import Venue
from gridledger.testkit.local_binance.wsapi import WsApi

_SHUTDOWN_TIMEOUT_S = 1.0
MALFORMED_JSON = '{"subscriptionId":0,"event":{"e":"executionReport","E":17'


class LocalBinance:
    """One local Binance spot venue; see the module docstring."""

    def __init__(self, config: LocalBinanceConfig | None = None) -> None:
        self.config = config if config is not None else LocalBinanceConfig()
        self.faults = FaultCounters()
        self.injected = InjectionCounters()
        self.venue = Venue(self.config, self.faults, self._notify)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._feed_task: asyncio.Task[None] | None = None
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        # The candle history GET /api/v3/klines serves (None: no history, an empty list).
        self.klines: KlineHistory | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> LocalBinance:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("server already started")
        app = web.Application()
        app.add_routes(
            [
                web.get("/ws-api/v3", WsApi(self.venue).handle),
                web.get("/stream/ws", self.venue.market.handle),
                web.get("/stream/ws/{tail:.*}", self.venue.market.handle),
            ]
        )
        app.add_routes(RestApi(self.venue, lambda: self.klines).routes())
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        if self.config.initial_price is not None:
            self.venue.apply_tick(Tick(self.venue.now_ms(), self.config.initial_price, self.config.tick_volume))
        if self.config.path is not None:
            self._feed_task = asyncio.get_running_loop().create_task(self._feed(), name="local-binance-feed")

    async def stop(self) -> None:
        """Stop serving: pending late answers are released, connections closed."""
        if self._runner is None:
            return
        venue = self.venue
        venue.closing.set()
        task, self._feed_task = self._feed_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        venue.user.close()
        peers = list(venue.ws_api_peers) + venue.market.peers
        await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)
        runner, self._runner = self._runner, None
        await runner.cleanup()
        for _, fut in self._waiters:
            if not fut.done():
                fut.set_exception(RuntimeError("server stopped"))
        self._waiters = []

    async def _feed(self) -> None:
        """Demo mode: play the configured path, one print every ``tick_interval_ms``."""
        assert self.config.path is not None
        for tick in self.config.path:
            await self.tick(tick)
            await asyncio.sleep(self.config.tick_interval_ms / 1000)

    # --- addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def http_url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.config.host}:{self.port}"

    # --- ground truth --------------------------------------------------------------------------

    @property
    def core(self) -> SimCore:
        return self.venue.core

    def counters(self) -> dict[str, int]:
        """Everything injected so far: stream faults, late creates, hand-injected frames."""
        out = self.faults.as_dict()
        out.update({f"injected_{k}": v for k, v in self.injected.as_dict().items()})
        return out

    # --- the price -----------------------------------------------------------------------------

    async def tick(self, tick: Tick) -> list[SimTrade]:
        """Apply one print now; returns the fills. Resolves once the resulting frames
        (user events without latency, ticker updates) have been written to the sockets."""
        trades = self.venue.apply_tick(tick)
        await self.flushed()
        return trades

    async def set_price(self, price: Decimal | str | int, volume: Decimal | None = None) -> list[SimTrade]:
        """A print at ``price`` (volume ``tick_volume`` unless given), stamped now."""
        vol = volume if volume is not None else self.config.tick_volume
        return await self.tick(Tick(self.venue.now_ms(), Decimal(price), vol))

    async def flushed(self) -> None:
        """Wait until every frame queued so far has been written to its socket."""
        peers = list(self.venue.ws_api_peers) + self.venue.market.peers
        await asyncio.gather(*(p.flushed() for p in peers))

    def flush_user_stream(self) -> None:
        """Release a partly filled reorder window now (instead of after reorder_hold_ms)."""
        self.venue.user.flush()

    # --- REST faults ---------------------------------------------------------------------------

    def arm_create_delay(self, delay_ms: int, count: int = 1) -> None:
        """The next ``count`` creates are placed at once but answered ``delay_ms`` later."""
        self.venue.arm_create_delay(delay_ms, count)

    # --- bad frames on the user stream ---------------------------------------------------------

    def inject_raw(self, text: str) -> int:
        """Send ``text`` as-is on every subscribed user-stream connection; returns how many."""
        self.injected.raw += 1
        return self.venue.user.inject(lambda _sid: text)

    def inject_event(self, event: dict[str, Any]) -> int:
        """Send ``event`` in the WebSocket-API envelope, bypassing faults and latency."""
        return self.venue.user.inject(lambda sid: envelope(sid, event))

    def inject_malformed_json(self, text: str = MALFORMED_JSON) -> int:
        """A truncated JSON frame (starts like an event, cut mid-number)."""
        self.injected.malformed_json += 1
        return self.venue.user.inject(lambda _sid: text)

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

    # --- waiting for clients -------------------------------------------------------------------

    async def wait_user_subscribers(self, n: int = 1, timeout: float = 5.0) -> None:
        """Until at least ``n`` connections are subscribed to the user data stream."""
        await self._wait(lambda: self.venue.user.subscriber_count >= n, timeout)

    async def wait_market_subscribers(self, stream: str, n: int = 1, timeout: float = 5.0) -> None:
        """Until at least ``n`` connections are subscribed to ``stream`` (``btcusdt@ticker``)."""
        await self._wait(lambda: self.venue.market.count(stream) >= n, timeout)

    async def _wait(self, predicate: Callable[[], bool], timeout: float) -> None:
        if predicate():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, fut))
        await asyncio.wait_for(fut, timeout)

    def _notify(self) -> None:
        keep = []
        for predicate, fut in self._waiters:
            if fut.done():
                continue
            if predicate():
                fut.set_result(None)
            else:
                keep.append((predicate, fut))
        self._waiters = keep


__all__ = ["MALFORMED_JSON", "LocalBinance"]
