"""Issue 7 items 12 and 13: a dry run leaves no journal behind, cancel_on_exit with the
exchange down says which orders may still be live and exits non-zero, and preflight checks
the orders the strategy would place at the current price, not at the anchor."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest
from engine_helpers import BALANCES, START, path

from gridledger.config import parse_config
from gridledger.engine.runtime import GridEngine
from gridledger.exchange.sim.clock import run_virtual
from gridledger.exchange.sim.exchange import SimExchange
from gridledger.exchange.sim.values import SimMarketSpec
from gridledger.exchange.sim.venue_config import SimConfig
from gridledger.ledger.ledger import Ledger
from gridledger.live.preflight import PreflightError, preflight
from gridledger.live.runner import EXIT_ORDERS_LEFT_LIVE
from gridledger.store.journal import Journal
from gridledger.testkit.local_binance import LocalBinance, LocalBinanceConfig
from gridledger.testkit.local_binance.testing import until

WAIT = 20.0
KEY, SECRET = "lh-key-123456", "lh-secret-7890"


def _env() -> dict[str, str]:
    return dict(os.environ, GRIDLEDGER_API_KEY=KEY, GRIDLEDGER_API_SECRET=SECRET)


def _config(tmp_path: Path, server: LocalBinance, db: Path, **strategy: object) -> Path:
    table = {"buy_window": 3, "quote_per_level": "100", **strategy}
    lines = [
        "[grid]",
        'id = "lh1"',
        'symbol = "BTC/USDT"',
        'anchor = "30000"',
        'interval = "100"',
        "[strategy]",
        *[f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}" for k, v in table.items()],
        "[engine]",
        "cancel_on_exit = true",
        'journal_synchronous = "NORMAL"',
        "order_retries = 1",
        "request_timeout_s = 2",
        "[exchange]",
        'id = "binance"',
        f'endpoint = "{server.http_url}"',
        f'journal = "{db}"',
        "",
    ]
    config = tmp_path / "live.toml"
    config.write_text("\n".join(lines))
    return config


async def _cli(*args: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gridledger.cli",
        *args,
        env=_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode()


def _server() -> LocalBinance:
    return LocalBinance(LocalBinanceConfig(api_key=KEY, secret=SECRET))


def test_a_dry_run_whose_preflight_fails_creates_no_journal(tmp_path):
    async def scenario():
        async with _server() as server:
            db = tmp_path / "never.db"
            config = _config(tmp_path, server, db, quote_per_level="5000")  # 15000 USDT: more than the 10000
            code, out = await _cli("live", "--config", str(config), "--dry-run")
            assert code == 3 and "preflight failed" in out and "balance" in out, out
            assert not db.exists()
            assert not list(tmp_path.glob("never.db*"))  # no -wal, -shm or lock file either
            # A dry run that passes does not create one either: it reconciles into a scratch copy.
            code, out = await _cli("live", "--config", str(_config(tmp_path, server, db)), "--dry-run")
            assert code == 0 and "actions the engine would send" in out, out
            assert not list(tmp_path.glob("never.db*"))

    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_a_dry_run_reads_an_existing_journal(tmp_path):
    async def scenario():
        async with _server() as server:
            db = tmp_path / "kept.db"
            cfg = parse_config({"grid": {"id": "lh1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100"}})
            Journal.open(db, Ledger(cfg.grid.spec())).close()
            code, out = await _cli("live", "--config", str(_config(tmp_path, server, db)), "--dry-run")
            assert code == 0, out
            assert db.exists() and "does not create" not in out

    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_cancel_on_exit_with_the_exchange_down_says_orders_may_be_live_and_exits_non_zero(tmp_path):
    async def scenario():
        server = _server()
        await server.start()
        db = tmp_path / "live.db"
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "gridledger.cli",
            "live",
            "--config",
            str(_config(tmp_path, server, db)),
            env=_env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await until(lambda: len(server.core.open_orders()) == 3, WAIT, "the live process places its buys")
            live_ids = sorted(o.client_order_id for o in server.core.open_orders())
        finally:
            await server.stop()  # the exchange goes away with the orders still on its book
        proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        text = out.decode()
        assert proc.returncode == EXIT_ORDERS_LEFT_LIVE == 5, text
        flat = " ".join(text.split())
        assert "3 order(s) may still be live" in flat, text
        for client_id in live_ids:
            assert client_id in flat
        assert "Traceback" not in text

    asyncio.run(asyncio.wait_for(scenario(), 120))


# ---------------------------------------------------------------- item 13: preflight sizing
SPEC = SimMarketSpec(amount_step=D("0.001"), min_amount=D("0.001"), min_notional=D("5"), participation=D("1"))


def _preflight_at(tmp_path: Path, anchor: str, price: str) -> list[str] | PreflightError:
    cfg = parse_config(
        {
            "grid": {"id": "pf1", "symbol": "BTC/USDT", "anchor": anchor, "interval": "100"},
            "strategy": {"buy_window": 3, "quote_per_level": "10", "post_only": True},
            "engine": {"journal_synchronous": "OFF"},
        }
    )

    async def scenario():
        sim = SimExchange(SimConfig(spec=SPEC, balances=dict(BALANCES), path=path((60, price))))
        await sim.start()
        journal = Journal.open(tmp_path / f"{anchor}-{price}.db", Ledger(cfg.grid.spec()), synchronous="OFF")
        eng = GridEngine(sim, journal, cfg, now_ms=sim.now_ms)
        try:
            return list((await preflight(eng)).lines)
        except PreflightError as exc:
            return exc
        finally:
            journal.close()
            await sim.close()

    return run_virtual(scenario(), start_ms=START)


def test_preflight_sizes_at_the_current_price_where_the_anchor_is_too_expensive(tmp_path):
    # Anchor 30000, market 3000: 10 USDT buys 0.003 BTC at 2900 (the old check sized at
    # 29700, anchor - 3 intervals: 0.000 BTC, and refused a grid that works).
    lines = _preflight_at(tmp_path, "30000", "3000")
    assert not isinstance(lines, PreflightError), lines
    window = next(line for line in lines if line.startswith("price 3000"))
    assert "3 buys" in window and "0.00300000 at 2900.00000000" in window, lines


def test_preflight_refuses_where_the_current_price_makes_the_buys_too_small(tmp_path):
    # Anchor 3000, market 30000: at 29900, 10 USDT buys 0.000 BTC (the old check sized at
    # 2700: 0.003 BTC, and passed a grid whose every buy the strategy would skip).
    err = _preflight_at(tmp_path, "3000", "30000")
    assert isinstance(err, PreflightError) and err.code == 3, err
    assert "too small at the current price 30000" in str(err)


@pytest.mark.parametrize("price", ["4000"])
def test_preflight_refuses_a_closing_sell_that_would_be_dust(tmp_path, price):
    # Quote 10 at 4000: buys 0.002 at 3900 (7.8 >= 5), keeps 0.001998 after the fee, which
    # sells as 0.001 at 4000 = 4 < 5: every round trip would strand dust.
    err = _preflight_at(tmp_path, "30000", price)
    assert isinstance(err, PreflightError) and "closing sell" in str(err), err
