"""The grid's identity: which market, where level 0 is, the spacing of levels, and which way
it trades."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gridledger.domain.coid import validate_grid_id
from gridledger.domain.instrument import Instrument
from gridledger.domain.types import Direction


@dataclass(frozen=True, slots=True)
class GridSpec:
    grid_id: str
    instrument: Instrument
    anchor: Decimal
    interval: Decimal
    account: str = "default"
    # Only LONG is wired: the config does not expose it, and the engine places buys to open.
    direction: Direction = Direction.LONG

    def __post_init__(self) -> None:
        validate_grid_id(self.grid_id)
        for name in ("anchor", "interval"):
            value = getattr(self, name)
            # A float here means a caller skipped parsing: its binary expansion must never
            # reach level prices.
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value}")

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    def level_price(self, level: int) -> Decimal:
        return self.anchor + level * self.interval
