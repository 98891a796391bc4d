"""Checks before the first live order: a failed check is a message and an exit code."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

import ccxt

from gridledger.backtest.feeguard import check_fee_step
from gridledger.domain.numbers import ZERO, InputError, opt_decimal
from gridledger.domain.types import Direction, GridDirection, Role, Side
from gridledger.engine.markets import MarketError, fee_rates
from gridledger.engine.runtime import EngineFatal, GridEngine
from gridledger.live.perp_setup import EXIT_PERP_SETUP, PerpSetupError, setup_perp
from gridledger.logs import redact
from gridledger.strategy import (
    Place,
    StrategyState,
    check_grid,
    decide,
    meets_minimums,
    order_price,
    sellable_amount,
)
from gridledger.strategy.levels import GRID_CONTEXT

_MARGIN_STEP = Decimal("1e-8")


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
        raise PreflightError(
            f"authentication failed: check the API key and secret ({redact(str(exc))[:200]})", 4
        ) from None
    except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
        raise PreflightError(f"cannot load markets: {type(exc).__name__}: {redact(str(exc))[:300]}", 4) from None
    except (EngineFatal, MarketError) as exc:
        raise PreflightError(str(exc)) from None
    market = engine.ex.markets[engine.symbol]
    lines.append(f"market {engine.symbol} found ({market.get('type')})")
    if inst.kind == "spot" and not market.get("spot"):
        raise PreflightError(f"{engine.symbol} is not a spot market on {engine.ex.id}")
    if inst.kind == "linear" and not market.get("linear"):
        raise PreflightError(f"{engine.symbol} is not a linear contract market on {engine.ex.id}")
    assert engine.rules is not None and engine.params is not None
    rules = engine.rules
    lines.append(
        f"{'contract ' if inst.kind == 'linear' else ''}precision: amount step {rules.amount_step}, "
        f"price step {rules.price_step}; limits: min amount {rules.min_amount}, min notional {rules.min_notional}"
    )
    leverage = 1
    if inst.kind == "linear":
        # One-way mode, leverage and margin mode: set, then read back; nothing is placed
        # unless the venue confirms all three (live/perp_setup.py). A dry run only reads.
        try:
            perp_lines, _ = await setup_perp(engine, engine.config.perp, apply=not engine.dry_run)
        except PerpSetupError as exc:
            raise PreflightError(str(exc), EXIT_PERP_SETUP) from None
        lines.extend(perp_lines)
        leverage = engine.config.perp.leverage
    try:
        check_grid(engine.params, rules)
    except ValueError as exc:
        raise PreflightError(f"grid does not fit the market: {exc}") from None
    maker, taker = fee_rates(market)
    if maker is None:
        try:
            fee = await engine.ex.fetch_trading_fee(engine.symbol)  # type: ignore[attr-defined]
            maker = opt_decimal(fee.get("maker"), "maker fee", negative_ok=True)
        except Exception as exc:
            raise PreflightError(f"fee rate unknown: {redact(str(exc))[:200]}") from None
    if maker is None:
        raise PreflightError("fee rate unknown: the market gives no maker fee")
    lines.append(f"fees: maker {maker}, taker {taker}")
    price = await _current_price(engine)
    in_effect = engine.risk_exit
    if in_effect is not None:
        # A journaled risk exit places no opening order again until it is cleared: the fee-step,
        # window and balance checks are about opening orders, and refusing the start on them
        # would leave the exit's inventory unclosed.
        lines.append(
            f"risk exit in effect: {in_effect.kind} ({in_effect.phase}); no opening orders, so the fee-step, "
            "window and balance checks are skipped"
        )
        return PreflightReport(tuple(lines), maker, ZERO)
    fee_check = check_fee_step(engine.params, maker, taker if taker is not None else maker, price)
    if not fee_check.ok:
        if not engine.config.strategy.allow_step_below_fee:
            raise PreflightError(
                f"{fee_check.message()}; widen [grid] interval, or set [strategy] "
                "allow_step_below_fee = true to run it anyway"
            )
        lines.append(f"warning: {fee_check.message()} (allowed by [strategy] allow_step_below_fee)")
    buys = _check_window(engine, price, maker, taker)  # the opening orders: buys, sells or both
    direction = engine.grid.direction
    lines.append(window_line(direction, price, buys))
    try:
        balance = await engine.ex.fetch_balance()
    except ccxt.AuthenticationError as exc:
        raise PreflightError(f"authentication failed: {redact(str(exc))[:200]}", 4) from None
    except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
        raise PreflightError(f"cannot fetch the balance: {type(exc).__name__}: {redact(str(exc))[:300]}", 4) from None
    funding = inst.settle or inst.quote
    free = opt_decimal((balance.get(funding) or {}).get("free"), f"{funding} free balance") or ZERO
    # What the window's buys cost at the current price, as the strategy sizes them (on a
    # perpetual: the initial margin of that notional at the leverage).
    needed = sum((b.amount * b.price for b in buys), ZERO)
    if leverage > 1:  # rounded up to 1e-8: a margin estimate, not 28 digits of a quotient
        needed = (needed / leverage).quantize(_MARGIN_STEP, rounding=ROUND_CEILING)
    # Our live opening orders hold funds the window needs again: a long grid's buys, and on a
    # perpetual a short grid's opening sells too (a neutral grid has both). Closing orders
    # hold none (reduce-only on a perpetual; a spot sell holds base). On a perpetual they hold
    # their initial margin, rounded down: crediting more than they hold would pass a start
    # that cannot fund its window.
    committed = sum(
        ((r.amount or ZERO) * (r.price or ZERO) for r in engine.ledger.live_orders() if r.role is Role.OPEN), ZERO
    )
    if leverage > 1:
        committed = (committed / leverage).quantize(_MARGIN_STEP, rounding=ROUND_FLOOR)
    if free + committed < needed:
        long = engine.grid.direction is GridDirection.LONG
        opens, held = ("buys", "open buys") if long else ("opening orders", "live opening orders")
        raise PreflightError(
            f"balance: the grid needs {needed} {funding} for {len(buys)} {opens} of about "
            f"{engine.params.quote_per_level}; {free} is free (+{committed} in our {held})"
        )
    window = {GridDirection.LONG: "buy window", GridDirection.SHORT: "sell window"}.get(direction, "opening window")
    lines.append(f"balance: {free} {funding} free, {needed} needed for the {window}")
    return PreflightReport(tuple(lines), maker, free)


def _listed(orders: list[Place]) -> str:
    return ", ".join(f"{o.amount} at {o.price}" for o in orders) or "none"


def window_line(direction: GridDirection, price: Decimal, opens: list[Place]) -> str:
    """The preflight's line about the opening orders the strategy would place now."""
    if direction is GridDirection.LONG:
        return f"price {price}: the buy window would place {len(opens)} buys, {_listed(opens)}"
    if direction is GridDirection.SHORT:
        return f"price {price}: the sell window would place {len(opens)} opening sells, {_listed(opens)}"
    buys = [o for o in opens if o.side is Side.BUY]
    sells = [o for o in opens if o.side is Side.SELL]
    return (
        f"price {price}: the opening window would place {len(buys)} buys below the pivot "
        f"({_listed(buys)}) and {len(sells)} opening sells above it ({_listed(sells)})"
    )


