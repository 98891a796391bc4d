"""A damaged journal is refused, never opened with another state (issue 7 item 6).

Every SQLite failure on open is one JournalError line; the CLI prints it and exits 2 with a
hint on how to rebuild. The fuzz test flips bits of a real journal: each copy opens with
exactly the original state or is refused.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.ledger.evidence import TradeEvidence
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.report import ledger_state
from gridledger.store.errors import JournalError
from gridledger.store.journal import Journal
from gridledger.testkit.synthetic import generate_history, interleave, order_evidence

GRID = GridSpec("cli1", Instrument.from_symbol("BTC/USDT"), Decimal("30000"), Decimal("50"))
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


def build_journal(db: Path) -> dict:
    """Many slots with inventory and one live order per level: most of the file is state."""
    rng = random.Random(1)
    hist = generate_history(rng, GRID, 90, levels=range(-30, 0))
    newest = {o.level: i for i, o in enumerate(hist)}
    streams = []
    for i, o in enumerate(hist):
        evs = order_evidence(GRID, o)
        if newest[o.level] == i:  # stays live and unfolded: only its first trade arrives
            evs = [e for e in evs if isinstance(e, TradeEvidence)][:1] or evs[:1]
        streams.append(evs)
    with Journal.open(db, Ledger(GRID), synchronous="OFF") as j:
        for i, ev in enumerate(interleave(rng, streams)):
            j.apply_message(f"m{i}", [ev])
        return ledger_state(j.ledger)


def test_flipped_bits_open_with_the_same_state_or_are_refused(tmp_path):
    original = tmp_path / "orig.db"
    truth = build_journal(original)
    assert Decimal(truth["position"]) > 0
    data = original.read_bytes()
    outcomes = {"same": 0, "refused": 0}
    for seed in range(200):
        rng = random.Random(seed)
        buf = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        copy = tmp_path / f"c{seed}" / "j.db"
        copy.parent.mkdir()
        copy.write_bytes(bytes(buf))
        try:
            with Journal.open(copy, Ledger(GRID), synchronous="OFF") as j:
                state = ledger_state(j.ledger)
        except JournalError as exc:
            assert "\n" not in str(exc)
            outcomes["refused"] += 1
        else:
            assert state == truth, f"seed {seed}: a damaged journal opened with another state"
            outcomes["same"] += 1
        shutil.rmtree(copy.parent)
    # Both kinds happen: damage in the audit trail or free space is harmless, the rest is caught.
    assert outcomes["same"] > 20 and outcomes["refused"] > 20, outcomes


def test_a_damaged_value_in_a_checksummed_row_is_named(tmp_path):
    db = tmp_path / "j.db"
    build_journal(db)
    with sqlite3.connect(db) as conn:  # a valid SQLite file whose slot row was altered behind our back
        level, base = conn.execute("SELECT level, base FROM slots WHERE base LIKE '[\"0.0%' LIMIT 1").fetchone()
        conn.execute("UPDATE slots SET base = ? WHERE level = ?", (base.replace('"0.0', '"0.1', 1), level))
    with pytest.raises(
        JournalError,
        match=rf"damaged \(a slots row \(level '{level}'\) fails its checksum\).*"
        "journal export",
    ):
        Journal.open(db, Ledger(GRID))


def test_a_journal_of_a_newer_schema_is_refused(tmp_path):
    db = tmp_path / "j.db"
    Journal.open(db, Ledger(GRID)).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version'")
    with pytest.raises(JournalError, match=r"schema version 9.*newer gridledger"):
        Journal.open(db, Ledger(GRID))


# ---------------------------------------------------------------------------- the CLI
@pytest.fixture
def replay_args(tmp_path: Path):
    config = tmp_path / "grid.toml"
    config.write_text(GRID_TOML)
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(FILL) + "\n")

    def run(db: Path, prefix: list[str] | None = None) -> subprocess.CompletedProcess:
        cmd = [
            *(prefix or []),
            sys.executable,
            "-m",
            "gridledger.cli",
            "replay",
            str(events),
            "--config",
            str(config),
            "--db",
            str(db),
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)

    return run


def refused(proc: subprocess.CompletedProcess, *words: str) -> str:
    err = proc.stderr
    assert proc.returncode == 2, (proc.returncode, err)
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for w in words:
        assert w in err, err
    return err


def test_cli_truncated_journal(tmp_path, replay_args):
    db = tmp_path / "j.db"
    build_journal(db)
    with open(db, "r+b") as fh:
        fh.truncate(db.stat().st_size // 2)
    refused(replay_args(db), "damaged", "journal export")


def test_cli_journal_overwritten_with_random_bytes(tmp_path, replay_args):
    db = tmp_path / "j.db"
    db.write_bytes(random.Random(7).randbytes(65536))
    refused(replay_args(db), "damaged", "journal export")


def test_cli_journal_that_is_a_directory(tmp_path, replay_args):
    (tmp_path / "dir.db").mkdir()
    refused(replay_args(tmp_path / "dir.db"), "is a directory")


def test_cli_journal_in_a_missing_folder(tmp_path, replay_args):
    refused(replay_args(tmp_path / "missing" / "j.db"), "folder does not exist")
    assert not (tmp_path / "missing").exists()


def test_cli_journal_below_a_file(tmp_path, replay_args):
    # Always available, also as root: a path whose folder is a file cannot be created.
    (tmp_path / "plain").write_text("x")
    refused(replay_args(tmp_path / "plain" / "j.db"), "not a directory")


def _can_remount_read_only() -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount --bind -o ro / / 2>/dev/null || exit 3"], capture_output=True
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_remount_read_only(), reason="needs unshare -m and mount (a read-only bind mount)")
@pytest.mark.parametrize("existing", [True, False])
def test_cli_journal_on_a_read_only_file_system(tmp_path, replay_args, existing):
    # chmod does not stop root, so the folder is bind-mounted read-only in a private mount
    # namespace: a real EROFS, as on a read-only volume.
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "j.db"
    if existing:
        build_journal(db)
        before = db.read_bytes()
    proc = replay_args(db, ["unshare", "-m", "sh", "-c", f'mount --bind -o ro {folder} {folder} && exec "$@"', "sh"])
    refused(proc, "read-only")
    if existing:
        assert db.read_bytes() == before
        # What can be read is still saved: export needs no write access.
        export = subprocess.run(
            [
                "unshare",
                "-m",
                "sh",
                "-c",
                f'mount --bind -o ro {folder} {folder} && exec "$@"',
                "sh",
                sys.executable,
                "-m",
                "gridledger.cli",
                "journal",
                "export",
                "--db",
                str(db),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert export.returncode == 0 and len(export.stdout.splitlines()) > 100, export.stderr
    else:
        assert not db.exists()
