"""Order records: what the ledger knows about one of our orders (ledger-semantics.md).

A record keeps two independent watermarks, one from cumulative snapshots and one from the
sum of distinct trades; its effective fill is a function of those two alone (R1), so it
does not depend on the order in which the evidence arrived.

Fees follow the quantity (R1): the figures of one piece of evidence are never mixed with
another's, and fees are never combined by taking the larger value. A fee can be negative
(a maker rebate) and an order's cumulative fee can fall between two reports (a taker fill,
then rebated maker fills), so "the largest fee seen" is not a watermark of anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from gridledger.domain.ids import ClientOrderId, ExchangeOrderId, TradeId
from gridledger.domain.numbers import ZERO
from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.ledger.evidence import Fees, add_fees
from gridledger.ledger.slots import SlotState


class TradeKey(NamedTuple):
    """A fill's identity within its order (R2): the same trade id with another amount or
    price is another fill. Decimals compare by value, so "0.10" and "0.1" are one amount."""

    trade_id: TradeId
    amount: Decimal
    price: Decimal


class SnapshotDigest(NamedTuple):
    """The content of one applied order snapshot: a snapshot seen again is a duplicate (R10)."""

    status: OrderStatus | None
    filled: Decimal | None
    cost: Decimal | None
    fees: Fees | None
    event_id: str | None


class Effective(NamedTuple):
    """An order's filled, cost and fees as the evidence proves them (R1)."""

    filled: Decimal
    cost: Decimal
    fees: Fees


SnapshotRank = tuple[Decimal, bool, int, Decimal, Fees]

# A NamedTuple's own constructor is a Python function; on the hot path (several per piece of
# evidence) the ledger builds them with the C-level tuple constructor instead: the same
# object, at the cost of a plain tuple.
new_named = tuple.__new__


@dataclass(slots=True, unsafe_hash=True)  # not frozen: cheap to build (issue 12); never mutated
class TradeRec:
    amount: Decimal
    price: Decimal
    cost: Decimal
    fees: Fees | None  # None: the source did not carry the fee (yet)


