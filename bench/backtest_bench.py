"""Backtest benchmark (not part of `make test`).

    .venv/bin/python bench/backtest_bench.py [--quick] [--paper-days N]

1. A year of generated 1-minute candles (525,600; the paper venue's model: 60 %/year
   volatility, mean reversion 30/year, around 30,000) with the bundled grid
   (gridledger/data/paper.toml): load time of the CSV, then candles per second of the backtest.
2. In the same run, `paper` on the first days of the same candles (faults off), candles per
   second, and the ratio backtest / paper.
3. Peak RSS of a fresh process that loads and backtests one month, and one year, of the
   same candles (each in its own subprocess, so neither sees the other's memory).
4. `gridledger sweep` of 100 configs (10 intervals x 10 buy windows) over the same year, on 2
   processes (`--jobs 2`), wall time of the whole command (reading the CSV included).

Targets (issue 9): >= 200,000 candles/s, >= 100x paper, RSS(year) <= 1.5 x RSS(month), the
100-config sweep under 5 minutes on 2 cores. `--sweep-only` runs item 4 alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from decimal import Decimal
from pathlib import Path

from gridledger.backtest.run import Backtest
from gridledger.backtest.setup import setup_from_config
from gridledger.config import parse_config
from gridledger.marketdata import load_market_data
from gridledger.testkit.candles import generate_candles, write_ohlcv_csv

BUNDLED = Path(__file__).resolve().parent.parent / "gridledger" / "data" / "paper.toml"
YEAR = 525_600
MONTH = 43_200


def bundled(**paper: object):
    data = tomllib.loads(BUNDLED.read_text(), parse_float=Decimal)
    data["paper"].update(paper)
    return parse_config(data)


def write_year(folder: Path, n: int) -> Path:
    return write_ohlcv_csv(folder / f"candles-{n}.csv", generate_candles(n, seed=2026), time_column="timestamp_ms")


def child_rss(path: str, n: int) -> None:
    """In a fresh process: load the first ``n`` candles and backtest them; print peak RSS."""
    cfg = bundled()
    setup = setup_from_config(cfg)
    data = load_market_data(path, setup.market.rules.price_step)
    data = data.slice_time(None, int(data.ts_ms[0]) + n * 60_000)
    bt = Backtest(setup, data).run()
    print(json.dumps({"candles": len(data), "fills": len(bt.fills), "rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak RSS: VmHWM (getrusage's ru_maxrss can carry the parent's figure
    across fork and exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a month instead of a year")
    ap.add_argument("--paper-days", type=float, default=2.0, help="days of candles paper plays for the ratio")
    ap.add_argument("--rss-child", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    ap.add_argument("--sweep-only", action="store_true", help="only the 100-config sweep")
    ap.add_argument("--no-sweep", action="store_true", help="skip the 100-config sweep")
    args = ap.parse_args()
    if args.rss_child:
        child_rss(args.rss_child[0], int(args.rss_child[1]))
        return
    n = MONTH if args.quick else YEAR
    with tempfile.TemporaryDirectory(prefix="gridledger-bt-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        path = write_year(folder, n)
        print(
            f"generated {n:,} 1-minute candles in {time.perf_counter() - t0:.1f} s ({path.stat().st_size / 1e6:.0f} MB CSV)"
        )
        if args.sweep_only:
            sweep(path, n, folder)
            return

        cfg = bundled()
        setup = setup_from_config(cfg)
        t0 = time.perf_counter()
        data = load_market_data(path, setup.market.rules.price_step)
        load_s = time.perf_counter() - t0
        print(f"load: {load_s:.2f} s ({n / load_s:,.0f} candles/s)  {data.describe()}")
        t0 = time.perf_counter()
        bt = Backtest(setup, data).run()
        bt_s = time.perf_counter() - t0
        bt_rate = n / bt_s
        c = bt.counters
        print(
            f"backtest: {bt_s:.2f} s = {bt_rate:,.0f} candles/s [target 200,000]; {len(bt.fills):,} fills, "
            f"{c.decisions:,} decisions ({c.decisions / n:.3f} per candle), {c.placed:,} orders, {c.canceled:,} cancels"
        )
        print(
            f"          realized {bt.realized:.4f}, unrealized {bt.unrealized():.4f}, "
            f"load + backtest {load_s + bt_s:.2f} s = {n / (load_s + bt_s):,.0f} candles/s"
        )

        # paper on a slice of the same candles, faults off
        from gridledger.paper.session import run_paper
        from gridledger.paper.settings import paper_settings

        k = int(args.paper_days * 1440)
        lines = path.read_text().splitlines(keepends=True)
        slice_path = folder / "paper-slice.csv"
        slice_path.write_text("".join(lines[: k + 1]))
        pcfg = bundled(candles_csv=str(slice_path), duration="400d")
        t0 = time.perf_counter()
        result = run_paper(pcfg, paper_settings(dict(pcfg.paper)))
        paper_s = time.perf_counter() - t0
        paper_rate = k / paper_s
        sub = data.slice_time(None, int(data.ts_ms[0]) + k * 60_000)
        t0 = time.perf_counter()
        same = Backtest(setup, sub).run()
        same_s = time.perf_counter() - t0
        print(
            f"paper: {k:,} candles ({4 * k:,} ticks) in {paper_s:.1f} s = {paper_rate:,.0f} candles/s, "
            f"ground truth {'MATCH' if result.audit.match else 'MISMATCH'}; backtest of the same slice "
            f"{same_s * 1000:.0f} ms, realized {result.state['realized_pnl']} (paper) vs {same.realized} (backtest)"
        )
        print(
            f"ratio: backtest (year) / paper = {bt_rate / paper_rate:,.0f}x [target 100x]; "
            f"on the same slice {(k / same_s) / paper_rate:,.0f}x"
        )

        month_path = folder / "month.csv"
        month_path.write_text("".join(lines[: MONTH + 1]))
        rss = {}
        for label, file, m in (("month", month_path, MONTH), ("year", path, n)):
            out = subprocess.run(
                [sys.executable, __file__, "--rss-child", str(file), str(m)], capture_output=True, text=True, check=True
            ).stdout
            rss[label] = json.loads(out.strip().splitlines()[-1])
        ratio = rss["year"]["rss_mb"] / rss["month"]["rss_mb"]
        print(
            f"RSS: month {rss['month']['rss_mb']:.1f} MB ({rss['month']['candles']:,} candles), "
            f"{'year' if n == YEAR else 'run'} {rss['year']['rss_mb']:.1f} MB ({rss['year']['candles']:,} candles): "
            f"{ratio:.2f}x [target <= 1.5x]"
        )
        arrays = sum(a.nbytes for a in (data.ts_ms, data.open, data.high, data.low, data.close, data.volume))
        print(f"      the columnar arrays of {n:,} candles take {arrays / 1e6:.1f} MB ({arrays / n:.0f} bytes/candle)")
        if not args.no_sweep:
            sweep(path, n, folder)


def sweep(path: Path, n: int, folder: Path) -> None:
    """100 configs (10 intervals x 10 buy windows) on 2 processes: the sweep command's wall time."""
    intervals = ",".join(str(60 + 30 * k) for k in range(10))  # 60 .. 330: 0.2 % to 1.1 % of 30,000
    windows = ",".join(str(k) for k in range(2, 12))
    out = folder / "sweep.csv"
    cmd = [
        sys.executable,
        "-m",
        "gridledger.cli",
        "sweep",
        "--config",
        str(BUNDLED),
        "--data",
        str(path),
        "--set",
        f"grid.interval={intervals}",
        "--set",
        f"strategy.buy_window={windows}",
        "--jobs",
        "2",
        "--csv",
        str(out),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # CPU of the command and its (waited) worker processes: on a shared machine the wall time
    # depends on the other load; CPU / 2 is what 2 idle cores would take.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if run.returncode != 0:
        print(f"sweep failed: {run.stderr.strip()[-500:]}")
        return
    rows = out.read_text().splitlines()[1:]
    best = rows[0].split(",")
    print(
        f"sweep: {len(rows)} configs x {n:,} candles on 2 processes in {wall:.1f} s "
        f"({wall / len(rows):.2f} s per config, {len(rows) * n / wall:,.0f} candles/s in all) [target < 300 s]; "
        f"CPU {cpu:.0f} s in all (= {cpu / 2:.0f} s on 2 idle cores); "
        f"best: interval {best[1]}, buy_window {best[2]}, total PnL {best[3]}"
    )


if __name__ == "__main__":
    main()
