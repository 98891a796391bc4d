"""A paper session honours [risk]: the stop fires in the real engine, under chaos, and the
report (terminal and JSON) says why the grid stopped; the ground truth still MATCHes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _prices(path: Path) -> Path:
    """Recorded trades: 20 minutes at 30000 (buys rest), a slide to 29100, then a floor."""
    start = 1_767_225_600_000
    rows = ["timestamp_ms,price,amount"]
    t = start
    for minute in range(60):
        if minute < 20:
            price = 30000
        elif minute < 40:
            price = 30000 - (minute - 19) * 45
        else:
            price = 29100
        for _ in range(30):  # one trade every two seconds
            rows.append(f"{t},{price},0.5")
            t += 2000
    path.write_text("\n".join(rows) + "\n")
    return path


def _config(tmp: Path, stop: str | None) -> Path:
    risk = f'[risk]\nstop_loss_price = "{stop}"\nexit_slippage = "0.004"\n' if stop else ""
    text = (
        '[grid]\nid = "pr1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "100"\n'
        '[strategy]\nbuy_window = 4\nquote_per_level = "150"\n'
        '[engine]\njournal_synchronous = "OFF"\n'
        f'[paper]\nduration = "1h"\nstart_ms = 1767225600000\ntrades_csv = "{_prices(tmp / "p.csv")}"\n'
        f"{risk}"
    )
    path = tmp / "g.toml"
    path.write_text(text)
    return path


def _paper(cfg: Path, report: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "gridledger.cli", "paper", "--config", str(cfg), "--report-json", str(report), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_paper_session_stops_at_the_stop_loss_and_says_so(tmp_path):
    report = tmp_path / "r.json"
    done = _paper(_config(tmp_path, "29300"), report, "--chaos", "--seed", "3")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    doc = json.loads(report.read_text())
    exit_ = doc["risk_exit"]
    assert exit_["kind"] == "stop_loss" and exit_["phase"] == "done", exit_
    assert "stop_loss_price 29300" in exit_["detail"]
    assert "stopped by risk exit stop_loss" in done.stdout
    # Fired once although the engine was killed and restarted from its journal meanwhile.
    assert doc["faults_injected"]["engine_kills"] >= 1
    assert done.stderr.count("risk exit: cancelling") == 1, done.stderr[-3000:]
    # Inventory closed (dust aside): no slot holds a sellable amount, nothing rests.
    assert all(lv["status"] == "FREE" for lv in doc["levels"])
    assert abs(float(doc["position"])) < 0.0001
    assert doc["ground_truth"]["match"], doc["ground_truth"]["differences"]


def test_without_risk_the_same_session_holds_its_inventory(tmp_path):
    report = tmp_path / "r.json"
    done = _paper(_config(tmp_path, None), report)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    doc = json.loads(report.read_text())
    assert doc["risk_exit"] is None and "risk exit" not in done.stdout
    assert float(doc["position"]) > 0.01


def test_journal_clear_exit_cli(tmp_path):
    db = tmp_path / "j.db"
    done = _paper(_config(tmp_path, "29300"), tmp_path / "r.json", "--db", str(db))
    assert done.returncode == 0, done.stderr[-2000:]
    cmd = [sys.executable, "-m", "gridledger.cli", "journal", "clear-exit", "--db", str(db)]
    first = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "cleared the risk exit in" in first.stdout and "stop_loss at price 29280" in first.stdout
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "no risk exit in" in again.stdout
    missing = subprocess.run([*cmd[:-1], str(tmp_path / "none.db")], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


def _rising(path: Path) -> Path:
    """20 minutes at 30000, a climb to 30900, then a ceiling."""
    start = 1_767_225_600_000
    rows = ["timestamp_ms,price,amount"]
    t = start
    for minute in range(60):
        price = 30000 if minute < 20 else 30000 + (minute - 19) * 45 if minute < 40 else 30900
        for _ in range(30):
            rows.append(f"{t},{price},0.5")
            t += 2000
    path.write_text("\n".join(rows) + "\n")
    return path


def _perp_config(tmp: Path, grid_extra: str, risk: str) -> Path:
    text = (
        f'[grid]\nid = "pp1"\nsymbol = "BTC/USDT{grid_extra}"\nanchor = "30000"\ninterval = "100"\n'
        '[strategy]\nbuy_window = 4\nquote_per_level = "150"\n'
        '[engine]\njournal_synchronous = "OFF"\n'
        f'[paper]\nduration = "1h"\nstart_ms = 1767225600000\ntrades_csv = "{_rising(tmp / "up.csv")}"\n'
        f'[risk]\n{risk}exit_slippage = "0.004"\n'
    )
    path = tmp / "p.toml"
    path.write_text(text)
    return path


def test_a_short_perpetual_grid_stops_above_and_buys_back_exactly_its_position(tmp_path):
    cfg = _perp_config(tmp_path, "", 'stop_loss_price = "30700"\n')
    report = tmp_path / "r.json"
    done = _paper(cfg, report, "--market", "perp", "--direction", "short", "--chaos", "--seed", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    doc = json.loads(report.read_text())
    exit_ = doc["risk_exit"]
    assert exit_["kind"] == "stop_loss" and exit_["phase"] == "done" and "at or above" in exit_["detail"]
    assert float(exit_["position"]) < 0  # a short position, bought back
    assert float(doc["position"]) == 0 and all(float(lv["qty"]) == 0 for lv in doc["levels"])
    assert doc["ground_truth"]["match"], doc["ground_truth"]["differences"]


def test_a_neutral_perpetual_grid_has_a_stop_above_its_pivot(tmp_path):
    cfg = _perp_config(
        tmp_path,
        ':USDT"\ndirection = "neutral"\npivot = "30000',
        'stop_loss_price = "29000"\nstop_loss_price_above = "30700"\n',
    )
    report = tmp_path / "r.json"
    done = _paper(cfg, report, "--chaos", "--seed", "5")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    doc = json.loads(report.read_text())
    exit_ = doc["risk_exit"]
    assert exit_["kind"] == "stop_loss" and "stop_loss_price_above 30700" in exit_["detail"]
    assert exit_["phase"] == "done" and float(doc["position"]) == 0
    assert doc["ground_truth"]["match"], doc["ground_truth"]["differences"]
    # The neutral-only key on a long grid is refused at load, naming it, one line, exit 2.
    bad = _perp_config(tmp_path, "", 'stop_loss_price_above = "30700"\n')
    refused = _paper(bad, tmp_path / "r2.json")
    assert refused.returncode == 2 and "risk.stop_loss_price_above: only for neutral grids" in refused.stderr
    assert "Traceback" not in refused.stderr
