"""``gridledger sweep``: the backtest over every combination of ``--set`` values, across processes.

The parent reads the market data once and writes its columns as ``.npy`` files to a scratch
folder; each worker process maps them (``np.load(mmap_mode="r")``) once, when it starts, so
the data is neither parsed again nor copied per combination, and the workers share the page
cache. A combination is a set of config overrides; the worker rebuilds the config through
the same validation as ``load_config`` and runs the same ``Backtest`` as ``gridledger
backtest``.

Every ``--set`` value is validated before any work: a key that is not a config field, or a
value the config refuses, is one error line naming it (exit 2).
"""

from __future__ import annotations

import csv
import itertools
import os
import shutil
import tempfile
import time
import tomllib
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gridledger.backtest.cli import _bundled_config, _check_output, _fail, err, parse_date
from gridledger.config import Config, ConfigError, GridConfig, StrategyConfig, load_config, parse_config
from gridledger.marketdata.series import DataError, Gaps, MarketData

# What --set may change: the grid, the strategy, and the simulated market ([paper]: fees,
# balances, precision). Engine, API and exchange settings do not change a backtest.
SECTIONS = ("grid", "strategy", "paper")
# The grid's identity is not a parameter (its client ids would not change the result).
NOT_SWEEPABLE = {"grid.id", "grid.symbol", "grid.account", "paper.candles_csv", "paper.trades_csv"}
COLUMNS = (
    "total_pnl",
    "realized_pnl",
    "unrealized_pnl",
    "return_on_committed_pct",
    "max_drawdown",
    "max_drawdown_at",
    "round_trips",
    "fills",
    "fees_in_quote",
    "buy_and_hold_pct",
    "fee_guard_ok",
)


@dataclass(frozen=True, slots=True)
class Axis:
    key: str  # section.field
    texts: tuple[str, ...]  # the values as given
    values: tuple[Any, ...]  # as the config reads them (TOML value syntax)


