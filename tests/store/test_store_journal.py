"""The journal (store/journal.py) directly: it persists and restores a ledger it is given (R8, R9).

Open, restore, group commit, fail-stop after a failed commit, the grid check, and the
given-ledger contract: the journal restores into the ledger its caller created, becomes
that ledger's archive, and refuses a ledger that is not empty or belongs to another grid.
Nothing commits as a hidden side effect: the reading methods leave pending work pending.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from decimal import Decimal as D
from pathlib import Path

import pytest
from ledger_helpers import FILLED, GRID, NEW, cid, snap, trade

from gridledger.domain.types import Role, Side
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.outcomes import OutcomeKind as K
from gridledger.ledger.report import ledger_state
from gridledger.store.codec import record_to_json
from gridledger.store.errors import JournalError
from gridledger.store.journal import Journal


def committed_rows(db: Path) -> int:
    """Rows of the journal table as another connection sees them: what is on disk."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM journal").fetchone()[0]
    finally:
        conn.close()


def busy_history(j: Journal) -> dict[str, str]:
    """Every kind of state: a finished round trip folded into its checkpoint, a live partial
    fill with an unknown fee, parked evidence, a foreign report, an overfill anomaly."""
    buy, sell = cid(-1), cid(-1, Side.SELL, Role.CLOSE, gen=1)
    j.apply_message("b1", [trade(buy, "1", "t1", "0.5", fees=[("BTC", "0.0005")])])
    j.apply_message("b2", [trade(buy, "1", "t2", "0.5", fees=[("USDT", "-0.01")])])  # a rebate
    j.apply_message("b3", [snap(buy, "1", FILLED, "1", ts=10)])
    j.apply_message("s1", [trade(sell, "2", "t3", "0.999", price="100", side=Side.SELL, fees=[("USDT", "0.1")])])
    j.apply_message("s2", [snap(sell, "2", FILLED, "0.999", price="100", side=Side.SELL, amount="0.999")])
    j.apply_message("p1", [trade(cid(-2), "3", "t4", "0.25", price="80", fees=None)])  # fee unknown yet
    j.apply_message("park", [trade(None, "77", "t5", "0.1")])  # an order id nobody knows yet
    j.apply_message("foreign", [trade(cid(-3, grid="zz"), "8", "t6", "1")])
    j.apply_message("over", [snap(cid(-4), "4", FILLED, "1.2", amount="1", price="60")])
    return {"buy": buy, "sell": sell, "partial": cid(-2), "over": cid(-4)}


def test_a_reopened_journal_restores_the_same_state_into_the_ledger_it_is_given(tmp_path):
    db = tmp_path / "j.db"
    first = Ledger(GRID)
    with Journal.open(db, first, synchronous="OFF") as j:
        ids = busy_history(j)
        truth = ledger_state(first)
        folded = record_to_json(first.order(ids["buy"]))
    assert truth["anomalies"] and truth["parked"] == 1 and truth["round_trips"] == 1
    second = Ledger(GRID)
    with Journal.open(db, second, synchronous="OFF") as j:
        assert j.ledger is second and second.archive is j  # the caller's ledger, its archive the journal
        assert ledger_state(second) == truth
        # R9: the folded buy left RAM; the ledger finds it through its archive, unchanged.
        assert ids["buy"] not in {r.client_id for r in second.live_orders()}
        assert record_to_json(second.order(ids["buy"])) == folded
        assert second.order_by_exchange_id("2").client_id == ids["sell"]
        # A late copy of the folded fill is a duplicate, found through the archive (R2, R10).
        assert j.apply_message("late", [trade(ids["buy"], "1", "t1", "0.5")])[0].kind is K.DUPLICATE
        assert j.apply_message("again", [trade(cid(-3, grid="zz"), "8", "t6", "1")])[0].kind is K.DUPLICATE


def test_group_commit_writes_group_size_messages_at_a_time_and_the_rest_on_exit(tmp_path):
    db = tmp_path / "j.db"
    with Journal.open(db, Ledger(GRID), synchronous="OFF", group_size=3) as j:
        with j.group():
            for n in range(7):
                j.apply_message(f"m{n}", [trade(cid(-1), "1", f"t{n}", "0.1")])
                assert committed_rows(db) == (n + 1) // 3 * 3
                assert j.entries() == (n + 1) // 3 * 3
        assert committed_rows(db) == 7 and j.entries() == 7


def test_a_crash_inside_a_group_keeps_exactly_the_committed_groups(tmp_path):
    db = tmp_path / "j.db"
    j = Journal.open(db, Ledger(GRID), synchronous="OFF", group_size=3)
    with j.group():
        for n in range(5):
            j.apply_message(f"m{n}", [trade(cid(-1), "1", f"t{n}", "0.1")])
        j.abandon()  # SIGKILL: the two messages of the open group are lost, with their state
    with Journal.open(db, Ledger(GRID), synchronous="OFF") as j:
        assert j.entries() == 3 and j.ledger.position == D("0.3")


