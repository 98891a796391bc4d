"""A grid's direction is a parameter of the slot arithmetic (R5), not a rewrite.

These tests show that the slot fold mirrors for SHORT: the sell opens, the buy closes, and
realized PnL is the proceeds of the open minus the cost of the close. (Issue 11 wired short
and neutral grids through the ledger, the strategy and the config: see
test_ledger_directions.py and tests/strategy/test_strategy_directions.py.)
"""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.config import StrategyConfig, strategy_params
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.types import Direction, GridDirection, Role, Side
from gridledger.ledger.evidence import Fees
from gridledger.ledger.slots import EMPTY, SlotState, SlotTerms, contribute
from gridledger.strategy import MarketRules, StrategyState, decide

LONG = SlotTerms(Direction.LONG, "BTC", "USDT")
SHORT = SlotTerms(Direction.SHORT, "BTC", "USDT")


def fill(
    state: SlotState,
    terms: SlotTerms,
    side: Side,
    qty: str | D,
    cost: str | D,
    fees: Fees = (),
    *,
    closes: bool = False,
) -> SlotState:
    return contribute(state, terms, side, closes, D(qty), D(cost), fees, True)


def test_direction_names_the_sides_and_the_closing_step() -> None:
    assert (Direction.LONG.opening_side, Direction.LONG.closing_side, Direction.LONG.step) == (Side.BUY, Side.SELL, 1)
    assert (Direction.SHORT.opening_side, Direction.SHORT.closing_side, Direction.SHORT.step) == (
        Side.SELL,
        Side.BUY,
        -1,
    )


def test_short_round_trip_realizes_proceeds_of_the_open_minus_cost_of_the_close() -> None:
    opened = fill(EMPTY, SHORT, Side.SELL, "1", "110")  # sell 1 at 110: 1 owed, 110 received
    assert (opened.qty, opened.cost, opened.realized) == (D(1), D(110), D(0))
    closed = fill(opened, SHORT, Side.BUY, "1", "100", closes=True)  # buy it back at 100
    assert (closed.qty, closed.cost, closed.realized, closed.round_trips) == (D(0), D(0), D(10), 1)


def test_short_partial_close_realizes_its_share_of_the_proceeds() -> None:
    opened = fill(EMPTY, SHORT, Side.SELL, "2", "220")
    half = fill(opened, SHORT, Side.BUY, "1", "100", closes=True)
    assert (half.qty, half.cost, half.realized) == (D(1), D(110), D(10))


def test_short_fees_mirror_long_fees() -> None:
    # A quote fee always costs: it lowers the short's proceeds basis as it raises the long's cost.
    opened = fill(EMPTY, SHORT, Side.SELL, "1", "110", (("USDT", D("0.11")),))
    assert opened.cost == D("109.89")
    closed = fill(opened, SHORT, Side.BUY, "1", "100", (("USDT", D("0.1")),), closes=True)
    assert closed.realized == D("9.79")
    # A base fee on the opening sell means more base left the account: more is owed.
    assert fill(EMPTY, SHORT, Side.SELL, "1", "110", (("BTC", D("0.001")),)).qty == D("1.001")
    # ... and on the closing buy less base arrives: less of the debt is repaid.
    owed = fill(EMPTY, SHORT, Side.SELL, "1", "110")
    assert fill(owed, SHORT, Side.BUY, "1", "100", (("BTC", D("0.001")),), closes=True).qty == D("0.001")


amounts = st.decimals(min_value=D("0.001"), max_value=D("1000"), places=3)
fee = st.decimals(min_value=D("-1"), max_value=D("5"), places=4)


@settings(max_examples=60)
@given(qty=amounts, buy_cost=amounts, sell_cost=amounts, fee_open=fee, fee_close=fee, part=st.integers(1, 4))
def test_short_mirrors_long(qty: D, buy_cost: D, sell_cost: D, fee_open: D, fee_close: D, part: int) -> None:
    """The same two fills with the roles of the sides swapped: a long grid buys at ``buy_cost``
    and sells at ``sell_cost``; a short grid sells at ``sell_cost`` and buys at ``buy_cost``.
    Both realize sell proceeds minus buy cost minus the quote fees, hold the same quantity
    at every step and count one round trip."""
    fo, fc = (("USDT", fee_open),), (("USDT", fee_close),)
    closing = qty / part if part > 1 else qty  # a partial close too, exactly divisible or not
    long_open = fill(EMPTY, LONG, Side.BUY, qty, buy_cost, fo)
    short_open = fill(EMPTY, SHORT, Side.SELL, qty, sell_cost, fo)
    assert long_open.qty == short_open.qty == qty
    if closing == qty:
        long_done = fill(long_open, LONG, Side.SELL, qty, sell_cost, fc, closes=True)
        short_done = fill(short_open, SHORT, Side.BUY, qty, buy_cost, fc, closes=True)
        expected = sell_cost - buy_cost - fee_open - fee_close
        assert long_done.realized == short_done.realized == expected
        assert long_done.qty == short_done.qty == 0 and long_done.cost == short_done.cost == 0
        assert long_done.round_trips == short_done.round_trips == 1
        assert long_done.fees == short_done.fees
    else:
        long_part = fill(long_open, LONG, Side.SELL, closing, sell_cost, fc, closes=True)
        short_part = fill(short_open, SHORT, Side.BUY, closing, buy_cost, fc, closes=True)
        assert long_part.qty == short_part.qty == qty - closing
        # Nothing is created or lost (R5): the basis share a close takes out, plus what it
        # realizes, is its proceeds net of fee (long); minus it, the cost of the buy (short).
        long_share = long_open.cost - long_part.cost
        short_share = short_open.cost - short_part.cost
        assert long_part.realized + long_share == sell_cost - fee_close
        assert short_part.realized - short_share == -buy_cost - fee_close


@settings(max_examples=40)
@given(qty=amounts, cost=amounts)
def test_long_is_the_default_and_unchanged(qty: D, cost: D) -> None:
    # The fold a long grid has always had: a buy adds qty and cost, a sell realizes.
    bought = fill(EMPTY, LONG, Side.BUY, qty, cost)
    assert (bought.qty, bought.cost) == (qty, cost)
    sold = fill(bought, LONG, Side.SELL, qty, cost + 1, closes=True)
    assert (sold.qty, sold.cost, sold.realized) == (D(0), D(0), D(1))
    grid = GridSpec("g", Instrument.from_symbol("BTC/USDT"), D(100), D(10))
    assert grid.direction is GridDirection.LONG and grid.level_direction(-3) is Direction.LONG


def test_short_is_wired_into_the_strategy() -> None:
    # Issue 11: this test used to assert that decide() refused a short grid.
    params = strategy_params(anchor=D(30000), interval=D(100), quote_per_level=D(100))
    assert params.direction is GridDirection.LONG
    short = GridSpec("g", Instrument.from_symbol("BTC/USDT:USDT"), D(30000), D(100), direction=Direction.SHORT)
    short_params = StrategyConfig().params(short)
    rules = MarketRules(amount_step=D("0.00001"), price_step=D("0.01"))
    places = decide(StrategyState(), short_params, rules, D(30000), {}).places
    assert places and all(p.side is Side.SELL and p.role is Role.OPEN and p.price > D(30000) for p in places)
