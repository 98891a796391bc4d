"""Prometheus: a short or neutral grid exports its signed net position and a signed inventory
value (engine/metrics.py, issue 11); a long grid's series keep their values."""

from __future__ import annotations

from pathlib import Path

import pytest
from net_grid_helpers import engine_with_inventory
from prometheus_client import CollectorRegistry, generate_latest

from gridledger.engine.metrics import EngineCollector

IDS = '{grid="p1",symbol="BTC/USDT:USDT"}'


def _scrape(tmp_path: Path, direction: str) -> str:
    engine = engine_with_inventory(tmp_path, direction)
    try:
        registry = CollectorRegistry()
        registry.register(EngineCollector(engine))
        return generate_latest(registry).decode()
    finally:
        engine.journal.close()


@pytest.mark.parametrize(
    ("direction", "gross", "net", "value"),
    [
        ("short", "0.006", "-0.006", "-180.0"),  # owes 0.006 BTC: worth -180 USDT at 30000
        ("neutral", "0.01", "0.002", "60.0"),  # holds 0.006, owes 0.004
        ("long", "0.006", "0.006", "180.0"),  # as before
    ],
)
def test_net_position_and_signed_inventory_value(tmp_path: Path, direction: str, gross: str, net: str, value: str):
    text = _scrape(tmp_path, direction)
    assert f"gridledger_position{IDS} {gross}\n" in text  # the gross series keeps its meaning
    assert f"gridledger_net_position{IDS} {net}\n" in text
    assert f"gridledger_inventory_value{IDS} {value}\n" in text
