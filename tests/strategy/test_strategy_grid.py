"""Params validation and level maths of the grid strategy."""

from __future__ import annotations

import math
from decimal import Decimal, getcontext, localcontext
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.config import strategy_params
from gridledger.strategy import (
    GridParams,
    MarketRules,
    StrategyState,
    buy_amount,
    check_grid,
    is_dust,
    next_centre,
    order_price,
    raw_centre,
    sellable_amount,
    window_floor,
    window_levels,
)

D = Decimal
RULES = MarketRules(amount_step=D("0.00001"), price_step=D("0.01"), min_amount=D("0.00001"), min_notional=D("5"))


def params(**kw: object) -> GridParams:
    base: dict[str, object] = dict(anchor=D("30000"), interval=D("100"), quote_per_level=D("100"))
    base.update(kw)
    return strategy_params(**base)  # type: ignore[arg-type]


# --- validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("anchor", D("0")),
        ("anchor", D("-1")),
        ("interval", D("0")),
        ("interval", D("-5")),
        ("quote_per_level", D("0")),
        ("buy_window", 0),
        ("max_open_orders", 0),
        ("post_only_retries", -1),
        ("hysteresis", D("-0.01")),
        ("hysteresis", D("0.5")),
        ("anchor", 30000.0),
        ("interval", D("NaN")),
        ("buy_window", True),
    ],
)
def test_params_reject_bad_field_naming_it(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        params(**{field: value})


def test_params_bounds_must_be_ordered() -> None:
    with pytest.raises(ValueError, match="lower_price"):
        params(lower_price=D("100"), upper_price=D("100"))
    with pytest.raises(ValueError, match="lower_price"):
        params(lower_price=D("200"), upper_price=D("100"))
    params(lower_price=D("100"), upper_price=D("200"))


def test_params_zero_retries_needs_fallback_when_post_only() -> None:
    with pytest.raises(ValueError, match="post_only_retries"):
        params(post_only_retries=0)
    params(post_only_retries=0, taker_fallback=True)
    params(post_only_retries=0, post_only=False)


def test_params_defaults() -> None:
    p = params()
    assert (p.buy_window, p.max_open_orders, p.post_only, p.post_only_retries) == (5, 20, True, 3)
    assert (p.taker_fallback, p.post_only_close, p.hysteresis) == (False, False, D("0.25"))
    assert p.lower_price is None and p.upper_price is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount_step", D("0")),
        ("price_step", D("-0.01")),
        ("min_amount", D("-1")),
        ("min_notional", D("-1")),
        ("price_step", 0.01),
    ],
)
def test_market_rules_reject_bad_field_naming_it(field: str, value: object) -> None:
    kw: dict[str, object] = dict(amount_step=D("0.001"), price_step=D("0.01"), min_amount=D("0"), min_notional=D("0"))
    kw[field] = value
    with pytest.raises(ValueError, match=field):
        MarketRules(**kw)  # type: ignore[arg-type]


def test_check_grid_requires_tick_multiples() -> None:
    check_grid(params(anchor=D("30000.01"), interval=D("0.05")), RULES)
    with pytest.raises(ValueError, match="anchor"):
        check_grid(params(anchor=D("30000.005")), RULES)
    with pytest.raises(ValueError, match="interval"):
        check_grid(params(interval=D("100.001")), RULES)


# --- state ------------------------------------------------------------------------------


def test_state_reject_counts() -> None:
    s = StrategyState(centre=3)
    s = s.on_post_only_reject(2).on_post_only_reject(-1).on_post_only_reject(2)
    assert s.rejects(2) == 2 and s.rejects(-1) == 1 and s.rejects(0) == 0
    assert s.post_only_rejects == ((-1, 1), (2, 2))
    s = s.on_accepted(2)
    assert s.rejects(2) == 0 and s.post_only_rejects == ((-1, 1),) and s.centre == 3
    assert s.on_accepted(7) is s
    # Canonical form: order of construction does not matter for equality.
    assert StrategyState(1, ((5, 1), (2, 3))) == StrategyState(1, ((2, 3), (5, 1)))
    with pytest.raises(ValueError):
        StrategyState(1, ((2, 1), (2, 1)))
    with pytest.raises(ValueError):
        StrategyState(1, ((2, 0),))


# --- level maths ------------------------------------------------------------------------


def test_level_price_on_tick() -> None:
    p = params()
    assert order_price(p, RULES, 0) == D("30000")
    assert order_price(p, RULES, -3) == D("29700")
    assert order_price(p, RULES, 2) == D("30200")


