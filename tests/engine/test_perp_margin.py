"""Perpetual grids in the engine (engine/perp.py): the signed venue position, the margin
ratio, the margin guard's pause and resume, and the direction-aware drift check."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path
from types import SimpleNamespace

from perp_helpers import SYMBOL, T0, FakeUsdm, ccxt_position, open_journal, perp_config, shared

from gridledger.domain.instrument import Instrument
from gridledger.engine.drift import DriftCheck
from gridledger.engine.perp import margin_ratio, reading_from, signed_position
from gridledger.engine.runtime import GridEngine

INST = Instrument.from_symbol(SYMBOL)


def test_the_venue_position_is_signed_from_one_way_position_amt() -> None:
    assert signed_position([ccxt_position("-0.010")], SYMBOL, INST) == D("-0.010")
    assert signed_position([ccxt_position("0.020")], SYMBOL, INST) == D("0.020")
    other = {**ccxt_position("5"), "symbol": "ETH/USDT:USDT"}
    assert signed_position([other, ccxt_position("0")], SYMBOL, INST) == 0


def test_without_a_raw_amount_the_unified_side_gives_the_sign() -> None:
    row = {"symbol": SYMBOL, "contracts": "3", "contractSize": "0.01", "side": "short", "info": {}}
    assert signed_position([row], SYMBOL, INST) == D("-0.03")


def test_margin_ratio_cross_is_the_accounts_isolated_the_positions() -> None:
    account = {"info": {"totalMaintMargin": "30", "totalMarginBalance": "100"}}
    assert margin_ratio(ccxt_position("0.01"), account, "cross") == D("0.3")
    iso = ccxt_position("0.01", maint="2", wallet="15", upnl="-5")
    assert margin_ratio(iso, None, "isolated") == D("0.2")
    assert margin_ratio(None, {"info": {"totalMaintMargin": "1", "totalMarginBalance": "0"}}, "cross") == 1


def test_a_reading_has_the_liquidation_price_and_none_without_a_position() -> None:
    r = reading_from([ccxt_position("-0.01", liq="45000.5")], None, SYMBOL, INST, "isolated", T0)
    assert (r.position, r.liquidation_price) == (D("-0.01"), D("45000.5"))
    flat = reading_from([ccxt_position("0")], None, SYMBOL, INST, "isolated", T0)
    assert flat.liquidation_price is None


def _engine(tmp_path: Path, fake: FakeUsdm, **perp: object) -> GridEngine:
    cfg = perp_config(**perp)
    return GridEngine(fake, open_journal(tmp_path / "j.db", cfg), cfg, now_ms=lambda: T0)


def test_the_guard_pauses_opening_orders_above_the_limit_and_resumes_below(tmp_path: Path) -> None:
    fake = FakeUsdm()
    engine = _engine(tmp_path, fake, max_margin_ratio="0.5", resume_margin_ratio="0.4")
    guard = engine.margin
    assert guard is not None

    async def scenario() -> list[tuple[bool, list[str]]]:
        seen = []
        for maint in ("10", "60", "45", "40"):
            fake.account = {"totalMaintMargin": maint, "totalMarginBalance": "100"}
            await guard.check()
            seen.append((engine.paused, list(engine.pause_reasons)))
        return seen

    seen = asyncio.run(scenario())
    engine.journal.close()
    assert [p for p, _ in seen] == [False, True, True, False]  # 0.45 is between: still paused
    assert seen[1][1] == ["margin ratio above 0.5"]
    assert guard.reading is not None and guard.reading.margin_ratio == D("0.4")


def test_a_spot_grid_has_no_perp_parts(tmp_path: Path) -> None:
    from engine_helpers import config

    cfg = config()
    engine = GridEngine(FakeUsdm(), open_journal(tmp_path / "j.db", cfg), cfg, now_ms=lambda: T0)
    assert engine.margin is None and engine.funding is None
    engine.journal.close()


def test_drift_compares_the_signed_venue_position_with_the_net_slot_inventory(tmp_path: Path) -> None:
    """A short grid: its slots hold 0.01 owed (position 0.01 in slot quantities), its net
    inventory is -0.01, and the one-way venue position is -0.01: no drift."""
    cfg = perp_config()
    journal = open_journal(tmp_path / "j.db", cfg)
    fake = FakeUsdm()
    fake.positions = [ccxt_position("-0.010")]
    sh = shared(journal, fake, cfg, [T0])
    sh.ledger = SimpleNamespace(position=D("0.010"), net_position=D("-0.010"), anomalies=[])  # type: ignore[assignment]
    journal.cursors.position_baseline = D(0)
    report = asyncio.run(DriftCheck(sh).check())
    journal.close()
    assert report.base_drift == 0
