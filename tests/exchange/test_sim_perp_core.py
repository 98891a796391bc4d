"""The simulated linear perpetual's core: position, margin, reduce-only, funding, liquidation."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.domain.types import OrderStatus
from gridledger.exchange.sim.errors import SimOrderError
from gridledger.exchange.sim.perp_core import PerpCore
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.exchange.sim.prices import Tick

D = Decimal
H8 = 8 * 3_600_000


def core(**spec: object) -> PerpCore:
    c = PerpCore(PerpMarketSpec(participation=D(1), **spec), {"USDT": D("1000")}, 0)  # type: ignore[arg-type]
    c.on_tick(Tick(1000, D("30000"), D("10")))
    return c


def code(exc: pytest.ExceptionInfo[SimOrderError]) -> int:
    return exc.value.code


def test_long_round_trip_realizes_and_the_wallet_is_start_plus_realized_minus_fees() -> None:
    c = core()
    c.place("b", "buy", "limit", D("0.01"), D("29900"), True, 1000)
    c.on_tick(Tick(2000, D("29890"), D("10")))
    assert c.position_amt == D("0.01") and c.entry == 29900
    c.place("s", "sell", "limit", D("0.01"), D("30000"), True, 2000, reduce_only=True)
    c.on_tick(Tick(3000, D("30010"), D("10")))
    assert c.position_amt == 0
    assert c.realized_total == 1  # 0.01 x (30000 - 29900)
    assert c.fees_paid == D("0.599")  # 0.1 % of 299 and of 300
    assert c.wallet == Fraction(D("1000") + 1 - D("0.599"))
    assert c.cash == D("1000.401")


def test_short_round_trip_earns_when_the_price_falls() -> None:
    c = core(maker_fee=D("-0.0001"))  # a maker rebate: a negative fee is credited
    c.place("s", "sell", "limit", D("0.02"), D("30100"), True, 1000)
    c.on_tick(Tick(2000, D("30150"), D("10")))
    assert c.position_amt == D("-0.02")
    c.place("b", "buy", "limit", D("0.02"), D("30000"), True, 2000, reduce_only=True)
    c.on_tick(Tick(3000, D("29990"), D("10")))
    assert c.position_amt == 0 and c.realized_total == 2
    assert c.fees_paid == D("-0.12020000")  # rebates: -0.0602 and -0.06
    assert c.cash == D("1002.1202")


def test_a_fill_past_zero_closes_then_opens_the_other_way_at_the_fill_price() -> None:
    c = core()
    c.place("s", "sell", "limit", D("0.01"), D("30100"), True, 1000)
    c.on_tick(Tick(2000, D("30100"), D("10")))
    c.place("b", "buy", "limit", D("0.03"), D("30000"), True, 2000)
    c.on_tick(Tick(3000, D("30000"), D("10")))
    assert c.position_amt == D("0.02")
    assert c.entry == 30000
    assert c.realized_total == 1


def test_average_entry_is_exact_and_a_partial_close_keeps_cash_plus_cost_equal_to_the_wallet() -> None:
    c = core()
    for i, price in enumerate(("29900", "29800", "29700")):
        c.place(f"b{i}", "buy", "limit", D("0.01"), D(price), True, 1000)
    c.on_tick(Tick(2000, D("29700"), D("10")))
    assert c.entry == 29800
    c.place("s", "sell", "limit", D("0.01"), D("30000"), True, 2000, reduce_only=True)
    c.on_tick(Tick(3000, D("30000"), D("10")))
    assert c.realized_total == 2  # average cost: 0.01 x (30000 - 29800)
    assert c.wallet == Fraction(c.cash) + c.cost
    assert c.wallet == Fraction(D("1000") + 2 - c.fees_paid)


def test_reduce_only_is_refused_without_a_position_or_on_the_increasing_side() -> None:
    c = core()
    with pytest.raises(SimOrderError) as exc:
        c.place("r", "sell", "limit", D("0.01"), D("30100"), True, 1000, reduce_only=True)
    assert code(exc) == -2022
    c.place("b", "buy", "limit", D("0.01"), D("29900"), True, 1000)
    c.on_tick(Tick(2000, D("29900"), D("10")))
    with pytest.raises(SimOrderError) as exc:
        c.place("r2", "buy", "limit", D("0.01"), D("29800"), True, 2000, reduce_only=True)
    assert code(exc) == -2022


def test_reduce_only_fills_at_most_the_position_and_the_rest_expires_when_flat() -> None:
    c = core()
    c.place("b", "buy", "limit", D("0.01"), D("29900"), True, 1000)
    c.on_tick(Tick(2000, D("29900"), D("10")))
    big = c.place("r1", "sell", "limit", D("0.03"), D("30100"), True, 2000, reduce_only=True)
    other = c.place("r2", "sell", "limit", D("0.01"), D("30200"), True, 2000, reduce_only=True)
    c.on_tick(Tick(3000, D("30250"), D("10")))
    assert c.position_amt == 0  # never short: a reduce-only order only reduces
    assert c.orders[big.order_id].filled == D("0.01")
    assert c.orders[big.order_id].status is OrderStatus.EXPIRED
    assert c.orders[other.order_id].status is OrderStatus.EXPIRED
    assert c.orders[other.order_id].filled == 0


def test_an_opening_order_beyond_the_available_margin_is_refused_and_a_closing_one_is_not() -> None:
    c = core(leverage=2)
    with pytest.raises(SimOrderError) as exc:
        c.place("big", "buy", "limit", D("0.07"), D("29900"), True, 1000)  # 2093 notional / 2 > 1000
    assert code(exc) == -2019 and exc.value.msg == "Margin is insufficient."
    c.place("ok", "buy", "limit", D("0.06"), D("29900"), True, 1000)  # 897 margin
    c.on_tick(Tick(2000, D("29900"), D("10")))
    with pytest.raises(SimOrderError):
        c.place("more", "buy", "limit", D("0.01"), D("29800"), True, 2000)
    c.place("close", "sell", "limit", D("0.06"), D("30100"), True, 2000)  # closes: needs no margin


def test_post_only_that_would_take_is_refused_with_5022_and_not_recorded() -> None:
    c = core()
    with pytest.raises(SimOrderError) as exc:
        c.place("po", "buy", "limit", D("0.01"), D("30100"), True, 1000)
    assert code(exc) == -5022
    assert "po" not in c.orders_by_client_id


def test_small_orders_are_refused_unless_reduce_only() -> None:
    c = core()
    with pytest.raises(SimOrderError) as exc:
        c.place("tiny", "buy", "limit", D("0.0001"), D("29900"), True, 1000)
    assert code(exc) == -4164
    c.place("b", "buy", "limit", D("0.01"), D("29900"), True, 1000)
    c.on_tick(Tick(2000, D("29900"), D("10")))
    c.place("tiny-close", "sell", "limit", D("0.0001"), D("30100"), True, 2000, reduce_only=True)


def test_funding_is_paid_at_each_interval_with_its_own_id() -> None:
    c = core(funding_rates=(D("0.0001"), D("-0.0002")))
    c.place("b", "buy", "limit", D("0.1"), D("29900"), True, 1000)
    c.on_tick(Tick(2000, D("29900"), D("10")))
    c.on_tick(Tick(H8 - 1000, D("30000"), D("10")))
    start = c.cash
    c.on_tick(Tick(H8 + 5, D("31000"), D("10")))  # funding at 08:00 at the mark before: 30000
    c.on_tick(Tick(2 * H8 + 5, D("31000"), D("10")))  # 16:00 at 31000, rate -0.0002: longs receive
    assert [(p.tran_id, p.ts_ms, p.amount) for p in c.funding] == [
        (1, H8, D("-0.3")),
        (2, 2 * H8, D("0.62")),
    ]
    assert c.cash == start + D("0.32")
    kinds = [e.payload["a"]["m"] for e in c.events if e.payload["e"] == "ACCOUNT_UPDATE"]
    assert kinds.count("FUNDING_FEE") == 2


def test_no_funding_without_a_position() -> None:
    c = core()
    c.on_tick(Tick(3 * H8, D("30000"), D("10")))
    assert c.funding == []


def test_a_position_whose_margin_falls_below_maintenance_is_liquidated_at_the_mark() -> None:
    c = core(leverage=20)
    c.place("b", "buy", "limit", D("0.5"), D("29900"), True, 1000)  # 14950 notional on 1000
    c.place("far", "buy", "limit", D("0.01"), D("20000"), True, 1000)
    c.on_tick(Tick(2000, D("29900"), D("10")))
    liquidation = c.liquidation_price()
    assert D("27000") < liquidation < D("29900")
    c.on_tick(Tick(3000, liquidation + 1, D("10")))
    assert not c.liquidations
    c.on_tick(Tick(4000, liquidation - 1, D("10")))
    assert len(c.liquidations) == 1
    liq = c.liquidations[0]
    assert liq.position == D("0.5") and c.position_amt == 0
    assert liq.client_order_id.startswith("autoclose-")
    assert c.open_orders() == []  # the venue cancels every open order first
    assert c.wallet >= 0
    assert any(e.payload["e"] == "ORDER_TRADE_UPDATE" and e.payload["o"]["x"] == "CALCULATED" for e in c.events)


def test_settings_refusals_carry_binance_codes() -> None:
    c = core()
    with pytest.raises(SimOrderError) as exc:
        c.set_margin_mode("CROSSED")
    assert code(exc) == -4046
    with pytest.raises(SimOrderError) as exc:
        c.set_leverage(0)
    assert code(exc) == -4028
    with pytest.raises(SimOrderError) as exc:
        c.set_position_mode(False)
    assert code(exc) == -4059
    c.place("b", "buy", "limit", D("0.01"), D("29900"), True, 1000)
    with pytest.raises(SimOrderError) as exc:
        c.set_margin_mode("ISOLATED")
    assert code(exc) == -4047
    c.on_tick(Tick(2000, D("29900"), D("10")))
    with pytest.raises(SimOrderError) as exc:
        c.set_margin_mode("ISOLATED")
    assert code(exc) == -4048
    with pytest.raises(SimOrderError) as exc:
        c.set_position_mode(True)
    assert code(exc) == -4068


def test_hedge_mode_refuses_orders() -> None:
    c = core()
    c.set_position_mode(True)
    with pytest.raises(SimOrderError) as exc:
        c.place("b", "buy", "limit", D("0.01"), D("29900"), True, 1000)
    assert code(exc) == -4061


def test_isolated_margin_moves_with_the_position_and_never_changes_the_wallet() -> None:
    c = core(margin_mode="isolated", leverage=3)
    c.place("b", "buy", "limit", D("0.03"), D("29900"), True, 1000)
    c.on_tick(Tick(2000, D("29900"), D("10")))
    assert c.isolated_margin == D("299")  # 897 / 3
    assert c.wallet == Fraction(D("1000") - c.fees_paid)
    c.place("s", "sell", "limit", D("0.03"), D("30000"), True, 2000)
    c.on_tick(Tick(3000, D("30000"), D("10")))
    assert c.isolated_margin == 0 and c.position_amt == 0


def test_a_spot_asset_balance_is_refused() -> None:
    with pytest.raises(ValueError, match="holds only USDT"):
        PerpCore(PerpMarketSpec(), {"USDT": D(1), "BTC": D(1)}, 0)


_fill = st.tuples(
    st.sampled_from(("buy", "sell")),
    st.integers(min_value=1, max_value=40).map(lambda n: D(n) / 100),
    st.integers(min_value=-300, max_value=300).map(lambda n: D(30000) + n),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_fill, min_size=1, max_size=20), st.booleans())
def test_wallet_is_start_plus_realized_minus_fees_plus_funding_exactly(
    fills: list[tuple[str, Decimal, Decimal]], isolated: bool
) -> None:
    """Whatever the fills (opening, closing, flipping), the books are exact: wallet = start +
    realized - fees + funding = cash + entry cost, and cash is the plain sum of the flows."""
    c = PerpCore(
        PerpMarketSpec(participation=D(1), leverage=125, margin_mode="isolated" if isolated else "cross"),
        {"USDT": D("100000")},
        0,
    )
    c.on_tick(Tick(0, D("30000"), D("100")))
    now = 0
    for i, (side, qty, price) in enumerate(fills):
        now += H8 // 3
        c.on_tick(Tick(now, price, D("100")))  # every third step crosses a funding time
        c.place(f"o{i}", side, "market", qty, None, False, now)
    # Liquidations included (isolated at 125x liquidates within 0.4 %): they are fills too.
    flows = D("100000") + sum((t.quote_qty if t.side.value == "sell" else -t.quote_qty for t in c.trades), D(0))
    insurance = sum((liq.insurance for liq in c.liquidations), D(0))
    funding = sum((p.amount for p in c.funding), D(0))
    assert c.cash == flows - c.fees_paid + funding + insurance
    assert c.wallet == Fraction(D("100000") - c.fees_paid + funding + insurance) + c.realized_total
    assert c.wallet == Fraction(c.cash) + c.cost
    assert c.position_amt == sum(((t.amount if t.side.value == "buy" else -t.amount) for t in c.trades), D(0))
