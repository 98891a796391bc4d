"""Funding payments of a perpetual grid, each counted exactly once by its own id.

A perpetual swap pays or charges funding on the position every few hours. The payment
belongs to the grid as a whole (the venue charges the net position, not a slot), so it is
kept here, beside the slots and never inside one, and reported per grid and per asset.

The same payment reaches us more than once: the income history is read with an overlap,
after every restart and whenever the stream says a funding fee was booked. Its identity is
the venue's own id (Binance's income ``tranId``): the rules of the contract carried over
(R2 identity, R9 memory as long as the journal, R10 one outcome per report). A second
report of a known id with the same content is DUPLICATE; with other content it is REJECTED
and the first stays (a venue that rewrote a booked payment is an anomaly to look at, not a
new payment). Payments for another symbol are FOREIGN; payments booked before the grid's
funding start (``since_ms``) belong to whatever the account held before, not to the grid.

Pure: no I/O, no clock. The store (``gridledger.store.funding``) persists what this book
applies; a few payments a day means every id stays in memory for the journal's life.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from gridledger.domain.pyclass import python_class, raw

__all__ = ["FundingBook", "FundingKind", "FundingOutcome", "FundingPayment"]


@python_class  # __post_init__ refuses a float amount with its own ValueError (pyclass.py)
@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One funding payment: ``amount`` is signed (positive received, negative paid)."""

    payment_id: str
    symbol: str
    asset: str
    amount: Decimal
    timestamp: int

    def __post_init__(self) -> None:
        if not self.payment_id or len(self.payment_id) > 128:
            raise ValueError("funding payment id must be 1 to 128 characters")
        if not self.asset or len(self.asset) > 32:
            raise ValueError("funding asset must be 1 to 32 characters")
        # Checked at run time too: a float amount would be inexact (R5), a bool is no time.
        # Read as passed: a compiled typed read would convert or refuse the value (pyclass.py).
        amount, timestamp = raw(self, "amount"), raw(self, "timestamp")
        if not _finite_decimal(amount):
            raise ValueError(f"funding amount must be a finite decimal, got {amount!r}")
        if not _millis(timestamp):
            raise ValueError(f"funding time must be epoch milliseconds, got {timestamp!r}")


def _finite_decimal(value: object) -> bool:
    return type(value) is Decimal and value.is_finite()


def _millis(value: object) -> bool:
    return type(value) is int and value >= 0


class FundingKind(str, Enum):
    APPLIED = "APPLIED"
    DUPLICATE = "DUPLICATE"
    FOREIGN = "FOREIGN"  # another symbol's payment
    EARLY = "EARLY"  # booked before the grid's funding start: not the grid's
    REJECTED = "REJECTED"  # a known id with different content


@dataclass(frozen=True, slots=True)
class FundingOutcome:
    kind: FundingKind
    payment: FundingPayment
    reason: str = ""


class FundingBook:
    """Applied funding payments of one grid's symbol, from ``since_ms`` on."""

    __slots__ = ("_payments", "_totals", "counts", "since_ms", "symbol")

    def __init__(self, symbol: str, since_ms: int) -> None:
        self.symbol = symbol
        self.since_ms = since_ms
        self._payments: dict[str, FundingPayment] = {}
        self._totals: dict[str, Decimal] = {}
        self.counts: dict[str, int] = {k.value: 0 for k in FundingKind}

    def restore(self, payments: Iterable[FundingPayment]) -> None:
        """Payments the store holds (each applied once before): no outcome, no counting."""
        for p in payments:
            if p.payment_id not in self._payments:
                self._add(p)

    def apply(self, payment: FundingPayment) -> FundingOutcome:
        out = self._judge(payment)
        if out.kind is FundingKind.APPLIED:
            self._add(payment)
        self.counts[out.kind.value] += 1
        return out

    def _judge(self, p: FundingPayment) -> FundingOutcome:
        known = self._payments.get(p.payment_id)
        if known is not None:
            if (known.symbol, known.asset, known.amount, known.timestamp) == (p.symbol, p.asset, p.amount, p.timestamp):
                return FundingOutcome(FundingKind.DUPLICATE, p)
            return FundingOutcome(
                FundingKind.REJECTED,
                p,
                f"funding id {p.payment_id} was recorded as {known.amount} {known.asset} at {known.timestamp}; "
                f"now reported as {p.amount} {p.asset} at {p.timestamp}: the first is kept",
            )
        if p.symbol != self.symbol:
            return FundingOutcome(FundingKind.FOREIGN, p, f"funding for {p.symbol}, not {self.symbol}")
        if p.timestamp < self.since_ms:
            return FundingOutcome(FundingKind.EARLY, p, "booked before the grid's funding start")
        return FundingOutcome(FundingKind.APPLIED, p)

    def _add(self, p: FundingPayment) -> None:
        self._payments[p.payment_id] = p
        self._totals[p.asset] = self._totals.get(p.asset, Decimal(0)) + p.amount

    def totals(self) -> dict[str, Decimal]:
        """Funding per asset (signed: positive received, negative paid)."""
        return dict(self._totals)

    def __len__(self) -> int:
        return len(self._payments)

    def __contains__(self, payment_id: object) -> bool:
        return payment_id in self._payments

    @property
    def newest_ms(self) -> int | None:
        """Time of the newest payment applied: where the next read of the history starts."""
        return max((p.timestamp for p in self._payments.values()), default=None)
