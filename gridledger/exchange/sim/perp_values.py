"""Value types of the simulated linear perpetual: the market, funding payments, liquidations.

A :class:`PerpMarketSpec` is a :class:`SimMarketSpec` (the same filters, fees and fill
budget) for a USDⓈ-M-style linear perpetual: one contract is one base unit (like Binance's
BTCUSDT perpetual), PnL, margin and fees are in the settle asset, and the margin rules are
the simulator's documented simplification of Binance's (see :mod:`.perp_margin`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from gridledger.exchange.sim.values import FeeMode, SimMarketSpec

MarginMode = Literal["cross", "isolated"]

EIGHT_HOURS_MS = 8 * 3_600_000
MAX_LEVERAGE = 125


@dataclass(frozen=True, slots=True)
class PerpMarketSpec(SimMarketSpec):
    """One linear perpetual. ``symbol`` is ``BASE/QUOTE:SETTLE`` (ccxt), ``venue_id`` Binance's.

    - ``maintenance_rate``: maintenance margin as a share of the position's notional at the
      mark (one bracket; Binance's first BTCUSDT bracket is 0.4 %).
    - ``funding_interval_ms``: funding happens at every multiple of it since the epoch
      (8 h: 00:00, 08:00 and 16:00 UTC, as on Binance).
    - ``funding_rates``: the rate of each funding in turn, cycled (a deterministic series;
      one value is a constant rate). Positive: longs pay shorts.
    - ``leverage`` / ``margin_mode``: the account's initial settings for the symbol.
    """

    symbol: str = "BTC/USDT:USDT"
    settle: str = "USDT"
    fee_mode: FeeMode = "quote"  # USDⓈ-M charges the settle coin (checked below)
    maintenance_rate: Decimal = Decimal("0.004")
    funding_interval_ms: int = EIGHT_HOURS_MS
    funding_rates: tuple[Decimal, ...] = (Decimal("0.0001"),)
    leverage: int = 10
    margin_mode: MarginMode = "cross"

    def __post_init__(self) -> None:
        if self.symbol != f"{self.base}/{self.quote}:{self.settle}":
            raise ValueError(f"symbol {self.symbol!r} must be {self.base}/{self.quote}:{self.settle}")
        if self.settle != self.quote:
            raise ValueError("a linear perpetual settles in its quote asset")
        for name in ("amount_step", "price_step"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("min_amount", "min_notional"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        # Negative fees are maker rebates; a rebate larger than a taker fee would pay to trade.
        for name in ("maker_fee", "taker_fee"):
            if not Decimal("-0.01") <= getattr(self, name) <= Decimal("0.1"):
                raise ValueError(f"{name} must be from -0.01 to 0.1")
        if self.fee_mode != "quote":
            raise ValueError("a linear perpetual charges fees in its settle asset (fee_mode quote)")
        if not 0 < self.participation <= 1:
            raise ValueError(f"participation must be in (0, 1], got {self.participation}")
        if not Decimal(0) < self.maintenance_rate < Decimal("0.5"):
            raise ValueError("maintenance_rate must be above 0 and below 0.5")
        if self.funding_interval_ms < 60_000:
            raise ValueError("funding_interval_ms must be at least a minute")
        if not self.funding_rates or any(not Decimal("-0.03") <= r <= Decimal("0.03") for r in self.funding_rates):
            raise ValueError("funding_rates must be one or more rates from -0.03 to 0.03")
        check_leverage(self.leverage)
        if self.margin_mode not in ("cross", "isolated"):
            raise ValueError(f"margin_mode must be cross or isolated, got {self.margin_mode!r}")

    @property
    def assets(self) -> tuple[str, ...]:
        return (self.settle,)


def check_leverage(leverage: int) -> int:
    # Checked at run time too: a bool is an int to Python, and config values come from outside.
    if type(leverage) is not int or not 1 <= leverage <= MAX_LEVERAGE:
        raise ValueError(f"leverage must be an integer from 1 to {MAX_LEVERAGE}, got {leverage!r}")
    return leverage


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One funding settlement: ``amount`` is what the wallet received (negative: paid);
    ``tran_id`` is its own id, as Binance's income rows carry one."""

    tran_id: int
    ts_ms: int
    rate: Decimal
    mark: Decimal
    position: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Liquidation:
    """A position closed by the venue because its margin fell below maintenance."""

    ts_ms: int
    order_id: int
    client_order_id: str
    position: Decimal
    mark: Decimal
    margin_balance: Decimal
    maintenance: Decimal
    insurance: Decimal  # what the insurance fund covered (a loss beyond the margin at stake)
