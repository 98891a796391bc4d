"""The paper session's report: terminal tables (rich) and a JSON document."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gridledger.backtest.benchmark import hold_row
from gridledger.display import grid_quote_step, places
from gridledger.domain.numbers import fmt
from gridledger.paper.session import PaperResult
from gridledger.strategy.risk import describe_exit


def _q(text: str | None, places: int = 8) -> str:
    if text is None:
        return ""
    value = Decimal(text)
    return f"{value:.{places}f}".rstrip("0").rstrip(".") if value else "0"


def report_json(
    result: PaperResult,
    *,
    seed: int,
    chaos: bool,
    duration: str,
    figures: dict[str, Any] | None = None,
    data: str | None = None,
) -> dict[str, Any]:
    """``figures``: the fields over time a backtest reports too (return, max drawdown,
    buy-and-hold; ``gridledger.backtest.paper_series``), when the session's series is known."""
    s = result.state
    return {
        "symbol": s["symbol"],
        "grid_id": s["grid_id"],
        "seed": seed,
        "data": data,  # the recorded price file, when the session did not use the synthetic path
        "chaos": chaos,
        "duration": duration,
        "start": datetime.fromtimestamp(result.start_ms / 1000, UTC).isoformat(),
        "end": datetime.fromtimestamp(result.end_ms / 1000, UTC).isoformat(),
        "wall_seconds": round(result.wall_seconds, 2),
        "last_price": fmt(result.last_price),
        # A perpetual's position is the net of its long and short slots (the venue's one-way position).
        "position": (result.perp or {}).get("net_position", s["position"]),
        "realized_pnl": s["realized_pnl"],
        "unrealized_pnl": fmt(result.unrealized_pnl),
        "total_pnl": fmt(Decimal(s["realized_pnl"]) + result.unrealized_pnl),
        **(figures or {}),
        "fees": s["fees"],
        "round_trips": s["round_trips"],
        # Why the grid stopped, when a [risk] limit fired (engine/exits.py); else null.
        "risk_exit": s.get("risk_exit"),
        "levels": s["slots"],
        "outcomes": s["outcomes"],
        # DUPLICATE outcomes by where the evidence came from (stream / rest / other), when known.
        "duplicates_by_origin": s.get("duplicates_by_origin"),
        "faults_injected": result.faults,
        "engine": result.engine,
        "journal_entries": result.journal_entries,
        "perp": result.perp,  # direction, leverage, funding per grid, liquidation price, margin ratio
        "ground_truth": {
            "match": result.audit.match,
            "differences": result.audit.differences,
            "orders_checked": result.audit.checked_orders,
            "assets_checked": result.audit.checked_assets,
        },
    }


def _source(doc: dict[str, Any]) -> str:
    # A recorded price file replaces the synthetic path: the seed then drives the faults only.
    if doc.get("data"):
        return f"prices from {escape(str(doc['data']))}, fault seed {doc['seed']}"
    return f"seed {doc['seed']}"


def print_report(console: Console, doc: dict[str, Any]) -> None:
    console.print()
    console.print(
        f"[bold]{escape(doc['symbol'])}[/] grid {escape(doc['grid_id'])}: {doc['start']} to {doc['end']} "
        f"({_source(doc)}, chaos {'on' if doc['chaos'] else 'off'}, {doc['wall_seconds']} s wall)"
    )
    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    qp = _quote_places(doc)  # quote amounts at the market's precision
    quote_asset = doc["symbol"].split("/")[1].split(":")[0]
    fees = ", ".join(f"{_q(v, qp if a == quote_asset else 8)} {a}" for a, v in doc["fees"].items()) or "none"
    for label, value in (
        ("last price", _q(doc["last_price"], qp)),
        ("position", _q(doc["position"])),
        *_perp_rows(doc, qp),
        ("realized PnL", _q(doc["realized_pnl"], qp)),
        ("unrealized PnL", _q(doc["unrealized_pnl"], qp)),
        *_figures_rows(doc),
        ("fees", fees),
        ("round trips", str(doc["round_trips"])),
    ):
        summary.add_row(label, value)
    console.print(summary)
    if doc.get("risk_exit"):
        console.print(f"[bold yellow]{escape(describe_exit(doc['risk_exit']))}[/]")
    levels = Table(title="levels", title_justify="left")
    for col in ("level", "price", "qty", "cost", "realized", "trips", "status"):
        levels.add_column(col, justify="left" if col == "status" else "right")
    for lv in doc["levels"]:
        levels.add_row(
            str(lv["level"]),
            _q(lv["price"], qp),
            _q(lv["qty"]),
            _q(lv["cost"], qp),
            _q(lv["realized_pnl"], qp),
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
        # A perpetual compares its settle-asset balance and its funding record (paper/perp_audit.py).
        what = "settle balance and funding" if doc.get("perp") else f"{gt['assets_checked']} balances"
        console.print(
            f"[bold green]ledger vs exchange: MATCH[/] (position, {what}, "
            f"open orders, {gt['orders_checked']} orders compared exactly)"
        )
    else:
        console.print("[bold red]ledger vs exchange: MISMATCH[/]")
        for d in gt["differences"]:
            console.print(f"  [red]{escape(str(d))}[/]")


def _perp_rows(doc: dict[str, Any], qp: int) -> list[tuple[str, str]]:
    """A perpetual session's rows: direction, leverage, funding, liquidation price, margin ratio."""
    perp = doc.get("perp")
    if not perp:
        return []
    direction = str(perp["direction"]) + (f" (pivot {_q(perp['pivot'], qp)})" if perp.get("pivot") else "")
    liquidation = _q(perp["liquidation_price"], qp) if perp.get("liquidation_price") else "none"
    ratio = perp.get("margin_ratio")
    rows = [
        ("direction", direction),
        ("leverage", f"{perp['leverage']}x {perp['margin_mode']}"),
        (
            "funding",
            f"{_q(perp['funding_net'], 8)} net: received {_q(perp['funding_received'], 8)}, "
            f"paid {_q(perp['funding_paid'], 8)} ({perp['funding_payments']} payments, per grid)",
        ),
        ("liquidation price", liquidation),
        ("margin ratio", f"{Decimal(ratio) * 100:.2f} %" if ratio is not None else "n/a"),
    ]
    if perp.get("liquidations"):
        rows.append(("liquidations", str(perp["liquidations"])))
    return rows


def _quote_places(doc: dict[str, Any]) -> int:
    """The market's quote precision: the JSON's ``price_step`` when it has one, else the finest
    of the prices it reports (they sit on the market's tick), at least 2 places."""
    if doc.get("price_step"):
        return places(Decimal(doc["price_step"])) or 0
    step = grid_quote_step(doc.get("last_price"), None)
    for lv in doc["levels"]:
        step = min(step, grid_quote_step(lv["price"], None))
    return places(step) or 2


def _figures_rows(doc: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [("total PnL", _q(doc["total_pnl"], _quote_places(doc)))] if "total_pnl" in doc else []
    if doc.get("max_drawdown"):
        roc, dd = doc["return_on_capital_pct"], doc["max_drawdown"]
        rows += [
            ("return on capital", f"{roc} % of {doc['capital_at_start']}" if roc is not None else "n/a"),
            ("max drawdown", dd["value"] + (f" at {dd['at']} (peak {dd['peak_at']})" if dd["at"] else "")),
            # Direction-aware: a short grid is compared with holding the short (backtest/benchmark.py).
            hold_row(doc, "pnl_on_capital", "the capital"),
        ]
    return rows


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
