"""Property tests: random price paths through ``decide`` and a small fake exchange.

The fake world applies every decision (places become live orders, cancels remove them),
fills a live buy when the price is at or below it and a live sell when the price is at or
above it, charges a base-asset fee on buys, and rejects post-only orders that would cross
(plus, on request, arbitrary ones, to exercise the retry counting). Invariants are checked
on every tick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridledger.config import strategy_params
from gridledger.domain.types import Role, Side
from gridledger.strategy import (
    Cancel,
    Decision,
    GridParams,
    LiveOrder,
    MarketRules,
    Place,
    SlotView,
    StrategyState,
    decide,
    meets_minimums,
    order_price,
    sellable_amount,
)

D = Decimal
FEE = D("0.001")  # base-asset fee on buys: the slot holds amount * (1 - FEE)


@dataclass
class _Slot:
    qty: Decimal = D(0)
    live: LiveOrder | None = None


@dataclass
class World:
    params: GridParams
    rules: MarketRules
    state: StrategyState = field(default_factory=StrategyState)
    slots: dict[int, _Slot] = field(default_factory=dict)
    seq: int = 0
    tick_no: int = 0
    # (tick, level) of every cancel and every opening-buy place, for the churn checks.
    cancelled: list[tuple[int, int]] = field(default_factory=list)
    placed_buys: list[tuple[int, int]] = field(default_factory=list)
    prices: list[Decimal] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)

    def view(self) -> dict[int, SlotView]:
        return {
            lvl: SlotView(lvl, s.qty, s.live)
            for lvl, s in sorted(self.slots.items())
            if s.qty > 0 or s.live is not None
        }

    def live_count(self) -> int:
        return sum(1 for s in self.slots.values() if s.live is not None)

    def fill(self, price: Decimal) -> None:
        for s in self.slots.values():
            o = s.live
            if o is None:
                continue
            if o.side is Side.BUY and price <= o.price:
                s.qty += o.amount * (1 - FEE)
                s.live = None
            elif o.side is Side.SELL and price >= o.price:
                assert o.amount <= s.qty
                s.qty -= o.amount  # the sub-step residual stays in the slot as dust
                s.live = None

    def apply(self, d: Decision, price: Decimal, reject: bool) -> None:
        for a in d.actions:
            slot = self.slots.setdefault(a.level, _Slot())
            if isinstance(a, Cancel):
                assert slot.live is not None and slot.live.client_id == a.client_id
                slot.live = None
                self.cancelled.append((self.tick_no, a.level))
                continue
            assert slot.live is None, f"second order on slot {a.level}"
            if a.role is Role.OPEN:
                self.placed_buys.append((self.tick_no, a.level))
            crosses = a.price >= price if a.side is Side.BUY else a.price <= price
            if a.post_only and (reject or crosses):
                self.state = self.state.on_post_only_reject(a.level)
                continue
            self.seq += 1
            slot.live = LiveOrder(f"o{self.seq}", a.side, a.role, a.price, a.amount, D(0))
            self.state = self.state.on_accepted(a.level)

    def tick(self, price: Decimal, *, paused: bool = False, reject: bool = False) -> Decision:
        self.tick_no += 1
        self.prices.append(price)
        self.fill(price)
        view = self.view()
        d = decide(self.state, self.params, self.rules, price, view, paused=paused)
        check_invariants(self.params, self.rules, self.state, price, view, d, paused)
        self.state = d.state
        self.apply(d, price, reject)
        assert self.live_count() <= self.params.max_open_orders
        self.fill(price)  # plain limit orders that cross fill at once
        self.decisions.append(d)
        return d

    def churn_pairs(self) -> list[tuple[int, int, int]]:
        """(level, cancel tick, re-place tick) with the re-place within 2 ticks."""
        places = set(self.placed_buys)
        return [(lvl, t, t + k) for t, lvl in self.cancelled for k in (0, 1, 2) if (t + k, lvl) in places]


def check_invariants(
    params: GridParams,
    rules: MarketRules,
    state: StrategyState,
    price: Decimal,
    view: dict[int, SlotView],
    d: Decision,
    paused: bool,
) -> None:
    places = [a for a in d.actions if isinstance(a, Place)]
    cancels = [a for a in d.actions if isinstance(a, Cancel)]
    centre = d.state.centre
    assert centre is not None

    # Deterministic and pure.
    assert decide(state, params, rules, price, view, paused=paused) == d

    # Order: cancels, then closing sells, then opening buys.
    kinds = [0 if isinstance(a, Cancel) else 1 if a.side is Side.SELL else 2 for a in d.actions]
    assert kinds == sorted(kinds)

    # One order per slot: none on a slot with a live order, never two on one level.
    assert len({p.level for p in places}) == len(places)
    for p in places:
        assert p.level not in view or view[p.level].live is None

    # Cancels only hit live opening buys below the window.
    for c in cancels:
        live = view[c.level].live
        assert live is not None and live.client_id == c.client_id
        assert live.role is Role.OPEN and live.side is Side.BUY
        assert c.level < centre - params.buy_window

    # Cap, with cancels freeing room.
    live_after = sum(1 for s in view.values() if s.live is not None) - len(cancels)
    assert live_after + len(places) <= params.max_open_orders or not places
    if d.notes_of("cap"):
        assert live_after + len(places) >= params.max_open_orders

    for p in places:
        assert p.amount > 0 and p.amount % rules.amount_step == 0
        assert p.amount >= rules.min_amount and p.amount * p.price >= rules.min_notional
        assert p.price % rules.price_step == 0
        # Post-only retries: a level past its retries waits, or goes out as a plain order.
        wants_post_only = params.post_only if p.side is Side.BUY else params.post_only_close
        if wants_post_only:
            exhausted = d.state.rejects(p.level) >= params.post_only_retries
            assert p.post_only is not exhausted
            assert params.taker_fallback or not exhausted
        else:
            assert not p.post_only
        if p.side is Side.BUY:
            assert p.role is Role.OPEN and not paused
            assert centre - params.buy_window <= p.level <= centre - 1
            assert p.price == order_price(params, rules, p.level)
            assert p.amount * p.price <= params.quote_per_level
            if params.post_only:
                assert p.price < price
            if params.lower_price is not None:
                assert p.price >= params.lower_price
            if params.upper_price is not None:
                assert p.price <= params.upper_price
        else:
            assert p.role is Role.CLOSE
            assert p.price == order_price(params, rules, p.level + 1)
            assert p.amount == sellable_amount(view[p.level].qty, rules)

    # Every slot with inventory and no live order gets its closing sell, or a note that
    # carries its qty (dust, capped, waiting, or a post-only sell that would cross).
    sells = {p.level for p in places if p.side is Side.SELL}
    for lvl, s in view.items():
        if s.qty <= 0 or s.live is not None:
            continue
        sellable = meets_minimums(sellable_amount(s.qty, rules), order_price(params, rules, lvl + 1), rules)
        if lvl in sells:
            assert sellable
            continue
        notes = [n for n in d.notes if n.level == lvl and n.qty == s.qty]
        if not sellable:
            assert [n.kind for n in notes] == ["dust"]
        else:
            allowed = {"cap"} | ({"would_cross", "waiting"} if params.post_only_close else set())
            assert notes and notes[0].kind in allowed, (lvl, s, d.notes)


# --- hypothesis strategies --------------------------------------------------------------

TICKS = 10  # price unit: one tenth of an interval


@st.composite
def grid_setups(draw: st.DrawFn, hysteresis: st.SearchStrategy[Decimal] | None = None) -> World:
    interval = draw(st.sampled_from([D("1"), D("10"), D("25.5"), D("100")]))
    anchor = interval * draw(st.integers(20, 400))
    quote = draw(st.sampled_from([D("5"), D("20"), D("100"), D("1000")]))
    # The amount step is chosen relative to one level's size so that most setups can trade:
    # from 1 step per level (coarse: sizes and dust vary a lot) to ~1000 steps per level.
    per_level = quote / anchor
    step = D(1).scaleb(per_level.adjusted() - draw(st.integers(0, 3)))
    min_amount = draw(st.sampled_from([D(0), step, quantize(per_level * D("0.95"), step)]))
    rules = MarketRules(
        amount_step=step,
        price_step=D("0.01") if interval != D("25.5") else D("0.1"),
        min_amount=min_amount,
        min_notional=draw(st.sampled_from([D(0), quote / 2, quote * D("0.99")])),
    )
    bounds = draw(st.booleans())
    params = GridParams(
        anchor=anchor,
        interval=interval,
        quote_per_level=quote,
        buy_window=draw(st.integers(1, 6)),
        max_open_orders=draw(st.integers(1, 12)),
        post_only=draw(st.booleans()),
        post_only_retries=draw(st.integers(1, 3)),
        taker_fallback=draw(st.booleans()),
        post_only_close=draw(st.booleans()),
        hysteresis=draw(
            hysteresis
            if hysteresis is not None
            else st.sampled_from([D("0"), D("0.1"), D("0.25"), D("0.4"), D("0.49")])
        ),
        lower_price=anchor - 8 * interval if bounds else None,
        upper_price=anchor + 30 * interval if bounds else None,
    )
    world = World(params, rules)
    # Inventory left over from an earlier run (a restart), sellable or dust, so that closing
    # sells compete for the cap from the first tick.
    for level in draw(st.lists(st.integers(-12, 12), max_size=8, unique=True)):
        share = draw(st.sampled_from([D("0.01"), D("0.5"), D(1)]))
        world.slots[level] = _Slot(qty=per_level * share)
    return world


def quantize(value: Decimal, step: Decimal) -> Decimal:
    return (value // step) * step


# Mostly steps of -1, 0, +1 tenths of an interval, sometimes a jump of up to 5 intervals.
# The second number of a tick: 0 pauses opening buys, 1 rejects its post-only orders.
steps = st.one_of(st.integers(-1, 1), st.integers(-1, 1), st.integers(-1, 1), st.integers(-50, 50))
ticks = st.lists(st.tuples(steps, st.integers(0, 19)), min_size=20, max_size=150)


def run_path(world: World, path: list[tuple[int, int]]) -> None:
    unit = world.params.interval / TICKS
    pos = world.params.anchor / unit  # start on the anchor
    for step, flag in path:
        pos = max(pos + step, D(1))
        world.tick(pos * unit, paused=flag == 0, reject=flag == 1)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(world=grid_setups(), path=ticks)
def test_invariants_on_random_paths(world: World, path: list[tuple[int, int]]) -> None:
    run_path(world, path)
    # With hysteresis, a cancel and re-place of one level within two ticks needs the price
    # to move by more than hysteresis * interval over those ticks (see grid.next_centre).
    h_move = world.params.hysteresis * world.params.interval
    for _lvl, t0, t1 in world.churn_pairs():
        window = world.prices[t0 - 1 : t1]
        assert max(window) - min(window) > h_move


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    world=grid_setups(hysteresis=st.sampled_from([D("0.1"), D("0.25"), D("0.4"), D("0.49")])),
    path=st.lists(st.tuples(st.integers(-1, 1), st.integers(2, 19)), min_size=20, max_size=200),
)
def test_no_churn_on_small_step_paths(world: World, path: list[tuple[int, int]]) -> None:
    # Steps of a tenth of an interval move the price at most 0.2 intervals in two ticks;
    # one level up and back down needs more than 2 * hysteresis intervals (>= 0.2).
    run_path(world, path)
    assert world.churn_pairs() == []


# --- churn on a wobbling price ----------------------------------------------------------


def wobble_world(hysteresis: Decimal, window: int = 3, cap: int = 20) -> World:
    params = strategy_params(
        anchor=D("1000"),
        interval=D("10"),
        quote_per_level=D("100"),
        buy_window=window,
        max_open_orders=cap,
        hysteresis=hysteresis,
    )
    return World(params, MarketRules(D("0.001"), D("0.01")))


def wobble(world: World, centre_level: int, amplitude: Decimal, n: int) -> None:
    """Alternate the price just above and just below the midpoint of a level and the next."""
    p = world.params
    mid = p.anchor + centre_level * p.interval + p.interval / 2
    for i in range(n):
        world.tick(mid + amplitude if i % 2 == 0 else mid - amplitude)


@settings(max_examples=200, deadline=None)
@given(
    hysteresis=st.sampled_from([D("0.01"), D("0.05"), D("0.1"), D("0.25"), D("0.49")]),
    fraction=st.sampled_from([D("0.01"), D("0.5"), D("0.99"), D("1")]),
    start_above=st.booleans(),
    window=st.integers(1, 6),
    cap=st.integers(1, 12),
    level=st.integers(-50, 50),
)
def test_wobble_within_hysteresis_never_churns(
    hysteresis: Decimal,
    fraction: Decimal,
    start_above: bool,
    window: int,
    cap: int,
    level: int,
) -> None:
    world = wobble_world(hysteresis, window, cap)
    amplitude = hysteresis * world.params.interval * fraction
    if not start_above:
        p = world.params
        world.tick(p.anchor + level * p.interval + p.interval / 2 - amplitude)
    wobble(world, level, amplitude, 30)
    first, rest = world.decisions[0], world.decisions[1:]
    assert first.actions  # the first decision builds the window
    assert all(d.actions == () for d in rest)
    assert world.churn_pairs() == []
    assert len({d.state.centre for d in world.decisions}) == 1


def test_wobble_without_hysteresis_churns() -> None:
    # The same wobble with hysteresis = 0 re-centres on every tick: the window's lowest
    # buy is cancelled and placed again and again. This is what the properties above catch.
    world = wobble_world(D("0"))
    wobble(world, 0, D("2"), 10)
    pairs = world.churn_pairs()
    assert pairs and {lvl for lvl, _, _ in pairs} == {-3}
    assert {d.state.centre for d in world.decisions} == {0, 1}
    for d in world.decisions[1:]:
        assert len(d.actions) == 1


@settings(max_examples=100, deadline=None)
@given(
    amplitude=st.sampled_from([D("0.01"), D("1"), D("2.5"), D("4.99")]),
    window=st.integers(1, 6),
    level=st.integers(-50, 50),
)
def test_wobble_without_hysteresis_always_churns(amplitude: Decimal, window: int, level: int) -> None:
    world = wobble_world(D("0"), window)
    wobble(world, level, amplitude, 8)
    assert len(world.churn_pairs()) >= 3


def test_world_closes_a_filled_buy_with_a_sell_one_level_up() -> None:
    # A sanity run of the fake world itself: fill, close, sell fill, dust residual.
    world = wobble_world(D("0.25"))
    world.params = strategy_params(anchor=D("1000"), interval=D("10"), quote_per_level=D("100"), buy_window=2)
    world.tick(D("1000"))
    assert {(lvl, s.live.price) for lvl, s in world.slots.items() if s.live} == {
        (-1, D("990")),
        (-2, D("980")),
    }
    world.tick(D("990"))  # buy at 990 fills: 0.101 * 0.999 = 0.100899 held
    d = world.decisions[-1]
    sell = [a for a in d.actions if isinstance(a, Place) and a.side is Side.SELL]
    assert sell == [Place(-1, Side.SELL, Role.CLOSE, D("1000"), D("0.100"), False)]
    d = world.tick(D("1000"))  # the sell fills; 0.000899 stays as dust
    assert world.slots[-1].qty == D("0.000899")
    assert [(n.level, n.kind, n.qty) for n in d.notes] == [(-1, "dust", D("0.000899"))]
    # The dust does not block the level: it is bought again, and the dust rides along.
    assert [(a.level, a.side) for a in d.actions if isinstance(a, Place)] == [(-1, Side.BUY)]
    world.tick(D("990"))
    assert world.slots[-1].qty == D("0.000899") + D("0.100899")
