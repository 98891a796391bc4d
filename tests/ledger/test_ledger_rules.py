"""Example tests of the ledger rules R1-R7, R9, R10 and the acceptance cases users asked for."""

from __future__ import annotations

import dataclasses
import logging
from decimal import Decimal as D

import pytest
from ledger_helpers import (
    CANCELED,
    EXPIRED,
    FILLED,
    GRID,
    NEW,
    PART,
    REJECTED,
    cid,
    ledger,
    snap,
    state,
    trade,
)

from gridledger.domain.types import Role, Side
from gridledger.engine.outcome_log import log_outcome
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.outcomes import OutcomeKind as K
from gridledger.store.journal import Journal

B0 = cid(-1)  # open buy at level -1 (price 90), generation 0
S1 = cid(-1, Side.SELL, Role.CLOSE, 1)  # its closing sell, generation 1


def kinds(outs):
    return [o.kind for o in outs]


# ----------------------------------------------------------------------------- acceptance
def test_duplicate_filled_is_ignored_and_logged(caplog):
    led = ledger()
    led.apply(snap(B0, "7", NEW, "0", event="1"))
    assert led.apply(snap(B0, "7", FILLED, "1", event="2")).kind is K.APPLIED
    with caplog.at_level(logging.INFO, logger="gridledger"):
        ev = snap(B0, "7", FILLED, "1", event="2")
        out = led.apply(ev)
        log_outcome(out, ev)  # the ledger counts; the shell logs (engine/outcome_log.py)
    assert out.kind is K.DUPLICATE
    assert state(led, -1).qty == D(1)
    rec = next(r for r in caplog.records if r.getMessage() == "duplicate evidence ignored")
    assert rec.fields["order_id"] == "7"
    assert rec.fields["client_id"] == B0
    assert rec.fields["applied_status"] == "FILLED" and rec.fields["applied_filled"] == D(1)
    assert "FILLED filled=1" in rec.fields["arrived"]
    assert led.counts["DUPLICATE"] == 1


def test_duplicate_canceled_is_ignored():
    led = ledger()
    led.apply(snap(B0, "7", NEW, "0", event="1"))
    assert led.apply(snap(B0, "7", CANCELED, "0", event="2")).kind is K.APPLIED
    assert led.slots[-1].status == "FREE"
    assert led.apply(snap(B0, "7", CANCELED, "0", event="2")).kind is K.DUPLICATE
    assert led.slots[-1].status == "FREE" and state(led, -1).qty == 0


def test_duplicate_partial_ignored_and_lower_cumulative_changes_nothing():
    led = ledger()
    assert led.apply(snap(B0, "7", PART, "0.6", event="2")).kind is K.APPLIED
    assert led.apply(snap(B0, "7", PART, "0.6", event="2")).kind is K.DUPLICATE
    # A different, older report with a lower cumulative quantity: nothing new.
    out = led.apply(snap(B0, "7", PART, "0.3", event="1"))
    assert out.kind is K.STALE
    assert state(led, -1).qty == D("0.6") and state(led, -1).cost == D("54")


def test_sell_fill_empties_its_slot():
    led = ledger()
    led.apply(snap(B0, "7", FILLED, "1", cost="90"))
    led.apply(snap(S1, "8", FILLED, "1", cost="100", side=Side.SELL, price="100"))
    st = state(led, -1)
    assert st.qty == 0 and st.cost == 0 and st.realized == D(10) and st.round_trips == 1
    assert led.slots[-1].status == "FREE"


def test_same_update_twice_leaves_position_unchanged():
    led = ledger()
    ev = trade(B0, "7", "t1", "0.4")
    led.apply(ev)
    before = led.position
    assert led.apply(ev).kind is K.DUPLICATE
    assert led.position == before == D("0.4")


def test_out_of_order_updates_end_in_the_right_state():
    led = ledger()
    outs = led.apply_all(
        [
            snap(B0, "7", FILLED, "1", event="4"),
            snap(B0, "7", PART, "0.5", event="3"),
            trade(B0, "7", "t2", "0.5"),
            snap(B0, "7", NEW, "0", event="1"),
            trade(B0, "7", "t1", "0.5"),
        ]
    )
    # The final snapshot proves everything; the rest arrives late and proves nothing new.
    assert kinds(outs) == [K.APPLIED, K.STALE, K.STALE, K.STALE, K.STALE]
    rec = led.order(B0)
    assert rec.status is FILLED and rec.filled == D(1)
    assert state(led, -1).qty == D(1) and state(led, -1).cost == D(90)


