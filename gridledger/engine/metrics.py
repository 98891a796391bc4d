"""Prometheus metrics, read from the engine when scraped (nothing on the hot path)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gridledger.engine.runtime import GridEngine


class EngineCollector(Collector):
    def __init__(self, engine: GridEngine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        e = self.engine
        led = e.ledger
        labels = ["grid", "symbol"]
        ids = [e.grid.grid_id, e.symbol]
        outcomes = CounterMetricFamily(
            "gridledger_evidence", "Evidence items by outcome (R10)", labels=[*labels, "outcome"]
        )
        for kind, n in sorted(led.counts.items()):
            outcomes.add_metric([*ids, kind], n)
        yield outcomes
        for name, doc, value in (
            ("gridledger_position", "Sum of slot inventory, base units", led.position),
            ("gridledger_realized_pnl", "Realized PnL, quote", led.realized_pnl),
            ("gridledger_live_orders", "Orders the ledger holds live", len(led.live_orders())),
            ("gridledger_parked_evidence", "Evidence waiting for an unknown order id", len(list(led.parked()))),
            ("gridledger_base_drift", "Exchange base balance minus the ledger's", e.drift.base_drift),
            ("gridledger_paused", "1 while opening orders are paused", int(e.paused)),
            ("gridledger_last_price", "Last price seen", e.last_price or 0),
        ):
            g = GaugeMetricFamily(name, doc, labels=labels)
            g.add_metric(ids, float(value))
            yield g
        reasons = GaugeMetricFamily(
            "gridledger_pause_reason", "1 for each reason opening orders are paused", labels=[*labels, "reason"]
        )
        for reason in e.pause_reasons:
            reasons.add_metric([*ids, reason], 1)
        yield reasons
        budget = e.caller.budget
        weight = GaugeMetricFamily(
            "gridledger_request_weight", "Request weight spent in the last minute", labels=labels
        )
        weight.add_metric(ids, float(budget.spent_since(e.clock() - 60.0)))
        yield weight
        stats = CounterMetricFamily("gridledger_engine_events", "Engine events by kind", labels=[*labels, "kind"])
        for kind, n in e.stats.as_dict().items():
            stats.add_metric([*ids, kind], n)
        yield stats
        fees = GaugeMetricFamily("gridledger_fees", "Fees paid, per asset", labels=[*labels, "asset"])
        for asset, amount in led.fees().items():
            fees.add_metric([*ids, asset], float(amount))
        yield fees


def serve_metrics(engine: GridEngine, port: int, addr: str = "127.0.0.1") -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(EngineCollector(engine))
    start_http_server(port, addr=addr, registry=registry)
    return registry
