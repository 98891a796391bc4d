"""USDⓈ-M perpetuals live, end to end: ccxt's unmodified ``binanceusdm`` (built by
``gridledger live``'s own factory with ``[exchange] endpoint``) over real HTTP and WebSocket
to the local USDⓈ-M server (gridledger/testkit/local_binance_usdm), driving the engine.

Start-up set and verify (and a hedge-mode account refused), reduce-only closes, funding
recorded once across a crash and restart, the margin guard's pause and resume. Real time,
but no test sleeps to wait: each step waits for a condition.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from live_session_helpers import EngineSession

from gridledger.config import parse_config
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.ledger.ledger import Ledger
from gridledger.live.factory import build_exchange
from gridledger.live.preflight import PreflightError, preflight
from gridledger.live.settings import ExchangeSettings
from gridledger.store.funding import FundingStore
from gridledger.store.journal import Journal
from gridledger.testkit.local_binance.testing import until
from gridledger.testkit.local_binance_usdm import LocalBinanceUsdm, LocalBinanceUsdmConfig

SYMBOL = "BTC/USDT:USDT"
WAIT = 20.0
SPEC = PerpMarketSpec(symbol=SYMBOL, participation=D("1"), maker_fee=D("0.0002"), taker_fee=D("0.0005"), leverage=20)


def cfg(**perp: Any) -> Any:
    return parse_config(
        {
            "grid": {"id": "up1", "symbol": SYMBOL, "anchor": "30000", "interval": "100"},
            "strategy": {"buy_window": 3, "quote_per_level": "100", "max_open_orders": 10},
            "engine": {
                "journal_synchronous": "NORMAL",
                "reconcile_every_s": 2,
                "request_timeout_s": 2,
                "stream_idle_s": 3,
                "rate_limit_per_s": 50,
            },
            "perp": {
                "leverage": 3,
                "margin_mode": "isolated",
                "margin_poll_s": 1,
                "funding_trigger_delay_s": 0.2,
                **perp,
            },
        }
    )


def server_config(**kw: Any) -> LocalBinanceUsdmConfig:
    return LocalBinanceUsdmConfig(spec=SPEC, auto_funding=False, **kw)


class Session(EngineSession):
    """An engine on the exchange ``gridledger live`` would build, with its journal."""

    def __init__(self, server: LocalBinanceUsdm, db: Path, config: Any) -> None:
        ex = build_exchange(
            ExchangeSettings(id="binanceusdm", endpoint=server.http_url, timeout_ms=1500, keep_alive_ms=1000),
            sandbox=False,
        )
        super().__init__(ex, db, config)

    async def start(self) -> list[str]:
        report = await preflight(self.engine)
        await self.run_engine()
        return list(report.lines)

    async def finish(self) -> None:
        await self.stop_engine()
        await self.ex.close()
        self.journal.close()


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = LocalBinanceUsdmConfig()
    monkeypatch.setenv("GRIDLEDGER_API_KEY", defaults.api_key)
    monkeypatch.setenv("GRIDLEDGER_API_SECRET", defaults.secret)


def run(coro: Any) -> None:
    asyncio.run(asyncio.wait_for(coro, 120))


def test_start_sets_and_verifies_the_account_and_closes_are_reduce_only(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with LocalBinanceUsdm(server_config()) as server:
            core = server.core
            assert (core.leverage, core.margin_mode) == (20, "cross")
            s = Session(server, tmp_path / "j.db", cfg())
            lines = await s.start()
            assert "perp: one-way position mode, leverage 3x, margin mode isolated (verified)" in lines
            assert any(line.startswith("contract precision: amount step") for line in lines)
            assert (core.leverage, core.margin_mode, core.dual_side) == (3, "isolated", False)
            await until(lambda: s.live() == 3, WAIT, "three opening buys")
            opens = list(core.open_orders())
            assert not any(core.reduce_only.get(o.order_id, False) for o in opens)
            await server.set_price("29900")
            await until(lambda: s.ledger.position > 0, WAIT, "a fill")
            close = await _wait_for_close(s, core)
            assert core.reduce_only.get(close.order_id) is True
            await until(
                lambda: (
                    s.engine.margin is not None
                    and s.engine.margin.reading is not None
                    and s.engine.margin.reading.position > 0
                ),
                WAIT,
                "the position read",
            )
            reading = s.engine.margin.reading
            assert reading is not None and reading.liquidation_price is not None and reading.margin_ratio is not None
            await server.set_price("30000")
            await until(lambda: s.ledger.position == 0 and core.position_amt == 0, WAIT, "the close filled")
            await s.engine.reconcile("check")
            assert s.engine.drift.base_drift == 0  # the signed venue position equals the net slots
            await s.finish()

    run(scenario())


async def _wait_for_close(s: Session, core: Any) -> Any:
    def close() -> Any:
        return next((o for o in core.open_orders() if str(o.side).lower().endswith("sell")), None)

    await until(lambda: close() is not None, WAIT, "the closing sell")
    return close()


def test_a_hedge_mode_account_that_cannot_switch_is_refused_and_nothing_placed(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with LocalBinanceUsdm(server_config()) as server:
            core = server.core
            core.place(None, "buy", "market", D("0.01"))  # a position: the mode cannot change
            core.dual_side = True
            s = Session(server, tmp_path / "j.db", cfg())
            with pytest.raises(PreflightError) as info:
                await preflight(s.engine)
            assert info.value.code == 2
            assert "hedge (dual-side) position mode" in str(info.value)
            assert list(core.open_orders()) == []
            await s.ex.close()
            s.journal.close()

    run(scenario())


def test_funding_is_recorded_once_across_a_crash_and_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "j.db"

    def venue_funding(core: Any) -> D:
        return sum((D(str(p.amount)) for p in core.funding), D(0))

    async def scenario() -> None:
        async with LocalBinanceUsdm(server_config()) as server:
            core = server.core
            s = Session(server, db, cfg())
            await s.start()
            await until(lambda: s.live() == 3, WAIT, "three opening buys")
            await server.set_price("29900")
            await until(lambda: s.ledger.position > 0, WAIT, "a position")
            assert s.engine.funding is not None
            first = await server.settle_funding(D("0.0001"))
            assert first is not None
            await until(lambda: len(s.engine.funding.book or ()) == 1, WAIT, "the first payment")
            assert s.engine.funding.totals() == {"USDT": venue_funding(core)}
            await s.crash()
            # While the engine is down: another settlement (the stream never shows it).
            second = await server.settle_funding(D("-0.0002"))
            assert second is not None
            s = Session(server, db, cfg())
            assert FundingStore(s.journal).payments()[0].amount == venue_funding(core) - _amount(second)
            await s.start()
            await until(lambda: len(s.engine.funding.book or ()) == 2, WAIT, "the missed payment, read at start")
            await s.engine.funding.poll("again")  # a repeat read: both are duplicates
            assert len(s.engine.funding.book or ()) == 2
            assert s.engine.funding.totals() == {"USDT": venue_funding(core)}
            await s.finish()
            journal = Journal.open(db, Ledger(cfg().grid.spec()))
            assert len(FundingStore(journal).payments()) == 2
            journal.close()

    run(scenario())


def _amount(payment: Any) -> D:
    return D(str(payment.amount))


def test_the_margin_guard_pauses_opening_orders_and_resumes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with LocalBinanceUsdm(server_config()) as server:
            core = server.core
            # Any position's maintenance margin is above this limit: one fill pauses the grid.
            s = Session(server, tmp_path / "j.db", cfg(max_margin_ratio="0.000001"))
            await s.start()
            await until(lambda: s.live() == 3, WAIT, "three opening buys")
            assert not s.engine.paused
            await server.set_price("29900")
            await until(lambda: "margin ratio above 0.000001" in s.engine.pause_reasons, WAIT, "the margin pause")
            await _wait_for_close(s, core)  # closing orders go on while paused
            await server.set_price("30000")  # the close fills: no position, no maintenance margin
            await until(lambda: core.position_amt == 0, WAIT, "the close filled")
            await until(lambda: not s.engine.paused, WAIT, "the resume")
            await until(lambda: s.live() == 3, WAIT, "opening buys again")
            await s.finish()

    run(scenario())


def test_the_cli_dry_run_reads_the_perp_settings_and_sets_nothing(tmp_path: Path) -> None:
    import os
    import sys

    async def scenario() -> None:
        async with LocalBinanceUsdm(server_config()) as server:
            conf = tmp_path / "perp.toml"
            conf.write_text(
                '[grid]\nid = "up2"\nsymbol = "BTC/USDT:USDT"\nanchor = "30000"\ninterval = "100"\n'
                '[strategy]\nbuy_window = 3\nquote_per_level = "100"\n'
                '[perp]\nleverage = 3\nmargin_mode = "isolated"\n'
                f'[exchange]\nid = "binanceusdm"\nendpoint = "{server.http_url}"\n'
            )
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gridledger.cli",
                "live",
                "-c",
                str(conf),
                "--dry-run",
                "--db",
                str(tmp_path / "j.db"),
                cwd=tmp_path,
                env=dict(os.environ),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 90)
            text = " ".join((out.decode() + err.decode()).split())  # rich wraps lines at 80 columns
            assert proc.returncode == 0, text
            assert "Traceback" not in text
            assert "perp (dry run, would set): leverage of BTC/USDT:USDT is 20x, [perp] leverage is 3x" in text
            assert "margin ratio" in text
            assert (server.core.leverage, server.core.margin_mode) == (20, "cross")  # nothing set

    run(scenario())


def test_a_neutral_grid_short_side_reconciles_with_the_signed_position_and_closes_reduce_only(tmp_path: Path) -> None:
    """Above the pivot a neutral grid holds short slots: the venue's one-way position is
    negative, the ledger's net inventory too, and the short slot's closing buy is reduce-only."""

    def neutral() -> Any:
        base = cfg()
        data = base.model_dump(mode="json", exclude_unset=True)
        data["grid"].update(direction="neutral", pivot="30000")
        return parse_config(data)

    async def scenario() -> None:
        async with LocalBinanceUsdm(server_config()) as server:
            core = server.core
            s = Session(server, tmp_path / "j.db", neutral())
            await s.start()
            await until(lambda: s.live() == 6, WAIT, "three buys below, three sells above")
            await server.set_price("30100")  # the short slot at +1 opens
            await until(lambda: s.ledger.net_position < 0 and core.position_amt < 0, WAIT, "a short position")

            def close_buy() -> Any:
                return next(
                    (o for o in core.open_orders() if str(o.side).lower().endswith("buy") and o.price == D("30000")),
                    None,
                )

            await until(lambda: close_buy() is not None, WAIT, "the short slot's closing buy")
            assert core.reduce_only.get(close_buy().order_id) is True
            await s.engine.reconcile("check")
            assert s.engine.drift.base_drift == 0
            assert s.ledger.net_position == core.position_amt
            await s.finish()

    run(scenario())


def test_funding_settled_while_the_user_stream_is_down_is_recorded_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with LocalBinanceUsdm(server_config()) as server:
            core = server.core
            s = Session(server, tmp_path / "j.db", cfg())
            await s.start()
            await until(lambda: s.live() == 3, WAIT, "three opening buys")
            await server.set_price("29900")
            await until(lambda: s.ledger.position > 0, WAIT, "a position")
            assert s.engine.funding is not None
            server.drop_user_stream()
            await server.settle_funding(D("0.0003"))
            # The reconnect (or the stream's replay) leads to a read of the income history.
            await until(lambda: len(s.engine.funding.book or ()) == 1, WAIT, "the payment")
            await server.wait_user_subscribers(timeout=WAIT)
            await s.engine.funding.poll("again")
            assert len(s.engine.funding.book or ()) == 1
            assert s.engine.funding.totals() == {"USDT": sum((D(str(p.amount)) for p in core.funding), D(0))}
            await s.finish()

    run(scenario())
