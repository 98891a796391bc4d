"""Paper trading on the simulated perpetual: neutral and short grids under chaos end in MATCH,
the perp audit catches what it should, a killed perp session resumes exactly."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gridledger.config import Config, ConfigError, load_config
from gridledger.exchange.sim.perp_core import PerpCore
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.exchange.sim.prices import SyntheticPath
from gridledger.ledger.ledger import Ledger
from gridledger.paper.perp import perp_session_config
from gridledger.paper.perp_audit import perp_audit
from gridledger.paper.session import run_paper
from gridledger.paper.settings import PaperSettings, paper_settings
from gridledger.paper.venue_log import RecordingPerpCore, SessionIdentity, VenueLog, replay

D = Decimal

CONFIG = """
[grid]
id = "perp1"
symbol = "BTC/USDT"
anchor = "30000"
interval = "40"

[strategy]
buy_window = 4
quote_per_level = "150"
max_open_orders = 16

[engine]
journal_synchronous = "NORMAL"
reconcile_every_s = 300

[paper]
duration = "90m"
seed = 3
tick_ms = 2000
volatility = 1.2
mean_reversion = 30.0
maker_fee = "0.0002"
taker_fee = "0.0005"
funding_interval = "20m"
funding_rates = ["0.0001", "-0.0003"]

[paper.balances]
USDT = "10000"
"""


def _config(tmp_path: Path, direction: str) -> tuple[Config, PaperSettings]:
    path = tmp_path / "perp.toml"
    path.write_text(CONFIG)
    cfg = load_config(path)
    ps = paper_settings(dict(cfg.paper))
    cfg = perp_session_config(cfg, market="perp", direction=direction, leverage=3, start_price=ps.start_price)
    return cfg, ps


def _levels(result: Any) -> dict[int, dict[str, Any]]:
    return {lv["level"]: lv for lv in result.state["slots"]}


def _traded(level: dict[str, Any]) -> bool:
    return level["round_trips"] > 0 or Decimal(level["qty"]) != 0


def test_a_neutral_perpetual_grid_under_chaos_trades_both_sides_and_matches(tmp_path: Path) -> None:
    cfg, ps = _config(tmp_path, "neutral")
    assert cfg.grid.symbol == "BTC/USDT:USDT" and cfg.grid.pivot == D("30000")  # nearest level to the start
    result = run_paper(cfg, ps, chaos=True, db=tmp_path / "j.db")
    assert result.audit.match, result.audit.differences
    levels = _levels(result)
    assert any(_traded(lv) for k, lv in levels.items() if k < 0), "no long slot below the pivot traded"
    assert any(_traded(lv) for k, lv in levels.items() if k > 0), "no short slot above the pivot traded"
    assert 0 not in levels or not _traded(levels[0])  # the pivot holds no slot
    perp = result.perp
    assert perp is not None and perp["direction"] == "neutral" and perp["leverage"] == 3
    assert perp["funding_payments"] > 0 and perp["funding_source"] == "journal"  # recorded by id, audited
    assert result.faults["engine_kills"] > 0 and result.faults["duplicated"] > 0


def test_a_short_perpetual_grid_under_chaos_matches(tmp_path: Path) -> None:
    cfg, ps = _config(tmp_path, "short")
    result = run_paper(cfg, ps, chaos=True, db=tmp_path / "j.db")
    assert result.audit.match, result.audit.differences
    assert any(_traded(lv) for lv in _levels(result).values())
    assert result.perp is not None and D(result.perp["net_position"]) <= 0  # a short grid never holds long


def test_the_perp_audit_sees_a_wallet_the_grid_did_not_move(tmp_path: Path) -> None:
    """A transfer into the futures wallet is not the grid's: the settle-asset check says so."""
    cfg, _ = _config(tmp_path, "neutral")
    core = PerpCore(PerpMarketSpec(), {"USDT": D("1000")}, 0)
    ledger = Ledger(cfg.grid.spec())
    assert perp_audit(ledger, core, {"USDT": D("1000")}, []).match
    core.deposit("USDT", D("5"))
    result = perp_audit(ledger, core, {"USDT": D("1000")}, [])
    assert result.differences == [
        "balance USDT (wallet minus the position's entry cost): ledger implies 1000, exchange holds 1005"
    ]
    missing = perp_audit(ledger, core, {"USDT": D("995")}, [("1", D("-1"))])
    assert any(d.startswith("funding: journal records 1 payments") for d in missing.differences)


def test_a_perp_venue_log_replays_to_the_same_books(tmp_path: Path) -> None:
    """Orders, reduce-only flags and account settings are logged, so a killed session's venue
    is rebuilt exactly (positions, funding, cash) before it resumes."""
    spec = PerpMarketSpec(participation=D(1), funding_interval_ms=600_000)
    ticks = list(
        SyntheticPath(seed=4, start_price=D("30000"), price_step=D("0.01"), tick_ms=1000, volatility=2.0, n=3000)
    )
    ident = SessionIdentity("x", "1h", 1, False)
    log = VenueLog(tmp_path / "v.db", ident)
    live = RecordingPerpCore(spec, {"USDT": D("10000")}, 0)
    live.log = log
    live.set_leverage(5)
    for i, tick in enumerate(ticks):
        live.on_tick(tick)
        if i % 200 == 10:
            price = (tick.price - 20).quantize(D("0.01"))
            live.place(f"b{i}", "buy", "limit", D("0.01"), price, True, tick.ts_ms)
        if i % 200 == 110 and live.position_amt > 0:
            price = (tick.price + 20).quantize(D("0.01"))
            live.place(f"s{i}", "sell", "limit", live.position_amt, price, True, tick.ts_ms, reduce_only=True)
    rebuilt = RecordingPerpCore(spec, {"USDT": D("10000")}, 0)
    rest = list(replay(rebuilt, ticks, log, ticks[-1].ts_ms))
    assert rest == []
    assert rebuilt.leverage == 5 and live.funding
    assert (rebuilt.cash, rebuilt.position_amt, rebuilt.cost) == (live.cash, live.position_amt, live.cost)
    assert rebuilt.funding == live.funding
    assert rebuilt.reduce_only == live.reduce_only
    log.close()


