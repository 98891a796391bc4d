"""The paper session's report: terminal tables (rich) and a JSON document."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gridledger.domain.numbers import fmt
from gridledger.paper.session import PaperResult


def _q(text: str | None, places: int = 8) -> str:
    if text is None:
        return ""
    value = Decimal(text)
    return f"{value:.{places}f}".rstrip("0").rstrip(".") if value else "0"


def report_json(result: PaperResult, *, seed: int, chaos: bool, duration: str) -> dict[str, Any]:
    s = result.state
    return {
        "symbol": s["symbol"],
        "grid_id": s["grid_id"],
        "seed": seed,
        "chaos": chaos,
        "duration": duration,
        "start": datetime.fromtimestamp(result.start_ms / 1000, UTC).isoformat(),
        "end": datetime.fromtimestamp(result.end_ms / 1000, UTC).isoformat(),
        "wall_seconds": round(result.wall_seconds, 2),
        "last_price": fmt(result.last_price),
        "position": s["position"],
        "realized_pnl": s["realized_pnl"],
        "unrealized_pnl": fmt(result.unrealized_pnl),
        "fees": s["fees"],
        "round_trips": s["round_trips"],
        "levels": s["slots"],
        "outcomes": s["outcomes"],
        # DUPLICATE outcomes by where the evidence came from (stream / rest / other), when known.
        "duplicates_by_origin": s.get("duplicates_by_origin"),
        "faults_injected": result.faults,
        "engine": result.engine,
        "journal_entries": result.journal_entries,
        "ground_truth": {
            "match": result.audit.match,
            "differences": result.audit.differences,
            "orders_checked": result.audit.checked_orders,
            "assets_checked": result.audit.checked_assets,
        },
    }


def print_report(console: Console, doc: dict[str, Any]) -> None:
    console.print()
    console.print(
        f"[bold]{escape(doc['symbol'])}[/] grid {escape(doc['grid_id'])}: {doc['start']} to {doc['end']} "
        f"(seed {doc['seed']}, chaos {'on' if doc['chaos'] else 'off'}, {doc['wall_seconds']} s wall)"
    )
    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    fees = ", ".join(f"{_q(v)} {a}" for a, v in doc["fees"].items()) or "none"
    for label, value in (
        ("last price", _q(doc["last_price"], 2)),
        ("position", _q(doc["position"])),
        ("realized PnL", _q(doc["realized_pnl"], 4)),
        ("unrealized PnL", _q(doc["unrealized_pnl"], 4)),
        ("fees", fees),
        ("round trips", str(doc["round_trips"])),
    ):
        summary.add_row(label, value)
    console.print(summary)
    levels = Table(title="levels", title_justify="left")
    for col in ("level", "price", "qty", "cost", "realized", "trips", "status"):
        levels.add_column(col, justify="left" if col == "status" else "right")
    for lv in doc["levels"]:
        levels.add_row(
            str(lv["level"]),
            _q(lv["price"], 2),
            _q(lv["qty"]),
            _q(lv["cost"], 4),
            _q(lv["realized_pnl"], 4),
            str(lv["round_trips"]),
            lv["status"],
        )
    console.print(levels)
    console.print("outcomes  " + "  ".join(f"{k} {v}" for k, v in doc["outcomes"].items()))
    dup = doc.get("duplicates_by_origin")
    if dup and doc["outcomes"].get("DUPLICATE"):
        console.print(duplicates_line(dup))
    faults = "  ".join(f"{k} {v}" for k, v in doc["faults_injected"].items())
    console.print(f"faults injected  {faults}")
    eng = doc["engine"]
    console.print(
        f"engine  orders placed {eng['placed']}, cancels {eng['canceled']}, rejected {eng['rejected']}, "
        f"post-only rejections {eng['post_only_rejects']}, unanswered creates {eng['unknown_creates']}, "
        f"reconciliations {eng['reconciles']}, stream reconnects {eng['reconnects']}"
    )
    gt = doc["ground_truth"]
    if gt["match"]:
        console.print(
            f"[bold green]ledger vs exchange: MATCH[/] (position, {gt['assets_checked']} balances, "
            f"open orders, {gt['orders_checked']} orders compared exactly)"
        )
    else:
        console.print("[bold red]ledger vs exchange: MISMATCH[/]")
        for d in gt["differences"]:
            console.print(f"  [red]{escape(str(d))}[/]")


def duplicates_line(dup: dict[str, int]) -> str:
    """Where the DUPLICATE outcomes came from, and why they are harmless (issue 7 item 18).

    The fault counters ("duplicated", "replayed") count messages the simulated venue sent
    again; one message can carry several pieces of evidence, and REST reads during
    reconciliation re-read evidence that was already applied, so DUPLICATE is much larger.
    """
    parts = [
        f"{dup.get('stream', 0)} from the stream (the venue sent evidence again: copies, replays after reconnects)",
        f"{dup.get('rest', 0)} from REST re-reads (reconciliations and order queries read what was already applied)",
    ]
    if dup.get("other"):
        parts.append(f"{dup['other']} from other sources")
    return "duplicates  " + ", ".join(parts) + "; each was recognised and changed nothing (R10)"
