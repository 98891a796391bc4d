"""Paper-trading benchmark (not part of `make test`).

    .venv/bin/python bench/paper_bench.py [--quick] [--compare OTHER_TREE] [--rounds N]

1. Simulated ticks per second through the whole stack (price path, simulated exchange,
   private stream, evidence parsing, ledger, journal, strategy, executor), for a session
   of the bundled config without and with chaos; wall time on this machine.
2. The strategy's per-tick latency (``decide``) with 200 levels: a world of 200 slots, each
   holding inventory with a closing sell or an open buy, driven by a random price path;
   p50/p99 in microseconds, against the same loop with 20 levels as the baseline.
3. The simulated venue's ticker: built directly against formatted as Binance JSON and parsed
   by ccxt.pro (what the venue did before issue 12 item 5), interleaved in this process.
4. ``--compare OTHER_TREE``: the chaos session of the bundled config run alternately by this
   tree and by another source tree (for instance ``git archive HEAD | tar -x -C /tmp/head``),
   each in its own child process, timed in CPU time (the child's user + system time), so the
   load of other processes on a shared machine hardly enters; best of ``--rounds``.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import timeit
import tomllib
from decimal import Decimal
from itertools import islice
from pathlib import Path

from gridledger.config import parse_config, strategy_params
from gridledger.domain.types import Role, Side
from gridledger.exchange.sim.prices import SyntheticPath
from gridledger.exchange.sim.print_window import PrintWindow
from gridledger.exchange.sim.ticker_fast import TickerBuilder
from gridledger.exchange.sim.values import SimMarketSpec
from gridledger.exchange.sim.venue_runtime import _make_parser
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

ROOT = Path(__file__).resolve().parent.parent
BUNDLED = ROOT / "gridledger" / "data" / "paper.toml"


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


def ticker_paths(n: int) -> tuple[float, float]:
    """Microseconds per ticker: format + ccxt parse, and built directly (same dicts)."""
    spec = SimMarketSpec()
    parser = _make_parser(spec)
    builder = TickerBuilder(parser, parser.markets[spec.symbol])
    window = PrintWindow()
    stats = []
    path = SyntheticPath(seed=1, start_price=Decimal(30000), price_step=spec.price_step, tick_ms=2_000)
    for tick in islice(path, n):
        window.record(tick)
        stats.append(window.stats(spec, tick, tick.ts_ms))
    assert all(builder.build(s) == builder.slow(s) for s in stats)
    best_slow = best_fast = float("inf")
    for _ in range(3):  # interleaved, best of 3
        best_slow = min(
            best_slow, timeit.timeit(lambda: [builder.slow(s) for s in stats], number=1, timer=time.process_time)
        )
        best_fast = min(
            best_fast, timeit.timeit(lambda: [builder.build(s) for s in stats], number=1, timer=time.process_time)
        )
    return best_slow / n * 1e6, best_fast / n * 1e6


_CHILD = """
import logging, sys, time, tomllib
from decimal import Decimal
from pathlib import Path
import gridledger
from gridledger.config import parse_config
from gridledger.paper.session import run_paper
from gridledger.paper.settings import paper_settings
logging.getLogger("gridledger").setLevel(logging.ERROR)
data = tomllib.loads((Path(gridledger.__file__).parent / "data" / "paper.toml").read_text(), parse_float=Decimal)
data["paper"]["duration"] = sys.argv[1]
cfg = parse_config(data)
ps = paper_settings(cfg.paper)
result = run_paper(cfg, ps, chaos=True)
print(ps.duration_ms // ps.tick_ms, result.audit.match, result.audit.checked_orders, result.state["position"])
"""


def _child_cpu(tree: Path, duration: str) -> tuple[float, str]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, duration], env=env, cwd="/", capture_output=True, text=True, check=True
    ).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, out.strip()


def compare(other: Path, duration: str, rounds: int) -> None:
    best = {"this": float("inf"), "other": float("inf")}
    outputs = {}
    for _ in range(rounds):
        for name, tree in (("other", other), ("this", ROOT)):
            cpu, out = _child_cpu(tree, duration)
            best[name] = min(best[name], cpu)
            outputs[name] = out
    ticks = int(outputs["this"].split()[0])
    print(
        f"paper {duration} chaos, CPU time of the whole process, best of {rounds}: {other} "
        f"{best['other']:.2f} s ({ticks / best['other']:,.0f} ticks/s), this tree {best['this']:.2f} s "
        f"({ticks / best['this']:,.0f} ticks/s): {best['other'] / best['this']:.2f}x; "
        f"same result: {outputs['this'] == outputs['other']} ({outputs['this']})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--compare", type=Path, default=None, help="another source tree to compare with")
    ap.add_argument("--rounds", type=int, default=2)
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
    slow, fast = ticker_paths(500 if args.quick else 5_000)
    print(
        f"simulated ticker: format + ccxt parse {slow:.1f} us, built directly {fast:.1f} us "
        f"({slow / fast:.1f}x; equal dicts)"
    )
    if args.compare is not None:
        compare(args.compare, "6h" if args.quick else "1d", args.rounds)


if __name__ == "__main__":
    main()
