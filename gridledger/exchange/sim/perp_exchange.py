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

from decimal import Decimal
from typing import Any, cast

import ccxt
import ccxt.pro

from gridledger.exchange.sim import binance_usdm_format as uf
from gridledger.exchange.sim.errors import SimOrderError
from gridledger.exchange.sim.perp_exchange_account import PerpAccountMethods
from gridledger.exchange.sim.perp_exchange_base import make_usdm_parser
from gridledger.exchange.sim.rest_select import select_trades, trades_count

__all__ = ["PerpSimExchange", "make_usdm_parser"]


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


class PerpSimExchange(PerpAccountMethods):
    """A simulated Binance USDⓈ-M perpetual with ccxt's async unified API (one-way mode)."""

    id = "simusdm"

    # --- market data --------------------------------------------------------------------------

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
        amount_dec, price_dec = self._order_numbers(symbol, kind, amount, price)
        await self._sleep_ms(self._request_ms())
        now = self.now_ms()
        try:
            order = self.core.place(client_id, side, kind, amount_dec, price_dec, post_only, now, reduce_only)
        except SimOrderError as exc:
            raise await self._refused(exc, "POST", "/fapi/v1/order") from None
        finally:
            self._dispatch()
        response = uf.order_response(order, reduce_only=reduce_only)
        await self._maybe_create_timeout("/fapi/v1/order")
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
        until = params.get("until", params.get("endTime"))
        rows = select_trades(
            self.core.trades, params.get("orderId"), params.get("fromId"), since, until, trades_count(limit)
        )
        realized = self.core.realized_by_trade
        response = [uf.user_trade_row(t, realized.get(t.trade_id, Decimal(0))) for t in rows]
        await self._sleep_ms(self._response_ms())
        return cast(list[dict[str, Any]], self._parser.parse_trades(response, market, since, limit))
