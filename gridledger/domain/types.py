"""Order side, role and status (with the status order of rule R3), slot status, and the
directions of a slot and of a grid."""

from __future__ import annotations

from enum import Enum, StrEnum


class Side(str, Enum):
    BUY = "buy"
    SELL = "sell"

    @classmethod
    def parse(cls, value: object) -> Side:
        text = str(value).strip().lower() if value is not None else ""
        try:
            return cls(text)
        except ValueError:
            raise ValueError(f"side must be buy or sell, got {value!r}") from None


class Role(str, Enum):
    """An opening order builds a slot's inventory; a closing order sells it."""

    OPEN = "open"
    CLOSE = "close"


class OrderStatus(str, Enum):
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"
    CANCELED = "CANCELED"
    FILLED = "FILLED"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def terminal(self) -> bool:
        return _RANK[self] >= 2


_RANK = {
    OrderStatus.NEW: 0,
    OrderStatus.PARTIALLY_FILLED: 1,
    OrderStatus.REJECTED: 2,
    OrderStatus.EXPIRED: 3,
    OrderStatus.CANCELED: 4,
    OrderStatus.FILLED: 5,
}


def later_status(status: OrderStatus, other: OrderStatus | None) -> OrderStatus:
    """The later of two statuses (R3: status only moves forward).

    Terminal statuses are ranked among themselves too (FILLED above CANCELED above
    EXPIRED above REJECTED) so that the result does not depend on arrival order: a
    cancel/fill race reported both ways ends FILLED whichever report came first.
    """
    if other is None or _RANK[status] >= _RANK[other]:
        return status
    return other


class SlotStatus(StrEnum):
    """A slot's status, derived from its bound order alone (inventory is reported beside it).

    A ``StrEnum`` so that reports and JSON carry the same bare strings as before.
    """

    FREE = "FREE"  # no live order
    PENDING = "PENDING"  # an opening order is working
    LOCKED = "LOCKED"  # a closing order holds the slot's inventory


class Direction(str, Enum):
    """Which way one slot trades: a long slot buys to open and sells to close, a short slot
    sells to open and buys to close. A grid's levels each have one (``GridDirection``,
    ``GridSpec.level_direction``)."""

    LONG = "long"
    SHORT = "short"

    @property
    def opening_side(self) -> Side:
        return Side.BUY if self is Direction.LONG else Side.SELL

    @property
    def closing_side(self) -> Side:
        return Side.SELL if self is Direction.LONG else Side.BUY

    @property
    def step(self) -> int:
        """Where a slot's closing order sits, in levels from the slot: one up for a long grid
        (sell above the buy), one down for a short grid (buy back below the sell)."""
        return 1 if self is Direction.LONG else -1


class GridDirection(str, Enum):
    """Which way a whole grid trades: every level long, every level short, or neutral (the
    levels below a pivot long, those above it short, the pivot itself without a slot)."""

    LONG = "long"
    SHORT = "short"
    NEUTRAL = "neutral"

    @classmethod
    def parse(cls, value: object) -> GridDirection:
        text = str(value).strip().lower() if value is not None else ""
        try:
            return cls(text)
        except ValueError:
            # Quoted at most 40 characters: the value may be anything a user typed.
            raise ValueError(f"direction must be long, short or neutral, got {repr(value)[:40]}") from None
