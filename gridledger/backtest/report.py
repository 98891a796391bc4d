"""The backtest report: a JSON document, the terminal tables and the fills CSV.

Booked figures (PnL, position, fees, per-level state) are the ledger's exact decimals, as
strings. Figures over time (drawdown, capital committed, time with every opening order filled:
"every buy filled" on a long grid) come from the state after each event candle valued at every
candle's close in float64, and are rounded for display: they describe the run, they are never
booked. The hold benchmark follows the grid's direction (``backtest/benchmark.py``).
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gridledger.backtest.benchmark import hold_fields, hold_row, opening_filled_label
from gridledger.backtest.feeguard import FeeCheck
from gridledger.backtest.run import Backtest
from gridledger.domain.numbers import ZERO, fmt
from gridledger.domain.types import Side
from gridledger.ledger.report import ledger_state
from gridledger.marketdata.series import interval_name, iso
from gridledger.strategy import is_dust, order_price, sellable_amount
from gridledger.strategy.risk import describe_exit

FILLS_COLUMNS = ("time", "level", "side", "role", "price", "qty", "fee", "fee_asset", "realized_pnl", "client_id")


def _r(x: float, places: int = 2) -> str:
    return f"{x:.{places}f}"


def _q(value: Decimal | None, places: int) -> str:
    if value is None:
        return ""
    return f"{value:.{places}f}"


def _drawdown(bt: Backtest, pnl: np.ndarray) -> dict[str, Any]:
    data = bt.data
    if pnl.size == 0:
        return {"value": "0.00", "at": None, "peak_at": None}
    peak = np.maximum.accumulate(np.maximum(pnl, 0.0))  # the run starts at 0: a loss from the start counts
    dd = peak - pnl
    k = int(np.argmax(dd))
    value = float(dd[k])
    if value <= 0:
        return {"value": "0.00", "at": None, "peak_at": None}
    before = pnl[: k + 1]
    p = int(np.argmax(before)) if float(np.max(before)) > 0 else None
    close_ms = data.interval_ms
    return {
        "value": _r(value),
        "at": iso(int(data.ts_ms[k]) + close_ms),
        "peak_at": iso(int(data.ts_ms[p]) + close_ms) if p is not None else iso(int(data.ts_ms[0])),
    }


def _all_buys_filled(bt: Backtest) -> tuple[float, float]:
    """Seconds (and share of the run) with inventory held and no opening buy resting."""
    data = bt.data
    m = bt.marks
    if not m.index:
        return 0.0, 0.0
    start = int(data.ts_ms[0])
    end = data.end_ms
    times = np.asarray(m.index, dtype=np.int64)
    t = data.ts_ms[times] + data.interval_ms
    t = np.minimum(t, end)
    nxt = np.append(t[1:], end)
    # Inventory held: a short grid's net quantity is negative (owed), so "held" is non-zero;
    # a long grid's is never negative, so its figure is as before. ``open_buys`` counts every
    # opening order (a short grid's are sells).
    flag = (np.asarray(m.open_buys) == 0) & (np.asarray(m.qty) != 0)
    seconds = float(np.sum((nxt - t)[flag])) / 1000
    total = max(1.0, (end - start) / 1000)
    return seconds, seconds / total


def build_report(bt: Backtest, *, wall_seconds: float, fee_check: FeeCheck | None = None) -> dict[str, Any]:
    data = bt.data
    ledger = bt.ledger
    state = ledger_state(ledger)
    last = bt.last_price or ZERO
    first = data.price(int(data.open[0]))
    unrealized = bt.unrealized()
    realized = ledger.realized_pnl
    total = realized + unrealized
    pnl = bt.pnl_curve()
    committed_peak = max(bt.marks.committed, default=0.0)
    trips = state["round_trips"]
    fee_quote = sum((f.fee_quote for f in bt.fills), ZERO)
    fills_n = len(bt.fills)
    per_level: dict[int, list[int]] = {}
    for f in bt.fills:
        counts = per_level.setdefault(f.level, [0, 0])
        counts[0 if f.side is Side.BUY else 1] += 1
    levels = []
    for row in state["slots"]:
        buys, sells = per_level.get(row["level"], [0, 0])
        levels.append({**row, "buys": buys, "sells": sells})
    dust_qty = ZERO
    dust_levels = 0
    for level, slot in ledger.slots.items():
        # Dust: what a slot holds beyond the part a closing sell can carry (all of it when that
        # part is below the market's minimums). It stays in the slot and sells with the next fill.
        qty = slot.state.qty
        if qty <= 0:
            continue
        sellable = sellable_amount(qty, bt.rules)
        if is_dust(qty, order_price(bt.params, bt.rules, level + 1), bt.rules):
            sellable = ZERO
        if qty > sellable:
            dust_qty += qty - sellable
            dust_levels += 1
    held_s, held_share = _all_buys_filled(bt)
    n = len(data)
    direction = bt.setup.grid.direction.value
    doc: dict[str, Any] = {
        "symbol": state["symbol"],
        "grid_id": state["grid_id"],
        "data": {
            "file": data.source,
            "format": data.fmt,
            "kind": data.kind,
            "rows": n,
            "interval": interval_name(data.interval_ms) if data.kind == "candles" else None,
            "gaps": {
                "count": data.gaps.count,
                "missing_candles": data.gaps.missing,
                "largest": interval_name(data.gaps.largest_ms) if data.gaps.count else None,
                "largest_before": iso(data.gaps.largest_at_ms) if data.gaps.largest_at_ms else None,
            },
        },
        "start": iso(data.start_ms),
        "end": iso(data.end_ms),
        "first_price": fmt(first),
        "last_price": fmt(last),
        # A perpetual's position is net: long slots minus short slots (signed, as the venue shows it).
        "position": fmt(bt.qty) if bt.setup.market.leverage is not None else state["position"],
        "realized_pnl": state["realized_pnl"],
        "unrealized_pnl": fmt(unrealized),
        "total_pnl": fmt(total),
        "capital": {a: fmt(v) for a, v in sorted(bt.account.initial.items())},
        "capital_committed_peak": _r(committed_peak),
        "return_on_committed_pct": _r(float(total) / committed_peak * 100, 3) if committed_peak > 0 else None,
        "max_drawdown": _drawdown(bt, pnl),
        # Holding the grid's passive position from the first price: bought for a long grid,
        # sold short for a short grid, left out (with the reason) for a neutral one.
        "buy_and_hold": hold_fields(direction, float(first), float(last), committed_peak, "pnl_on_committed"),
        "fees": state["fees"],
        "fees_in_quote": fmt(fee_quote),
        "fills": fills_n,
        "round_trips": trips,
        # Why the grid stopped, when a [risk] limit fired (backtest/exits.py); else null.
        "risk_exit": bt.risk_exit,
        "profit_per_round_trip": fmt(realized / trips) if trips else None,
        "fee_per_round_trip": fmt(fee_quote * 2 / fills_n) if fills_n else None,
        "time_all_buys_filled": {"seconds": round(held_s), "pct": _r(held_share * 100, 2)},
        "dust": {"qty": fmt(dust_qty), "value": fmt(dust_qty * last), "levels": dust_levels},
        "levels": levels,
        "live_orders": state["live_orders"],
        "engine": {
            "events": bt.counters.events,
            "decisions": bt.counters.decisions,
            "placed": bt.counters.placed,
            "canceled": bt.counters.canceled,
            "refused_post_only": bt.counters.refused_post_only,
            "refused_balance": bt.counters.refused_balance,
            "taker_fills": bt.counters.taker_fills,
        },
        "outcomes": state["outcomes"],
        "fee_guard": None
        if fee_check is None
        else {
            "ok": fee_check.ok,
            "step_pct": _r(float(fee_check.step) * 100, 4),
            "round_trip_fee_pct": _r(float(fee_check.round_trip) * 100, 4),
            "margin_pct": _r(float(fee_check.margin) * 100, 4),
            "message": fee_check.message(),
        },
        "wall_seconds": round(wall_seconds, 3),
        "rows_per_second": round(n / wall_seconds) if wall_seconds > 0 else None,
    }
    if direction != "long":
        # Short and neutral grids only, so a long grid's document reads exactly as before; the
        # level rows carry each slot's direction (ledger_state).
        doc["direction"] = direction
    return doc


def write_fills_csv(bt: Backtest, path: Path) -> int:
    """One row per applied trade; returns the number of rows."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FILLS_COLUMNS)
        for f in bt.fills:
            writer.writerow(
                (
                    iso(f.ts_ms),
                    f.level,
                    f.side.value,
                    f.role.value,
                    fmt(f.price),
                    fmt(f.qty),
                    fmt(f.fee),
                    f.fee_asset,
                    fmt(f.realized),
                    f.client_id,
                )
            )
    return len(bt.fills)


