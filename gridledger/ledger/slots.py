"""Slot arithmetic (rule R5) as a pure fold over a slot's orders in generation order.

A slot's state is never updated in arrival order: it is ``fold(checkpoint, orders)`` where
the orders are taken in generation order with each order's *effective* fill (rule R1). So
the state depends only on which evidence has been seen, not on the order it came in, also
when a later generation's evidence arrives before an earlier one's (property P1).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal

from gridledger.domain.numbers import ZERO
from gridledger.domain.types import Side
from gridledger.ledger.evidence import Fees, add_fees

# The share of cost basis that a partial sell removes is cost * d / qty: a division, so not
# always exact. It is computed with 200 significant digits and rounded to 1e-18 quote units;
# the remainder stays in the slot's cost basis, so cost basis + realized PnL is conserved
# exactly (nothing is created or lost by the rounding). The quantize runs in _DIV too: in
# the default context (28 digits) a share of 1e10 quote has 29 digits at 1e-18 and raised
# InvalidOperation (issue 7 item 3). 200 digits hold any bounded input (numbers.py).
_DIV = Context(prec=200, rounding=ROUND_HALF_EVEN, Emax=100_000, Emin=-100_000)
_SHARE_QUANTUM = Decimal("1e-18")


@dataclass(frozen=True, slots=True)
class SlotState:
    """Inventory of one grid level.

    qty: base units held, after base-asset fees. cost: cost basis in quote, including quote
    fees of the buys. realized: realized PnL in quote, net of quote fees of the sells.
    fees: every fee this slot's orders paid, per asset (third-asset fees live only here).
    """

    qty: Decimal = ZERO
    cost: Decimal = ZERO
    realized: Decimal = ZERO
    fees: Fees = ()
    round_trips: int = 0


EMPTY = SlotState()


def contribute(
    state: SlotState,
    side: Side,
    closes: bool,
    filled: Decimal,
    cost: Decimal,
    fees: Fees,
    base: str,
    quote: str,
    completed: bool,
) -> SlotState:
    """The slot after one order's whole effective fill (R5).

    ``closes`` marks a closing order and ``completed`` one that is FILLED: together they
    count a finished round trip.
    """
    fee_base = ZERO
    fee_quote = ZERO
    for asset, amount in fees:
        if asset == base:
            fee_base = amount
        elif asset == quote:
            fee_quote = amount
    all_fees = add_fees(state.fees, fees)
    if side is Side.BUY:
        return SlotState(
            qty=state.qty + filled - fee_base,
            cost=state.cost + cost + fee_quote,
            realized=state.realized,
            fees=all_fees,
            round_trips=state.round_trips,
        )
    removed = filled + fee_base
    held = state.qty if state.qty > 0 else ZERO
    covered = removed if removed <= held else held
    if covered == 0:
        share = ZERO
    elif covered == held:
        share = state.cost
    else:
        share = _DIV.divide(_DIV.multiply(state.cost, covered), held).quantize(
            _SHARE_QUANTUM, rounding=ROUND_HALF_EVEN, context=_DIV
        )
    # Selling more than the slot holds only happens while earlier evidence is missing; the
    # uncovered part's proceeds stay in cost basis (a short) instead of being realized.
    uncovered_proceeds = ZERO
    if removed > covered and removed > 0:
        uncovered_proceeds = _DIV.divide(_DIV.multiply(cost, removed - covered), removed).quantize(
            _SHARE_QUANTUM, rounding=ROUND_HALF_EVEN, context=_DIV
        )
    return SlotState(
        qty=state.qty - removed,
        cost=state.cost - share - uncovered_proceeds,
        realized=state.realized + (cost - uncovered_proceeds) - share - fee_quote,
        fees=all_fees,
        round_trips=state.round_trips + (1 if closes and completed and filled > 0 else 0),
    )
