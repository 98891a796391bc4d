"""The journal grows with distinct evidence, not with deliveries (issue 7 item 14)."""

from __future__ import annotations

import hashlib
import sqlite3

from journal_helpers import GRID, config, replay_into, state_of, stored_rows, venue_stream, write_lines

from gridledger.ledger.ledger import Ledger
from gridledger.store.journal import REJECTED_RAW_CAP, Journal
from gridledger.store.schema import file_size


def test_replaying_the_same_stream_five_times_keeps_the_size_and_counts_every_duplicate(tmp_path):
    _, cfg = config(tmp_path)
    events = write_lines(tmp_path / "events.jsonl", venue_stream(150))
    db = tmp_path / "j.db"
    first = replay_into(db, cfg, events)
    rows_1, size_1, state_1 = stored_rows(db), file_size(db), state_of(db)
    items = sum(first.values())
    for _ in range(4):
        again = replay_into(db, cfg, events)
        assert again.get("APPLIED", 0) == 0 and sum(again.values()) == items
    assert stored_rows(db) == rows_1  # version 1 stored 5x the rows
    assert file_size(db) <= 1.1 * size_1
    assert state_of(db) == state_1
    with Journal.open(db, Ledger(GRID)) as j:
        counters = j.counters()
        assert j.entries() == 5 * sum(1 for line in events.read_text().splitlines() if line)
    assert sum(counters.values()) == 5 * items  # every delivery counted, by outcome and source
    repeats = sum(n for (outcome, kind), n in counters.items() if outcome in ("DUPLICATE", "STALE"))
    assert repeats == 4 * items + first.get("DUPLICATE", 0) + first.get("STALE", 0)
    assert {kind for _, kind in counters} == {"replay"}


def test_tenfold_duplication_costs_almost_nothing(tmp_path):
    _, cfg = config(tmp_path)
    stream = venue_stream(150, faults=False)
    clean, tenfold = tmp_path / "clean.db", tmp_path / "tenfold.db"
    replay_into(clean, cfg, write_lines(tmp_path / "clean.jsonl", stream))
    replay_into(tenfold, cfg, write_lines(tmp_path / "tenfold.jsonl", [m for m in stream for _ in range(10)]))
    assert stored_rows(tenfold) == stored_rows(clean)
    assert file_size(tenfold) <= 1.1 * file_size(clean)
    assert state_of(tenfold) == state_of(clean)


def test_a_rejected_line_keeps_a_bounded_prefix_its_length_and_hash_once(tmp_path):
    _, cfg = config(tmp_path)
    huge = '{"e": "executionReport", "x": "' + "9" * 1_000_000 + '"'  # not even JSON
    events = write_lines(tmp_path / "bad.jsonl", [huge, huge, huge])
    db = tmp_path / "j.db"
    assert replay_into(db, cfg, events)["REJECTED"] == 3
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT raw, raw_len, raw_sha256 FROM journal").fetchall()
    conn.close()
    assert rows == [(huge[:REJECTED_RAW_CAP], len(huge), hashlib.sha256(huge.encode()).hexdigest())]
    assert file_size(db) < 100_000
    with Journal.open(db, Ledger(GRID)) as j:
        assert j.counters() == {("REJECTED", "replay"): 3}


def test_intents_are_kept_and_counted(tmp_path):
    db = tmp_path / "j.db"
    with Journal.open(db, Ledger(GRID), synchronous="OFF") as j:
        j.record_intent('{"place": "x"}', received_at=5)
        j.record_intent('{"place": "y"}', received_at=7)
        assert j.entries() == 2 and j.last_received_at() == 7
    with Journal.open(db, Ledger(GRID), synchronous="OFF") as j:
        assert j.stored_entries() == 2 and j.counters() == {("INTENT", "intent"): 2} and j.last_received_at() == 7
