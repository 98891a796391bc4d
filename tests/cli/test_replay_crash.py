"""A real `gridledger replay --db` process killed with SIGKILL at random points, rerun over
the whole file, ends in the same state as a clean run (R8, P3)."""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.testkit.synthetic import binance_reports, generate_history, interleave, with_faults

GRID = GridSpec("crash1", Instrument.from_symbol("BTC/USDT"), Decimal("30000"), Decimal("50"))


def _entries(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2) as conn:
            return conn.execute("SELECT count(*) FROM journal").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_sigkilled_replay_rerun_matches_the_clean_result(tmp_path):
    rng = random.Random(21)
    history = generate_history(rng, GRID, 1500, levels=range(-10, 0))
    ids = itertools.count(1)
    messages = with_faults(
        rng,
        interleave(rng, [binance_reports(GRID, o, ids) for o in history]),
        duplicate_p=0.2,
        reorder_window=8,
        replay_every=1000,
        replay_last=100,
    )
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(m) + "\n" for m in messages))
    config = tmp_path / "grid.toml"
    config.write_text(
        '[grid]\nid = "crash1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "50"\n'
        '[engine]\njournal_synchronous = "NORMAL"\n'
    )
    base = [sys.executable, "-m", "gridledger.cli", "replay", str(events), "--config", str(config), "--json"]

    clean = subprocess.run(base, capture_output=True, text=True, timeout=300)
    assert clean.returncode == 0, clean.stderr
    want = json.loads(clean.stdout)

    db = tmp_path / "j.db"
    kills = 0
    for threshold in sorted(rng.sample(range(len(messages) // 10, len(messages) * 9 // 10), 4)):
        proc = subprocess.Popen([*base, "--db", str(db)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while proc.poll() is None and _entries(db) < threshold and time.monotonic() < deadline:
            time.sleep(0.005)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
    assert kills >= 2
    final = subprocess.run([*base, "--db", str(db)], capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    got = json.loads(final.stdout)
    for key in ("position", "realized_pnl", "fees", "slots", "round_trips"):
        assert got[key] == want[key], key
    assert got["outcomes"]["REJECTED"] == 0
    # The journal holds each message once per run that reached it, and nothing half-applied:
    # every order record agrees with a clean replay of the same file.
    assert got["journal_outcomes"]["APPLIED"] == want["outcomes"]["APPLIED"]
