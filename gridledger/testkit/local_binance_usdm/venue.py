"""The state every route shares: the simulated perpetual, its clock, listen keys, streams.

The wire documents come from :mod:`gridledger.exchange.sim.binance_usdm_format` (the same
renderers the simulated exchange parses with ccxt), so the server and the paper venue agree
on every payload. Time: the venue runs on the wall clock, because ccxt signs requests with
its own wall clock and Binance checks them against the server's (``recvWindow``); a print is
applied at ``max(tick.ts_ms, core clock, wall clock)``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from aiohttp import web

from gridledger.exchange.sim import binance_usdm_format as uf
from gridledger.exchange.sim.binance_format import fmt8
from gridledger.exchange.sim.errors import SimOrderError
from gridledger.exchange.sim.faults import FaultCounters
from gridledger.exchange.sim.perp_values import FundingPayment
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import SimOrder, SimTrade, TickerStats
from gridledger.testkit.local_binance.auth import Credentials
from gridledger.testkit.local_binance.create_delay import CreateDelays
from gridledger.testkit.local_binance.errors import ApiError
from gridledger.testkit.local_binance.peer import WsPeer
from gridledger.testkit.local_binance_usdm.config import LocalBinanceUsdmConfig
from gridledger.testkit.local_binance_usdm.listenkeys import ListenKeys
from gridledger.testkit.local_binance_usdm.market import UsdmMarketHub
from gridledger.testkit.local_binance_usdm.server_core import ServerPerpCore
from gridledger.testkit.local_binance_usdm.userstream import UsdmUserStream

Json = Any
# Income ids of the per-trade rows, apart from the funding payments' own ids (1, 2, ...).
_COMMISSION_TRAN_BASE = 2_000_000_000
_REALIZED_TRAN_BASE = 3_000_000_000


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A validated ``POST /fapi/v1/order``."""

    client_order_id: str | None
    side: str  # BUY | SELL
    type: str  # LIMIT | MARKET
    quantity: Decimal
    price: Decimal | None
    time_in_force: str  # GTC | IOC | GTX
    reduce_only: bool


