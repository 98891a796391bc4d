"""Perpetual (USDⓈ-M) grids: the venue's position read with its sign, reduce-only closes,
and the margin guard.

One-way mode holds one net position per symbol (Binance ``positionSide`` ``BOTH``, its
``positionAmt`` signed: negative is short), which the drift check compares with the ledger's
net slot inventory (long slots minus short slots). The margin guard reads the position and
the account every ``margin_poll_s``: above ``max_margin_ratio`` opening orders pause (the
engine's pause reasons, like drift or a twin), closing orders go on, and at or below
``resume_margin_ratio`` they resume.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from gridledger.config_perp import PerpConfig
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import ZERO, InputError, fmt, opt_decimal
from gridledger.domain.types import GridDirection, Side
from gridledger.engine.shared import Shared
from gridledger.ledger.ledger import Ledger
from gridledger.logs import log_event

log = logging.getLogger("gridledger.engine")

__all__ = [
    "MarginGuard",
    "MarginReading",
    "closes_reduce_only",
    "margin_ratio",
    "net_position",
    "signed_position",
]


def net_position(ledger: Ledger) -> Decimal:
    """The ledger's net slot inventory in base units: long slots minus short slots (for a
    long grid, its position)."""
    return ledger.net_position


def _is_neutral(grid: GridSpec) -> bool:
    return grid.direction is GridDirection.NEUTRAL


def closes_reduce_only(grid: GridSpec, ledger: Ledger, side: Side, amount: Decimal) -> bool:
    """Whether a closing order is sent reduce-only.

    In one-way mode a closing order of a long or a short grid always reduces the net
    position, so it goes reduce-only: the venue then refuses it rather than let it open a
    position the other way (after a liquidation, or an operator's manual close). A neutral
    grid's closes go reduce-only only when they reduce the current net position: while long
    slots and short slots hold inventory at once, a short slot's closing buy can face a net
    long, and a reduce-only buy would be refused for a close the ledger needs."""
    if grid.instrument.kind != "linear":
        return False
    if not _is_neutral(grid):
        return True
    net = net_position(ledger)
    if side is Side.BUY:
        return net < 0 and amount <= -net
    return net > 0 and amount <= net


def _rows_for(rows: Iterable[Mapping[str, Any]], symbol: str) -> list[Mapping[str, Any]]:
    # Rows are ccxt's parsed dicts; anything else in the list is ignored, never trusted.
    return [r for r in rows if isinstance(r, Mapping) and r.get("symbol") == symbol]  # type: ignore[redundant-expr]


def signed_position(rows: Iterable[Mapping[str, Any]], symbol: str, instrument: Instrument) -> Decimal:
    """The venue's net position in base units from ccxt position structures.

    Binance's raw ``positionAmt`` is signed (one-way mode) and is used when present: ccxt's
    ``contracts`` is its absolute value and its ``side`` is derived. Otherwise ``contracts``
    times ``contractSize`` with the sign of ``side``."""
    total = ZERO
    for pos in _rows_for(rows, symbol):
        info = pos.get("info")
        amt = info.get("positionAmt") if isinstance(info, Mapping) else None
        if amt is not None:
            total += (opt_decimal(amt, "position positionAmt", negative_ok=True) or ZERO) * instrument.contract_size
            continue
        contracts = opt_decimal(pos.get("contracts"), "position contracts", negative_ok=True) or ZERO
        size = opt_decimal(pos.get("contractSize"), "contract size") or instrument.contract_size
        amount = abs(contracts) * size
        total += -amount if pos.get("side") == "short" else amount
    return total


_RATIO_STEP = Decimal("1e-8")  # a ratio shown and compared to 8 places, not 28 digits of a quotient


def margin_ratio(
    position: Mapping[str, Any] | None, balance: Mapping[str, Any] | None, margin_mode: str
) -> Decimal | None:
    ratio = _margin_ratio(position, balance, margin_mode)
    return ratio.quantize(_RATIO_STEP, rounding=ROUND_HALF_EVEN).normalize() if ratio is not None else None


def _margin_ratio(
    position: Mapping[str, Any] | None, balance: Mapping[str, Any] | None, margin_mode: str
) -> Decimal | None:
    """Maintenance margin over margin balance, as Binance shows it (1 means liquidation).

    Cross: the account's ``totalMaintMargin / totalMarginBalance`` (the balance's raw account
    answer). Isolated: the position's ``maintMargin / (isolatedWallet + unRealizedProfit)``.
    Otherwise ccxt's unified ``marginRatio`` of the position. None when nothing says."""
    if margin_mode == "isolated" and position is None:
        return ZERO  # no isolated position: no maintenance margin to cover
    info = position.get("info") if position is not None else None
    if margin_mode == "isolated" and isinstance(info, Mapping):
        maint = opt_decimal(info.get("maintMargin"), "position maintMargin")
        wallet = opt_decimal(info.get("isolatedWallet"), "position isolatedWallet", negative_ok=True)
        upnl = opt_decimal(info.get("unRealizedProfit"), "position unRealizedProfit", negative_ok=True) or ZERO
        if maint is not None and wallet is not None:
            equity = wallet + upnl
            return maint / equity if equity > 0 else (Decimal(1) if maint > 0 else ZERO)
    account = balance.get("info") if balance is not None else None
    if margin_mode == "cross" and isinstance(account, Mapping):
        total_maint = opt_decimal(account.get("totalMaintMargin"), "account totalMaintMargin")
        balance_total = opt_decimal(account.get("totalMarginBalance"), "account totalMarginBalance", negative_ok=True)
        if total_maint is not None and balance_total is not None:
            if balance_total > 0:
                return total_maint / balance_total
            return Decimal(1) if total_maint > 0 else ZERO
    if position is not None:
        return opt_decimal(position.get("marginRatio"), "position marginRatio")
    return None