async def _current_price(engine: GridEngine) -> Decimal:
    try:
        ticker = await engine.ex.fetch_ticker(engine.symbol)
    except ccxt.AuthenticationError as exc:
        raise PreflightError(f"authentication failed: {redact(str(exc))[:200]}", 4) from None
    except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
        raise PreflightError(f"cannot fetch the price: {type(exc).__name__}: {redact(str(exc))[:300]}", 4) from None
    try:
        price = opt_decimal((ticker or {}).get("last"), "ticker last")
    except InputError as exc:
        raise PreflightError(f"the exchange's price is unusable: {exc}", 4) from None
    if price is None or price <= 0:
        raise PreflightError(f"the exchange gives no last price for {engine.symbol}", 4)
    return price


def _check_window(engine: GridEngine, price: Decimal, maker: Decimal, taker: Decimal | None) -> list[Place]:
    """The opening orders the strategy would place now (a long slot's buys, a short slot's
    sells), and the closing order of each (one level up for a long slot, one down for a short).

    Sizing comes from the strategy itself (``decide`` at the trailing centre for ``price``,
    on an empty grid so every level of the window is sized), not from the anchor: a grid
    whose anchor is far from the market buys very different amounts there.
    """
    assert engine.params is not None and engine.rules is not None
    params, rules = engine.params, engine.rules
    decision = decide(StrategyState(), params, rules, price, {}, paused=False)
    small = [n for n in decision.notes if n.kind == "below_min"]
    if small:
        raise PreflightError(
            f"quote_per_level {params.quote_per_level} is too small at the current price "
            f"{price}: level {small[0].level}: {small[0].detail}"
        )
    buys = [a for a in decision.actions if isinstance(a, Place) and a.role is Role.OPEN]
    # A spot buy pays its fee in the base asset (at worst the taker rate), so it holds less
    # than it bought: the closing sell of what is left must still clear the minimums, or
    # every round trip would leave unsellable dust.
    rate = max(maker, taker or ZERO, ZERO) if engine.grid.instrument.kind == "spot" else ZERO
    for buy in buys:
        with localcontext(GRID_CONTEXT):
            held = buy.amount - buy.amount * rate
        sell_amount = sellable_amount(held, rules)
        slot = params.level_direction(buy.level) or Direction.LONG
        sell_price = order_price(params, rules, buy.level + slot.step)
        if not meets_minimums(sell_amount, sell_price, rules):
            opening, closing = slot.opening_side.value, slot.closing_side.value
            raise PreflightError(
                f"quote_per_level {params.quote_per_level} is too small: the {opening} of {buy.amount} at "
                f"{buy.price} keeps {sell_amount} after a base-asset fee, and its closing {closing} at {sell_price} would be "
                f"below the market's minimum amount {rules.min_amount} or notional {rules.min_notional}; "
                "raise quote_per_level"
            )
    return buys