@dataclass(slots=True, eq=False)
class OrderRecord:
    client_id: ClientOrderId
    level: int
    side: Side
    role: Role
    generation: int
    order_id: ExchangeOrderId | None = None
    amount: Decimal | None = None
    price: Decimal | None = None
    # Reported status joined over all evidence; None until the exchange has said anything.
    reported: OrderStatus | None = None
    # The snapshot watermark: filled, cost, cumulative fees and time of ONE snapshot, the
    # best one by snapshot_rank() (largest filled first). Cost and fees are that snapshot's
    # own figures, never a maximum over snapshots (R1).
    snap_filled: Decimal = ZERO
    snap_cost: Decimal = ZERO
    snap_fees: Fees | None = None  # None: the best snapshot did not carry cumulative fees
    snap_ts: int | None = None
    trades: dict[TradeKey, TradeRec] = field(default_factory=dict)
    trade_filled: Decimal = ZERO
    trade_cost: Decimal = ZERO
    trade_fees: Fees = ()
    seen: set[SnapshotDigest] = field(default_factory=set)  # snapshots applied
    first_ts: int | None = None
    last_ts: int | None = None
    overfill: bool = False
    # Set when the order is folded into its slot's checkpoint: the slot state before it.
    pre_state: SlotState | None = None
    # Effective figures and status, computed together on demand (None: not yet, or stale);
    # every mutation of the watermarks calls changed() (add_trade, complete_trade_fees do it
    # themselves).
    _effective: Effective | None = field(default=None, repr=False)
    _status: OrderStatus | None = field(default=None, repr=False)
    # Whether _status is terminal, computed with it: slots ask it of every order on every
    # tick (Slot.bound), and OrderStatus.terminal costs an Enum hash and a dict lookup.
    _terminal: bool = field(default=False, repr=False)

    def changed(self) -> None:
        self._effective = None

    def _trades_rule(self) -> bool:
        """Whether the distinct trades are the evidence the effective figures come from (R1).

        Trades rule when they prove more than the best snapshot. At equal quantity they rule
        unless one of them lacks its fee (TRADE_LITE, Bybit execution.fast, OKX fills) while
        the snapshot carries its cumulative fee: then the snapshot is the better source. A
        snapshot without fees (Binance) never beats trades of the same quantity.
        """
        if self.trade_filled != self.snap_filled:
            return self.trade_filled > self.snap_filled
        if self.snap_fees is None:
            return True
        return all(t.fees is not None for t in self.trades.values())

    def _derive(self) -> Effective:
        if self._trades_rule():
            effective = new_named(Effective, (self.trade_filled, self.trade_cost, self.trade_fees))
        else:
            # The snapshot proves more than the trades. Its cumulative fee is the order's fee;
            # a snapshot without one (Binance) leaves the trades' known fees as the best
            # partial figure, and fees_incomplete() says the rest is still to be fetched.
            fees = self.trade_fees if self.snap_fees is None else self.snap_fees
            effective = new_named(Effective, (self.snap_filled, self.snap_cost, fees))
        filled = effective.filled
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
        self._status = status
        self._terminal = status is not None and status.terminal
        self._effective = effective
        return effective

    # --- derived values -------------------------------------------------------------
    @property
    def filled(self) -> Decimal:
        return self.trade_filled if self.trade_filled >= self.snap_filled else self.snap_filled

    def effective(self) -> Effective:
        """Filled, cost and fees as the evidence proves them (R1).

        Trades win when they account for the watermark (their summed cost and fees);
        otherwise the cost and cumulative fee of the snapshot with the largest filled stand
        (see _trades_rule for equal quantities). Fees may be negative (rebates).
        """
        effective = self._effective
        return effective if effective is not None else self._derive()

    @property
    def status(self) -> OrderStatus | None:
        """The reported status, completed by the quantity: open with filled == amount is FILLED
        (a report of PARTIALLY_FILLED or nothing, with a fill, is at least PARTIALLY_FILLED)."""
        if self._effective is None:
            self._derive()
        return self._status

    @property
    def terminal(self) -> bool:
        if self._effective is None:
            self._derive()
        return self._terminal

    @property
    def live(self) -> bool:
        if self._effective is None:
            self._derive()
        return not self._terminal

    @property
    def trade_gap(self) -> Decimal:
        """Quantity a snapshot proves but no trade accounts for yet (fees may be missing)."""
        gap = self.snap_filled - self.trade_filled
        return gap if gap > 0 else ZERO

    def fees_incomplete(self) -> bool:
        """Whether the effective fees may still change when missing fees arrive.

        True when the effective figures come from trades of which one lacks its fee, or
        from a snapshot that carries no cumulative fee. The engine holds a closing sell
        (and fetches the order's trades) while this is true.
        """
        if self._trades_rule():
            return any(t.fees is None for t in self.trades.values())
        return self.snap_fees is None

    def offer_snapshot(self, filled: Decimal, cost: Decimal, fees: Fees | None, ts: int | None) -> None:
        """Keep the snapshot if it ranks above the one kept (R1; the caller calls changed())."""
        if snapshot_rank(filled, cost, fees, ts) > snapshot_rank(
            self.snap_filled, self.snap_cost, self.snap_fees, self.snap_ts
        ):
            self.snap_filled, self.snap_cost, self.snap_fees, self.snap_ts = filled, cost, fees, ts

    def add_trade(self, key: TradeKey, rec: TradeRec) -> None:
        self._effective = None
        self.trades[key] = rec
        self.trade_filled += rec.amount
        self.trade_cost += rec.cost
        if rec.fees:
            self.trade_fees = add_fees(self.trade_fees, rec.fees)

    def complete_trade_fees(self, key: TradeKey, fees: Fees) -> None:
        old = self.trades[key]
        self._effective = None
        self.trades[key] = TradeRec(old.amount, old.price, old.cost, fees)
        self.trade_fees = add_fees(self.trade_fees, fees)


def snapshot_rank(filled: Decimal, cost: Decimal, fees: Fees | None, ts: int | None) -> SnapshotRank:
    """A total order on snapshots: the one ranked highest is the order's snapshot watermark.

    Largest filled first (R1). Between snapshots of equal filled: one that carries fees
    beats one without (it proves more), then the later timestamp (a cumulative fee can be
    revised after the fill), then cost and the fee tuple, so that no two different snapshots
    tie. The rank depends on the snapshots' content only, so any arrival order and any
    duplication keep the same one (P1). A record restored from a journal written before
    snapshot times were kept has ``ts`` None, which ranks below any time.
    """
    return (filled, fees is not None, -1 if ts is None else ts, cost, () if fees is None else fees)