@pytest.mark.parametrize(
    ("price", "centre"),
    [
        ("30000", 0),
        ("30049.99", 0),
        ("30050.01", 1),
        ("29950.01", 0),
        ("29949.99", -1),
        ("30100", 1),
        ("29000", -10),
        # Exact midpoints round half to even.
        ("30050", 0),
        ("30150", 2),
        ("29950", 0),
        ("29850", -2),
    ],
)
def test_raw_centre(price: str, centre: int) -> None:
    assert raw_centre(params(), D(price)) == centre


def test_raw_centre_ignores_caller_context() -> None:
    p = params(anchor=D("1"), interval=D("3"))
    price = D("1") + D("3") * D("123456789012345") + D("1.5")  # exactly half-way
    with localcontext() as ctx:
        ctx.prec = 5
        assert raw_centre(p, price) == 123456789012346
    assert getcontext().prec == 28


@settings(max_examples=300)
@given(
    anchor_ticks=st.integers(1, 10**9),
    interval_ticks=st.integers(1, 10**6),
    offset_ticks=st.integers(-(10**10), 10**10),
)
def test_raw_centre_matches_exact_rounding(anchor_ticks: int, interval_ticks: int, offset_ticks: int) -> None:
    tick = D("0.01")
    anchor, interval = anchor_ticks * tick, interval_ticks * tick
    price = anchor + offset_ticks * tick
    exact = Fraction(offset_ticks, interval_ticks)
    assert raw_centre(params(anchor=anchor, interval=interval), price) == round(exact)


def test_hysteresis_keeps_centre_until_past_threshold() -> None:
    p = params()  # interval 100, hysteresis 0.25 -> threshold 75
    assert next_centre(None, p, D("30050")) == 0
    assert next_centre(0, p, D("30075")) == 0
    assert next_centre(0, p, D("30075.01")) == 1
    assert next_centre(0, p, D("29925")) == 0
    assert next_centre(0, p, D("29924.99")) == -1
    # Moves jump straight to the nearest level, not one level at a time.
    assert next_centre(0, p, D("30420")) == 4
    p0 = params(hysteresis=D("0"))
    assert next_centre(0, p0, D("30050")) == 0
    assert next_centre(0, p0, D("30050.01")) == 1


def test_window() -> None:
    assert window_levels(0, 3) == (-1, -2, -3)
    assert window_levels(7, 1) == (6,)
    assert window_floor(7, 5) == 2


def test_sizing_rounds_down_to_step() -> None:
    p = params()
    assert buy_amount(p, RULES, D("29900")) == D("0.00334")
    assert D("0.00334") * D("29900") <= D("100")
    assert sellable_amount(D("0.0009985"), RULES) == D("0.00099")
    assert sellable_amount(D("0"), RULES) == D("0")


@settings(max_examples=300)
@given(
    quote=st.decimals(D("0.01"), D("100000"), places=2),
    price=st.decimals(D("0.0001"), D("1000000"), places=4),
    step_exp=st.integers(0, 8),
)
def test_buy_amount_is_largest_step_multiple_within_budget(quote: Decimal, price: Decimal, step_exp: int) -> None:
    step = D(1).scaleb(-step_exp)
    rules = MarketRules(amount_step=step, price_step=D("0.0001"))
    p = params(anchor=D("1"), interval=D("1"), quote_per_level=quote)
    amount = buy_amount(p, rules, price)
    assert amount % step == 0
    assert amount * price <= quote
    assert (amount + step) * price > quote
    n = math.floor(Fraction(quote) / Fraction(price) / Fraction(step))
    assert amount == n * step


def test_dust() -> None:
    # Below min amount after rounding down.
    rules = MarketRules(D("0.00001"), D("0.01"), min_amount=D("0.0001"), min_notional=D("0"))
    assert is_dust(D("0.0000999"), D("30000"), rules)
    assert not is_dust(D("0.0001"), D("30000"), rules)
    # Below min notional at the sell price.
    rules = MarketRules(D("0.00001"), D("0.01"), min_amount=D("0"), min_notional=D("5"))
    assert is_dust(D("0.00016"), D("30000"), rules)  # 4.80
    assert not is_dust(D("0.00017"), D("30000"), rules)  # 5.10
    # Less than one step is dust even with no limits.
    rules = MarketRules(D("0.00001"), D("0.01"))
    assert is_dust(D("0.000009"), D("30000"), rules)
    assert is_dust(D("0"), D("30000"), rules)
