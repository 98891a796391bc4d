"""Order side, role and status, with the status order of rule R3."""

from __future__ import annotations

from enum import Enum


class Side(str, Enum):
    BUY = "buy"
    SELL = "sell"

    @classmethod
    def parse(cls, value: object) -> "Side":
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

    def join(self, other: "OrderStatus | None") -> "OrderStatus":
        """The later of two statuses (R3: status only moves forward).

        Terminal statuses are ranked among themselves too (FILLED above CANCELED above
        EXPIRED above REJECTED) so that the result does not depend on arrival order: a
        cancel/fill race reported both ways ends FILLED whichever report came first.
        """
        if other is None or _RANK[self] >= _RANK[other]:
            return self
        return other


_RANK = {
    OrderStatus.NEW: 0,
    OrderStatus.PARTIALLY_FILLED: 1,
    OrderStatus.REJECTED: 2,
    OrderStatus.EXPIRED: 3,
    OrderStatus.CANCELED: 4,
    OrderStatus.FILLED: 5,
}
