"""The engine's cursors (store/cursors.py): typed, persisted with the journal's transactions (R8).

The trade cursor says where "trades since" starts after a restart; the position baseline is
what the drift check compares against. Both are written with the next commit, in the same
transaction as the evidence they follow, and read back typed after a reopen.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal as D
from pathlib import Path

import pytest
from ledger_helpers import GRID, cid, trade

from gridledger.ledger.ledger import Ledger
from gridledger.store.errors import JournalError
from gridledger.store.integrity import row_crc
from gridledger.store.journal import Journal


def open_journal(db: Path) -> Journal:
    return Journal.open(db, Ledger(GRID), synchronous="OFF")


def meta_on_disk(db: Path) -> dict[str, str]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT key, value FROM meta WHERE key LIKE 'x:%'"))
    finally:
        conn.close()


def test_a_new_journal_has_no_cursors(tmp_path):
    with open_journal(tmp_path / "j.db") as j:
        assert j.cursors.last_trade_ms is None and j.cursors.position_baseline is None


def test_cursors_are_written_with_the_next_commit_and_read_back_typed(tmp_path):
    db = tmp_path / "j.db"
    with open_journal(db) as j:
        j.cursors.last_trade_ms = 1_700_000_000_123
        j.cursors.position_baseline = D("-0.00012345678901234567890")
        assert j.cursors.last_trade_ms == 1_700_000_000_123  # pending values read back at once
        assert meta_on_disk(db) == {}  # but nothing is written before a commit
        j.commit()
        assert meta_on_disk(db) == {
            "x:trade_cursor_ms": "1700000000123",
            "x:baseline_base": "-0.00012345678901234567890",
        }
    with open_journal(db) as j:
        assert j.cursors.last_trade_ms == 1_700_000_000_123 and type(j.cursors.last_trade_ms) is int
        assert j.cursors.position_baseline == D("-0.00012345678901234567890")
        assert str(j.cursors.position_baseline) == "-0.00012345678901234567890"  # exact, never a float


def test_the_trade_cursor_moves_with_its_evidence_or_not_at_all(tmp_path):
    db = tmp_path / "j.db"
    j = open_journal(db)
    assert j.cursors.advance_last_trade_ms(1000)
    j.apply_message("fill", [trade(cid(-1), "1", "t1", "0.1")])  # commits: the cursor goes with it
    assert j.cursors.advance_last_trade_ms(2000)
    j.abandon()  # killed before the next commit: the fill at 2000 was not journaled, nor its cursor
    with open_journal(db) as j:
        assert j.cursors.last_trade_ms == 1000


def test_the_trade_cursor_never_moves_backwards(tmp_path):
    with open_journal(tmp_path / "j.db") as j:
        assert not j.cursors.advance_last_trade_ms(None)
        assert not j.cursors.advance_last_trade_ms(0)  # as the engine's cursor starts: at 0
        assert j.cursors.advance_last_trade_ms(5000)
        assert not j.cursors.advance_last_trade_ms(4999) and not j.cursors.advance_last_trade_ms(5000)
        assert j.cursors.last_trade_ms == 5000


def test_setters_take_only_their_type(tmp_path):
    with open_journal(tmp_path / "j.db") as j:
        for bad in (True, 1.5, "10"):
            with pytest.raises(TypeError, match="last_trade_ms must be an integer"):
                j.cursors.last_trade_ms = bad  # type: ignore[assignment]
        for bad_d in (0.1, D("NaN"), D("Infinity"), "1"):
            with pytest.raises(TypeError, match="position_baseline must be a finite Decimal"):
                j.cursors.position_baseline = bad_d  # type: ignore[assignment]
        assert j.cursors.pending_rows() == []


def put_meta_row(db: Path, key: str, value: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT OR REPLACE INTO meta (key, value, crc) VALUES (?, ?, ?)", (key, value, row_crc((key, value)))
        )


def test_a_journal_written_before_the_typed_store_reads_its_cursors(tmp_path):
    # Older versions kept the cursors as free-form meta rows under these keys (get_meta/set_meta).
    db = tmp_path / "j.db"
    open_journal(db).close()
    put_meta_row(db, "x:trade_cursor_ms", "1767225600000")
    put_meta_row(db, "x:baseline_base", "0.5")
    with open_journal(db) as j:
        assert j.cursors.last_trade_ms == 1_767_225_600_000 and j.cursors.position_baseline == D("0.5")


@pytest.mark.parametrize(
    "key, value, name",
    [
        ("x:trade_cursor_ms", "12.5", "trade cursor"),
        ("x:baseline_base", "abc", "position baseline"),
        ("x:baseline_base", "NaN", "position baseline"),
    ],
)
def test_a_cursor_that_does_not_parse_is_damage_named_in_one_line(tmp_path, key, value, name):
    db = tmp_path / "j.db"
    open_journal(db).close()
    put_meta_row(db, key, value)  # checksum intact: the value itself is wrong
    with open_journal(db) as j:
        with pytest.raises(JournalError, match=f"damaged \\(the {name} .* is not") as err:
            _ = j.cursors.last_trade_ms if "trade" in key else j.cursors.position_baseline
        assert "\n" not in str(err.value)


def test_a_cursor_row_that_fails_its_checksum_is_refused(tmp_path):
    db = tmp_path / "j.db"
    with open_journal(db) as j:
        j.cursors.last_trade_ms = 1000
        j.commit()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '9000' WHERE key = 'x:trade_cursor_ms'")
    with pytest.raises(JournalError, match=r"a meta row \(key 'x:trade_cursor_ms'\) fails its checksum"):
        open_journal(db)
