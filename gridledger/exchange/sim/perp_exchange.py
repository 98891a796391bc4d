"""PerpSimExchange: the simulated linear perpetual behind ccxt's ``binanceusdm`` API.

The sibling of :class:`~gridledger.exchange.sim.exchange.SimExchange` for a USDⓈ-M
perpetual: the same price feed, REST latency and fault injection (duplicates, reordering,
drops and replays on the private stream, create timeouts, REST errors;
:mod:`.venue_runtime`), over a :class:`~gridledger.exchange.sim.perp_core.PerpCore`.

What it returns is what ccxt's ``binanceusdm`` class returns for the same USDⓈ-M payloads:
every structure is built by ccxt's own offline parsers (``parse_order``, ``parse_trade``,
``parse_ws_order``, ``parse_ws_trade``, ``parse_position_risk``, ``parse_balance_custom``
with type ``linear``, ``parse_income``, ``parse_margin_mode``, ``parse_leverage``) from the
payloads of :mod:`.binance_usdm_format`, on an instance with ``number = str`` and the
simulated market injected; errors are raised by ccxt's own ``handle_errors`` from the
Binance error body, so each refusal is the exception class ccxt raises for it (-2019
``InsufficientFunds``, -2022 and -5022 ``InvalidOrder``, -4046 ``MarginModeAlreadySet``,
...). The watch methods return one structure per ``ORDER_TRADE_UPDATE`` (its ``info`` is the
event's ``o`` object, as ccxt.pro gives it); ``TRADE_LITE`` and ``ACCOUNT_UPDATE`` are on
the stream (a protocol server sends them) but, as in ccxt, are not order or trade updates.

Its ``id`` is ``simusdm``: the venue registry reads its payloads with the Binance USDⓈ-M
parser.

The class is built in layers, one job each: :mod:`.perp_exchange_base` (the core, the
parser, error mapping), :mod:`.perp_exchange_account` (balance, positions, funding history,
leverage/margin/position-mode settings), and this module (market data, orders, the private
stream).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any, cast

import ccxt
import ccxt.pro

from gridledger.domain.numbers import to_decimal
from gridledger.exchange.sim import binance_usdm_format as uf
from gridledger.exchange.sim.errors import SimOrderError
from gridledger.exchange.sim.perp_exchange_account import PerpAccountMethods
from gridledger.exchange.sim.perp_exchange_base import make_usdm_parser
from gridledger.exchange.sim.venue_config import PathExhausted
from gridledger.exchange.sim.venue_runtime import _Kind

__all__ = ["PerpSimExchange", "make_usdm_parser"]

_TRADES_DEFAULT_LIMIT = 500
_TRADES_MAX_LIMIT = 1000


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


class PerpSimExchange(PerpAccountMethods):
    """A simulated Binance USDⓈ-M perpetual with ccxt's async unified API (one-way mode)."""

    id = "simusdm"

    # --- market data --------------------------------------------------------------------------

    async def load_markets(self, reload: bool = False, params: dict[str, Any] = {}) -> dict[str, Any]:
        """Markets of the simulated venue (one perpetual); served after REST latency."""
        self._ensure_started()
        await self._sleep_ms(self.config.rest_latency_ms)
        return self.markets

    def exchange_info(self) -> dict[str, Any]:
        """The raw ``GET /fapi/v1/exchangeInfo`` JSON (for an HTTP front end)."""
        return uf.exchange_info(self.spec, self.core.now_ms)

    async def fetch_ticker(self, symbol: str, params: dict[str, Any] = {}) -> dict[str, Any]:
        """``GET /fapi/v1/ticker/24hr`` parsed by ccxt (``info`` is the Binance JSON)."""
        market = self._check_symbol(symbol)
        await self._fetch_fault("/fapi/v1/ticker/24hr")
        try:
            response = uf.ticker_24hr(self.core.ticker_stats())
        except SimOrderError as exc:
            raise await self._refused(exc, "GET", "/fapi/v1/ticker/24hr") from None
        await self._sleep_ms(self._response_ms())
        return cast(dict[str, Any], self._parser.parse_ticker(response, market))

    async def watch_ticker(self, symbol: str, params: dict[str, Any] = {}) -> dict[str, Any]:
        """The ticker of the next tick."""
        self._check_symbol(symbol)
        self._ensure_started()
        self._raise_if_feed_failed()
        if self.path_done.is_set():
            raise PathExhausted("the price path has no more ticks")
        assert self._loop is not None
        fut: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._ticker_waiters.append(fut)
        return await fut

    async def fetch_funding_rate(self, symbol: str, params: dict[str, Any] = {}) -> dict[str, Any]:
        """``GET /fapi/v1/premiumIndex``: the mark price and the next funding."""
        market = self._check_symbol(symbol)
        await self._fetch_fault("/fapi/v1/premiumIndex")
        core = self.core
        mark = core.mark if core.mark is not None else Decimal(0)
        response = uf.premium_index(self.spec, mark, core.funding_rate, core.next_funding_ms, core.now_ms)
        await self._sleep_ms(self._response_ms())
        return cast(dict[str, Any], self._parser.parse_funding_rate(response, market))

    # --- orders -------------------------------------------------------------------------------

    async def create_order(
        self,
        symbol: str,
        type: str,
        side: str,
        amount: Any,
        price: Any = None,
        params: dict[str, Any] = {},
    ) -> dict[str, Any]:
        """Place an order (``POST /fapi/v1/order``).

        ``params``: ``clientOrderId`` / ``newClientOrderId``, ``postOnly`` or
        ``timeInForce="GTX"`` (``"PO"``), ``reduceOnly`` (true or "true").
        """
        market = self._check_symbol(symbol)
        self._ensure_started()
        kind = str(type).lower()
        post_only = bool(params.get("postOnly")) or params.get("timeInForce") in ("GTX", "PO")
        if kind == "market" and post_only:
            raise ccxt.InvalidOrder(f"{self._parser.id} createOrder() does not support postOnly market orders")
        reduce_only = _flag(params.get("reduceOnly"))
        client_id = self._client_id(params, "clientOrderId", "newClientOrderId")
        amount_text = self._parser.amount_to_precision(symbol, str(to_decimal(amount, "amount")))
        price_dec: Decimal | None = None
        if kind != "market" and price is not None:
            price_dec = to_decimal(self._parser.price_to_precision(symbol, str(to_decimal(price, "price"))), "price")
        await self._sleep_ms(self._request_ms())
        now = self.now_ms()
        try:
            order = self.core.place(
                client_id, side, kind, to_decimal(amount_text, "amount"), price_dec, post_only, now, reduce_only
            )
        except SimOrderError as exc:
            raise await self._refused(exc, "POST", "/fapi/v1/order") from None
        finally:
            self._dispatch()
        response = uf.order_response(order, reduce_only=reduce_only)
        p = self.config.create_timeout_p
        if p and self._timeout_rng.random() < p:
            self.faults.create_timeouts += 1
            await self._sleep_ms(max(0, self.config.request_timeout_ms - self._request_ms()))
            raise ccxt.RequestTimeout(f"{self._parser.id} POST /fapi/v1/order request timeout (simulated)")
        await self._sleep_ms(self._response_ms())
        return cast(dict[str, Any], self._parser.parse_order(response, market))

    async def cancel_order(
        self, id: str | None, symbol: str | None = None, params: dict[str, Any] = {}
    ) -> dict[str, Any]:
        """``DELETE /fapi/v1/order`` by id or ``params["clientOrderId"]``."""
        if symbol is not None:
            self._check_symbol(symbol)
        self._ensure_started()
        ref = self._order_ref(id, params)
        await self._sleep_ms(self._request_ms())
        now = self.now_ms()
        try:
            order = self.core.cancel(ref, now)
        except SimOrderError as exc:
            raise await self._refused(exc, "DELETE", "/fapi/v1/order") from None
        finally:
            self._dispatch()
        response = uf.order_response(order, reduce_only=self.core.reduce_only.get(order.order_id, False))
        await self._sleep_ms(self._response_ms())
        return self._parse_order(response)

    async def fetch_order(
        self, id: str | None, symbol: str | None = None, params: dict[str, Any] = {}
    ) -> dict[str, Any]:
        """``GET /fapi/v1/order`` by id, or by ``params["clientOrderId"]``."""
        if symbol is not None:
            self._check_symbol(symbol)
        ref = self._order_ref(id, params)
        await self._fetch_fault("/fapi/v1/order")
        try:
            order = self.core.get_order(ref)
        except SimOrderError as exc:
            raise await self._refused(exc, "GET", "/fapi/v1/order") from None
        response = uf.order_query(order, reduce_only=self.core.reduce_only.get(order.order_id, False))
        await self._sleep_ms(self._response_ms())
        return self._parse_order(response)

    async def fetch_open_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[dict[str, Any]]:
        """``GET /fapi/v1/openOrders``, oldest first."""
        market = self._market if symbol is None else self._check_symbol(symbol)
        await self._fetch_fault("/fapi/v1/openOrders")
        core = self.core
        response = [
            uf.open_order_row(o, reduce_only=core.reduce_only.get(o.order_id, False)) for o in core.open_orders()
        ]
        await self._sleep_ms(self._response_ms())
        return cast(list[dict[str, Any]], self._parser.parse_orders(response, market, since, limit))

    async def fetch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[dict[str, Any]]:
        """``GET /fapi/v1/userTrades``: ``fromId``, or ``since``/``until`` (``endTime``), or
        the most recent; ``orderId`` restricts to one order; ``limit`` 500 by default, at most 1000."""
        market = self._market if symbol is None else self._check_symbol(symbol)
        await self._fetch_fault("/fapi/v1/userTrades")
        count = min(limit or _TRADES_DEFAULT_LIMIT, _TRADES_MAX_LIMIT)
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
        realized = self.core.realized_by_trade
        response = [uf.user_trade_row(t, realized.get(t.trade_id, Decimal(0))) for t in rows]
        await self._sleep_ms(self._response_ms())
        return cast(list[dict[str, Any]], self._parser.parse_trades(response, market, since, limit))

    # --- private stream -----------------------------------------------------------------------

    async def watch_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[dict[str, Any]]:
        """Order updates (one per ``ORDER_TRADE_UPDATE``) delivered since the previous call."""
        return await self._watch("orders", symbol, since, limit)

    async def watch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[dict[str, Any]]:
        """Trades (``ORDER_TRADE_UPDATE`` with ``x == TRADE``) delivered since the previous call."""
        return await self._watch("trades", symbol, since, limit)

    def _take(self, kind: _Kind) -> list[dict[str, Any]]:
        log = self.stream.log
        start = self._cursors[kind]
        self._cursors[kind] = len(log)
        out: list[dict[str, Any]] = []
        for event in log[start:]:
            payload = event.payload
            if payload.get("e") != "ORDER_TRADE_UPDATE":
                continue
            # ccxt.pro hands the event's "o" object to its parsers; a copy, so the truth stays intact.
            o = dict(payload["o"])
            if kind == "orders":
                out.append(self._parser.parse_ws_order(o))
            elif o.get("x") == "TRADE":
                out.append(self._parser.parse_ws_trade(o))
        return out
