"""The dashboard of a short or neutral grid (api/static, issue 11) in Debian's headless
Chromium (Playwright driving /usr/bin/chromium; never `playwright install`): the position
card shows the signed net position and names the direction, and a short slot's qty reads
negative in the ladder. A long grid's card reads "position" and its gross, as before.

The engine is not trading: the API serves a ledger that holds filled opening orders
(net_grid_helpers), so the page shows exactly those figures.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest
from net_grid_helpers import engine_with_inventory

from gridledger.api.server import ApiServer
from gridledger.config import ApiConfig

CHROMIUM = os.environ.get("GRIDLEDGER_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
UI_WAIT_MS = 20_000

playwright_api = pytest.importorskip(
    "playwright.async_api",
    reason="Playwright's Python package is missing: pip install playwright (never `playwright install`)",
)
if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
    pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium", allow_module_level=True)


def _page_figures(tmp_path: Path, direction: str) -> tuple[str, str, dict[str, str]]:
    engine = engine_with_inventory(tmp_path, direction)

    async def scenario() -> tuple[str, str, dict[str, str]]:
        api = ApiServer(
            ApiConfig.model_construct(port=0, host="127.0.0.1", token_env="UNUSED"),
            None,
            on_stop=lambda: None,
            sample_every_s=0.2,
        )
        api.attach(engine)
        await api.start()
        try:
            async with playwright_api.async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
                try:
                    page = await browser.new_page()
                    await page.goto(api.url)
                    # The ladder is drawn after the status: wait for a held row.
                    await page.wait_for_selector("tr.level.held", timeout=UI_WAIT_MS)
                    label = await page.inner_text("#position-label")
                    value = await page.inner_text("#position")
                    qty = await page.eval_on_selector_all(
                        "tr.level.held",
                        "rows => Object.fromEntries(rows.map(r => [r.dataset.level, r.querySelector('td.qty').textContent]))",
                    )
                    return label, value, qty
                finally:
                    await browser.close()
        finally:
            await api.stop()

    try:
        return asyncio.run(scenario())
    finally:
        engine.journal.close()


def test_a_short_grid_card_shows_the_signed_net_position(tmp_path: Path) -> None:
    label, value, qty = _page_figures(tmp_path, "short")
    assert (label, value) == ("net position (short grid)", "-0.006")
    assert qty == {"1": "-0.006"}  # owed


def test_a_neutral_grid_card_nets_both_sides(tmp_path: Path) -> None:
    label, value, qty = _page_figures(tmp_path, "neutral")
    assert (label, value) == ("net position (neutral grid)", "0.002")
    assert qty == {"-1": "0.006", "1": "-0.004"}


def test_a_long_grid_card_is_unchanged(tmp_path: Path) -> None:
    label, value, qty = _page_figures(tmp_path, "long")
    assert (label, value) == ("position", "0.006")
    assert qty == {"-1": "0.006"}
