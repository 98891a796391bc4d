"""The parts of a paper session's closing step that depend on the market type.

A perpetual session reads the funding history once more before its audit (a payment booked
after the engine's last poll is still the grid's), audits with :func:`perp_audit`, and
reports the figures a perpetual adds: direction, leverage, margin mode, funding paid and
received (per grid), liquidation price and margin ratio.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from gridledger.config import Config
from gridledger.domain.numbers import ZERO, fmt
from gridledger.domain.types import Direction
from gridledger.exchange.sim.perp_core import PerpCore
from gridledger.exchange.sim.perp_margin import to_decimal8
from gridledger.ledger.ledger import Ledger
from gridledger.paper.audit import AuditResult, audit
from gridledger.paper.perp_audit import _direction, perp_audit
from gridledger.store.journal import Journal

log = logging.getLogger("gridledger.paper")

__all__ = ["closing_audit", "journal_funding", "perp_summary", "unrealized_pnl"]


def journal_funding(journal: Journal, symbol: str) -> list[tuple[str, Decimal]] | None:
    """The funding payments the engine recorded in the journal (id, amount), or None when
    this build keeps no funding record."""
    try:
        from gridledger.store.funding import FundingStore
    except ImportError:  # pragma: no cover - a build without funding records
        return None
    try:
        payments = FundingStore(journal).payments()
    except Exception as exc:  # an older journal without the table: the venue's payments are taken
        log.warning("funding records unreadable: %s", exc)
        return None
    return [(p.payment_id, p.amount) for p in payments if p.symbol == symbol]


async def closing_audit(
    ledger: Ledger, core: Any, initial: Mapping[str, Decimal], journal: Journal, engine: Any, symbol: str
) -> AuditResult:
    """The ground-truth check; a perpetual's reads the funding history first."""
    if not isinstance(core, PerpCore):
        return audit(ledger, core, initial)
    watch = getattr(engine, "funding", None)
    if watch is not None and getattr(watch, "available", False):
        await watch.poll("final")
    return perp_audit(ledger, core, initial, journal_funding(journal, symbol))


def unrealized_pnl(ledger: Ledger, last: Decimal | None) -> Decimal:
    """Unrealized PnL of the slots at ``last``: long slots gain as the price rises, short
    slots (their basis is what the opening sells brought in) as it falls."""
    if last is None:
        return ZERO
    total = ZERO
    for slot in ledger.slots.values():
        st = slot.state
        if _direction(ledger, slot.level) is Direction.SHORT:
            total += st.cost - st.qty * last
        else:
            total += st.qty * last - st.cost
    return total


def perp_summary(cfg: Config, core: Any, funding: list[tuple[str, Decimal]] | None) -> dict[str, Any] | None:
    """The report's perpetual figures (strings for decimals), or None for a spot session."""
    if not isinstance(core, PerpCore):
        return None
    paid = funding if funding is not None else [(str(p.tran_id), p.amount) for p in core.funding]
    received = sum((a for _, a in paid if a > 0), ZERO)
    spent = sum((-a for _, a in paid if a < 0), ZERO)
    ratio = core.margin_ratio()
    liquidation = core.liquidation_price()
    return {
        "market": "perp",
        "direction": cfg.grid.direction,
        "pivot": None if cfg.grid.pivot is None else fmt(cfg.grid.pivot),
        "leverage": core.leverage,
        "margin_mode": core.margin_mode,
        "position": fmt(core.position_amt),
        "entry_price": fmt(to_decimal8(core.entry).normalize()) if core.position_amt else None,
        "wallet_balance": fmt(to_decimal8(core.wallet)),
        "funding_received": fmt(received),
        "funding_paid": fmt(spent),
        "funding_net": fmt(received - spent),
        "funding_payments": len(paid),
        "funding_source": "journal" if funding is not None else "exchange",
        "liquidation_price": fmt(liquidation) if liquidation else None,
        "margin_ratio": None if ratio is None else fmt(ratio),
        "liquidations": len(core.liquidations),
    }
