"""The sweep's output: rows ranked best first, the console table, the CSV and the heatmap page."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gridledger.backtest.sweep_sets import Axis

COLUMNS = (
    "total_pnl",
    "realized_pnl",
    "unrealized_pnl",
    "return_on_committed_pct",
    "max_drawdown",
    "max_drawdown_at",
    "round_trips",
    "fills",
    "fees_in_quote",
    "buy_and_hold_pct",
    "fee_guard_ok",
)


def sort_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Best first: total PnL, then the smaller drawdown, then more round trips."""
    return sorted(rows, key=lambda r: (-Decimal(r["total_pnl"]), Decimal(r["max_drawdown"]), -int(r["round_trips"])))


def write_csv(rows: list[dict[str, Any]], axes: list[Axis], path: Path) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("rank", *(a.key for a in axes), *COLUMNS))
        for rank, row in enumerate(rows, 1):
            writer.writerow((rank, *(row[a.key] for a in axes), *(row[c] for c in COLUMNS)))


def print_table(console: Console, rows: list[dict[str, Any]], axes: list[Axis], limit: int) -> None:
    table = Table(
        title=f"sweep: {len(rows)} combinations, best total PnL first",
        title_justify="left",
        box=None,
        pad_edge=False,
        padding=(0, 1),
    )
    table.add_column("#", justify="right")
    for a in axes:
        table.add_column(a.key.partition(".")[2], justify="right", overflow="fold")
    for name in ("total PnL", "return %", "max DD", "trips", "fills"):
        table.add_column(name, justify="right")
    for rank, row in enumerate(rows[:limit], 1):
        table.add_row(
            str(rank),
            *(escape(str(row[a.key])) for a in axes),
            f"{Decimal(row['total_pnl']):.2f}",
            str(row["return_on_committed_pct"] or "n/a"),
            row["max_drawdown"],
            str(row["round_trips"]),
            str(row["fills"]),
        )
    console.print(table)
    if len(rows) > limit:
        console.print(f"({len(rows) - limit} more rows in the CSV)")


def write_heatmap(rows: list[dict[str, Any]], axes: list[Axis], path: Path, title: str) -> None:
    """Total PnL over the first two axes (the best over any further axes), plotly, offline."""
    import plotly.graph_objects as go

    xa = axes[0]
    ya = axes[1] if len(axes) > 1 else None
    ys = list(ya.texts) if ya else [""]
    z: list[list[float | None]] = [[None] * len(xa.texts) for _ in ys]
    for row in rows:
        i = ys.index(str(row[ya.key])) if ya else 0
        j = list(xa.texts).index(str(row[xa.key]))
        value = float(Decimal(row["total_pnl"]))
        current = z[i][j]
        if current is None or value > current:
            z[i][j] = value
    text = [["" if v is None else f"{v:.2f}" for v in line] for line in z]
    fig = go.Figure(
        go.Heatmap(
            x=[f"{v}" for v in xa.texts],
            y=ys,
            z=z,
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmid=0,
            colorbar={"title": "total PnL"},
            hovertemplate=f"{xa.key}=%{{x}}<br>{ya.key if ya else ''}=%{{y}}<br>total PnL %{{z:.2f}}<extra></extra>",
        )
    )
    extra = " (best over the other axes)" if len(axes) > 2 else ""
    fig.update_layout(
        title=title + extra,
        xaxis_title=xa.key,
        yaxis_title=ya.key if ya else "",
        xaxis_type="category",
        yaxis_type="category",
        template="plotly_white",
    )
    fig.write_html(str(path), include_plotlyjs=True, full_html=True, config={"displaylogo": False})
