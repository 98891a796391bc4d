"""Configuration of the grid strategy and the market rules it must respect.

Both are plain values checked once at construction, so ``decide`` can trust them and stay a
pure function of its arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gridledger.domain.numbers import ZERO

_HALF = Decimal("0.5")


def _require_decimal(value: Any, field: str) -> Decimal:
    # Floats are refused outright rather than converted: a float here means a caller
    # skipped parsing, and its binary expansion must never leak into prices or sizes.
    if not isinstance(value, Decimal):
        raise ValueError(f"{field} must be a Decimal, got {type(value).__name__}: {value!r}")
    if not value.is_finite():
        raise ValueError(f"{field} must be finite, got {value!r}")
    return value


def _require_int(value: Any, field: str) -> int:
    # bool is an int subclass; True as a window size is a config bug, not 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{field} must be an int, got {type(value).__name__}: {value!r}")
    return value


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
    """A trailing buy grid: level ``k`` sits at ``anchor + k * interval``.

    The centre follows the price; opening buys rest on the ``buy_window`` levels below it
    and every filled buy is closed by a sell one level up.
    """

    anchor: Decimal
    interval: Decimal
    quote_per_level: Decimal
    buy_window: int = 5
    max_open_orders: int = 20
    post_only: bool = True
    post_only_retries: int = 3
    taker_fallback: bool = False
    post_only_close: bool = False
    hysteresis: Decimal = Decimal("0.25")
    lower_price: Decimal | None = None
    upper_price: Decimal | None = None

    def __post_init__(self) -> None:
        if _require_decimal(self.anchor, "anchor") <= 0:
            raise ValueError(f"anchor must be > 0, got {self.anchor}")
        if _require_decimal(self.interval, "interval") <= 0:
            raise ValueError(f"interval must be > 0, got {self.interval}")
        if _require_decimal(self.quote_per_level, "quote_per_level") <= 0:
            raise ValueError(f"quote_per_level must be > 0, got {self.quote_per_level}")
        if _require_int(self.buy_window, "buy_window") < 1:
            raise ValueError(f"buy_window must be >= 1, got {self.buy_window}")
        if _require_int(self.max_open_orders, "max_open_orders") < 1:
            raise ValueError(f"max_open_orders must be >= 1, got {self.max_open_orders}")
        if _require_int(self.post_only_retries, "post_only_retries") < 0:
            raise ValueError(f"post_only_retries must be >= 0, got {self.post_only_retries}")
        for name in ("post_only", "taker_fallback", "post_only_close"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if (
            self.post_only_retries == 0
            and not self.taker_fallback
            and (self.post_only or self.post_only_close)
        ):
            # "Wait after 0 rejections" would mean no post-only order is ever sent.
            raise ValueError(
                "post_only_retries must be >= 1 unless taker_fallback is set "
                "(0 retries without fallback would never place a post-only order)"
            )
        h = _require_decimal(self.hysteresis, "hysteresis")
        if not (ZERO <= h < _HALF):
            raise ValueError(f"hysteresis must be in [0, 0.5), got {h}")
        if self.lower_price is not None and _require_decimal(self.lower_price, "lower_price") < 0:
            raise ValueError(f"lower_price must be >= 0, got {self.lower_price}")
        if self.upper_price is not None and _require_decimal(self.upper_price, "upper_price") <= 0:
            raise ValueError(f"upper_price must be > 0, got {self.upper_price}")
        if (
            self.lower_price is not None
            and self.upper_price is not None
            and not self.lower_price < self.upper_price
        ):
            raise ValueError(
                f"lower_price must be < upper_price, got {self.lower_price} >= {self.upper_price}"
            )
