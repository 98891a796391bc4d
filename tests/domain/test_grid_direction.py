"""Issue 11: a grid's direction (long, short, neutral) and each level's slot direction."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.types import Direction, GridDirection, Side

PERP = Instrument.from_symbol("BTC/USDT:USDT")


def spec(direction: object = GridDirection.LONG, pivot: object = None) -> GridSpec:
    return GridSpec("g1", PERP, D(100), D(10), direction=direction, pivot=pivot)  # type: ignore[arg-type]


def test_long_is_the_default_and_every_level_is_long() -> None:
    g = GridSpec("g1", Instrument.from_symbol("BTC/USDT"), D(100), D(10))
    assert (g.direction, g.pivot, g.directions) == (GridDirection.LONG, None, (Direction.LONG,))
    assert {g.level_direction(k) for k in range(-50, 50)} == {Direction.LONG}


def test_short_grid_every_level_short() -> None:
    g = spec(GridDirection.SHORT)
    assert {g.level_direction(k) for k in range(-50, 50)} == {Direction.SHORT}
    assert g.directions == (Direction.SHORT,)


@given(pivot=st.integers(-1000, 1000), level=st.integers(-2000, 2000))
def test_neutral_is_long_below_the_pivot_short_above_and_nothing_at_it(pivot: int, level: int) -> None:
    g = spec(GridDirection.NEUTRAL, pivot)
    expected = Direction.LONG if level < pivot else Direction.SHORT if level > pivot else None
    assert g.level_direction(level) is expected
    assert g.directions == (Direction.LONG, Direction.SHORT)


def test_a_slot_direction_is_accepted_where_a_grid_direction_belongs() -> None:
    # Callers written before neutral existed passed Direction.SHORT: same meaning.
    assert spec(Direction.SHORT).direction is GridDirection.SHORT
    assert spec(Direction.LONG).direction is GridDirection.LONG


@pytest.mark.parametrize(
    ("direction", "pivot", "message"),
    [
        (GridDirection.NEUTRAL, None, "needs a pivot"),
        (GridDirection.NEUTRAL, True, "needs a pivot"),
        (GridDirection.NEUTRAL, 1.0, "needs a pivot"),
        (GridDirection.NEUTRAL, "0", "needs a pivot"),
        (GridDirection.LONG, 0, "takes no pivot"),
        (GridDirection.SHORT, 3, "takes no pivot"),
        ("short", None, "must be a GridDirection"),
    ],
)
def test_bad_direction_or_pivot_is_refused(direction: object, pivot: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        spec(direction, pivot)


def test_slot_direction_sides() -> None:
    assert (Direction.SHORT.opening_side, Direction.SHORT.closing_side, Direction.SHORT.step) == (
        Side.SELL,
        Side.BUY,
        -1,
    )


@pytest.mark.parametrize("text", ["long", " SHORT ", "Neutral"])
def test_grid_direction_parse(text: str) -> None:
    assert GridDirection.parse(text).value == text.strip().lower()


def test_grid_direction_parse_refuses_others() -> None:
    with pytest.raises(ValueError, match="long, short or neutral"):
        GridDirection.parse("sideways")
