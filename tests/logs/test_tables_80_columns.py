"""Issue 10 item 4: tables fit 80 columns with no cell cut (rich's "0.00000…"), and quote
amounts print at the market's precision instead of 18-digit quotients. Real processes, real
output: a paper session's report, then `replay` of its exported journal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest

from gridledger.cli import _bundled_paper_config

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
LONG_QUOTIENT = re.compile(r"\d\.\d{9,}")  # more places than any quote currency has


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "gridledger.cli", *args], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=300
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _fits(text: str) -> None:
    for line in text.splitlines():
        assert len(line) <= 80, line
        assert "…" not in line, line


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tables")
    config = tmp / "paper.toml"
    # A busy grid (60 USDT levels): sells realise PnL, whose cost shares are long quotients.
    config.write_text(_bundled_paper_config().read_text().replace('interval = "120"', 'interval = "60"'))
    db = tmp / "j.db"
    report = _run(
        "paper", "-c", str(config), "--duration", "4h", "--db", str(db), "--report-json", str(tmp / "r.json")
    ).stdout
    events = tmp / "e.jsonl"
    _run("journal", "export", "--db", str(db), "-o", str(events))
    return config, events, report, json.loads((tmp / "r.json").read_text())


def test_the_paper_report_fits_80_columns(session):
    _, _, report, doc = session
    _fits(report)
    assert doc["round_trips"] > 0
    assert not LONG_QUOTIENT.search(report)
    # Quote amounts at the market's precision (price step 0.01): cents, not 4 or 7 places.
    lines = {line.split("  ")[0]: line.split()[-1] for line in report.splitlines() if "  " in line}
    for label in ("realized PnL", "unrealized PnL", "last price"):
        assert re.fullmatch(r"-?\d+(\.\d{1,2})?", lines[label]), (label, lines[label])
    fee_line = next(line for line in report.splitlines() if line.startswith("fees"))
    assert re.search(r" -?\d+(\.\d{1,2})? USDT", fee_line), fee_line


def test_the_replay_table_fits_80_columns_and_cuts_no_cell(session):
    config, events, _, _ = session
    table = _run("replay", str(events), "-c", str(config)).stdout
    state = json.loads(_run("replay", str(events), "-c", str(config), "--json").stdout)
    # The exact state has long quotients (what the table used to print, or cut).
    assert any(LONG_QUOTIENT.search(s["cost"]) for s in state["slots"])
    _fits(table)
    assert not LONG_QUOTIENT.search(table)
    rows = {int(m[0]): m for m in (line.split() for line in table.splitlines()) if m and re.fullmatch(r"-?\d+", m[0])}
    for s in state["slots"]:
        cells = rows[s["level"]]
        assert cells[2] == format(Decimal(s["qty"]).normalize(), "f") if Decimal(s["qty"]) else cells[2] == "0"
        # The market's quote precision, half-even (explicit: another test may have left the
        # thread's decimal context rounding some other way).
        cost = Decimal(s["cost"]).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
        assert cells[3] == (format(cost.normalize(), "f") if cost else "0")
        if s["bound_order"]:
            assert cells[-1] == s["bound_order"]  # the whole client id
