"""The position a trader reads: the signed net position for short and neutral grids (issue 11).

``Ledger.position`` is the gross inventory summed over the slots: a long slot holds it, a
short slot owes it. On a short or neutral grid that sum is not what the account holds; the
venue's one-way position is ``Ledger.net_position`` (long slots' qty minus short slots'),
so every status, report and chart shows the net figure and the grid's direction there.
A long grid's net equals its gross, and its outputs stay exactly as they were.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from gridledger.domain.grid import GridSpec
from gridledger.domain.numbers import ZERO
from gridledger.domain.types import Direction, GridDirection
from gridledger.ledger.ledger import Ledger


@dataclass(frozen=True, slots=True)
class PositionFigures:
    """A grid's position as shown: its direction, gross inventory and signed net position."""

    direction: GridDirection
    gross: Decimal  # Ledger.position: held by long slots plus owed by short ones
    net: Decimal  # Ledger.net_position: what the venue's one-way position should be

    @property
    def directional(self) -> bool:
        """True for short and neutral grids, whose net differs in meaning from the gross."""
        return self.direction is not GridDirection.LONG

    @property
    def shown(self) -> Decimal:
        """The figure a trader reads as "position": the signed net (a long grid's gross)."""
        return self.net if self.directional else self.gross

    def label(self, show: Callable[[Decimal], object]) -> str:
        """``show(position)`` for a long grid (unchanged); the signed net and the direction
        for a short or neutral grid, e.g. ``-0.003 net (short grid)``."""
        if not self.directional:
            return f"{show(self.gross)}"
        return f"{show(self.net)} net ({self.direction.value} grid)"

    def fields(self, show: Callable[[Decimal], str | None]) -> dict[str, str | None]:
        """Keys a JSON view adds for a short or neutral grid (none for a long grid, whose
        documents stay as they were): ``direction`` and the signed ``net_position``."""
        if not self.directional:
            return {}
        return {"direction": self.direction.value, "net_position": show(self.net)}


def position_figures(grid: GridSpec, ledger: Ledger) -> PositionFigures:
    return PositionFigures(grid.direction, ledger.position, ledger.net_position)


def signed_unrealized(grid: GridSpec, ledger: Ledger, price: Decimal) -> Decimal:
    """Inventory marked at ``price`` minus its cost, per slot's direction: a short slot gains
    as the price falls (a neutral grid holds both kinds)."""
    total = ZERO
    for slot in ledger.slots.values():
        value = slot.state.qty * price - slot.state.cost
        total += -value if grid.level_direction(slot.level) is Direction.SHORT else value
    return total
