from __future__ import annotations

import contextlib
import random
from decimal import Decimal
from typing import Any

import pytest

from gridledger.domain.types import OrderStatus, Side
from gridledger.exchange.sim.errors import (
    DuplicateOrder,
    FilterFailure,
    InsufficientBalance,
    SimOrderError,
    UnknownOrder,
    WouldTake,
)
from gridledger.exchange.sim.matching import SimCore
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import SimMarketSpec

D = Decimal
T0 = 1_700_000_000_000

# Key order of the published Binance spot executionReport (listenKey form, without the
# STP-only "v" field).
REPORT_KEYS = [
    "e",
    "E",
    "s",
    "c",
    "S",
    "o",
    "f",
    "q",
    "p",
    "P",
    "F",
    "g",
    "C",
    "x",
    "X",
    "r",
    "i",
    "l",
    "z",
    "L",
    "n",
    "N",
    "T",
    "t",
    "I",
    "w",
    "m",
    "M",
    "O",
    "Z",
    "Y",
    "Q",
    "W",
    "V",
]


def make_core(
    fee_mode: str = "base_on_buy",
    balances: dict[str, Decimal] | None = None,
    price: str = "30000",
    volume: str = "10",
    **spec_overrides: Any,
) -> SimCore:
    spec = SimMarketSpec(fee_mode=fee_mode, **spec_overrides)  # type: ignore[arg-type]
    core = SimCore(spec, balances if balances is not None else {"USDT": D("10000"), "BTC": D("1")}, T0)
    core.on_tick(Tick(T0, D(price), D(volume)))
    return core


def reports(core: SimCore) -> list[dict[str, Any]]:
    return [e.payload for e in core.events if e.kind == "executionReport"]


def tick(core: SimCore, price: str, volume: str = "10", dt: int = 1000) -> list[Any]:
    return core.on_tick(Tick(core.now_ms + dt, D(price), D(volume)))


def test_resting_buy_fills_at_its_limit_when_price_reaches_it() -> None:
    core = make_core()
    order = core.place("b1", "buy", "limit", D("0.01"), D("29900"), post_only=True, now_ms=T0 + 1)
    assert order.status is OrderStatus.NEW
    assert core.balance("USDT").locked == D("299")
    assert tick(core, "29900.01") == []
    trades = tick(core, "29850")
    assert len(trades) == 1
    trade = trades[0]
    assert (trade.price, trade.amount, trade.is_maker) == (D("29900"), D("0.01"), True)
    filled = core.orders[order.order_id]
    assert filled.status is OrderStatus.FILLED and filled.filled == D("0.01") and filled.cost == D("299")
    assert core.balance("USDT") == core.balance("USDT").__class__(D("9701"), D("0"))
    assert core.balance("BTC").total == D("1") + D("0.01") - D("0.00001")
    assert core.open_orders() == []


def test_resting_sell_fills_when_price_rises_to_it() -> None:
    core = make_core()
    core.place("s1", "sell", "limit", D("0.5"), D("30100"), now_ms=T0)
    assert core.balance("BTC").locked == D("0.5")
    assert tick(core, "30099.99") == []
    [trade] = tick(core, "30150")
    assert trade.price == D("30100") and trade.side is Side.SELL
    assert core.balance("BTC") == type(core.balance("BTC"))(D("0.5"), D("0"))
    assert core.balance("USDT").free == D("10000") + D("15050") - D("15.05")


def test_partial_fills_limited_by_participation_in_price_time_priority() -> None:
    core = make_core(participation=D("0.1"), balances={"USDT": D("100000")})
    a = core.place("a", "buy", "limit", D("0.3"), D("29900"), now_ms=T0 + 1)
    b = core.place("b", "buy", "limit", D("0.3"), D("29950"), now_ms=T0 + 2)
    c = core.place("c", "buy", "limit", D("0.3"), D("29900"), now_ms=T0 + 3)
    # volume 4 -> budget 0.4: b (best price) 0.3, then a (earlier at 29900) 0.1, c nothing
    tick(core, "29890", volume="4")
    assert core.orders[b.order_id].status is OrderStatus.FILLED
    assert core.orders[a.order_id].filled == D("0.1")
    assert core.orders[a.order_id].status is OrderStatus.PARTIALLY_FILLED
    assert core.orders[c.order_id].filled == 0
    # next tick: budget 0.25 -> a 0.2 (completes), c 0.05
    tick(core, "29895", volume="2.5")
    assert core.orders[a.order_id].status is OrderStatus.FILLED
    assert core.orders[c.order_id].filled == D("0.05")
    # budget rounds down to the amount step
    tick(core, "29895", volume="0.00009")
    assert core.orders[c.order_id].filled == D("0.05")


