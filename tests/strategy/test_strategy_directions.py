"""Issue 11: decide() for short and neutral grids.

A short grid is the long grid's mirror image: reflect every price around level 0
(p -> 2A - p), every level k -> -k and every side, and decide() gives the reflected answer.
A neutral grid opens long slots (buys) only below its pivot and the centre, short slots
(sells) only above both, nothing at the pivot, and closes each slot in its own direction.
Nothing crosses the market and cancels only take opening orders outside the window.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.config import strategy_params
from gridledger.domain.types import Direction, GridDirection, Role, Side
from gridledger.strategy import (
    Decision,
    GridParams,
    LiveOrder,
    MarketRules,
    Place,
    SlotView,
    StrategyState,
    beyond_window,
    buy_amount,
    decide,
)

A = D(1000)
INTERVAL = D(10)
RULES = MarketRules(amount_step=D("0.00001"), price_step=D("0.01"))
QTYS = [D(0), D("0.000001"), D("0.05"), D("1")]  # none, dust, some, a lot


def params(direction: GridDirection, pivot: int | None = None, **settings: object) -> GridParams:
    base = strategy_params(anchor=A, interval=INTERVAL, **settings)
    return dataclasses.replace(base, direction=direction, pivot=pivot)


def flip(side: Side) -> Side:
    return Side.SELL if side is Side.BUY else Side.BUY


def mirror_price(price: D) -> D:
    return 2 * A - price


@st.composite
def long_world(draw):
    """A long grid's inputs: settings, a price, a previous state and the slots' views."""
    settings = dict(
        buy_window=draw(st.integers(1, 5)),
        max_open_orders=draw(st.integers(1, 12)),
        post_only=draw(st.booleans()),
        post_only_close=draw(st.booleans()),
        taker_fallback=draw(st.booleans()),
        post_only_retries=draw(st.integers(1, 3)),
        hysteresis=draw(st.sampled_from([D(0), D("0.25"), D("0.49")])),
    )
    lower = draw(st.none() | st.integers(-12, 0).map(lambda k: A + k * INTERVAL - 5))
    if lower is not None:
        settings["lower_price"] = lower
    # Half-interval prices too: there two orders can be equally far from the price, and the
    # tie-break must mirror as well.
    price = draw(
        st.decimals(min_value=A - 120, max_value=A + 120, places=2) | st.integers(-24, 24).map(lambda k: A + 5 * k)
    )
    centre = draw(st.none() | st.integers(-12, 12))
    rejects = draw(st.dictionaries(st.integers(-14, 14), st.integers(1, 4), max_size=4))
    slots: dict[int, SlotView] = {}
    for level in draw(st.sets(st.integers(-14, 14), max_size=10)):
        qty = draw(st.sampled_from(QTYS))
        kind = draw(st.sampled_from(["none", "open", "close"]))
        live = None
        if kind == "open":
            live = LiveOrder(f"o{level}", Side.BUY, Role.OPEN, A + level * INTERVAL, D("0.1"), D(0))
        elif kind == "close":
            live = LiveOrder(f"c{level}", Side.SELL, Role.CLOSE, A + (level + 1) * INTERVAL, D("0.1"), D(0))
        slots[level] = SlotView(level, qty, live)
    return settings, price, StrategyState(centre, tuple(rejects.items())), slots, draw(st.booleans())


def mirror_inputs(settings: dict, state: StrategyState, slots: dict[int, SlotView]):
    s = dict(settings)
    if "lower_price" in s:
        s["upper_price"] = mirror_price(s.pop("lower_price"))
    state = StrategyState(
        None if state.centre is None else -state.centre, tuple((-k, n) for k, n in state.post_only_rejects)
    )
    views = {}
    for level, v in slots.items():
        live = v.live
        if live is not None:
            live = dataclasses.replace(live, side=flip(live.side), price=mirror_price(live.price))
        views[-level] = SlotView(-level, v.qty, live)
    return s, state, views


@settings(max_examples=300)
@given(long_world())
def test_a_short_grid_is_the_mirror_image_of_a_long_grid(world) -> None:
    settings, price, state, slots, paused = world
    long_d = decide(state, params(GridDirection.LONG, **settings), RULES, price, slots, paused=paused)
    m_settings, m_state, m_slots = mirror_inputs(settings, state, slots)
    short_params = params(GridDirection.SHORT, **m_settings)
    short_d = decide(m_state, short_params, RULES, mirror_price(price), m_slots, paused=paused)

    assert short_d.state.centre == -long_d.state.centre
    assert dict(short_d.state.post_only_rejects) == {-k: n for k, n in long_d.state.post_only_rejects}
    assert {(-c.level, c.client_id) for c in long_d.cancels} == {(c.level, c.client_id) for c in short_d.cancels}
    expected = [(-p.level, flip(p.side), p.role, mirror_price(p.price), p.post_only) for p in long_d.places]
    assert [(p.level, p.side, p.role, p.price, p.post_only) for p in short_d.places] == expected
    for p, q in zip(long_d.places, short_d.places, strict=True):
        if p.role is Role.CLOSE:
            assert q.amount == p.amount  # the slot's owed qty rounded to the step, like the long's
        else:  # quote_per_level / price, rounded down to the step, at the short's own price
            assert q.amount == buy_amount(short_params, RULES, q.price)
    assert Counter((-n.level, n.kind) for n in long_d.notes) == Counter((n.level, n.kind) for n in short_d.notes)


@st.composite
def any_world(draw):
    direction = draw(st.sampled_from(GridDirection))
    pivot = draw(st.integers(-6, 6)) if direction is GridDirection.NEUTRAL else None
    settings = dict(
        buy_window=draw(st.integers(1, 5)),
        max_open_orders=draw(st.integers(1, 20)),
        post_only=draw(st.booleans()),
        post_only_close=draw(st.booleans()),
        taker_fallback=True,
        hysteresis=draw(st.sampled_from([D(0), D("0.25"), D("0.49")])),
    )
    p = params(direction, pivot, **settings)
    price = draw(st.decimals(min_value=A - 120, max_value=A + 120, places=2))
    centre = draw(st.none() | st.integers(-12, 12))
    slots: dict[int, SlotView] = {}
    for level in draw(st.sets(st.integers(-14, 14), max_size=10)):
        d = p.level_direction(level)
        if d is None:
            continue  # the pivot has no slot
        qty = draw(st.sampled_from(QTYS))
        kind = draw(st.sampled_from(["none", "open", "close"]))
        live = None
        if kind == "open":
            live = LiveOrder(f"o{level}", d.opening_side, Role.OPEN, A + level * INTERVAL, D("0.1"), D(0))
        elif kind == "close":
            live = LiveOrder(f"c{level}", d.closing_side, Role.CLOSE, A + (level + d.step) * INTERVAL, D("0.1"), D(0))
        slots[level] = SlotView(level, qty, live)
    return p, price, StrategyState(centre), slots


def _crosses(side: Side, order: D, price: D) -> bool:
    return order >= price if side is Side.BUY else order <= price


@settings(max_examples=300)
@given(any_world())
def test_every_order_trades_its_levels_direction_and_never_crosses_the_market(world) -> None:
    p, price, state, slots = world
    decision: Decision = decide(state, p, RULES, price, slots)
    centre = decision.state.centre
    assert centre is not None
    for place in decision.places:
        d = p.level_direction(place.level)
        assert d is not None, "nothing is placed for a neutral grid's pivot"
        if place.role is Role.OPEN:
            assert place.side is d.opening_side
            assert place.price == A + place.level * INTERVAL
            # Long slots open below the centre and short slots above it, within the window.
            assert 1 <= d.step * (centre - place.level) <= p.buy_window
            if p.direction is GridDirection.NEUTRAL:
                assert (place.level < p.pivot) == (d is Direction.LONG)
            # An opening order always rests: a buy below the price, a sell above it.
            assert not _crosses(place.side, place.price, price)
            assert place.amount == buy_amount(p, RULES, place.price)
        else:
            assert place.side is d.closing_side
            assert place.price == A + (place.level + d.step) * INTERVAL
            assert slots[place.level].qty > 0 and slots[place.level].live is None
            if p.post_only_close:
                assert not _crosses(place.side, place.price, price)
    # An opening order never meets one of our own orders on the other side.
    cancelled = {c.client_id for c in decision.cancels}
    own = [(v.live.side, v.live.price) for v in slots.values() if v.live is not None] + [
        (q.side, q.price) for q in decision.places
    ]
    for place in decision.places:
        if place.role is Role.OPEN:
            assert not any(side is not place.side and _crosses(place.side, place.price, px) for side, px in own), place
    # Cancels take only opening orders that the window has left behind.
    for c in decision.cancels:
        view = slots[c.level]
        assert view.live is not None and view.live.client_id == c.client_id and view.live.role is Role.OPEN
        d = p.level_direction(c.level)
        assert d is not None and beyond_window(c.level, centre, p.buy_window, d)
    assert cancelled <= {v.live.client_id for v in slots.values() if v.live is not None}


@settings(max_examples=200)
@given(pivot=st.integers(-3, 3), price=st.decimals(min_value=A - 60, max_value=A + 60, places=2))
def test_a_fresh_neutral_grid_buys_below_and_sells_above_and_skips_the_pivot(pivot: int, price: D) -> None:
    p = params(GridDirection.NEUTRAL, pivot, buy_window=4, max_open_orders=50, post_only=False)
    decision = decide(StrategyState(), p, RULES, price, {})
    centre = decision.state.centre
    assert centre is not None
    buys = {q.level for q in decision.places if q.side is Side.BUY}
    sells = {q.level for q in decision.places if q.side is Side.SELL}
    assert buys == {k for k in range(centre - 4, centre) if k < pivot}
    assert sells == {k for k in range(centre + 1, centre + 5) if k > pivot}
    assert all(q.role is Role.OPEN for q in decision.places)
    assert pivot not in buys | sells


def test_short_grid_example_opens_above_closes_one_level_down_and_cancels_above_the_window() -> None:
    p = params(GridDirection.SHORT, buy_window=2, post_only=False)
    slots = {
        1: SlotView(1, D("0.5")),  # a filled short slot (sold at 1010): buy it back at 1000
        9: SlotView(9, D(0), LiveOrder("far", Side.SELL, Role.OPEN, D(1090), D("0.1"), D(0))),
        0: SlotView(0, D("0.2"), LiveOrder("cl", Side.BUY, Role.CLOSE, D(990), D("0.2"), D(0))),
    }
    d = decide(StrategyState(), p, RULES, D("1000.5"), slots)
    assert [(c.level, c.client_id) for c in d.cancels] == [(9, "far")]  # above c + 2; closings stay
    # Slot 1 holds closable inventory, so the window's only new opening sell is level 2's.
    assert [(q.level, q.side, q.role, q.price, q.amount) for q in d.places] == [
        (1, Side.BUY, Role.CLOSE, D(1000), D("0.5")),
        (2, Side.SELL, Role.OPEN, D(1020), D("0.09803")),
    ]


def test_neutral_closing_orders_that_would_meet_at_the_pivot_never_trade_with_each_other() -> None:
    # Long slot -1 closes with a sell at the pivot price, short slot 1 with a buy there.
    p = params(GridDirection.NEUTRAL, 0, buy_window=1, post_only=False)
    slots = {-1: SlotView(-1, D("0.1")), 1: SlotView(1, D("0.1"))}
    d = decide(StrategyState(), p, RULES, D(1003), slots)
    closes = [q for q in d.places if q.role is Role.CLOSE]
    assert len(closes) == 1 and closes[0].price == A
    assert [n.level for n in d.notes_of("would_cross")] == [1 if closes[0].level == -1 else -1]


def test_long_default_is_unchanged() -> None:
    p = strategy_params(anchor=A, interval=INTERVAL)
    assert p.direction is GridDirection.LONG and p.pivot is None
    assert p.level_direction(5) is Direction.LONG and p.directions == (Direction.LONG,)
    places = decide(StrategyState(), p, RULES, D(1000), {}).places
    assert places and all(q.side is Side.BUY and q.price < D(1000) for q in places)


def test_place_fields() -> None:
    # Place is unchanged: the engine sends side, role, price and amount as they are.
    assert [f.name for f in dataclasses.fields(Place)] == ["level", "side", "role", "price", "amount", "post_only"]


def test_equally_distant_orders_are_ordered_as_the_mirror_of_a_long_grid() -> None:
    # Two closing orders 5 either side of the price: a long grid sends the lower level's
    # first, a short grid the higher level's (its mirror image), so capacity cuts alike.
    long_slots = {-2: SlotView(-2, D("0.1")), -1: SlotView(-1, D("0.1"))}
    long_d = decide(StrategyState(), params(GridDirection.LONG, buy_window=1), RULES, D(995), long_slots)
    short_slots = {2: SlotView(2, D("0.1")), 1: SlotView(1, D("0.1"))}
    short_d = decide(StrategyState(), params(GridDirection.SHORT, buy_window=1), RULES, D(1005), short_slots)
    assert [q.level for q in long_d.places if q.role is Role.CLOSE] == [-2, -1]
    assert [q.level for q in short_d.places if q.role is Role.CLOSE] == [2, 1]
