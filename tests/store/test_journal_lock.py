"""One writer per journal (issue 7 item 2): a second process is refused, naming the holder,
and a SIGKILLed holder leaves no stale lock behind."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from ledger_helpers import GRID, cid, trade

from gridledger.ledger.ledger import Ledger
from gridledger.store import lock as journal_lock
from gridledger.store.errors import JournalError
from gridledger.store.journal import Journal

GRID_TOML = '[grid]\nid = "cli1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "50"\n'
FILL = {
    "kind": "trade",
    "trade": {
        "id": "t1",
        "order": "9",
        "clientOrderId": None,
        "symbol": "BTC/USDT",
        "side": "buy",
        "amount": "0.001",
        "price": "29950",
        "cost": "29.95",
        "takerOrMaker": "maker",
        "fee": None,
        "timestamp": 1,
    },
}

# A process that holds a journal (mode "journal") or only its lock (mode "lock") until its
# standard input closes, and says "ready" once it does: the test waits on that, not on time.
HOLDER = r"""
import sys
from gridledger.config import load_config
from gridledger.store import lock
from gridledger.ledger.ledger import Ledger
from gridledger.store.journal import Journal
mode, config, db = sys.argv[1:4]
held = Journal.open(db, Ledger(load_config(config).grid.spec())) if mode == "journal" else lock.acquire(db)
print("ready", flush=True)
sys.stdin.read()
"""


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gridledger.cli", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    config = tmp_path / "grid.toml"
    config.write_text(GRID_TOML)
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(FILL) + "\n")
    return config, events, tmp_path / "same.db"


def start_holder(mode: str, config: Path, db: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, mode, str(config), str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    assert line.strip() == "ready", proc.stderr.read()
    return proc


def test_second_replay_is_refused_naming_the_holder_and_a_sigkilled_holder_frees_it(files):
    config, events, db = files
    holder = start_holder("journal", config, db)
    try:
        refused = cli("replay", str(events), "--config", str(config), "--db", str(db))
        assert refused.returncode == 2, refused.stderr
        err = refused.stderr
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert f"pid {holder.pid}" in err and f"host {socket.gethostname()}" in err and "since 20" in err, err
        assert "in use" in err
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    # The killed holder left its lock file (and its note) behind: the lock itself died with it.
    assert journal_lock.lock_path(db).exists()
    after = cli("replay", str(events), "--config", str(config), "--db", str(db), "--json")
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout)["messages"] == 1


def test_a_paper_session_goes_through_the_same_lock(files):
    config, _, db = files
    holder = start_holder("lock", config, db)
    try:
        refused = cli("paper", "--db", str(db), "--duration", "1m")
        assert refused.returncode == 2, refused.stderr
        assert f"pid {holder.pid}" in refused.stderr and "Traceback" not in refused.stderr
        # Refused before anything was written: no journal, no venue log beside it.
        assert sorted(p.name for p in db.parent.glob("same.db*")) == ["same.db.lock"]
    finally:
        holder.stdin.close()
        holder.wait()


def test_a_holder_that_closes_releases_the_lock_for_other_processes(files):
    config, events, db = files
    holder = start_holder("journal", config, db)
    holder.stdin.close()  # the holder's interpreter exits, closing the journal
    assert holder.wait() == 0
    assert cli("replay", str(events), "--config", str(config), "--db", str(db)).returncode == 0


def test_in_process_opens_share_the_lock_and_release_it_on_close(tmp_path):
    db = tmp_path / "j.db"
    first = Journal.open(db, Ledger(GRID), synchronous="OFF")
    again = Journal.open(db, Ledger(GRID), synchronous="OFF")  # the paper session's reopen after a simulated kill
    first.abandon()
    again.apply_message("fill", [trade(cid(-1), "9", "t1", "0.5")])
    again.close()
    # Nobody holds it now: another process can take it.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from gridledger.store import lock; lock.acquire(sys.argv[1]); print('ok')",
            str(db),
        ],
        capture_output=True,
        text=True,
    )
    assert probe.stdout.strip() == "ok", probe.stderr


def test_refusal_is_a_journal_error_with_the_holder(files):
    config, _, db = files
    holder = start_holder("lock", config, db)
    try:
        with pytest.raises(JournalError, match=rf"pid {holder.pid} on host .+ since \d{{4}}-"):
            Journal.open(db, Ledger(GRID))
    finally:
        holder.stdin.close()
        holder.wait()


def test_a_symlink_to_the_journal_finds_the_same_lock(files, tmp_path):
    config, events, db = files
    holder = start_holder("journal", config, db)
    try:
        link = tmp_path / "link.db"
        link.symlink_to(db)
        refused = cli("replay", str(events), "--config", str(config), "--db", str(link))
        assert refused.returncode == 2 and f"pid {holder.pid}" in refused.stderr, refused.stderr
    finally:
        holder.stdin.close()
        holder.wait()
