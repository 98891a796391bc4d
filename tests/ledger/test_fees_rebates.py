"""Maker rebates and falling cumulative fees (issue 7 item 1; ledger-semantics.md R1, R5).

Fees follow the evidence that proves the filled watermark: the trades' summed fees when the
trades account for it, otherwise the cumulative fee of the snapshot with the largest filled.
They are never combined by a maximum: a rebate is negative and a cumulative fee can fall.
"""

from __future__ import annotations

import itertools
import json
import random
import tempfile
from decimal import Decimal as D
from pathlib import Path

import pytest

from gridledger.domain.coid import ClientId, encode
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.ledger.evidence import OrderEvidence, TradeEvidence
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.records import OrderRecord
from gridledger.store.codec import record_from_json, record_to_json
from gridledger.store.journal import Journal
from gridledger.testkit.synthetic import Fill, OrderTruth, venue_messages
from gridledger.venues import parse_message

SPOT = GridSpec("t1", Instrument.from_symbol("BTC/USDT"), D("30000"), D("100"))
LINEAR = GridSpec("t1", Instrument.from_symbol("BTC/USDT:USDT"), D("30000"), D("100"))
SYM = "BTC/USDT"
BUY = encode(ClientId("t1", -1, Side.BUY, Role.OPEN, 0))  # level -1: 29900
SELL = encode(ClientId("t1", -1, Side.SELL, Role.CLOSE, 1))  # closes at 30000
PART, FILLED = OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED


def snap(
    status, filled, fee, *, ts, client_id=BUY, order_id="7", price="29900", side=Side.BUY, asset="USDT", event=None
) -> OrderEvidence:
    fees = None if fee is None else (((asset, D(fee)),) if D(fee) else ())
    return OrderEvidence(
        SYM, order_id, client_id, status, side, D("0.002"), D(price), D(filled), D(filled) * D(price), fees, ts, event
    )


def fill(
    trade_id, fee, *, client_id=BUY, order_id="7", price="29900", side=Side.BUY, asset="USDT", amount="0.001"
) -> TradeEvidence:
    fees = None if fee is None else (((asset, D(fee)),) if D(fee) else ())
    return TradeEvidence(SYM, order_id, client_id, trade_id, side, D(amount), D(price), D(amount) * D(price), fees)


def run(items, grid: GridSpec = SPOT) -> Ledger:
    led = Ledger(grid)
    for ev in items:
        led.apply(ev)
    return led


# The example: two maker fills of 0.001 @ 29900, each rebated 0.00299 USDT.
M_T1, M_T2 = fill("t1", "-0.00299"), fill("t2", "-0.00299")
M_S1, M_S2 = snap(PART, "0.001", "-0.00299", ts=1), snap(FILLED, "0.002", "-0.00598", ts=2)
MAKER_SETS = {
    "snapshots only": [M_S1, M_S2],
    "trades only": [M_T1, M_T2],
    "mixed": [M_T1, M_S1, M_T2, M_S2],
    "snapshots reversed": [M_S2, M_S1],
    "trades reversed": [M_T2, M_T1],
    "mixed reversed": [M_S2, M_T2, M_S1, M_T1],
    "duplicated": [M_S1, M_T1, M_S1, M_S2, M_T1, M_T2, M_S2, M_S1, M_T2],
    "final snapshot and one trade": [M_T1, M_S2],
}


@pytest.mark.parametrize("name", MAKER_SETS)
def test_two_rebated_maker_fills_end_with_both_rebates(name):
    led = run(MAKER_SETS[name])
    st = led.slots[-1].state
    assert led.fees() == {"USDT": D("-0.00598")}
    assert st.cost == D("59.79402")  # 59.8 + (-0.00598): R5 cost basis includes quote fees
    assert st.qty == D("0.002") and st.fees == (("USDT", D("-0.00598")),)
    rec = led.order(BUY)
    assert rec.effective() == (D("0.002"), D("59.8"), (("USDT", D("-0.00598")),))
    assert not rec.fees_incomplete()
    if any(isinstance(e, OrderEvidence) for e in MAKER_SETS[name]):
        assert rec.status is FILLED  # trades alone do not tell the order's amount


def states(items, grid: GridSpec = SPOT):
    led = run(items, grid)
    return {k: s.state for k, s in led.slots.items()}, led.fees()


def test_maker_rebates_converge_in_every_order_with_duplicates():
    base = [M_T1, M_T2, M_S1, M_S2]
    want = states(base)
    rng = random.Random(7)
    for perm in itertools.permutations(base):
        assert states(perm) == want, perm
        noisy = list(perm) + rng.sample(base, 2)
        rng.shuffle(noisy)
        assert states(noisy) == want, noisy


