"""REST routes: the spot endpoints ccxt's ``binance`` class calls for a grid engine.

Public: ``ping``, ``time``, ``exchangeInfo`` (all symbols, ``symbol=``, ``symbols=[..]``),
``ticker/24hr``, ``ticker/bookTicker``, ``klines`` (see :mod:`.klines`). SIGNED (see :mod:`.auth`): ``order`` (POST, GET,
DELETE), ``openOrders``, ``myTrades``, ``account``. Any other path answers 404 with a
Binance-shaped body naming it, so a ccxt call the server does not implement fails loudly
(ccxt raises ExchangeError with that message) instead of reaching the real Binance.

Supported order types are those :class:`SimCore` models: LIMIT (timeInForce GTC only),
LIMIT_MAKER (post-only) and MARKET (by ``quantity``, or by ``quoteOrderQty`` converted to a
quantity at the last price, rounded down to the step: an approximation of Binance, which
fills by quote amount).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal

from aiohttp import web

from gridledger.domain.numbers import quantize_down
from gridledger.exchange.sim import binance_format as fmt
from gridledger.exchange.sim import binance_market as mfmt
from gridledger.exchange.sim.values import SimOrder
from gridledger.testkit.local_binance import errors
from gridledger.testkit.local_binance.errors import ApiError
from gridledger.testkit.local_binance.klines import KlineHistory, klines
from gridledger.testkit.local_binance.params import Params
from gridledger.testkit.local_binance.rest_handlers import (
    Handler,
    Json,
    gateway_error,
    order_ref,
    public_handler,
    respond,
    signed_handler,
)
from gridledger.testkit.local_binance.venue import Venue

_DAY_MS = 86_400_000
_TRADES_DEFAULT_LIMIT = 500
_TRADES_MAX_LIMIT = 1000
# GET /api/v3/myTrades: the documented combinations of optional parameters.
_TRADE_COMBOS: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset({"orderId"}),
    frozenset({"startTime"}),
    frozenset({"endTime"}),
    frozenset({"fromId"}),
    frozenset({"startTime", "endTime"}),
    frozenset({"orderId", "fromId"}),
)


class RestApi:
    def __init__(self, venue: Venue, history: Callable[[], KlineHistory | None] = lambda: None) -> None:
        self.venue = venue
        self.history = history  # the candles GET /api/v3/klines serves (LocalBinance.klines)

    def routes(self) -> list[web.RouteDef]:
        public, signed = self._public, self._signed
        return [
            web.get("/api/v3/ping", public(lambda p: {})),
            web.get("/api/v3/time", public(lambda p: {"serverTime": self.venue.now_ms()})),
            web.get("/api/v3/exchangeInfo", public(self.exchange_info)),
            web.get("/api/v3/ticker/24hr", public(self.ticker_24hr)),
            web.get("/api/v3/ticker/bookTicker", public(self.book_ticker)),
            web.get("/api/v3/klines", public(lambda p: klines(self.history(), p, self.venue.spec.venue_id))),
            web.post("/api/v3/order", signed(self.new_order)),
            web.get("/api/v3/order", signed(self.query_order)),
            web.delete("/api/v3/order", signed(self.cancel_order)),
            web.get("/api/v3/openOrders", signed(self.open_orders)),
            web.get("/api/v3/myTrades", signed(self.my_trades)),
            web.get("/api/v3/account", signed(self.account)),
            web.route("*", "/{tail:.*}", self._not_found),
        ]

    # --- plumbing ------------------------------------------------------------------------------

    def _public(self, fn: Callable[[Params], Json]) -> Handler:
        return public_handler(fn)

    def _signed(self, fn: Callable[[Params], Awaitable[Json]]) -> Handler:
        return signed_handler(fn, self.venue, self._fault)

    def _fault(self, request: web.Request) -> web.Response | None:
        status = self.venue.config.http_status_faults.get(request.path)
        return None if status is None else gateway_error(status)

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        return respond({"code": -1, "msg": f"local_binance does not implement {request.method} {request.path}"}, 404)

    def _check_symbol(self, params: Params, required: bool = True) -> None:
        symbol = params.required("symbol") if required else params.get("symbol")
        if symbol is not None and symbol != self.venue.spec.venue_id:
            raise errors.invalid_symbol()

    def _symbols_filter(self, params: Params) -> bool:
        """True when the request asks for all symbols (no ``symbol`` / ``symbols``)."""
        symbol = params.get("symbol")
        symbols = params.get("symbols")
        if symbol is not None and symbols is not None:
            raise errors.bad_combo()
        if symbol is not None:
            self._check_symbol(params)
            return False
        if symbols is not None:
            try:
                names = json.loads(symbols)
            except ValueError:
                raise ApiError(-1100, "Illegal characters found in parameter 'symbols'.") from None
            if not isinstance(names, list) or any(n != self.venue.spec.venue_id for n in names):
                raise errors.invalid_symbol()
        return True

    # --- public --------------------------------------------------------------------------------

    def exchange_info(self, params: Params) -> Json:
        self._symbols_filter(params)
        return mfmt.exchange_info(self.venue.spec, self.venue.now_ms())

    def ticker_24hr(self, params: Params) -> Json:
        listed = self._symbols_filter(params)
        row = mfmt.ticker_24hr(self.venue.core.ticker_stats())
        return [row] if listed else row

    def book_ticker(self, params: Params) -> Json:
        listed = self._symbols_filter(params)
        row = mfmt.book_ticker(self.venue.core.ticker_stats())
        return [row] if listed else row

    # --- orders --------------------------------------------------------------------------------

    async def new_order(self, params: Params) -> Json:
        venue = self.venue
        self._check_symbol(params)
        side = params.required("side")
        if side not in ("BUY", "SELL"):
            raise ApiError(-1117, "Invalid side.")
        kind = params.required("type")
        if kind not in ("LIMIT", "LIMIT_MAKER", "MARKET"):
            raise ApiError(-1116, "Invalid orderType.")
        resp_type = params.get("newOrderRespType") or "FULL"
        if resp_type not in ("ACK", "RESULT", "FULL"):
            raise ApiError(-1136, "Invalid newOrderRespType.")
        tif = params.get("timeInForce")
        if kind == "LIMIT":
            if tif is None:
                raise errors.mandatory("timeInForce")
            if tif != "GTC":
                raise ApiError(-1115, "Invalid timeInForce.")
        elif tif is not None:
            raise errors.not_required("timeInForce")
        price = params.decimal("price")
        amount = self._quantity(params, kind)
        if kind == "MARKET":
            if price is not None:
                raise errors.not_required("price")
        elif price is None:
            raise errors.mandatory("price")
        delay_ms = venue.next_create_delay_ms()
        now = venue.now_ms()
        try:
            order = venue.core.place(
                params.get("newClientOrderId"),
                side.lower(),
                "market" if kind == "MARKET" else "limit",
                amount,
                price,
                post_only=kind == "LIMIT_MAKER",
                now_ms=now,
            )
        finally:
            venue.dispatch()
        body = self._order_response(order, resp_type, now)
        if delay_ms:
            # The order exists and its events are on their way; only the answer is late.
            venue.counters.create_timeouts += 1
            await venue.hold(delay_ms)
        return body

    def _quantity(self, params: Params, kind: str) -> Decimal:
        quantity = params.decimal("quantity")
        quote_qty = params.decimal("quoteOrderQty")
        if kind != "MARKET":
            if quote_qty is not None:
                raise errors.not_required("quoteOrderQty")
            if quantity is None:
                raise errors.mandatory("quantity")
            return quantity
        if (quantity is None) == (quote_qty is None):
            raise ApiError(-1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")
        if quantity is not None:
            return quantity
        assert quote_qty is not None
        last = self.venue.core.last_price
        if last is None:
            raise ApiError(-1112, "No orders on book for symbol.")
        return quantize_down(quote_qty / last, self.venue.spec.amount_step)

    def _order_response(self, order: SimOrder, resp_type: str, now: int) -> Json:
        if resp_type == "ACK":
            return {
                "symbol": order.symbol,
                "orderId": order.order_id,
                "orderListId": -1,
                "clientOrderId": order.client_order_id,
                "transactTime": now,
            }
        full = fmt.order_full(order, self.venue.core.trades_of(order.order_id), now)
        if resp_type == "RESULT":
            full.pop("fills")
        return full

    async def query_order(self, params: Params) -> Json:
        self._check_symbol(params)
        return fmt.order_query(self.venue.core.get_order(order_ref(params)))

    async def cancel_order(self, params: Params) -> Json:
        venue = self.venue
        self._check_symbol(params)
        ref = order_ref(params)
        now = venue.now_ms()
        try:
            order = venue.core.cancel(ref, now, params.get("newClientOrderId"))
        finally:
            venue.dispatch()
        return fmt.order_cancel(order, now)

    async def open_orders(self, params: Params) -> Json:
        self._check_symbol(params, required=False)
        return [fmt.open_order_row(o) for o in self.venue.core.open_orders()]

    # --- account -------------------------------------------------------------------------------

    async def my_trades(self, params: Params) -> Json:
        """Binance's selection: ``fromId`` -> ids >= fromId, oldest first; a time range ->
        oldest first within it (at most 24 h; ``startTime`` alone means the 24 h from it,
        ``endTime`` alone the 24 h up to it, most recent ``limit`` of them); ``orderId`` ->
        that order's trades; nothing -> the most recent ``limit`` trades."""
        self._check_symbol(params)
        given = frozenset(params.present("orderId", "startTime", "endTime", "fromId"))
        if given not in _TRADE_COMBOS:
            raise errors.bad_combo()
        limit = params.integer("limit") or _TRADES_DEFAULT_LIMIT
        if not 0 < limit <= _TRADES_MAX_LIMIT:
            raise ApiError(-1130, "Data sent for parameter 'limit' is not valid.")
        start, end = params.integer("startTime"), params.integer("endTime")
        if start is not None and end is not None and end - start > _DAY_MS:
            raise ApiError(-1127, "More than 24 hours between startTime and endTime.")
        rows = self.venue.core.trades
        order_id = params.integer("orderId")
        if order_id is not None:
            rows = [t for t in rows if t.order_id == order_id]
        from_id = params.integer("fromId")
        if from_id is not None:
            rows = [t for t in rows if t.trade_id >= from_id][:limit]
        elif start is not None:
            stop = end if end is not None else start + _DAY_MS - 1
            rows = [t for t in rows if start <= t.ts_ms <= stop][:limit]
        elif end is not None:
            rows = [t for t in rows if end - _DAY_MS < t.ts_ms <= end][-limit:]
        elif order_id is not None:
            rows = rows[:limit]
        else:
            rows = rows[-limit:]
        return [fmt.my_trade_row(t) for t in rows]

    async def account(self, params: Params) -> Json:
        core = self.venue.core
        balances = core.balances()
        if params.boolean("omitZeroBalances"):
            balances = {a: b for a, b in balances.items() if b.total != 0}
        return mfmt.account(self.venue.spec, balances, core.now_ms)