def test_post_only_that_would_cross_is_rejected_without_side_effects() -> None:
    core = make_core()
    before = (core.balances(), len(core.events), dict(core.orders))
    for side, price in (("buy", "30000"), ("buy", "30010"), ("sell", "30000"), ("sell", "29000")):
        with pytest.raises(WouldTake) as info:
            core.place(None, side, "limit", D("0.01"), D(price), post_only=True)
        assert (info.value.code, info.value.msg) == (-2010, "Order would immediately match and take.")
    assert (core.balances(), len(core.events), dict(core.orders)) == before
    assert core.place("ok", "buy", "limit", D("0.01"), D("29999.99"), post_only=True).status is OrderStatus.NEW


def test_crossing_limit_takes_at_the_current_price_and_rests_the_rest() -> None:
    core = make_core(volume="1", participation=D("0.1"))
    order = core.place("x", "buy", "limit", D("0.3"), D("30050"), now_ms=T0 + 5)
    trades = core.trades_of(order.order_id)
    assert [(t.price, t.amount, t.is_maker) for t in trades] == [(D("30000"), D("0.1"), False)]
    assert order.status is OrderStatus.PARTIALLY_FILLED and order.is_open
    # lock: 0.3 * 30050 taken, 0.1 released at limit price, 0.1 * 50 price improvement back
    assert core.balance("USDT").locked == D("0.2") * D("30050")
    assert core.balance("USDT").free == D("10000") - D("0.3") * D("30050") + D("0.1") * D("50")
    rs = reports(core)
    assert [(r["x"], r["X"], r["w"], r["m"]) for r in rs[-2:]] == [
        ("NEW", "NEW", True, False),
        ("TRADE", "PARTIALLY_FILLED", True, False),
    ]
    # the rest fills later as maker at its limit price
    tick(core, "30040", volume="5")
    done = core.orders[order.order_id]
    assert done.status is OrderStatus.FILLED
    assert [(t.price, t.is_maker) for t in core.trades_of(order.order_id)] == [(D("30000"), False), (D("30050"), True)]
    assert core.balance("USDT") == type(core.balance("USDT"))(
        D("10000") - D("0.1") * D("30000") - D("0.2") * D("30050"), D("0")
    )


def test_market_order_takes_what_volume_allows_and_expires_the_rest() -> None:
    core = make_core(volume="1", participation=D("0.1"))
    order = core.place("m", "sell", "market", D("0.3"), None, now_ms=T0 + 1)
    assert order.status is OrderStatus.EXPIRED and order.filled == D("0.1")
    assert [(r["x"], r["X"], r["z"]) for r in reports(core)] == [
        ("NEW", "NEW", "0.00000000"),
        ("TRADE", "PARTIALLY_FILLED", "0.10000000"),
        ("EXPIRED", "EXPIRED", "0.10000000"),
    ]
    assert core.balance("BTC") == type(core.balance("BTC"))(D("0.9"), D("0"))


@pytest.mark.parametrize(
    ("fee_mode", "expected_fee", "fee_asset"),
    [
        ("quote", D("0.58"), "USDT"),  # 0.02 * 29000 * 0.001 (maker)
        ("base_on_buy", D("0.00002"), "BTC"),  # 0.02 * 0.001
        ("third", D("0.00096666"), "BNB"),  # 0.58 USDT at 600 USDT/BNB, truncated to 8 dp
    ],
)
def test_buy_fee_modes_exact(fee_mode: str, expected_fee: Decimal, fee_asset: str) -> None:
    balances = {"USDT": D("1000"), "BTC": D("0"), "BNB": D("1")}
    core = make_core(fee_mode=fee_mode, balances=balances, maker_fee=D("0.001"), taker_fee=D("0.002"))
    order = core.place("b", "buy", "limit", D("0.02"), D("29000"), post_only=True)
    if fee_mode == "quote":  # notional plus a fee reserve at the higher rate
        assert core.balance("USDT").locked == D("580") + D("1.16")
    else:
        assert core.balance("USDT").locked == D("580")
    [trade] = tick(core, "28000")
    assert (trade.fee, trade.fee_asset) == (expected_fee, fee_asset)
    usdt = D("1000") - D("580") - (trade.fee if fee_asset == "USDT" else 0)
    btc = D("0.02") - (trade.fee if fee_asset == "BTC" else 0)
    bnb = D("1") - (trade.fee if fee_asset == "BNB" else 0)
    assert core.balance("USDT").total == usdt and core.balance("USDT").locked == 0
    assert core.balance("BTC").total == btc
    assert core.balance("BNB").total == bnb
    assert core.orders[order.order_id].locked == 0