# A taker fill (fee 0.0299) then a rebated maker fill (-0.00299): the cumulative fee falls
# from 0.0299 to 0.02691.
T_T1, T_T2 = fill("t1", "0.0299"), fill("t2", "-0.00299")
T_S1, T_S2 = snap(PART, "0.001", "0.0299", ts=1), snap(FILLED, "0.002", "0.02691", ts=2)


@pytest.mark.parametrize(
    "items",
    [
        [T_S1, T_S2],
        [T_S2, T_S1],
        [T_T1, T_T2],
        [T_T2, T_T1],
        [T_T1, T_S1, T_T2, T_S2],
        [T_S2, T_T2, T_S1, T_T1],
        [T_S1, T_S1, T_T1, T_S2, T_T2, T_S1, T_T1],
    ],
    ids=lambda items: "-".join(getattr(e, "trade_id", None) or f"s{e.timestamp}" for e in items),
)
def test_taker_then_rebated_maker_fill_cumulative_fee_goes_down(items):
    led = run(items)
    assert led.fees() == {"USDT": D("0.02691")}
    assert led.slots[-1].state.cost == D("59.82691")


def test_sell_rebate_increases_realized_and_a_falling_cumulative_fee_is_followed():
    buy = [snap(FILLED, "0.002", "0", ts=1)]
    # Sell at 30000: a taker fill (0.03) then a rebated maker fill (-0.003); cum 0.03 → 0.027.
    sell = [
        snap(PART, "0.001", "0.03", ts=5, client_id=SELL, order_id="8", price="30000", side=Side.SELL),
        snap(FILLED, "0.002", "0.027", ts=6, client_id=SELL, order_id="8", price="30000", side=Side.SELL),
    ]
    for items in (buy + sell, buy + sell[::-1], sell[::-1] + buy):
        st = run(items).slots[-1].state
        assert st.qty == 0 and st.cost == 0
        assert st.realized == D("60") - D("59.8") - D("0.027")  # R5: minus quote fees of the sell
    # A pure maker close: the rebate adds to realized PnL.
    rebated = [snap(FILLED, "0.002", "-0.006", ts=6, client_id=SELL, order_id="8", price="30000", side=Side.SELL)]
    assert run(buy + rebated).slots[-1].state.realized == D("0.206")


def test_base_asset_rebates_on_buy_and_sell():
    # A buy rebated in base receives more than it filled; a sell rebated in base (Bybit spot:
    # the asset paid) gives up less than it filled (R5: d - f in, d + f out).
    buy = fill("t1", "-0.000001", asset="BTC", amount="0.002")
    led = run([buy])
    st = led.slots[-1].state
    assert st.qty == D("0.002001") and st.cost == D("59.8")
    sell = fill(
        "t2", "-0.0000002", asset="BTC", amount="0.002", client_id=SELL, order_id="8", price="30000", side=Side.SELL
    )
    led.apply(sell)
    st = led.slots[-1].state
    removed = D("0.002") - D("0.0000002")
    assert st.qty == D("0.002001") - removed == D("0.0000012")
    # The sell removed its share of cost basis (cost x removed / held) and realized the
    # proceeds against it: realized - remaining cost = proceeds - buy cost, exactly.
    assert st.realized - st.cost == D("60") - D("59.8")
    assert D("0.0358") < st.cost < D("0.0359")  # 59.8 x 0.0000012 / 0.002001 stays in the slot
    assert led.fees() == {"BTC": D("-0.0000012")}


# ---------------------------------------------------------------------------- unknown fees
def test_fee_less_trades_of_the_same_quantity_take_the_snapshot_fees():
    # TRADE_LITE / execution.fast / OKX fills carry no fee: they do not account for the fees,
    # and a snapshot of the same filled that carries its cumulative fee is the better source.
    lite = [fill("t1", None), fill("t2", None)]
    for items in ([*lite, M_S2], [M_S2, *lite], [lite[0], M_S2, lite[1]]):
        led = run(items)
        rec = led.order(BUY)
        assert rec.effective()[2] == (("USDT", D("-0.00598")),)
        assert not rec.fees_incomplete()
        assert led.slots[-1].state.cost == D("59.79402")


