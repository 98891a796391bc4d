"""One outcome per piece of evidence (rule R10)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from gridledger.domain.ids import ClientOrderId, ExchangeOrderId, TradeId
from gridledger.domain.numbers import ZERO
from gridledger.domain.types import OrderStatus


class OutcomeKind(str, Enum):
    APPLIED = "APPLIED"  # changed the ledger; deltas say how
    DUPLICATE = "DUPLICATE"  # this very evidence was applied before
    STALE = "STALE"  # new evidence that proves nothing new (lower cumulative qty, NEW after FILLED)
    FOREIGN = "FOREIGN"  # not one of this grid's orders; slots untouched
    PARKED = "PARKED"  # waiting on something (an unknown exchange order id)
    REJECTED = "REJECTED"  # malformed, wrong symbol, impossible; state untouched


# Not frozen: a frozen dataclass's __init__ goes through object.__setattr__ once per field,
# and an outcome is built for every piece of evidence (issue 12). Nothing mutates one after
# it is returned; unsafe_hash keeps outcomes hashable as they were.
@dataclass(slots=True, unsafe_hash=True)
class Outcome:
    kind: OutcomeKind
    reason: str = ""
    client_id: ClientOrderId | None = None
    order_id: ExchangeOrderId | None = None
    level: int | None = None
    trade_id: TradeId | None = None
    status_before: OrderStatus | None = None
    status_after: OrderStatus | None = None
    filled_before: Decimal = ZERO
    filled_after: Decimal = ZERO
    slot_qty_delta: Decimal = ZERO
    realized_delta: Decimal = ZERO
    warnings: tuple[str, ...] = ()
    gap: bool = False  # the evidence shows something is missing: reconcile this order
    released: tuple[Outcome, ...] = ()  # parked evidence this one unblocked

    @property
    def filled_delta(self) -> Decimal:
        return self.filled_after - self.filled_before


def quiet_outcome(
    kind: OutcomeKind,
    reason: str,
    client_id: ClientOrderId | None,
    order_id: ExchangeOrderId | None,
    level: int | None,
    trade_id: TradeId | None,
    status_before: OrderStatus | None,
    status_after: OrderStatus | None,
    filled_before: Decimal,
    filled_after: Decimal,
    gap: bool = False,
) -> Outcome:
    """A DUPLICATE or STALE outcome: evidence that changed nothing (R10), so no deltas, no
    warnings and nothing released. Most evidence under faults ends here (issue 12 item 1):
    the fields are passed in order, which skips the constructor's keyword matching, the
    slower half of building an outcome."""
    return Outcome(
        kind,
        reason,
        client_id,
        order_id,
        level,
        trade_id,
        status_before,
        status_after,
        filled_before,
        filled_after,
        ZERO,
        ZERO,
        (),
        gap,
    )
