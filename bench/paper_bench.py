"""Paper-trading benchmark (not part of `make test`).

    .venv/bin/python bench/paper_bench.py [--quick]

1. Simulated ticks per second through the whole stack (price path, simulated exchange,
   private stream, evidence parsing, ledger, journal, strategy, executor), for a session
   of the bundled config without and with chaos; wall time on this machine.
2. The strategy's per-tick latency (``decide``) with 200 levels: a world of 200 slots, each
   holding inventory with a closing sell or an open buy, driven by a random price path;
   p50/p99 in microseconds, against the same loop with 20 levels as the baseline.
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import time
import tomllib
from decimal import Decimal
from pathlib import Path

from gridledger.config import parse_config, strategy_params
from gridledger.domain.types import Role, Side
from gridledger.paper.session import run_paper
from gridledger.paper.settings import paper_settings
from gridledger.strategy import (
    Cancel,
    LiveOrder,
    MarketRules,
    Place,
    SlotView,
    StrategyState,
    decide,
)

BUNDLED = Path(__file__).resolve().parent.parent / "gridledger" / "data" / "paper.toml"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def session(duration: str, chaos: bool) -> None:
    data = tomllib.loads(BUNDLED.read_text(), parse_float=Decimal)
    data["paper"]["duration"] = duration
    cfg = parse_config(data)
    ps = paper_settings(cfg.paper)
    result = run_paper(cfg, ps, chaos=chaos)
    ticks = ps.duration_ms // ps.tick_ms
    print(
        f"paper {duration}{' chaos' if chaos else ''}: {ticks:,} ticks in {result.wall_seconds:.1f} s wall = "
        f"{ticks / result.wall_seconds:,.0f} simulated ticks/s ({result.journal_entries:,} journal entries, "
        f"{result.audit.checked_orders} orders, ground truth {'MATCH' if result.audit.match else 'MISMATCH'})"
    )


def strategy_latency(levels: int, ticks: int) -> tuple[float, float, float]:
    rng = random.Random(3)
    params = strategy_params(
        anchor=Decimal("30000"),
        interval=Decimal("10"),
        quote_per_level=Decimal("50"),
        buy_window=levels // 2,
        max_open_orders=levels + 10,
    )
    rules = MarketRules(
        amount_step=Decimal("0.00001"),
        price_step=Decimal("0.01"),
        min_amount=Decimal("0.00001"),
        min_notional=Decimal("5"),
    )
    # Half the levels hold inventory below the price (with a closing sell), half wait with a buy.
    slots: dict[int, SlotView] = {}
    for k in range(-levels, 0):
        price = params.anchor + k * params.interval
        if k < -levels // 2:
            slots[k] = SlotView(
                k,
                Decimal("0.0016"),
                LiveOrder(f"s{k}", Side.SELL, Role.CLOSE, price + params.interval, Decimal("0.0016"), Decimal(0)),
            )
        else:
            slots[k] = SlotView(
                k, Decimal(0), LiveOrder(f"b{k}", Side.BUY, Role.OPEN, price, Decimal("0.0016"), Decimal(0))
            )
    state = StrategyState()
    price = params.anchor
    lat = []
    for _ in range(ticks):
        price = max(Decimal("100"), price + Decimal(rng.randint(-30, 30)) / 10)
        t0 = time.perf_counter_ns()
        decision = decide(state, params, rules, price, slots)
        lat.append((time.perf_counter_ns() - t0) / 1000)
        state = decision.state
        for action in decision.actions:  # the exchange accepts everything at once
            if isinstance(action, Cancel):
                old = slots[action.level]
                slots[action.level] = SlotView(old.level, old.qty, None)
            elif isinstance(action, Place):
                old = slots.get(action.level, SlotView(action.level, Decimal(0), None))
                slots[action.level] = SlotView(
                    old.level,
                    old.qty,
                    LiveOrder(f"x{action.level}", action.side, action.role, action.price, action.amount, Decimal(0)),
                )
    return pct(lat, 0.5), pct(lat, 0.99), statistics.fmean(lat)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    logging.getLogger("gridledger").setLevel(logging.ERROR)  # chaos logs every injected fault
    print(f"python {sys.version.split()[0]}")
    session("6h" if args.quick else "1d", chaos=False)
    session("6h" if args.quick else "1d", chaos=True)
    n = 2_000 if args.quick else 10_000
    base = strategy_latency(20, n)
    big = strategy_latency(200, n)
    print(
        f"strategy decide(): 20 levels p50 {base[0]:.0f} us p99 {base[1]:.0f} us; "
        f"200 levels p50 {big[0]:.0f} us p99 {big[1]:.0f} us (mean {big[2] / base[2]:.1f}x the 20-level run)"
    )


if __name__ == "__main__":
    main()
