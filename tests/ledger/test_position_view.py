"""ledger/position_view.py: the position a trader reads (issue 11). For every direction, on
synthetic histories: the shown figure is the signed net for short and neutral grids and the
gross for long ones, and the unrealized PnL is signed per slot's direction (checked against
the generator's ground truth, computed independently of the ledger)."""

from __future__ import annotations

import random
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import fmt
from gridledger.domain.types import Direction, GridDirection
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.position_view import PositionFigures, position_figures, signed_unrealized
from gridledger.testkit.synthetic import OrderTruth, final_snapshot, generate_history, ground_truth

PERP = Instrument.from_symbol("BTC/USDT:USDT")
GRIDS = {
    GridDirection.LONG: (GridSpec("t1", PERP, D(100), D(10)), range(-4, 0)),
    GridDirection.SHORT: (GridSpec("t1", PERP, D(100), D(10), direction=GridDirection.SHORT), range(1, 5)),
    GridDirection.NEUTRAL: (
        GridSpec("t1", PERP, D(100), D(10), direction=GridDirection.NEUTRAL, pivot=0),
        (-2, -1, 1, 2),
    ),
}


def net_truth(grid: GridSpec, hist: list[OrderTruth]) -> D:
    """Long slots' qty minus short slots', from the generator's ground truth."""
    total = D(0)
    for level, t in ground_truth(grid, hist).items():
        total += -t.qty if grid.level_direction(level) is Direction.SHORT else t.qty
    return total


@settings(max_examples=40, deadline=None)
@given(direction=st.sampled_from(GridDirection), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 20))
def test_shown_position_and_unrealized_follow_the_direction(direction: GridDirection, seed: int, n: int) -> None:
    grid, levels = GRIDS[direction]
    hist = generate_history(random.Random(seed), grid, n, levels=levels)
    led = Ledger(grid)
    for o in hist:
        led.apply(final_snapshot(grid, o))
    figures = position_figures(grid, led)
    truth = ground_truth(grid, hist)
    assert figures.net == net_truth(grid, hist)
    assert figures.gross == sum((t.qty for t in truth.values()), D(0))
    assert figures.shown == (figures.gross if direction is GridDirection.LONG else figures.net)
    price = D("97.5")
    expected = D(0)
    for level, t in truth.items():
        value = t.qty * price - t.cost
        expected += -value if grid.level_direction(level) is Direction.SHORT else value
    assert signed_unrealized(grid, led, price) == expected


def test_labels_and_json_fields() -> None:
    long = PositionFigures(GridDirection.LONG, D("0.5"), D("0.5"))
    short = PositionFigures(GridDirection.SHORT, D("0.5"), D("-0.5"))
    neutral = PositionFigures(GridDirection.NEUTRAL, D("0.5"), D("0.1"))
    assert long.label(fmt) == "0.5" and long.fields(fmt) == {}
    assert short.label(fmt) == "-0.5 net (short grid)"
    assert short.fields(fmt) == {"direction": "short", "net_position": "-0.5"}
    assert neutral.label(str) == "0.1 net (neutral grid)" and neutral.shown == D("0.1")