def test_finished_orders_leave_memory_and_duplicates_are_still_recognised():
    led = ledger()
    for i in range(50):
        c = cid(-1, gen=2 * i)
        led.apply(snap(c, str(i), FILLED, "1"))
        led.apply(snap(cid(-1, Side.SELL, Role.CLOSE, 2 * i + 1), f"s{i}", FILLED, "1", side=Side.SELL, price="100"))
        led.flush_to_memory()
    assert led.ram_orders == 0
    assert led.slots[-1].state.round_trips == 50
    out = led.apply(snap(cid(-1, gen=0), "0", FILLED, "1"))
    assert out.kind is K.DUPLICATE
    assert led.slots[-1].state.realized == D(500)


def test_state_after_reconnect_replay_is_unchanged():
    led = ledger()
    stream = [
        snap(B0, "7", NEW, "0", event="1"),
        trade(B0, "7", "t1", "0.5"),
        snap(B0, "7", PART, "0.5", event="2"),
        trade(B0, "7", "t2", "0.5"),
        snap(B0, "7", FILLED, "1", event="3"),
    ]
    led.apply_all(stream)
    before = (state(led, -1), led.order(B0).status)
    outs = led.apply_all(stream[-4:])  # the venue replays the last messages after a reconnect
    assert set(kinds(outs)) == {K.DUPLICATE}
    assert (state(led, -1), led.order(B0).status) == before


# ----------------------------------------------------------------------------- peers' failures
@pytest.mark.parametrize("side", [Side.BUY, Side.SELL])
def test_partial_fill_then_cancel_keeps_the_partial_quantity(side):
    led = ledger()
    if side is Side.SELL:
        led.apply(snap(B0, "7", FILLED, "1"))
        c, price = S1, "100"
    else:
        c, price = B0, "90"
    oid = "8" if side is Side.SELL else "7"
    led.apply(trade(c, oid, "t9", "0.3", price, side=side))
    out = led.apply(snap(c, oid, CANCELED, "0.3", side=side, price=price, event="c"))
    assert out.kind is K.APPLIED and out.status_after is CANCELED
    expected = D("0.3") if side is Side.BUY else D("0.7")
    assert state(led, -1).qty == expected
    assert led.slots[-1].bound is None


@pytest.mark.parametrize("final", [EXPIRED, REJECTED])
def test_expired_and_rejected_free_the_slot_after_applying_any_fill(final):
    led = ledger()
    led.apply(snap(B0, "7", NEW, "0", event="1"))
    assert led.slots[-1].status == "PENDING"
    led.apply(snap(B0, "7", final, "0.25", event="2"))
    assert state(led, -1).qty == D("0.25")
    assert led.slots[-1].bound is None
    other = cid(-2)
    led.apply(snap(other, "9", final, "0", event="3"))
    assert led.slots[-2].status == "FREE"


def test_instant_fill_before_the_order_is_recorded_lands_in_the_right_slot():
    led = ledger()
    c = cid(-3, gen=4)
    out = led.apply(trade(c, "77", "t1", "1", "70"))
    assert out.kind is K.APPLIED and out.level == -3 and out.gap
    assert state(led, -3).qty == D(1)
    # The generation is taken: the next order of that slot gets a later one.
    assert led.new_order(-3, Side.SELL, Role.CLOSE, D(1), D(80)).generation == 5


def test_fill_replayed_a_week_later_is_still_a_duplicate(tmp_path):
    db = tmp_path / "j.db"
    week_ms = 7 * 24 * 3600 * 1000
    with Journal.open(db, Ledger(GRID), synchronous="OFF") as j:
        j.apply_message("m1", [trade(B0, "7", "t1", "1")])
        j.apply_message("m2", [snap(B0, "7", FILLED, "1", event="9", ts=1)])
        j.apply_message("m3", [snap(S1, "8", FILLED, "1", side=Side.SELL, price="100", ts=2)])
        assert j.ledger.ram_orders == 0
    with Journal.open(db, Ledger(GRID), synchronous="OFF") as j:
        outs = j.apply_message("m1-again", [trade(B0, "7", "t1", "1")])
        outs += j.apply_message("m2-again", [snap(B0, "7", FILLED, "1", event="9", ts=1 + week_ms)])
        assert kinds(outs) == [K.DUPLICATE, K.DUPLICATE]
        assert j.ledger.position == 0 and j.ledger.realized_pnl == D(10)


