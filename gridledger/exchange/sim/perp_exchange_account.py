"""The simulated USDⓈ-M perpetual's account, position and settings methods (ccxt's API).

Balance, positions, funding history, leverage, margin mode and position mode: each renders the
Binance payload (:mod:`.binance_usdm_format`) and parses it with ccxt's own parser.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import ccxt
import ccxt.pro

from gridledger.exchange.sim import binance_usdm_format as uf
from gridledger.exchange.sim.errors import SimOrderError
from gridledger.exchange.sim.perp_exchange_base import PerpVenueBase
from gridledger.exchange.sim.perp_values import MAX_LEVERAGE

__all__ = ["PerpAccountMethods"]

_INCOME_DEFAULT_LIMIT = 100
_INCOME_MAX_LIMIT = 1000


class PerpAccountMethods(PerpVenueBase):
    """``fetch_balance``, ``fetch_positions``, ``fetch_funding_history`` and the settings calls."""

    async def fetch_balance(self, params: dict[str, Any] = {}) -> dict[str, Any]:
        """``GET /fapi/v3/account`` parsed by ccxt's linear balance parser (free: available
        balance, used: initial margin, total: margin balance)."""
        await self._fetch_fault("/fapi/v3/account")
        core = self.core
        response = uf.account_v3(core.account_view(), [core.position_view()])
        await self._sleep_ms(self._response_ms())
        return cast(dict[str, Any], self._parser.parse_balance_custom(response, "linear"))

    async def fetch_positions(
        self, symbols: list[str] | None = None, params: dict[str, Any] = {}
    ) -> list[dict[str, Any]]:
        """``GET /fapi/v3/positionRisk``; as ccxt does, only open positions are returned."""
        if symbols is not None:
            for symbol in symbols:
                self._check_symbol(symbol)
        await self._fetch_fault("/fapi/v3/positionRisk")
        row = uf.position_risk_v3(self.core.position_view())
        await self._sleep_ms(self._response_ms())
        parser = self._parser
        result = [parser.parse_position_risk(row)] if Decimal(row["entryPrice"]) > 0 else []
        return cast(
            list[dict[str, Any]], parser.filter_by_array_positions(result, "symbol", parser.market_symbols(symbols))
        )

    async def fetch_funding_history(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] = {},
    ) -> list[dict[str, Any]]:
        """``GET /fapi/v1/income?incomeType=FUNDING_FEE``: oldest first within
        ``since``/``until``; without a range, the most recent ``limit`` (100 by default)."""
        market = None if symbol is None else self._check_symbol(symbol)
        await self._fetch_fault("/fapi/v1/income")
        until = params.get("until", params.get("endTime"))
        count = min(limit or _INCOME_DEFAULT_LIMIT, _INCOME_MAX_LIMIT)
        rows = [
            p
            for p in self.core.funding
            if (since is None or p.ts_ms >= since) and (until is None or p.ts_ms <= int(until))
        ]
        rows = rows[:count] if since is not None else rows[-count:]
        response = [uf.income_row(self.spec.venue_id, self.spec.settle, p) for p in rows]
        await self._sleep_ms(self._response_ms())
        return cast(list[dict[str, Any]], self._parser.parse_incomes(response, market, since, limit))

    async def _setting(self) -> None:
        self._ensure_started()
        await self._sleep_ms(self._request_ms())

    async def set_leverage(
        self, leverage: int, symbol: str | None = None, params: dict[str, Any] = {}
    ) -> dict[str, Any]:
        """``POST /fapi/v1/leverage``; ccxt refuses a leverage outside 1-125 before sending."""
        if symbol is None:
            raise ccxt.ArgumentsRequired(f"{self._parser.id} setLeverage() requires a symbol argument")
        if leverage < 1 or leverage > MAX_LEVERAGE:
            raise ccxt.BadRequest(f"{self._parser.id} leverage should be between 1 and 125")
        self._check_symbol(symbol)
        await self._setting()
        try:
            value = self.core.set_leverage(int(leverage))
        except SimOrderError as exc:
            raise await self._refused(exc, "POST", "/fapi/v1/leverage") from None
        await self._sleep_ms(self._response_ms())
        return uf.leverage_response(self.spec.venue_id, value)

    async def set_margin_mode(
        self, marginMode: str, symbol: str | None = None, params: dict[str, Any] = {}
    ) -> dict[str, Any]:
        """``POST /fapi/v1/marginType``: ``cross`` or ``isolated`` (-4046 when already so,
        raised as ``MarginModeAlreadySet`` as ccxt's default options do)."""
        if symbol is None:
            raise ccxt.ArgumentsRequired(f"{self._parser.id} setMarginMode() requires a symbol argument")
        value = marginMode.upper()
        if value == "CROSS":
            value = "CROSSED"
        if value not in ("ISOLATED", "CROSSED"):
            raise ccxt.BadRequest(f"{self._parser.id} marginMode must be either isolated or cross")
        self._check_symbol(symbol)
        await self._setting()
        try:
            self.core.set_margin_mode(value)
        except SimOrderError as exc:
            error = await self._refused(exc, "POST", "/fapi/v1/marginType")
            throw = self._parser.handle_option("setMarginMode", "throwMarginModeAlreadySet", False)
            if isinstance(error, ccxt.MarginModeAlreadySet) and throw is not True:
                return {"code": -4046, "msg": "No need to change margin type."}
            raise error from None
        await self._sleep_ms(self._response_ms())
        return uf.success()

    async def set_position_mode(
        self, hedged: bool, symbol: str | None = None, params: dict[str, Any] = {}
    ) -> dict[str, Any]:
        """``POST /fapi/v1/positionSide/dual`` (the simulator trades one-way mode only:
        in hedge mode every order is refused with -4061)."""
        if symbol is not None:
            self._check_symbol(symbol)
        await self._setting()
        try:
            self.core.set_position_mode(bool(hedged))
        except SimOrderError as exc:
            raise await self._refused(exc, "POST", "/fapi/v1/positionSide/dual") from None
        await self._sleep_ms(self._response_ms())
        return uf.success()

    async def fetch_position_mode(self, symbol: str | None = None, params: dict[str, Any] = {}) -> dict[str, Any]:
        """``GET /fapi/v1/positionSide/dual``."""
        await self._fetch_fault("/fapi/v1/positionSide/dual")
        response = uf.position_mode(self.core.dual_side)
        await self._sleep_ms(self._response_ms())
        return {"info": response, "hedged": response["dualSidePosition"]}

    async def fetch_margin_mode(self, symbol: str, params: dict[str, Any] = {}) -> dict[str, Any]:
        """``GET /fapi/v1/symbolConfig`` parsed by ccxt's ``parse_margin_mode``."""
        market = self._check_symbol(symbol)
        await self._fetch_fault("/fapi/v1/symbolConfig")
        response = uf.symbol_config(self.spec.venue_id, self.core.margin_mode, self.core.leverage)
        await self._sleep_ms(self._response_ms())
        return cast(dict[str, Any], self._parser.parse_margin_mode(response[0], market))

    async def fetch_leverage(self, symbol: str, params: dict[str, Any] = {}) -> dict[str, Any]:
        """``GET /fapi/v1/symbolConfig`` parsed by ccxt's ``parse_leverage``."""
        market = self._check_symbol(symbol)
        await self._fetch_fault("/fapi/v1/symbolConfig")
        response = uf.symbol_config(self.spec.venue_id, self.core.margin_mode, self.core.leverage)
        await self._sleep_ms(self._response_ms())
        return cast(dict[str, Any], self._parser.parse_leverage(response[0], market))
