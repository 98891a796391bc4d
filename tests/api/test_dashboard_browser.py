"""The dashboard in Debian's headless Chromium (Playwright driving /usr/bin/chromium; never
`playwright install`), against a live engine on the local Binance-protocol server.

The page shows one row per level with its status; the price marker moves when the price
moves; a fill appears without a reload; clicking pause shows PAUSED and no new opening order
reaches the exchange afterwards. GRIDLEDGER_DASHBOARD_SHOT=path saves a screenshot there
(docs/dashboard.png is made this way).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from decimal import Decimal as D
from pathlib import Path

import pytest
from api_harness import TOKEN, WAIT, Live

from gridledger.exchange.sim.values import SimMarketSpec
from gridledger.testkit.local_binance import LocalBinance, LocalBinanceConfig
from gridledger.testkit.local_binance.testing import until

CHROMIUM = os.environ.get("GRIDLEDGER_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
UI_WAIT_MS = 20_000

playwright_api = pytest.importorskip(
    "playwright.async_api",
    reason="Playwright's Python package is missing: pip install playwright (never `playwright install`)",
)
if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium", allow_module_level=True)


def buys_sent(server: LocalBinance) -> int:
    """Opening orders the exchange ever received (a long grid opens with buys)."""
    return sum(1 for o in server.core.orders.values() if o.side.value == "buy")


def test_dashboard_ladder_marker_fill_and_pause(tmp_path):
    async def scenario():
        spec = SimMarketSpec(participation=D("1"))
        async with LocalBinance(LocalBinanceConfig(spec=spec, balances={"USDT": D("10000"), "BTC": D("0")})) as server:
            s = Live(server, tmp_path / "j.db", sample_every_s=0.1)
            url = await s.start()
            await until(lambda: s.live() == 3, WAIT, "three buys")
            async with playwright_api.async_playwright() as pw:
                context = await pw.chromium.launch_persistent_context(
                    str(tmp_path / "profile"),  # a fresh --user-data-dir
                    executable_path=CHROMIUM,
                    headless=True,
                    args=FLAGS,
                    viewport={"width": 1280, "height": 900},
                )
                try:
                    page = context.pages[0] if context.pages else await context.new_page()
                    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept(TOKEN)))
                    await page.goto(url + "/")

                    # One row per level, each with its status; the three buys are PENDING.
                    await page.wait_for_function(
                        "document.querySelectorAll('tr.level.s-PENDING').length === 3", timeout=UI_WAIT_MS
                    )
                    levels = await page.eval_on_selector_all("tr.level", "rows => rows.map(r => r.dataset.level)")
                    assert len(levels) == len(set(levels)) >= 3
                    api_levels = [lv["level"] for lv in s.api_levels()]
                    assert [int(x) for x in levels] == api_levels
                    statuses = await page.eval_on_selector_all(
                        "tr.level.s-PENDING td.status", "cells => cells.map(c => c.textContent)"
                    )
                    assert statuses == ["PENDING"] * 3

                    # The price marker sits at the price, and moves with it.
                    await page.wait_for_function(
                        "document.getElementById('price-marker')?.dataset.price === '30000'", timeout=UI_WAIT_MS
                    )
                    assert await marker_between(page) == (30100, 30000)  # at a level: just above its row
                    await server.set_price("30050", volume=D("0.0001"))
                    await page.wait_for_function(
                        "document.getElementById('price-marker')?.dataset.price === '30050'", timeout=UI_WAIT_MS
                    )

                    # A fill appears without a reload.
                    assert await page.locator("tr.fill").count() == 0
                    await server.set_price("29890", volume=D("1"))
                    await page.wait_for_selector("tr.fill", timeout=UI_WAIT_MS)
                    fill_level = await page.eval_on_selector("tr.fill", "r => r.dataset.level")
                    assert fill_level == "-1"
                    await page.wait_for_function(
                        "document.getElementById('price-marker')?.dataset.price === '29890'", timeout=UI_WAIT_MS
                    )
                    assert await marker_between(page) == (29900, 29800)
                    await page.wait_for_function(
                        "document.querySelector('tr.level[data-level=\"-1\"]')?.classList.contains('s-LOCKED')",
                        timeout=UI_WAIT_MS,
                    )

                    # Pause: the banner shows, and no opening order reaches the exchange after it.
                    assert await page.locator("#paused-banner").is_hidden()
                    await page.click("#pause-btn")
                    await page.wait_for_selector("#paused-banner", state="visible", timeout=UI_WAIT_MS)
                    assert "manual" in await page.inner_text("#paused-banner")
                    assert s.engine.manual_pause
                    sent = buys_sent(server)
                    # Every buy fills; unpaused, the grid would open new buys below at once.
                    await server.set_price("29650", volume=D("1"))
                    await until(lambda: s.journal.ledger.position > D("0.0099"), WAIT, "all buys filled")
                    await until(
                        lambda: sum(1 for o in server.core.open_orders() if o.side.value == "sell") >= 3,
                        WAIT,
                        "closing sells (they go on while paused)",
                    )
                    await s.quiet()
                    assert buys_sent(server) == sent
                    await page.wait_for_selector("tr.fill >> nth=2", timeout=UI_WAIT_MS)
                    shot = os.environ.get("GRIDLEDGER_DASHBOARD_SHOT")
                    if shot:
                        await page.wait_for_timeout(1500)  # let the chart gather a few points
                        await page.screenshot(path=shot, full_page=False)
                finally:
                    await context.close()
            await s.finish()

    asyncio.run(asyncio.wait_for(scenario(), 150))


async def marker_between(page) -> tuple[int, int]:
    """The prices of the level rows just above and just below the marker."""
    return tuple(
        int(float(x))
        for x in await page.evaluate(
            """() => { const m = document.getElementById('price-marker');
                       return [m.previousElementSibling.dataset.price, m.nextElementSibling.dataset.price]; }"""
        )
    )