# ----------------------------------------------------------------------------- R1
def test_r1_snapshot_ahead_of_trades_then_trades_catch_up():
    led = ledger()
    led.apply(trade(B0, "7", "t1", "0.4", fees=[("USDT", "0.036")]))
    led.apply(snap(B0, "7", PART, "0.7", cost="63"))
    st = state(led, -1)
    assert st.qty == D("0.7") and st.cost == D("63") + D("0.036")
    assert led.order(B0).trade_gap == D("0.3")
    led.apply(trade(B0, "7", "t2", "0.3", fees=[("USDT", "0.027")]))
    st = state(led, -1)
    assert st.qty == D("0.7") and st.cost == D("63") + D("0.063")


def test_r1_cost_from_limit_price_when_snapshot_has_no_cost():
    led = ledger()
    ev = snap(B0, "7", PART, "0.5")
    ev = dataclasses.replace(ev, cost=None)  # not ev.__slots__: a mypyc-compiled class has none
    led.apply(ev)
    assert state(led, -1).cost == D(45)


# ----------------------------------------------------------------------------- R2
def test_r2_reused_trade_id_with_different_amount_is_a_different_fill():
    led = ledger()
    led.apply(trade(B0, "7", "42", "0.2"))
    assert led.apply(trade(B0, "7", "42", "0.3")).kind is K.APPLIED
    assert led.apply(trade(B0, "7", "42", "0.2", "89")).kind is K.APPLIED
    assert state(led, -1).qty == D("0.7")


# ----------------------------------------------------------------------------- R3
def test_r3_fill_after_cancel_moves_the_slot_and_warns(caplog):
    led = ledger()
    led.apply(snap(B0, "7", CANCELED, "0.5", event="1"))
    with caplog.at_level(logging.WARNING, logger="gridledger"):
        ev = snap(B0, "7", FILLED, "1", event="2")
        out = led.apply(ev)
        log_outcome(out, ev)  # the ledger counts; the shell logs (engine/outcome_log.py)
    assert out.kind is K.APPLIED and out.slot_qty_delta == D("0.5")
    assert any("cancel/fill race" in w for w in out.warnings)
    assert any("cancel/fill race" in r.fields.get("warnings", "") for r in caplog.records)


def test_r3_new_after_filled_and_filled_after_filled_change_nothing():
    led = ledger()
    led.apply(snap(B0, "7", FILLED, "1", event="3"))
    assert led.apply(snap(B0, "7", NEW, "0", event="1")).kind is K.STALE
    assert led.apply(snap(B0, "7", FILLED, "1", event="4")).kind is K.STALE
    assert led.order(B0).status is FILLED


def test_r3_open_with_filled_equal_amount_is_filled():
    led = ledger()
    led.apply(snap(B0, "7", PART, "1"))
    assert led.order(B0).status is FILLED


def test_r3_cancel_fill_race_ends_the_same_whichever_report_comes_first():
    a, b = ledger(), ledger()
    e1, e2 = snap(B0, "7", CANCELED, "1", event="1"), snap(B0, "7", FILLED, "1", event="2")
    a.apply_all([e1, e2])
    b.apply_all([e2, e1])
    assert a.order(B0).status is b.order(B0).status is FILLED


# ----------------------------------------------------------------------------- R4
def test_r4_overfill_is_applied_and_flagged():
    led = ledger()
    out = led.apply(snap(B0, "7", FILLED, "1.5"))
    assert out.kind is K.APPLIED and state(led, -1).qty == D("1.5")
    assert led.anomalies and "overfill" in led.anomalies[0]


# ----------------------------------------------------------------------------- R5
def test_r5_buy_with_base_fee_and_sell_realizes_against_cost_basis():
    led = ledger()
    led.apply(trade(B0, "7", "t1", "1", "90", fees=[("BTC", "0.001")]))
    st = state(led, -1)
    assert st.qty == D("0.999") and st.cost == D(90)
    led.apply(trade(S1, "8", "t2", "0.5", "100", side=Side.SELL, fees=[("USDT", "0.05")]))
    st = state(led, -1)
    share = (D(90) * D("0.5") / D("0.999")).quantize(D("1e-18"))
    assert st.qty == D("0.499")
    assert st.cost == D(90) - share
    assert st.realized == D(50) - share - D("0.05")
    # The cost basis removed is exactly what the realized PnL was charged: nothing created or lost.
    assert D(90) - st.cost == D(50) - D("0.05") - st.realized


