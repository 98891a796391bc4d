"""`gridledger replay`: recorded venue messages through the ledger."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from gridledger.cli.apps import app
from gridledger.cli.common import (
    Format,
    _load,
    fail,
    out,
)
from gridledger.logs import setup_logging


@app.command()
def replay(
    events: list[Path] = typer.Argument(
        ..., help="JSON Lines files, one exchange message per line; - reads standard input."
    ),
    config: Path = typer.Option(..., "--config", "-c", help="TOML config with a [grid] table."),
    db: Path | None = typer.Option(None, "--db", help="SQLite journal: state persists across runs."),
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
            str(s["level"]),
            human(s["price"]),
            human(s["qty"]),
            quote(s["cost"], step),
            quote(s["realized_pnl"], step),
            str(s["round_trips"]),
            s["status"],
            s["bound_order"] or "",
        )
    out.print(table)
    quote_asset = state["symbol"].split("/")[1].split(":")[0]
    fees = ", ".join(f"{quote(v, step) if a == quote_asset else human(v)} {a}" for a, v in state["fees"].items())
    # A short or neutral grid (issue 11): the signed net position, the venue's one-way figure,
    # and the direction; the state of a long grid has neither key and prints as before.
    position = human(state["position"])
    if "net_position" in state:
        position = f"{human(state['net_position'])} net ({state['direction']} grid)"
    out.print(f"position {position}   realized PnL {quote(state['realized_pnl'], step)}   fees {fees or 'none'}")
    out.print("outcomes " + "  ".join(f"{k} {v}" for k, v in state["outcomes"].items()))
    if state["skipped"]:
        out.print(escape("skipped (not order evidence) " + "  ".join(f"{k}: {v}" for k, v in state["skipped"].items())))
    if state["parked"]:
        out.print(f"[yellow]{state['parked']} evidence item(s) parked: their exchange order ids are unknown[/]")
    for a in state["anomalies"]:
        out.print(f"[red]anomaly:[/] {escape(str(a))}")
    for r in state["rejections"]:
        out.print(
            f"[red]rejected[/] {escape(str(r['source']))}:{r['line']}: {escape(str(r['reason']))}", soft_wrap=True
        )
