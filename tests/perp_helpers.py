"""Shared pieces of the perpetual (USDⓈ-M) unit tests: ccxt-shaped answers and a fake venue.

The answers are made by ccxt 4.5.90's own parsers (``binanceusdm.parse_position_risk``,
``parse_income``) from Binance's raw rows, so the tests see what ``gridledger live`` sees.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import ccxt

from gridledger.config import Config, parse_config
from gridledger.engine.executor import Caller
from gridledger.engine.resolver import OrderResolver
from gridledger.engine.shared import Shared
from gridledger.ledger.ledger import Ledger
from gridledger.store.journal import Journal

SYMBOL = "BTC/USDT:USDT"
T0 = 1_767_225_600_000
MARKET: dict[str, Any] = {
    "id": "BTCUSDT",
    "symbol": SYMBOL,
    "base": "BTC",
    "quote": "USDT",
    "settle": "USDT",
    "baseId": "BTC",
    "quoteId": "USDT",
    "settleId": "USDT",
    "type": "swap",
    "spot": False,
    "margin": False,
    "swap": True,
    "future": False,
    "option": False,
    "linear": True,
    "inverse": False,
    "contract": True,
    "contractSize": "1",
    "active": True,
    "maker": "0.0002",
    "taker": "0.0005",
    "precision": {"amount": "0.001", "price": "0.1", "base": "0.00000001", "quote": "0.00000001"},
    "limits": {"amount": {"min": "0.001"}, "cost": {"min": "100"}, "price": {}, "leverage": {}},
    "info": {},
}


def usdm() -> Any:
    """A ccxt binanceusdm object (no network) that knows BTC/USDT:USDT, for its parsers."""
    ex = ccxt.binanceusdm()
    ex.number = str
    ex.set_markets([MARKET])
    ex.options["leverageBrackets"] = {SYMBOL: [["0", "0.004"]]}
    return ex


def position_row(amt: str, *, liq: str = "0", maint: str = "0", wallet: str = "0", upnl: str = "0") -> dict[str, Any]:
    """A raw GET /fapi/v3/positionRisk row in one-way mode (positionSide BOTH, signed amount)."""
    return {
        "symbol": "BTCUSDT",
        "positionSide": "BOTH",
        "positionAmt": amt,
        "entryPrice": "30000",
        "breakEvenPrice": "30000",
        "markPrice": "30000",
        "unRealizedProfit": upnl,
        "liquidationPrice": liq,
        "isolatedMargin": wallet,
        "notional": str(D(amt) * 30000),
        "isolatedWallet": wallet,
        "updateTime": T0,
        "initialMargin": "0",
        "maintMargin": maint,
        "positionInitialMargin": "0",
        "openOrderInitialMargin": "0",
        "adl": "0",
        "bidNotional": "0",
        "askNotional": "0",
        "marginAsset": "USDT",
    }


def ccxt_position(amt: str, **kw: str) -> dict[str, Any]:
    return usdm().parse_position_risk(position_row(amt, **kw), MARKET)


def income_row(
    tran_id: int, income: str, ts: int, kind: str = "FUNDING_FEE", symbol: str = "BTCUSDT"
) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "incomeType": kind,
        "income": income,
        "asset": "USDT",
        "time": ts,
        "info": kind,
        "tranId": tran_id,
        "tradeId": "",
    }


def ccxt_income(*args: Any, **kw: Any) -> dict[str, Any]:
    return usdm().parse_income(income_row(*args, **kw))


def perp_config(**perp: Any) -> Config:
    data: dict[str, Any] = {
        "grid": {"id": "p1", "symbol": SYMBOL, "anchor": "30000", "interval": "100"},
        "strategy": {"buy_window": 3, "quote_per_level": "200", "max_open_orders": 10},
        "engine": {"journal_synchronous": "OFF", "rate_limit_per_s": 1000, "call_retry_backoff_s": 0.01},
    }
    if perp:
        data["perp"] = perp
    return parse_config(data)


class FakeUsdm:
    """Just enough of ccxt.pro binanceusdm for the perp pieces: every call is recorded."""

    id = "binanceusdm"

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.markets: dict[str, Any] = {SYMBOL: MARKET}
        self.hedged = False
        self.leverage = 20
        self.margin_mode = "cross"
        self.locked = False  # the venue refuses to change mode/margin type (a position exists)
        self.positions: list[dict[str, Any]] = [ccxt_position("0")]
        self.account: dict[str, Any] = {"totalMaintMargin": "0", "totalMarginBalance": "1000"}
        self.income: list[dict[str, Any]] = []
        self.balance_updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.fail: set[str] = set()

    def _call(self, name: str, *args: Any) -> None:
        self.calls.append((name, args))
        if name in self.fail:
            raise ccxt.NetworkError(f"{name} failed")

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]

    async def load_markets(self, reload: bool = False, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.markets

    async def set_position_mode(
        self, hedged: bool, symbol: str | None = None, params: dict[str, Any] | None = None
    ) -> Any:
        self._call("set_position_mode", hedged, symbol)
        if self.locked:
            raise ccxt.ExchangeError('binanceusdm {"code":-4068,"msg":"Position side cannot be changed"}')
        self.hedged = hedged
        return {"code": 200, "msg": "success"}

    async def fetch_position_mode(self, symbol: str | None = None, params: dict[str, Any] | None = None) -> Any:
        self._call("fetch_position_mode", symbol)
        return {"info": {"dualSidePosition": self.hedged}, "hedged": self.hedged}

    async def set_margin_mode(self, mode: str, symbol: str | None = None, params: dict[str, Any] | None = None) -> Any:
        self._call("set_margin_mode", mode, symbol)
        if self.locked:
            raise ccxt.ExchangeError('binanceusdm {"code":-4048,"msg":"Margin type cannot be changed"}')
        self.margin_mode = mode
        return {"code": 200, "msg": "success"}

    async def set_leverage(self, leverage: int, symbol: str | None = None, params: dict[str, Any] | None = None) -> Any:
        self._call("set_leverage", leverage, symbol)
        self.leverage = leverage
        return {"symbol": "BTCUSDT", "leverage": leverage, "maxNotionalValue": "1000000"}

    async def fetch_margin_mode(self, symbol: str, params: dict[str, Any] | None = None) -> Any:
        self._call("fetch_margin_mode", symbol)
        return usdm().parse_margin_mode(
            {
                "symbol": "BTCUSDT",
                "marginType": "CROSSED" if self.margin_mode == "cross" else "ISOLATED",
                "isAutoAddMargin": "false",
                "leverage": self.leverage,
                "maxNotionalValue": "1000000",
            },
            MARKET,
        )

    async def fetch_positions(self, symbols: list[str] | None = None, params: dict[str, Any] | None = None) -> Any:
        self._call("fetch_positions", symbols)
        return list(self.positions)

    async def fetch_balance(self, params: dict[str, Any] | None = None) -> Any:
        self._call("fetch_balance")
        return {"info": dict(self.account), "USDT": {"free": "1000", "used": "0", "total": "1000"}}

    async def fetch_funding_history(
        self,
        symbol: str | None = None,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        self._call("fetch_funding_history", symbol, since, limit)
        rows = sorted((r for r in self.income if since is None or r["time"] >= since), key=lambda r: r["time"])
        return [usdm().parse_income(r) for r in rows[: limit or 100]]

    async def watch_balance(self, params: dict[str, Any] | None = None) -> Any:
        message = await self.balance_updates.get()
        if isinstance(message, BaseException):
            raise message
        return {"info": message}


def shared(journal: Journal, ex: Any, cfg: Config, now: list[int]) -> Shared:
    return Shared(
        ex=ex,
        journal=journal,
        ledger=journal.ledger,
        config=cfg,
        grid=cfg.grid.spec(),
        now_ms=lambda: now[0],
        caller=Caller(1000, 5, 1, backoff_s=0.001, backoff_max_s=0.001),
        resolver=OrderResolver(),
    )


def open_journal(path: Path, cfg: Config) -> Journal:
    return Journal.open(path, Ledger(cfg.grid.spec()), synchronous="OFF")