def print_report(console: Console, doc: dict[str, Any]) -> None:
    d = doc["data"]
    what = f"{d['rows']:,} {d['interval']} candles" if d["kind"] == "candles" else f"{d['rows']:,} trades"
    console.print()
    console.print(
        f"[bold]{escape(doc['symbol'])}[/] grid {escape(doc['grid_id'])} backtest: {doc['start']} to "
        f"{doc['end']} ({escape(what)}, {doc['wall_seconds']} s)",
        soft_wrap=True,
    )
    if d["gaps"]["count"]:
        console.print(
            f"gaps: {d['gaps']['count']} ({d['gaps']['missing_candles']} candles missing), the largest "
            f"{d['gaps']['largest']} before {d['gaps']['largest_before']}"
        )
    summary = Table(show_header=False, box=None, pad_edge=False)
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    dd = doc["max_drawdown"]
    direction = doc.get("direction")  # set for short and neutral grids only (ledger_state)
    fees = ", ".join(f"{_q(Decimal(v), 8).rstrip('0').rstrip('.')} {a}" for a, v in doc["fees"].items()) or "none"
    roc = doc["return_on_committed_pct"]
    rows = [
        ("price", f"{_q(Decimal(doc['first_price']), 2)} -> {_q(Decimal(doc['last_price']), 2)}"),
        ("total PnL", _q(Decimal(doc["total_pnl"]), 4)),
        ("  realized", _q(Decimal(doc["realized_pnl"]), 4)),
        ("  unrealized", _q(Decimal(doc["unrealized_pnl"]), 4)),
        ("position", doc["position"]),
        ("capital committed (peak)", doc["capital_committed_peak"]),
        ("return on committed", f"{roc} %" if roc is not None else "n/a"),
        ("max drawdown", f"{dd['value']}" + (f" at {dd['at']} (peak {dd['peak_at']})" if dd["at"] else "")),
        hold_row(doc, "pnl_on_committed", "the committed capital"),
        ("fees", f"{fees} (= {_q(Decimal(doc['fees_in_quote']), 4)} quote)"),
        ("fills / round trips", f"{doc['fills']} / {doc['round_trips']}"),
        (
            "profit per round trip",
            f"{_q(Decimal(doc['profit_per_round_trip']), 4)} net, fee per round trip "
            f"{_q(Decimal(doc['fee_per_round_trip']), 4)}"
            if doc["round_trips"]
            else "n/a",
        ),
        (opening_filled_label(direction), f"{doc['time_all_buys_filled']['pct']} % of the time"),
        (
            "dust",
            f"{doc['dust']['qty']} in {doc['dust']['levels']} levels (worth {_q(Decimal(doc['dust']['value']), 4)})",
        ),
    ]
    for label, value in rows:
        summary.add_row(label, escape(str(value)))
    console.print(summary)
    if doc.get("risk_exit"):
        console.print(f"[bold yellow]{escape(describe_exit(doc['risk_exit'], resume_hint=False))}[/]", soft_wrap=True)
    levels = Table(title="levels", title_justify="left")
    for col in ("level", "price", "buys", "sells", "trips", "qty", "cost", "realized", "status"):
        levels.add_column(col, justify="left" if col == "status" else "right")
    for lv in doc["levels"]:
        levels.add_row(
            str(lv["level"]),
            _q(Decimal(lv["price"]), 2),
            str(lv["buys"]),
            str(lv["sells"]),
            str(lv["round_trips"]),
            lv["qty"],
            _q(Decimal(lv["cost"]), 4),
            _q(Decimal(lv["realized_pnl"]), 4),
            lv["status"],
        )
    console.print(levels)
    e = doc["engine"]
    console.print(
        f"engine  events {e['events']}, decisions {e['decisions']}, orders placed {e['placed']}, cancels "
        f"{e['canceled']}, refused (post-only {e['refused_post_only']}, balance {e['refused_balance']}), "
        f"taker fills {e['taker_fills']}; {doc['rows_per_second']:,} rows/s"
        if doc["rows_per_second"]
        else f"engine  events {e['events']}"
    )
