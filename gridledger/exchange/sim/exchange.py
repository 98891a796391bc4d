"""SimExchange: the simulated venue behind a ccxt-shaped async API (:class:`ExchangePort`).

It runs the synchronous :class:`SimCore` against a price path in (preferably virtual) time:
a background task applies ticks at their timestamps, REST calls take ``rest_latency_ms``
(half on the way in, half on the way out, so an answer is the truth as of when it was
served), and private-stream messages arrive ``stream_latency_ms`` after they happened,
through a :class:`FaultyStream`.

What it returns is what ccxt's ``binance`` class would return for the same Binance payloads,
because the unified structures are built by ccxt's own offline parsers (``parse_order``,
``parse_trade``, ``parse_ws_order``, ``parse_ws_trade``, ``parse_ticker``,
``parse_balance_custom``) on an instance with ``number = str`` and the simulated market
injected; ``info`` holds the raw Binance payload (REST JSON for create/cancel/fetch,
``executionReport`` for the watch methods). Amounts and prices go through ccxt's
``amount_to_precision`` (truncation) and ``price_to_precision`` (rounding) first, as
``ccxt.binance.create_order`` does.

Stream semantics: the private stream is subscribed by the first ``watch_orders`` /
``watch_my_trades`` call (events before that are never received, as with ccxt). Both
methods read the same connection; each returns the updates delivered since its previous
call, and blocks until there is at least one. ``watch_orders`` returns one order structure
per ``executionReport`` (no merging across updates, unlike ccxt's order cache, so duplicates
and stale updates reach the caller as they arrived).

When the price path ends, :attr:`SimExchange.path_done` is set and watch calls that have
nothing left to deliver raise :class:`PathExhausted` (deliberately not a ccxt error, so a
retry loop for network errors does not swallow the end of the data).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal, cast

import ccxt
import ccxt.pro

from gridledger.domain.numbers import to_decimal
from gridledger.exchange.sim import binance_format as bf
from gridledger.exchange.sim.clock import VirtualTimeLoop
from gridledger.exchange.sim.faults import FaultCounters, FaultyStream, StreamFaults
from gridledger.exchange.sim.matching import (
    BadRequest,
    DuplicateOrder,
    DuplicateScope,
    FilterFailure,
    InsufficientBalance,
    SimCore,
    SimEvent,
    SimMarketSpec,
    SimOrderError,
    UnknownOrder,
    WouldTake,
)
from gridledger.exchange.sim.prices import SyntheticPath, Tick

_MY_TRADES_DEFAULT_LIMIT = 500
_MY_TRADES_MAX_LIMIT = 1000
# Virtual-clock tolerance when comparing float loop times (the loop's clock resolution).
_EPS_S = 1e-6


class PathExhausted(Exception):
    """The price path has no more ticks, so nothing more can happen on the venue."""


@dataclass(frozen=True, slots=True)
class SyntheticParams:
    """Parameters of the default :class:`SyntheticPath` (see its units); the path's seed is
    ``SimConfig.seed``, its price step the market's, its start the clock when trading starts."""

    start_price: Decimal = Decimal("30000")
    tick_ms: int = 1000
    volatility: float = 0.5
    mean_reversion: float = 0.0
    jump_probability: float = 0.0
    jump_scale: float = 0.0
    volume_mean: Decimal = Decimal("1")


