"""Checks before the first live order: a failed check is a message and an exit code."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import ccxt

from gridledger.domain.numbers import ZERO, opt_decimal
from gridledger.engine.markets import MarketError, fee_rates
from gridledger.engine.runtime import EngineFatal, GridEngine
from gridledger.logs import redact
from gridledger.strategy import buy_amount, check_grid


class PreflightError(RuntimeError):
    def __init__(self, message: str, code: int = 3) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class PreflightReport:
    lines: tuple[str, ...]
    maker_fee: Decimal | None
    free_quote: Decimal


async def preflight(engine: GridEngine) -> PreflightReport:
    lines: list[str] = []
    inst = engine.grid.instrument
    try:
        await engine.prepare()
    except ccxt.AuthenticationError as exc:
        raise PreflightError(f"authentication failed: check the API key and secret ({redact(str(exc))[:200]})", 4)
    except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
        raise PreflightError(f"cannot load markets: {type(exc).__name__}: {redact(str(exc))[:300]}", 4)
    except (EngineFatal, MarketError) as exc:
        raise PreflightError(str(exc))
    market = engine.ex.markets[engine.symbol]
    lines.append(f"market {engine.symbol} found ({market.get('type')})")
    if inst.kind == "spot" and not market.get("spot"):
        raise PreflightError(f"{engine.symbol} is not a spot market on {engine.ex.id}")
    if inst.kind == "linear" and not market.get("linear"):
        raise PreflightError(f"{engine.symbol} is not a linear contract market on {engine.ex.id}")
    assert engine.rules is not None and engine.params is not None
    rules = engine.rules
    lines.append(f"precision: amount step {rules.amount_step}, price step {rules.price_step}; "
                 f"limits: min amount {rules.min_amount}, min notional {rules.min_notional}")
    try:
        check_grid(engine.params, rules)
    except ValueError as exc:
        raise PreflightError(f"grid does not fit the market: {exc}")
    maker, taker = fee_rates(market)
    if maker is None:
        try:
            fee = await engine.ex.fetch_trading_fee(engine.symbol)  # type: ignore[attr-defined]
            maker = opt_decimal(fee.get("maker"), "maker fee", negative_ok=True)
        except Exception as exc:  # noqa: BLE001 - any failure means "unknown"
            raise PreflightError(f"fee rate unknown: {redact(str(exc))[:200]}")
    if maker is None:
        raise PreflightError("fee rate unknown: the market gives no maker fee")
    lines.append(f"fees: maker {maker}, taker {taker}")
    lowest = engine.grid.level_price(-engine.params.buy_window)
    amount = buy_amount(engine.params, rules, lowest)
    if amount < rules.min_amount or amount * lowest < rules.min_notional:
        raise PreflightError(
            f"quote_per_level {engine.params.quote_per_level} buys {amount} at {lowest}: below the market's "
            f"minimum amount {rules.min_amount} or notional {rules.min_notional}"
        )
    # A buy that pays its fee in the base asset holds less than it bought: its closing sell
    # must still clear the minimums, or every round trip would leave unsellable dust.
    net = amount - amount * max(maker, taker or ZERO, ZERO)
    sellable = (net // rules.amount_step) * rules.amount_step
    sell_price = engine.grid.level_price(-engine.params.buy_window + 1)
    if sellable < rules.min_amount or sellable * sell_price < rules.min_notional:
        raise PreflightError(
            f"quote_per_level {engine.params.quote_per_level} is too small: after a base-asset fee the "
            f"closing sell of {sellable} would be below the market's minimum amount {rules.min_amount} "
            f"or notional {rules.min_notional}; raise quote_per_level"
        )
    try:
        balance = await engine.ex.fetch_balance()
    except ccxt.AuthenticationError as exc:
        raise PreflightError(f"authentication failed: {redact(str(exc))[:200]}", 4)
    except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
        raise PreflightError(f"cannot fetch the balance: {type(exc).__name__}: {redact(str(exc))[:300]}", 4)
    funding = inst.settle or inst.quote
    free = opt_decimal((balance.get(funding) or {}).get("free"), f"{funding} free balance") or ZERO
    needed = engine.params.quote_per_level * engine.params.buy_window
    committed = sum(((r.amount or ZERO) * (r.price or ZERO) for r in engine.ledger.live_orders()
                     if r.side.value == "buy"), ZERO)
    if free + committed < needed:
        raise PreflightError(
            f"balance: the grid needs {needed} {funding} for {engine.params.buy_window} levels of "
            f"{engine.params.quote_per_level}; {free} is free (+{committed} in our open buys)"
        )
    lines.append(f"balance: {free} {funding} free, {needed} needed for the buy window")
    return PreflightReport(tuple(lines), maker, free)