def _toml_value(text: str) -> Any:
    """``60`` -> 60, ``0.25`` -> Decimal, ``true`` -> True, ``"x"`` or ``x`` -> "x" (as TOML would read it)."""
    try:
        return tomllib.loads(f"v = {text}", parse_float=Decimal)["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_sets(sets: list[str]) -> list[Axis]:
    """``section.field=v1,v2,...`` -> axes; ValueError (one line naming the --set) when malformed."""
    from gridledger.paper.settings import PaperSettings

    fields = {
        "grid": set(GridConfig.model_fields),
        "strategy": set(StrategyConfig.model_fields),
        "paper": set(PaperSettings.model_fields),
    }
    axes: list[Axis] = []
    for item in sets:
        key, eq, rest = item.partition("=")
        key = key.strip()
        if not eq or not key or not rest.strip():
            raise ValueError(f"--set {item!r}: expected section.field=value1,value2,... e.g. grid.interval=60,120")
        section, dot, name = key.partition(".")
        if not dot or section not in SECTIONS or name not in fields[section] or key in NOT_SWEEPABLE:
            hint = (
                f"not a field of [{section}]"
                if section in SECTIONS and dot
                else f"sweepable sections are {', '.join(SECTIONS)}"
            )
            raise ValueError(f"--set {key}: not a sweepable config field ({hint})")
        if any(a.key == key for a in axes):
            raise ValueError(f"--set {key}: given twice")
        texts = tuple(t.strip() for t in rest.split(","))
        if any(not t for t in texts):
            raise ValueError(f"--set {key}={rest}: an empty value")
        axes.append(Axis(key, texts, tuple(_toml_value(t) for t in texts)))
    if not axes:
        raise ValueError("give at least one --set section.field=value1,value2,...")
    return axes


def apply(base: dict[str, Any], combo: tuple[tuple[str, Any], ...]) -> Config:
    """The base config with ``combo`` applied, validated as ``load_config`` validates a file."""
    data = {section: dict(table) if isinstance(table, dict) else table for section, table in base.items()}
    for key, value in combo:
        section, _, name = key.partition(".")
        data.setdefault(section, {})[name] = value
    return parse_config(data, "config")


def check_combo(base: dict[str, Any], combo: tuple[tuple[str, Any], ...]) -> None:
    """Everything a run would refuse, before any work: the config, the [paper] table, the grid
    against the market (ValueError/ConfigError)."""
    from gridledger.backtest.setup import setup_from_config
    from gridledger.paper.settings import paper_settings

    cfg = apply(base, combo)
    setup_from_config(cfg, paper_settings(dict(cfg.paper)))


# ------------------------------------------------------------------ worker side
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


# ------------------------------------------------------------------ results
def sort_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best first: total PnL, then the smaller drawdown, then more round trips."""
    return sorted(rows, key=lambda r: (-Decimal(r["total_pnl"]), Decimal(r["max_drawdown"]), -int(r["round_trips"])))


def write_csv(rows: list[dict[str, Any]], axes: list[Axis], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("rank", *(a.key for a in axes), *COLUMNS))
        for rank, row in enumerate(rows, 1):
            writer.writerow((rank, *(row[a.key] for a in axes), *(row[c] for c in COLUMNS)))


def print_table(console: Console, rows: list[dict[str, Any]], axes: list[Axis], limit: int) -> None:
    table = Table(
        title=f"sweep: {len(rows)} combinations, best total PnL first",
        title_justify="left",
        box=None,
        pad_edge=False,
        padding=(0, 1),
    )
    table.add_column("#", justify="right")
    for a in axes:
        table.add_column(a.key.partition(".")[2], justify="right", overflow="fold")
    for name in ("total PnL", "return %", "max DD", "trips", "fills"):
        table.add_column(name, justify="right")
    for rank, row in enumerate(rows[:limit], 1):
        table.add_row(
            str(rank),
            *(escape(str(row[a.key])) for a in axes),
            f"{Decimal(row['total_pnl']):.2f}",
            str(row["return_on_committed_pct"] or "n/a"),
            row["max_drawdown"],
            str(row["round_trips"]),
            str(row["fills"]),
        )
    console.print(table)
    if len(rows) > limit:
        console.print(f"({len(rows) - limit} more rows in the CSV)")


def write_heatmap(rows: list[dict[str, Any]], axes: list[Axis], path: Path, title: str) -> None:
    """Total PnL over the first two axes (the best over any further axes), plotly, offline."""
    import plotly.graph_objects as go

    xa = axes[0]
    ya = axes[1] if len(axes) > 1 else None
    ys = list(ya.texts) if ya else [""]
    z: list[list[float | None]] = [[None] * len(xa.texts) for _ in ys]
    for row in rows:
        i = ys.index(str(row[ya.key])) if ya else 0
        j = list(xa.texts).index(str(row[xa.key]))
        value = float(Decimal(row["total_pnl"]))
        current = z[i][j]
        if current is None or value > current:
            z[i][j] = value
    text = [["" if v is None else f"{v:.2f}" for v in line] for line in z]
    fig = go.Figure(
        go.Heatmap(
            x=[f"{v}" for v in xa.texts],
            y=ys,
            z=z,
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmid=0,
            colorbar={"title": "total PnL"},
            hovertemplate=f"{xa.key}=%{{x}}<br>{ya.key if ya else ''}=%{{y}}<br>total PnL %{{z:.2f}}<extra></extra>",
        )
    )
    extra = " (best over the other axes)" if len(axes) > 2 else ""
    fig.update_layout(
        title=title + extra,
        xaxis_title=xa.key,
        yaxis_title=ya.key if ya else "",
        xaxis_type="category",
        yaxis_type="category",
        template="plotly_white",
    )
    fig.write_html(str(path), include_plotlyjs=True, full_html=True, config={"displaylogo": False})


def sweep_command(
    config: Path | None = typer.Option(None, "--config", "-c", help="TOML config; default: the bundled one."),
    data: Path | None = typer.Option(
        None,
        "--data",
        "-d",
        help="Candles, trades or a data cache, as for "
        "backtest. Default: the config's [paper] candles_csv or trades_csv.",
    ),
    sets: list[str] = typer.Option(
        [],
        "--set",
        help="section.field=v1,v2,... (grid, strategy or paper); repeat for more axes: every combination runs.",
    ),
    jobs: int = typer.Option(0, "--jobs", "-j", help="Worker processes; default: the CPU count.", min=0, max=256),
    date_from: str | None = typer.Option(None, "--from", help="Start (UTC), e.g. 2026-01-01."),
    date_to: str | None = typer.Option(None, "--to", help="End (UTC), exclusive."),
    csv_out: Path | None = typer.Option(None, "--csv", help="Write every combination's row, best first."),
    heatmap: Path | None = typer.Option(
        None, "--heatmap", help="Write a heatmap page (plotly, offline) of total PnL over the first two --set axes."
    ),
    top: int = typer.Option(20, "--top", min=1, help="Rows printed (the CSV has them all)."),
) -> None:
    """Backtest every combination of --set values across processes; a table sorted by total PnL."""
    from gridledger.backtest.setup import setup_from_config
    from gridledger.marketdata import load_market_data
    from gridledger.paper.settings import paper_settings

    try:
        axes = parse_sets(sets)
    except ValueError as exc:
        _fail(str(exc))
    config_path = config or _bundled_config()
    try:
        cfg = load_config(config_path)
        ps = paper_settings(dict(cfg.paper))
        setup = setup_from_config(cfg, ps)
    except (ConfigError, ValueError) as exc:
        _fail(str(exc))
    base = cfg.model_dump()
    # Each value alone, then every combination: the error names the --set that causes it.
    for a in axes:
        for text, value in zip(a.texts, a.values, strict=True):
            try:
                check_combo(base, ((a.key, value),))
            except (ConfigError, ValueError) as exc:
                _fail(f"--set {a.key}={text}: {str(exc).removeprefix('config: ')}")
    combos = [
        tuple(zip((a.key for a in axes), values, strict=True))
        for values in itertools.product(*(a.values for a in axes))
    ]
    texts = list(itertools.product(*(a.texts for a in axes)))
    for combo, shown in zip(combos, texts, strict=True):
        try:
            check_combo(base, combo)
        except (ConfigError, ValueError) as exc:
            named = ", ".join(f"{a.key}={t}" for a, t in zip(axes, shown, strict=True))
            _fail(f"--set {named}: {str(exc).removeprefix('config: ')}")
    steps = {apply(base, c).paper.get("price_step", setup.market.rules.price_step) for c in combos}
    if len({Decimal(str(s)) for s in steps}) > 1:
        _fail("--set paper.price_step: the data is read with one price step; sweep it in separate runs")
    for path, option in ((csv_out, "--csv"), (heatmap, "--heatmap")):
        if path is not None:
            _check_output(path, option)
    source = data if data is not None else (ps.candles_csv or ps.trades_csv)
    if source is None:
        _fail("give the market data with --data PATH (or [paper] candles_csv / trades_csv in the config)")
    try:
        start = parse_date(date_from, "--from") if date_from else None
        end = parse_date(date_to, "--to") if date_to else None
        if start is not None and end is not None and end <= start:
            raise ValueError(f"--to {date_to} is not after --from {date_from}")
        market_data = load_market_data(source, setup.market.rules.price_step)
        if start is not None or end is not None:
            market_data = market_data.slice_time(start, end)
    except (DataError, ValueError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or source}: {exc.strerror or exc}")
    err.print(escape(market_data.describe()), soft_wrap=True)
    workers = min(jobs or os.cpu_count() or 1, len(combos))
    rows = _run_all(market_data, base, combos, axes, texts, workers)
    warned: set[str] = set()
    for row in rows:
        if not row["fee_guard_ok"] and row["fee_message"] not in warned:
            warned.add(row["fee_message"])
            err.print(f"[bold yellow]warning:[/] {escape(row['fee_message'])}", soft_wrap=True)
    rows = sort_rows(rows)
    print_table(Console(highlight=False, width=80), rows, axes, top)
    if csv_out is not None:
        write_csv(rows, axes, csv_out)
    if heatmap is not None:
        write_heatmap(rows, axes, heatmap, f"{cfg.grid.symbol} sweep on {market_data.source}: total PnL")


def _run_all(
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


__all__ = ["Axis", "apply", "parse_sets", "run_combo", "sort_rows", "sweep_command", "write_csv", "write_heatmap"]
