"""Issue 10 item 5: the engine exports equity, unrealized PnL, per-level inventory, drift and
pause state, and every metric the shipped Grafana dashboard queries exists in the registry."""

from __future__ import annotations

import asyncio
import json
import re
from importlib.resources import files

from engine_helpers import START, engine, path, venue
from prometheus_client import CollectorRegistry, generate_latest

from gridledger.engine.metrics import EngineCollector
from gridledger.exchange.sim.clock import run_virtual

NAME = re.compile(r"\bgridledger_[a-z_]+\b")


def _scrape(tmp_path, manual_pause: bool = False):
    async def scenario():
        sim = venue(path((30, "30000"), (30, "29850")))
        await sim.start()
        eng = engine(sim, tmp_path / "j.db")
        stop = asyncio.Event()
        task = asyncio.ensure_future(eng.run(stop))
        await asyncio.sleep(50)
        eng.manual_pause = manual_pause
        registry = CollectorRegistry()
        registry.register(EngineCollector(eng))
        text = generate_latest(registry).decode()
        names = {s.name for family in registry.collect() for s in family.samples}
        figures = (
            eng.ledger.position,
            eng.ledger.realized_pnl,
            eng.last_price,
            {lv: s.state.qty for lv, s in eng.ledger.slots.items()},
        )
        stop.set()
        await task
        eng.journal.close()
        await sim.close()
        return text, names, figures

    return run_virtual(scenario(), start_ms=START)


def _dashboard() -> dict:
    return json.loads((files("gridledger") / "data" / "grafana-dashboard.json").read_text(encoding="utf-8"))


def _queried(doc: dict) -> set[str]:
    names: set[str] = set()
    for panel in doc["panels"]:
        for target in panel.get("targets", []):
            names |= set(NAME.findall(target["expr"]))
    for var in doc.get("templating", {}).get("list", []):
        names |= set(NAME.findall(str(var.get("query", ""))))
    return names


def test_every_metric_the_dashboard_queries_is_exported(tmp_path):
    _, exported, _ = _scrape(tmp_path)
    queried = _queried(_dashboard())
    assert {
        "gridledger_equity",
        "gridledger_unrealized_pnl",
        "gridledger_level_inventory",
        "gridledger_base_drift",
        "gridledger_paused",
        "gridledger_pause_reason",
    } <= queried
    assert queried - exported == set()


def test_new_metrics_read_the_ledger(tmp_path):
    text, _, (position, realized, price, levels) = _scrape(tmp_path, manual_pause=True)
    assert position > 0 and price is not None
    samples = dict(
        (line.rsplit(" ", 1)[0], float(line.rsplit(" ", 1)[1])) for line in text.splitlines() if line and line[0] != "#"
    )
    ids = 'grid="e1",symbol="BTC/USDT"'
    # unrealized = inventory at the last price minus its cost basis; equity = realized + that
    cost = samples[f"gridledger_cost_basis{{{ids}}}"]
    unrealized = samples[f"gridledger_unrealized_pnl{{{ids}}}"]
    assert abs(unrealized - (float(position) * float(price) - cost)) < 1e-6
    assert abs(samples[f"gridledger_equity{{{ids}}}"] - (float(realized) + unrealized)) < 1e-6
    held = {lv: q for lv, q in levels.items() if q}
    assert held
    for level, qty in held.items():
        key = next(k for k in samples if k.startswith("gridledger_level_inventory{") and f'level="{level}"' in k)
        assert samples[key] == float(qty)
    assert samples[f"gridledger_paused{{{ids}}}"] == 1.0
    assert samples['gridledger_pause_reason{grid="e1",reason="manual",symbol="BTC/USDT"}'] == 1.0
    assert samples['gridledger_pause_reason{grid="e1",reason="drift",symbol="BTC/USDT"}'] == 0.0
    assert samples[f"gridledger_drift_ok{{{ids}}}"] == 1.0
