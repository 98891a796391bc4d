"""Prometheus metrics, read from the engine when scraped (nothing on the hot path).

Money is exact Decimal in the ledger; a metric is a float sample for a chart, never booked.
The shipped Grafana dashboard (gridledger/data/grafana-dashboard.json) queries these names;
tests/logs/test_grafana_dashboard.py checks that every name it queries is exported here.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from gridledger.domain.numbers import ZERO
from gridledger.domain.types import Direction
from gridledger.engine.runtime import GridEngine

# The pause reasons the engine can report (engine/runtime.py pause_reasons): each is a
# series, 0 or 1, so a dashboard can show which one holds the grid even when it is 0.
PAUSE_REASONS = ("manual", "drift", "anomaly", "another engine is trading this grid", "stopping")


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
        price = e.last_price
        slots = list(led.slots.values())
        unrealized: Decimal | None = None
        if price is not None:
            # Per slot's direction (issue 11): a short slot gains as the price falls.
            unrealized = sum(
                (
                    (-1 if e.grid.level_direction(s.level) is Direction.SHORT else 1)
                    * (s.state.qty * price - s.state.cost)
                    for s in slots
                ),
                ZERO,
            )
        drift = e.drift
        for name, doc, value in (
            ("gridledger_position", "Sum of slot inventory, base units", led.position),
            # Issue 11: long slots' qty minus short slots' (signed); a long grid's equals the above.
            ("gridledger_net_position", "Net position (long minus short slots), base units", led.net_position),
            ("gridledger_realized_pnl", "Realized PnL, quote", led.realized_pnl),
            ("gridledger_live_orders", "Orders the ledger holds live", len(led.live_orders())),
            ("gridledger_parked_evidence", "Evidence waiting for an unknown order id", len(list(led.parked()))),
            ("gridledger_base_drift", "Exchange base balance minus the ledger's", drift.base_drift),
            (
                "gridledger_drift_missing_orders",
                "Orders live in the ledger but not open on the exchange",
                len(drift.missing_on_exchange),
            ),
            ("gridledger_drift_ok", "1 when the last reconciliation found no drift", int(drift.ok)),
            ("gridledger_drift_paused", "1 while drift holds opening orders", int(e.drift_paused)),
            ("gridledger_paused", "1 while opening orders are paused", int(e.paused)),
            ("gridledger_last_price", "Last price seen", price or 0),
            (
                "gridledger_cost_basis",
                "Cost basis of the inventory held, quote",
                sum((s.state.cost for s in slots), ZERO),
            ),
            ("gridledger_round_trips", "Completed round trips, all levels", sum(s.state.round_trips for s in slots)),
        ):
            g = GaugeMetricFamily(name, doc, labels=labels)
            g.add_metric(ids, float(value))
            yield g
        if unrealized is not None and price is not None:
            # No price yet: no sample (0 would be a false reading on a chart).
            for name, doc, value in (
                ("gridledger_unrealized_pnl", "Inventory at the last price minus its cost basis, quote", unrealized),
                ("gridledger_total_pnl", "Realized plus unrealized PnL, quote", led.realized_pnl + unrealized),
                # Signed (issue 11): what a short grid owes is negative; a long grid's is unchanged.
                ("gridledger_inventory_value", "Inventory at the last price, quote", led.net_position * price),
                # The grid's equity change since its journal began: what it realized plus what its
                # inventory is worth over its cost. The venue balance is not the grid's alone.
                (
                    "gridledger_equity",
                    "Grid equity (realized PnL + inventory value - cost basis), quote",
                    led.realized_pnl + unrealized,
                ),
            ):
                g = GaugeMetricFamily(name, doc, labels=labels)
                g.add_metric(ids, float(value))
                yield g
        level_labels = [*labels, "level", "price"]
        per_level = {
            "gridledger_level_inventory": GaugeMetricFamily(
                "gridledger_level_inventory", "Inventory held per grid level, base units", labels=level_labels
            ),
            "gridledger_level_cost": GaugeMetricFamily(
                "gridledger_level_cost", "Cost basis per grid level, quote", labels=level_labels
            ),
            "gridledger_level_realized_pnl": GaugeMetricFamily(
                "gridledger_level_realized_pnl", "Realized PnL per grid level, quote", labels=level_labels
            ),
            "gridledger_level_bound": GaugeMetricFamily(
                "gridledger_level_bound", "1 when the level has a bound (live) order", labels=level_labels
            ),
        }
        grid = e.grid
        for level, slot in sorted(led.slots.items()):
            lv = [*ids, str(level), _plain(grid.anchor + level * grid.interval)]
            per_level["gridledger_level_inventory"].add_metric(lv, float(slot.state.qty))
            per_level["gridledger_level_cost"].add_metric(lv, float(slot.state.cost))
            per_level["gridledger_level_realized_pnl"].add_metric(lv, float(slot.state.realized))
            per_level["gridledger_level_bound"].add_metric(lv, float(slot.bound is not None))
        yield from per_level.values()
        reasons = GaugeMetricFamily(
            "gridledger_pause_reason", "1 for each reason opening orders are paused", labels=[*labels, "reason"]
        )
        active = set(e.pause_reasons)
        for reason in sorted(active | set(PAUSE_REASONS)):
            reasons.add_metric([*ids, reason], float(reason in active))
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


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def serve_metrics(engine: GridEngine, port: int, addr: str = "127.0.0.1") -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(EngineCollector(engine))
    start_http_server(port, addr=addr, registry=registry)
    return registry
