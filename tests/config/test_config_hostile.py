"""Hostile configs (issue 7 item 5): each ends in one line on stderr and exit 2, never a traceback
or a hang, and `live` fails before it touches the network or creates a journal.

Every case runs the real CLI in a subprocess. The timeout is a guard against the hangs the
issue found (tick_ms=1e20, rest_latency_ms=1e11), not a measure of speed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

GRID = '[grid]\nid = "hx1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "100"\n'
# No server listens on port 9 (discard): a run that reached the network would fail differently.
EXCHANGE = '[exchange]\nid = "binance"\nendpoint = "http://127.0.0.1:9"\njournal = "live.db"\n'
GUARD_S = 60


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDLEDGER_")}
    env.update(extra)
    return env


def run_cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridledger.cli", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=GUARD_S,
        env=env or _env(),
    )


def assert_one_line_exit_2(done: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout[-1500:], done.stderr[-1500:])
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def write(tmp_path: Path, body: str | bytes) -> Path:
    path = tmp_path / "hostile.toml"
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body)
    return path


def grid_with(**values: str) -> str:
    """The grid table with some keys replaced by raw TOML values."""
    table = {"id": '"hx1"', "symbol": '"BTC/USDT"', "anchor": '"30000"', "interval": '"100"', **values}
    return "[grid]\n" + "".join(f"{k} = {v}\n" for k, v in table.items())


# --------------------------------------------------------------------------- replay
REPLAY_CASES = {
    "invalid utf-8": (GRID.encode() + b"[strategy]\nbuy_window = 3 # \xff\xfe\n", "not UTF-8"),
    "5000-deep nesting": (GRID + "x = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    "anchor 1e999999999": (grid_with(anchor='"1e999999999"'), "grid.anchor"),
    "interval float 1e400": (grid_with(interval="1e400"), "grid.interval"),
    "interval float inf": (grid_with(interval="inf"), "grid.interval"),
    "interval nan": (grid_with(interval="nan"), "grid.interval"),
    "anchor with a space": (grid_with(anchor='" 30000"'), "grid.anchor"),
    "anchor in arabic-indic digits": (grid_with(anchor='"\u0663\u0660\u0660"'), "grid.anchor"),
    "empty account": (grid_with(account='""'), "grid.account"),
    "lower_price -5": (GRID + "[strategy]\nlower_price = -5\n", "strategy.lower_price"),
    "quote_per_level 1e30": (GRID + '[strategy]\nquote_per_level = "1e30"\n', "strategy.quote_per_level"),
    "max_open_orders 1e20": (GRID + "[strategy]\nmax_open_orders = 1e20\n", "strategy.max_open_orders"),
    "drift_tolerance -1": (GRID + '[engine]\ndrift_tolerance = "-1"\n', "engine.drift_tolerance"),
    "reconcile_every_s 1e-300": (GRID + "[engine]\nreconcile_every_s = 1e-300\n", "engine.reconcile_every_s"),
    "reconcile_every_s inf": (GRID + "[engine]\nreconcile_every_s = inf\n", "engine.reconcile_every_s"),
    "order_retries 2.5": (GRID + "[engine]\norder_retries = 2.5\n", "engine.order_retries"),
    "config is a directory": (None, "cannot read config"),
}


@pytest.mark.parametrize("case", sorted(REPLAY_CASES))
def test_replay_refuses_hostile_config_in_one_line(tmp_path, case):
    body, needle = REPLAY_CASES[case]
    config = tmp_path / "dir.toml" if body is None else write(tmp_path, body)
    if body is None:
        config.mkdir()
    events = tmp_path / "events.jsonl"
    events.write_text("")
    done = run_cli(tmp_path, "replay", str(events), "--config", str(config))
    assert_one_line_exit_2(done, needle)


# --------------------------------------------------------------------------- paper
PAPER_CASES = {
    "volatility inf": ("volatility = inf", "volatility"),
    "jump_scale inf": ("jump_scale = inf", "jump_scale"),
    "maker_fee 2": ('maker_fee = "2"', "maker_fee"),
    "candles_csv missing": ('candles_csv = "no-such-file.csv"', "candles_csv"),
    "candles_csv a directory": ('candles_csv = "."', "candles_csv"),
    "min_notional 1e30": ('min_notional = "1e30"', "min_notional"),
    "tick_ms 1e20 (hang)": ("tick_ms = 1e20", "tick_ms"),
    "rest_latency_ms 1e11 (hang)": ("rest_latency_ms = 1e11", "rest_latency_ms"),
    "volume_mean 0": ('volume_mean = "0"', "volume_mean"),
    "negative balance": ('balances = { USDT = "-1" }', "balances.USDT"),
    "too many ticks": ('duration = "400d"\ntick_ms = 10', "ticks"),
}


@pytest.mark.parametrize("case", sorted(PAPER_CASES))
def test_paper_refuses_hostile_paper_table_in_one_line(tmp_path, case):
    line, needle = PAPER_CASES[case]
    config = write(tmp_path, GRID + "[paper]\n" + line + "\n")
    done = run_cli(tmp_path, "paper", "--config", str(config), "--db", str(tmp_path / "p.db"))
    assert_one_line_exit_2(done, "[paper]", needle)
    assert not (tmp_path / "p.db").exists()


@pytest.mark.parametrize("case", ["anchor 1e999999999", "reconcile_every_s 1e-300", "invalid utf-8"])
def test_paper_refuses_the_shared_tables_too(tmp_path, case):
    body, needle = REPLAY_CASES[case]
    done = run_cli(tmp_path, "paper", "--config", str(write(tmp_path, body)))
    assert_one_line_exit_2(done, needle)


# --------------------------------------------------------------------------- live
LIVE_CASES = {
    "no [exchange] table": (GRID, "[exchange] table is missing"),
    "[exchange] without id": (GRID + '[exchange]\nendpoint = "http://127.0.0.1:9"\n', "[exchange] id"),
    "reconcile_every_s 1e-300": (
        GRID + EXCHANGE + "[engine]\nreconcile_every_s = 1e-300\n",
        "engine.reconcile_every_s",
    ),
    "reconcile_every_s inf": (GRID + EXCHANGE + "[engine]\nreconcile_every_s = inf\n", "engine.reconcile_every_s"),
    "drift_tolerance -1": (GRID + EXCHANGE + '[engine]\ndrift_tolerance = "-1"\n', "engine.drift_tolerance"),
    "metrics_port 1e20": (GRID + EXCHANGE + "[engine]\nmetrics_port = 1e20\n", "engine.metrics_port"),
    "timeout_ms 1e20": (GRID + EXCHANGE.replace("[exchange]\n", "[exchange]\ntimeout_ms = 1e20\n"), "timeout_ms"),
}


@pytest.mark.parametrize("case", sorted(LIVE_CASES))
def test_live_dry_run_refuses_hostile_config_before_the_network(tmp_path, case):
    body, needle = LIVE_CASES[case]
    # No credentials on purpose: a run that got past the config would stop at "missing credentials".
    done = run_cli(tmp_path, "live", "--config", str(write(tmp_path, body)), "--dry-run")
    assert_one_line_exit_2(done, needle)
    assert not list(tmp_path.glob("*.db")), "a refused config must not create a journal"


def test_live_refuses_an_api_key_ending_in_a_newline_naming_the_variable_not_the_value(tmp_path):
    # Other whitespace and control characters: tests/test_config.py (in process, no ccxt import per case).
    value = "key-with-newline\n"
    config = write(tmp_path, GRID + EXCHANGE)
    env = _env(GRIDLEDGER_API_KEY=value, GRIDLEDGER_API_SECRET="secret-abcdefgh")
    done = run_cli(tmp_path, "live", "--config", str(config), "--dry-run", env=env)
    assert_one_line_exit_2(done, "GRIDLEDGER_API_KEY", "whitespace")
    assert value.strip() not in done.stderr + done.stdout


def test_live_refuses_a_metrics_port_in_use_before_the_network(tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = write(tmp_path, GRID + EXCHANGE + f"[engine]\nmetrics_port = {port}\n")
        env = _env(GRIDLEDGER_API_KEY="key-abcdefgh", GRIDLEDGER_API_SECRET="secret-abcdefgh")
        done = run_cli(tmp_path, "live", "--config", str(config), env=env)
    assert_one_line_exit_2(done, "engine.metrics_port", str(port))
    assert not (tmp_path / "live.db").exists()
