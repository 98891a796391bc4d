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
    table = Table(title="slots", show_lines=False)
    for col in ("level", "price", "qty", "cost", "realized", "trips", "status", "bound order"):
        table.add_column(col, justify="right" if col not in ("status", "bound order") else "left")
    for s in state["slots"]:
        table.add_row(
            str(s["level"]), s["price"], s["qty"], s["cost"], s["realized_pnl"], str(s["round_trips"]),
            s["status"], s["bound_order"] or "",
        )
    out.print(table)
    fees = ", ".join(f"{v} {a}" for a, v in state["fees"].items()) or "none"
    out.print(f"position {state['position']}   realized PnL {state['realized_pnl']}   fees {fees}")
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
) -> None:
    """Paper-trade the grid on the built-in simulated exchange, then check the ledger against it."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from gridledger.paper.settings import paper_settings

    setup_logging(log_level)
    cfg = _load(config or _bundled_paper_config())
    table = dict(cfg.paper)
    if duration is not None:
        table["duration"] = duration
    if seed is not None:
        table["seed"] = seed
    try:
        ps = paper_settings(table)
    except ConfigError as exc:
        fail(str(exc))
    if report_json is not None:
        _check_output_file(report_json, "--report-json")
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
            result = run_paper(cfg, ps, chaos=chaos, db=db, progress=progress, on_resume=resumed)
        except (JournalError, ValueError) as exc:
            fail(str(exc))
        except OSError as exc:  # a price CSV that cannot be read, a journal folder that vanished
            fail(f"{exc.filename or ''}: {exc.strerror or exc}".lstrip(": "))
    doc = make_report(result, seed=ps.seed, chaos=chaos, duration=ps.duration)
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


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
