"""``gridledger sweep``: the backtest over every combination of ``--set`` values, across processes.

The parent reads the market data once and writes its columns as ``.npy`` files to a scratch
folder; each worker process maps them (``np.load(mmap_mode="r")``) once, when it starts, so
the data is neither parsed again nor copied per combination, and the workers share the page
cache. A combination is a set of config overrides; the worker rebuilds the config through
the same validation as ``load_config`` and runs the same ``Backtest`` as ``gridledger
backtest``.

Every ``--set`` value is validated before any work: a key that is not a config field, or a
value the config refuses, is one error line naming it (exit 2).

The parts: ``sweep_sets`` (the --set axes and their validation), ``sweep_pool`` (the shared
data and the worker processes), ``sweep_output`` (ranking, table, CSV, heatmap).
"""

from __future__ import annotations

import itertools
import os
from decimal import Decimal
from pathlib import Path

import typer
from rich.markup import escape

from gridledger.backtest.cli import _bundled_config, _check_output, _fail, err, load_window
from gridledger.backtest.sweep_output import COLUMNS, print_table, sort_rows, write_csv, write_heatmap
from gridledger.backtest.sweep_pool import run_all, run_combo
from gridledger.backtest.sweep_sets import NOT_SWEEPABLE, SECTIONS, Axis, apply, check_combo, parse_sets
from gridledger.config import ConfigError, load_config
from gridledger.console import PipeSafeConsole


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
    market_data = load_window(source, setup.market.rules.price_step, date_from, date_to)
    err.print(escape(market_data.describe()), soft_wrap=True)
    workers = min(jobs or os.cpu_count() or 1, len(combos))
    rows = run_all(market_data, base, combos, axes, texts, workers)
    warned: set[str] = set()
    for row in rows:
        if not row["fee_guard_ok"] and row["fee_message"] not in warned:
            warned.add(row["fee_message"])
            err.print(f"[bold yellow]warning:[/] {escape(row['fee_message'])}", soft_wrap=True)
    rows = sort_rows(rows)
    print_table(PipeSafeConsole(highlight=False, width=80), rows, axes, top)
    if csv_out is not None:
        write_csv(rows, axes, csv_out)
    if heatmap is not None:
        write_heatmap(rows, axes, heatmap, f"{cfg.grid.symbol} sweep on {market_data.source}: total PnL")


__all__ = [
    "COLUMNS",
    "NOT_SWEEPABLE",
    "SECTIONS",
    "Axis",
    "apply",
    "check_combo",
    "parse_sets",
    "print_table",
    "run_combo",
    "sort_rows",
    "sweep_command",
    "write_csv",
    "write_heatmap",
]