def test_spot_keeps_short_grids_out(tmp_path: Path) -> None:
    path = tmp_path / "perp.toml"
    path.write_text(CONFIG)
    cfg = load_config(path)
    with pytest.raises(ConfigError, match=r"grid\.direction"):
        perp_session_config(cfg, market=None, direction="short", leverage=None, start_price=D("30000"))


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gridledger.cli", "paper", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_cli_paper_market_perp_neutral_reports_direction_funding_and_match(tmp_path: Path) -> None:
    (tmp_path / "perp.toml").write_text(CONFIG)
    done = _cli("-c", "perp.toml", "--market", "perp", "--direction", "neutral", "--duration", "30m", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert "BTC/USDT:USDT grid perp1" in out
    assert "direction neutral (pivot 30000)" in out
    assert "leverage 1x cross" in out
    assert "funding " in out and "per grid" in out
    assert "liquidation price" in out and "margin ratio" in out
    assert "ledger vs exchange: MATCH (position, settle balance and funding" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--direction", "short"), "grid.direction: short and neutral grids need a perpetual symbol"),
        (("--market", "futures"), "--market: must be spot or perp (got 'futures')"),
        (("--market", "perp", "--direction", "sideways"), "grid.direction"),
    ],
)
def test_cli_bad_market_or_direction_is_one_line_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    (tmp_path / "perp.toml").write_text(CONFIG)
    done = _cli("-c", "perp.toml", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_perp_journal_refuses_a_run_with_another_leverage(tmp_path: Path) -> None:
    """The venue a perpetual session rebuilds depends on [perp] leverage: another one is
    another session, refused in one line (a spot session's identity ignores the perp settings)."""
    from gridledger.paper.venue_log import VenueLogError

    cfg, ps = _config(tmp_path, "long")
    ps = paper_settings({**dict(cfg.paper), "duration": "10m"})
    db = tmp_path / "j.db"
    assert run_paper(cfg, ps, db=db).audit.match
    other = perp_session_config(cfg, market=None, direction=None, leverage=5, start_price=ps.start_price)
    with pytest.raises(VenueLogError, match="another grid or paper config"):
        run_paper(other, ps, db=db)
    assert run_paper(cfg, ps, db=db).already_finished


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"funding_rates": []}, "[paper] funding_rates: must be one rate or a list of 1 to 1000 rates, got 0"),
        ({"funding_rates": ["0.0001", "0.5"]}, "[paper] funding_rates: rate 2: must be from -0.03 to 0.03 per funding"),
        ({"funding_rates": "inf"}, "[paper] funding_rates: must be a plain decimal number"),
        ({"funding_interval": "10s"}, "[paper] funding_interval: must be from 1m to 7d, got '10s'"),
        ({"maintenance_rate": "0.5"}, "[paper] maintenance_rate: must be from 0.0001 to 0.25"),
    ],
)
def test_perp_settings_are_bounded_with_one_line_naming_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        paper_settings(table)
    assert str(exc.value).startswith(message)


def test_one_funding_rate_is_a_constant_series() -> None:
    assert paper_settings({"funding_rates": "-0.0002"}).funding_rate_series == (D("-0.0002"),)
    assert paper_settings({}).funding_rate_series == (D("0.0001"),)


KILL_MID_SESSION = """
import os, signal, sys
from decimal import Decimal
from pathlib import Path
from gridledger.config import load_config
from gridledger.paper.perp import perp_session_config
from gridledger.paper.session import run_paper
from gridledger.paper.settings import paper_settings

cfg = load_config(Path(sys.argv[1]))
ps = paper_settings(dict(cfg.paper))
cfg = perp_session_config(cfg, market="perp", direction="neutral", leverage=3, start_price=ps.start_price)

def progress(done, total):
    if done * 2 >= total:  # halfway, with funding paid and orders live: die as a SIGKILL would
        print("killed", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

run_paper(cfg, ps, chaos=True, db=Path(sys.argv[2]), progress=progress)
"""


def test_a_perp_session_killed_halfway_resumes_to_match(tmp_path: Path) -> None:
    """SIGKILL mid-session, then the same run: the venue is rebuilt from its log (positions,
    reduce-only orders, funding) and the session ends in MATCH, its funding recorded once."""
    (tmp_path / "perp.toml").write_text(CONFIG)
    db = tmp_path / "k.db"
    killed = subprocess.run(
        [sys.executable, "-c", KILL_MID_SESSION, str(tmp_path / "perp.toml"), str(db)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -9 and "killed" in killed.stdout, killed.stderr
    cfg, ps = _config(tmp_path, "neutral")
    resumed: list[Any] = []
    result = run_paper(cfg, ps, chaos=True, db=db, on_resume=resumed.append)
    assert resumed and resumed[0].orders > 0
    assert result.audit.match, result.audit.differences
    assert result.perp is not None and result.perp["funding_payments"] > 0