def fail_inserts(db: Path) -> None:
    """The next insert into the journal table fails, as a full disk would make it."""
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TRIGGER full BEFORE INSERT ON journal BEGIN SELECT RAISE(ABORT, 'disk is full'); END")


def test_after_a_failed_commit_the_journal_refuses_all_work_and_the_disk_keeps_the_last_commit(tmp_path):
    db = tmp_path / "j.db"
    j = Journal.open(db, Ledger(GRID), synchronous="OFF")
    j.apply_message("m0", [trade(cid(-1), "1", "t0", "0.1")])
    fail_inserts(db)
    with pytest.raises(JournalError, match=r"commit failed .*disk is full.*reopen"):
        j.apply_message("m1", [trade(cid(-1), "1", "t1", "0.1")])
    assert j.ledger.position == D("0.2")  # RAM is ahead of the disk: that is why it stops
    for work in (
        lambda: j.apply_message("m2", [trade(cid(-1), "1", "t2", "0.1")]),
        lambda: j.record_rejection("bad", "unparseable"),
        lambda: j.record_intent("i"),
        j.commit,
    ):
        with pytest.raises(JournalError, match="unusable after a failed commit"):
            work()
    j.close()  # no further commit is attempted; the lock is released
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER full")
    with Journal.open(db, Ledger(GRID), synchronous="OFF") as again:
        assert again.entries() == 1 and again.ledger.position == D("0.1")


@pytest.mark.parametrize(
    "change",
    [
        {"grid_id": "other"},
        {"anchor": D("101")},
        {"interval": D("11")},
        {"account": "sub-2"},
    ],
)
def test_a_journal_refuses_a_ledger_for_another_grid(tmp_path, change):
    db = tmp_path / "j.db"
    with Journal.open(db, Ledger(GRID), synchronous="OFF") as j:
        j.apply_message("m0", [trade(cid(-1), "1", "t0", "0.1")])
    other = Ledger(dataclasses.replace(GRID, **change))
    with pytest.raises(JournalError, match=f"journal belongs to {next(iter(change))} .*the config says"):
        Journal.open(db, other)
    assert not other.slots and not isinstance(other.archive, Journal)  # untouched, not bound
    with Journal.open(db, Ledger(GRID)) as j:  # the refusal released the lock
        assert j.ledger.position == D("0.1")


def test_a_journal_refuses_another_symbol_and_accepts_the_same_decimals_written_otherwise(tmp_path):
    db = tmp_path / "j.db"
    Journal.open(db, Ledger(GRID)).close()
    eth = GRID.instrument.__class__.from_symbol("ETH/USDT")
    with pytest.raises(JournalError, match="journal belongs to symbol 'BTC/USDT'"):
        Journal.open(db, Ledger(dataclasses.replace(GRID, instrument=eth)))
    same = dataclasses.replace(GRID, anchor=D("100.000"), interval=D("1E+1"))
    Journal.open(db, Ledger(same)).close()


def test_the_journal_restores_only_into_an_empty_ledger(tmp_path):
    db = tmp_path / "j.db"
    used = Ledger(GRID)
    used.apply(trade(cid(-1), "1", "t0", "0.1"))
    with pytest.raises(JournalError, match="restores into an empty ledger"):
        Journal.open(db, used)
    assert not db.exists()  # refused before anything was created or locked
    bound = Ledger(GRID)
    Journal.open(db, bound).close()
    with pytest.raises(JournalError, match="already belongs to a journal"):
        Journal.open(tmp_path / "other.db", bound)
    with pytest.raises(TypeError, match=r"takes the ledger to restore into, e\.g\. Ledger\(grid\); got GridSpec"):
        Journal.open(db, GRID)  # type: ignore[arg-type]  # the old signature


def test_reading_methods_never_commit(tmp_path):
    db = tmp_path / "j.db"
    with Journal.open(db, Ledger(GRID), synchronous="OFF", group_size=100) as j:
        j.apply_message("m0", [snap(cid(-1), "1", NEW, "0", ts=1)])
        with j.group():
            j.apply_message("m1", [trade(cid(-1), "1", "t1", "0.5", fees=None)], received_at=5)
            # Filled with an unknown fee, but not committed yet: the committed rows say nothing.
            assert j.incomplete_orders() == []
            assert (j.entries(), j.stored_entries(), j.last_received_at()) == (1, 1, None)
            assert j.load_order(cid(-1)) is not None and j.client_id_for("1") == cid(-1)
            assert not j.has_key("x") and j.load_folded(-1, 0) == []
            assert j.counters() == {("APPLIED", "unknown"): 1}  # no source given
            assert j.cursors.last_trade_ms is None
            assert committed_rows(db) == 1  # none of the above wrote anything
            j.commit()  # the caller decides when
            assert j.incomplete_orders() == [cid(-1)]
            assert (j.entries(), committed_rows(db), j.last_received_at()) == (2, 2, 5)
