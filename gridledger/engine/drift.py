"""Drift: the sum of the slots against the exchange's balance, live orders against open ones.

One reading that differs can be fills in flight; ``drift_strikes`` readings in a row pause
opening orders until a reading agrees again. An agreeing reading also settles R4 anomalies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal

from gridledger.domain.numbers import ZERO, fmt, opt_decimal
from gridledger.engine import events
from gridledger.engine.perp import net_position, signed_position
from gridledger.engine.shared import Shared
from gridledger.logs import log_event

log = logging.getLogger("gridledger.engine")

DRIFT_STRIKES = 2  # readings in a row outside tolerance before opening orders pause


@dataclass(slots=True)
class DriftReport:
    base_drift: Decimal = ZERO
    missing_on_exchange: list[str] = field(default_factory=list)  # ledger live, exchange not open

    @property
    def ok(self) -> bool:
        # (Open orders the ledger does not hold live are ingested by the same reconciliation:
        # ours become records through their client id, others are FOREIGN and not the grid's.)
        return self.base_drift == 0 and not self.missing_on_exchange


class DriftCheck:
    def __init__(self, shared: Shared) -> None:
        self.sh = shared
        self.report = DriftReport()
        self.strikes = 0
        self.paused = False

    def within(self, report: DriftReport) -> bool:
        return abs(report.base_drift) <= self.sh.eng.drift_tolerance and not report.missing_on_exchange

    async def exchange_position(self) -> Decimal | None:
        """What the exchange says the account holds: the base balance for spot, the
        position (contracts x contract size) for a linear contract."""
        sh = self.sh
        inst = sh.grid.instrument
        if inst.kind == "spot":
            result = await sh.caller.retry("fetch_balance", lambda: sh.ex.fetch_balance())
            if result.value is None:
                return None
            return opt_decimal((result.value.get(inst.base) or {}).get("total"), f"{inst.base} balance") or ZERO
        fetch = getattr(sh.ex, "fetch_positions", None)
        if fetch is None:
            return None
        result = await sh.caller.retry("fetch_positions", lambda: fetch([sh.symbol]))
        if result.value is None:
            return None
        # Signed: one-way mode's positionAmt is negative when short (engine/perp.py).
        return signed_position(result.value, sh.symbol, inst)

    async def check(self, open_ids: set[str] | None = None) -> DriftReport:
        """Sum of slots against the exchange's balance, live orders against open orders."""
        sh = self.sh
        total = await self.exchange_position()
        if total is None:
            return self.report
        # The ledger's side of the comparison is its net slot inventory: long slots minus
        # short slots (a long grid's position), as the venue's one-way position is net.
        held = net_position(sh.ledger)
        baseline = sh.journal.cursors.position_baseline
        if baseline is None:
            baseline = total - held
            sh.journal.cursors.position_baseline = baseline
            sh.journal.commit()
        was_paused = self.paused
        report = DriftReport(base_drift=total - baseline - held)
        if open_ids is not None:
            live = {r.client_id: r for r in sh.ledger.live_orders()}
            # Only acknowledged orders: one still in flight (or unanswered, being resolved by
            # its client id) is not open yet, and that is not drift.
            report.missing_on_exchange = sorted(
                c
                for c, r in live.items()
                if r.order_id is not None and c not in open_ids and r.order_id not in open_ids
            )
        if self.within(report):
            self.strikes = 0
            if self.paused:
                log_event(log, logging.WARNING, "drift back within tolerance: opening orders resume")
            self.paused = False
            if sh.ledger.anomalies:
                # R4: the venue agrees, so the overfill is reconciled. The clearing is
                # journaled now: until it is, a restart still finds the anomaly (item 8).
                sh.ledger.clear_anomalies()
                sh.journal.commit()
        else:
            self.strikes += 1
            # Fills in flight make one reading differ; two in a row pause opening orders.
            if self.strikes >= DRIFT_STRIKES and not self.paused:
                self.paused = True
                sh.stats.drift_pauses += 1
                log_event(
                    log,
                    logging.WARNING,
                    "drift outside tolerance: opening orders paused",
                    base_drift=report.base_drift,
                    missing=",".join(report.missing_on_exchange),
                )
        if report != self.report or self.paused != was_paused:
            sh.events.publish(
                events.DRIFT,
                sh.now_ms(),
                base_drift=fmt(report.base_drift),
                missing=",".join(report.missing_on_exchange),
                ok=report.ok,
                paused=self.paused,
            )
        self.report = report
        return report