def _default_balances() -> dict[str, Decimal]:
    return {"USDT": Decimal("10000"), "BTC": Decimal("0")}


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything a simulated venue needs.

    - ``path``: ticks to replay (any iterable of :class:`Tick`, e.g. ``CsvCandlesPath``) or
      :class:`SyntheticParams` for a synthetic path.
    - ``rest_latency_ms``: round trip of a REST call; the request is served after half of it.
    - ``stream_latency_ms``: delay between a venue event and its arrival on the stream.
    - ``create_timeout_p``: probability that ``create_order`` places the order and then
      raises ``ccxt.RequestTimeout`` after ``request_timeout_ms``.
    - ``rest_error_p``: probability that a ``fetch_*`` call raises ``ccxt.NetworkError``
      without being served.
    - ``seed``: seeds the synthetic path, generated client ids and the REST faults (the
      stream faults have their own seed in ``stream_faults``).
    - ``start_ms``: clock origin when running on an ordinary (real-time) event loop; on a
      :class:`VirtualTimeLoop` the loop's ``start_ms`` is used.
    """

    spec: SimMarketSpec = field(default_factory=SimMarketSpec)
    balances: Mapping[str, Decimal] = field(default_factory=_default_balances)
    path: Iterable[Tick] | SyntheticParams = field(default_factory=SyntheticParams)
    stream_faults: StreamFaults = field(default_factory=StreamFaults)
    rest_latency_ms: int = 0
    stream_latency_ms: int = 0
    create_timeout_p: float = 0.0
    rest_error_p: float = 0.0
    request_timeout_ms: int = 10_000
    seed: int = 0
    start_ms: int = 0
    duplicate_scope: DuplicateScope = "open"

    def __post_init__(self) -> None:
        for name in ("rest_latency_ms", "stream_latency_ms", "request_timeout_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in ("create_timeout_p", "rest_error_p"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1]")


def _make_parser(spec: SimMarketSpec) -> Any:
    """An offline ccxt.pro binance instance that knows only the simulated market."""
    parser = ccxt.pro.binance({"enableRateLimit": False})
    parser.number = str
    # parse_market consults margin pair lists that load_markets would have fetched.
    parser.options["crossMarginPairsData"] = []
    parser.options["isolatedMarginPairsData"] = []
    market = parser.parse_market(bf.exchange_info_symbol(spec))
    market["maker"] = str(spec.maker_fee)
    market["taker"] = str(spec.taker_fee)
    parser.set_markets([market])
    return parser


_Kind = Literal["orders", "trades"]


class SimExchange:
    """A simulated Binance-like spot venue with ccxt's async unified API."""

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
        self._parser = _make_parser(spec)
        self.markets: dict[str, Any] = self._parser.markets
        self.symbols: list[str] = list(self.markets)
        self._market: dict[str, Any] = self.markets[spec.symbol]
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

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> SimExchange:
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
        if tick.ts_ms < self.core.now_ms:
            tick = replace(tick, ts_ms=self.core.now_ms)  # late data: trade it now
        self.core.on_tick(tick)
        self._dispatch()
        if self._ticker_waiters:
            ticker = self._parser.parse_ws_ticker(bf.ws_ticker_24hr(self.core.ticker_stats()), "spot")
            waiters, self._ticker_waiters = self._ticker_waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(dict(ticker))

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
            payload = event.payload
            if payload.get("e") != "executionReport":
                continue
            info = dict(payload)  # the caller may keep or mutate it; the truth stays intact
            if kind == "orders":
                out.append(self._parser.parse_ws_order(info))
            elif payload.get("x") == "TRADE":
                out.append(self._parser.parse_ws_trade(info))
        return out

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

    def _error(self, exc: SimOrderError) -> ccxt.BaseError:
        """Map a venue rejection the way ccxt's binance.handle_errors does."""
        message = f"{self.id} {json.dumps(exc.body(), separators=(',', ':'))}"
        if isinstance(exc, InsufficientBalance):
            return ccxt.InsufficientFunds(message)
        if isinstance(exc, WouldTake):
            return ccxt.OrderImmediatelyFillable(message)
        if isinstance(exc, DuplicateOrder):
            return ccxt.DuplicateOrderId(message)
        if isinstance(exc, FilterFailure):
            return ccxt.InvalidOrder(message)
        if isinstance(exc, UnknownOrder):
            return ccxt.OrderNotFound(message)
        if isinstance(exc, BadRequest):
            return ccxt.BadRequest(message)
        return ccxt.ExchangeError(message)

    @staticmethod
    def _client_id(params: Mapping[str, Any], *keys: str) -> str | None:
        for key in keys:
            value = params.get(key)
            if value is not None and value != "":
                return str(value)
        return None

    def _order_ref(self, id: Any, params: Mapping[str, Any]) -> int | str:
        client_id = self._client_id(params, "origClientOrderId", "clientOrderId")
        if client_id is not None:
            return client_id
        if id is None:
            raise ccxt.ArgumentsRequired(f"{self.id} requires an order id or params['clientOrderId']")
        try:
            return int(str(id))
        except ValueError:
            raise ccxt.BadRequest(
                f"{self.id} {json.dumps(bf.error_body(-1100, 'Illegal characters found in parameter orderId.'))}"
            ) from None

    # --- ExchangePort ----------------------------------------------------------------------------

    async def load_markets(self, reload: bool = False, params: dict[str, Any] = {}) -> dict[str, Any]:
        """Markets of the simulated venue (one spot market); served after REST latency."""
        self._ensure_started()
        await self._sleep_ms(self.config.rest_latency_ms)
        return self.markets

    def exchange_info(self) -> dict[str, Any]:
        """The raw ``GET /api/v3/exchangeInfo`` JSON (for an HTTP front end)."""
        return bf.exchange_info(self.config.spec, self.core.now_ms)

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] = {}) -> dict[str, Any]:
        """``GET /api/v3/ticker/24hr`` parsed by ccxt (``info`` is the Binance JSON)."""
        market = self._check_symbol(symbol)
        await self._fetch_fault("/api/v3/ticker/24hr")
        try:
            response = bf.ticker_24hr(self.core.ticker_stats())
        except SimOrderError as exc:
            raise self._error(exc) from None
        await self._sleep_ms(self._response_ms())
        return cast(dict[str, Any], self._parser.parse_ticker(response, market))

    async def watch_ticker(self, symbol: str, params: dict[str, Any] = {}) -> dict[str, Any]:
        """The ticker of the next tick (``24hrTicker`` event parsed by ccxt.pro)."""
        self._check_symbol(symbol)
        self._ensure_started()
        self._raise_if_feed_failed()
        if self.path_done.is_set():
            raise PathExhausted("the price path has no more ticks")
        assert self._loop is not None
        fut: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._ticker_waiters.append(fut)
        return await fut

    async def create_order(
        self,
        symbol: str,
        type: str,
        side: str,
        amount: Any,
        price: Any = None,
        params: dict[str, Any] = {},
    ) -> dict[str, Any]:
        """Place an order (POST /api/v3/order, FULL response); see the module doc for faults.

        ``params``: ``clientOrderId`` / ``newClientOrderId``, ``postOnly``,
        ``timeInForce="PO"``; type ``"LIMIT_MAKER"`` is post-only too.
        """
        market = self._check_symbol(symbol)
        self._ensure_started()
        kind = str(type).lower()
        post_only = bool(params.get("postOnly")) or params.get("timeInForce") == "PO" or kind == "limit_maker"
        if kind == "limit_maker":
            kind = "limit"
        if kind == "market" and post_only:
            raise ccxt.InvalidOrder(f"{self.id} createOrder() does not support postOnly market orders")
        client_id = self._client_id(params, "clientOrderId", "newClientOrderId")
        amount_text = self._parser.amount_to_precision(symbol, str(to_decimal(amount, "amount")))
        price_dec: Decimal | None = None
        if kind != "market" and price is not None:
            price_dec = to_decimal(self._parser.price_to_precision(symbol, str(to_decimal(price, "price"))), "price")
        await self._sleep_ms(self._request_ms())
        now = self.now_ms()
        try:
            order = self.core.place(client_id, side, kind, to_decimal(amount_text, "amount"), price_dec, post_only, now)
        except SimOrderError as exc:
            await self._sleep_ms(self._response_ms())
            raise self._error(exc) from None
        finally:
            self._dispatch()
        response = bf.order_full(order, self.core.trades_of(order.order_id), now)
        p = self.config.create_timeout_p
        if p and self._timeout_rng.random() < p:
            self.faults.create_timeouts += 1
            await self._sleep_ms(max(0, self.config.request_timeout_ms - self._request_ms()))
            raise ccxt.RequestTimeout(f"{self.id} POST /api/v3/order request timeout (simulated)")
        await self._sleep_ms(self._response_ms())
        return cast(dict[str, Any], self._parser.parse_order(response, market))

    async def cancel_order(
        self, id: str | None, symbol: str | None = None, params: dict[str, Any] = {}
    ) -> dict[str, Any]:
        """DELETE /api/v3/order by id or ``params["clientOrderId"]`` (``newClientOrderId``
        names the cancel request). The ccxt structure's ``clientOrderId`` is the cancel
        request's id, as with real Binance; ``info.origClientOrderId`` is the order's."""
        market = self._market if symbol is None else self._check_symbol(symbol)
        self._ensure_started()
        ref = self._order_ref(id, params)
        cancel_id = self._client_id(params, "newClientOrderId")
        await self._sleep_ms(self._request_ms())
        now = self.now_ms()
        try:
            order = self.core.cancel(ref, now, cancel_id)
        except SimOrderError as exc:
            await self._sleep_ms(self._response_ms())
            raise self._error(exc) from None
        finally:
            self._dispatch()
        response = bf.order_cancel(order, now)
        await self._sleep_ms(self._response_ms())
        return cast(dict[str, Any], self._parser.parse_order(response, market))

    async def fetch_order(
        self, id: str | None, symbol: str | None = None, params: dict[str, Any] = {}
    ) -> dict[str, Any]:
        """GET /api/v3/order by id, or by ``params["clientOrderId"]`` (id may be None)."""
        market = self._market if symbol is None else self._check_symbol(symbol)
        ref = self._order_ref(id, params)
        await self._fetch_fault("/api/v3/order")
        try:
            response = bf.order_query(self.core.get_order(ref))
        except SimOrderError as exc:
            await self._sleep_ms(self._response_ms())
            raise self._error(exc) from None
        await self._sleep_ms(self._response_ms())
        return cast(dict[str, Any], self._parser.parse_order(response, market))

    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[dict[str, Any]]:
        """GET /api/v3/openOrders, oldest first."""
        market = self._market if symbol is None else self._check_symbol(symbol)
        await self._fetch_fault("/api/v3/openOrders")
        response = [bf.open_order_row(o) for o in self.core.open_orders()]
        await self._sleep_ms(self._response_ms())
        return cast(list[dict[str, Any]], self._parser.parse_orders(response, market, since, limit))

    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[dict[str, Any]]:
        """GET /api/v3/myTrades with Binance's selection rules, oldest first.

        ``params["fromId"]``: trades with id >= fromId; ``since`` (startTime) and
        ``params["until"]``/``params["endTime"]``: a time range, oldest first; neither: the
        most recent trades. ``params["orderId"]`` restricts to one order. ``limit`` defaults
        to 500, at most 1000.
        """
        market = self._market if symbol is None else self._check_symbol(symbol)
        await self._fetch_fault("/api/v3/myTrades")
        count = min(limit or _MY_TRADES_DEFAULT_LIMIT, _MY_TRADES_MAX_LIMIT)
        rows = self.core.trades
        order_id = params.get("orderId")
        if order_id is not None:
            rows = [t for t in rows if t.order_id == int(order_id)]
        until = params.get("until", params.get("endTime"))
        from_id = params.get("fromId")
        if from_id is not None:
            rows = [t for t in rows if t.trade_id >= int(from_id)][:count]
        elif since is not None or until is not None:
            rows = [
                t for t in rows if (since is None or t.ts_ms >= since) and (until is None or t.ts_ms <= int(until))
            ][:count]
        else:
            rows = rows[-count:]
        response = [bf.my_trade_row(t) for t in rows]
        await self._sleep_ms(self._response_ms())
        return cast(list[dict[str, Any]], self._parser.parse_trades(response, market, since, limit))

    async def fetch_balance(self, params: dict[str, Any] = {}) -> dict[str, Any]:
        """GET /api/v3/account parsed by ccxt's spot balance parser."""
        await self._fetch_fault("/api/v3/account")
        response = bf.account(self.config.spec, self.core.balances(), self.core.now_ms)
        await self._sleep_ms(self._response_ms())
        return cast(dict[str, Any], self._parser.parse_balance_custom(response, "spot"))

    async def watch_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[dict[str, Any]]:
        """Order updates (one per executionReport) delivered since the previous call."""
        return await self._watch("orders", symbol, since, limit)

    async def watch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[dict[str, Any]]:
        """Trades (TRADE executionReports) delivered since the previous call."""
        return await self._watch("trades", symbol, since, limit)
