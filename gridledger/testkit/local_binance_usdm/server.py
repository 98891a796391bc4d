"""LocalBinanceUsdm: a Binance USDⓈ-M futures look-alike on 127.0.0.1 for ccxt's ``binanceusdm``.

    async with LocalBinanceUsdm(LocalBinanceUsdmConfig()) as server:
        exchange = build_usdm_client(server)     # client.py: ccxt.pro.binanceusdm -> here
        ...
        await server.set_price(Decimal("29900"))  # manual mode: the price moves only here
        await server.settle_funding(Decimal("0.0001"))  # a funding payment, now
        await exchange.close()

For ``gridledger live``: ``[exchange] id = "binanceusdm"``, ``endpoint = server.http_url``
(``gridledger.live.endpoint`` maps the USDⓈ-M stream base to ``/ws``), and the server's
``api_key`` / ``secret`` in the environment variables the config names.

It runs in the caller's event loop (aiohttp), wraps one simulated linear perpetual
(``server.venue``; ``server.core`` is the ground truth) and serves:

- ``/fapi/v1|v2|v3/...`` REST (:mod:`.rest`); SIGNED requests are checked like Binance's
  (HMAC-SHA256, API key, timestamp window); listen keys (:mod:`.listenkeys`) need the key only;
- ``/private/ws?listenKey=K`` (and the older ``/ws/K``): the user data stream
  (``ORDER_TRADE_UPDATE``, ``TRADE_LITE``, ``ACCOUNT_UPDATE`` with reasons ``ORDER`` and
  ``FUNDING_FEE``, ``listenKeyExpired``), :mod:`.userstream`;
- ``/market/ws[/streams]`` and ``/public/ws[/streams]``: market streams (:mod:`.market`).
  The paths never contain ``/stream``: ccxt takes such a URL for spot.

Faults (see :class:`LocalBinanceUsdmConfig`): user-stream duplicates / reordering /
disconnects / replays and latency, a drop on demand (``drop_user_stream``), late answers to
creates, HTTP status faults and random REST errors, injected frames (``inject_event``,
``inject_raw``, ``inject_malformed_json``, ``inject_unknown_fields``,
``inject_other_symbol``), and a listen key expired on demand (``expire_listen_key``).
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
from gridledger.exchange.sim.prices import Tick
from gridledger.testkit.local_binance.config import InjectionCounters
from gridledger.testkit.local_binance.klines import KlineHistory
from gridledger.testkit.local_binance.peer import dumps
from gridledger.testkit.local_binance_usdm.config import LocalBinanceUsdmConfig
from gridledger.testkit.local_binance_usdm.rest import UsdmRestApi
from gridledger.testkit.local_binance_usdm.venue import UsdmVenue

_SHUTDOWN_TIMEOUT_S = 1.0
MALFORMED_JSON = '{"e":"ORDER_TRADE_UPDATE","E":17'


class LocalBinanceUsdm:
    """One local Binance USDⓈ-M venue; see the module docstring."""

    def __init__(self, config: LocalBinanceUsdmConfig | None = None) -> None:
        self.config = config if config is not None else LocalBinanceUsdmConfig()
        self.faults = FaultCounters()
        self.injected = InjectionCounters()
        self.venue = UsdmVenue(self.config, self.faults, self._notify)
        self.klines: KlineHistory | None = None
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._feed_task: asyncio.Task[None] | None = None
        self._beat_task: asyncio.Task[None] | None = None
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> LocalBinanceUsdm:
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
        rest = UsdmRestApi(self.venue, lambda: self.klines)
        app.add_routes(
            [
                web.get("/private/ws", self._private),
                web.get("/ws/{key}", self._private),
                web.get("/market/ws", self._market),
                web.get("/market/ws/{tail:.*}", self._market),
                web.get("/public/ws", self._market),
                web.get("/public/ws/{tail:.*}", self._market),
            ]
        )
        app.add_routes(rest.routes())
        app.add_routes([web.route("*", "/{tail:.*}", rest.not_found)])
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        site = web.TCPSite(runner, self.config.host, self.config.port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        if self.config.initial_price is not None:
            self.venue.apply_tick(Tick(self.venue.now_ms(), self.config.initial_price, self.config.tick_volume))
        if self.config.path is not None:
            self._feed_task = asyncio.get_running_loop().create_task(self._feed(), name="local-usdm-feed")
        if self.config.ticker_every_ms:
            self._beat_task = asyncio.get_running_loop().create_task(self._beat(), name="local-usdm-ticker")

    async def stop(self) -> None:
        """Stop serving: pending late answers are released, connections closed."""
        if self._runner is None:
            return
        venue = self.venue
        venue.closing.set()
        for task in (self._feed_task, self._beat_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._feed_task = self._beat_task = None
        venue.user.close()
        peers = list(venue.user_peers) + venue.market.peers
        await asyncio.gather(*(p.close() for p in peers), return_exceptions=True)
        runner, self._runner = self._runner, None
        await runner.cleanup()
        for _, fut in self._waiters:
            if not fut.done():
                fut.set_exception(RuntimeError("server stopped"))
        self._waiters = []

    async def _feed(self) -> None:
        assert self.config.path is not None
        for tick in self.config.path:
            await self.tick(tick)
            await asyncio.sleep(self.config.tick_interval_ms / 1000)

    async def _beat(self) -> None:
        """``ticker_every_ms``: the market streams again, at the last print's figures."""
        while True:
            await asyncio.sleep(self.config.ticker_every_ms / 1000)
            self.venue.publish_market()

    # --- WebSocket routes ----------------------------------------------------------------------

    async def _private(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info.get("key") or request.query.get("listenKey", "")
        venue = self.venue
        venue.expire_listen_key()
        if not venue.listen_keys.is_valid(key, venue.now_ms()):
            body = dumps({"code": -1125, "msg": "This listenKey does not exist."})
            return web.Response(text=body, status=400, content_type="application/json")
        return await venue.serve_user(request)

    async def _market(self, request: web.Request) -> web.StreamResponse:
        return await self.venue.market.handle(request, request.match_info.get("tail", ""))

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
    def core(self) -> Any:
        """The simulated perpetual (ground truth for audits)."""
        return self.venue.core

    def counters(self) -> dict[str, int]:
        """Everything injected so far: stream faults, late creates, REST errors."""
        out = self.faults.as_dict()
        out.update(self.venue.extra_counters())
        out.update({f"injected_{k}": v for k, v in self.injected.as_dict().items()})
        return out

    # --- the market ----------------------------------------------------------------------------

    async def tick(self, tick: Tick) -> list[Any]:
        """Apply one print now; returns the fills. Resolves once the resulting frames (user
        events without latency, market-stream updates) are written to the sockets."""
        trades = self.venue.apply_tick(tick)
        await self.flushed()
        return trades

    async def set_price(self, price: Decimal | str | int, volume: Decimal | None = None) -> list[Any]:
        """A print at ``price`` (volume ``tick_volume`` unless given), stamped now."""
        vol = volume if volume is not None else self.config.tick_volume
        return await self.tick(Tick(self.venue.now_ms(), Decimal(price), vol))

    async def settle_funding(self, rate: Decimal | str | None = None) -> Any:
        """One funding settlement now, at ``rate`` (default: the spec's next rate); returns the
        payment (None when the position is flat: nothing is paid, as on Binance)."""
        payment = self.venue.settle_funding(None if rate is None else Decimal(rate))
        await self.flushed()
        return payment

    async def flushed(self) -> None:
        """Wait until every frame queued so far has been written to its socket."""
        peers = list(self.venue.user_peers) + self.venue.market.peers
        await asyncio.gather(*(p.flushed() for p in peers))

    def flush_user_stream(self) -> None:
        """Release a partly filled reorder window now (instead of after reorder_hold_ms)."""
        self.venue.user.flush()

    # --- faults --------------------------------------------------------------------------------

    def arm_create_delay(self, delay_ms: int, count: int = 1) -> None:
        """The next ``count`` creates are placed at once but answered ``delay_ms`` later."""
        self.venue.arm_create_delay(delay_ms, count)

    def drop_user_stream(self) -> None:
        """Drop every user-stream connection now (a network failure; replay on reconnect)."""
        self.venue.user.stream.disconnect()

    def inject_event(self, event: dict[str, Any]) -> int:
        """Send ``event`` on every user-stream connection now, bypassing faults and latency."""
        return self.venue.user.inject_event(event)

    def inject_raw(self, text: str) -> int:
        """Send ``text`` as-is on every user-stream connection."""
        self.injected.raw += 1
        return self.venue.user.inject(lambda _sid: text)

    def inject_malformed_json(self, text: str = MALFORMED_JSON) -> int:
        """A truncated JSON frame (starts like an event, cut mid-number)."""
        self.injected.malformed_json += 1
        return self.venue.user.inject(lambda _sid: text)

    def inject_unknown_fields(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Re-send the latest ``ORDER_TRADE_UPDATE`` with fields Binance might add one day (in
        the event and in its ``o``). A copy of a real event: the engine also sees a duplicate.
        LookupError when there is none yet."""
        for event in reversed(self.core.events):
            if event.kind == "ORDER_TRADE_UPDATE":
                payload = copy.deepcopy(event.payload)
                break
        else:
            raise LookupError("no ORDER_TRADE_UPDATE yet to copy")
        fields = extra if extra is not None else {"zz": "new-field", "Xq": {"nested": [1, 2]}, "ξ": None}
        payload.update(fields)
        payload["o"].update(fields)
        self.injected.unknown_fields += 1
        self.inject_event(payload)
        return payload

    def inject_other_symbol(self, venue_id: str = "ETHUSDT", order_id: int = 900_000_001) -> dict[str, Any]:
        """A well-formed NEW ``ORDER_TRADE_UPDATE`` for a symbol this venue does not list."""
        now = self.venue.now_ms()
        payload: dict[str, Any] = {
            "e": "ORDER_TRADE_UPDATE",
            "E": now,
            "T": now,
            "o": {
                "s": venue_id,
                "c": "other-symbol-order",
                "S": "BUY",
                "o": "LIMIT",
                "f": "GTC",
                "q": "1",
                "p": "1000",
                "ap": "0",
                "sp": "0",
                "x": "NEW",
                "X": "NEW",
                "i": order_id,
                "l": "0",
                "z": "0",
                "L": "0",
                "T": now,
                "t": 0,
                "b": "1000",
                "a": "0",
                "m": False,
                "R": False,
                "wt": "CONTRACT_PRICE",
                "ot": "LIMIT",
                "ps": "BOTH",
                "cp": False,
                "rp": "0",
                "pP": False,
                "si": 0,
                "ss": 0,
                "V": "EXPIRE_MAKER",
                "pm": "NONE",
                "gtd": 0,
            },
        }
        self.injected.other_symbol += 1
        self.inject_event(payload)
        return payload

    async def expire_listen_key(self) -> int:
        """The listen key runs out now: ``listenKeyExpired`` on its connections, which close
        (the futures counterpart of the spot server's ``terminate_user_stream``)."""
        self.injected.stream_terminated += 1
        count = self.venue.expire_listen_key(force=True)
        await self.flushed()
        return count

    # --- waiting for clients -------------------------------------------------------------------

    async def wait_user_subscribers(self, n: int = 1, timeout: float = 5.0) -> None:
        """Until at least ``n`` connections are on the user data stream."""
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


__all__ = ["MALFORMED_JSON", "LocalBinanceUsdm"]
