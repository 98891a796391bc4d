"""store/exits.py: the risk exit and the equity peak survive a reopen, are checksummed like
every state row, and ``clear_exit`` forgets them only while nobody holds the journal."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from decimal import Decimal as D

import pytest

from gridledger.config import parse_config
from gridledger.ledger.ledger import Ledger
from gridledger.store.errors import JournalError
from gridledger.store.exits import EXIT_KEY, ExitRecord, ExitStore, clear_exit
from gridledger.store.journal import Journal

GRID = parse_config({"grid": {"id": "s1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100"}}).grid.spec()
RECORD = ExitRecord(
    "stop_loss", "price 28990 at or below stop_loss_price 29000", D("28990.5"), 1_767_225_600_000, D("0.0123")
)


HOLD = """
import sys
from gridledger.store import lock
held = lock.acquire(sys.argv[1])
print("held", flush=True)
sys.stdin.read()
held.release()
"""


def _open(path):
    return Journal.open(path, Ledger(GRID), synchronous="OFF")


def test_the_exit_and_the_peak_survive_a_reopen(tmp_path):
    db = tmp_path / "j.db"
    with _open(db) as journal:
        store = ExitStore(journal)
        assert store.load() is None and store.peak() is None
        store.save(RECORD)  # committed at once
        store.set_peak(D("12.5"))
        journal.commit()
    with _open(db) as journal:
        store = ExitStore(journal)
        assert store.load() == RECORD and store.peak() == D("12.5")
        store.save(RECORD.at("done"))
    with _open(db) as journal:
        assert ExitStore(journal).load() == RECORD.at("done")


def test_a_saved_exit_is_on_disk_before_save_returns(tmp_path):
    db = tmp_path / "j.db"
    journal = _open(db)
    ExitStore(journal).save(RECORD)
    journal.abandon()  # a crash right after: nothing pending is written
    with _open(db) as again:
        assert ExitStore(again).load() == RECORD


def test_a_damaged_exit_row_is_refused(tmp_path):
    db = tmp_path / "j.db"
    with _open(db) as journal:
        ExitStore(journal).save(RECORD)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value = replace(value, '28990.5', '18990.5') WHERE key = ?", (EXIT_KEY,))
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="damaged"):
        _open(db)


def test_clear_exit_forgets_exit_and_peak_and_respects_the_lock(tmp_path):
    db = tmp_path / "j.db"
    journal = _open(db)
    store = ExitStore(journal)
    store.save(RECORD)
    store.set_peak(D("3"))
    journal.close()
    # Another process (an engine) holds the journal: refused, naming the holder.
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(JournalError):
            clear_exit(db)
    finally:
        holder.communicate("")
    assert clear_exit(db) == RECORD
    assert clear_exit(db) is None
    with _open(db) as again:
        store = ExitStore(again)
        assert store.load() is None and store.peak() is None
    with pytest.raises(JournalError, match="does not exist"):
        clear_exit(tmp_path / "none.db")


def test_cursor_rows_of_other_parts_must_be_x_keys(tmp_path):
    with _open(tmp_path / "j.db") as journal:
        with pytest.raises(ValueError):
            journal.cursors.set_text("grid_id", "other")
        with pytest.raises(ValueError):
            journal.cursors.get_text("x:trade_cursor_ms")