@pytest.mark.parametrize("fee_mode", ["quote", "base_on_buy", "third"])
def test_sell_fee_is_taken_from_quote_or_third_asset(fee_mode: str) -> None:
    core = make_core(fee_mode=fee_mode, balances={"USDT": D("0"), "BTC": D("1"), "BNB": D("1")})
    core.place("s", "sell", "limit", D("0.1"), D("30500"), post_only=True)
    [trade] = tick(core, "30600")
    if fee_mode == "third":
        assert (trade.fee, trade.fee_asset) == (D("0.00508333"), "BNB")  # 3.05 / 600, truncated
        assert core.balance("USDT").total == D("3050")
        assert core.balance("BNB").total == D("1") - D("0.00508333")
    else:
        assert (trade.fee, trade.fee_asset) == (D("3.05"), "USDT")
        assert core.balance("USDT").total == D("3050") - D("3.05")
    assert core.balance("BTC").total == D("0.9")


def test_third_asset_fee_falls_back_when_the_third_asset_runs_out() -> None:
    core = make_core(fee_mode="third", balances={"USDT": D("1000"), "BTC": D("0"), "BNB": D("0.0005")})
    core.place("b", "buy", "limit", D("0.02"), D("29000"), post_only=True)
    [trade] = tick(core, "28000")
    # 0.58 USDT fee = 0.00096667 BNB > 0.0005 available -> charged in base like Binance
    assert (trade.fee, trade.fee_asset) == (D("0.00002"), "BTC")
    assert core.balance("BNB").total == D("0.0005")


def test_quote_mode_buy_reserve_is_released_when_the_order_completes() -> None:
    core = make_core(fee_mode="quote", balances={"USDT": D("590"), "BTC": D("0")}, volume="1", participation=D("0.01"))
    order = core.place("b", "buy", "limit", D("0.02"), D("29000"), post_only=True)
    tick(core, "28900", volume="1")  # fills 0.01
    assert core.orders[order.order_id].status is OrderStatus.PARTIALLY_FILLED
    tick(core, "28900", volume="1")
    assert core.orders[order.order_id].status is OrderStatus.FILLED
    assert core.balance("USDT") == type(core.balance("USDT"))(D("590") - D("580") - D("0.58"), D("0"))


def test_conservation_over_a_random_session() -> None:
    """Totals move exactly by trades and fees; locks equal what open orders hold."""
    for fee_mode in ("quote", "base_on_buy", "third"):
        rng = random.Random(fee_mode)
        start = {"USDT": D("50000"), "BTC": D("2"), "BNB": D("0.05")}
        core = make_core(fee_mode=fee_mode, balances=dict(start), volume="0.5", participation=D("0.3"))
        price = D("30000")
        for _ in range(400):
            action = rng.random()
            if action < 0.45:
                side = rng.choice(["buy", "sell"])
                offset = D(rng.randint(-30, 60)) * D("1.5") * (1 if side == "sell" else -1)
                amount = D(rng.randint(20, 3000)) * D("0.00001")
                with contextlib.suppress(SimOrderError):
                    core.place(None, side, "limit", amount, price + offset, post_only=rng.random() < 0.5)
            elif action < 0.55 and core.open_orders():
                core.cancel(rng.choice(core.open_orders()).order_id)
            else:
                price = max(D("100"), price + D(rng.randint(-40, 40)) * D("0.5"))
                core.on_tick(Tick(core.now_ms + 1000, price, D(rng.randint(0, 100)) / 100))
            bal = core.balances()
            assert all(b.free >= 0 and b.locked >= 0 for b in bal.values())
            quote_locks = sum((o.locked for o in core.open_orders() if o.side is Side.BUY), D(0))
            base_locks = sum((o.locked for o in core.open_orders() if o.side is Side.SELL), D(0))
            assert bal["USDT"].locked == quote_locks and bal["BTC"].locked == base_locks
        moved: dict[str, Decimal] = {a: D(0) for a in start}
        for t in core.trades:
            sign = 1 if t.side is Side.BUY else -1
            moved["BTC"] += sign * t.amount
            moved["USDT"] -= sign * t.quote_qty
            moved[t.fee_asset] -= t.fee
        assert len(core.trades) > 20
        assert {a: core.balance(a).total for a in start} == {a: start[a] + moved[a] for a in start}
        # the last outboundAccountPosition of each asset agrees with the ground truth
        last: dict[str, tuple[str, str]] = {}
        for e in core.events:
            if e.kind == "outboundAccountPosition":
                for row in e.payload["B"]:
                    last[row["a"]] = (row["f"], row["l"])
        for asset, (free, locked) in last.items():
            assert (D(free), D(locked)) == (core.balance(asset).free, core.balance(asset).locked)


