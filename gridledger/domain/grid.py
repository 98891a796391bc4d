"""The grid's identity: which market, where level 0 is, the spacing of levels, and which way
it trades (per level, for a neutral grid)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gridledger.domain.coid import validate_grid_id
from gridledger.domain.instrument import Instrument
from gridledger.domain.pyclass import python_class, raw
from gridledger.domain.types import Direction, GridDirection

# What a whole-grid direction means for each of its levels (neutral is decided per level).
_UNIFORM = {GridDirection.LONG: Direction.LONG, GridDirection.SHORT: Direction.SHORT}


def slot_direction(direction: GridDirection, pivot: int | None, level: int) -> Direction | None:
    """The direction of the slot at ``level`` of a grid trading ``direction``: the grid's own
    for a long or short grid; for a neutral grid long below ``pivot``, short above it, and
    ``None`` at the pivot (it holds no slot). Shared by ``GridSpec`` and the strategy's
    ``GridParams`` so the ledger and the strategy can never disagree about a level."""
    uniform = _UNIFORM.get(direction)
    if uniform is not None:
        return uniform
    if pivot is None:
        raise ValueError("a neutral grid needs a pivot level")
    if level < pivot:
        return Direction.LONG
    if level > pivot:
        return Direction.SHORT
    return None


def slot_directions(direction: GridDirection) -> tuple[Direction, ...]:
    """The slot directions a grid trading ``direction`` has (both for a neutral grid)."""
    uniform = _UNIFORM.get(direction)
    return (uniform,) if uniform is not None else (Direction.LONG, Direction.SHORT)


@python_class  # __post_init__ converts a slot Direction and refuses wrong types itself (pyclass.py)
@dataclass(frozen=True, slots=True)
class GridSpec:
    """A grid: level ``k`` sits at ``anchor + k * interval``.

    ``direction`` says which way its slots trade. A neutral grid needs ``pivot`` (a level
    index): the levels below it are long slots, the levels above it short slots, and the
    pivot level holds no slot (an order there would have no direction to be folded by, R5).
    Long and short grids take no pivot.
    """

    grid_id: str
    instrument: Instrument
    anchor: Decimal
    interval: Decimal
    account: str = "default"
    direction: GridDirection = GridDirection.LONG
    pivot: int | None = None

    def __post_init__(self) -> None:
        validate_grid_id(self.grid_id)
        for name in ("anchor", "interval"):
            value = getattr(self, name)
            # A float here means a caller skipped parsing: its binary expansion must never
            # reach level prices.
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value}")
        if isinstance(self.direction, Direction):
            # A slot direction where a grid direction belongs (callers written before neutral
            # existed): long and short mean the same for the whole grid.
            object.__setattr__(self, "direction", GridDirection(self.direction.value))
        if not isinstance(self.direction, GridDirection):
            raise ValueError(f"direction must be a GridDirection, got {self.direction!r}")
        pivot = raw(self, "pivot")  # as passed: a compiled typed read would convert or refuse it (pyclass.py)
        if self.direction is GridDirection.NEUTRAL:
            if pivot is None or isinstance(pivot, bool) or not isinstance(pivot, int):
                raise ValueError("a neutral grid needs a pivot level (an integer)")
        elif pivot is not None:
            raise ValueError(f"a {self.direction.value} grid takes no pivot (only a neutral grid has one)")

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    def level_price(self, level: int) -> Decimal:
        return self.anchor + level * self.interval

    def level_direction(self, level: int) -> Direction | None:
        """The direction of the slot at ``level``; ``None`` for a neutral grid's pivot level,
        which holds no slot."""
        return slot_direction(self.direction, self.pivot, level)

    @property
    def directions(self) -> tuple[Direction, ...]:
        """The slot directions this grid has (both for a neutral grid)."""
        return slot_directions(self.direction)