def test_fee_less_trades_beyond_the_snapshot_leave_fees_incomplete_until_completed():
    led = run([M_S1, fill("t1", None), fill("t2", None)])
    rec = led.order(BUY)
    assert rec.filled == D("0.002") and rec.fees_incomplete()  # the engine holds the closing sell
    led.apply(M_T1)  # the full report of t1 completes its fee
    assert led.order(BUY).fees_incomplete()
    led.apply(M_T2)
    rec = led.order(BUY)
    assert not rec.fees_incomplete() and rec.effective()[2] == (("USDT", D("-0.00598")),)


def test_snapshot_without_fees_ahead_of_trades_is_incomplete_until_the_trades_arrive():
    # Binance snapshots carry no cumulative fee: only trades tell it.
    led = run([snap(FILLED, "0.002", None, ts=2), M_T1])
    assert led.order(BUY).fees_incomplete()
    led.apply(M_T2)
    assert not led.order(BUY).fees_incomplete()
    assert led.fees() == {"USDT": D("-0.00598")}


# ---------------------------------------------------------------------------- tie-breaks
@pytest.mark.parametrize(
    ("a", "b", "fee"),
    [
        # One without fees (Binance stream) and one with (REST fetch_order): the one with fees.
        (snap(FILLED, "0.002", None, ts=9), snap(FILLED, "0.002", "-0.00598", ts=2), "-0.00598"),
        # A cumulative fee revised after the fill: the later report.
        (snap(FILLED, "0.002", "0.0598", ts=2), snap(FILLED, "0.002", "-0.00598", ts=3, event="x"), "-0.00598"),
        # The same time and filled, different fees: a fixed order (the fee tuple), not arrival.
        (snap(FILLED, "0.002", "0.0598", ts=2), snap(FILLED, "0.002", "-0.00598", ts=2, event="x"), "0.0598"),
    ],
)
def test_equal_filled_snapshots_are_chosen_independently_of_arrival_order(a, b, fee):
    for items in ([a, b], [b, a], [a, b, a], [b, a, b]):
        assert run(items).fees() == {"USDT": D(fee)}, items


# ---------------------------------------------------------------------------- venue formats
def maker_order(grid: GridSpec, final: OrderStatus = OrderStatus.FILLED) -> OrderTruth:
    fills = (
        Fill("501", D("0.001"), D("29900"), "USDT", D("-0.00299"), 1_000),
        Fill("502", D("0.001"), D("29900"), "USDT", D("-0.00299"), 2_000),
    )
    return OrderTruth(BUY, "9001", -1, Side.BUY, Role.OPEN, 0, D("0.002"), D("29900"), fills, final, 500)


def taker_then_maker_order() -> OrderTruth:
    fills = (
        Fill("501", D("0.001"), D("29900"), "USDT", D("0.0299"), 1_000),
        Fill("502", D("0.001"), D("29900"), "USDT", D("-0.00299"), 2_000),
    )
    return OrderTruth(BUY, "9001", -1, Side.BUY, Role.OPEN, 0, D("0.002"), D("29900"), fills, OrderStatus.FILLED, 500)


def feed_wire(led: Ledger, fmt: str, messages) -> None:
    for m in messages:
        wire = json.loads(json.dumps(m), parse_float=D)
        out = led.apply_all(parse_message(wire, fmt, led.grid.instrument).items)
        assert all(o.kind.value != "REJECTED" for o in out), out


@pytest.mark.parametrize("fmt", ["ccxt", "binance-spot", "binance-usdm", "okx", "bybit"])
@pytest.mark.parametrize("which", ["maker", "taker_then_maker"])
def test_rebates_read_from_every_venue_format(fmt, which):
    grid = LINEAR if fmt == "binance-usdm" else SPOT
    o = maker_order(grid) if which == "maker" else taker_then_maker_order()
    want_fee = D("-0.00598") if which == "maker" else D("0.02691")
    tagged = venue_messages(fmt, grid, o, itertools.count(1))
    msgs = [m for _, m in tagged]
    subsets = {
        "all": msgs,
        "reversed": msgs[::-1],
        "duplicated": msgs + msgs[::2],
        "fee-bearing fills only": [m for t, m in tagged if t == "t"],
    }
    if any(t == "f" for t, _ in tagged):  # venues whose order reports carry the cumulative fee
        subsets["final only"] = [m for t, m in tagged if t == "f"]
        subsets["fast fills and final"] = [m for t, m in tagged if t in ("l", "f")]
    for name, subset in subsets.items():
        led = Ledger(grid)
        feed_wire(led, fmt, subset)
        assert led.fees() == {"USDT": want_fee}, (fmt, name)
        assert led.slots[-1].state.cost == D("59.8") + want_fee, (fmt, name)
        assert not led.order(BUY).fees_incomplete(), (fmt, name)


