"""The ccxt-shaped methods the spot and the perpetual simulated venue share.

:class:`SimVenueApi` sits between :class:`~gridledger.exchange.sim.venue_runtime.SimVenueRuntime`
and the two venues (:class:`~gridledger.exchange.sim.exchange.SimExchange`,
:class:`~gridledger.exchange.sim.perp_exchange.PerpSimExchange`): the calls whose behaviour
does not depend on the market type (markets, ticker and private-stream watches, order-id and
amount/price handling, the simulated create timeout) are written once here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import ccxt

from gridledger.domain.numbers import to_decimal
from gridledger.exchange.sim.rest_select import client_id
from gridledger.exchange.sim.venue_config import PathExhausted
from gridledger.exchange.sim.venue_runtime import SimVenueRuntime

__all__ = ["SimVenueApi"]


class SimVenueApi(SimVenueRuntime):
    """Market-type-independent API methods over the simulated venue runtime."""

    _client_id = staticmethod(client_id)

    @property
    def _label(self) -> str:
        """The exchange id ccxt puts at the head of its messages."""
        return self.id

    def _illegal_order_id(self) -> ccxt.BaseError:
        """What the venue answers to an order id that is not a number (Binance -1100)."""
        raise NotImplementedError

    def _order_ref(self, id: Any, params: Mapping[str, Any]) -> int | str:
        client_order_id = self._client_id(params, "origClientOrderId", "clientOrderId")
        if client_order_id is not None:
            return client_order_id
        if id is None:
            raise ccxt.ArgumentsRequired(f"{self._label} requires an order id or params['clientOrderId']")
        try:
            return int(str(id))
        except ValueError:
            raise self._illegal_order_id() from None

    def _order_numbers(self, symbol: str, kind: str, amount: Any, price: Any) -> tuple[Decimal, Decimal | None]:
        """Amount truncated and price rounded to the market's precision, as ccxt's
        ``create_order`` does (a market order carries no price)."""
        amount_text = self._parser.amount_to_precision(symbol, str(to_decimal(amount, "amount")))
        price_dec: Decimal | None = None
        if kind != "market" and price is not None:
            price_dec = to_decimal(self._parser.price_to_precision(symbol, str(to_decimal(price, "price"))), "price")
        return to_decimal(amount_text, "amount"), price_dec

    async def _maybe_create_timeout(self, path: str) -> None:
        """Fault: the order was placed but its response is lost (``create_timeout_p``)."""
        p = self.config.create_timeout_p
        if p and self._timeout_rng.random() < p:
            self.faults.create_timeouts += 1
            await self._sleep_ms(max(0, self.config.request_timeout_ms - self._request_ms()))
            raise ccxt.RequestTimeout(f"{self._label} POST {path} request timeout (simulated)")

    async def load_markets(self, reload: bool = False, params: dict[str, Any] = {}) -> dict[str, Any]:
        """Markets of the simulated venue (its one market); served after REST latency."""
        self._ensure_started()
        await self._sleep_ms(self.config.rest_latency_ms)
        return self.markets

    async def watch_ticker(self, symbol: str, params: dict[str, Any] = {}) -> dict[str, Any]:
        """The ticker of the next tick (the venue's ``24hrTicker`` event parsed by ccxt.pro)."""
        self._check_symbol(symbol)
        self._ensure_started()
        self._raise_if_feed_failed()
        if self.path_done.is_set():
            raise PathExhausted("the price path has no more ticks")
        assert self._loop is not None
        fut: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._ticker_waiters.append(fut)
        return await fut

    async def watch_orders(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[dict[str, Any]]:
        """Order updates (one per stream order event) delivered since the previous call."""
        return await self._watch("orders", symbol, since, limit)

    async def watch_my_trades(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[dict[str, Any]]:
        """Trades (order events with execution type TRADE) delivered since the previous call."""
        return await self._watch("trades", symbol, since, limit)
