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

import json
from collections.abc import Mapping
from typing import Any, cast

import ccxt

from gridledger.exchange.sim import binance_format as bf
from gridledger.exchange.sim import binance_market as bm
from gridledger.exchange.sim.errors import (
    BadRequest,
    DuplicateOrder,
    FilterFailure,
    InsufficientBalance,
    SimOrderError,
    UnknownOrder,
    WouldTake,
)
from gridledger.exchange.sim.rest_select import select_trades, trades_count
from gridledger.exchange.sim.venue_api import SimVenueApi


class SimExchange(SimVenueApi):
    """A simulated Binance-like spot venue with ccxt's async unified API."""

    def _ticker_now(self) -> Mapping[str, Any]:
        # Built directly, equal to ccxt's parse of the Binance event (exchange/sim/ticker_fast.py):
        # no fault touches tickers, so nothing is lost by not formatting them (issue 12 item 5).
        return self._ticker_builder.build(self.core.ticker_stats())

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

    def _illegal_order_id(self) -> ccxt.BaseError:
        return ccxt.BadRequest(
            f"{self.id} {json.dumps(bf.error_body(-1100, 'Illegal characters found in parameter orderId.'))}"
        )

    # --- ExchangePort ----------------------------------------------------------------------------

    def exchange_info(self) -> dict[str, Any]:
        """The raw ``GET /api/v3/exchangeInfo`` JSON (for an HTTP front end)."""
        return bm.exchange_info(self.config.spec, self.core.now_ms)

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] = {}) -> dict[str, Any]:
        """``GET /api/v3/ticker/24hr`` parsed by ccxt (``info`` is the Binance JSON)."""
        market = self._check_symbol(symbol)
        await self._fetch_fault("/api/v3/ticker/24hr")
        try:
            response = bm.ticker_24hr(self.core.ticker_stats())
        except SimOrderError as exc:
            raise self._error(exc) from None
        await self._sleep_ms(self._response_ms())
        return cast(dict[str, Any], self._parser.parse_ticker(response, market))

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
        amount_dec, price_dec = self._order_numbers(symbol, kind, amount, price)
        await self._sleep_ms(self._request_ms())
        now = self.now_ms()
        try:
            order = self.core.place(client_id, side, kind, amount_dec, price_dec, post_only, now)
        except SimOrderError as exc:
            await self._sleep_ms(self._response_ms())
            raise self._error(exc) from None
        finally:
            self._dispatch()
        response = bf.order_full(order, self.core.trades_of(order.order_id), now)
        await self._maybe_create_timeout("/api/v3/order")
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
        until = params.get("until", params.get("endTime"))
        rows = select_trades(
            self.core.trades, params.get("orderId"), params.get("fromId"), since, until, trades_count(limit)
        )
        response = [bf.my_trade_row(t) for t in rows]
        await self._sleep_ms(self._response_ms())
        return cast(list[dict[str, Any]], self._parser.parse_trades(response, market, since, limit))

    async def fetch_balance(self, params: dict[str, Any] = {}) -> dict[str, Any]:
        """GET /api/v3/account parsed by ccxt's spot balance parser."""
        await self._fetch_fault("/api/v3/account")
        response = bm.account(self.config.spec, self.core.balances(), self.core.now_ms)
        await self._sleep_ms(self._response_ms())
        return cast(dict[str, Any], self._parser.parse_balance_custom(response, "spot"))
