"""R4 overfill anomalies survive a restart until a reconciliation clears them (issue 7 item 8).

An overfill pauses new opening orders until reconciled. The anomaly is journaled in the same
transaction as the evidence that raised it (R8), restored on open, and cleared only by the
engine's reconciliation finding that the venue agrees; the clearing is journaled too.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from engine_helpers import START, config

from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.ledger.evidence import OrderEvidence
from gridledger.ledger.ledger import Ledger
from gridledger.store.journal import Journal

GRID = config().grid.spec()


def overfill(journal: Journal, level: int = -1, order_id: str = "77") -> str:
    """An open buy of 0.001 that the venue reports filled 0.0012: applied, flagged (R4)."""
    led = journal.ledger
    rec = led.new_order(level, Side.BUY, Role.OPEN, D("0.001"), GRID.level_price(level))
    journal.record_intent(f"intent {rec.client_id}")
    ev = OrderEvidence(
        GRID.symbol,
        order_id,
        rec.client_id,
        OrderStatus.FILLED,
        Side.BUY,
        D("0.001"),
        rec.price,
        D("0.0012"),
        D("0.0012") * rec.price,
        (),
        START,
        None,
        "ws:orders",
    )
    journal.apply_message("overfill", [ev], source="ws:orders")
    return rec.client_id


def reopen(db: Path) -> Journal:
    return Journal.open(db, Ledger(GRID), synchronous="OFF")


def test_overfill_anomaly_survives_reopen_and_a_replay_does_not_repeat_it(tmp_path):
    db = tmp_path / "j.db"
    j = reopen(db)
    client_id = overfill(j)
    assert len(j.ledger.anomalies) == 1 and "overfill" in j.ledger.anomalies[0]
    j.close()
    j = reopen(db)
    try:
        assert len(j.ledger.anomalies) == 1 and client_id in j.ledger.anomalies[0]
        assert j.ledger.position == D("0.0012")  # applied as the exchange reports it
        # A replay of the same evidence changes nothing and raises no second anomaly.
        rec = j.ledger.order(client_id)
        replay = OrderEvidence(
            GRID.symbol,
            "77",
            client_id,
            OrderStatus.FILLED,
            Side.BUY,
            D("0.001"),
            rec.price,
            D("0.0012"),
            D("0.0012") * rec.price,
            (),
            START,
            None,
            "rest:query",
        )
        assert j.apply_message("replay", [replay])[0].kind.value == "DUPLICATE"
        assert len(j.ledger.anomalies) == 1
    finally:
        j.close()


def test_anomaly_is_written_with_the_evidence_that_raised_it(tmp_path):
    # R8: a crash before the commit loses both the fill and its anomaly, never one of them.
    db = tmp_path / "j.db"
    j = reopen(db)
    with j.group():
        overfill(j)  # record_intent commits the order record; the overfill is in the group
        j.abandon()  # SIGKILL before the group commits
    j = reopen(db)
    try:
        assert j.ledger.position == 0 and j.ledger.anomalies == []
    finally:
        j.close()


def test_clearing_is_journaled_and_a_crash_before_it_keeps_the_anomaly(tmp_path):
    db = tmp_path / "j.db"
    j = reopen(db)
    overfill(j)
    assert j.ledger.clear_anomalies() and j.ledger.anomalies == []
    j.abandon()  # the clearing was never committed
    j = reopen(db)
    assert len(j.ledger.anomalies) == 1
    cleared = j.ledger.clear_anomalies()
    assert len(cleared) == 1 and j.ledger.clear_anomalies() == []
    j.commit()
    j.close()
    j = reopen(db)
    try:
        assert j.ledger.anomalies == []
    finally:
        j.close()


def opening_places(eng, price: D) -> list:
    return [p for p in eng.plan(price).places if p.role is Role.OPEN]


def test_engine_stays_paused_after_restart_until_a_clean_reconciliation(world, tmp_path):
    db = tmp_path / "j.db"

    async def scenario():
        await world.start((600, "30000"))
        # A control journal without the anomaly: the strategy would open buys here.
        control = world.engine(db="control.db")
        await control.prepare()
        assert opening_places(control, D("30000"))
        control.journal.close()

        j = world.journal(reopen(db))
        overfill(j)
        j.close()  # run 1 ends (or crashes) before any reconciliation

        eng = world.engine(db="j.db")  # run 2 on the same journal
        await eng.prepare()
        assert eng.ledger.anomalies and eng.paused and "anomaly" in eng.pause_reasons
        assert opening_places(eng, D("30000")) == []  # R4: no new opening orders
        await eng.reconcile("test")  # the venue agrees with the ledger: zero drift
        assert eng.drift.ok
        assert eng.ledger.anomalies == [] and not eng.paused
        assert opening_places(eng, D("30000"))
        eng.journal.close()

        again = world.engine(db="j.db")  # run 3: the clearing was journaled
        await again.prepare()
        assert again.ledger.anomalies == [] and not again.paused
        assert opening_places(again, D("30000"))

    world.run(scenario())
