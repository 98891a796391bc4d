"""The compiled core against the pure one (issue 12, item 3): the same stream, CPU time per build.

    .venv/bin/python bench/compiled_bench.py                    # builds (or reuses) a compiled copy
    .venv/bin/python bench/compiled_bench.py --compiled DIR     # a compiled copy made before
    .venv/bin/python bench/compiled_bench.py --quick            # a smoke run

Each build runs in its own process (a process imports one gridledger), alternately, ``--rounds``
times; every figure is the best round's CPU time (``time.process_time``: steady on a shared
machine, where wall time is not). The stream is bench/ledger_bench.py's: a generated grid
history of ccxt unified JSON lines with faults (30 % duplicates, reordering within 16,
replays). Paths measured:

- ``apply``: ``Ledger.apply`` on evidence parsed beforehand (finished orders folded and
  evicted every 100 messages, as a journal's group commit does);
- ``parse+apply``: the JSON line decoded, parsed (gridledger.venues: pure Python in both
  builds) and applied;
- ``decide``: ``decide()`` for a 10-level grid with inventory and live orders, at moving prices.

The compiled copy is made by buildtools/compiled_copy.py (cached in build/compiled-core/).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RATES = {
    "apply_per_s": ("apply", "msg/s"),
    "parse_apply_per_s": ("parse+apply", "msg/s"),
    "decide_per_s": ("decide()", "calls/s"),
}


# ------------------------------------------------------------------ child: one build
def child(n_orders: int) -> dict[str, object]:
    import importlib
    from decimal import Decimal

    sys.path.insert(0, str(HERE))
    import ledger_bench as lb

    from gridledger.config import strategy_params
    from gridledger.domain.types import Role, Side
    from gridledger.ledger.ledger import Ledger
    from gridledger.strategy import LiveOrder, MarketRules, SlotView, StrategyState, decide
    from gridledger.testkit.synthetic import with_faults

    module = importlib.import_module("gridledger.ledger.ledger")
    build = "compiled" if not str(module.__file__).endswith(".py") else "pure"
    lines = with_faults(
        random.Random(2),
        lb.make_lines(n_orders, 1),
        duplicate_p=0.3,
        reorder_window=16,
        replay_every=5000,
        replay_last=500,
    )
    parsed = [lb.parse(line) for line in lines]

    led = Ledger(lb.GRID)
    t0 = time.process_time()
    for n, items in enumerate(parsed, start=1):
        for ev in items:
            led.apply(ev)
        if n % 100 == 0:
            led.flush_to_memory()
    led.flush_to_memory()
    apply_s = time.process_time() - t0

    led2 = Ledger(lb.GRID)
    t0 = time.process_time()
    for n, line in enumerate(lines, start=1):
        for ev in lb.parse(line):
            led2.apply(ev)
        if n % 100 == 0:
            led2.flush_to_memory()
    led2.flush_to_memory()
    full_s = time.process_time() - t0

    params = strategy_params(
        anchor=Decimal("1000"), interval=Decimal("10"), quote_per_level=Decimal("100"), buy_window=5
    )
    rules = MarketRules(Decimal("0.001"), Decimal("0.01"))
    views = {
        -k: SlotView(
            level=-k,
            qty=Decimal("0.1") if k % 2 else Decimal(0),
            live=LiveOrder(
                f"c{k}",
                Side.SELL if k % 2 else Side.BUY,
                Role.CLOSE if k % 2 else Role.OPEN,
                Decimal(1000 - 10 * k + (10 if k % 2 else 0)),
                Decimal("0.1"),
                Decimal(0),
            ),
        )
        for k in range(1, 11)
    }
    rng = random.Random(5)
    prices = [Decimal(1000) + Decimal(rng.randint(-3000, 3000)) / 100 for _ in range(20_000)]
    state = StrategyState()
    t0 = time.process_time()
    for price in prices:
        state = decide(state, params, rules, price, views).state
    decide_s = time.process_time() - t0
    return {
        "build": build,
        "messages": len(lines),
        "apply_per_s": len(lines) / apply_s,
        "parse_apply_per_s": len(lines) / full_s,
        "decide_per_s": len(prices) / decide_s,
        # Both builds must end in the same state: printed and compared by the parent.
        "state": [str(led.position), str(led.realized_pnl), dict(led.counts), str(led2.position)],
    }


# ------------------------------------------------------------------ parent: both builds
def run_child(tree: Path, n_orders: int) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(
        [sys.executable, "-P", __file__, "--child", "--orders", str(n_orders)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"compiled bench: the {tree} run failed:\n{out.stderr[-3000:]}")
    result: dict[str, object] = json.loads(out.stdout.splitlines()[-1])
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compiled", type=Path, default=None, help="a compiled copy (buildtools/compiled_copy.py DIR)")
    ap.add_argument("--orders", type=int, default=None, help="orders in the stream (default 20,000; --quick 2,000)")
    ap.add_argument("--rounds", type=int, default=None, help="runs per build, alternating (default 3; --quick 1)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    n_orders = args.orders or (2_000 if args.quick else 20_000)
    if args.child:
        print(json.dumps(child(n_orders)))
        return 0
    rounds = args.rounds or (1 if args.quick else 3)

    sys.path.insert(0, str(ROOT / "buildtools"))
    import compiled_copy

    with tempfile.TemporaryDirectory(prefix="gridledger-bench-") as tmp:
        compiled = args.compiled
        if compiled is None:
            missing = compiled_copy.missing_toolchain()
            if missing:
                print(f"compiled bench skipped: {missing}")
                return 0
            print("compiled bench: making a compiled copy of the tree (cached in build/compiled-core/) ...", flush=True)
            compiled = compiled_copy.make_compiled_copy(Path(tmp) / "compiled")
        trees = {"pure": ROOT, "compiled": compiled.resolve()}
        runs: dict[str, list[dict[str, object]]] = {name: [] for name in trees}
        for _ in range(rounds):
            for name, tree in trees.items():
                r = run_child(tree, n_orders)
                if r["build"] != name:
                    raise SystemExit(f"compiled bench: {tree} ran the {r['build']} core, not the {name} one")
                runs[name].append(r)
    best = {name: {key: max(float(r[key]) for r in rs) for key in RATES} for name, rs in runs.items()}
    pure = runs["pure"][0]
    same = all(r["state"] == pure["state"] for rs in runs.values() for r in rs)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; stream: {n_orders:,} orders, "
        f"{pure['messages']:,} messages with faults; best of {rounds} alternating runs per build, CPU time"
    )
    print(f"{'path':<12} {'pure':<26} {'compiled (mypyc)':<26} {'ratio':>7}")
    for key, (label, unit) in RATES.items():
        p, c = best["pure"][key], best["compiled"][key]
        print(
            f"{label:<12} {p:>9,.0f} {unit:<8}{1e6 / p:>5.1f} us {c:>9,.0f} {unit:<8}{1e6 / c:>5.1f} us {c / p:>6.2f}x"
        )
    print(f"same final state in both builds: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
