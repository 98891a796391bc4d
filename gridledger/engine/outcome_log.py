"""The log line of each evidence outcome (R10: every input is accounted for, and visible).

The ledger counts outcomes and says nothing: logging is the shell's business. The engine's
ingest and ``gridledger replay`` log through here. The logger stays ``gridledger.ledger``,
as before the move, so operators' log filters keep working.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from gridledger.domain.numbers import fmt
from gridledger.ledger.evidence import Evidence, Fees, TradeEvidence
from gridledger.ledger.outcomes import Outcome, OutcomeKind
from gridledger.logs import log_event

log = logging.getLogger("gridledger.ledger")


def describe(ev: Evidence) -> str:
    """Evidence in one short phrase, for a log line."""
    if isinstance(ev, TradeEvidence):
        return f"trade {ev.trade_id} {fmt(ev.amount)}@{fmt(ev.price)} fees={_fees(ev.fees)}"
    status = ev.status.value if ev.status else "ack"
    return f"{status} filled={fmt(ev.filled)} cost={fmt(ev.cost)} event={ev.event_id}"


def _fees(fees: Fees | None) -> str:
    if fees is None:
        return "?"
    return ",".join(f"{a}:{fmt(v)}" for a, v in fees)


def log_outcomes(outcomes: Sequence[Outcome], items: Sequence[Evidence]) -> None:
    """One message's outcomes (one per evidence item), and the parked evidence each released."""
    for out, ev in zip(outcomes, items, strict=False):  # one outcome per item
        log_outcome(out, ev)
        for rel in out.released:
            log_outcome(rel, None)


def log_rejected(reason: str, **context: object) -> None:
    """Input that never became evidence (a line that is not JSON, say)."""
    log_event(log, logging.WARNING, "evidence rejected", reason=reason, **context)


def log_outcome(out: Outcome, ev: Evidence | None) -> None:
    """``ev`` is None for parked evidence released by another item."""
    kind = out.kind
    arrived = describe(ev) if ev is not None else None
    if kind is OutcomeKind.APPLIED:
        if out.warnings:
            log_event(
                log,
                logging.WARNING,
                "evidence applied with warnings",
                client_id=out.client_id,
                order_id=out.order_id,
                level=out.level,
                warnings="; ".join(out.warnings),
            )
        else:
            # A fill is what a trader reads the log for: INFO. Evidence that moved no
            # quantity (an acknowledgement, a status change) stays at DEBUG.
            filled = out.filled_after - out.filled_before
            fill = bool(filled) or bool(out.slot_qty_delta)
            severity = logging.INFO if fill else logging.DEBUG
            if not log.isEnabledFor(severity):
                return
            log_event(
                log,
                severity,
                "fill" if fill else "evidence applied",
                client_id=out.client_id,
                order_id=out.order_id,
                level=out.level,
                trade_id=out.trade_id,
                status=out.status_after.value if out.status_after else None,
                filled_before=out.filled_before,
                filled_after=out.filled_after,
                filled=filled if fill else None,
                slot_qty_delta=out.slot_qty_delta,
                realized=out.realized_delta if out.realized_delta else None,
                source=ev.source if ev is not None else None,
            )
    elif kind is OutcomeKind.DUPLICATE:
        # A REST re-read of known state (reconciliation) is expected; a stream delivering
        # the same evidence twice is worth a line.
        level = logging.DEBUG if ev is None or ev.source.startswith("rest") else logging.INFO
        if log.isEnabledFor(level):
            log_event(
                log,
                level,
                "duplicate evidence ignored",
                order_id=out.order_id,
                client_id=out.client_id,
                reason=out.reason,
                applied_status=out.status_before.value if out.status_before else None,
                applied_filled=out.filled_before,
                arrived=arrived,
            )
    elif kind is OutcomeKind.REJECTED:
        log_event(
            log,
            logging.WARNING,
            "evidence rejected",
            reason=out.reason,
            order_id=out.order_id,
            client_id=out.client_id,
            arrived=arrived,
        )
    elif kind is OutcomeKind.PARKED:
        log_event(log, logging.INFO, "evidence parked", order_id=out.order_id, reason=out.reason)
    elif log.isEnabledFor(logging.DEBUG):
        log_event(
            log,
            logging.DEBUG,
            f"evidence {kind.value.lower()}",
            order_id=out.order_id,
            client_id=out.client_id,
            reason=out.reason,
        )
