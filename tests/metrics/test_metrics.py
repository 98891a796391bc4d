"""Prometheus metrics read the engine's state when scraped."""

from __future__ import annotations

import asyncio

from engine_helpers import START, engine, path, venue
from prometheus_client import CollectorRegistry, generate_latest

from gridledger.engine.metrics import EngineCollector
from gridledger.exchange.sim.clock import run_virtual


def test_metrics_expose_outcomes_position_and_engine_events(tmp_path):
    async def scenario():
        sim = venue(path((30, "30000"), (30, "29850")))
        await sim.start()
        eng = engine(sim, tmp_path / "j.db")
        stop = asyncio.Event()
        task = asyncio.ensure_future(eng.run(stop))
        await asyncio.sleep(50)
        registry = CollectorRegistry()
        registry.register(EngineCollector(eng))
        text = generate_latest(registry).decode()
        stop.set()
        await task
        eng.journal.close()
        await sim.close()
        return text, eng.ledger.position

    text, position = run_virtual(scenario(), start_ms=START)
    assert 'gridledger_evidence_total{grid="e1",outcome="APPLIED",symbol="BTC/USDT"}' in text
    assert f'gridledger_position{{grid="e1",symbol="BTC/USDT"}} {float(position)}' in text
    assert position > 0
    assert 'gridledger_engine_events_total{grid="e1",kind="placed",symbol="BTC/USDT"}' in text
