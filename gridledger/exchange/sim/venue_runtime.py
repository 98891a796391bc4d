"""The simulated venue in time: the price feed, private-stream delivery and REST latency.

:class:`SimVenueRuntime` runs the synchronous :class:`SimCore` against the price path on the
event loop (preferably a virtual-time one) and carries its events down a
:class:`FaultyStream`; :class:`~gridledger.exchange.sim.exchange.SimExchange` puts the
ccxt-shaped API on top. See that module for the semantics.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any, Literal, Self, cast

import ccxt
import ccxt.pro

from gridledger.exchange.sim import binance_market as bm
from gridledger.exchange.sim.clock import VirtualTimeLoop
from gridledger.exchange.sim.faults import FaultCounters, FaultyStream
from gridledger.exchange.sim.matching import SimCore
from gridledger.exchange.sim.prices import SyntheticPath, Tick
from gridledger.exchange.sim.ticker_fast import TickerBuilder
from gridledger.exchange.sim.values import SimEvent, SimMarketSpec
from gridledger.exchange.sim.venue_config import PathExhausted, SimConfig, SyntheticParams

# Virtual-clock tolerance when comparing float loop times (the loop's clock resolution).
_EPS_S = 1e-6


def _make_parser(spec: SimMarketSpec) -> Any:
    """An offline ccxt.pro binance instance that knows only the simulated market."""
    parser = ccxt.pro.binance({"enableRateLimit": False})
    parser.number = str
    # parse_market consults margin pair lists that load_markets would have fetched.
    parser.options["crossMarginPairsData"] = []
    parser.options["isolatedMarginPairsData"] = []
    market = parser.parse_market(bm.exchange_info_symbol(spec))
    market["maker"] = str(spec.maker_fee)
    market["taker"] = str(spec.taker_fee)
    parser.set_markets([market])
    return parser


_Kind = Literal["orders", "trades"]


class SimVenueRuntime:
    """The core, its price feed and its private stream, served with latency and faults."""

    id = "sim"

    def __init__(self, config: SimConfig | None = None, core: SimCore | None = None) -> None:
        """``core``: a core restored by the caller (a venue resumed from its command log);
        the events it already emitted are history and are not sent down the stream."""
        self.config = config if config is not None else SimConfig()
        spec = self.config.spec
        self.core = (
            core
            if core is not None
            else SimCore(
                spec,
                self.config.balances,
                self.config.start_ms,
                seed=self.config.seed,
                duplicate_scope=self.config.duplicate_scope,
            )
        )
        self.faults = FaultCounters()
        self.stream: FaultyStream[SimEvent] = FaultyStream(
            self.config.stream_faults, self.faults, connected=False, listener=self._wake_watchers
        )
        self._parser = self._new_parser(spec)
        self.markets: dict[str, Any] = self._parser.markets
        self.symbols: list[str] = list(self.markets)
        self._market: dict[str, Any] = self.markets[spec.symbol]
        self._ticker_builder = TickerBuilder(self._parser, self._market)
        self._timeout_rng = random.Random(f"{self.config.seed}:create-timeout")
        self._error_rng = random.Random(f"{self.config.seed}:rest-error")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._t0: float | None = None
        self._started = False
        self._closed = False
        self._ticks: Iterator[Tick] = iter(())
        self._next_tick: Tick | None = None
        self._feed_task: asyncio.Task[None] | None = None
        self._dispatched = len(self.core.events)
        self._inflight: deque[tuple[float, SimEvent]] = deque()
        self._drain_handle: asyncio.TimerHandle | None = None
        self._flush_handle: asyncio.TimerHandle | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._ticker_waiters: list[asyncio.Future[dict[str, Any]]] = []
        self._cursors: dict[_Kind, int] = {"orders": 0, "trades": 0}
        self.path_done = asyncio.Event()

    def _new_parser(self, spec: SimMarketSpec) -> Any:
        """The offline ccxt instance that parses this venue's payloads; the perpetual venue
        (:mod:`.perp_exchange`) overrides it with a ``binanceusdm`` one."""
        return _make_parser(spec)

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        self._ensure_started()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Start the price feed now (otherwise the first API call starts it)."""
        self._ensure_started()

    async def close(self) -> None:
        self._closed = True
        for handle in (self._drain_handle, self._flush_handle):
            if handle is not None:
                handle.cancel()
        task, self._feed_task = self._feed_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._fail_ticker_waiters(ccxt.ExchangeClosedByUser(f"{self.id} connection closed by the user"))
        self._wake_watchers()

    def now_ms(self) -> int:
        """The venue's clock: the virtual clock on a VirtualTimeLoop, else loop time."""
        loop = asyncio.get_running_loop()
        if isinstance(loop, VirtualTimeLoop):
            return loop.now_ms()
        if self._t0 is None:
            self._t0 = loop.time()
        return self.config.start_ms + round((loop.time() - self._t0) * 1000)

    def _ensure_started(self) -> None:
        if self._closed:
            raise ccxt.ExchangeClosedByUser(f"{self.id} connection closed by the user")
        if self._started:
            return
        self._started = True
        self._loop = asyncio.get_running_loop()
        now = self.now_ms()
        self.core.now_ms = max(self.core.now_ms, now)
        path = self.config.path
        if isinstance(path, SyntheticParams):
            path = SyntheticPath(
                seed=self.config.seed,
                start_price=path.start_price,
                price_step=self.config.spec.price_step,
                tick_ms=path.tick_ms,
                volatility=path.volatility,
                mean_reversion=path.mean_reversion,
                jump_probability=path.jump_probability,
                jump_scale=path.jump_scale,
                volume_mean=path.volume_mean,
                start_ms=now,
            )
        self._ticks = iter(path)
        self._next_tick = next(self._ticks, None)
        if self._next_tick is not None and self._next_tick.ts_ms < now:
            self._started = False
            raise ValueError(
                f"the price path starts at {self._next_tick.ts_ms}, before the venue clock {now}: "
                "start the virtual loop at the path's first timestamp (run_virtual(..., start_ms=...))"
            )
        # A tick due now is applied at once, so the very first request sees a price.
        while self._next_tick is not None and self._next_tick.ts_ms <= now:
            self._apply(self._next_tick)
            self._next_tick = next(self._ticks, None)
        self._feed_task = self._loop.create_task(self._feed(), name="sim-price-feed")

    async def _feed(self) -> None:
        try:
            while self._next_tick is not None:
                tick = self._next_tick
                delay_ms = tick.ts_ms - self.now_ms()
                if delay_ms > 0:
                    await asyncio.sleep(delay_ms / 1000)
                self._apply(tick)
                self._next_tick = next(self._ticks, None)
        except Exception as exc:
            # Waiters must not sleep forever on a venue that stopped; they re-raise this.
            self._fail_ticker_waiters(RuntimeError(f"the simulated price feed failed: {exc!r}"))
            self._wake_watchers()
            raise
        self.path_done.set()
        self._fail_ticker_waiters(PathExhausted("the price path has no more ticks"))
        self._wake_watchers()

    def _fail_ticker_waiters(self, error: BaseException) -> None:
        waiters, self._ticker_waiters = self._ticker_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_exception(error)

    def _raise_if_feed_failed(self) -> None:
        task = self._feed_task
        if task is not None and task.done() and not task.cancelled() and task.exception() is not None:
            raise RuntimeError("the simulated price feed failed") from task.exception()

    def _apply(self, tick: Tick) -> None:
        """Trade one tick on the core, send its events and answer the ticker watchers."""
        if tick.ts_ms < self.core.now_ms:
            tick = replace(tick, ts_ms=self.core.now_ms)  # late data: trade it now
        self.core.on_tick(tick)
        self._dispatch()
        if self._ticker_waiters:
            ticker = self._ticker_now()
            waiters, self._ticker_waiters = self._ticker_waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(dict(ticker))

    def _ticker_now(self) -> Mapping[str, Any]:
        """The unified ticker as of now (each venue builds it from its own payload)."""
        raise NotImplementedError

    # --- stream plumbing -----------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Send the core's new events down the wire (they arrive after the stream latency)."""
        events = self.core.events
        if self._dispatched == len(events):
            return
        assert self._loop is not None
        due = self._loop.time() + self.config.stream_latency_ms / 1000
        for event in events[self._dispatched :]:
            self._inflight.append((due, event))
        self._dispatched = len(events)
        if self._drain_handle is None:
            self._drain_handle = self._loop.call_at(self._inflight[0][0], self._drain)

    def _drain(self) -> None:
        # One timer for the whole wire keeps delivery FIFO (equal-time timers are not).
        assert self._loop is not None
        self._drain_handle = None
        now = self._loop.time()
        while self._inflight and self._inflight[0][0] <= now + _EPS_S:
            self.stream.push(self._inflight.popleft()[1])
        if self._inflight:
            self._drain_handle = self._loop.call_at(self._inflight[0][0], self._drain)
        if self.stream.buffered and self._flush_handle is None:
            hold = self.config.stream_faults.reorder_hold_ms / 1000
            self._flush_handle = self._loop.call_later(hold, self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        self.stream.flush()

    def _wake_watchers(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def _take(self, kind: _Kind) -> list[dict[str, Any]]:
        log = self.stream.log
        start = self._cursors[kind]
        self._cursors[kind] = len(log)
        out: list[dict[str, Any]] = []
        for event in log[start:]:
            item = self._stream_item(kind, event.payload)
            if item is not None:
                out.append(item)
        return out

    def _stream_item(self, kind: _Kind, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        """One ``executionReport`` as ccxt.pro parses it (None: not an update of ``kind``)."""
        if payload.get("e") != "executionReport":
            return None
        info = dict(payload)  # the caller may keep or mutate it; the truth stays intact
        if kind == "orders":
            return cast(dict[str, Any], self._parser.parse_ws_order(info))
        if payload.get("x") == "TRADE":
            return cast(dict[str, Any], self._parser.parse_ws_trade(info))
        return None

    async def _watch(
        self, kind: _Kind, symbol: str | None, since: int | None, limit: int | None
    ) -> list[dict[str, Any]]:
        if symbol is not None:
            self._check_symbol(symbol)
        self._ensure_started()
        stream = self.stream
        if not stream.connected:
            stream.connect()
        epoch = stream.epoch
        while True:
            if self._closed:
                raise ccxt.ExchangeClosedByUser(f"{self.id} connection closed by the user")
            if stream.epoch != epoch:
                raise ccxt.NetworkError(f"{self.id} private stream disconnected")
            self._raise_if_feed_failed()
            items = self._take(kind)
            if since is not None:
                items = [i for i in items if i.get("timestamp") is None or i["timestamp"] >= since]
            if limit is not None:
                items = items[-limit:]
            if items:
                return items
            if self.path_done.is_set() and not self._inflight and not stream.buffered:
                raise PathExhausted("the price path has no more ticks and nothing is in flight")
            assert self._loop is not None
            fut: asyncio.Future[None] = self._loop.create_future()
            self._waiters.append(fut)
            await fut

    # --- REST plumbing -------------------------------------------------------------------------

    def _check_symbol(self, symbol: str) -> dict[str, Any]:
        if symbol not in self.markets:
            raise ccxt.BadSymbol(f"{self.id} does not have market symbol {symbol}")
        return self._market

    async def _sleep_ms(self, ms: int) -> None:
        await asyncio.sleep(ms / 1000 if ms > 0 else 0)

    def _request_ms(self) -> int:
        return self.config.rest_latency_ms // 2

    def _response_ms(self) -> int:
        return self.config.rest_latency_ms - self.config.rest_latency_ms // 2

    async def _fetch_fault(self, what: str) -> None:
        """Travel to the venue; maybe fail on the way (the request has no effect then)."""
        self._ensure_started()
        await self._sleep_ms(self._request_ms())
        p = self.config.rest_error_p
        if p and self._error_rng.random() < p:
            self.faults.rest_errors += 1
            await self._sleep_ms(self._response_ms())
            raise ccxt.NetworkError(f"{self.id} GET {what} failed: connection reset by peer (simulated)")
