"""Configuration of the grid strategy and the market rules it must respect.

``GridParams`` is a plain value: its rules and defaults are written once, in the validated
config (``gridledger.config.StrategyConfig``, whose ``params()`` builds it), so ``decide``
can trust it and stay a pure function of its arguments. ``MarketRules`` come from the
exchange, not from the config, so they are checked here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gridledger.domain.grid import slot_direction, slot_directions
from gridledger.domain.numbers import ZERO
from gridledger.domain.pyclass import python_class
from gridledger.domain.types import Direction, GridDirection


def _require_decimal(value: object, field: str) -> Decimal:
    # Floats are refused outright rather than converted: a float here means a caller
    # skipped parsing, and its binary expansion must never leak into prices or sizes.
    if not isinstance(value, Decimal):
        raise ValueError(f"{field} must be a Decimal, got {type(value).__name__}: {value!r}")
    if not value.is_finite():
        raise ValueError(f"{field} must be finite, got {value!r}")
    return value


@python_class  # __post_init__ refuses a float with its own ValueError (pyclass.py)
@dataclass(frozen=True, slots=True)
class MarketRules:
    """Exchange precision and limits (ccxt ``market["precision"]`` and ``market["limits"]``).

    Steps are tick sizes (ccxt's TICK_SIZE precision mode); converting a digit count to a
    step is the caller's job. An unknown limit is ``0``.
    """

    amount_step: Decimal
    price_step: Decimal
    min_amount: Decimal = ZERO
    min_notional: Decimal = ZERO

    def __post_init__(self) -> None:
        if _require_decimal(self.amount_step, "amount_step") <= 0:
            raise ValueError(f"amount_step must be > 0, got {self.amount_step}")
        if _require_decimal(self.price_step, "price_step") <= 0:
            raise ValueError(f"price_step must be > 0, got {self.price_step}")
        if _require_decimal(self.min_amount, "min_amount") < 0:
            raise ValueError(f"min_amount must be >= 0, got {self.min_amount}")
        if _require_decimal(self.min_notional, "min_notional") < 0:
            raise ValueError(f"min_notional must be >= 0, got {self.min_notional}")


@dataclass(frozen=True, slots=True)
class GridParams:
    """A trailing grid: level ``k`` sits at ``anchor + k * interval``.

    The centre follows the price; opening orders rest on the ``buy_window`` levels on the
    direction's opening side of it and every filled opening order is closed one level
    further on (a long slot: buys below the centre, each closed by a sell one level up; a
    short slot: sells above the centre, each closed by a buy one level down). A neutral grid
    has long slots below ``pivot`` and short slots above it (``GridSpec.level_direction``).

    Built by ``StrategyConfig.params(grid)``, which holds every field's rule and default
    (anchor and interval come from the validated ``GridSpec``). Not validated again here.
    """

    anchor: Decimal
    interval: Decimal
    quote_per_level: Decimal
    buy_window: int
    max_open_orders: int
    post_only: bool
    post_only_retries: int
    taker_fallback: bool
    post_only_close: bool
    hysteresis: Decimal
    lower_price: Decimal | None
    upper_price: Decimal | None
    direction: GridDirection = GridDirection.LONG
    pivot: int | None = None  # a level index; set for (and only for) a neutral grid

    def level_direction(self, level: int) -> Direction | None:
        """The direction of the slot at ``level`` (``None``: a neutral grid's pivot)."""
        return slot_direction(self.direction, self.pivot, level)

    @property
    def directions(self) -> tuple[Direction, ...]:
        return slot_directions(self.direction)
