"""The simulated venue's value types: the market, balances, orders, trades, stream events and
ticker statistics.

Frozen snapshots shared by the core (:mod:`.matching`), the wire formats
(:mod:`.binance_format`, :mod:`.binance_market`) and the adapters, so none of them imports
another for its types.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from gridledger.domain.numbers import ZERO
from gridledger.domain.types import OrderStatus, Side

OrderType = Literal["limit", "market"]
FeeMode = Literal["quote", "base_on_buy", "third"]
DuplicateScope = Literal["open", "all"]


@dataclass(frozen=True, slots=True)
class SimMarketSpec:
    """One spot market. ``symbol`` is ccxt's unified name, ``venue_id`` Binance's."""

    symbol: str = "BTC/USDT"
    venue_id: str = "BTCUSDT"
    base: str = "BTC"
    quote: str = "USDT"
    amount_step: Decimal = Decimal("0.00001")
    price_step: Decimal = Decimal("0.01")
    min_amount: Decimal = Decimal("0.00001")
    min_notional: Decimal = Decimal("5")
    maker_fee: Decimal = Decimal("0.001")
    taker_fee: Decimal = Decimal("0.001")
    fee_mode: FeeMode = "base_on_buy"
    third_asset: str = "BNB"
    third_asset_price: Decimal = Decimal("600")
    participation: Decimal = Decimal("0.1")

    def __post_init__(self) -> None:
        if self.symbol != f"{self.base}/{self.quote}":
            raise ValueError(f"symbol {self.symbol!r} must be {self.base}/{self.quote}")
        for name in ("amount_step", "price_step", "third_asset_price"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("min_amount", "min_notional", "maker_fee", "taker_fee"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.fee_mode not in ("quote", "base_on_buy", "third"):
            raise ValueError(f"fee_mode must be quote, base_on_buy or third, got {self.fee_mode!r}")
        if not 0 < self.participation <= 1:
            raise ValueError(f"participation must be in (0, 1], got {self.participation}")
        if self.fee_mode == "third" and self.third_asset in (self.base, self.quote):
            raise ValueError("third_asset must differ from base and quote")

    @property
    def assets(self) -> tuple[str, ...]:
        if self.fee_mode == "third":
            return (self.base, self.quote, self.third_asset)
        return (self.base, self.quote)


@dataclass(frozen=True, slots=True)
class Balance:
    free: Decimal
    locked: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class SimOrder:
    """Snapshot of an order; the core replaces it on every change, so a held copy is stable."""

    order_id: int
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    post_only: bool
    amount: Decimal
    price: Decimal | None
    status: OrderStatus
    created_ms: int
    updated_ms: int
    seq: int
    filled: Decimal = ZERO
    cost: Decimal = ZERO
    locked: Decimal = ZERO
    lock_price: Decimal = ZERO
    last_trade_ms: int | None = None
    cancel_client_id: str | None = None

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    @property
    def is_open(self) -> bool:
        return not self.status.terminal

    @property
    def venue_type(self) -> str:
        if self.type == "market":
            return "MARKET"
        return "LIMIT_MAKER" if self.post_only else "LIMIT"

    @property
    def time_in_force(self) -> str:
        return "GTC"


@dataclass(frozen=True, slots=True)
class SimTrade:
    trade_id: int
    order_id: int
    client_order_id: str
    symbol: str
    side: Side
    price: Decimal
    amount: Decimal
    quote_qty: Decimal
    fee: Decimal
    fee_asset: str
    ts_ms: int
    is_maker: bool


@dataclass(frozen=True, slots=True)
class SimEvent:
    """One raw stream message; ``seq`` is its position in the truthful delivery order."""

    seq: int
    ts_ms: int
    payload: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.payload.get("e"))


@dataclass(frozen=True, slots=True)
class TickerStats:
    """Rolling 24 h statistics over the public prints, for the ticker formats."""

    symbol: str
    last: Decimal
    last_qty: Decimal
    open: Decimal
    high: Decimal
    low: Decimal
    prev_close: Decimal
    volume: Decimal
    quote_volume: Decimal
    open_time: int
    close_time: int
    first_id: int
    last_id: int
    count: int
    bid: Decimal
    ask: Decimal
    bid_qty: Decimal
    ask_qty: Decimal
    event_ms: int
