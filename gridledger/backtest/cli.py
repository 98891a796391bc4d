"""``gridledger backtest``: the command body (registered in ``gridledger/cli.py``)."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.markup import escape

from gridledger.console import PipeSafeConsole

if TYPE_CHECKING:
    from gridledger.marketdata.series import MarketData

# A pipe or a file gets the whole table, not an 80-column squeeze.
out = PipeSafeConsole(highlight=False, width=None if sys.stdout.isatty() else 140)
err = PipeSafeConsole(stderr=True, highlight=False)  # a closed pipe exits 141


def _fail(message: str, code: int = 2) -> NoReturn:
    # One line, never markup: messages quote file names and config values.
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def parse_date(text: str, option: str) -> int:
    """``2026-01-31``, ``2026-01-31T12:00``, ``2026-01-31T12:00:00Z`` (UTC unless an offset is given) -> ms."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{option} {text[:40]!r}: not a date like 2026-01-31 or 2026-01-31T12:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _check_output(path: Path, option: str) -> None:
    folder = path.parent
    if path.is_dir():
        _fail(f"{option} {path}: is a directory")
    if not folder.is_dir():
        _fail(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        _fail(f"{option} {path}: not writable")


def load_window(source: str | Path, price_step: Decimal, date_from: str | None, date_to: str | None) -> MarketData:
    """The data of ``source`` within ``--from``/``--to`` (backtest and sweep alike); a bad
    date or file is a one-line error, exit 2."""
    from gridledger.marketdata import DataError, load_market_data

    try:
        start = parse_date(date_from, "--from") if date_from else None
        end = parse_date(date_to, "--to") if date_to else None
        if start is not None and end is not None and end <= start:
            raise ValueError(f"--to {date_to} is not after --from {date_from}")
        market_data = load_market_data(source, price_step)
        if start is not None or end is not None:
            market_data = market_data.slice_time(start, end)
    except (DataError, ValueError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or source}: {exc.strerror or exc}")
    return market_data


def _bundled_config() -> Path:
    from importlib.resources import files

    return Path(str(files("gridledger") / "data" / "paper.toml"))


def backtest_command(
    config: Path | None = typer.Option(
        None,
        "--config",
        "-c",
        help="TOML config; default: the bundled one "
        "(gridledger/data/paper.toml). Market rules, fees and balances come from "
        "its [paper] table.",
    ),
    data: Path | None = typer.Option(
        None,
        "--data",
        "-d",
        help="Candles or trades: Binance kline or aggTrades "
        "files (CSV or zip, no header), timestamp,open,high,low,close,volume or "
        "timestamp_ms,price,amount CSV, or a cache folder (gridledger data import/fetch). Default: the config's [paper] candles_csv "
        "or trades_csv (relative to the config's folder).",
    ),
    date_from: str | None = typer.Option(None, "--from", help="Start (UTC), e.g. 2026-01-01: rows at or after it."),
    date_to: str | None = typer.Option(None, "--to", help="End (UTC), exclusive: rows before it."),
    report_json: Path | None = typer.Option(None, "--report-json", help="Also write the report as JSON."),
    fills_csv: Path | None = typer.Option(None, "--fills-csv", help="Write one row per applied trade."),
    plot: Path | None = typer.Option(
        None,
        "--plot",
        help="Write a self-contained HTML chart (plotly, works "
        "offline): price, levels, centre, fills, PnL, drawdown, inventory.",
    ),
    market: str | None = typer.Option(
        None,
        "--market",
        help="spot (default) or perp: trade the symbol's linear perpetual (BTC/USDT becomes "
        "BTC/USDT:USDT) with margin and fees in USDT (no funding or liquidation in a backtest).",
    ),
    direction: str | None = typer.Option(
        None,
        "--direction",
        help="long, short or neutral (short and neutral need --market perp); a neutral grid's "
        "pivot defaults to the level nearest the first price. Default: the config's [grid] direction.",
    ),
    leverage: int | None = typer.Option(
        None, "--leverage", min=1, max=125, help="Perpetual leverage (default: the config's [perp] leverage)."
    ),
) -> None:
    """Backtest the grid on recorded candles or trades: the same decide() and ledger as paper and live."""

    from gridledger.backtest import check_fee_step
    from gridledger.backtest.report import build_report, print_report, write_fills_csv
    from gridledger.backtest.run import Backtest
    from gridledger.backtest.setup import setup_from_config
    from gridledger.config import ConfigError
    from gridledger.marketdata import DataError, load_market_data
    from gridledger.paper.perp import load_session_config
    from gridledger.paper.settings import paper_settings

    def start_price(raw: dict[str, Any]) -> Decimal:
        # A neutral grid's pivot defaults to the level nearest the first price of the data.
        table = raw.get("paper")
        settings = paper_settings(dict(table) if isinstance(table, dict) else {})
        first_source = data if data is not None else (settings.candles_csv or settings.trades_csv)
        if first_source is None:
            return settings.start_price  # refused below: no market data
        first = load_market_data(first_source, settings.price_step)
        return first.price(int(first.open[0])) if len(first) else settings.start_price

    try:
        # --market/--direction/--leverage go into the file's settings before its one validation
        # (gridledger/paper/perp.py), so [risk] is checked against the flagged grid.
        cfg = load_session_config(
            config or _bundled_config(),
            market=market,
            direction=direction,
            leverage=leverage,
            start_price=start_price,
        )
        ps = paper_settings(dict(cfg.paper))
    except (ConfigError, ValueError, DataError) as exc:
        _fail(str(exc))
    except OSError as exc:  # the price data the neutral pivot is read from
        _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    source = data if data is not None else (ps.candles_csv or ps.trades_csv)
    if source is None:
        _fail("give the market data with --data PATH (or [paper] candles_csv / trades_csv in the config)")
    try:
        setup = setup_from_config(cfg, ps)
    except (ConfigError, ValueError, DataError) as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or source}: {exc.strerror or exc}")
    for path, option in ((report_json, "--report-json"), (fills_csv, "--fills-csv"), (plot, "--plot")):
        if path is not None:
            _check_output(path, option)
    market_data = load_window(source, setup.market.rules.price_step, date_from, date_to)
    highest = market_data.price(int(market_data.high.max()))
    fee_check = check_fee_step(setup.params, setup.market.maker_fee, setup.market.taker_fee, highest)
    if not fee_check.ok:
        err.print(f"[bold yellow]warning:[/] {escape(fee_check.message())}", soft_wrap=True)
    err.print(escape(market_data.describe()), soft_wrap=True)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    t0 = time.perf_counter()
    with Progress(
        TextColumn("[bold]backtest[/]"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=len(market_data))

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            bt = Backtest(setup, market_data).run(progress)
        except ValueError as exc:  # a grid the strategy refuses (off the tick), a data/market mismatch
            _fail(str(exc))
    wall = time.perf_counter() - t0
    doc: dict[str, Any] = build_report(bt, wall_seconds=wall, fee_check=fee_check)
    print_report(out, doc)
    if not fee_check.ok:
        out.print(f"warning: {fee_check.message()}", markup=False, soft_wrap=True)
    try:
        if report_json is not None:
            report_json.write_text(json.dumps(doc, indent=2) + "\n")
        if fills_csv is not None:
            write_fills_csv(bt, fills_csv)
        if plot is not None:
            from gridledger.backtest.plot import series_from_backtest, write_plot

            write_plot(series_from_backtest(bt, doc), plot)
    except OSError as exc:
        _fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))


def paper_fee_check(cfg: Any, ps: Any) -> Any:
    """The fee guard for ``gridledger paper``: the grid step against the paper venue's fees, at the
    highest price of the CSV path (where the step is the smallest share) or the synthetic start
    price. ``None`` when the CSV cannot be read: the session reports that itself."""
    from gridledger.backtest.feeguard import check_fee_step
    from gridledger.backtest.setup import params_from_config
    from gridledger.marketdata import DataError, load_market_data

    price = ps.start_price
    source = ps.candles_csv or ps.trades_csv
    if source:
        try:
            md = load_market_data(Path(source), ps.price_step)
        except (DataError, ValueError, OSError):
            return None
        price = md.price(int(md.high.max()))
    return check_fee_step(params_from_config(cfg), ps.maker_fee, ps.taker_fee, price)
