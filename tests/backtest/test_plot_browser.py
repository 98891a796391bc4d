"""The plot page in a real browser: Debian's headless Chromium renders it offline, and the
buy and sell markers it draws are exactly the rows of the fills CSV from the same run.

Also saves the screenshot the README shows (docs/backtest-plot.png).
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "apt-get update && apt-get install -y chromium"
DOCS_PNG = Path(__file__).resolve().parents[2] / "docs" / "backtest-plot.png"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _browser() -> Any:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM}: {INSTALL}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (never `playwright install`)")
    return sync_api


def test_plot_page_draws_every_fill(tmp_path: Path) -> None:
    sync_api = _browser()
    sample = Path(str(files("gridledger") / "data" / "btcusdt-1m-sample.csv"))
    page_path, fills_path = tmp_path / "plot.html", tmp_path / "fills.csv"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "gridledger.cli",
            "backtest",
            "--data",
            str(sample),
            "--plot",
            str(page_path),
            "--fills-csv",
            str(fills_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    with fills_path.open() as handle:
        rows = list(csv.DictReader(handle))
    buys = sum(1 for r in rows if r["side"] == "buy")
    sells = sum(1 for r in rows if r["side"] == "sell")
    assert buys and sells
    profile = tempfile.mkdtemp(prefix="gl-chromium-")
    try:
        with sync_api.sync_playwright() as pw:
            # A fresh profile each run (playwright passes it as --user-data-dir).
            browser = pw.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=FLAGS,
                viewport={"width": 1400, "height": 1150},
            )
            try:
                page = browser.new_page()
                # Offline: any request leaving file:// fails the test (the page must need no network).
                remote: list[str] = []
                page.on(
                    "request",
                    lambda req: remote.append(req.url) if not req.url.startswith(("file:", "data:", "blob:")) else None,
                )
                page.goto(page_path.as_uri())
                page.wait_for_function(
                    "() => { const g = document.querySelector('.js-plotly-plot');"
                    " return g && g.data && g._fullLayout && "
                    "document.querySelectorAll('.scatterlayer .trace').length > 0; }",
                    timeout=60_000,
                )
                traces = page.evaluate(
                    "() => document.querySelector('.js-plotly-plot').data.map("
                    "t => ({name: t.name, n: t.x ? t.x.length : 0}))"
                )
                drawn = page.evaluate(
                    "() => { const g = document.querySelector('.js-plotly-plot');"
                    " const out = {}; g.calcdata.forEach(cd => { const t = cd[0].trace;"
                    " out[t.name] = cd.filter(p => p.x !== undefined && p.y !== undefined"
                    " && !Number.isNaN(p.y)).length; }); return out; }"
                )
                points = page.evaluate(
                    "() => document.querySelectorAll('.scatterlayer .trace .points path.point').length"
                )
                DOCS_PNG.parent.mkdir(exist_ok=True)
                page.screenshot(path=str(tmp_path / "shot.png"), full_page=True)
            finally:
                browser.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert remote == []
    by_name = {t["name"]: t["n"] for t in traces}
    for name in (
        "price",
        "grid levels",
        "trailing centre",
        "buy fills",
        "sell fills",
        "total PnL",
        "drawdown",
        "inventory",
        "realized per level",
        "unrealized per level",
    ):
        assert by_name.get(name, 0) > 0, (name, by_name)
    assert by_name["buy fills"] == buys
    assert by_name["sell fills"] == sells
    # What plotly actually computed and drew, not only what the page declares.
    assert drawn["buy fills"] == buys and drawn["sell fills"] == sells
    assert points == buys + sells  # the only marker traces: one SVG point per fill
    _save_screenshot(tmp_path / "shot.png")


def _save_screenshot(shot: Path) -> None:
    # The README's picture, kept small enough for the repository.
    assert shot.stat().st_size < 300_000, shot.stat().st_size
    shutil.copyfile(shot, DOCS_PNG)
