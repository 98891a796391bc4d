"""What a backtest keeps: its fills, its marks (the account after each change), its counters;
and the archive it does not keep (finished orders leave the ledger for good)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from gridledger.domain.types import Role, Side
from gridledger.ledger.records import OrderRecord


class DiscardArchive:
    """Finished orders leave the ledger for good: a backtest never replays old evidence (R9's
    archive is what lets a live journal recognise a week-old duplicate; a backtest has none)."""

    def load_order(self, client_id: str) -> OrderRecord | None:
        return None

    def client_id_for(self, order_id: str) -> str | None:
        return None

    def load_folded(self, level: int, from_generation: int) -> list[OrderRecord]:
        return []

    def has_key(self, key: str) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class Fill:
    """One applied trade, for the fills CSV and the report."""

    ts_ms: int
    level: int
    side: Side
    role: Role
    price: Decimal
    qty: Decimal
    fee: Decimal
    fee_asset: str
    fee_quote: Decimal  # the fee valued in quote (base fees at the fill price, a third asset at its price)
    realized: Decimal  # realized PnL this fill booked in its slot
    client_id: str
    maker: bool


@dataclass(slots=True)
class Marks:
    """The account's state after each candle in which something changed (parallel lists)."""

    index: list[int] = field(default_factory=list)  # candle (or trade) index
    realized_minus_cost: list[float] = field(default_factory=list)
    qty: list[float] = field(default_factory=list)
    open_buys: list[int] = field(default_factory=list)
    committed: list[float] = field(default_factory=list)
    # The trailing centre (level), recorded at each candle where it moved: the plot's centre line.
    centre_index: list[int] = field(default_factory=list)
    centre: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Counters:
    events: int = 0  # path prices at which the backtest filled and/or decided
    decisions: int = 0
    placed: int = 0
    canceled: int = 0
    refused_post_only: int = 0
    refused_balance: int = 0
    taker_fills: int = 0