def test_venue_fee_signs_become_ours():
    """Ours: positive = paid, negative = rebate. OKX reports a rebate as a positive fee."""
    spot = SPOT.instrument
    okx = {
        "arg": {"channel": "orders", "instType": "SPOT"},
        "data": [
            {
                "instType": "SPOT",
                "instId": "BTC-USDT",
                "ordId": "1",
                "clOrdId": BUY,
                "px": "29900",
                "sz": "0.002",
                "side": "buy",
                "state": "partially_filled",
                "accFillSz": "0.001",
                "avgPx": "29900",
                "fee": "0.00299",
                "feeCcy": "USDT",
                "uTime": "1",
                "tradeId": "5",
                "fillSz": "0.001",
                "fillPx": "29900",
                "fillFee": "0.00299",
                "fillFeeCcy": "USDT",
                "fillTime": "1",
            }
        ],
    }
    trade, order = parse_message(okx, "okx", spot).items
    assert trade.fees == order.fees == (("USDT", D("-0.00299")),)
    bybit = {
        "topic": "execution",
        "data": [
            {
                "category": "spot",
                "symbol": "BTCUSDT",
                "execId": "5",
                "orderId": "1",
                "orderLinkId": BUY,
                "side": "Buy",
                "execQty": "0.001",
                "execPrice": "29900",
                "execValue": "29.9",
                "execFee": "-0.00299",
                "feeCurrency": "USDT",
                "execType": "Trade",
                "execTime": "1",
            }
        ],
    }
    assert parse_message(bybit, "bybit", spot).items[0].fees == (("USDT", D("-0.00299")),)
    ccxt = {
        "id": "5",
        "order": "1",
        "symbol": "BTC/USDT",
        "side": "buy",
        "price": "29900",
        "amount": "0.001",
        "cost": "29.9",
        "takerOrMaker": "maker",
        "fee": {"cost": "-0.00299", "currency": "USDT"},
    }
    assert parse_message(ccxt, "ccxt", spot).items[0].fees == (("USDT", D("-0.00299")),)
    usdm = {
        "symbol": "BTCUSDT",
        "id": 5,
        "orderId": 1,
        "side": "BUY",
        "price": "29900",
        "qty": "0.001",
        "quoteQty": "29.9",
        "commission": "-0.00299",
        "commissionAsset": "USDT",
        "time": 1,
        "buyer": True,
        "maker": True,
        "realizedPnl": "0",
    }
    assert parse_message(usdm, "binance-usdm", LINEAR.instrument).items[0].fees == (("USDT", D("-0.00299")),)


# ---------------------------------------------------------------------------- journal
def test_codec_round_trips_the_kept_snapshot_and_reads_old_records():
    led = run([M_S1, M_S2, M_T1])
    rec = led.order(BUY)
    back = record_from_json(record_to_json(rec))
    assert (back.snap_filled, back.snap_cost, back.snap_fees, back.snap_ts) == (
        D("0.002"),
        D("59.8"),
        (("USDT", D("-0.00598")),),
        2,
    )
    assert back.effective() == rec.effective()
    # A record written before the snapshot time was kept: no "sts" key.
    old = json.loads(record_to_json(rec))
    del old["sts"]
    legacy: OrderRecord = record_from_json(json.dumps(old))
    assert legacy.snap_ts is None and legacy.effective() == rec.effective()
    # Such a record kept the per-asset maximum of the fees; the next report of the same
    # quantity (a reconciliation re-read) replaces it.
    legacy.snap_fees = (("USDT", D("-0.00299")),)
    legacy.changed()
    fresh = Ledger(SPOT)
    fresh.restore([], [legacy], [])
    fresh.apply(snap(FILLED, "0.002", "-0.00598", ts=2, event="rest"))
    assert fresh.fees() == {"USDT": D("-0.00598")}


def test_journal_reopen_keeps_falling_fees_and_replays_change_nothing():
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "j.db"
        j = Journal.open(db, Ledger(SPOT), synchronous="OFF")
        for i, ev in enumerate([T_S1, T_S2]):
            j.apply_message(f"m{i}", [ev])
        j.close()
        j = Journal.open(db, Ledger(SPOT), synchronous="OFF")
        try:
            assert j.ledger.fees() == {"USDT": D("0.02691")}
            outs = j.apply_message("replay", [T_S1, T_T1, T_T2, T_S2])
            assert j.ledger.fees() == {"USDT": D("0.02691")}
            assert j.ledger.slots[-1].state.cost == D("59.82691")
            assert next(o.kind.value for o in outs) in ("DUPLICATE", "STALE")
        finally:
            j.close()
