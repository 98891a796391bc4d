"""The sweep's worker pool: the market data shared through ``.npy`` files, one backtest per
combination, across processes.

The parent writes the data's columns to a scratch folder; each worker process maps them
(``np.load(mmap_mode="r")``) once, when it starts, so the data is neither parsed again nor
copied per combination, and the workers share the page cache.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from gridledger.backtest.cli import _fail, err
from gridledger.backtest.sweep_sets import Axis, apply
from gridledger.marketdata.series import Gaps, MarketData

_DATA: dict[str, MarketData] = {}


def _save_columns(data: MarketData, folder: Path) -> dict[str, Any]:
    names: dict[str, str] = {}
    for column in ("ts_ms", "open", "high", "low", "close", "volume"):
        array = getattr(data, column)
        same = next((n for n, c in names.items() if getattr(data, n) is array), None)
        if same is not None:  # trades: one price array serves as open, high, low and close
            names[column] = names[same]
            continue
        np.save(folder / f"{column}.npy", np.ascontiguousarray(array))
        names[column] = column
    g = data.gaps
    return {
        "kind": data.kind,
        "source": data.source,
        "fmt": data.fmt,
        "price_step": str(data.price_step),
        "interval_ms": data.interval_ms,
        "gaps": (g.count, g.missing, g.largest_ms, g.largest_at_ms),
        "folder": str(folder),
        "names": names,
    }


def _load_columns(meta: dict[str, Any]) -> MarketData:
    folder = Path(meta["folder"])
    cols = {c: np.load(folder / f"{n}.npy", mmap_mode="r") for c, n in meta["names"].items()}
    return MarketData(
        meta["kind"],
        meta["source"],
        meta["fmt"],
        Decimal(meta["price_step"]),
        cols["ts_ms"],
        cols["open"],
        cols["high"],
        cols["low"],
        cols["close"],
        cols["volume"],
        meta["interval_ms"],
        Gaps(*meta["gaps"]),
    )


def _init_worker(meta: dict[str, Any]) -> None:
    _DATA["data"] = _load_columns(meta)


def run_combo(base: dict[str, Any], combo: tuple[tuple[str, Any], ...]) -> dict[str, Any]:
    """One backtest; a row of the result table (decimals as strings)."""
    from gridledger.backtest.feeguard import check_fee_step
    from gridledger.backtest.report import build_report
    from gridledger.backtest.run import Backtest
    from gridledger.backtest.setup import setup_from_config
    from gridledger.paper.settings import paper_settings

    data = _DATA["data"]
    cfg = apply(base, combo)
    setup = setup_from_config(cfg, paper_settings(dict(cfg.paper)))
    if setup.market.rules.price_step != data.price_step:
        raise ValueError(f"price_step {setup.market.rules.price_step} differs from the data's {data.price_step}")
    fee = check_fee_step(
        setup.params, setup.market.maker_fee, setup.market.taker_fee, data.price(int(np.max(data.high)))
    )
    t0 = time.perf_counter()
    bt = Backtest(setup, data).run()
    doc = build_report(bt, wall_seconds=time.perf_counter() - t0, fee_check=fee)
    return {
        "total_pnl": doc["total_pnl"],
        "realized_pnl": doc["realized_pnl"],
        "unrealized_pnl": doc["unrealized_pnl"],
        "return_on_committed_pct": doc["return_on_committed_pct"] or "",
        "max_drawdown": doc["max_drawdown"]["value"],
        "max_drawdown_at": doc["max_drawdown"]["at"] or "",
        "round_trips": doc["round_trips"],
        "fills": doc["fills"],
        "fees_in_quote": doc["fees_in_quote"],
        "buy_and_hold_pct": doc["buy_and_hold"]["return_pct"],
        "fee_guard_ok": fee.ok,
        "fee_message": fee.message(),
    }


def run_all(
    market_data: MarketData,
    base: dict[str, Any],
    combos: list[tuple[tuple[str, Any], ...]],
    axes: list[Axis],
    texts: list[tuple[str, ...]],
    workers: int,
) -> list[dict[str, Any]]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    scratch = Path(tempfile.mkdtemp(prefix="gridledger-sweep-"))
    rows: list[dict[str, Any]] = []
    try:
        meta = _save_columns(market_data, scratch)
        with Progress(
            TextColumn("[bold]sweep[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("", total=len(combos))
            with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(meta,)) as pool:
                futures = {
                    pool.submit(run_combo, base, combo): shown for combo, shown in zip(combos, texts, strict=True)
                }
                for future in as_completed(futures):
                    shown = futures[future]
                    try:
                        result = future.result()
                    except Exception as exc:
                        named = ", ".join(f"{a.key}={t}" for a, t in zip(axes, shown, strict=True))
                        for other in futures:
                            other.cancel()
                        _fail(f"{named}: {type(exc).__name__}: {exc}", 1)
                    rows.append({**{a.key: t for a, t in zip(axes, shown, strict=True)}, **result})
                    bar.advance(task)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return rows
