"""Ledger benchmark (not part of `make test`): throughput, latency, memory and reopen time.

    .venv/bin/python bench/ledger_bench.py            # the full run (several minutes)
    .venv/bin/python bench/ledger_bench.py --quick    # smaller sizes, for a smoke check

The stream: a generated grid history of ccxt unified order snapshots and trades (one JSON
line per message), clean and with faults (30 % duplicates, reordering within 16, a replay
of the last 500 messages after every 5,000). Every figure is measured in this process;
ratios compare against the in-memory run of the same stream.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.ledger.ledger import Ledger
from gridledger.store.journal import Journal

try:
    from gridledger.store.scratch import ScratchArchive
except ImportError:  # pragma: no cover - an older tree
    ScratchArchive = None
from gridledger.testkit.synthetic import HistoryGenerator, ccxt_structures, interleave, with_faults
from gridledger.venues import parse_message

GRID = GridSpec("bench1", Instrument.from_symbol("BTC/USDT"), Decimal("30000"), Decimal("50"))
INSTRUMENT = GRID.instrument


def make_lines(n_orders: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    gen = HistoryGenerator(rng, GRID, levels=range(-40, 0), max_fills=4)
    streams = [
        [json.dumps(m, separators=(",", ":")) for m in ccxt_structures(GRID, gen.next_order())] for _ in range(n_orders)
    ]
    return interleave(rng, streams)


def stream_lines(seed: int):
    """An endless stream of message lines, generated in chunks (for the memory test)."""
    rng = random.Random(seed)
    gen = HistoryGenerator(rng, GRID, levels=range(-40, 0), max_fills=4)
    while True:
        streams = [
            [json.dumps(m, separators=(",", ":")) for m in ccxt_structures(GRID, gen.next_order())] for _ in range(2000)
        ]
        yield from interleave(rng, streams)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


try:  # the product's decoder (issue 12); a tree without it decodes as it always did
    from gridledger.fastjson import loads_exact
except ImportError:  # pragma: no cover - an older tree, for before/after runs

    def loads_exact(text: str):
        return json.loads(text, parse_float=Decimal)


def parse(line: str):
    return parse_message(loads_exact(line), "ccxt", INSTRUMENT).items


def counted_stream(seed: int):
    """(orders whose messages all came before this line, line) for an endless stream,
    generated in 1,000-order chunks."""
    rng = random.Random(seed)
    gen = HistoryGenerator(rng, GRID, levels=range(-40, 0), max_fills=4)
    done = 0
    while True:
        streams = [
            [json.dumps(m, separators=(",", ":")) for m in ccxt_structures(GRID, gen.next_order())] for _ in range(1000)
        ]
        for line in interleave(rng, streams):
            yield done, line
        done += 1000


GROWTH_ORDERS = (5_000, 20_000, 100_000)


def growth_child(mode: str, milestones: tuple[int, ...]) -> None:
    """One mode of the growth run, in its own process (so RSS is this mode's alone): parse +
    apply CPU time per message between milestones (process time: steady on a shared machine), RSS and orders in RAM at each milestone.
    ``memory``: a bare Ledger nobody flushes (it must fold and evict by itself; its
    MemoryArchive keeps every finished order); ``scratch``: a Ledger on the temporary
    SQLite archive ``replay`` uses without ``--db``;
    ``journal``: group commit 100, synchronous=NORMAL."""
    tmp = tempfile.TemporaryDirectory()
    led = Ledger(GRID)
    j = Journal.open(Path(tmp.name) / "j.db", led, synchronous="NORMAL", group_size=100) if mode == "journal" else None
    scratch = ScratchArchive(led) if mode == "scratch" else None
    ctx = j.group() if j is not None else None
    if ctx is not None:
        ctx.__enter__()
    spent = 0.0
    msgs = 0
    todo = list(milestones)
    for orders, line in counted_stream(21):
        if orders >= todo[0]:
            if j is not None:
                j.commit()
            gc.collect()
            print(
                json.dumps(
                    {
                        "orders": todo[0],
                        "messages": msgs,
                        "us_per_msg": spent / msgs * 1e6,
                        "rss_mb": rss_mb(),
                        "ram_orders": led.ram_orders,
                    }
                ),
                flush=True,
            )
            spent = 0.0
            msgs = 0
            todo.pop(0)
            if not todo:
                break
        t0 = time.process_time()
        if j is not None:
            j.apply_message(line, parse(line))
        else:
            for ev in parse(line):
                led.apply(ev)
                if scratch is not None:
                    scratch.applied()
        spent += time.process_time() - t0
        msgs += 1
    if ctx is not None:
        ctx.__exit__(None, None, None)
    if j is not None:
        j.close()
    tmp.cleanup()


def run_growth(milestones: tuple[int, ...]) -> None:
    print(
        f"growth: parse + apply CPU time per message between milestones of {', '.join(f'{m:,}' for m in milestones)} orders"
    )
    for mode in ("memory", "scratch", "journal"):
        out = subprocess.run(
            [sys.executable, __file__, "--growth-child", mode, "--growth-orders", ",".join(map(str, milestones))],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        first = rows[0]["us_per_msg"]
        for r in rows:
            print(
                f"  [{mode:7}] {r['orders']:>7,} orders: {r['us_per_msg']:6.1f} us/msg ({r['us_per_msg'] / first:.2f}x the "
                f"first window), RSS {r['rss_mb']:.1f} MB, orders in RAM {r['ram_orders']}"
            )


def run_memory(lines: list[str]) -> dict:
    """Parse + apply in memory (a MemoryArchive; finished orders leave RAM every 100 messages,
    the same rhythm as the journal's group commit)."""
    parsed = [parse(line) for line in lines]
    led = Ledger(GRID)
    lat = []
    t0 = time.perf_counter()
    for n, items in enumerate(parsed, start=1):
        s = time.perf_counter_ns()
        for ev in items:
            led.apply(ev)
        if n % 100 == 0:
            led.flush_to_memory()
        lat.append(time.perf_counter_ns() - s)
    led.flush_to_memory()
    apply_s = time.perf_counter() - t0
    led2 = Ledger(GRID)
    t0 = time.perf_counter()
    for n, line in enumerate(lines, start=1):
        for ev in parse(line):
            led2.apply(ev)
        if n % 100 == 0:
            led2.flush_to_memory()
    led2.flush_to_memory()
    full_s = time.perf_counter() - t0
    return {
        "apply_per_s": len(lines) / apply_s,
        "parse_apply_per_s": len(lines) / full_s,
        "p50_us": pct(lat, 0.50) / 1000,
        "p99_us": pct(lat, 0.99) / 1000,
        "counts": dict(led.counts),
        "position": led.position,
    }


def run_journal(lines: list[str], group: int, synchronous: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        j = Journal.open(Path(tmp) / "j.db", Ledger(GRID), synchronous=synchronous, group_size=group)
        lat = []
        t0 = time.perf_counter()
        if group == 1:
            for line in lines:
                s = time.perf_counter_ns()
                j.apply_message(line, parse(line))
                lat.append(time.perf_counter_ns() - s)
        else:
            with j.group():
                for line in lines:
                    j.apply_message(line, parse(line))
        elapsed = time.perf_counter() - t0
        position = j.ledger.position
        j.close()
    out = {"per_s": len(lines) / elapsed, "position": position}
    if lat:
        out.update(p50_us=pct(lat, 0.50) / 1000, p99_us=pct(lat, 0.99) / 1000)
    return out


def run_sqlite_floor(lines: list[str], group: int, synchronous: str) -> dict:
    """What SQLite alone costs for the journal's writes (issue 12 targets: the journal within
    2x of it): per message one row into a journal-shaped table (the raw line and an outcome
    text) and one upsert into an orders-shaped table, keyed by the message's client order id,
    committed every ``group`` messages, with the journal's pragmas (WAL, ``synchronous``).
    No parsing, no ledger: the keys and texts are prepared before the clock starts."""
    keys = []
    for line in lines:
        doc = json.loads(line)
        body = doc.get("order") or doc.get("trade") or doc
        keys.append(str(body.get("clientOrderId") or body.get("order") or body.get("id")))
    outcome = '[["APPLIED","gl16bench1B1300","123456",null,null]]'
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(str(Path(tmp) / "floor.db"), isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute(
            "CREATE TABLE journal (seq INTEGER PRIMARY KEY, received_at INTEGER, source TEXT NOT NULL, "
            "raw TEXT NOT NULL, outcomes TEXT NOT NULL, raw_len INTEGER, raw_sha256 TEXT, crc INTEGER)"
        )
        conn.execute(
            "CREATE TABLE orders (client_id TEXT PRIMARY KEY, order_id TEXT, level INTEGER NOT NULL, "
            "generation INTEGER NOT NULL, folded INTEGER NOT NULL, incomplete INTEGER NOT NULL, "
            "data TEXT NOT NULL, crc INTEGER)"
        )
        journal_sql = "INSERT INTO journal (received_at, source, raw, outcomes, raw_len, crc) VALUES (?, ?, ?, ?, ?, ?)"
        upsert_sql = (
            "INSERT INTO orders (client_id, order_id, level, generation, folded, incomplete, data, crc) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(client_id) DO UPDATE SET order_id=excluded.order_id, "
            "folded=excluded.folded, incomplete=excluded.incomplete, data=excluded.data, crc=excluded.crc"
        )
        t0 = time.perf_counter()
        c0 = time.process_time()
        conn.execute("BEGIN IMMEDIATE")
        for n, (line, key) in enumerate(zip(lines, keys, strict=True), start=1):
            conn.execute(journal_sql, (n, "ws:orders", line, outcome, len(line), n & 0xFFFF))
            conn.execute(upsert_sql, (key, str(n), -3, 0, 0, 0, line, n & 0xFFFF))
            if n % group == 0:
                conn.execute("COMMIT")
                conn.execute("BEGIN IMMEDIATE")
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - c0
        conn.close()
    return {"per_s": len(lines) / elapsed, "cpu_us": cpu / len(lines) * 1e6}


def run_rss(milestones: list[int]) -> dict:
    """RSS of a journal-backed ledger after 1 M and 5 M messages: memory must stay bounded (R9)."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        j = Journal.open(Path(tmp) / "j.db", Ledger(GRID), synchronous="NORMAL", group_size=100)
        n = 0
        t0 = time.perf_counter()
        with j.group():
            for line in stream_lines(7):
                j.apply_message(line, parse(line))
                n += 1
                if n in milestones:
                    j.commit()
                    gc.collect()
                    out[n] = (rss_mb(), j.ledger.ram_orders, time.perf_counter() - t0)
                    print(
                        f"  {n:>9,} messages: RSS {out[n][0]:.1f} MB, orders in RAM {out[n][1]}, {out[n][2]:.0f} s",
                        flush=True,
                    )
                    if n == milestones[-1]:
                        break
        j.close()
    return out


def run_reopen(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "j.db"
        j = Journal.open(db, Ledger(GRID), synchronous="OFF", group_size=1000)
        count = 0
        with j.group():
            for line in stream_lines(11):
                j.apply_message(line, parse(line))
                count += 1
                if count >= n:
                    break
        position = j.ledger.position
        j.close()
        t0 = time.perf_counter()
        j = Journal.open(db, Ledger(GRID))
        elapsed = time.perf_counter() - t0
        same = j.ledger.position == position
        entries = j.entries()
        j.close()
    return {"seconds": elapsed, "entries": entries, "same_state": same}


def run_nautilus(lines: list[str]) -> dict | None:
    try:
        import nautilus_bridge
    except ImportError as exc:
        return {"skipped": str(exc)}
    return nautilus_bridge.compare(lines, GRID)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run, not the figures)")
    ap.add_argument("--orders", type=int, default=None)
    ap.add_argument("--skip-rss", action="store_true")
    ap.add_argument("--growth-only", action="store_true", help="only the 5k/20k/100k growth table")
    ap.add_argument("--growth-orders", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--growth-child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    growth = (
        tuple(int(x) for x in args.growth_orders.split(","))
        if args.growth_orders
        else ((1_000, 4_000, 20_000) if args.quick else GROWTH_ORDERS)
    )
    if args.growth_child:
        growth_child(args.growth_child, growth)
        return
    if args.growth_only:
        run_growth(growth)
        return
    n_orders = args.orders or (2_000 if args.quick else 21_000)
    milestones = [100_000, 200_000] if args.quick else [1_000_000, 5_000_000]
    reopen_n = 100_000 if args.quick else 1_000_000

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    clean = make_lines(n_orders, 1)
    faulty = with_faults(
        random.Random(2), clean, duplicate_p=0.3, reorder_window=16, replay_every=5000, replay_last=500
    )
    print(f"stream: {n_orders:,} orders, {len(clean):,} messages clean, {len(faulty):,} with faults")
    results = {}
    for name, lines in (("clean", clean), ("faults", faulty)):
        mem = run_memory(lines)
        results[name] = mem
        print(
            f"[{name}] in memory: apply {mem['apply_per_s']:,.0f} msg/s, parse+apply "
            f"{mem['parse_apply_per_s']:,.0f} msg/s, apply latency p50 {mem['p50_us']:.1f} us "
            f"p99 {mem['p99_us']:.1f} us"
        )
        print(f"[{name}] outcomes {mem['counts']}")
    if results["clean"]["position"] != results["faults"]["position"]:
        print("ERROR: faulty stream ended in a different position than the clean one")
    for sync in ("FULL", "NORMAL"):
        per = run_journal(faulty, 1, sync)
        grp = run_journal(faulty, 100, sync)
        base = results["faults"]["parse_apply_per_s"]
        print(
            f"[faults] journal synchronous={sync}: per-message commit {per['per_s']:,.0f} msg/s "
            f"(p50 {per['p50_us']:.0f} us, p99 {per['p99_us']:.0f} us; {per['per_s'] / base:.2f}x in-memory), "
            f"group commit 100: {grp['per_s']:,.0f} msg/s ({grp['per_s'] / base:.2f}x in-memory)"
        )
        floor = run_sqlite_floor(faulty, 100, sync)
        print(
            f"[faults] SQLite floor synchronous={sync} (one journal row + one order upsert per message, "
            f"group commit 100, no parsing, no ledger): {floor['per_s']:,.0f} msg/s "
            f"({floor['cpu_us']:.1f} us CPU/msg); the journal's group commit is "
            f"{floor['per_s'] / grp['per_s']:.1f}x slower than the floor"
        )
    if not args.skip_rss:
        print("memory (journal, group commit 100, synchronous=NORMAL):")
        rss = run_rss(milestones)
        a, b = rss[milestones[0]][0], rss[milestones[-1]][0]
        print(
            f"RSS at {milestones[0]:,}: {a:.1f} MB; at {milestones[-1]:,}: {b:.1f} MB; "
            f"growth {100 * (b - a) / a:+.1f} %"
        )
    ro = run_reopen(reopen_n)
    print(
        f"reopen a journal of {ro['entries']:,} entries: {ro['seconds'] * 1000:.1f} ms (same state: {ro['same_state']})"
    )
    nt = run_nautilus(faulty if not args.quick else faulty[:20000])
    if nt:
        if "skipped" in nt:
            print(f"NautilusTrader comparison skipped: {nt['skipped']}")
        else:
            print(
                f"NautilusTrader Order.apply + Position.apply: {nt['per_s']:,.0f} order events/s "
                f"({nt['nautilus_events']:,} events, {nt['fills']:,} fills of {nt['orders']:,} orders) = "
                f"{nt['nautilus_orders_per_s']:,.0f} orders/s; gridledger Ledger.apply on the same lifecycles: "
                f"{nt['ours_per_s']:,.0f} evidence items/s = {nt['ours_orders_per_s']:,.0f} orders/s; "
                f"orders/s ratio gridledger/nautilus {nt['ours_orders_per_s'] / nt['nautilus_orders_per_s']:.2f}"
            )
    run_growth(growth)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
