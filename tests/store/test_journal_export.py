"""`gridledger journal export` and `gridledger journal compact` (issue 7 item 14), and the
migration of version-1 journals, on real subprocess output."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from journal_helpers import (
    GRID,
    config,
    downgrade_to_v1,
    replay_into,
    state_of,
    stored_rows,
    venue_stream,
    write_lines,
)
from ledger_helpers import cid

from gridledger.domain.types import OrderStatus, Side
from gridledger.ledger.evidence import OrderEvidence
from gridledger.ledger.ledger import Ledger
from gridledger.store.journal import Journal
from gridledger.store.schema import file_size


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gridledger.cli", *args], capture_output=True, text=True, timeout=120)


def test_export_replays_into_the_same_state(tmp_path):
    config_path, cfg = config(tmp_path)
    db = tmp_path / "orig.db"
    replay_into(db, cfg, write_lines(tmp_path / "events.jsonl", venue_stream(120)))
    out = tmp_path / "export.jsonl"
    done = cli("journal", "export", "--db", str(db), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "exported" in done.stderr and "Traceback" not in done.stderr
    assert len(out.read_text().splitlines()) == stored_rows(db)
    fresh = tmp_path / "fresh.db"
    again = cli("replay", str(out), "--config", str(config_path), "--db", str(fresh), "--json")
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["outcomes"].get("REJECTED", 0) == 0 and not doc["rejections"]
    assert state_of(fresh) == state_of(db)


def test_export_leaves_out_intents_engine_errors_and_rejections(tmp_path):
    config_path, cfg = config(tmp_path)
    db = tmp_path / "engine.db"
    buy = cid(-1)
    with Journal.open(db, Ledger(GRID), synchronous="OFF") as j:
        j.record_intent(json.dumps({"place": buy, "level": -1, "side": "buy"}))
        j.record_rejection('{"bad": 1}', "cannot tell the message format", source="ws:orders")
        j.apply_message(
            json.dumps({"error": "InvalidOrder", "clientOrderId": buy}),
            [
                OrderEvidence(
                    symbol="BTC/USDT",
                    order_id=None,
                    client_id=buy,
                    status=OrderStatus.REJECTED,
                    side=Side.BUY,
                    amount=Decimal("0.001"),
                    price=Decimal("29950"),
                    filled=Decimal(0),
                    cost=Decimal(0),
                    fees=(),
                    timestamp=1,
                    event_id=f"rejected:{buy}",
                    source="rest:error",
                )
            ],
            source="rest:error",
        )
    replay_into(db, cfg, write_lines(tmp_path / "events.jsonl", venue_stream(30, faults=False)))
    out = tmp_path / "export.jsonl"
    done = cli("journal", "export", "--db", str(db), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "intent 1" in done.stderr and "rejected 1" in done.stderr and "rest:error 1" in done.stderr
    text = out.read_text()
    assert '"place"' not in text and '"bad"' not in text and "InvalidOrder" not in text
    # Replay reads every exported line back as order evidence: nothing REJECTED, nothing twice.
    again = cli("replay", str(out), "--config", str(config_path), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["outcomes"].get("REJECTED", 0) == 0


def test_export_of_a_damaged_journal_saves_the_rest_and_exits_1(tmp_path):
    _, cfg = config(tmp_path)
    db = tmp_path / "j.db"
    replay_into(db, cfg, write_lines(tmp_path / "events.jsonl", venue_stream(30, faults=False)))
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE journal SET raw = replace(raw, '\"executionReport\"', '\"executionReporT\"') WHERE seq = 3"
        )
    done = cli("journal", "export", "--db", str(db))
    assert done.returncode == 1 and "1 row(s) failed their checksum" in done.stderr, done.stderr
    assert len(done.stdout.splitlines()) == stored_rows(db) - 1


def test_export_of_a_missing_journal_is_one_line(tmp_path):
    done = cli("journal", "export", "--db", str(tmp_path / "nope.db"))
    assert done.returncode == 2 and "does not exist" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "nope.db").exists()


def test_a_version_1_journal_is_migrated_and_compacted_to_the_same_state(tmp_path):
    _, cfg = config(tmp_path)
    db = tmp_path / "j.db"
    replay_into(db, cfg, write_lines(tmp_path / "events.jsonl", venue_stream(80)))
    state, rows = state_of(db), stored_rows(db)
    downgrade_to_v1(db, duplicates=4)  # as version 1 left it: every delivery stored
    assert stored_rows(db) == 5 * rows
    size_v1 = file_size(db)
    done = cli("journal", "compact", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert f"{5 * rows:,} -> {rows:,} stored messages" in done.stdout, done.stdout
    assert stored_rows(db) == rows and file_size(db) < size_v1 / 2
    assert state_of(db) == state
    with Journal.open(db, Ledger(GRID)) as j:  # the counts of what was dropped survive in the counters
        assert sum(n for (o, _), n in j.counters().items() if o == "DUPLICATE") >= 4 * rows


def test_compact_keeps_the_state_and_refuses_while_the_journal_is_held(tmp_path):
    _, cfg = config(tmp_path)
    db = tmp_path / "j.db"
    replay_into(db, cfg, write_lines(tmp_path / "events.jsonl", venue_stream(40)))
    state = state_of(db)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from gridledger.store import lock; "
            "l = lock.acquire(sys.argv[1]); print('ready', flush=True); sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        refused = cli("journal", "compact", "--db", str(db))
        assert refused.returncode == 2 and f"pid {holder.pid}" in refused.stderr, refused.stderr
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    done = cli("journal", "compact", "--db", str(db))
    assert done.returncode == 0 and "bytes" in done.stdout, done.stderr
    assert state_of(db) == state


def _slots(db: Path, grid) -> dict:
    from gridledger.ledger.report import ledger_state

    with Journal.open(db, Ledger(grid)) as j:
        doc = ledger_state(j.ledger)
    slots = {s["level"]: (s["qty"], s["cost"], s["realized_pnl"], s["round_trips"]) for s in doc["slots"]}
    return {"slots": slots, **{k: doc[k] for k in ("position", "realized_pnl", "fees", "parked", "anomalies")}}


def test_an_engine_journal_exports_to_the_same_slots(tmp_path):
    # A paper session's journal holds intents and the engine's stream and REST evidence.
    from importlib.resources import files

    from gridledger.config import load_config

    bundled = Path(str(files("gridledger") / "data" / "paper.toml"))
    db = tmp_path / "paper.db"
    run = cli("paper", "--db", str(db), "--duration", "3h", "--seed", "2")
    assert run.returncode == 0, run.stderr[-2000:]
    out = tmp_path / "export.jsonl"
    done = cli("journal", "export", "--db", str(db), "-o", str(out))
    assert done.returncode == 0 and "intent" in done.stderr, done.stderr
    fresh = tmp_path / "fresh.db"
    again = cli("replay", str(out), "--config", str(bundled), "--db", str(fresh), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["outcomes"]["REJECTED"] == 0
    grid = load_config(bundled).grid.spec()
    # Bound orders differ (an order known only by its intent is not evidence); the money does not.
    assert _slots(fresh, grid) == _slots(db, grid)
