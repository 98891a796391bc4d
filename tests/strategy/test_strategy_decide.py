"""Unit tests of ``decide``: one scenario per rule."""

from __future__ import annotations

from decimal import Decimal

import pytest

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
)

D = Decimal
# BTC/USDT-like: interval 100 around 30000, 100 USDT per level.
RULES = MarketRules(amount_step=D("0.00001"), price_step=D("0.01"), min_amount=D("0.00001"), min_notional=D("5"))


def params(**kw: object) -> GridParams:
    base: dict[str, object] = dict(anchor=D("30000"), interval=D("100"), quote_per_level=D("100"))
    base.update(kw)
    return strategy_params(**base)  # type: ignore[arg-type]


def buy(level: int, cid: str | None = None, amount: str = "0.003") -> SlotView:
    price = D("30000") + level * D("100")
    live = LiveOrder(cid or f"b{level}", Side.BUY, Role.OPEN, price, D(amount), D("0"))
    return SlotView(level, D("0"), live)


def sell(level: int, qty: str = "0.003") -> SlotView:
    price = D("30000") + (level + 1) * D("100")
    live = LiveOrder(f"s{level}", Side.SELL, Role.CLOSE, price, D(qty), D("0"))
    return SlotView(level, D(qty), live)


def held(level: int, qty: str) -> SlotView:
    return SlotView(level, D(qty), None)


def slots(*views: SlotView) -> dict[int, SlotView]:
    return {v.level: v for v in views}


def places(d: Decision, side: Side | None = None) -> list[Place]:
    return [a for a in d.actions if isinstance(a, Place) and (side is None or a.side is side)]


def cancels(d: Decision) -> list[Cancel]:
    return [a for a in d.actions if isinstance(a, Cancel)]


def levels(acts: list[Place] | list[Cancel]) -> list[int]:
    return [a.level for a in acts]


def note_levels(d: Decision, kind: str) -> list[int]:
    return [n.level for n in d.notes if n.kind == kind]


# --- centre and window ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "centre"),
    [("30000", 0), ("30030", 0), ("30070", 1), ("29960", 0), ("29940", -1)],
)
def test_first_price_places_window_below_centre(price: str, centre: int) -> None:
    d = decide(StrategyState(), params(), RULES, D(price), {})
    assert d.state == StrategyState(centre=centre)
    assert not cancels(d) and not d.notes
    expected = [centre - k for k in range(1, 6)]
    assert levels(places(d)) == expected  # nearest the price first
    for p in places(d):
        assert (p.side, p.role, p.post_only) == (Side.BUY, Role.OPEN, True)
        assert p.price == D("30000") + p.level * D("100")
        assert p.price < D(price)


def test_buy_sizing_quote_per_level() -> None:
    d = decide(StrategyState(), params(), RULES, D("30000"), {})
    amounts = {p.level: p.amount for p in places(d)}
    assert amounts[-1] == D("0.00334")  # 100 / 29900 = 0.0033444..., rounded down
    assert amounts[-5] == D("0.00338")  # 100 / 29500 = 0.0033898...


def test_window_with_live_orders_is_left_alone() -> None:
    view = slots(*(buy(k) for k in range(-5, 0)))
    d = decide(StrategyState(centre=0), params(), RULES, D("30040"), view)
    assert d.actions == () and d.notes == ()


def test_trailing_up_cancels_buys_out_of_window_and_places_new_ones() -> None:
    view = slots(*(buy(k) for k in range(-5, 0)))
    # 30180: past 0 + 75, nearest level 2 -> window 1..-3.
    d = decide(StrategyState(centre=0), params(), RULES, D("30180"), view)
    assert d.state.centre == 2
    assert [(c.level, c.client_id, c.reason) for c in cancels(d)] == [
        (-5, "b-5", "outside window"),
        (-4, "b-4", "outside window"),
    ]
    assert levels(places(d)) == [1, 0]
    # Cancels come first.
    assert isinstance(d.actions[0], Cancel) and isinstance(d.actions[1], Cancel)


