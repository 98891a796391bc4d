"""Order records: what the ledger knows about one of our orders (ledger-semantics.md).

A record keeps two independent watermarks, one from cumulative snapshots and one from the
sum of distinct trades; its effective fill is a function of those two alone (R1), so it
does not depend on the order in which the evidence arrived.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from gridledger.domain.numbers import ZERO
from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.ledger.evidence import Fees, add_fees, max_fees
from gridledger.ledger.slots import SlotState


@dataclass(frozen=True, slots=True)
class TradeRec:
    amount: Decimal
    price: Decimal
    cost: Decimal
    fees: Fees | None  # None: the source did not carry the fee (yet)


@dataclass(slots=True, eq=False)
class OrderRecord:
    client_id: str
    level: int
    side: Side
    role: Role
    generation: int
    order_id: str | None = None
    amount: Decimal | None = None
    price: Decimal | None = None
    # Reported status joined over all evidence; None until the exchange has said anything.
    reported: OrderStatus | None = None
    snap_filled: Decimal = ZERO
    snap_cost: Decimal = ZERO
    snap_fees: Fees | None = None
    trades: dict[tuple, TradeRec] = field(default_factory=dict)  # (trade id, amount, price) -> fill
    trade_filled: Decimal = ZERO
    trade_cost: Decimal = ZERO
    trade_fees: Fees = ()
    seen: set[tuple] = field(default_factory=set)  # (status, filled, cost, fees, event id) applied
    first_ts: int | None = None
    last_ts: int | None = None
    overfill: bool = False
    # Set when the order is folded into its slot's checkpoint: the slot state before it.
    pre_state: SlotState | None = None
    # (effective, status), computed on demand; every mutation of the watermarks calls
    # changed() (add_trade, complete_trade_fees do it themselves).
    _derived: tuple | None = field(default=None, repr=False)

    def changed(self) -> None:
        self._derived = None

    def _derive(self) -> tuple:
        fees = self.trade_fees if self.snap_fees is None else max_fees(self.snap_fees, self.trade_fees)
        if self.trade_filled >= self.snap_filled:
            effective = (self.trade_filled, self.trade_cost, fees)
        else:
            effective = (self.snap_filled, self.snap_cost, fees)
        filled = effective[0]
        reported = self.reported
        if reported is None:
            status = None if filled <= 0 else OrderStatus.PARTIALLY_FILLED
        elif reported.terminal:
            status = reported
        elif self.amount is not None and filled >= self.amount and filled > 0:
            status = OrderStatus.FILLED
        elif filled > 0:
            status = OrderStatus.PARTIALLY_FILLED
        else:
            status = reported
        self._derived = (effective, status)
        return self._derived

    # --- derived values -------------------------------------------------------------
    @property
    def filled(self) -> Decimal:
        return self.trade_filled if self.trade_filled >= self.snap_filled else self.snap_filled

    def effective(self) -> tuple[Decimal, Decimal, Fees]:
        """Filled, cost and fees as the evidence proves them (R1).

        Trades win when they account for at least the snapshot's quantity; otherwise the
        snapshot's cumulative figures stand. Fees are the per-asset maximum of the trades'
        sum and the largest cumulative fee reported, so a fee known from either side counts.
        """
        return (self._derived or self._derive())[0]

    @property
    def status(self) -> OrderStatus | None:
        """The reported status, completed by the quantity: open with filled == amount is FILLED
        (a report of PARTIALLY_FILLED or nothing, with a fill, is at least PARTIALLY_FILLED)."""
        return (self._derived or self._derive())[1]

    @property
    def terminal(self) -> bool:
        status = self.status
        return status is not None and status.terminal

    @property
    def live(self) -> bool:
        return not self.terminal

    @property
    def trade_gap(self) -> Decimal:
        """Quantity a snapshot proves but no trade accounts for yet (fees may be missing)."""
        gap = self.snap_filled - self.trade_filled
        return gap if gap > 0 else ZERO

    def fees_incomplete(self) -> bool:
        if any(t.fees is None for t in self.trades.values()):
            return True
        return self.trade_filled < self.snap_filled and self.snap_fees is None

    def add_trade(self, key: tuple, rec: TradeRec) -> None:
        self._derived = None
        self.trades[key] = rec
        self.trade_filled += rec.amount
        self.trade_cost += rec.cost
        if rec.fees:
            self.trade_fees = add_fees(self.trade_fees, rec.fees)

    def complete_trade_fees(self, key: tuple, fees: Fees) -> None:
        old = self.trades[key]
        self._derived = None
        self.trades[key] = TradeRec(old.amount, old.price, old.cost, fees)
        self.trade_fees = add_fees(self.trade_fees, fees)
