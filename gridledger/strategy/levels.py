"""Level maths: level prices, the trailing centre, the buy window and order sizing.

Arithmetic runs in a private decimal context (``GRID_CONTEXT``) so results do not depend on
whatever precision or rounding the calling thread happens to have set.
"""

from __future__ import annotations

from decimal import (
    ROUND_FLOOR,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)

from gridledger.domain.numbers import ZERO, quantize_down
from gridledger.domain.types import Direction
from gridledger.strategy.params import GridParams, MarketRules

# 60 significant digits is far beyond any exchange precision (prices and sizes have at most
# ~20), so every sum, product and multiple of a step used here is exact. Only true
# divisions round, and they round *down* (ROUND_FLOOR): see ``buy_amount`` and
# ``raw_centre`` for why that keeps the final results exact. Overflow or an inexact integer
# division trap instead of silently rounding.
GRID_CONTEXT = Context(
    prec=60,
    rounding=ROUND_FLOOR,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

_TWO = Decimal(2)


def check_grid(params: GridParams, rules: MarketRules) -> None:
    """Raise ``ValueError`` unless every level price is an exact multiple of the price step.

    Level prices are ``anchor + k * interval``; if both terms are multiples of the tick, all
    levels are, so quantizing a level price never moves it and a closing sell one level up
    is exactly one interval above its buy.
    """
    with localcontext(GRID_CONTEXT):
        if params.anchor % rules.price_step != 0:
            raise ValueError(f"anchor {params.anchor} is not a multiple of price_step {rules.price_step}")
        if params.interval % rules.price_step != 0:
            raise ValueError(f"interval {params.interval} is not a multiple of price_step {rules.price_step}")


def order_price(params: GridParams, rules: MarketRules, level: int) -> Decimal:
    """The price of an order at ``level``: the level price on the price tick (exact after
    ``check_grid``, so it equals ``GridSpec.level_price``)."""
    with localcontext(GRID_CONTEXT):
        return quantize_down(params.anchor + level * params.interval, rules.price_step)


def raw_centre(params: GridParams, price: Decimal) -> int:
    """The level nearest ``price``: ``round((price - anchor) / interval)``.

    A price exactly half-way between two levels rounds to the even level (banker's
    rounding, like Python's ``round``); with hysteresis such a price never moves an existing
    centre anyway, so the tie only matters for the very first price.

    Computed exactly: the floor of the quotient is exact even though the division rounds
    (rounding down cannot skip an integer below the true quotient), and the remainder is
    then compared with half an interval without dividing.
    """
    with localcontext(GRID_CONTEXT):
        offset = price - params.anchor
        floor = (offset / params.interval).to_integral_value(rounding=ROUND_FLOOR)
        rest = offset - floor * params.interval
        twice = rest * _TWO
        if twice > params.interval or (twice == params.interval and floor % 2 != 0):
            floor += 1
        return int(floor)


def next_centre(previous: int | None, params: GridParams, price: Decimal) -> int:
    """The centre for ``price`` given the ``previous`` centre (``None`` before any price).

    A naive grid re-centres as soon as the price crosses a level midpoint, so a price
    wobbling around a midpoint cancels and re-places the window's edge order on every tick.
    Hysteresis keeps the previous centre until the price is more than
    ``interval * (0.5 + hysteresis)`` away from it, then jumps straight to the nearest level.
    """
    if previous is None:
        return raw_centre(params, price)
    with localcontext(GRID_CONTEXT):
        distance = abs(price - (params.anchor + previous * params.interval))
        threshold = params.interval * (Decimal("0.5") + params.hysteresis)
        if distance > threshold:
            return raw_centre(params, price)
        return previous


def window_levels(centre: int, buy_window: int) -> tuple[int, ...]:
    """Opening-buy levels for ``centre``, nearest the centre first: c-1 ... c-buy_window."""
    return tuple(range(centre - 1, centre - buy_window - 1, -1))


def window_floor(centre: int, buy_window: int) -> int:
    """Lowest level of the buy window; live buys below it are cancelled."""
    return centre - buy_window


def opening_levels(centre: int, window: int, direction: Direction) -> tuple[int, ...]:
    """Opening levels of slots of ``direction`` for ``centre``, nearest the centre first:
    c-1 ... c-window for long slots (buys below the price), c+1 ... c+window for short
    slots (sells above it)."""
    step = direction.step
    return tuple(range(centre - step, centre - step * (window + 1), -step))


def beyond_window(level: int, centre: int, window: int, direction: Direction) -> bool:
    """Whether an opening order of ``direction`` at ``level`` is farther from ``centre`` than
    its window reaches (below ``c - window`` long, above ``c + window`` short): cancel it."""
    step = direction.step
    return step * level < step * centre - window


def sellable_amount(qty: Decimal, rules: MarketRules) -> Decimal:
    """The part of ``qty`` an order can carry: rounded down to the amount step."""
    if qty <= 0:
        return ZERO
    with localcontext(GRID_CONTEXT):
        return quantize_down(qty, rules.amount_step)


def meets_minimums(amount: Decimal, price: Decimal, rules: MarketRules) -> bool:
    """True if an order of ``amount`` at ``price`` passes the exchange's minimums."""
    if amount <= 0 or amount < rules.min_amount:
        return False
    with localcontext(GRID_CONTEXT):
        return amount * price >= rules.min_notional


def is_dust(qty: Decimal, sell_price: Decimal, rules: MarketRules) -> bool:
    """True if ``qty`` cannot be sold on its own at ``sell_price`` (or there is none).

    Dust does not block a new opening buy on its slot: it stays in the slot and is sold
    together with the next fill.
    """
    return not meets_minimums(sellable_amount(qty, rules), sell_price, rules)


def buy_amount(params: GridParams, rules: MarketRules, price: Decimal) -> Decimal:
    """Base amount for an opening order at ``price`` (a long slot's buy or a short slot's
    sell): ``quote_per_level / price`` rounded down.

    The division is truncated at 60 digits towards zero and then rounded down to the amount
    step. That equals rounding the exact quotient down: a multiple of the step lying between
    the truncated and the exact quotient would itself be a 60-digit number at most the exact
    quotient, contradicting the truncation. So the result never exceeds the quote budget.
    """
    if price <= 0:
        raise ValueError(f"price must be > 0, got {price}")
    with localcontext(GRID_CONTEXT):
        return quantize_down(params.quote_per_level / price, rules.amount_step)
