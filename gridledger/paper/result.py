"""What a paper session returns, and how a finished session's result is kept.

A finished session stores its result beside its venue log, so running it again prints the
same report (and exits with the same status) instead of trading a second time on a price
path that has already ended.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from gridledger.paper.audit import AuditResult


@dataclass(slots=True)
class PaperResult:
    audit: AuditResult
    state: dict[str, Any]
    last_price: Decimal | None
    unrealized_pnl: Decimal
    engine: dict[str, int]
    faults: dict[str, int]
    restarts: int
    start_ms: int
    end_ms: int
    wall_seconds: float = 0.0
    journal_entries: int = 0
    notes: list[str] = field(default_factory=list)
    # True when the session had finished before this run: the result is the stored one.
    already_finished: bool = False
    # The venue's fills (SimTrade) as this run ended, for the report's figures over time and
    # the plot; not stored (a finished session's stored result has none).
    trades: list[Any] = field(default_factory=list)
    # The report's figures over time (return, drawdown, buy-and-hold), computed by the caller's
    # ``figures`` hook before the result is stored, so a finished session prints them again.
    figures: dict[str, Any] = field(default_factory=dict)
    # A perpetual session's figures (direction, leverage, funding, liquidation price, margin
    # ratio: paper/perp_session.py); None for spot.
    perp: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ResumeInfo:
    """A run that continues a session from its journal (for a "resuming ..." message)."""

    journal: Path
    orders: int  # orders the session has sent to the venue so far
    last_event_ms: int  # virtual time of the last thing the journal or the venue log holds

    @property
    def last_event_iso(self) -> str:
        return datetime.fromtimestamp(self.last_event_ms / 1000, UTC).isoformat()


def result_to_json(result: PaperResult) -> str:
    """Decimals as strings: the stored report must print exactly what the first run printed."""
    return json.dumps(
        {
            "audit": {
                "differences": result.audit.differences,
                "checked_orders": result.audit.checked_orders,
                "checked_assets": result.audit.checked_assets,
            },
            "state": result.state,
            "last_price": None if result.last_price is None else str(result.last_price),
            "unrealized_pnl": str(result.unrealized_pnl),
            "engine": result.engine,
            "faults": result.faults,
            "restarts": result.restarts,
            "start_ms": result.start_ms,
            "end_ms": result.end_ms,
            "wall_seconds": result.wall_seconds,
            "journal_entries": result.journal_entries,
            "notes": result.notes,
            "figures": result.figures,
            "perp": result.perp,
        }
    )  # key order kept: the report prints dicts (faults, outcomes) in their order


def result_from_json(text: str) -> PaperResult:
    doc = json.loads(text)
    a = doc["audit"]
    return PaperResult(
        audit=AuditResult(
            differences=list(a["differences"]),
            checked_orders=int(a["checked_orders"]),
            checked_assets=int(a["checked_assets"]),
        ),
        state=doc["state"],
        last_price=None if doc["last_price"] is None else Decimal(doc["last_price"]),
        unrealized_pnl=Decimal(doc["unrealized_pnl"]),
        engine={k: int(v) for k, v in doc["engine"].items()},
        faults={k: int(v) for k, v in doc["faults"].items()},
        restarts=int(doc["restarts"]),
        start_ms=int(doc["start_ms"]),
        end_ms=int(doc["end_ms"]),
        wall_seconds=float(doc["wall_seconds"]),
        journal_entries=int(doc["journal_entries"]),
        notes=list(doc.get("notes", [])),
        figures=dict(doc.get("figures") or {}),
        perp=dict(doc["perp"]) if doc.get("perp") else None,
    )