def test_trailing_down_places_buys_below_and_keeps_the_rest() -> None:
    view = slots(*(buy(k) for k in range(-5, 0)))
    d = decide(StrategyState(centre=0), params(), RULES, D("29780"), view)
    assert d.state.centre == -2
    assert not cancels(d)  # buys at -1 and -2 are above the window: kept, never cancelled
    assert levels(places(d)) == [-6, -7]


def test_hysteresis_holds_centre_inside_threshold() -> None:
    view = slots(*(buy(k) for k in range(-5, 0)))
    d = decide(StrategyState(centre=0), params(), RULES, D("30075"), view)
    assert d.state.centre == 0 and d.actions == ()


# --- closing sells ----------------------------------------------------------------------


def test_closing_sell_one_interval_up_sized_after_fees() -> None:
    # A 0.001 buy at level -1 with a 0.15% base fee leaves 0.0009985 in the slot.
    view = slots(held(-1, "0.0009985"), *(buy(k) for k in range(-5, -1)))
    rules = MarketRules(D("0.00001"), D("0.01"), min_amount=D("0.00001"), min_notional=D("5"))
    d = decide(StrategyState(centre=0), params(), rules, D("29950"), view)
    assert places(d) == [Place(-1, Side.SELL, Role.CLOSE, D("30000"), D("0.00099"), False)]
    assert d.notes == ()


def test_closing_sell_post_only_close() -> None:
    view = slots(held(-1, "0.001"), *(buy(k) for k in range(-5, -1)))
    d = decide(StrategyState(centre=0), params(post_only_close=True), RULES, D("29950"), view)
    assert places(d) == [Place(-1, Side.SELL, Role.CLOSE, D("30000"), D("0.001"), True)]


def test_post_only_close_sell_at_or_below_price_would_cross() -> None:
    # Level -3's sell is at 29800, the price is 29950: a post-only sell would be rejected.
    view = slots(held(-3, "0.001"), *(buy(k) for k in (-1, -2, -4, -5)))
    d = decide(StrategyState(centre=0), params(post_only_close=True), RULES, D("29950"), view)
    assert places(d) == []
    (note,) = d.notes
    assert (note.level, note.kind, note.qty) == (-3, "would_cross", D("0.001"))
    # A plain limit sell there fills at once at a better price.
    d = decide(StrategyState(centre=0), params(), RULES, D("29950"), view)
    assert places(d) == [Place(-3, Side.SELL, Role.CLOSE, D("29800"), D("0.001"), False)]


def test_closing_sells_are_never_cancelled() -> None:
    view = slots(sell(-9), sell(-8), *(buy(k) for k in range(-5, 0)))
    d = decide(StrategyState(centre=0), params(), RULES, D("30300"), view)
    assert d.state.centre == 3
    assert sorted(levels(cancels(d))) == [-5, -4, -3]
    assert all(c.client_id.startswith("b") for c in cancels(d))


def test_dust_below_min_amount_is_noted_and_slot_gets_a_new_buy() -> None:
    rules = MarketRules(D("0.00001"), D("0.01"), min_amount=D("0.0001"), min_notional=D("0"))
    view = slots(held(-1, "0.0000999"), *(buy(k) for k in range(-5, -1)))
    d = decide(StrategyState(centre=0), params(), rules, D("30000"), view)
    (note,) = d.notes
    assert (note.level, note.kind, note.qty) == (-1, "dust", D("0.0000999"))
    assert places(d) == [Place(-1, Side.BUY, Role.OPEN, D("29900"), D("0.00334"), True)]


