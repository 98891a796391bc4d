"""End-to-end paper sessions: chaos over several seeds, a SIGKILLed subprocess, the CLI."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gridledger.cli import _bundled_paper_config, app
from gridledger.config import parse_config
from gridledger.paper.session import run_paper
from gridledger.paper.settings import paper_settings

BUSY = {
    # A busier grid and harsher faults than the demo, so every mechanism is exercised.
    "grid": {"interval": "60"},
    "paper": {"duration": "8h", "volatility": 0.9},
    "paper.chaos": {
        "duplicate_p": 0.3,
        "reorder_window": 12,
        "disconnect_every": 60,
        "replay_last": 15,
        "create_timeout_p": 0.1,
        "rest_error_p": 0.1,
        "kills": 3,
        "max_downtime_s": 600,
    },
}


def busy_config(**extra_paper):
    data = tomllib.loads(_bundled_paper_config().read_text(), parse_float=Decimal)
    data["grid"].update(BUSY["grid"])
    data["paper"].update(BUSY["paper"], **extra_paper)
    data["paper"]["chaos"].update(BUSY["paper.chaos"])
    return data


def write_toml(path: Path, data: dict) -> Path:
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return str(v)
        return json.dumps(str(v))

    lines: list[str] = []

    def table(name: str, body: dict) -> None:
        lines.append(f"[{name}]")
        subs = {}
        for k, v in body.items():
            if isinstance(v, dict):
                subs[k] = v
            else:
                lines.append(f"{k} = {value(v)}")
        for k, v in subs.items():
            table(f"{name}.{k}", v)

    for name, body in data.items():
        table(name, body)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_chaos_sessions_match_the_exchange(seed):
    data = busy_config(seed=seed)
    cfg = parse_config(data)
    ps = paper_settings(cfg.paper)
    result = run_paper(cfg, ps, chaos=True)
    assert result.audit.match, result.audit.differences
    faults = result.faults
    assert result.restarts == 3
    assert faults["duplicated"] and faults["reordered"] and faults["disconnects"] and faults["replayed"]
    assert faults["create_timeouts"] and faults["rest_errors"]
    assert result.audit.checked_orders > 20
    assert result.state["outcomes"]["DUPLICATE"] > 0


def test_session_without_chaos_matches_and_trades():
    data = busy_config(duration="6h")
    cfg = parse_config(data)
    result = run_paper(cfg, paper_settings(cfg.paper), chaos=False)
    assert result.audit.match, result.audit.differences
    assert result.state["round_trips"] > 0
    assert result.faults == {k: 0 for k in result.faults}


def _entries(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2) as conn:
            return conn.execute("SELECT count(*) FROM journal").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_paper_run_killed_with_sigkill_resumes_from_its_journal_and_matches(tmp_path):
    config = write_toml(tmp_path / "paper.toml", busy_config(duration="12h"))
    db = tmp_path / "j.db"
    report = tmp_path / "report.json"
    cmd = [
        sys.executable,
        "-m",
        "gridledger.cli",
        "paper",
        "--config",
        str(config),
        "--chaos",
        "--db",
        str(db),
        "--report-json",
        str(report),
    ]
    rng = random.Random(5)
    kills = 0
    for threshold in sorted(rng.sample(range(150, 1500), 3)):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        # Kill at a point of progress (a journal size), not at a moment of the clock.
        while proc.poll() is None and _entries(db) < threshold and time.monotonic() < deadline:
            time.sleep(0.02)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
    assert kills >= 1
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    doc = json.loads(report.read_text())
    assert doc["ground_truth"]["match"], doc["ground_truth"]["differences"]
    assert "ledger vs exchange: MATCH" in done.stdout


def test_cli_writes_the_report_and_rejects_bad_config(tmp_path):
    runner = CliRunner()
    config = write_toml(tmp_path / "ok.toml", busy_config(duration="2h"))
    result = runner.invoke(app, ["paper", "--config", str(config), "--report-json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    doc = json.loads((tmp_path / "r.json").read_text())
    for key in (
        "realized_pnl",
        "unrealized_pnl",
        "fees",
        "round_trips",
        "levels",
        "outcomes",
        "faults_injected",
        "ground_truth",
    ):
        assert key in doc
    assert doc["ground_truth"]["match"]
    bad = busy_config()
    bad["paper"]["tick_size"] = 5
    result = runner.invoke(app, ["paper", "--config", str(write_toml(tmp_path / "bad.toml", bad))])
    assert result.exit_code == 2
    assert "tick_size" in result.output and "unknown key" in result.output
    bad = busy_config()
    bad["grid"]["interval"] = "-5"
    result = runner.invoke(app, ["paper", "--config", str(write_toml(tmp_path / "bad2.toml", bad))])
    assert result.exit_code == 2 and "grid.interval" in result.output


@pytest.mark.parametrize("kind", ["candles", "trades"])
def test_session_on_a_csv_price_path(tmp_path, kind):
    fixture = Path(__file__).parent.parent / "fixtures" / "sim" / "btcusdt_1m_sample.csv"
    if kind == "candles":
        source = fixture
    else:  # the candles' closes as trades, one every 20 s
        rows = [line.split(",") for line in fixture.read_text().splitlines()[1:]]
        source = tmp_path / "trades.csv"
        source.write_text(
            "timestamp_ms,price,amount\n"
            + "".join(
                f"{int(r[0]) + k * 20_000},{r[p]},{Decimal(r[5]) / 3}\n" for r in rows for k, p in enumerate((1, 3, 4))
            )
        )
    data = busy_config(duration="1h", **{f"{kind}_csv": str(source)})
    data["grid"].update(anchor="36500", interval="10")
    data["strategy"]["quote_per_level"] = "100"
    cfg = parse_config(data)
    result = run_paper(cfg, paper_settings(cfg.paper), chaos=False)
    assert result.audit.match, result.audit.differences
    assert result.state["position"] != "0" or result.state["round_trips"] > 0  # the dips traded
    assert result.start_ms == 1700000040000
