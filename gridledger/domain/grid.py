"""The grid's identity: which market, where level 0 is, and the spacing of levels."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gridledger.domain.coid import validate_grid_id
from gridledger.domain.instrument import Instrument


@dataclass(frozen=True, slots=True)
class GridSpec:
    grid_id: str
    instrument: Instrument
    anchor: Decimal
    interval: Decimal
    account: str = "default"

    def __post_init__(self) -> None:
        validate_grid_id(self.grid_id)
        if not self.anchor.is_finite() or self.anchor <= 0:
            raise ValueError(f"anchor must be a positive number, got {self.anchor}")
        if not self.interval.is_finite() or self.interval <= 0:
            raise ValueError(f"interval must be a positive number, got {self.interval}")

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    def level_price(self, level: int) -> Decimal:
        return self.anchor + level * self.interval
