"""A perpetual grid's funding, liquidation price and margin ratio in the status line and the
API status (live/runner.py ``perp_status``, api/perp_views.py)."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path

from perp_helpers import T0, FakeUsdm, ccxt_position, income_row, open_journal, perp_config

from gridledger.api.views import status_view
from gridledger.engine.runtime import GridEngine
from gridledger.live.runner import _status


def test_funding_liquidation_and_margin_ratio_are_shown(tmp_path: Path) -> None:
    fake = FakeUsdm()
    fake.positions = [ccxt_position("-0.010", liq="45000.5")]
    fake.account = {"totalMaintMargin": "12.5", "totalMarginBalance": "1000"}
    fake.income = [income_row(1, "-0.5", T0 + 1), income_row(2, "0.125", T0 + 2)]
    cfg = perp_config()
    engine = GridEngine(fake, open_journal(tmp_path / "j.db", cfg), cfg, now_ms=lambda: T0)
    assert engine.margin is not None and engine.funding is not None

    async def read() -> None:
        engine.funding.open()
        await engine.funding.poll("test")
        await engine.margin.check()

    asyncio.run(read())
    line = _status(engine, D("30000"))
    doc = status_view(engine, started_ms=T0)
    engine.journal.close()
    assert "funding -0.375 USDT  liq 45000.5  margin ratio 0.0125  " in line
    perp = doc["perp"]
    assert perp["funding"] == {"USDT": "-0.375"} and perp["funding_payments"] == 2
    assert (perp["venue_position"], perp["liquidation_price"], perp["margin_ratio"]) == ("-0.01", "45000.5", "0.0125")
    assert (perp["leverage"], perp["margin_mode"], perp["margin_paused"]) == (1, "cross", False)


def test_a_spot_grid_shows_no_perp_parts(tmp_path: Path) -> None:
    from engine_helpers import config

    cfg = config()
    engine = GridEngine(FakeUsdm(), open_journal(tmp_path / "j.db", cfg), cfg, now_ms=lambda: T0)
    line, doc = _status(engine, D("30000")), status_view(engine, started_ms=T0)
    engine.journal.close()
    assert "funding" not in line and "margin ratio" not in line and doc["perp"] is None
