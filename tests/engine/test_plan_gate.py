"""The engine plans only when something changed (issue 12 item 5; engine/plan_gate.py).

1. The gate's theory, on the pure strategy: after a plan without actions, any price the
   gate calls unchanged gives ``decide`` the same (empty) actions and the same state.
2. A quiet paper session calls ``decide`` on a small share of its ticks.
3. The same chaos session with the gate and with planning on every tick sends the venue the
   very same commands (orders and cancels, in order, at the same times) and ends in the same
   ledger, outcome counts and audit.
"""

from __future__ import annotations

import sqlite3
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gridledger
import gridledger.engine.decisions as decisions
from gridledger.config import parse_config, strategy_params
from gridledger.domain.types import Side
from gridledger.engine.plan_gate import PlanGate, price_cell
from gridledger.paper.session import run_paper
from gridledger.paper.settings import paper_settings
from gridledger.strategy import LiveOrder, MarketRules, Place, SlotView, StrategyState, decide

RULES = MarketRules(
    amount_step=Decimal("0.00001"),
    price_step=Decimal("0.01"),
    min_amount=Decimal("0.00001"),
    min_notional=Decimal("5"),
)


# ---------------------------------------------------------------------------- price cells
@settings(max_examples=300, deadline=None)
@given(
    anchor=st.integers(100, 100_000),
    interval=st.integers(1, 5_000),
    offset=st.integers(-2_000_000, 2_000_000),
)
def test_price_cell_is_the_half_interval_cell(anchor: int, interval: int, offset: int) -> None:
    # Prices in cents; the cell is floor(2 * (price - anchor) / interval), on its edge if exact.
    params = strategy_params(Decimal(anchor), Decimal(interval) / 100)
    price = Decimal(anchor) + Decimal(offset) / 100
    twice_cents = 2 * offset
    assert price_cell(params, price) == (twice_cents // interval, twice_cents % interval == 0)


# ---------------------------------------------------------------------------- the theory
def _params(draw: st.DrawFn) -> Any:
    return strategy_params(
        Decimal(30000),
        Decimal(draw(st.sampled_from(["10", "120", "0.5"]))),
        quote_per_level=Decimal(150),
        buy_window=draw(st.integers(1, 6)),
        max_open_orders=draw(st.integers(1, 12)),
        post_only=draw(st.booleans()),
        post_only_close=draw(st.booleans()),
        hysteresis=Decimal(draw(st.sampled_from(["0", "0.1", "0.25", "0.45"]))),
    )


def _act(slots: dict[int, SlotView], actions: tuple[Any, ...], n: int) -> None:
    """The venue accepts every action at once (the engine's ledger would record them)."""
    for action in actions:
        old = slots.get(action.level, SlotView(action.level, Decimal(0), None))
        if isinstance(action, Place):
            live = LiveOrder(f"o{n}-{action.level}", action.side, action.role, action.price, action.amount, Decimal(0))
            slots[action.level] = SlotView(action.level, old.qty, live)
        else:
            slots[action.level] = SlotView(action.level, old.qty, None)


def _fill(slots: dict[int, SlotView], level: int) -> bool:
    """The live order of ``level`` fills: a buy leaves inventory, a sell frees the slot."""
    view = slots.get(level)
    if view is None or view.live is None:
        return False
    qty = view.qty + view.live.amount if view.live.side is Side.BUY else Decimal(0)
    slots[level] = SlotView(level, qty, None)
    return True


@settings(max_examples=250, deadline=None)
@given(data=st.data())
def test_a_price_the_gate_calls_unchanged_plans_the_same(data: st.DataObject) -> None:
    """An engine-like walk: prices move in steps of 1/100 interval (every cell, every edge),
    the venue accepts every action, orders sometimes fill; wherever the gate would skip,
    planning gives no actions and the same state."""
    params = data.draw(st.composite(_params)())
    moves = data.draw(st.lists(st.integers(-60, 60), min_size=10, max_size=120))
    fills = data.draw(st.lists(st.integers(-8, 8), min_size=len(moves), max_size=len(moves)))
    paused = data.draw(st.lists(st.booleans(), min_size=len(moves), max_size=len(moves)))
    gate, ledger, version = PlanGate(), object(), 0
    slots: dict[int, SlotView] = {}
    state = StrategyState()
    steps = 0
    for n, (move, fill, pause) in enumerate(zip(moves, fills, paused, strict=True)):
        steps += move
        price = params.anchor + params.interval * Decimal(steps) / 100
        if price <= 0:
            continue
        if n % 7 == 3 and _fill(slots, fill):
            version += 1  # new evidence
        pause = pause and n % 5 == 0  # pauses come and go now and then
        before = state
        decision = decide(state, params, RULES, price, slots, paused=pause)
        if gate.unchanged(ledger, version, before, params, RULES, pause, price):
            # What the engine skips must be exactly what planning would have done.
            assert decision.actions == ()
            assert decision.state is before
        state = decision.state
        gate.planned(ledger, version, state, params, RULES, pause, price, quiet=not decision.actions)
        if decision.actions:
            _act(slots, decision.actions, n)
            version += 1  # new orders are recorded in the ledger


def test_the_walk_skips_most_quiet_prices() -> None:
    """The gate is not vacuous: a quiet grid wobbling inside one cell is skipped."""
    params = strategy_params(Decimal(30000), Decimal(120), buy_window=3)
    gate, ledger, slots, state = PlanGate(), object(), dict[int, SlotView](), StrategyState()
    skipped = 0
    for n, price in enumerate(["30010", "30011", "30012", "30013", "30012", "30011", "30014"]):
        decision = decide(state, params, RULES, Decimal(price), slots)
        if gate.unchanged(ledger, n, state, params, RULES, False, Decimal(price)):
            skipped += 1
        state = decision.state
        gate.planned(ledger, n, state, params, RULES, False, Decimal(price), quiet=not decision.actions)
        _act(slots, decision.actions, n)
    assert skipped == 0  # the version moved every time: nothing may be skipped
    gate.planned(ledger, 99, state, params, RULES, False, Decimal("30014"), quiet=True)
    assert all(gate.unchanged(ledger, 99, state, params, RULES, False, Decimal(p)) for p in ("30001", "30059.99"))
    assert not gate.unchanged(ledger, 99, state, params, RULES, False, Decimal("30060"))  # a midpoint


def test_the_gate_sees_every_input() -> None:
    params = strategy_params(Decimal(30000), Decimal(120))
    gate = PlanGate()
    ledger, state, price = object(), StrategyState(centre=0), Decimal("30010")
    gate.planned(ledger, 3, state, params, RULES, False, price, quiet=True)
    assert gate.unchanged(ledger, 3, state, params, RULES, False, Decimal("30020"))
    assert not gate.unchanged(ledger, 4, state, params, RULES, False, price)  # new evidence
    assert not gate.unchanged(object(), 3, state, params, RULES, False, price)  # a restart
    assert not gate.unchanged(ledger, 3, StrategyState(centre=0), params, RULES, False, price)  # a reject
    assert not gate.unchanged(ledger, 3, state, params, RULES, True, price)  # paused
    assert not gate.unchanged(ledger, 3, state, params, RULES, False, Decimal("30060"))  # a midpoint
    assert not gate.unchanged(ledger, 3, state, params, RULES, False, Decimal("30200"))  # the centre moved
    gate.planned(ledger, 3, state, params, RULES, False, price, quiet=False)  # a plan with actions
    assert not gate.unchanged(ledger, 3, state, params, RULES, False, price)
    gate.planned(ledger, 3, state, params, RULES, False, price, quiet=True)
    gate.forget()
    assert not gate.unchanged(ledger, 3, state, params, RULES, False, price)


# ---------------------------------------------------------------------------- paper sessions
def _config(duration: str, seed: int) -> tuple[Any, Any]:
    bundled = Path(gridledger.__file__).parent / "data" / "paper.toml"
    data = tomllib.loads(bundled.read_text(), parse_float=Decimal)
    data["paper"]["duration"] = duration
    data["paper"]["seed"] = seed
    cfg = parse_config(data)
    return cfg, paper_settings(cfg.paper)


def _commands(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"{db}.venue") as conn:
        return list(conn.execute("SELECT * FROM commands ORDER BY 1"))


def _session(tmp: Path, name: str, chaos: bool, seed: int, duration: str) -> tuple[Any, list[tuple[Any, ...]]]:
    cfg, ps = _config(duration, seed)
    db = tmp / f"{name}.db"
    result = run_paper(cfg, ps, chaos=chaos, db=db)
    return result, _commands(db)


def _counting_decide(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = decisions.decide

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(decisions, "decide", counting)
    return calls


def test_a_quiet_session_plans_on_few_ticks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _counting_decide(monkeypatch)
    result, _ = _session(tmp_path, "quiet", chaos=False, seed=3, duration="2h")
    ticks = result.engine["ticks"]
    assert result.audit.match
    assert ticks > 3_000
    # Without the gate decide() runs on every tick; with it, on a small share of them.
    assert 0 < len(calls) < ticks / 4, (len(calls), ticks)


@pytest.mark.parametrize("seed", [2, 5])
def test_planning_only_on_change_sends_the_same_orders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    gated, gated_commands = _session(tmp_path, "gated", chaos=True, seed=seed, duration="2h")
    calls = _counting_decide(monkeypatch)
    monkeypatch.setattr(PlanGate, "unchanged", lambda self, *args: False)  # plan on every tick
    every, every_commands = _session(tmp_path, "every", chaos=True, seed=seed, duration="2h")
    assert len(calls) >= every.engine["ticks"] * 0.9  # it did plan (nearly) every tick
    assert gated_commands == every_commands
    assert len(gated_commands) > 10
    assert gated.state == every.state
    assert gated.audit == every.audit and gated.audit.match
    assert gated.faults == every.faults
    assert gated.engine == every.engine
    assert gated.trades == every.trades


def test_a_post_only_sell_waiting_for_the_price_to_drop_below_its_level() -> None:
    """Why the cell matters as well as the centre: a post-only closing sell at 30000 cannot
    rest while the price is above it (a quiet plan), and must be placed once it is below."""
    params = strategy_params(Decimal(30000), Decimal(120), buy_window=1, post_only_close=True)
    slots = {-1: SlotView(-1, Decimal("0.005"), None)}  # inventory bought at 29880, sold at 30000
    state = StrategyState(centre=0)
    quiet = decide(state, params, RULES, Decimal("30005"), slots)
    assert quiet.actions == () and quiet.state is state
    gate = PlanGate()
    ledger = object()
    gate.planned(ledger, 1, state, params, RULES, False, Decimal("30005"), quiet=True)
    assert gate.unchanged(ledger, 1, state, params, RULES, False, Decimal("30001"))
    below = decide(state, params, RULES, Decimal("29995"), slots)
    assert below.actions and below.state.centre == 0  # same centre, another cell: a sell
    assert not gate.unchanged(ledger, 1, state, params, RULES, False, Decimal("29995"))
