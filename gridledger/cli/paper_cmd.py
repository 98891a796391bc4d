"""`gridledger paper`: a session on the simulated exchange, its report and plot."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from gridledger.cli.apps import app
from gridledger.cli.common import (
    _bundled_paper_config,
    _bundled_paper_default,
    _check_api,
    _check_output_file,
    _load,
    err,
    fail,
    out,
)
from gridledger.config import ConfigError
from gridledger.logs import setup_logging


@app.command()
def paper(
    config: Path | None = typer.Option(None, "--config", "-c", help="TOML config; default: the bundled one."),
    duration: str | None = typer.Option(
        None,
        "--duration",
        help="Simulated time, e.g. 2w, 1d, 12h, 30m, 90s (at most 400d). Default: the config's "
        f"[paper] duration, {_bundled_paper_default('duration')} in the bundled config.",
    ),
    seed: int | None = typer.Option(
        None,
        "--seed",
        help="Seed of the market and the faults. Default: the config's [paper] seed, "
        f"{_bundled_paper_default('seed')} in the bundled config.",
    ),
    chaos: bool = typer.Option(False, "--chaos", help="Inject every fault and kill/restart the engine."),
    db: Path | None = typer.Option(None, "--db", help="Journal path (default: a temporary file)."),
    report_json: Path | None = typer.Option(None, "--report-json", help="Also write the report as JSON."),
    log_level: str = typer.Option("ERROR", "--log-level", help="Log level on stderr."),
    serve: bool = typer.Option(
        False,
        "--serve",
        help="Serve the dashboard and API while the session runs in paced "
        "time, until its duration ends or it is stopped (Ctrl-C, the stop endpoint).",
    ),
    speed: float = typer.Option(
        60.0,
        "--speed",
        min=0.01,
        max=100_000.0,
        help="With --serve: simulated seconds per real second (60: a minute per second).",
    ),
    port: int | None = typer.Option(
        None, "--port", min=1, max=65535, help="With --serve: the port (default: [api] port, else 8765)."
    ),
    market: str | None = typer.Option(
        None,
        "--market",
        help="spot (default) or perp: a perp session trades the symbol's linear perpetual "
        "(BTC/USDT becomes BTC/USDT:USDT) on the simulated USDⓈ-M venue.",
    ),
    direction: str | None = typer.Option(
        None,
        "--direction",
        help="long, short or neutral (short and neutral need --market perp); a neutral grid's "
        "pivot defaults to the level nearest the start price. Default: the config's [grid] direction.",
    ),
    leverage: int | None = typer.Option(
        None, "--leverage", min=1, max=125, help="Perpetual leverage (default: the config's [perp] leverage)."
    ),
    plot: Path | None = typer.Option(
        None,
        "--plot",
        help="Write a self-contained HTML chart (plotly, works "
        "offline): price, levels, fills, PnL, drawdown, inventory.",
    ),
) -> None:
    """Paper-trade the grid on the built-in simulated exchange, then check the ledger against it."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from gridledger.paper.settings import paper_settings

    setup_logging(log_level)
    path = config or _bundled_paper_config()
    if market is None and direction is None and leverage is None:
        cfg = _load(path)
    else:
        # --market/--direction/--leverage go into the file's settings before its one
        # validation (gridledger/paper/perp.py), so [risk] is checked against the flagged grid.
        from gridledger.paper.perp import load_session_config, session_start_price

        def start_price(data: dict[str, Any]) -> Any:
            raw = data.get("paper")
            return session_start_price(
                paper_settings(_session_table(raw if isinstance(raw, dict) else {}, duration, seed, serve))
            )

        try:
            cfg = load_session_config(
                path, market=market, direction=direction, leverage=leverage, start_price=start_price
            )
        except (ConfigError, ValueError) as exc:
            fail(str(exc))
        except OSError as exc:  # the price CSV the neutral pivot is read from
            fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    try:
        ps = paper_settings(_session_table(dict(cfg.paper), duration, seed, serve))
    except ConfigError as exc:
        fail(str(exc))
    if report_json is not None:
        _check_output_file(report_json, "--report-json")
    if plot is not None:
        _check_output_file(plot, "--plot")
    from gridledger.backtest.cli import paper_fee_check

    fee_check = paper_fee_check(cfg, ps)
    if fee_check is not None and not fee_check.ok:
        err.print(f"[bold yellow]warning:[/] {escape(fee_check.message())}", soft_wrap=True)
    watcher = None
    if serve:
        import secrets

        api_cfg = cfg.api.model_copy(update={"port": port or cfg.api.port or 8765})
        token = _check_api(cfg.model_copy(update={"api": api_cfg}))
        if token is None:
            # A paper session on loopback: a fresh token for the pause/resume buttons, shown once.
            token = secrets.token_urlsafe(18)
            err.print(f"control token (for the dashboard's buttons): {token}", markup=False)
        from gridledger.api.paper import PaperServe

        watcher = PaperServe(
            api_cfg,
            token,
            speed=speed,
            on_ready=lambda url: err.print(f"dashboard: {url}  (Ctrl-C stops the session)", markup=False),
        )
    # Only now the engine and ccxt (seconds of imports): a bad config is refused at once.
    from gridledger.paper.report import print_report
    from gridledger.paper.report import report_json as make_report
    from gridledger.paper.session import run_paper
    from gridledger.store.journal import JournalError

    with Progress(
        TextColumn("[bold]paper[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(f"{cfg.grid.symbol} {ps.duration}{' chaos' if chaos else ''}", total=ps.duration_ms)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        def resumed(info: Any) -> None:
            bar.console.print(
                escape(
                    f"resuming session from {info.journal} ({info.orders} orders, last event at {info.last_event_iso})"
                )
            )

        plot_series: list[Any] = []

        def figures_of(res: Any) -> dict[str, Any]:
            # The backtest's figures over time (drawdown, buy-and-hold) from this run's price path
            # and fills; stored with the result, so a finished session prints them again.
            from gridledger.backtest.paper_series import paper_figures

            fields, series_of_run = paper_figures(cfg, ps, res)
            plot_series.append(series_of_run)
            return fields

        try:
            result = run_paper(
                cfg,
                ps,
                chaos=chaos,
                db=db,
                progress=progress,
                on_resume=resumed,
                watcher=watcher,
                speed=speed,
                figures=figures_of,
            )
        except (JournalError, ValueError) as exc:
            fail(str(exc))
        except OSError as exc:  # a price CSV that cannot be read, a journal folder that vanished
            fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    series = plot_series[0] if plot_series else None
    doc = make_report(
        result,
        seed=ps.seed,
        chaos=chaos,
        duration=ps.duration,
        figures=result.figures or None,
        data=ps.candles_csv or ps.trades_csv,
    )
    if plot is not None:
        if series is None:
            fail(
                f"--plot {plot}: this session had finished before this run; its stored report has no series "
                "(run a new session to plot it)"
            )
        from gridledger.backtest.plot import write_plot

        try:
            write_plot(series, plot)
        except OSError as exc:
            fail(f"--plot {plot}: {exc.strerror or exc}")
    if result.already_finished:
        # A finished session is never traded again (its price path is over): its report, as it was.
        out.print(f"session already finished: {db} (use another --db to start a new session)", markup=False)
    print_report(out, doc)
    _warn_if_data_ended_early(result, ps)
    if report_json is not None:
        try:
            report_json.write_text(json.dumps(doc, indent=2) + "\n")
        except OSError as exc:
            fail(f"--report-json {report_json}: {exc.strerror or exc}")
    if not result.audit.match:
        raise typer.Exit(1)


def _session_table(paper: dict[str, Any], duration: str | None, seed: int | None, serve: bool) -> dict[str, Any]:
    """The [paper] table with --duration and --seed applied (not yet validated)."""
    table = dict(paper)
    if duration is not None:
        table["duration"] = duration
    elif serve:
        # A served session runs until its user stops it: as long as the price path may be.
        from gridledger.paper.settings import MAX_TICKS

        tick_ms = table.get("tick_ms", 2000)
        longest_s = MAX_TICKS * tick_ms // 1000 if isinstance(tick_ms, int) and tick_ms > 0 else 0
        table["duration"] = f"{min(longest_s, 400 * 86_400)}s" if longest_s else "1d"
    if seed is not None:
        table["seed"] = seed
    return table


def _warn_if_data_ended_early(result: Any, ps: Any) -> None:
    """A recorded price file shorter than --duration ends the session early: say so (issue 9)."""
    if not (ps.candles_csv or ps.trades_csv) or result.already_finished:
        return
    covered = result.end_ms - result.start_ms
    slack = max(60_000, ps.duration_ms // 100)  # the last candle's own interval, rounding
    if covered + slack >= ps.duration_ms:
        return
    ended = datetime.fromtimestamp(result.end_ms / 1000, UTC).isoformat()
    minutes = covered // 60_000
    err.print(
        f"warning: the price data ends at {ended}: the session covered {minutes // 60}h{minutes % 60:02d}m "
        f"of the requested --duration {ps.duration}",
        markup=False,
        soft_wrap=True,
    )
