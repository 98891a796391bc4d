"""The fee guard: a grid step below the round-trip fee plus a margin is a warning in paper (with
both numbers) and a refusal in live preflight (exit code 3), unless the config allows it."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

from engine_helpers import BALANCES, START, path

from gridledger.config import parse_config
from gridledger.engine.runtime import GridEngine
from gridledger.exchange.sim.clock import run_virtual
from gridledger.exchange.sim.exchange import SimExchange
from gridledger.exchange.sim.values import SimMarketSpec
from gridledger.exchange.sim.venue_config import SimConfig
from gridledger.ledger.ledger import Ledger
from gridledger.live.preflight import PreflightError, preflight
from gridledger.store.journal import Journal

SPEC = SimMarketSpec(
    amount_step=D("0.00001"),
    min_amount=D("0.00001"),
    min_notional=D("5"),
    participation=D("1"),
    maker_fee=D("0.001"),
    taker_fee=D("0.001"),
)


def test_paper_warns_with_the_step_and_the_round_trip_fee(tmp_path: Path) -> None:
    config = tmp_path / "narrow.toml"
    config.write_text(
        '[grid]\nid = "fg1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "30"\n'
        '[strategy]\nbuy_window = 3\nquote_per_level = "100"\n'
        '[paper]\nduration = "2m"\nstart_price = "30000"\nmaker_fee = "0.001"\ntaker_fee = "0.001"\n'
    )
    run = subprocess.run(
        [sys.executable, "-m", "gridledger.cli", "paper", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    line = next(x for x in run.stderr.splitlines() if "warning:" in x)
    # 30 / 30000 = 0.100 %, against 0.1 % + 0.1 % = 0.200 % plus the 0.050 % margin.
    assert "grid step 30 is 0.100 % of the price 30000" in line, line
    assert "round-trip fee 0.200 %" in line and "(= 0.250 %)" in line, line


def test_paper_is_quiet_when_the_step_pays_the_fees(tmp_path: Path) -> None:
    config = tmp_path / "wide.toml"
    config.write_text(
        '[grid]\nid = "fg2"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "120"\n'
        '[strategy]\nbuy_window = 3\nquote_per_level = "100"\n[paper]\nduration = "2m"\n'
    )
    run = subprocess.run(
        [sys.executable, "-m", "gridledger.cli", "paper", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert "round-trip fee" not in run.stderr


def _preflight(tmp_path: Path, interval: str, **strategy: object) -> list[str] | PreflightError:
    cfg = parse_config(
        {
            "grid": {"id": "fg3", "symbol": "BTC/USDT", "anchor": "30000", "interval": interval},
            "strategy": {"buy_window": 3, "quote_per_level": "100", "post_only": True, **strategy},
            "engine": {"journal_synchronous": "OFF"},
        }
    )

    async def scenario() -> list[str] | PreflightError:
        sim = SimExchange(SimConfig(spec=SPEC, balances=dict(BALANCES), path=path((60, "30000"))))
        await sim.start()
        journal = Journal.open(tmp_path / f"{interval}-{len(strategy)}.db", Ledger(cfg.grid.spec()), synchronous="OFF")
        eng = GridEngine(sim, journal, cfg, now_ms=sim.now_ms)
        try:
            return list((await preflight(eng)).lines)
        except PreflightError as exc:
            return exc
        finally:
            journal.close()
            await sim.close()

    return run_virtual(scenario(), start_ms=START)


def test_live_preflight_refuses_a_step_below_the_fee(tmp_path: Path) -> None:
    err = _preflight(tmp_path, "30")
    assert isinstance(err, PreflightError) and err.code == 3, err
    text = str(err)
    assert "grid step 30 is 0.100 % of the price 30000" in text and "round-trip fee 0.200 %" in text, text
    assert "allow_step_below_fee" in text


def test_live_preflight_accepts_it_when_the_config_allows_it(tmp_path: Path) -> None:
    lines = _preflight(tmp_path, "30", allow_step_below_fee=True)
    assert not isinstance(lines, PreflightError), lines
    assert any(line.startswith("warning: grid step 30") for line in lines), lines


def test_live_preflight_passes_a_step_that_pays_the_fees(tmp_path: Path) -> None:
    lines = _preflight(tmp_path, "100")
    assert not isinstance(lines, PreflightError), lines
    assert not any("round-trip fee" in line for line in lines), lines
