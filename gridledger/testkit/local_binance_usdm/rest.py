"""REST routes: the USDⓈ-M (``/fapi``) endpoints ccxt's ``binanceusdm`` calls for a grid engine.

Public: ``ping``, ``time``, ``exchangeInfo``, ``ticker/24hr``, ``ticker/bookTicker``,
``ticker/price`` (v1, v2), ``premiumIndex``, ``fundingRate``, ``klines``.
SIGNED (HMAC-SHA256 over query + body, timing window; the spot server's :mod:`.auth`):
``order`` (POST, GET, DELETE), ``openOrder``, ``openOrders``, ``allOrders``,
``allOpenOrders`` (DELETE), ``userTrades``, ``balance`` and ``account`` (v2, v3),
``positionRisk`` (v2, v3), ``leverage``, ``marginType``, ``positionSide/dual`` (GET, POST),
``multiAssetsMargin`` (GET), ``income``, ``symbolConfig``, ``accountConfig``,
``commissionRate``, ``leverageBracket``. API-key only: ``listenKey`` (POST, PUT, DELETE).
``/sapi/v1/capital/config/getall`` answers the account's two assets, so that ccxt's
``load_markets`` with credentials works without extra options.
Any other path answers 404 with a Binance-shaped body naming it, so a call the server does
not implement fails loudly (ccxt: ExchangeError) instead of reaching the real Binance.

Orders: LIMIT with timeInForce GTC, IOC or GTX (post-only: a GTX order that would take is
refused with ``-5022``, as Binance does), and MARKET. Conditional types (STOP, STOP_MARKET,
TAKE_PROFIT, TAKE_PROFIT_MARKET, TRAILING_STOP_MARKET) answer ``-4120``: Binance moved them
to the algo-order endpoints, which this server does not serve. ``reduceOnly`` is honoured;
``positionSide`` must be BOTH (or absent) in one-way mode, LONG/SHORT in hedge mode (which
the simulated core does not trade: switching to hedge mode is accepted and then refused at
order time with ``-4061``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from gridledger.testkit.local_binance import errors
from gridledger.testkit.local_binance.auth import check_api_key
from gridledger.testkit.local_binance.errors import ApiError
from gridledger.testkit.local_binance.klines import KlineHistory, klines
from gridledger.testkit.local_binance.params import Params
from gridledger.testkit.local_binance.rest_handlers import (
    Handler,
    Json,
    error,
    gateway_error,
    order_ref,
    public_handler,
    query_and_body,
    respond,
    signed_handler,
)
from gridledger.testkit.local_binance_usdm.venue import OrderRequest, UsdmVenue

_DAY_MS = 86_400_000
_WEEK_MS = 7 * _DAY_MS
_TRADES_DEFAULT_LIMIT = 500
_TRADES_MAX_LIMIT = 1000
_INCOME_DEFAULT_LIMIT = 100
_INCOME_MAX_LIMIT = 1000
_ORDER_TYPES = ("LIMIT", "MARKET")
_CONDITIONAL_TYPES = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
_TIME_IN_FORCE = ("GTC", "IOC", "GTX")
_INCOME_TYPES = (
    "TRANSFER",
    "WELCOME_BONUS",
    "REALIZED_PNL",
    "FUNDING_FEE",
    "COMMISSION",
    "INSURANCE_CLEAR",
    "REFERRAL_KICKBACK",
    "COMMISSION_REBATE",
    "API_REBATE",
    "CONTEST_REWARD",
    "CROSS_COLLATERAL_TRANSFER",
    "OPTIONS_PREMIUM_FEE",
    "OPTIONS_SETTLE_PROFIT",
    "INTERNAL_TRANSFER",
    "AUTO_EXCHANGE",
    "DELIVERED_SETTELMENT",
    "COIN_SWAP_DEPOSIT",
    "COIN_SWAP_WITHDRAW",
    "POSITION_LIMIT_INCREASE_FEE",
    "STRATEGY_UMFUTURES_TRANSFER",
    "FEE_RETURN",
    "BFUSD_REWARD",
)


class UsdmRestApi:
    def __init__(self, venue: UsdmVenue, history: Callable[[], KlineHistory | None] = lambda: None) -> None:
        self.venue = venue
        self.history = history

    def routes(self) -> list[web.RouteDef]:
        public, signed, keyed = self._public, self._signed, self._keyed
        v = self.venue
        return [
            web.get("/fapi/v1/ping", public(lambda p: {})),
            web.get("/fapi/v1/time", public(lambda p: {"serverTime": v.now_ms()})),
            web.get("/fapi/v1/exchangeInfo", public(lambda p: v.exchange_info())),
            web.get("/fapi/v1/ticker/24hr", public(lambda p: self._per_symbol(p, v.ticker_24hr))),
            web.get("/fapi/v1/ticker/bookTicker", public(lambda p: self._per_symbol(p, v.book_ticker))),
            web.get("/fapi/v1/ticker/price", public(lambda p: self._per_symbol(p, v.ticker_price))),
            web.get("/fapi/v2/ticker/price", public(lambda p: self._per_symbol(p, v.ticker_price))),
            web.get("/fapi/v1/premiumIndex", public(lambda p: self._per_symbol(p, v.premium_index))),
            web.get("/fapi/v1/fundingRate", public(self.funding_rate)),
            web.get("/fapi/v1/klines", public(lambda p: klines(self.history(), p, v.venue_id))),
            web.post("/fapi/v1/order", signed(self.new_order)),
            web.get("/fapi/v1/order", signed(self.query_order)),
            web.delete("/fapi/v1/order", signed(self.cancel_order)),
            web.get("/fapi/v1/openOrder", signed(self.open_order)),
            web.get("/fapi/v1/openOrders", signed(self.open_orders)),
            web.get("/fapi/v1/allOrders", signed(self.all_orders)),
            web.delete("/fapi/v1/allOpenOrders", signed(self.cancel_all)),
            web.get("/fapi/v1/userTrades", signed(self.user_trades)),
            web.get("/fapi/v2/balance", signed(lambda p: v.balance_rows())),
            web.get("/fapi/v3/balance", signed(lambda p: v.balance_rows())),
            web.get("/fapi/v2/account", signed(lambda p: v.account(version=2))),
            web.get("/fapi/v3/account", signed(lambda p: v.account(version=3))),
            web.get("/fapi/v2/positionRisk", signed(lambda p: self._positions(p, 2))),
            web.get("/fapi/v3/positionRisk", signed(lambda p: self._positions(p, 3))),
            web.post("/fapi/v1/leverage", signed(self.leverage)),
            web.post("/fapi/v1/marginType", signed(self.margin_type)),
            web.get("/fapi/v1/positionSide/dual", signed(lambda p: {"dualSidePosition": v.dual_side})),
            web.post("/fapi/v1/positionSide/dual", signed(self.position_side_dual)),
            web.get("/fapi/v1/multiAssetsMargin", signed(lambda p: {"multiAssetsMargin": False})),
            web.get("/fapi/v1/income", signed(self.income)),
            web.get("/fapi/v1/symbolConfig", signed(lambda p: self._per_symbol_list(p, v.symbol_config))),
            web.get("/fapi/v1/accountConfig", signed(lambda p: v.account_config())),
            web.get("/fapi/v1/commissionRate", signed(self.commission_rate)),
            web.get("/fapi/v1/leverageBracket", signed(self.leverage_bracket)),
            web.post("/fapi/v1/listenKey", keyed(lambda p: {"listenKey": v.listen_key_create()})),
            web.put("/fapi/v1/listenKey", keyed(lambda p: {"listenKey": v.listen_key_keepalive()})),
            web.delete("/fapi/v1/listenKey", keyed(lambda p: v.listen_key_delete())),
            web.get("/sapi/v1/capital/config/getall", signed(lambda p: v.capital_config())),
        ]

    # --- plumbing ------------------------------------------------------------------------------

    def _fault(self, request: web.Request) -> web.Response | None:
        status = self.venue.http_status_fault(request.path, request.method)
        return None if status is None else gateway_error(status)

    def _public(self, fn: Callable[[Params], Json]) -> Handler:
        return public_handler(fn)

    def _signed(self, fn: Callable[[Params], Json | Awaitable[Json]]) -> Handler:
        return signed_handler(fn, self.venue, self._fault)

    def _keyed(self, fn: Callable[[Params], Json]) -> Handler:
        """USER_STREAM security: the API key header only, no signature."""

        async def handler(request: web.Request) -> web.StreamResponse:
            fault = self._fault(request)
            if fault is not None:
                return fault
            _query, _body, params = await query_and_body(request)
            try:
                check_api_key(request.headers.get("X-MBX-APIKEY"), self.venue.creds)
                return respond(fn(params))
            except ApiError as exc:
                return error(exc)

        return handler

    async def not_found(self, request: web.Request) -> web.StreamResponse:
        body = {"code": -1, "msg": f"local_binance_usdm does not implement {request.method} {request.path}"}
        return respond(body, 404)

    def _symbol(self, params: Params, required: bool = True) -> str | None:
        symbol = params.required("symbol") if required else params.get("symbol")
        if symbol is not None and symbol != self.venue.venue_id:
            raise errors.invalid_symbol()
        return symbol

    def _per_symbol(self, params: Params, render: Callable[[], Json]) -> Json:
        """Binance's market-data shape: one object with ``symbol``, a list of all without."""
        symbol = self._symbol(params, required=False)
        row = render()
        return row if symbol is not None else [row]

    def _per_symbol_list(self, params: Params, render: Callable[[], Json]) -> Json:
        self._symbol(params, required=False)
        return [render()]

    def _positions(self, params: Params, version: int) -> Json:
        self._symbol(params, required=False)
        return self.venue.position_risk(version)

    @staticmethod
    def _limit(params: Params, default: int, maximum: int) -> int:
        limit = params.integer("limit")
        if limit is None:
            return default
        if not 0 < limit <= maximum:
            raise ApiError(-1130, "Data sent for parameter 'limit' is not valid.")
        return limit

    @staticmethod
    def _window(params: Params, span_ms: int, now_ms: int) -> tuple[int | None, int | None]:
        start, end = params.integer("startTime"), params.integer("endTime")
        if start is not None and end is not None:
            if start > end:
                raise ApiError(-1023, "Start time is greater than end time.")
            if end - start > span_ms:
                raise ApiError(-1127, "More than 7 days between startTime and endTime.")
        return start, end

    # --- public --------------------------------------------------------------------------------

    def funding_rate(self, params: Params) -> Json:
        self._symbol(params, required=False)
        limit = self._limit(params, 100, 1000)
        start, end = params.integer("startTime"), params.integer("endTime")
        rows = [
            r
            for r in self.venue.funding_rate_rows()
            if (start is None or r["fundingTime"] >= start) and (end is None or r["fundingTime"] <= end)
        ]
        return rows[:limit] if start is not None else rows[-limit:]

    # --- orders --------------------------------------------------------------------------------

    def new_order(self, params: Params) -> Awaitable[Json]:
        self._symbol(params)
        side = params.required("side")
        if side not in ("BUY", "SELL"):
            raise ApiError(-1117, "Invalid side.")
        kind = params.required("type")
        if kind in _CONDITIONAL_TYPES:
            raise ApiError(
                -4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."
            )
        if kind not in _ORDER_TYPES:
            raise ApiError(-1116, "Invalid orderType.")
        resp_type = params.get("newOrderRespType") or "ACK"
        if resp_type not in ("ACK", "RESULT"):
            raise ApiError(-1136, "Invalid newOrderRespType.")
        position_side = params.get("positionSide") or "BOTH"
        if position_side not in ("BOTH", "LONG", "SHORT"):
            raise ApiError(-4006, "Invalid position side.")
        if (position_side == "BOTH") == self.venue.dual_side:
            raise ApiError(-4061, "Order's position side does not match user's setting.")
        reduce_only = bool(params.boolean("reduceOnly"))
        if params.boolean("closePosition"):
            raise ApiError(-4136, "Target strategy invalid for orderType MARKET,closePosition true")
        tif = params.get("timeInForce")
        price = params.decimal("price")
        quantity = params.decimal("quantity")
        if quantity is None:
            raise errors.mandatory("quantity")
        if kind == "LIMIT":
            if tif is None:
                raise errors.mandatory("timeInForce")
            if tif not in _TIME_IN_FORCE:
                raise ApiError(-1115, "Invalid timeInForce.")
            if price is None:
                raise errors.mandatory("price")
        else:
            if price is not None:
                raise errors.not_required("price")
            if tif is not None:
                raise errors.not_required("timeInForce")
        client_id = params.get("newClientOrderId")
        request = OrderRequest(
            client_order_id=client_id,
            side=side,
            type=kind,
            quantity=quantity,
            price=price,
            time_in_force=tif or "GTC",
            reduce_only=reduce_only,
        )
        return self.venue.new_order(request)

    def query_order(self, params: Params) -> Json:
        self._symbol(params)
        return self.venue.query_order(order_ref(params))

    def open_order(self, params: Params) -> Json:
        self._symbol(params)
        return self.venue.open_order(order_ref(params))

    def cancel_order(self, params: Params) -> Json:
        self._symbol(params)
        return self.venue.cancel_order(order_ref(params))

    def cancel_all(self, params: Params) -> Json:
        self._symbol(params)
        self.venue.cancel_all()
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def open_orders(self, params: Params) -> Json:
        self._symbol(params, required=False)
        return self.venue.open_order_rows()

    def all_orders(self, params: Params) -> Json:
        """Orders with id >= ``orderId`` (oldest first), or within the time window, or the most
        recent ``limit`` (Binance's selection; at most 7 days between start and end)."""
        self._symbol(params)
        limit = self._limit(params, _TRADES_DEFAULT_LIMIT, _TRADES_MAX_LIMIT)
        start, end = self._window(params, _WEEK_MS, self.venue.now_ms())
        order_id = params.integer("orderId")
        rows = self.venue.all_orders()
        if order_id is not None:
            return [r for r in rows if r["orderId"] >= order_id][:limit]
        if start is not None or end is not None:
            rows = [r for r in rows if (start is None or r["time"] >= start) and (end is None or r["time"] <= end)]
            return rows[:limit] if start is not None else rows[-limit:]
        return rows[-limit:]

    # --- account -------------------------------------------------------------------------------

    def user_trades(self, params: Params) -> Json:
        """``fromId`` -> ids >= fromId, oldest first (not with a time range); a time range ->
        within it (at most 7 days; ``startTime`` alone: the 7 days from it, ``endTime`` alone:
        the 7 days up to it); ``orderId`` -> that order's trades; nothing -> the last 7 days.
        Oldest first, at most ``limit``."""
        self._symbol(params)
        limit = self._limit(params, _TRADES_DEFAULT_LIMIT, _TRADES_MAX_LIMIT)
        start, end = self._window(params, _WEEK_MS, self.venue.now_ms())
        from_id = params.integer("fromId")
        if from_id is not None and (start is not None or end is not None):
            raise ApiError(-4052, "fromId cannot be sent with startTime or endTime.")
        rows = self.venue.trade_rows()
        order_id = params.integer("orderId")
        if order_id is not None:
            rows = [r for r in rows if r["orderId"] == order_id]
        if from_id is not None:
            return [r for r in rows if r["id"] >= from_id][:limit]
        if order_id is not None and start is None and end is None:
            return rows[:limit]
        if start is not None:
            stop = end if end is not None else start + _WEEK_MS
            return [r for r in rows if start <= r["time"] <= stop][:limit]
        stop = end if end is not None else self.venue.now_ms()
        rows = [r for r in rows if stop - _WEEK_MS <= r["time"] <= stop]
        return rows[-limit:]

    def income(self, params: Params) -> Json:
        """Income history: ``incomeType`` filter; a time range (without one: the last 7 days);
        oldest first, at most ``limit`` (default 100, at most 1000), ``page`` from 1."""
        self._symbol(params, required=False)
        kind = params.get("incomeType")
        if kind is not None and kind not in _INCOME_TYPES:
            raise ApiError(-1130, "Data sent for parameter 'incomeType' is not valid.")
        limit = self._limit(params, _INCOME_DEFAULT_LIMIT, _INCOME_MAX_LIMIT)
        page = params.integer("page") or 1
        if page < 1:
            raise ApiError(-1130, "Data sent for parameter 'page' is not valid.")
        start, end = params.integer("startTime"), params.integer("endTime")
        if start is not None and end is not None and start > end:
            raise ApiError(-1023, "Start time is greater than end time.")
        now = self.venue.now_ms()
        if start is None and end is None:
            start = now - _WEEK_MS
        rows = [
            r
            for r in self.venue.income_rows()
            if (kind is None or r["incomeType"] == kind)
            and (start is None or r["time"] >= start)
            and (end is None or r["time"] <= end)
        ]
        first = (page - 1) * limit
        return rows[first : first + limit]

    def leverage(self, params: Params) -> Json:
        self._symbol(params)
        value = params.integer("leverage")
        if value is None:
            raise errors.mandatory("leverage")
        return self.venue.set_leverage(value)

    def margin_type(self, params: Params) -> Json:
        self._symbol(params)
        value = params.required("marginType")
        if value not in ("ISOLATED", "CROSSED"):
            raise ApiError(-4044, "The margin type is invalid.")
        self.venue.set_margin_type(value)
        return {"code": 200, "msg": "success"}

    def position_side_dual(self, params: Params) -> Json:
        value = params.boolean("dualSidePosition")
        if value is None:
            raise errors.mandatory("dualSidePosition")
        self.venue.set_dual_side(value)
        return {"code": 200, "msg": "success"}

    def commission_rate(self, params: Params) -> Json:
        self._symbol(params)
        return self.venue.commission_rate()

    def leverage_bracket(self, params: Params) -> Json:
        symbol = self._symbol(params, required=False)
        row = self.venue.leverage_bracket()
        return row if symbol is not None else [row]