def test_dust_below_min_notional_is_noted_and_slot_gets_a_new_buy() -> None:
    # 0.00016 sells for 0.00016 * 30000 = 4.80 < 5.
    view = slots(held(-1, "0.00016"), *(buy(k) for k in range(-5, -1)))
    d = decide(StrategyState(centre=0), params(), RULES, D("30000"), view)
    assert [(n.level, n.kind, n.qty) for n in d.notes] == [(-1, "dust", D("0.00016"))]
    assert levels(places(d, Side.BUY)) == [-1]
    assert places(d, Side.SELL) == []


def test_dust_outside_window_is_still_reported() -> None:
    view = slots(held(-40, "0.000001"), held(12, "0.000003"))
    d = decide(StrategyState(centre=0), params(), RULES, D("30000"), view)
    assert [(n.level, n.kind, n.qty) for n in d.notes] == [
        (-40, "dust", D("0.000001")),
        (12, "dust", D("0.000003")),
    ]


def test_sellable_slot_in_window_gets_a_sell_not_a_buy() -> None:
    view = slots(held(-2, "0.003"), *(buy(k) for k in (-1, -3, -4, -5)))
    d = decide(StrategyState(centre=0), params(), RULES, D("30000"), view)
    assert [(p.level, p.side) for p in places(d)] == [(-2, Side.SELL)]


def test_no_second_order_on_a_slot_with_a_live_order() -> None:
    # Slot -1 holds inventory *and* a live sell (one level up): neither a buy nor a sell.
    view = slots(sell(-1), *(buy(k) for k in range(-5, -1)))
    d = decide(StrategyState(centre=0), params(), RULES, D("30000"), view)
    assert d.actions == ()
    # A partially filled live buy: no closing sell until it is done.
    live = LiveOrder("b-1", Side.BUY, Role.OPEN, D("29900"), D("0.003"), D("0.001"))
    view[-1] = SlotView(-1, D("0.000999"), live)
    d = decide(StrategyState(centre=0), params(), RULES, D("30000"), view)
    assert d.actions == ()


def test_buy_never_meets_our_own_sell() -> None:
    # Slot -4's plain-limit sell goes at 29700 (below the market: it fills at once), and
    # level -3 would buy at 29700 too; the buy waits for the next decision.
    view = slots(held(-4, "0.003"))
    d = decide(StrategyState(centre=0), params(), RULES, D("30000"), view)
    assert [(p.level, p.side) for p in places(d)] == [
        (-4, Side.SELL),
        (-5, Side.BUY),
    ]
    assert note_levels(d, "would_cross") == [-1, -2, -3]


# --- skips ------------------------------------------------------------------------------


def test_min_notional_skips_buys() -> None:
    rules = MarketRules(D("0.00001"), D("0.01"), min_amount=D("0"), min_notional=D("10"))
    d = decide(StrategyState(), params(quote_per_level=D("9.99")), rules, D("30000"), {})
    assert places(d) == []
    assert note_levels(d, "below_min") == [-1, -2, -3, -4, -5]


def test_min_amount_skips_buys() -> None:
    rules = MarketRules(D("0.00001"), D("0.01"), min_amount=D("0.0034"), min_notional=D("0"))
    # 100 / 29500 = 0.00338 < 0.0034; 100 / 29400 = 0.00340 passes.
    d = decide(StrategyState(), params(), rules, D("30000"), {})
    assert places(d) == [] and note_levels(d, "below_min") == [-1, -2, -3, -4, -5]
    d = decide(StrategyState(), params(), rules, D("29600"), {})
    assert levels(places(d)) == [-6, -7, -8, -9]
    assert note_levels(d, "below_min") == [-5]


def test_paused_no_buys_but_sells_continue() -> None:
    view = slots(held(-2, "0.003"), buy(-5))
    d = decide(StrategyState(centre=0), params(), RULES, D("30000"), view, paused=True)
    assert places(d) == [Place(-2, Side.SELL, Role.CLOSE, D("29900"), D("0.003"), False)]
    assert note_levels(d, "paused") == [-1, -3, -4]
    assert not cancels(d)