def test_filter_and_balance_rejections_carry_binance_codes() -> None:
    core = make_core(balances={"USDT": D("100"), "BTC": D("0.001")}, min_notional=D("5"), min_amount=D("0.0001"))
    cases: list[tuple[dict[str, Any], type[SimOrderError], int, str]] = [
        (dict(amount=D("0.0001"), price=D("29000")), FilterFailure, -1013, "Filter failure: NOTIONAL"),
        (dict(amount=D("0.00005"), price=D("29000")), FilterFailure, -1013, "Filter failure: LOT_SIZE"),
        (dict(amount=D("0.000305"), price=D("29000")), FilterFailure, -1013, "Filter failure: LOT_SIZE"),
        (dict(amount=D("0.001"), price=D("29000.005")), FilterFailure, -1013, "Filter failure: PRICE_FILTER"),
        (
            dict(amount=D("0.01"), price=D("29000")),
            InsufficientBalance,
            -2010,
            "Account has insufficient balance for requested action.",
        ),
    ]
    for kwargs, exc_type, code, msg in cases:
        with pytest.raises(exc_type) as info:
            core.place(None, "buy", "limit", post_only=True, **kwargs)
        assert (info.value.code, info.value.msg) == (code, msg)
        assert info.value.body() == {"code": code, "msg": msg}
    with pytest.raises(InsufficientBalance):
        core.place(None, "sell", "limit", D("0.002"), D("31000"))
    assert core.orders == {} and core.balance("USDT").free == D("100")


def test_duplicate_client_id_rejected_while_the_order_is_open() -> None:
    core = make_core()
    core.place("dup", "buy", "limit", D("0.01"), D("29000"), post_only=True)
    with pytest.raises(DuplicateOrder) as info:
        core.place("dup", "buy", "limit", D("0.01"), D("28000"), post_only=True)
    assert (info.value.code, info.value.msg) == (-2010, "Duplicate order sent.")
    core.cancel("dup")
    # Binance only requires uniqueness among open orders
    again = core.place("dup", "buy", "limit", D("0.01"), D("28000"), post_only=True)
    assert core.orders_by_client_id["dup"] == again

    strict = SimCore(SimMarketSpec(), {"USDT": D("1000")}, T0, duplicate_scope="all")
    strict.on_tick(Tick(T0, D("30000"), D("1")))
    strict.place("once", "buy", "limit", D("0.001"), D("29000"))
    strict.cancel("once")
    with pytest.raises(DuplicateOrder):
        strict.place("once", "buy", "limit", D("0.001"), D("29000"))


def test_cancel_after_partial_fill_keeps_the_fill_and_unlocks_the_rest() -> None:
    core = make_core(volume="1", participation=D("0.1"))
    order = core.place("p", "buy", "limit", D("0.25"), D("29900"), post_only=True, now_ms=T0 + 10)
    tick(core, "29800", volume="1")
    assert core.orders[order.order_id].filled == D("0.1")
    canceled = core.cancel(order.order_id, now_ms=core.now_ms + 5, cancel_client_id="cxl1")
    assert canceled.status is OrderStatus.CANCELED and canceled.filled == D("0.1") and canceled.locked == 0
    assert core.balance("USDT") == type(core.balance("USDT"))(D("10000") - D("2990"), D("0"))
    assert core.balance("BTC").total == D("1.1") - D("0.0001")
    with pytest.raises(UnknownOrder) as info:
        core.cancel(order.order_id)
    assert (info.value.code, info.value.msg) == (-2011, "Unknown order sent.")
    with pytest.raises(UnknownOrder):
        core.cancel("nope")
    with pytest.raises(UnknownOrder) as query:
        core.get_order(999)
    assert (query.value.code, query.value.msg) == (-2013, "Order does not exist.")
    tick(core, "29000")
    assert core.orders[order.order_id].filled == D("0.1")


