"""The figures the simulated perpetual's USDⓈ-M payloads are rendered from (computed by the core)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

__all__ = ["AccountView", "PositionView"]


@dataclass(frozen=True, slots=True)
class PositionView:
    """The position figures every position payload is rendered from (computed by the core)."""

    symbol: str  # the venue id, BTCUSDT
    amount: Decimal  # signed: negative is short
    entry: Fraction
    mark: Decimal
    unrealized: Fraction
    liquidation: Decimal
    isolated_margin: Decimal  # 0 in cross mode
    isolated_wallet: Decimal
    initial_margin: Fraction
    position_margin: Fraction
    order_margin: Fraction
    maintenance: Decimal
    leverage: int
    margin_mode: str  # cross | isolated
    realized_total: Fraction  # accumulated realized PnL (ACCOUNT_UPDATE "cr")
    bids_notional: Decimal
    asks_notional: Decimal
    update_ms: int


@dataclass(frozen=True, slots=True)
class AccountView:
    """The account's settle-asset figures (one asset: the market's settle coin)."""

    asset: str
    wallet: Fraction
    cross_wallet: Fraction
    unrealized: Fraction
    margin_balance: Fraction
    initial_margin: Fraction
    position_margin: Fraction
    order_margin: Fraction
    maintenance: Decimal
    available: Fraction
    update_ms: int