def test_paused_still_cancels_out_of_window_buys() -> None:
    view = slots(buy(-5))
    d = decide(StrategyState(centre=0), params(), RULES, D("30300"), view, paused=True)
    assert levels(cancels(d)) == [-5]
    assert places(d) == []


def test_bounds() -> None:
    p = params(lower_price=D("29700"), upper_price=D("29850"))
    d = decide(StrategyState(), p, RULES, D("30000"), {})
    assert levels(places(d)) == [-2, -3]  # 29700 is inside: bounds are inclusive
    assert note_levels(d, "out_of_bounds") == [-1, -4, -5]
    # Closing sells ignore bounds: inventory is always sold.
    d = decide(StrategyState(), p, RULES, D("30000"), slots(held(-1, "0.003")))
    assert levels(places(d, Side.SELL)) == [-1]


def test_levels_at_or_below_zero_price_are_out_of_bounds() -> None:
    p = params(anchor=D("300"), interval=D("100"))
    d = decide(StrategyState(), p, RULES, D("300"), {})
    assert levels(places(d)) == [-1, -2]
    assert note_levels(d, "out_of_bounds") == [-3, -4, -5]


# --- cap --------------------------------------------------------------------------------


def test_cap_gives_sells_priority_then_nearest_buys() -> None:
    view = slots(held(5, "0.003"), held(0, "0.003"), held(3, "0.003"))
    d = decide(StrategyState(), params(max_open_orders=4), RULES, D("30000"), view)
    # Sells nearest the price first: 0 (30100), 3 (30400), 5 (30600); then the nearest buy.
    assert [(p.level, p.side) for p in places(d)] == [
        (0, Side.SELL),
        (3, Side.SELL),
        (5, Side.SELL),
        (-1, Side.BUY),
    ]
    assert note_levels(d, "cap") == [-2, -3, -4, -5]
    d = decide(StrategyState(), params(max_open_orders=2), RULES, D("30000"), view)
    assert [(p.level, p.side) for p in places(d)] == [(0, Side.SELL), (3, Side.SELL)]
    assert note_levels(d, "cap") == [5, -1, -2, -3, -4, -5]


def test_cap_counts_live_orders_and_cancels_free_capacity() -> None:
    p = params(max_open_orders=5)
    view = slots(*(buy(k) for k in range(-5, 0)))
    d = decide(StrategyState(centre=0), p, RULES, D("30000"), {**view, **slots(held(8, "0.1"))})
    assert places(d) == [] and note_levels(d, "cap") == [8]
    # Trailing up two levels cancels two buys; that frees room for two new ones.
    d = decide(StrategyState(centre=0), p, RULES, D("30200"), view)
    assert levels(cancels(d)) == [-5, -4] and levels(places(d)) == [1, 0]
    # ... and no more than that: the freed room goes to the sell first, then one buy.
    d = decide(StrategyState(centre=0), p, RULES, D("30200"), {**view, **slots(held(8, "0.1"))})
    assert levels(cancels(d)) == [-5, -4]
    assert [(a.level, a.side) for a in places(d)] == [(8, Side.SELL), (1, Side.BUY)]
    assert note_levels(d, "cap") == [0]


def test_capped_sell_keeps_its_qty_in_the_note() -> None:
    view = slots(held(-2, "0.003"), held(-3, "0.004"))
    d = decide(StrategyState(), params(max_open_orders=1), RULES, D("30000"), view)
    assert levels(places(d)) == [-2]
    cap = [n for n in d.notes if n.kind == "cap" and n.level == -3]
    assert cap and cap[0].qty == D("0.004")


def test_over_cap_places_nothing() -> None:
    view = slots(*(buy(k) for k in range(-5, 0)), held(9, "0.003"))
    d = decide(StrategyState(centre=0), params(max_open_orders=3), RULES, D("30000"), view)
    assert places(d) == [] and note_levels(d, "cap") == [9]


# --- post-only retries ------------------------------------------------------------------