def test_r5_third_asset_fees_are_kept_apart_from_quote_pnl():
    led = ledger()
    led.apply(trade(B0, "7", "t1", "1", "90", fees=[("BNB", "0.0003")]))
    led.apply(trade(S1, "8", "t2", "1", "100", side=Side.SELL, fees=[("BNB", "0.0004")]))
    st = state(led, -1)
    assert st.realized == D(10)
    assert dict(st.fees) == {"BNB": D("0.0007")}
    assert led.fees() == {"BNB": D("0.0007")}


# ----------------------------------------------------------------------------- R6
def test_r6_terminal_without_filled_quantity_does_not_free_the_slot():
    led = ledger()
    led.apply(snap(B0, "7", NEW, "0", event="1"))
    out = led.apply(snap(B0, "7", CANCELED, None, cost=None, event="2"))
    assert out.kind is K.STALE and out.gap
    assert led.slots[-1].bound is not None and led.slots[-1].status == "PENDING"


# ----------------------------------------------------------------------------- R7
def test_r7_foreign_ids_leave_slots_alone():
    led = ledger()
    assert led.apply(snap("web_8x7abc", "1", FILLED, "1")).kind is K.FOREIGN
    assert led.apply(snap(cid(-1, grid="other"), "2", FILLED, "1")).kind is K.FOREIGN
    assert led.apply(snap("gl1" + "x" * 10, "3", FILLED, "1")).kind is K.FOREIGN
    assert led.position == 0 and not led.slots


def test_r7_generation_is_persisted_before_sending(tmp_path):
    db = tmp_path / "j.db"
    with Journal.open(db, Ledger(GRID), synchronous="OFF") as j:
        first = j.ledger.new_order(-1, Side.BUY, Role.OPEN, D(1), D(90))
        j.record_intent("place")
    with Journal.open(db, Ledger(GRID), synchronous="OFF") as j:
        second = j.ledger.new_order(-1, Side.BUY, Role.OPEN, D(1), D(90))
        assert second.generation == first.generation + 1
        assert j.ledger.order(first.client_id).status is None  # still known, not yet acknowledged


# ----------------------------------------------------------------------------- R9
def test_r9_finished_orders_are_found_in_the_journal_on_a_miss(tmp_path):
    with Journal.open(tmp_path / "j.db", Ledger(GRID), synchronous="OFF") as j:
        j.apply_message("a", [snap(B0, "7", FILLED, "1")])
        assert j.ledger.ram_orders == 0 and j.ledger.order(B0) is not None
        assert j.ledger.order_by_exchange_id("7").client_id == B0
        assert j.apply_message("b", [trade(None, "7", "t1", "1")])[0].kind is K.STALE


# ----------------------------------------------------------------------------- R10
def test_r10_bad_evidence_is_rejected_and_changes_nothing():
    led = ledger()
    led.apply(snap(B0, "7", PART, "0.5"))
    before = (state(led, -1), led.order(B0).filled)
    outs = led.apply_all(
        [
            snap(B0, "7", FILLED, "1", symbol="ETH/USDT"),
            snap(B0, "7", FILLED, "1", side=Side.SELL),
            snap(B0, "8", FILLED, "1"),
            trade(None, None, "t1", "1"),
            snap(cid(-1, gen=9), "7", FILLED, "1"),
        ]
    )
    assert kinds(outs) == [K.REJECTED] * 5
    assert "not this grid's" in outs[0].reason
    assert "contradicts" in outs[1].reason
    assert "exchange order 7" in outs[2].reason
    assert (state(led, -1), led.order(B0).filled) == before
    assert led.counts["REJECTED"] == 5


def test_every_outcome_is_counted():
    led = ledger()
    led.apply_all(
        [
            snap(B0, "7", PART, "0.5"),
            snap(B0, "7", PART, "0.5"),
            snap(B0, "7", NEW, "0", event="x"),
            snap("foreign1", "9", NEW, "0"),
            trade(None, "55", "t1", "1"),
            snap(B0, "7", PART, "1", symbol="X/Y"),
        ]
    )
    assert dict(led.counts) == {"APPLIED": 1, "DUPLICATE": 1, "STALE": 1, "FOREIGN": 1, "PARKED": 1, "REJECTED": 1}


