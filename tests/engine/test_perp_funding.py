"""Funding payments through the engine (engine/funding.py): read from the income history,
recorded once by id across overlapping reads, pages, a restart and stream triggers."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from perp_helpers import T0, FakeUsdm, income_row, open_journal, perp_config, shared

from gridledger.engine.funding import FundingWatch
from gridledger.store.funding import FundingStore

HOUR = 3_600_000


def _watch(db: Path, fake: FakeUsdm, now: list[int], **perp: Any) -> FundingWatch:
    cfg = perp_config(**perp)
    return FundingWatch(shared(open_journal(db, cfg), fake, cfg, now), cfg.perp)


async def _until(cond: Any, limit: int = 2000) -> None:
    for _ in range(limit):
        if cond():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not met")


def test_overlapping_reads_and_a_restart_record_each_payment_once(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    fake = FakeUsdm()
    fake.income = [
        income_row(1, "-0.5", T0 - HOUR),  # before the grid's funding start: not the grid's
        income_row(2, "-0.25", T0 + 8 * HOUR),
        income_row(3, "0.1", T0 + 16 * HOUR),
        income_row(4, "-9", T0 + 16 * HOUR, symbol="ETHUSDT"),  # another market
        income_row(5, "-1", T0 + 17 * HOUR, kind="COMMISSION"),  # not funding
    ]
    now = [T0]
    watch = _watch(db, fake, now)
    watch.open()
    assert asyncio.run(watch.poll("startup")) == 2
    assert asyncio.run(watch.poll("periodic")) == 0  # the overlap reads them again: duplicates
    assert watch.totals() == {"USDT": D("-0.15")}
    watch.sh.journal.close()

    now[0] = T0 + 30 * HOUR
    fake.income.append(income_row(6, "-0.05", T0 + 24 * HOUR))
    watch = _watch(db, fake, now)
    watch.open()
    assert watch.totals() == {"USDT": D("-0.15")}  # restored before any read
    assert asyncio.run(watch.poll("startup")) == 1
    assert watch.totals() == {"USDT": D("-0.20")}
    assert sorted(p.payment_id for p in FundingStore(watch.sh.journal).payments()) == ["2", "3", "6"]
    watch.sh.journal.close()


def test_a_long_history_is_read_in_pages(tmp_path: Path) -> None:
    fake = FakeUsdm()
    fake.income = [income_row(100 + i, "-0.01", T0 + (i + 1) * HOUR) for i in range(25)]
    watch = _watch(tmp_path / "j.db", fake, [T0], funding_page=10)
    watch.open()
    assert asyncio.run(watch.poll("startup")) == 25
    assert fake.names().count("fetch_funding_history") == 3
    assert watch.totals() == {"USDT": D("-0.25")}
    watch.sh.journal.close()


def test_malformed_rows_are_counted_and_change_nothing(tmp_path: Path) -> None:
    fake = FakeUsdm()
    bad = income_row(7, "not-a-number", T0 + HOUR)
    fake.income = [bad, income_row(8, "-0.5", T0 + 2 * HOUR)]
    watch = _watch(tmp_path / "j.db", fake, [T0])
    watch.open()
    assert asyncio.run(watch.poll("startup")) == 1
    assert watch.bad_rows == 1 and watch.totals() == {"USDT": D("-0.5")}
    watch.sh.journal.close()


def test_an_account_update_for_a_funding_fee_triggers_a_read(tmp_path: Path) -> None:
    fake = FakeUsdm()
    watch = _watch(tmp_path / "j.db", fake, [T0], funding_poll_s=3600, funding_trigger_delay_s=0)

    async def scenario() -> None:
        watch.open()
        tasks = [asyncio.ensure_future(watch.loop()), asyncio.ensure_future(watch.watch_stream())]
        await _until(lambda: fake.names().count("fetch_funding_history") == 1)  # the startup read
        fake.income.append(income_row(9, "-0.3", T0 + HOUR))
        await fake.balance_updates.put({"e": "ACCOUNT_UPDATE", "E": T0, "T": T0, "a": {"m": "ORDER", "B": [], "P": []}})
        await fake.balance_updates.put(
            {"e": "ACCOUNT_UPDATE", "E": T0, "T": T0, "a": {"m": "FUNDING_FEE", "B": [], "P": []}}
        )
        await _until(lambda: watch.totals() == {"USDT": D("-0.3")})
        assert watch.triggers == 1
        watch.sh.stopping = True
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(scenario())
    watch.sh.journal.close()