class UsdmVenue:
    """ServerPerpCore + clock + listen keys + user stream + market streams, wired together."""

    def __init__(
        self,
        config: LocalBinanceUsdmConfig,
        counters: FaultCounters,
        on_change: Callable[[], None],
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.config = config
        self.spec = config.spec
        self.venue_id = config.spec.venue_id
        self.creds = Credentials(config.api_key, config.secret)
        self.counters = counters
        self.clock = clock
        self.core = ServerPerpCore(
            config.spec, config.balances, clock(), seed=config.seed, auto_funding=config.auto_funding
        )
        self.listen_keys = ListenKeys(config.listen_key_ttl_ms)
        self.user = UsdmUserStream(
            config.stream_faults,
            counters,
            config.stream_latency_ms,
            on_change,
            abort_on_disconnect=config.disconnect_mode == "abort",
        )
        self.market = UsdmMarketHub(on_change)
        self.user_peers: set[WsPeer] = set()
        self.closing = asyncio.Event()
        self._dispatched = 0
        self._delays = CreateDelays(config, self.closing)
        self._error_rng = random.Random(config.rest_error_seed)
        self._book_update_id = 0

    def now_ms(self) -> int:
        return self.clock()

    @property
    def dual_side(self) -> bool:
        return self.core.dual_side

    def extra_counters(self) -> dict[str, int]:
        keys = self.listen_keys
        return {
            "listen_keys_created": keys.created,
            "listen_keys_kept_alive": keys.kept_alive,
            "listen_keys_deleted": keys.deleted,
            "listen_keys_expired": keys.expired,
        }

    # --- events ----------------------------------------------------------------------------

    def dispatch(self) -> None:
        """Hand the core's new events to the user stream (after every change)."""
        events = self.core.events
        if self._dispatched == len(events):
            return
        fresh = events[self._dispatched :]
        self._dispatched = len(events)
        self.user.publish([e.payload for e in fresh])

    def apply_tick(self, tick: Tick) -> list[SimTrade]:
        """One public print: funding due, fills, liquidation, their events, market updates."""
        self.expire_listen_key()
        ts = max(tick.ts_ms, self.core.now_ms, self.now_ms())
        if ts != tick.ts_ms:
            tick = replace(tick, ts_ms=ts)
        try:
            trades = self.core.on_tick(tick)
        finally:
            self.dispatch()
        self.publish_market()
        return trades

    def settle_funding(self, rate: Decimal | None = None) -> FundingPayment | None:
        try:
            return self.core.settle_funding_now(self.now_ms(), rate)
        finally:
            self.dispatch()
            self.publish_market(("markPrice", "markPrice@1s"))

    def publish_market(self, kinds: tuple[str, ...] | None = None) -> None:
        if self.core.last_tick is None:
            return
        self._book_update_id += 1
        if kinds is None:
            self.market.publish(self.venue_id, self._market_event)
        else:
            self.market.publish(self.venue_id, self._market_event, kinds)

    def _market_event(self, kind: str) -> dict[str, Any] | None:
        stats = self.core.ticker_stats()
        if kind == "ticker":
            return _ws_ticker(stats)
        if kind == "miniTicker":
            full = _ws_ticker(stats)
            return {"e": "24hrMiniTicker", **{k: full[k] for k in ("E", "s", "c", "o", "h", "l", "v", "q")}}
        if kind == "bookTicker":
            return {
                "e": "bookTicker",
                "u": self._book_update_id,
                "E": stats.event_ms,
                "T": stats.event_ms,
                "s": stats.symbol,
                "b": uf.plain(stats.bid),
                "B": uf.plain(stats.bid_qty),
                "a": uf.plain(stats.ask),
                "A": uf.plain(stats.ask_qty),
            }
        index = self.premium_index()
        return {
            "e": "markPriceUpdate",
            "E": stats.event_ms,
            "s": stats.symbol,
            "p": index["markPrice"],
            "ap": index["markPrice"],
            "P": index["estimatedSettlePrice"],
            "i": index["indexPrice"],
            "r": index["lastFundingRate"],
            "T": index["nextFundingTime"],
        }

    # --- listen keys and the user stream -----------------------------------------------------

    def listen_key_create(self) -> str:
        self.expire_listen_key()
        return self.listen_keys.create(self.now_ms())

    def listen_key_keepalive(self) -> str:
        self.expire_listen_key()
        return self.listen_keys.keepalive(self.now_ms())

    def listen_key_delete(self) -> Json:
        if self.listen_keys.delete(self.now_ms()) is not None:
            for sub_peer in list(self.user_peers):
                sub_peer.close_soon()
                self.user.unsubscribe(sub_peer)
        return {}

    def expire_listen_key(self, force: bool = False) -> int:
        """A key that ran out (or, ``force``, the active key now): ``listenKeyExpired`` on its
        connections, which close. Returns how many connections were told."""
        now = self.now_ms()
        key = self.listen_keys.force_expire() if force else self.listen_keys.expire_due(now)
        if key is None:
            return 0
        return self.user.terminate({"e": "listenKeyExpired", "E": now, "listenKey": key})

    async def serve_user(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        peer = WsPeer(ws, request.transport)
        self.user_peers.add(peer)
        self.user.attach(peer)
        try:
            await peer.run(_ignore)
        finally:
            self.user.unsubscribe(peer)
            self.user_peers.discard(peer)
        return ws

    # --- REST faults -------------------------------------------------------------------------

    def http_status_fault(self, path: str, method: str) -> int | None:
        status = self.config.http_status_faults.get(path)
        if status is not None:
            return status
        p = self.config.rest_error_p
        if method == "GET" and p and self._error_rng.random() < p:
            self.counters.rest_errors += 1
            return 503
        return None

    def arm_create_delay(self, delay_ms: int, count: int = 1) -> None:
        self._delays.arm(delay_ms, count)

    # --- market data -------------------------------------------------------------------------

    def exchange_info(self) -> Json:
        return uf.exchange_info(self.spec, self.now_ms())

    def ticker_24hr(self) -> Json:
        return uf.ticker_24hr(self.core.ticker_stats())

    def book_ticker(self) -> Json:
        stats = self.core.ticker_stats()
        return {
            "symbol": stats.symbol,
            "bidPrice": uf.plain(stats.bid),
            "bidQty": uf.plain(stats.bid_qty),
            "askPrice": uf.plain(stats.ask),
            "askQty": uf.plain(stats.ask_qty),
            "time": stats.event_ms,
            "lastUpdateId": self._book_update_id,
        }

    def ticker_price(self) -> Json:
        stats = self.core.ticker_stats()
        return {"symbol": stats.symbol, "price": uf.plain(stats.last), "time": stats.event_ms}

    def premium_index(self) -> Json:
        core = self.core
        mark = core.mark if core.mark is not None else (core.last_price or Decimal(0))
        return uf.premium_index(self.spec, mark, core.funding_rate, core.next_funding_ms, self.now_ms())

    def funding_rate_rows(self) -> list[Json]:
        """Settled fundings the account took part in (the simulator keeps no others)."""
        return [
            {
                "symbol": self.venue_id,
                "fundingRate": fmt8(p.rate),
                "fundingTime": p.ts_ms,
                "markPrice": fmt8(p.mark),
            }
            for p in self.core.funding
        ]

    # --- orders ------------------------------------------------------------------------------

    def _reduce_only(self, order: SimOrder) -> bool:
        return self.core.reduce_only.get(order.order_id, False)

    async def new_order(self, request: OrderRequest) -> Json:
        core = self.core
        delay_ms = self._delays.next_ms()
        now = self.now_ms()
        try:
            order = core.place(
                request.client_order_id,
                request.side.lower(),
                "market" if request.type == "MARKET" else "limit",
                request.quantity,
                request.price,
                post_only=request.time_in_force == "GTX",
                now_ms=now,
                reduce_only=request.reduce_only,
            )
            if request.type == "LIMIT" and request.time_in_force == "IOC":
                order = core.expire_remainder(order, now)
        finally:
            self.dispatch()
        body = uf.order_response(order, reduce_only=self._reduce_only(order))
        if delay_ms:
            # The order exists and its events are on their way; only the answer is late.
            self.counters.create_timeouts += 1
            await self._delays.hold(delay_ms)
        return body

    def query_order(self, ref: int | str) -> Json:
        order = self.core.get_order(ref)
        return uf.order_query(order, reduce_only=self._reduce_only(order))

    def open_order(self, ref: int | str) -> Json:
        order = self.core.get_order(ref)
        if not order.is_open:
            raise ApiError(-2013, "Order does not exist.")
        return uf.order_query(order, reduce_only=self._reduce_only(order))

    def cancel_order(self, ref: int | str) -> Json:
        try:
            order = self.core.cancel(ref, self.now_ms())
        finally:
            self.dispatch()
        return uf.order_response(order, reduce_only=self._reduce_only(order))

    def cancel_all(self) -> None:
        try:
            for order in self.core.open_orders():
                self.core.cancel(order.order_id, self.now_ms())
        finally:
            self.dispatch()

    def open_order_rows(self) -> list[Json]:
        return [uf.open_order_row(o, reduce_only=self._reduce_only(o)) for o in self.core.open_orders()]

    def all_orders(self) -> list[Json]:
        orders = sorted(self.core.orders.values(), key=lambda o: o.order_id)
        return [uf.order_query(o, reduce_only=self._reduce_only(o)) for o in orders]

    def trade_rows(self) -> list[Json]:
        realized = self.core.realized_by_trade
        return [uf.user_trade_row(t, realized.get(t.trade_id, Decimal(0))) for t in self.core.trades]

    def income_rows(self) -> list[Json]:
        """Funding payments (their own ids) and, per fill, its COMMISSION and (when not zero)
        REALIZED_PNL rows, oldest first, as Binance's income history lists them."""
        core = self.core
        rows: list[tuple[int, int, Json]] = []
        for payment in core.funding:
            rows.append((payment.ts_ms, 0, uf.income_row(self.venue_id, self.spec.settle, payment)))
        for trade in core.trades:
            pnl = core.realized_by_trade.get(trade.trade_id, Decimal(0))
            if pnl:
                rows.append((trade.ts_ms, 1, self._trade_income("REALIZED_PNL", pnl, trade, _REALIZED_TRAN_BASE)))
            if trade.fee:
                rows.append(
                    (trade.ts_ms, 2, self._trade_income("COMMISSION", -trade.fee, trade, _COMMISSION_TRAN_BASE))
                )
        rows.sort(key=lambda r: (r[0], r[1]))
        return [r[2] for r in rows]

    def _trade_income(self, kind: str, amount: Decimal, trade: SimTrade, base: int) -> Json:
        return {
            "symbol": self.venue_id,
            "incomeType": kind,
            "income": fmt8(amount),
            "asset": self.spec.settle,
            "info": kind,
            "time": trade.ts_ms,
            "tranId": base + trade.trade_id,
            "tradeId": str(trade.trade_id),
        }

    # --- account -----------------------------------------------------------------------------

    def balance_rows(self) -> list[Json]:
        return uf.balance_v3(self.core.account_view())

    def account(self, version: int) -> Json:
        core = self.core
        body = uf.account_v3(core.account_view(), [core.position_view()])
        if version == 2:
            body = {
                "feeTier": 0,
                "canTrade": True,
                "canDeposit": True,
                "canWithdraw": True,
                "updateTime": 0,
                "multiAssetsMargin": False,
                "tradeGroupId": -1,
                **body,
            }
        return body

    def position_risk(self, version: int) -> list[Json]:
        """v3 lists a symbol only with a position or open orders; v2 always lists it."""
        core = self.core
        view = core.position_view()
        if version == 2:
            return [uf.position_risk_v2(view)]
        if not view.amount and not core.open_orders():
            return []
        return [uf.position_risk_v3(view)]

    def set_leverage(self, leverage: int) -> Json:
        return uf.leverage_response(self.venue_id, self.core.set_leverage(leverage))

    def set_margin_type(self, value: str) -> None:
        self.core.set_margin_mode(value)

    def set_dual_side(self, value: bool) -> None:
        self.core.set_position_mode(value)

    def symbol_config(self) -> Json:
        core = self.core
        return uf.symbol_config(self.venue_id, core.margin_mode, core.leverage)[0]

    def account_config(self) -> Json:
        return {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "dualSidePosition": self.core.dual_side,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
        }

    def commission_rate(self) -> Json:
        return {
            "symbol": self.venue_id,
            "makerCommissionRate": uf.plain(self.spec.maker_fee),
            "takerCommissionRate": uf.plain(self.spec.taker_fee),
        }

    def leverage_bracket(self) -> Json:
        return uf.leverage_bracket(self.spec)[0]

    def capital_config(self) -> list[Json]:
        """``/sapi/v1/capital/config/getall``: the assets, nothing held in the spot wallet."""
        return [
            {
                "coin": asset,
                "name": asset,
                "depositAllEnable": True,
                "withdrawAllEnable": True,
                "free": "0",
                "locked": "0",
                "freeze": "0",
                "withdrawing": "0",
                "ipoing": "0",
                "ipoable": "0",
                "storage": "0",
                "isLegalMoney": False,
                "trading": True,
                "networkList": [],
            }
            for asset in (self.spec.base, self.spec.quote)
        ]


def _ws_ticker(stats: TickerStats) -> dict[str, Any]:
    """``<symbol>@ticker`` (``24hrTicker``) of USDⓈ-M: the REST ticker's fields, short keys."""
    rest = uf.ticker_24hr(stats)
    return {
        "e": "24hrTicker",
        "E": stats.event_ms,
        "s": stats.symbol,
        "p": rest["priceChange"],
        "P": rest["priceChangePercent"],
        "w": rest["weightedAvgPrice"],
        "c": rest["lastPrice"],
        "Q": rest["lastQty"],
        "o": rest["openPrice"],
        "h": rest["highPrice"],
        "l": rest["lowPrice"],
        "v": rest["volume"],
        "q": rest["quoteVolume"],
        "O": stats.open_time,
        "C": stats.close_time,
        "F": stats.first_id,
        "L": stats.last_id,
        "n": stats.count,
    }


async def _ignore(text: str) -> None:
    """Frames a client sends on the user stream mean nothing to Binance's server."""


__all__ = ["OrderRequest", "SimOrderError", "UsdmVenue", "wall_ms"]
