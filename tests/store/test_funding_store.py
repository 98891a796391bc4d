"""The funding table (store/funding.py): recorded once, restored on open, damage refused."""

from __future__ import annotations

import sqlite3
from decimal import Decimal as D
from pathlib import Path

import pytest
from perp_helpers import SYMBOL, T0, open_journal, perp_config

from gridledger.ledger.funding import FundingKind, FundingPayment
from gridledger.store.errors import JournalError
from gridledger.store.funding import FundingStore


def pay(pid: str, amount: str, ts: int = T0 + 10) -> FundingPayment:
    return FundingPayment(pid, SYMBOL, "USDT", D(amount), ts)


def test_recorded_payments_are_restored_on_open_and_stay_duplicates(tmp_path: Path) -> None:
    cfg = perp_config()
    db = tmp_path / "j.db"
    journal = open_journal(db, cfg)
    store = FundingStore(journal)
    book = store.open_book(T0)
    for p in (pay("1", "-0.5"), pay("2", "0.25", T0 + 20)):
        assert book.apply(p).kind is FundingKind.APPLIED
        store.record(p, {"tranId": p.payment_id}, source="rest:funding", received_at=T0 + 30)
    journal.close()

    journal = open_journal(db, cfg)
    book = FundingStore(journal).open_book(T0 + 999_999)
    assert book.since_ms == T0  # fixed the first time, not moved by a restart
    assert book.totals() == {"USDT": D("-0.25")}
    assert book.apply(pay("1", "-0.5")).kind is FundingKind.DUPLICATE
    journal.close()


def test_recording_the_same_id_twice_keeps_one_row(tmp_path: Path) -> None:
    journal = open_journal(tmp_path / "j.db", perp_config())
    store = FundingStore(journal)
    store.open_book(T0)
    store.record(pay("1", "-0.5"), "{}", source="rest:funding", received_at=None)
    store.record(pay("1", "-0.5"), "{}", source="rest:funding", received_at=None)
    assert [p.payment_id for p in store.payments()] == ["1"]
    journal.close()


def test_a_damaged_funding_row_is_refused_on_open(tmp_path: Path) -> None:
    cfg = perp_config()
    db = tmp_path / "j.db"
    journal = open_journal(db, cfg)
    store = FundingStore(journal)
    store.open_book(T0)
    store.record(pay("1", "-0.5"), "{}", source="rest:funding", received_at=None)
    journal.close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE funding SET amount = '-5.0'")  # a flipped digit, checksum unchanged
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="funding row"):
        open_journal(db, cfg)


def test_a_journal_from_before_the_funding_table_opens_and_gains_it(tmp_path: Path) -> None:
    cfg = perp_config()
    db = tmp_path / "j.db"
    open_journal(db, cfg).close()
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE funding")  # what a journal written before this version holds
    conn.commit()
    conn.close()
    journal = open_journal(db, cfg)
    book = FundingStore(journal).open_book(T0)
    assert book.totals() == {}
    journal.close()


def test_a_version_1_journal_without_the_funding_table_still_migrates(tmp_path: Path) -> None:
    from journal_helpers import downgrade_to_v1

    cfg = perp_config()
    db = tmp_path / "j.db"
    open_journal(db, cfg).close()
    downgrade_to_v1(db)
    conn = sqlite3.connect(db)
    conn.execute("DROP TABLE funding")  # version 1 never had it
    conn.commit()
    conn.close()
    journal = open_journal(db, cfg)  # the migration checksums only the tables that exist
    store = FundingStore(journal)
    store.open_book(T0)
    store.record(pay("1", "-0.5"), "{}", source="rest:funding", received_at=None)
    journal.close()
    journal = open_journal(db, cfg)
    assert FundingStore(journal).open_book(T0).totals() == {"USDT": D("-0.5")}
    journal.close()
