"""The command line: ``gridledger replay``, ``gridledger coid``, ``gridledger paper``, ``gridledger live``."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from gridledger.config import ConfigError, load_config
from gridledger.domain.coid import ClientId, CoidError, decode, encode
from gridledger.domain.types import Role, Side
from gridledger.logs import setup_logging

app = typer.Typer(add_completion=False, no_args_is_help=True, help="gridledger: a grid market maker with an exactly-once ledger.")
coid_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Encode and decode gridledger client order ids.")
app.add_typer(coid_app, name="coid")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


class Format(str, Enum):
    auto = "auto"
    ccxt = "ccxt"
    binance_spot = "binance-spot"
    binance_usdm = "binance-usdm"
    okx = "okx"
    bybit = "bybit"


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def _load(config: Path) -> Any:
    try:
        return load_config(config)
    except ConfigError as exc:
        fail(str(exc))


@app.command()
def replay(
    events: list[Path] = typer.Argument(..., help="JSON Lines files, one exchange message per line."),
    config: Path = typer.Option(..., "--config", "-c", help="TOML config with a [grid] table."),
    db: Optional[Path] = typer.Option(None, "--db", help="SQLite journal: state persists across runs."),
    fmt: Format = typer.Option(Format.auto, "--format", help="Message format; auto detects per line."),
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
        if not path.is_file():
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
    out.print(
        f"[bold]{state['symbol']}[/] grid {state['grid_id']}  anchor {state['anchor']}  interval {state['interval']}"
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
        out.print("skipped (not order evidence) " + "  ".join(f"{k}: {v}" for k, v in state["skipped"].items()))
    if state["parked"]:
        out.print(f"[yellow]{state['parked']} evidence item(s) parked: their exchange order ids are unknown[/]")
    for a in state["anomalies"]:
        out.print(f"[red]anomaly:[/] {a}")
    for r in state["rejections"]:
        out.print(f"[red]rejected[/] {r['source']}:{r['line']}: {r['reason']}", soft_wrap=True)


def _bundled_paper_config() -> Path:
    from importlib.resources import files

    return Path(str(files("gridledger") / "data" / "paper.toml"))


@app.command()
def paper(
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="TOML config; default: the bundled one."),
    duration: Optional[str] = typer.Option(None, "--duration", help="Simulated time, e.g. 1d, 12h, 30m."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the market and the faults."),
    chaos: bool = typer.Option(False, "--chaos", help="Inject every fault and kill/restart the engine."),
    db: Optional[Path] = typer.Option(None, "--db", help="Journal path (default: a temporary file)."),
    report_json: Optional[Path] = typer.Option(None, "--report-json", help="Also write the report as JSON."),
    log_level: str = typer.Option("ERROR", "--log-level", help="Log level on stderr."),
) -> None:
    """Paper-trade the grid on the built-in simulated exchange, then check the ledger against it."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from gridledger.paper.report import print_report, report_json as make_report
    from gridledger.paper.session import run_paper
    from gridledger.paper.settings import paper_settings
    from gridledger.store.journal import JournalError

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
    with Progress(TextColumn("[bold]paper[/] {task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task(f"{cfg.grid.symbol} {ps.duration}{' chaos' if chaos else ''}", total=ps.duration_ms)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            result = run_paper(cfg, ps, chaos=chaos, db=db, progress=progress)
        except (JournalError, ValueError) as exc:
            fail(str(exc))
    doc = make_report(result, seed=ps.seed, chaos=chaos, duration=ps.duration)
    print_report(out, doc)
    if report_json is not None:
        report_json.write_text(json.dumps(doc, indent=2) + "\n")
    if not result.audit.match:
        raise typer.Exit(1)


@app.command()
def live(
    config: Path = typer.Option(..., "--config", "-c", help="TOML config with the grid, strategy and exchange tables."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Connect, reconcile, print the actions; send none."),
    sandbox: bool = typer.Option(False, "--sandbox", help="Use the venue's testnet (ccxt sandbox mode)."),
    db: Optional[Path] = typer.Option(None, "--db", help="Journal path (default: the exchange table's journal key)."),
    log_level: str = typer.Option("INFO", "--log-level", help="Log level on stderr."),
    log_json: bool = typer.Option(False, "--log-json", help="Logs as JSON lines."),
) -> None:
    """Trade the grid on a real exchange through ccxt (keys from environment variables)."""
    import asyncio

    from gridledger.live.factory import CredentialsError
    from gridledger.live.runner import run_live
    from gridledger.live.settings import exchange_settings
    from gridledger.store.journal import JournalError

    setup_logging(log_level, json_lines=log_json)
    cfg = _load(config)
    try:
        settings = exchange_settings(dict(cfg.exchange))
    except ConfigError as exc:
        fail(str(exc))
    try:
        code = asyncio.run(run_live(cfg, settings, dry_run=dry_run, sandbox=sandbox, db=db, console=out))
    except CredentialsError as exc:
        fail(str(exc))
    except JournalError as exc:
        fail(str(exc))
    raise typer.Exit(code)


@coid_app.command("encode")
def coid_encode(
    config: Path = typer.Option(..., "--config", "-c"),
    level: int = typer.Option(..., "--level", help="Grid level (negative below the anchor)."),
    side: Side = typer.Option(..., "--side"),
    role: Role = typer.Option(..., "--role"),
    generation: int = typer.Option(..., "--generation", min=0),
) -> None:
    """Print the client order id of one order of this grid."""
    cfg = _load(config)
    try:
        out.print(encode(ClientId(cfg.grid.id, level, side, role, generation)))
    except CoidError as exc:
        fail(str(exc))


@coid_app.command("decode")
def coid_decode(
    client_id: str = typer.Argument(..., help="A client order id as shown by the exchange."),
    as_json: bool = typer.Option(False, "--json"),
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


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
