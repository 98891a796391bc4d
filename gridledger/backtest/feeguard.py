"""The fee guard: a grid step smaller than a round trip's fees loses money on every trip.

A round trip buys at level k and sells at level k+1, earning one interval on the amount
bought, and pays a fee on both orders. As fractions of the price: the step earns
``interval / price`` and the fees cost ``buy rate + sell rate``. A step below that (plus a
margin for the rounding of sizes and the dust each buy leaves when its fee is taken in base)
is a grid that cannot make money. Paper and live preflight can call ``check_fee_step`` too.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gridledger.strategy import GridParams

DEFAULT_MARGIN = Decimal("0.0005")  # 0.05 % of the price


def _pct(x: Decimal) -> str:
    return f"{x * 100:.3f} %"


@dataclass(frozen=True, slots=True)
class FeeCheck:
    interval: Decimal
    price: Decimal  # where the step was measured (the highest price: there it is the smallest share)
    step: Decimal  # interval / price
    round_trip: Decimal  # buy fee rate + sell fee rate
    margin: Decimal

    @property
    def ok(self) -> bool:
        return self.step >= self.round_trip + self.margin

    def message(self) -> str:
        verdict = "below" if not self.ok else "at or above"
        return (
            f"grid step {self.interval} is {_pct(self.step)} of the price {self.price}, {verdict} the round-trip "
            f"fee {_pct(self.round_trip)} plus a margin of {_pct(self.margin)} "
            f"(= {_pct(self.round_trip + self.margin)})"
            + (": every round trip loses money or barely breaks even" if not self.ok else "")
        )


def check_fee_step(
    params: GridParams, maker_fee: Decimal, taker_fee: Decimal, price: Decimal, margin: Decimal = DEFAULT_MARGIN
) -> FeeCheck:
    """The grid's step against its round-trip fee at ``price``.

    A buy pays the maker rate when it is post-only (it always rests), otherwise the larger of
    the two rates (it may take); the same for the closing sell with ``post_only_close``.
    """
    if price <= 0:
        raise ValueError(f"price must be > 0, got {price}")
    worst = max(maker_fee, taker_fee)
    buy = maker_fee if params.post_only else worst
    sell = maker_fee if params.post_only_close else worst
    return FeeCheck(
        interval=params.interval, price=price, step=params.interval / price, round_trip=buy + sell, margin=margin
    )
