"""strategy/risk.py: the pure exit check, the position cap and the exit price (issue 11 item 3)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.domain.types import Role, Side
from gridledger.strategy import Cancel, Decision, LiveOrder, Place, StrategyState
from gridledger.strategy.risk import (
    Exposure,
    RiskLimits,
    cap_opening,
    check_exit,
    check_limits,
    exit_price,
    exposure,
)

prices = st.decimals(min_value=D("1"), max_value=D("100000"), places=2)
amounts = st.decimals(min_value=D("0.001"), max_value=D("5"), places=3)
money = st.decimals(min_value=D("-10000"), max_value=D("10000"), places=4)
FEW = settings(max_examples=200, deadline=None)


@FEW
@given(prices, prices, prices)
def test_long_stop_below_take_profit_above(price, a, b):
    stop, tp = min(a, b), max(a, b)
    if stop == tp:
        return
    got = check_exit(RiskLimits(stop_loss_price=stop, take_profit_price=tp), "long", price)
    if price <= stop:
        assert got is not None and got.kind == "stop_loss"
    elif price >= tp:
        assert got is not None and got.kind == "take_profit"
    else:
        assert got is None


@FEW
@given(prices, prices, prices)
def test_short_stop_above_take_profit_below(price, a, b):
    tp, stop = min(a, b), max(a, b)
    if stop == tp:
        return
    got = check_exit(RiskLimits(stop_loss_price=stop, take_profit_price=tp), "short", price)
    if price >= stop:
        assert got is not None and got.kind == "stop_loss"
    elif price <= tp:
        assert got is not None and got.kind == "take_profit"
    else:
        assert got is None


@FEW
@given(prices, prices, prices)
def test_neutral_has_a_stop_on_each_side(price, a, b):
    low, high = min(a, b), max(a, b)
    got = check_exit(RiskLimits(stop_loss_price=low, stop_loss_price_above=high), "neutral", price)
    assert (got is not None) == (price <= low or price >= high)
    assert got is None or got.kind == "stop_loss"


@FEW
@given(prices, money, money, st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2))
def test_drawdown_fires_at_and_beyond_the_limit(price, equity, peak, dd):
    got = check_exit(RiskLimits(max_drawdown=dd), "long", price, equity, peak)
    assert (got is not None) == (peak - equity >= dd)
    assert got is None or got.kind == "max_drawdown"


@FEW
@given(st.sampled_from(["long", "short", "neutral"]), prices, money, money)
def test_no_limits_never_exit(kind, price, equity, peak):
    assert check_exit(RiskLimits(), kind, price, equity, peak) is None


@FEW
@given(
    st.lists(st.tuples(st.booleans(), amounts, money, money), max_size=12),
    prices,
)
def test_equity_marks_each_slot_at_the_price(slots, price):
    total = exposure(slots)
    expected = sum(
        (r + (q * price - c if is_long else c - q * price) for is_long, q, c, r in slots),
        D(0),
    )
    assert total.equity(price) == expected
    assert total.net_position == sum((q if is_long else -q for is_long, q, _, _ in slots), D(0))
    assert Exposure().equity(price) == 0


steps = st.sampled_from([D("0.01"), D("0.1"), D("1"), D("0.5")])
slips = st.decimals(min_value=D("0"), max_value=D("0.1"), places=4)


@FEW
@given(prices, slips, steps)
def test_exit_price_is_marketable_within_the_slippage_bound(price, slip, step):
    sell = exit_price(Side.SELL, price, slip, step)
    buy = exit_price(Side.BUY, price, slip, step)
    assert sell % step == 0 and buy % step == 0
    assert sell >= price * (1 - slip) or sell == step  # never beyond the bound (tick floor aside)
    assert sell <= price + step  # marketable: at most one tick of rounding above the price
    assert buy <= price * (1 + slip)
    assert buy >= price - step


def _place(level, side, role, amount):
    return Place(level, side, role, D(30000 + level * 100), amount, True)


actions = st.lists(
    st.tuples(
        st.integers(-20, 20),
        st.sampled_from([Side.BUY, Side.SELL]),
        st.sampled_from([Role.OPEN, Role.CLOSE]),
        amounts,
    ),
    max_size=12,
)
lives = st.lists(
    st.tuples(st.sampled_from([Side.BUY, Side.SELL]), st.sampled_from([Role.OPEN, Role.CLOSE]), amounts), max_size=6
)


@FEW
@given(actions, lives, st.decimals(min_value=D("-3"), max_value=D("3"), places=3), amounts)
def test_cap_never_lets_the_worst_case_position_exceed_max_position(acts, live_rows, net, cap):
    places = [_place(*a) for a in acts]
    decision = Decision(state=StrategyState(), actions=(Cancel(99, "x", "test"), *places))
    live = [LiveOrder(f"l{i}", side, role, D(1), amt, D(0)) for i, (side, role, amt) in enumerate(live_rows)]
    got = cap_opening(decision, cap, net, live)
    kept = [a for a in got.actions if isinstance(a, Place)]
    # Cancels and closing orders always pass; kept orders keep their order.
    assert got.cancels == decision.cancels
    assert [p for p in places if p.role is Role.CLOSE] == [p for p in kept if p.role is Role.CLOSE]
    it = iter(places)
    assert all(any(k is p for p in it) for k in kept)
    up = net + sum((o.amount for o in live if o.role is Role.OPEN and o.side is Side.BUY), D(0))
    down = net - sum((o.amount for o in live if o.role is Role.OPEN and o.side is Side.SELL), D(0))
    for p in kept:
        if p.role is Role.OPEN:
            if p.side is Side.BUY:
                up += p.amount
                assert abs(up) <= cap
            else:
                down -= p.amount
                assert abs(down) <= cap
    dropped = [p for p in places if p.role is Role.OPEN and not any(k is p for k in kept)]
    assert len(got.notes_of("cap")) == len(dropped)
    assert cap_opening(decision, None, net, live) is decision


def test_cap_example_two_buys_of_three():
    buys = tuple(_place(-k, Side.BUY, Role.OPEN, D("0.0034")) for k in (1, 2, 3))
    got = cap_opening(Decision(StrategyState(), buys), D("0.007"), D(0), [])
    assert [p.level for p in got.places] == [-1, -2]
    assert "max_position 0.007" in got.notes_of("cap")[0].detail


@pytest.mark.parametrize(
    ("limits", "kind", "pivot", "key"),
    [
        (RiskLimits(stop_loss_price=D(31000), take_profit_price=D(30000)), "long", None, "risk.stop_loss_price"),
        (RiskLimits(stop_loss_price=D(29000), take_profit_price=D(30000)), "short", None, "risk.stop_loss_price"),
        (RiskLimits(stop_loss_price_above=D(31000)), "long", None, "risk.stop_loss_price_above"),
        (RiskLimits(take_profit_price=D(31000)), "neutral", D(30000), "risk.take_profit_price"),
        (RiskLimits(stop_loss_price=D(30500)), "neutral", D(30000), "risk.stop_loss_price"),
        (RiskLimits(stop_loss_price_above=D(29500)), "neutral", D(30000), "risk.stop_loss_price_above"),
    ],
)
def test_limits_that_cannot_fire_as_meant_name_their_key(limits, kind, pivot, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        check_limits(limits, kind, pivot)


def test_sensible_limits_pass():
    check_limits(RiskLimits(stop_loss_price=D(29000), take_profit_price=D(31000)), "long", None)
    check_limits(RiskLimits(stop_loss_price=D(31000), take_profit_price=D(29000)), "short", None)
    check_limits(RiskLimits(stop_loss_price=D(29000), stop_loss_price_above=D(31000)), "neutral", D(30000))
