"""``gridledger data import`` and ``gridledger data fetch`` (registered in ``gridledger/cli.py``)."""

from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import NoReturn

import numpy as np
import typer
from rich.markup import escape

from gridledger.console import PipeSafeConsole

data_app = typer.Typer(
    help="Market data: import files into the local cache, or download candles with ccxt.",
    no_args_is_help=True,
    add_completion=False,
)
err = PipeSafeConsole(stderr=True, highlight=False)  # a closed pipe exits 141
out = PipeSafeConsole(highlight=False)
CHUNK_ROWS = 1_000_000  # an import is written in chunks of this many rows


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def _parse_date(text: str, option: str) -> int:
    from gridledger.backtest.cli import parse_date

    try:
        return parse_date(text, option)
    except ValueError as exc:
        _fail(str(exc))


def _check_out(path: Path) -> None:
    parent = path.absolute().parent
    if not parent.is_dir():
        _fail(f"--out {path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        _fail(f"--out {path}: not writable")


@data_app.command("import")
def import_command(
    source: Path = typer.Argument(
        ..., help="A market data file (Binance kline/aggTrades CSV or zip, OHLCV or trades CSV)."
    ),
    out_dir: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="The cache folder (created; an existing cache of the "
        "same kind is extended with the rows after its last one).",
    ),
    price_step: str = typer.Option(
        "0.00000001",
        "--price-step",
        help="Prices are stored as whole counts of this step (prices off it are rounded half to even).",
    ),
) -> None:
    """Import a market data file into the local columnar cache (what backtest --data also reads)."""
    from gridledger.marketdata import DataError, load_market_data
    from gridledger.marketdata.cache import CacheWriter, Columns

    try:
        step = Decimal(price_step)
        if not step.is_finite() or step <= 0:
            raise InvalidOperation
    except InvalidOperation:
        _fail(f"--price-step {price_step!r}: not a positive decimal")
    _check_out(out_dir)
    try:
        md = load_market_data(source, step)
        meta = {"kind": md.kind, "interval_ms": md.interval_ms} if md.kind == "candles" else {"kind": md.kind}
        writer = CacheWriter(out_dir, meta)
        keep = np.ones(len(md), dtype=bool)
        if writer.last_ts is not None:
            keep = md.ts_ms > writer.last_ts if md.kind == "candles" else md.ts_ms >= writer.last_ts
        index = np.flatnonzero(keep)
        skipped = len(md) - int(index.size)
        names = ("open", "high", "low", "close") if md.kind == "candles" else ("price",)
        for lo in range(0, int(index.size), CHUNK_ROWS):
            sel = index[lo : lo + CHUNK_ROWS]
            prices = {n: getattr(md, "low" if n == "price" else n)[sel].astype(np.int64) for n in names}
            writer.append(Columns(md.ts_ms[sel], prices, md.price_step, md.volume[sel].astype(np.float64)))
    except DataError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{exc.filename or source}: {exc.strerror or exc}")
    err.print(escape(md.describe()), soft_wrap=True)
    note = f" ({skipped:,} rows already in the cache skipped)" if skipped else ""
    out.print(f"imported {int(index.size):,} {md.kind} into {out_dir}{note}", markup=False, soft_wrap=True)


@data_app.command("fetch")
def fetch_command(
    exchange: str = typer.Option(..., "--exchange", "-e", help="ccxt exchange id, e.g. binance."),
    symbol: str = typer.Option(..., "--symbol", "-s", help="Unified symbol, e.g. BTC/USDT."),
    timeframe: str = typer.Option("1m", "--timeframe", "-t", help="Candle interval: 1m, 5m, 1h, 1d, ..."),
    since: str = typer.Option(..., "--since", help="First candle (UTC), e.g. 2025-06-01."),
    until: str | None = typer.Option(None, "--until", help="End (UTC), exclusive; default: now."),
    out_dir: Path | None = typer.Option(
        None, "--out", "-o", help="Cache folder; default: EXCHANGE-SYMBOL-TIMEFRAME in the working directory."
    ),
    endpoint: str | None = typer.Option(
        None,
        "--endpoint",
        help="Send every request to this base URL instead "
        "(a proxy, or a local test server); e.g. http://127.0.0.1:8080.",
    ),
) -> None:
    """Download OHLCV candles through ccxt (paged, rate-limited, resumable) into the local cache."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from gridledger.marketdata.fetch import FetchError, fetch_ohlcv, make_exchange
    from gridledger.marketdata.series import DataError, iso

    since_ms = _parse_date(since, "--since")
    until_ms = _parse_date(until, "--until") if until else None
    if until_ms is not None and until_ms <= since_ms:
        _fail(f"--until {until} is not after --since {since}")
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        _fail(f"--endpoint {endpoint!r}: expected an http:// or https:// URL")
    folder = out_dir or Path(f"{exchange}-{symbol.replace('/', '').replace(':', '')}-{timeframe}")
    _check_out(folder)
    try:
        ex = make_exchange(exchange, endpoint)
    except ValueError as exc:
        _fail(str(exc))
    try:
        with Progress(
            TextColumn(f"[bold]fetch[/] {escape(symbol)} {escape(timeframe)}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            result = fetch_ohlcv(ex, symbol, timeframe, since_ms, until_ms, folder, progress)
    except (ValueError, DataError) as exc:
        _fail(str(exc))
    except FetchError as exc:
        _fail(str(exc), 1)
    except OSError as exc:
        _fail(f"{exc.filename or folder}: {exc.strerror or exc}")
    if result.resumed_after is not None:
        err.print(f"resumed after the last stored candle, {iso(result.resumed_after)}", markup=False)
    last = iso(result.last_ts) if result.last_ts is not None else "none"
    out.print(f"stored {result.stored:,} candles in {folder} (last candle {last})", markup=False, soft_wrap=True)
    if result.interrupted:
        err.print("interrupted: run the same command again to continue after the last stored candle", markup=False)
        raise typer.Exit(130)