@dataclass(frozen=True, slots=True)
class MarginReading:
    """What the venue said about the grid's position and margin, at ``at_ms``."""

    position: Decimal  # signed base units
    liquidation_price: Decimal | None  # None: no position, or the venue gives none ("0")
    margin_ratio: Decimal | None
    leverage: Decimal | None
    margin_mode: str | None
    at_ms: int


def reading_from(
    rows: Iterable[Mapping[str, Any]],
    balance: Mapping[str, Any] | None,
    symbol: str,
    instrument: Instrument,
    margin_mode: str,
    at_ms: int,
) -> MarginReading:
    mine = _rows_for(rows, symbol)
    row = mine[0] if mine else None
    liq = opt_decimal(row.get("liquidationPrice"), "position liquidationPrice") if row is not None else None
    mode = row.get("marginMode") if row is not None else None
    return MarginReading(
        position=signed_position(mine, symbol, instrument),
        liquidation_price=liq if liq else None,
        margin_ratio=margin_ratio(row, balance, margin_mode),
        leverage=opt_decimal(row.get("leverage"), "position leverage") if row is not None else None,
        margin_mode=mode if isinstance(mode, str) else None,
        at_ms=at_ms,
    )


class MarginGuard:
    """Reads position and margin every ``margin_poll_s``; pauses opening orders above
    ``max_margin_ratio`` until the ratio is back at or below ``resume_margin_ratio``."""

    def __init__(self, shared: Shared, perp: PerpConfig) -> None:
        self.sh = shared
        self.perp = perp
        self.reading: MarginReading | None = None
        self.paused = False
        self.pauses = 0
        self.failures = 0

    @property
    def available(self) -> bool:
        return callable(getattr(self.sh.ex, "fetch_positions", None))

    @property
    def reason(self) -> str:
        # Stable while paused (the engine publishes PAUSE when its reasons change); the
        # ratio itself is in the status line and the API.
        return f"margin ratio above {fmt(self.perp.max_margin_ratio)}"

    def judge(self, reading: MarginReading) -> None:
        """Record a reading and pause or resume on it."""
        self.reading = reading
        ratio = reading.margin_ratio
        if ratio is None:
            return  # nothing measured: keep the last decision
        if not self.paused and ratio > self.perp.max_margin_ratio:
            self.paused = True
            self.pauses += 1
            log_event(
                log,
                logging.WARNING,
                "margin ratio above the limit: opening orders paused",
                margin_ratio=ratio,
                max_margin_ratio=self.perp.max_margin_ratio,
                liquidation_price=reading.liquidation_price,
            )
        elif self.paused and ratio <= self.perp.resume_ratio:
            self.paused = False
            log_event(
                log,
                logging.WARNING,
                "margin ratio back within the limit: opening orders resume",
                margin_ratio=ratio,
                resume_margin_ratio=self.perp.resume_ratio,
            )
            self.sh.decide.set()  # place at once, not at the next price

    async def check(self) -> MarginReading | None:
        """One reading (positions and the account); None when the venue did not answer."""
        sh = self.sh
        fetch_positions = getattr(sh.ex, "fetch_positions", None)
        if fetch_positions is None:
            return None
        positions = await sh.caller.retry("fetch_positions", lambda: fetch_positions([sh.symbol]))
        if positions.value is None:
            self.failures += 1
            return None
        balance = None
        if self.perp.margin_mode == "cross":
            answer = await sh.caller.retry("fetch_balance", lambda: sh.ex.fetch_balance())
            balance = answer.value
        try:
            reading = reading_from(
                positions.value or [], balance, sh.symbol, sh.grid.instrument, self.perp.margin_mode, sh.now_ms()
            )
        except (InputError, ArithmeticError) as exc:
            self.failures += 1
            log_event(log, logging.WARNING, "unusable position or margin answer ignored", reason=str(exc)[:200])
            return None
        # PAUSE / RESUME events come from the engine's pause reasons (runtime.publish_pause_state).
        self.judge(reading)
        return reading

    async def loop(self) -> None:
        sh = self.sh
        while not sh.stopping:
            await asyncio.sleep(self.perp.margin_poll_s)  # the engine's start read it first
            try:
                await self.check()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a guard that stops watching would leave the pause stale
                self.failures += 1
                log_event(log, logging.ERROR, "margin check failed", error=type(exc).__name__, message=str(exc)[:200])
