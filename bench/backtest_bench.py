"""Backtest benchmark (not part of `make test`).

    .venv/bin/python bench/backtest_bench.py [--quick] [--paper-days N]

1. A year of generated 1-minute candles (525,600; the paper venue's model: 60 %/year
   volatility, mean reversion 30/year, around 30,000) with the bundled grid
   (gridledger/data/paper.toml): load time of the CSV, then candles per second of the backtest.
2. In the same run, `paper` on the first days of the same candles (faults off), candles per
   second, and the ratio backtest / paper.
3. Peak RSS of a fresh process that loads and backtests one month, and one year, of the
   same candles (each in its own subprocess, so neither sees the other's memory).

Targets (issue 9): >= 200,000 candles/s, >= 100x paper, RSS(year) <= 1.5 x RSS(month).
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
from gridledger.marketdata.synthetic import generate_candles, write_ohlcv_csv

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
    args = ap.parse_args()
    if args.rss_child:
        child_rss(args.rss_child[0], int(args.rss_child[1]))
        return
    n = MONTH if args.quick else YEAR
    with tempfile.TemporaryDirectory(prefix="gridledger-bt-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        path = write_year(folder, n)
        print(f"generated {n:,} 1-minute candles in {time.perf_counter() - t0:.1f} s ({path.stat().st_size / 1e6:.0f} MB CSV)")

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
        print(f"backtest: {bt_s:.2f} s = {bt_rate:,.0f} candles/s [target 200,000]; {len(bt.fills):,} fills, "
              f"{c.decisions:,} decisions ({c.decisions / n:.3f} per candle), {c.placed:,} orders, {c.canceled:,} cancels")
        print(f"          realized {bt.realized:.4f}, unrealized {bt.unrealized():.4f}, "
              f"load + backtest {load_s + bt_s:.2f} s = {n / (load_s + bt_s):,.0f} candles/s")

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
        print(f"paper: {k:,} candles ({4 * k:,} ticks) in {paper_s:.1f} s = {paper_rate:,.0f} candles/s, "
              f"ground truth {'MATCH' if result.audit.match else 'MISMATCH'}; backtest of the same slice "
              f"{same_s * 1000:.0f} ms, realized {result.state['realized_pnl']} (paper) vs {same.realized} (backtest)")
        print(f"ratio: backtest (year) / paper = {bt_rate / paper_rate:,.0f}x [target 100x]; "
              f"on the same slice {(k / same_s) / paper_rate:,.0f}x")

        month_path = folder / "month.csv"
        month_path.write_text("".join(lines[: MONTH + 1]))
        rss = {}
        for label, file, m in (("month", month_path, MONTH), ("year", path, n)):
            out = subprocess.run([sys.executable, __file__, "--rss-child", str(file), str(m)], capture_output=True,
                                 text=True, check=True).stdout
            rss[label] = json.loads(out.strip().splitlines()[-1])
        ratio = rss["year"]["rss_mb"] / rss["month"]["rss_mb"]
        print(f"RSS: month {rss['month']['rss_mb']:.1f} MB ({rss['month']['candles']:,} candles), "
              f"{'year' if n == YEAR else 'run'} {rss['year']['rss_mb']:.1f} MB ({rss['year']['candles']:,} candles): "
              f"{ratio:.2f}x [target <= 1.5x]")
        arrays = sum(a.nbytes for a in (data.ts_ms, data.open, data.high, data.low, data.close, data.volume))
        print(f"      the columnar arrays of {n:,} candles take {arrays / 1e6:.1f} MB ({arrays / n:.0f} bytes/candle)")


if __name__ == "__main__":
    main()