def test_retries_then_waiting() -> None:
    p = params(post_only_retries=2)
    view = slots(*(buy(k) for k in range(-5, -1)))
    state = StrategyState(centre=0).on_post_only_reject(-1)
    d = decide(state, p, RULES, D("30000"), view)
    assert levels(places(d)) == [-1] and places(d)[0].post_only
    assert d.state == state  # counts survive while the centre stays
    state = state.on_post_only_reject(-1)
    d = decide(state, p, RULES, D("30000"), view)
    assert places(d) == []
    assert [(n.level, n.kind) for n in d.notes] == [(-1, "waiting")]
    # Accepted elsewhere does not reset this level; accepted here does.
    assert decide(state.on_accepted(-2), p, RULES, D("30000"), view).actions == ()
    assert levels(places(decide(state.on_accepted(-1), p, RULES, D("30000"), view))) == [-1]


def test_taker_fallback_after_retries() -> None:
    p = params(post_only_retries=1, taker_fallback=True)
    view = slots(*(buy(k) for k in range(-5, -1)))
    state = StrategyState(centre=0).on_post_only_reject(-1)
    d = decide(state, p, RULES, D("30000"), view)
    assert places(d) == [Place(-1, Side.BUY, Role.OPEN, D("29900"), D("0.00334"), False)]
    assert d.notes == ()


def test_centre_move_resets_rejects() -> None:
    p = params(post_only_retries=1)
    state = StrategyState(centre=0).on_post_only_reject(-1).on_post_only_reject(-2)
    d = decide(state, p, RULES, D("30100"), slots(buy(-3), buy(-4), buy(-5)))
    assert d.state == StrategyState(centre=1)
    assert levels(places(d)) == [0, -1, -2]
    assert all(pl.post_only for pl in places(d))


def test_post_only_close_retries_apply_to_sells() -> None:
    p = params(post_only_close=True, post_only_retries=1)
    view = slots(held(-1, "0.001"), *(buy(k) for k in range(-5, -1)))
    state = StrategyState(centre=0).on_post_only_reject(-1)
    d = decide(state, p, RULES, D("29950"), view)
    assert places(d) == [] and [(n.level, n.kind, n.qty) for n in d.notes] == [(-1, "waiting", D("0.001"))]


# --- misc -------------------------------------------------------------------------------


def test_action_order_cancels_sells_buys() -> None:
    view = slots(buy(-5), buy(-4), held(5, "0.003"), held(2, "0.003"))
    d = decide(StrategyState(centre=0), params(), RULES, D("30200"), view)
    kinds = [a.side.value if isinstance(a, Place) else "cancel" for a in d.actions]
    assert kinds == ["cancel", "cancel", "sell", "sell", "buy", "buy", "buy", "buy", "buy"]
    assert levels(places(d, Side.SELL)) == [2, 5]  # 30300 then 30600: nearest first
    assert levels(places(d, Side.BUY)) == [1, 0, -1, -2, -3]


def test_decide_is_deterministic_and_pure() -> None:
    view = slots(buy(-5), held(-2, "0.003"), held(-1, "0.00001"))
    state = StrategyState(centre=0, post_only_rejects=((-3, 1),))
    a = decide(state, params(), RULES, D("30160"), view)
    b = decide(state, params(), RULES, D("30160"), dict(reversed(list(view.items()))))
    assert a == b
    assert state == StrategyState(centre=0, post_only_rejects=((-3, 1),))


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="price"):
        decide(StrategyState(), params(), RULES, D("0"), {})
    with pytest.raises(ValueError, match="price"):
        decide(StrategyState(), params(), RULES, 30000.0, {})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="level"):
        decide(StrategyState(), params(), RULES, D("30000"), {1: held(2, "1")})
    with pytest.raises(ValueError, match="anchor"):
        decide(StrategyState(), params(anchor=D("30000.001")), RULES, D("30000"), {})