# ----------------------------------------------------------------------------- parking
def test_trade_for_an_unknown_exchange_id_is_parked_then_applied_when_linked():
    led = ledger()
    out = led.apply(trade(None, "7", "t1", "0.5"))
    assert out.kind is K.PARKED and led.position == 0
    assert led.apply(trade(None, "7", "t1", "0.5")).kind is K.DUPLICATE
    out = led.apply(snap(B0, "7", NEW, "0"))
    assert [r.kind for r in out.released] == [K.APPLIED]
    assert state(led, -1).qty == D("0.5")
    assert led.counts["PARKED"] == 0 and led.counts["APPLIED"] == 2


def test_parked_evidence_of_a_foreign_order_becomes_foreign():
    led = ledger()
    led.apply(trade(None, "7", "t1", "0.5"))
    out = led.apply(snap("someone-else", "7", NEW, "0"))
    assert out.kind is K.FOREIGN and [r.kind for r in out.released] == [K.FOREIGN]
    assert led.apply(trade(None, "7", "t2", "0.5")).kind is K.FOREIGN
    assert led.position == 0 and not list(led.parked())


# ----------------------------------------------------------------------------- generations
def test_a_later_generation_seen_first_ends_in_the_same_state():
    buy = [trade(B0, "7", "t1", "1", "90", fees=[("BTC", "0.001")]), snap(B0, "7", FILLED, "1", event="1")]
    sell = [
        trade(S1, "8", "t2", "0.999", "100", side=Side.SELL, fees=[("USDT", "0.1")]),
        snap(S1, "8", FILLED, "0.999", side=Side.SELL, amount="0.999", price="100", event="2"),
    ]
    a, b = ledger(), ledger()
    a.apply_all(buy + sell)
    b.apply_all(sell + buy)
    assert state(a, -1) == state(b, -1)
    assert state(a, -1).qty == 0 and state(a, -1).realized == D("99.9") - D(90) - D("0.1")


def test_late_evidence_for_a_folded_order_reopens_the_fold(tmp_path):
    with Journal.open(tmp_path / "j.db", Ledger(GRID), synchronous="OFF") as j:
        j.apply_message("1", [snap(B0, "7", CANCELED, "0.5", event="1")])
        j.apply_message("2", [snap(S1, "8", FILLED, "0.5", side=Side.SELL, price="100", amount="0.5")])
        assert j.ledger.ram_orders == 0 and j.ledger.position == 0
        out = j.apply_message("3", [snap(B0, "7", FILLED, "1", event="2")])[0]
        assert out.kind is K.APPLIED and out.slot_qty_delta == D("0.5")
        st = j.ledger.slots[-1].state
    with Journal.open(tmp_path / "j.db", Ledger(GRID), synchronous="OFF") as j:
        assert j.ledger.slots[-1].state == st
        assert st.qty == D("0.5") and st.realized == D(50) - D(45)


def test_trade_fee_completed_by_the_full_report():
    led = ledger()
    led.apply(trade(B0, "7", "t1", "1", fees=None))  # a fast fill without its fee
    assert state(led, -1).qty == D(1)
    out = led.apply(trade(B0, "7", "t1", "1", fees=[("BTC", "0.001")]))
    assert out.kind is K.APPLIED and out.slot_qty_delta == D("-0.001")
    assert led.apply(trade(B0, "7", "t1", "1", fees=[("BTC", "0.001")])).kind is K.DUPLICATE


def test_r10_rejected_evidence_for_an_unknown_id_of_ours_creates_nothing():
    led = ledger()
    c = cid(-4, gen=3)
    out = led.apply(trade(c, "70", "t1", "1", "60", side=Side.SELL))  # the id says buy
    assert out.kind is K.REJECTED and "contradicts" in out.reason
    assert led.order(c) is None and -4 not in led.slots
    ev = snap(c, "70", PART, "0.5", cost=None, price=None, amount=None)
    out = led.apply(ev)  # a fill with no way to price it
    assert out.kind is K.REJECTED
    assert led.order(c) is None and led.position == 0 and -4 not in led.slots
