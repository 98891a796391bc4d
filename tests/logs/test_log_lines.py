"""Issue 10 item 4: log lines people and machines can read. JSON lines are encoded once (a
string field parses to the string, not to a quoted string), every line carries an ISO 8601
UTC timestamp, fills are logged at INFO, decimals are normalised, and secrets stay masked."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from gridledger.config import load_config
from gridledger.logs import log_event, register_secret, setup_logging
from gridledger.replay import replay

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def restore_logging():
    root = logging.getLogger("gridledger")
    saved = (root.handlers[:], root.level, root.propagate, logging.lastResort)
    yield
    root.handlers[:], root.level, root.propagate, logging.lastResort = saved[0], saved[1], saved[2], saved[3]


def _utc(ts: str) -> datetime:
    when = datetime.fromisoformat(ts)
    assert when.utcoffset() == timedelta(0), ts
    return when


def test_json_lines_are_encoded_once_with_an_iso_timestamp(restore_logging):
    buf = io.StringIO()
    setup_logging("DEBUG", json_lines=True, stream=buf)
    log = logging.getLogger("gridledger.test")
    register_secret("hunter2-secret-value")
    log_event(
        log,
        logging.INFO,
        "duplicate evidence ignored",
        reason="snapshot already applied",
        quoted='say "hi"',
        filled=Decimal("0.00100000"),
        pnl=Decimal("69.981419618018018019"),
        level=3,
        ok=True,
        url="https://x/api?apiKey=k&signature=abc",
        secret="token hunter2-secret-value",
    )
    line = buf.getvalue().strip()
    assert "\n" not in line
    doc = json.loads(line)
    _utc(doc["ts"])
    assert doc["severity"] == "info" and doc["logger"] == "gridledger.test"
    assert doc["event"] == "duplicate evidence ignored"
    assert doc["reason"] == "snapshot already applied"  # not "\"snapshot already applied\""
    assert doc["quoted"] == 'say "hi"'
    assert doc["filled"] == "0.001" and doc["pnl"] == "69.981419618018018019"  # exact, normalised
    assert doc["level"] == 3 and doc["ok"] is True
    assert doc["url"] == "https://x/api?***" and doc["secret"] == "token ***"


def test_key_value_lines_start_with_an_iso_timestamp(restore_logging):
    buf = io.StringIO()
    setup_logging("INFO", stream=buf)
    log_event(logging.getLogger("gridledger.test"), logging.INFO, "fill", qty=Decimal("1.500"), why="two words")
    ts, rest = buf.getvalue().split(" ", 1)
    _utc(ts)
    assert rest.strip() == 'info    gridledger.test: fill qty=1.5 why="two words"'


def _fixture(tmp_path: Path) -> tuple[Path, Path]:
    """A config and a Binance spot history: one order filled by two trades."""
    config = tmp_path / "grid.toml"
    config.write_text('[grid]\nid = "log1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "100"\n')
    from gridledger.domain.coid import ClientId, encode
    from gridledger.domain.types import Role, Side

    cid = encode(ClientId("log1", -1, Side.BUY, Role.OPEN, 0))
    base = {
        "e": "executionReport",
        "s": "BTCUSDT",
        "c": cid,
        "S": "BUY",
        "o": "LIMIT",
        "f": "GTC",
        "q": "0.00200000",
        "p": "29900.00",
        "i": 42,
        "O": 1767225600000,
        "E": 1767225600000,
    }
    lines = [
        {
            **base,
            "x": "NEW",
            "X": "NEW",
            "l": "0",
            "z": "0",
            "L": "0",
            "n": "0",
            "N": None,
            "t": -1,
            "Z": "0",
            "T": 1767225600000,
        },
        {
            **base,
            "x": "TRADE",
            "X": "PARTIALLY_FILLED",
            "l": "0.00100000",
            "z": "0.00100000",
            "L": "29900.00",
            "n": "0.00000100",
            "N": "BTC",
            "t": 7,
            "Z": "29.90000000",
            "T": 1767225601000,
            "E": 1767225601000,
        },
        {
            **base,
            "x": "TRADE",
            "X": "FILLED",
            "l": "0.00100000",
            "z": "0.00200000",
            "L": "29900.00",
            "n": "0.00000100",
            "N": "BTC",
            "t": 8,
            "Z": "59.80000000",
            "T": 1767225602000,
            "E": 1767225602000,
        },
    ]
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(m) + "\n" for m in [*lines, lines[1]]))  # the first trade twice
    return config, events


def test_fills_are_logged_at_info_as_single_encoded_json(tmp_path, restore_logging):
    config, events = _fixture(tmp_path)
    buf = io.StringIO()
    setup_logging("INFO", json_lines=True, stream=buf)
    result = replay([events], load_config(config))
    assert result.outcomes["APPLIED"] >= 2
    docs = [json.loads(line) for line in buf.getvalue().splitlines()]
    fills = [d for d in docs if d["event"] == "fill"]
    assert len(fills) == 2 and {d["severity"] for d in fills} == {"info"}
    assert [d["filled"] for d in fills] == ["0.001", "0.001"] and fills[1]["filled_after"] == "0.002"
    for d in docs:
        _utc(d["ts"])
        for value in d.values():
            assert not (isinstance(value, str) and value.startswith('"')), d  # never a JSON string inside


def test_the_command_logs_fills_at_info_with_timestamps(tmp_path):
    """The real process: `gridledger replay --log-level INFO` on stderr."""
    config, events = _fixture(tmp_path)
    env = {**os.environ, "COLUMNS": "80"}
    proc = subprocess.run(
        [sys.executable, "-m", "gridledger.cli", "replay", str(events), "-c", str(config), "--log-level", "INFO"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    fills = [line for line in proc.stderr.splitlines() if " gridledger.ledger: fill " in line]
    assert len(fills) == 2, proc.stderr
    for line in fills:
        ts, level = line.split()[:2]
        _utc(ts)
        assert level == "info"
