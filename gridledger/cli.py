"""The command line: ``gridledger replay``, ``gridledger coid``, ``gridledger paper``, ``gridledger live``."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gridledger.config import ConfigError, load_config
from gridledger.domain.coid import ClientId, CoidError, decode, encode
from gridledger.domain.types import Role, Side
from gridledger.logs import setup_logging
from gridledger.venues.registry import format_names

# rich_markup_mode=None: help text is printed as written. Rich markup would take "[grid]" in a
# help string for a style tag and print "TOML config with a  table." (issue 7 item 16).
app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  pretty_exceptions_enable=False,
                  help="gridledger: a grid market maker with an exactly-once ledger.")
coid_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                       help="Encode and decode gridledger client order ids.")
app.add_typer(coid_app, name="coid")
journal_app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                          help="Maintain a journal: export its evidence, compact it.")
app.add_typer(journal_app, name="journal")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


# --format choices: "auto" and every format the venue registry declares (a new venue appears
# here by itself). mypy cannot see members of an Enum built from a computed mapping.
Format = Enum(  # type: ignore[misc]
    "Format", {name.replace("-", "_"): name for name in ("auto", *format_names())}, type=str
)


def fail(message: str, code: int = 2) -> None:
    # The message quotes config keys ("[paper] duration") and user input: never markup.
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gridledger")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "unknown"


def _show_version(value: bool) -> None:
    if value:
        out.print(f"gridledger {_version()}", markup=False)
        raise typer.Exit(0)


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """gridledger: a grid market maker with an exactly-once ledger."""


def _bundled_paper_config() -> Path:
    from importlib.resources import files

    return Path(str(files("gridledger") / "data" / "paper.toml"))


def _bundled_paper_default(key: str) -> str:
    """A [paper] value of the bundled config, for --help (the config given with -c may differ)."""
    try:
        return str(tomllib.loads(_bundled_paper_config().read_text(encoding="utf-8"))["paper"][key])
    except (OSError, KeyError, ValueError):  # pragma: no cover - the bundled file is part of the package
        return "?"


def _check_output_file(path: Path, option: str) -> None:
    """Refuse an output path before hours of work, not after (issue 7 item 15)."""
    folder = path.parent
    if path.is_dir():
        fail(f"{option} {path}: is a directory")
    if not folder.is_dir():
        fail(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        fail(f"{option} {path}: not writable")


def _load(config: Path) -> Any:
    try:
        return load_config(config)
    except ConfigError as exc:
        fail(str(exc))


@app.command()
def replay(
    events: list[Path] = typer.Argument(..., help="JSON Lines files, one exchange message per line; - reads standard input."),
    config: Path = typer.Option(..., "--config", "-c", help="TOML config with a [grid] table."),
    db: Optional[Path] = typer.Option(None, "--db", help="SQLite journal: state persists across runs."),
    fmt: Format = typer.Option(Format["auto"], "--format", help="Message format; auto detects per line."),
    as_json: bool = typer.Option(False, "--json", help="Print the final state as one JSON object."),
    group_commit: int = typer.Option(1, "--group-commit", min=1, help="Messages per journal transaction."),
    log_level: str = typer.Option("WARNING", "--log-level", help="DEBUG, INFO, WARNING or ERROR (stderr)."),
) -> None:
    """Apply recorded order evidence to the ledger and print the final state."""
    from gridledger.ledger.report import ledger_state
    from gridledger.replay import replay as run_replay
    from gridledger.store.journal import JournalError

    setup_logging(log_level)
    cfg = _load(config)
    for path in events:
        if str(path) != "-" and not path.is_file():
            fail(f"events file not found: {path}")
    try:
        result = run_replay(events, cfg, db=db, fmt=fmt.value, group_commit=group_commit)
    except JournalError as exc:
        fail(str(exc))
    state = ledger_state(result.ledger)
    if db is not None:
        state["journal_outcomes"] = state["outcomes"]  # over the journal's whole life
    state["outcomes"] = result.outcomes  # this run's
    state["messages"] = result.messages
    state["skipped"] = dict(sorted(result.skipped.items()))
    state["rejections"] = [{"source": r.source, "line": r.line, "reason": r.reason} for r in result.rejections]
    if as_json:
        sys.stdout.write(json.dumps(state, indent=2) + "\n")
        return
    _print_state(state)


def _print_state(state: dict[str, Any]) -> None:
    # Every value below may quote input (rejection reasons, anomalies): escape it, markup is ours only.
    out.print(
        f"[bold]{escape(state['symbol'])}[/] grid {escape(state['grid_id'])}  anchor {state['anchor']}  "
        f"interval {state['interval']}"
    )
    from rich import box

    from gridledger.display import grid_quote_step, human, quote

    # Quote amounts at the grid's price precision (replay knows no market), sizes exact and
    # normalised. The table fits 80 columns: light rules, one blank between columns, and
    # cells fold rather than being cut to "0.00000…" when a terminal is narrower still.
    step = grid_quote_step(state["anchor"], state["interval"])
    table = Table(title="slots", box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, show_edge=False)
    for col in ("level", "price", "qty", "cost", "realized", "trips", "status", "bound order"):
        left = col in ("status", "bound order")
        table.add_column(col, justify="left" if left else "right", overflow="fold", no_wrap=False)
    for s in state["slots"]:
        table.add_row(
            str(s["level"]), human(s["price"]), human(s["qty"]), quote(s["cost"], step),
            quote(s["realized_pnl"], step), str(s["round_trips"]), s["status"], s["bound_order"] or "",
        )
    out.print(table)
    quote_asset = state["symbol"].split("/")[1].split(":")[0]
    fees = ", ".join(f"{quote(v, step) if a == quote_asset else human(v)} {a}" for a, v in state["fees"].items())
    out.print(f"position {human(state['position'])}   realized PnL {quote(state['realized_pnl'], step)}   "
              f"fees {fees or 'none'}")
    out.print("outcomes " + "  ".join(f"{k} {v}" for k, v in state["outcomes"].items()))
    if state["skipped"]:
        out.print(escape("skipped (not order evidence) " + "  ".join(f"{k}: {v}" for k, v in state["skipped"].items())))
    if state["parked"]:
        out.print(f"[yellow]{state['parked']} evidence item(s) parked: their exchange order ids are unknown[/]")
    for a in state["anomalies"]:
        out.print(f"[red]anomaly:[/] {escape(str(a))}")
    for r in state["rejections"]:
        out.print(f"[red]rejected[/] {escape(str(r['source']))}:{r['line']}: {escape(str(r['reason']))}", soft_wrap=True)


@app.command()
def paper(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="TOML config; default: the bundled one."),
    duration: Optional[str] = typer.Option(
        None, "--duration", help="Simulated time, e.g. 2w, 1d, 12h, 30m, 90s (at most 400d). Default: the config's "
        f"[paper] duration, {_bundled_paper_default('duration')} in the bundled config."),
    seed: Optional[int] = typer.Option(
        None, "--seed", help="Seed of the market and the faults. Default: the config's [paper] seed, "
        f"{_bundled_paper_default('seed')} in the bundled config."),
    chaos: bool = typer.Option(False, "--chaos", help="Inject every fault and kill/restart the engine."),
    db: Optional[Path] = typer.Option(None, "--db", help="Journal path (default: a temporary file)."),
    report_json: Optional[Path] = typer.Option(None, "--report-json", help="Also write the report as JSON."),
    log_level: str = typer.Option("ERROR", "--log-level", help="Log level on stderr."),
    serve: bool = typer.Option(False, "--serve", help="Serve the dashboard and API while the session runs in paced "
                               "time, until its duration ends or it is stopped (Ctrl-C, the stop endpoint)."),
    speed: float = typer.Option(60.0, "--speed", min=0.01, max=100_000.0,
                                help="With --serve: simulated seconds per real second (60: a minute per second)."),
    port: Optional[int] = typer.Option(None, "--port", min=1, max=65535,
                                       help="With --serve: the port (default: [api] port, else 8765)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Write a self-contained HTML chart (plotly, works "
                                        "offline): price, levels, fills, PnL, drawdown, inventory."),
) -> None:
    """Paper-trade the grid on the built-in simulated exchange, then check the ledger against it."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from gridledger.paper.settings import paper_settings

    setup_logging(log_level)
    cfg = _load(config or _bundled_paper_config())
    table = dict(cfg.paper)
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
    try:
        ps = paper_settings(table)
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

        watcher = PaperServe(api_cfg, token, speed=speed,
                             on_ready=lambda url: err.print(f"dashboard: {url}  (Ctrl-C stops the session)",
                                                            markup=False))
    # Only now the engine and ccxt (seconds of imports): a bad config is refused at once.
    from gridledger.paper.report import print_report, report_json as make_report
    from gridledger.paper.session import run_paper
    from gridledger.store.journal import JournalError
    with Progress(TextColumn("[bold]paper[/] {task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task(f"{cfg.grid.symbol} {ps.duration}{' chaos' if chaos else ''}", total=ps.duration_ms)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        def resumed(info: Any) -> None:
            bar.console.print(escape(f"resuming session from {info.journal} ({info.orders} orders, "
                                     f"last event at {info.last_event_iso})"))

        try:
            result = run_paper(cfg, ps, chaos=chaos, db=db, progress=progress, on_resume=resumed,
                               watcher=watcher, speed=speed)
        except (JournalError, ValueError) as exc:
            fail(str(exc))
        except OSError as exc:  # a price CSV that cannot be read, a journal folder that vanished
            fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    figures, series = None, None
    if not result.already_finished:
        # The backtest's figures over time (drawdown, buy-and-hold) from this run's price path and fills.
        from gridledger.backtest.paper_series import paper_figures

        figures, series = paper_figures(cfg, ps, result)
    doc = make_report(result, seed=ps.seed, chaos=chaos, duration=ps.duration, figures=figures)
    if plot is not None:
        if series is None:
            fail(f"--plot {plot}: this session had finished before this run; its stored report has no series "
                 "(run a new session to plot it)")
        from gridledger.backtest.plot import write_plot

        try:
            write_plot(series, plot)
        except OSError as exc:
            fail(f"--plot {plot}: {exc.strerror or exc}")
    if result.already_finished:
        # A finished session is never traded again (its price path is over): its report, as it was.
        out.print(f"session already finished: {db} (use another --db to start a new session)", markup=False)
    print_report(out, doc)
    if report_json is not None:
        try:
            report_json.write_text(json.dumps(doc, indent=2) + "\n")
        except OSError as exc:
            fail(f"--report-json {report_json}: {exc.strerror or exc}")
    if not result.audit.match:
        raise typer.Exit(1)


@app.command()
def live(
    config: Path = typer.Option(..., "--config", "-c", help="TOML config with the grid, strategy and exchange tables ([exchange] id names the venue: required)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Connect, reconcile, print the actions; send none."),
    sandbox: bool = typer.Option(False, "--sandbox", help="Use the venue's testnet (ccxt sandbox mode)."),
    db: Optional[Path] = typer.Option(None, "--db", help="Journal path (default: the exchange table's journal key)."),
    log_level: str = typer.Option("INFO", "--log-level", help="Log level on stderr."),
    log_json: bool = typer.Option(False, "--log-json", help="Logs as JSON lines."),
) -> None:
    """Trade the grid on a real exchange through ccxt (keys from environment variables)."""
    import asyncio

    from gridledger.live.settings import exchange_settings

    setup_logging(log_level, json_lines=log_json)
    cfg = _load(config)
    try:
        settings = exchange_settings(dict(cfg.exchange))
    except ConfigError as exc:
        fail(f"{config}: {exc}")
    from gridledger.live.factory import CredentialsError
    from gridledger.live.runner import journal_path, run_live
    from gridledger.store.journal import JournalError
    # Local checks first: a bad setup must fail before anything touches the network.
    if cfg.engine.metrics_port is not None and not dry_run:
        _check_port_free(cfg.engine.metrics_port)
    if cfg.api.port is not None and not dry_run:
        _check_api(cfg)
    _announce_resume(journal_path(cfg, settings, db), cfg)
    try:
        code = asyncio.run(run_live(cfg, settings, dry_run=dry_run, sandbox=sandbox, db=db, console=out))
    except CredentialsError as exc:
        fail(str(exc))
    except JournalError as exc:
        fail(str(exc))
    raise typer.Exit(code)


def _check_port_free(port: int) -> None:
    """metrics_port already taken: one line now, not a traceback after preflight."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the metrics server binds
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            fail(f"engine.metrics_port {port}: cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); "
                 "is another engine running?")


def _check_api(cfg: Any) -> str | None:
    """[api]: a non-loopback bind without a token, or a port in use: one line now, exit 2."""
    import socket

    from gridledger.api.auth import ApiSetupError, resolve_token

    try:
        token = resolve_token(cfg.api)
    except ApiSetupError as exc:
        fail(str(exc))
    host = cfg.api.host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the API server binds
        try:
            sock.bind((host, cfg.api.port))
        except OSError as exc:
            fail(f"api.port {cfg.api.port}: cannot listen on {cfg.api.host} ({exc.strerror or exc})")
    return token


def _announce_resume(path: Path, cfg: Any) -> None:
    """Say so when a run continues an existing journal (never creates one: --dry-run must not)."""
    from datetime import datetime, timezone

    from gridledger.ledger.ledger import Ledger
    from gridledger.store.journal import Journal, JournalError

    if not path.is_file():
        return
    ledger = Ledger(cfg.grid.spec())
    try:
        with Journal.open(path, ledger, synchronous=cfg.engine.journal_synchronous) as journal:
            last = journal.last_received_at()
            # Client ids are allocated (and persisted) before an order is sent (R7): one per order.
            orders = sum(slot.next_gen for slot in ledger.slots.values())
    except JournalError as exc:
        fail(str(exc))
    if last is None:
        return
    when = datetime.fromtimestamp(last / 1000, timezone.utc).isoformat()
    out.print(escape(f"resuming session from {path} ({orders} orders, last event at {when})"))


# A grid is long only: it opens a level by buying and closes it by selling.
_POSSIBLE = {(Side.BUY, Role.OPEN), (Side.SELL, Role.CLOSE)}


@coid_app.command("encode")
def coid_encode(
    config: Path = typer.Option(..., "--config", "-c", help="TOML config whose [grid] id the client id carries."),
    level: int = typer.Option(..., "--level", help="Grid level (negative below the anchor)."),
    side: Side = typer.Option(..., "--side", help="buy (opens a level) or sell (closes it)."),
    role: Role = typer.Option(..., "--role", help="open (the buy that fills a slot) or close (the sell that empties it)."),
    generation: int = typer.Option(..., "--generation", min=0,
                                   help="How many orders this level had before this one (0 for the first)."),
) -> None:
    """Print the client order id of one order of this grid."""
    if (side, role) not in _POSSIBLE:
        fail(f"--side {side.value} --role {role.value} is impossible: a long grid opens with buys and closes "
             "with sells")
    cfg = _load(config)
    try:
        out.print(encode(ClientId(cfg.grid.id, level, side, role, generation)))
    except CoidError as exc:
        fail(str(exc))


@coid_app.command("decode")
def coid_decode(
    client_id: str = typer.Argument(..., help="A client order id as shown by the exchange."),
    as_json: bool = typer.Option(False, "--json", help="Print the fields as one JSON object."),
) -> None:
    """Explain a client order id: grid, level, side, role, generation."""
    cid = decode(client_id)
    if cid is None:
        fail(f"{client_id!r} is not a gridledger client order id (foreign or mistyped)", code=1)
    fields = {
        "grid_id": cid.grid_id,
        "level": cid.level,
        "side": cid.side.value,
        "role": cid.role.value,
        "generation": cid.generation,
    }
    if as_json:
        sys.stdout.write(json.dumps(fields) + "\n")
    else:
        out.print("  ".join(f"{k} {v}" for k, v in fields.items()))


@journal_app.command("export")
def journal_export(
    db: Path = typer.Option(..., "--db", help="The journal (SQLite file) to read."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Where to write; default: standard output."),
) -> None:
    """Write the journal's venue evidence as JSON Lines that `gridledger replay` reads back.

    Intents and rejections are left out. Exit 1 when damage stopped part of the export."""
    from gridledger.store.errors import JournalError
    from gridledger.store.export import export, open_for_reading

    try:
        open_for_reading(db).close()  # a missing or foreign journal leaves no empty output file
        if output is None:
            result = export(db, sys.stdout)
        else:
            with open(output, "w", encoding="utf-8") as fh:
                result = export(db, fh)
    except JournalError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    left = ", ".join(f"{k} {v}" for k, v in sorted(result.left_out.items())) or "nothing"
    err.print(f"exported {result.exported} message(s); left out: {left}", markup=False, soft_wrap=True)
    if not result.complete:
        err.print(f"warning: the journal is damaged: {result.damaged_rows} row(s) failed their checksum"
                  f"{'; reading stopped: ' + result.stopped if result.stopped else ''}; the export is partial",
                  markup=False, soft_wrap=True)
        raise typer.Exit(1)


@journal_app.command("compact")
def journal_compact(
    db: Path = typer.Option(..., "--db", help="The journal (SQLite file) to compact in place."),
) -> None:
    """Drop stored messages no longer needed (duplicates, repeated rejections), then VACUUM.

    The ledger state is unchanged. Refused while another process has the journal open."""
    from gridledger.store.compact import compact
    from gridledger.store.errors import JournalError

    try:
        result = compact(db)
    except JournalError as exc:
        fail(str(exc))
    out.print(f"compacted {db}: {result.bytes_before:,} -> {result.bytes_after:,} bytes, "
              f"{result.rows_before:,} -> {result.rows_after:,} stored messages", markup=False, soft_wrap=True)


# `gridledger backtest`: the command body lives in its own package (issue 9).
from gridledger.backtest.cli import backtest_command  # noqa: E402

app.command("backtest")(backtest_command)

# `gridledger sweep`: the backtest over every combination of --set values (issue 9).
from gridledger.backtest.sweep import sweep_command  # noqa: E402

app.command("sweep")(sweep_command)

# `gridledger data import|fetch`: market data into the local cache (issue 9).
from gridledger.marketdata.cli import data_app  # noqa: E402

app.add_typer(data_app, name="data")


def main() -> None:
    """The console entry point: a user never sees a traceback.

    Every error a user can cause is handled where it happens (one line, its exit code). What
    escapes to here is a bug: it is said in one line with exit code 70 (EX_SOFTWARE), and
    ``GRIDLEDGER_DEBUG=1`` shows the traceback. No crash file is written: a traceback can
    quote request text, and secrets never go to disk or /tmp.
    """
    import os

    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        raise SystemExit(130) from None
    except Exception as exc:
        if os.environ.get("GRIDLEDGER_DEBUG"):
            raise
        from gridledger.logs import redact

        detail = redact(str(exc)).replace("\n", " ")
        if len(detail) > 200:
            detail = detail[:200] + "…"
        err.print(
            f"error: internal error ({type(exc).__name__}: {detail}); this is a bug in gridledger: "
            "run again with GRIDLEDGER_DEBUG=1 for the traceback and report it",
            markup=False, soft_wrap=True,
        )
        raise SystemExit(70) from None


if __name__ == "__main__":
    main()
