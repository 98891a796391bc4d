"""Slots: one grid level each, and their arithmetic (rule R5) as a pure fold over the
slot's orders in generation order.

A slot's state is never updated in arrival order: it is ``fold(checkpoint, orders)`` where
the orders are taken in generation order with each order's *effective* fill (rule R1). So
the state depends only on which evidence has been seen, not on the order it came in, also
when a later generation's evidence arrives before an earlier one's (property P1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import TYPE_CHECKING

from gridledger.domain.grid import GridSpec
from gridledger.domain.numbers import ZERO
from gridledger.domain.types import Direction, OrderStatus, Role, Side, SlotStatus
from gridledger.ledger.evidence import Fees, add_fees

if TYPE_CHECKING:  # records.py imports SlotState from here: the record type is for the checker only
    from gridledger.ledger.records import OrderRecord

# The share of cost basis that a partial sell removes is cost * d / qty: a division, so not
# always exact. It is computed with 200 significant digits and rounded to 1e-18 quote units;
# the remainder stays in the slot's cost basis, so cost basis + realized PnL is conserved
# exactly (nothing is created or lost by the rounding). The quantize runs in _DIV too: in
# the default context (28 digits) a share of 1e10 quote has 29 digits at 1e-18 and raised
# InvalidOperation (issue 7 item 3). 200 digits hold any bounded input (numbers.py).
_DIV = Context(prec=200, rounding=ROUND_HALF_EVEN, Emax=100_000, Emin=-100_000)
_SHARE_QUANTUM = Decimal("1e-18")


# Not frozen (cheap to build on every fold, issue 12); a SlotState is never mutated, only replaced.
@dataclass(slots=True, unsafe_hash=True)
class SlotState:
    """Inventory of one grid level.

    qty: base units held (a long grid) or owed (a short grid), after base-asset fees. cost:
    the basis in quote: cost of the opening buys including their quote fees (long), or
    proceeds of the opening sells net of them (short). realized: realized PnL in quote, net
    of quote fees of the closing orders.
    fees: every fee this slot's orders paid, per asset (third-asset fees live only here).
    """

    qty: Decimal = ZERO
    cost: Decimal = ZERO
    realized: Decimal = ZERO
    fees: Fees = ()
    round_trips: int = 0


EMPTY = SlotState()


@dataclass(frozen=True, slots=True)
class SlotTerms:
    """What a slot's fold needs to know about its grid: the direction (which side opens) and
    which assets are the base and the quote (a fee in either changes the slot's figures; a
    fee in a third asset is only recorded)."""

    direction: Direction
    base_asset: str
    quote_asset: str


class GridTerms:
    """Each level's ``SlotTerms``: a grid's slots are long or short by level (a neutral grid
    has both, and its pivot level none; ``GridSpec.level_direction``)."""

    __slots__ = ("_by_direction", "_grid")

    def __init__(self, grid: GridSpec) -> None:
        self._grid = grid
        # A linear perpetual's PnL and fees are in its settle coin: that is the slot's quote.
        quote = grid.instrument.settle or grid.instrument.quote
        self._by_direction = {d: SlotTerms(d, grid.instrument.base, quote) for d in Direction}

    def at(self, level: int) -> SlotTerms:
        """The terms of the slot at ``level``. The ledger refuses every order at a level
        without a direction (a neutral grid's pivot) before it reaches a slot, so a
        ``ValueError`` here is a bug, not bad input."""
        direction = self._grid.level_direction(level)
        if direction is None:
            raise ValueError(f"level {level} is the pivot of a neutral grid: it holds no slot")
        return self._by_direction[direction]


def contribute(
    state: SlotState,
    terms: SlotTerms,
    side: Side,
    closes: bool,
    filled: Decimal,
    cost: Decimal,
    fees: Fees,
    completed: bool,
) -> SlotState:
    """The slot after one order's whole effective fill (R5).

    An order on the direction's opening side adds to the slot's inventory, one on the other
    side removes from it. For a long grid (buy opens) inventory is base held and ``cost`` its
    cost basis; for a short grid (sell opens) inventory is base owed and ``cost`` the
    proceeds of the opening sells. ``sign`` (+1 long, -1 short) is the only difference: a
    base fee shrinks what a buy brings in and grows what a sell gives out, a quote fee always
    costs, and realized PnL is ``sign * (closing proceeds - basis share)``, i.e. proceeds of
    the open minus the cost of the close for a short grid.

    ``closes`` marks a closing order and ``completed`` one that is FILLED: together they
    count a finished round trip.
    """
    fee_base = ZERO
    fee_quote = ZERO
    for asset, amount in fees:
        if asset == terms.base_asset:
            fee_base = amount
        elif asset == terms.quote_asset:
            fee_quote = amount
    all_fees = add_fees(state.fees, fees)
    long = terms.direction is Direction.LONG
    if side is (Side.BUY if long else Side.SELL):  # the direction's opening side
        return SlotState(
            qty=state.qty + filled - fee_base if long else state.qty + filled + fee_base,
            cost=state.cost + cost + fee_quote if long else state.cost + cost - fee_quote,
            realized=state.realized,
            fees=all_fees,
            round_trips=state.round_trips,
        )
    removed = filled + fee_base if long else filled - fee_base
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
    # Closing more than the slot holds only happens while earlier evidence is missing; the
    # uncovered part's quote stays in the basis (the opposite position) instead of being
    # realized.
    uncovered = ZERO
    if removed > covered and removed > 0:
        uncovered = _DIV.divide(_DIV.multiply(cost, removed - covered), removed).quantize(
            _SHARE_QUANTUM, rounding=ROUND_HALF_EVEN, context=_DIV
        )
    gain = (cost - uncovered) - share
    return SlotState(
        qty=state.qty - removed,
        cost=state.cost - share - uncovered,
        realized=state.realized + (gain if long else -gain) - fee_quote,
        fees=all_fees,
        round_trips=state.round_trips + (1 if closes and completed and filled > 0 else 0),
    )


def fold_order(state: SlotState, rec: OrderRecord, terms: SlotTerms) -> SlotState:
    """``state`` after ``rec``'s effective fill (R1, R5)."""
    filled, cost, fees = rec.effective()
    if filled == 0 and not fees:
        return state
    return contribute(
        state,
        terms,
        rec.side,
        rec.role is Role.CLOSE,
        filled,
        cost,
        fees,
        rec.status is OrderStatus.FILLED,
    )


@dataclass(slots=True, eq=False)
class Slot:
    """One grid level: a checkpoint plus the orders not yet folded into it."""

    level: int
    checkpoint: SlotState = EMPTY  # fold of every order below checkpoint_gen
    checkpoint_gen: int = 0
    next_gen: int = 0
    orders: list[OrderRecord] = field(default_factory=list)  # generation order
    state: SlotState = EMPTY

    def recompute(self, terms: SlotTerms) -> None:
        """Refold the slot; ``terms`` are this slot's own (``GridTerms.at(level)``)."""
        state = self.checkpoint
        for rec in self.orders:
            state = fold_order(state, rec, terms)
        self.state = state

    @property
    def bound(self) -> OrderRecord | None:
        """The slot's live order (the newest one, should evidence reveal two)."""
        for rec in reversed(self.orders):
            if rec.live:
                return rec
        return None

    @property
    def status(self) -> SlotStatus:
        """Derived from the bound order alone: FREE (none), PENDING (an opening order working),
        LOCKED (a closing order holds the inventory). Inventory is reported beside it."""
        bound = self.bound
        if bound is None:
            return SlotStatus.FREE
        return SlotStatus.PENDING if bound.role is Role.OPEN else SlotStatus.LOCKED
