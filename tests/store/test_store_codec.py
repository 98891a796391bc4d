"""The journal's codec (store/codec.py) and snapshot rows (store/snapshot.py) directly.

Every value the journal stores comes back equal: order records (trades, snapshot watermark
with its time ``sts``, seen snapshots, overfill, the pre-fold checkpoint), evidence of both
kinds, slot states, and the restored state with its parked evidence and R4 anomalies. Fees
may be negative (rebates) and "unknown" (None) stays distinct from "none" (()), since
fees_incomplete() depends on it (R1). A value that does not decode is one clean error.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_helpers import FILLED, GRID, NEW, PART, cid, snap, trade

from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.ledger.changes import ChangeSet, SlotRow
from gridledger.ledger.evidence import OrderEvidence, TradeEvidence
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.records import OrderRecord
from gridledger.ledger.slots import SlotState
from gridledger.store.codec import (
    CodecError,
    evidence_from_json,
    evidence_to_json,
    record_from_json,
    record_to_json,
    state_from_obj,
    state_to_obj,
)
from gridledger.store.errors import JournalError
from gridledger.store.integrity import row_crc
from gridledger.store.journal import Journal
from gridledger.store.schema import connect
from gridledger.store.snapshot import read_meta, read_state, write_changes


def doc(rec: OrderRecord) -> dict:
    """A record as comparable data ("seen" is a set: its order carries no meaning)."""
    d = json.loads(record_to_json(rec))
    d["seen"] = sorted(d["seen"], key=repr)
    return d


def assert_same_record(a: OrderRecord, b: OrderRecord) -> None:
    assert doc(a) == doc(b)
    assert (a.filled, a.effective(), a.status, a.fees_incomplete(), a.terminal) == (
        b.filled,
        b.effective(),
        b.status,
        b.fees_incomplete(),
        b.terminal,
    )
    assert a.trades == b.trades and a.seen == b.seen
    assert (a.trade_filled, a.trade_cost, a.trade_fees) == (b.trade_filled, b.trade_cost, b.trade_fees)
    assert (a.snap_filled, a.snap_cost, a.snap_fees, a.snap_ts) == (b.snap_filled, b.snap_cost, b.snap_fees, b.snap_ts)
    assert (a.pre_state, a.overfill, a.first_ts, a.last_ts) == (b.pre_state, b.overfill, b.first_ts, b.last_ts)


def records_of_every_kind() -> list[OrderRecord]:
    led = Ledger(GRID)
    buy, sell = cid(-1), cid(-1, Side.SELL, Role.CLOSE, gen=1)
    # Trades with a rebate (negative fee) and a fee in a third asset, then the snapshot.
    led.apply(trade(buy, "1", "t1", "0.5", fees=[("USDT", "-0.0125"), ("BNB", "0.00001")]))
    led.apply(trade(buy, "1", "t2", "0.5", fees=[("BTC", "0.0005")]))
    led.apply(snap(buy, "1", FILLED, "1", ts=1_700_000_000_001, event="e1"))
    led.apply(
        snap(
            sell,
            "2",
            FILLED,
            "0.9995",
            price="100",
            side=Side.SELL,
            amount="0.9995",
            fees=[("USDT", "-0.02")],
            ts=1_700_000_000_002,
        )
    )  # cumulative fee on the snapshot
    # A partial fill whose fee is unknown (None), a snapshot without fees, an overfill (R4).
    led.apply(trade(cid(-2), "3", "t3", "0.25", price="80", fees=None))
    led.apply(snap(cid(-3), "4", PART, "0.1", price="70", ts=7))
    led.apply(snap(cid(-4), "5", FILLED, "1.2", amount="1", price="60"))
    led.apply(snap(cid(-5), "6", NEW, "0", price="50"))  # acknowledged, nothing filled
    led.flush_to_memory()  # folds the finished round trip: pre_state is set on its orders
    found = [led.order(c) for c in (buy, sell, cid(-2), cid(-3), cid(-4), cid(-5))]
    assert all(r is not None for r in found)
    return [r for r in found if r is not None]


def test_every_kind_of_order_record_round_trips():
    records = records_of_every_kind()
    kinds = {
        "folded": any(r.pre_state is not None for r in records),
        "negative fee": any(v < 0 for r in records for t in r.trades.values() for _, v in (t.fees or ())),
        "unknown fee": any(t.fees is None for r in records for t in r.trades.values()),
        "sts": any(r.snap_ts is not None for r in records),
        "overfill": any(r.overfill for r in records),
        "seen": any(r.seen for r in records),
        "no exchange fee on snapshot": any(r.snap_fees is None and r.snap_filled > 0 for r in records),
    }
    assert all(kinds.values()), kinds
    for rec in records:
        back = record_from_json(record_to_json(rec))
        assert_same_record(rec, back)
        assert_same_record(back, record_from_json(record_to_json(back)))


def test_a_record_written_before_sts_existed_loads_with_no_snapshot_time():
    rec = records_of_every_kind()[0]
    old = json.loads(record_to_json(rec))
    del old["sts"]
    assert record_from_json(json.dumps(old)).snap_ts is None


EVIDENCE = [
    TradeEvidence(
        "BTC/USDT",
        "1",
        cid(-1),
        "t1",
        Side.BUY,
        D("0.5"),
        D("90"),
        D("45"),
        (("BNB", D("0.0001")), ("USDT", D("-0.0125"))),
        1_700_000_000_000,
        "ws:orders",
    ),
    TradeEvidence("BTC/USDT", None, None, "t2", None, D("1E-8"), D("90.000"), D("9.0000E-7"), None),
    TradeEvidence("BTC/USDT", "1", cid(-1), "t3", Side.SELL, D("2"), D("1"), D("2"), ()),
    OrderEvidence(
        "BTC/USDT",
        "1",
        cid(-1),
        OrderStatus.PARTIALLY_FILLED,
        Side.BUY,
        D("1"),
        D("90"),
        D("0.5"),
        D("45"),
        (("USDT", D("-0.01")),),
        5,
        "ev-1",
        "rest:query",
    ),
    OrderEvidence("BTC/USDT", None, cid(-2), None),
    OrderEvidence("BTC/USDT", "9", None, OrderStatus.CANCELED, fees=()),
]


@pytest.mark.parametrize("ev", EVIDENCE, ids=range(len(EVIDENCE)))
def test_every_kind_of_evidence_round_trips(ev):
    back = evidence_from_json(evidence_to_json(ev))
    assert back == ev and type(back) is type(ev)
    assert str(back.amount) == str(ev.amount)  # "90.000" stays as written


decimals = st.decimals(allow_nan=False, allow_infinity=False, min_value=D("-1e12"), max_value=D("1e12"), places=12)
fees = st.none() | st.lists(st.tuples(st.sampled_from(["BTC", "USDT", "BNB"]), decimals), max_size=3).map(tuple)


@settings(max_examples=60)
@given(amount=decimals, price=decimals, cost=decimals, fee=fees, ts=st.none() | st.integers(0, 2**62))
def test_evidence_decimals_and_fees_round_trip_exactly(amount, price, cost, fee, ts):
    tr = TradeEvidence("BTC/USDT", "1", cid(-1), "t", Side.BUY, amount, price, cost, fee, ts, "s")
    assert evidence_from_json(evidence_to_json(tr)) == tr
    od = OrderEvidence("BTC/USDT", "1", cid(-1), OrderStatus.FILLED, Side.BUY, amount, price, amount, cost, fee, ts)
    back = evidence_from_json(evidence_to_json(od))
    assert back == od and str(back.filled) == str(od.filled)


@settings(max_examples=60)
@given(qty=decimals, cost=decimals, realized=decimals, fee=fees, trips=st.integers(0, 10**6))
def test_slot_states_round_trip_exactly(qty, cost, realized, fee, trips):
    state = SlotState(qty, cost, realized, fee or (), trips)
    back = state_from_obj(json.loads(json.dumps(state_to_obj(state))))
    assert back == state and [str(x) for x in (back.qty, back.cost, back.realized)] == [
        str(qty),
        str(cost),
        str(realized),
    ]


def test_the_snapshot_rows_round_trip_slots_orders_parked_evidence_counts_and_anomalies(tmp_path):
    conn = connect(tmp_path / "s.db", "OFF")
    live = records_of_every_kind()[2]  # the partial fill: not folded, restored into RAM
    checkpoint = SlotState(D("0.999"), D("89.9"), D("-0.5"), (("BTC", D("0.001")), ("USDT", D("-0.03"))), 3)
    parked = TradeEvidence("BTC/USDT", "77", None, "t9", Side.BUY, D("0.1"), D("90"), D("9"), None)
    anomalies = ('overfill: order gl\u00e9 filled 1.2 of 1 "quoted"', "second")
    changes = ChangeSet(
        orders=[live],
        slots=[SlotRow(-1, checkpoint, 2, 3)],
        keys=["k1"],
        parked_add=[("77", "key-77", parked)],
        anomalies=anomalies,
    )
    conn.execute("BEGIN")
    write_changes(conn, changes, {"APPLIED": 7, "DUPLICATE": 2})
    conn.execute("COMMIT")
    state = read_state(conn, read_meta(conn))
    conn.close()
    assert state.slots == [SlotRow(-1, checkpoint, 2, 3)]
    assert len(state.orders) == 1
    assert_same_record(state.orders[0], live)
    assert state.parked == [("77", "key-77", parked)]
    assert state.counts == {"APPLIED": 7, "DUPLICATE": 2}
    assert state.anomalies == list(anomalies)


MALFORMED_RECORDS = [
    ("{", "stored order record: not JSON"),
    ("[]", "stored order record: list indices must be integers"),
    ('{"c": "x"}', "stored order record: field 'k' is missing"),
]


@pytest.mark.parametrize("text, message", MALFORMED_RECORDS)
def test_a_malformed_record_is_one_clean_error(text, message):
    with pytest.raises(CodecError, match=message) as err:
        record_from_json(text)
    assert "\n" not in str(err.value)


def mutate(rec_json: str, **changes: object) -> str:
    d = json.loads(rec_json)
    d.update(changes)
    return json.dumps(d)


def test_wrong_values_in_a_record_name_the_field():
    good = record_to_json(records_of_every_kind()[0])
    cases = {
        "snapshot filled": mutate(good, sf=0.5),  # a float where a decimal string belongs
        "price": mutate(good, p="ninety"),
        "'side'|Side": mutate(good, s="sideways"),
        "fee in USDT": mutate(good, sx=[["USDT", 1.5]]),
    }
    for name, text in cases.items():
        with pytest.raises(CodecError, match=name):
            record_from_json(text)


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json", "stored evidence: not JSON"),
        ('{"kind": "trade"}', "stored evidence: field 'side' is missing"),
        (
            json.dumps(
                {
                    "kind": "trade",
                    "symbol": "BTC/USDT",
                    "order_id": "1",
                    "client_id": None,
                    "trade_id": "t",
                    "side": "buy",
                    "amount": 0.1,
                    "price": "90",
                    "cost": "9",
                    "fees": None,
                    "timestamp": None,
                    "source": "",
                }
            ),
            "field 'amount' must be a decimal string, got float",
        ),
        (
            json.dumps(
                {
                    "kind": "fill",
                    "symbol": "BTC/USDT",
                    "order_id": "1",
                    "client_id": None,
                    "side": None,
                    "timestamp": None,
                    "source": "",
                }
            ),
            "field 'kind' must be 'trade' or 'order'",
        ),
    ],
)
def test_malformed_evidence_is_one_clean_error(text, message):
    with pytest.raises(CodecError, match=message):
        evidence_from_json(text)


def test_a_slot_state_of_the_wrong_shape_is_one_clean_error():
    with pytest.raises(CodecError, match="stored slot state"):
        state_from_obj(["1", "2"])
    with pytest.raises(CodecError, match="round_trips"):
        state_from_obj(["1", "2", "3", None, 1.0])


def test_the_journal_refuses_a_record_that_does_not_decode_naming_it(tmp_path):
    db = tmp_path / "j.db"
    with Journal.open(db, Ledger(GRID), synchronous="OFF") as j:
        j.apply_message("m", [trade(cid(-1), "1", "t1", "0.5")])
    with sqlite3.connect(db) as conn:  # valid checksum, wrong content: written by something else
        cols = conn.execute(
            "SELECT client_id, order_id, level, generation, folded, incomplete, data FROM orders"
        ).fetchone()
        data = mutate(cols[6], sf=0.5)
        conn.execute(
            "UPDATE orders SET data = ?, crc = ? WHERE client_id = ?", (data, row_crc((*cols[:6], data)), cols[0])
        )
    with pytest.raises(
        JournalError,
        match=r"damaged \(stored order record: field 'snapshot filled' must be a "
        r"decimal string, got float\)",
    ) as err:
        Journal.open(db, Ledger(GRID))
    assert "\n" not in str(err.value)
