"""Issue 7 item 10: reconciliation backs off while drift persists, reasons are labelled truthfully,
and the venue's request weight budget is never exceeded. Virtual time only: no test sleeps."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal as D

import pytest

from gridledger.config import parse_config
from gridledger.engine.executor import Caller, WeightBudget, call_weight
from gridledger.engine.schedule import ReconcileSchedule
from gridledger.exchange.sim.faults import StreamFaults


def config(**engine_table):
    return parse_config(
        {
            "grid": {"id": "e1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100"},
            "strategy": {"buy_window": 3, "quote_per_level": "100", "max_open_orders": 10},
            "engine": {"journal_synchronous": "OFF", **engine_table},
        }
    )


class Counted:
    """Counts the account and open-orders calls a venue serves, with their loop times."""

    def __init__(self, sim) -> None:
        self.calls: dict[str, list[float]] = {"fetch_balance": [], "fetch_open_orders": []}
        for name in self.calls:
            inner = getattr(sim, name)

            async def wrapped(*a, _inner=inner, _name=name, **kw):
                self.calls[_name].append(asyncio.get_running_loop().time())
                return await _inner(*a, **kw)

            setattr(sim, name, wrapped)

    def between(self, name: str, start: float, end: float) -> int:
        return sum(1 for t in self.calls[name] if start <= t < end)


def reasons(caplog) -> list[str]:
    return [r.fields["reason"] for r in caplog.records if r.getMessage() == "reconcile"]


@pytest.mark.parametrize("every", [60.0, 5.0])
def test_persistent_drift_backs_off_and_is_labelled_drift(world, caplog, every):
    async def scenario():
        sim = world.venue((700, "30000"))
        counted = Counted(sim)
        await sim.start()
        eng = world.engine(config(reconcile_every_s=every))
        loop = asyncio.get_running_loop()
        await world.run_for(20, eng)
        assert len(eng.ledger.live_orders()) == 3
        caplog.clear()
        sim.core.deposit("BTC", D("0.5"))  # not the grid's doing: drift that never resolves
        await eng.reconcile("test")
        t0 = loop.time()
        await asyncio.sleep(600)  # ten simulated minutes of persistent drift
        t1 = loop.time()
        assert eng.paused and eng.drift_paused and eng.drift.base_drift == D("0.5")
        await world.stop(eng)
        balance = counted.between("fetch_balance", t0, t1)
        open_orders = counted.between("fetch_open_orders", t0, t1)
        # Before the fix: back to back, thousands of each in ten minutes (113 in 36 s on a
        # real venue). Now: re-checks at 5, 10, 20, 40, ... s after each drifting reading,
        # the periodic run folded in, and never more often than the configured period.
        bound = 12 if every >= 60 else 10 + int(600 / every)
        assert 3 <= balance <= bound, balance
        assert 3 <= open_orders <= bound, open_orders
        labels = reasons(caplog)
        # (idle: no order message for stream_idle_s, 300 s by default, is reconciled too.)
        assert labels[0] == "test" and set(labels[1:]) <= {"drift", "periodic", "idle"}, labels
        assert labels.count("drift") >= 3
        if every >= 60:
            assert "periodic" not in labels  # the drift re-check stands in for the periodic one
        assert "reconnect" not in labels

    with caplog.at_level(logging.INFO, logger="gridledger"):
        world.run(scenario())


def _labels_of_a_run(
    world, caplog, name: str, seconds: int, faults: StreamFaults | None = None, flat: bool = False, **engine_table
) -> tuple[list[str], object]:
    caplog.clear()

    async def scenario():
        segments = [(seconds + 10, "30000")] if flat else [(30, "30000"), (60, "29650"), (seconds, "30100")]
        await world.start(*segments, stream_faults=faults or StreamFaults())
        eng = await world.run_for(seconds, world.engine(config(**engine_table), db=f"{name}.db"))
        await world.stop(eng)
        return eng

    with caplog.at_level(logging.INFO, logger="gridledger"):
        eng = world.run(scenario())
    return reasons(caplog), eng


@pytest.mark.parametrize("case", ["periodic", "idle", "reconnect"])
def test_reasons_are_labelled_truthfully(world, caplog, case):
    if case == "periodic":
        labels, _ = _labels_of_a_run(world, caplog, case, 100, flat=True, reconcile_every_s=30, stream_idle_s=1000)
        assert labels == ["startup", "periodic", "periodic", "periodic"]
    elif case == "idle":
        labels, _ = _labels_of_a_run(world, caplog, case, 100, flat=True, reconcile_every_s=1000, stream_idle_s=20)
        assert labels[0] == "startup" and labels.count("idle") >= 2 and set(labels) == {"startup", "idle"}
    else:
        faults = StreamFaults(disconnect_every=3, replay_last=1, seed=1)
        labels, eng = _labels_of_a_run(world, caplog, case, 150, faults, reconcile_every_s=1000, stream_idle_s=1000)
        assert eng.stats.reconnects >= 1 and labels[0] == "startup" and "reconnect" in labels
        assert set(labels) <= {"startup", "reconnect", "query"}, labels
        # Never back to back: requested reconciliations keep the minimum gap (5 s).
        assert len(labels) <= 1 + 150 // 5


def test_schedule_clocked_by_argument_backs_off_to_the_cap():
    schedule = ReconcileSchedule(every_s=60.0, backoff_s=5.0, backoff_max_s=120.0, now=0.0)
    now, runs, gaps, last = 0.0, [], [], 0.0
    schedule.finished(now, drift=True)  # the first drifting reading
    while now < 600.0:
        now = now + schedule.wait_s(now)
        reason = schedule.due(now)
        assert reason is not None
        schedule.started()
        runs.append(reason)
        gaps.append(now - last)
        last = now
        schedule.finished(now, drift=True)
    assert set(runs) == {"drift"}
    assert gaps[:5] == [5.0, 10.0, 20.0, 40.0, 80.0] and max(gaps) == 120.0
    assert len(runs) <= 10
    # Drift gone: back to the period; a reconnect waits the minimum gap after the last run.
    schedule.finished(now, drift=False)
    assert schedule.due(now + 59) is None and schedule.due(now + 60) == "periodic"
    schedule.request("reconnect")
    assert schedule.due(now + 1) is None and schedule.due(now + 5) == "reconnect"


def test_weight_budget_is_never_exceeded_in_any_minute(world):
    async def scenario():
        loop = asyncio.get_running_loop()
        caller = Caller(rate_per_s=1000, timeout_s=10, retries=0, weight_per_min=200)
        served: list[tuple[float, int]] = []

        async def account():
            served.append((loop.time(), call_weight("fetch_balance")))
            return {}

        for _ in range(60):  # 60 x 20 weight = six minutes of a 200/min budget
            await caller.once("fetch_balance", account)
        times = [t for t, _ in served]
        for t in times:
            assert sum(w for s, w in served if t - 60.0 < s <= t) <= 200
        assert times[-1] - times[0] >= 5 * 60  # it waited rather than overran
        assert caller.budget.waits > 0

    world.run(scenario())


def test_weights_follow_binance_spot():
    assert call_weight("fetch_balance") == 20
    assert call_weight("fetch_open_orders") == 6
    assert call_weight("fetch_my_trades order 12") == 20
    assert call_weight("fetch_order gl1...") == 4
    assert call_weight("create_order gl1...") == 1
    with pytest.raises(ValueError):
        WeightBudget(0)


def test_budget_is_a_config_field_with_a_range():
    from gridledger.config import ConfigError

    assert config().engine.request_weight_per_min == 6000
    assert config(request_weight_per_min=1200).engine.request_weight_per_min == 1200
    with pytest.raises(ConfigError, match="request_weight_per_min"):
        config(request_weight_per_min=0)
    with pytest.raises(ConfigError, match="reconcile_backoff_s"):
        config(reconcile_backoff_s=0)


def test_a_failed_reconciliation_is_retried_after_the_gap_not_at_once():
    schedule = ReconcileSchedule(every_s=60.0, backoff_s=5.0, backoff_max_s=600.0, now=0.0)
    schedule.started()
    schedule.failed(1000.0)  # e.g. the startup one, on a real loop whose clock is far from 0
    assert schedule.due(1000.0) is None and schedule.due(1004.0) is None
    assert schedule.due(1005.0) == "retry"
    # Still no answer: the retries back off too (10 s, then 20 s), until one succeeds.
    schedule.started()
    schedule.failed(1005.0)
    assert schedule.due(1014.0) is None and schedule.due(1015.0) == "retry"
    schedule.started()
    schedule.failed(1015.0)
    assert schedule.wait_s(1015.0) == 20.0
    schedule.started()
    schedule.finished(1035.0, drift=False)
    schedule.request("reconnect")
    assert schedule.due(1040.0) == "reconnect"