def test_execution_report_fields_follow_binance() -> None:
    core = make_core(volume="1", participation=D("0.1"))
    order = core.place("gl1test", "buy", "limit", D("0.25"), D("29900.5"), post_only=True, now_ms=T0 + 10)
    tick(core, "29800", volume="1")
    tick(core, "29800", volume="1")
    core.cancel(order.order_id, now_ms=core.now_ms + 7, cancel_client_id="cancelReq1")
    rs = reports(core)
    assert [r["x"] for r in rs] == ["NEW", "TRADE", "TRADE", "CANCELED"]
    for r in rs:
        assert list(r) == REPORT_KEYS
        assert r["e"] == "executionReport" and r["s"] == "BTCUSDT" and r["S"] == "BUY"
        assert r["o"] == "LIMIT_MAKER" and r["f"] == "GTC" and r["g"] == -1 and r["r"] == "NONE"
        assert r["i"] == order.order_id and isinstance(r["i"], int)
        assert r["q"] == "0.25000000" and r["p"] == "29900.50000000"
        assert r["P"] == r["F"] == r["Q"] == "0.00000000" and r["V"] == "NONE"
        assert r["O"] == r["W"] == T0 + 10
    new, t1, t2, cxl = rs
    assert [r["I"] for r in rs] == sorted({r["I"] for r in rs})  # strictly increasing
    # non-trade executions
    for r in (new, cxl):
        assert (r["t"], r["l"], r["L"], r["n"], r["N"], r["Y"], r["m"], r["M"]) == (
            -1,
            "0.00000000",
            "0.00000000",
            "0",
            None,
            "0.00000000",
            False,
            False,
        )
    assert (new["c"], new["C"], new["X"], new["w"], new["z"], new["Z"]) == (
        "gl1test",
        "",
        "NEW",
        True,
        "0.00000000",
        "0.00000000",
    )
    # trades: cumulative z/Z, last l/L/Y, commission, ids
    assert (t1["X"], t1["l"], t1["z"], t1["L"], t1["Y"], t1["Z"]) == (
        "PARTIALLY_FILLED",
        "0.10000000",
        "0.10000000",
        "29900.50000000",
        "2990.05000000",
        "2990.05000000",
    )
    assert (t2["X"], t2["l"], t2["z"], t2["Z"]) == ("PARTIALLY_FILLED", "0.10000000", "0.20000000", "5980.10000000")
    assert (t1["n"], t1["N"], t1["m"], t1["M"], t1["w"]) == ("0.00010000", "BTC", True, True, True)
    assert (t1["t"], t2["t"]) == (1, 2)
    assert t1["E"] == t1["T"] == T0 + 1010
    # cancel: c is the cancel request id, C the original client id
    assert (cxl["c"], cxl["C"], cxl["X"], cxl["w"], cxl["z"], cxl["Z"]) == (
        "cancelReq1",
        "gl1test",
        "CANCELED",
        False,
        "0.20000000",
        "5980.10000000",
    )
    assert cxl["E"] == cxl["T"] == T0 + 2017


def test_account_position_follows_each_balance_change() -> None:
    core = make_core()
    core.place("b", "buy", "limit", D("0.01"), D("29000"), post_only=True, now_ms=T0 + 1)
    kinds = [e.kind for e in core.events]
    assert kinds == ["executionReport", "outboundAccountPosition"]
    pos = core.events[-1].payload
    assert list(pos) == ["e", "E", "u", "B"]
    assert pos["B"] == [{"a": "USDT", "f": "9710.00000000", "l": "290.00000000"}]
    assert [e.seq for e in core.events] == [1, 2]


def test_generated_client_ids_are_binance_like_and_deterministic() -> None:
    def ids() -> list[str]:
        core = make_core()
        return [core.place(None, "buy", "limit", D("0.001"), D("29000")).client_order_id for _ in range(3)]

    first = ids()
    assert first == ids()
    assert all(len(i) == 22 and i.isalnum() for i in first)
