"""Issue 11: the ledger's properties P1-P4 for long, short and neutral grids, and the rules
that keep a slot's evidence on its direction's sides (R5, R7, R10).

The histories come from testkit.synthetic, whose generator trades each level in its grid's
direction and whose ground truth is computed with plain arithmetic, independently of the
ledger's fold. The direction is drawn by hypothesis, so every property runs all three.
"""

from __future__ import annotations

import random
import tempfile
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.domain.coid import ClientId, encode
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.types import Direction, GridDirection, OrderStatus, Role, Side
from gridledger.ledger.evidence import OrderEvidence, TradeEvidence
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.slots import EMPTY
from gridledger.store.errors import JournalError
from gridledger.store.journal import Journal
from gridledger.testkit.synthetic import (
    OrderTruth,
    final_snapshot,
    generate_history,
    ground_truth,
    interleave,
    order_evidence,
    with_faults,
)

PERP = Instrument.from_symbol("BTC/USDT:USDT")
SYM = PERP.symbol
GRIDS = {
    GridDirection.LONG: (GridSpec("t1", PERP, D(100), D(10)), range(-4, 0)),
    GridDirection.SHORT: (GridSpec("t1", PERP, D(100), D(10), direction=GridDirection.SHORT), range(1, 5)),
    # Pivot 0 in the middle: two long slots below it, two short slots above it.
    GridDirection.NEUTRAL: (
        GridSpec("t1", PERP, D(100), D(10), direction=GridDirection.NEUTRAL, pivot=0),
        (-2, -1, 1, 2),
    ),
}
MODES = ("everything", "all_trades", "final_only", "trades_no_snapshots", "final_and_some")


def evidence_set(rng: random.Random, grid: GridSpec, o: OrderTruth, mode: str, snapshot_fees: bool) -> list:
    """A subset of an order's stream that still contains its final snapshot or all its trades."""
    full = order_evidence(grid, o, snapshot_fees=snapshot_fees)
    trades = [e for e in full if isinstance(e, TradeEvidence)]
    snaps = [e for e in full if not isinstance(e, TradeEvidence)]
    if not snapshot_fees and mode in ("final_only", "final_and_some"):
        mode = "all_trades"  # a snapshot without fees: only the trades prove them
    if mode == "everything":
        return full
    if mode == "all_trades":
        return [e for e in full if isinstance(e, TradeEvidence) or rng.random() < 0.5]
    if mode == "trades_no_snapshots":
        return trades
    if mode == "final_only":
        return [snaps[-1]]
    return [e for e in full[:-1] if rng.random() < 0.4] + [snaps[-1]]


def build(direction: GridDirection, seed: int, n: int, snapshot_fees: bool, dup: float, window: int):
    grid, levels = GRIDS[direction]
    rng = random.Random(seed)
    hist = generate_history(rng, grid, n, levels=levels, rebate_p=rng.choice([0.0, 0.5]))
    streams = [evidence_set(rng, grid, o, rng.choice(MODES), snapshot_fees) for o in hist]
    items = interleave(rng, streams)
    if rng.random() < 0.5:
        rng.shuffle(items)
    items = with_faults(rng, items, duplicate_p=dup, reorder_window=window, replay_every=17, replay_last=9)
    return rng, grid, hist, items


def net_truth(grid: GridSpec, hist: list[OrderTruth]) -> D:
    total = D(0)
    for level, t in ground_truth(grid, hist).items():
        total += -t.qty if grid.level_direction(level) is Direction.SHORT else t.qty
    return total


def assert_matches_truth(led: Ledger, grid: GridSpec, hist: list[OrderTruth]) -> None:
    truth = ground_truth(grid, hist)
    for level, t in truth.items():
        s = led.slots[level].state if level in led.slots else EMPTY
        assert (s.qty, s.cost, s.realized, s.fees) == (t.qty, t.cost, t.realized, t.fees), f"level {level}"
    assert led.position == sum((t.qty for t in truth.values()), D(0))
    assert led.net_position == net_truth(grid, hist)
    for o in hist:
        rec = led.order(o.client_id)
        if rec is None:
            assert o.filled == 0
            continue
        assert rec.filled == o.filled, o.client_id


histories = dict(
    direction=st.sampled_from(GridDirection),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 25),
    snapshot_fees=st.booleans(),
    dup=st.sampled_from([0.0, 0.2, 0.6]),
    window=st.sampled_from([1, 4, 16]),
)


@settings(max_examples=90)
@given(**histories, flush_every=st.sampled_from([0, 1, 3, 50]))
def test_p1_convergence_for_every_direction(direction, seed, n, snapshot_fees, dup, window, flush_every):
    _rng, grid, hist, items = build(direction, seed, n, snapshot_fees, dup, window)
    led = Ledger(grid)
    for i, ev in enumerate(items, start=1):
        led.apply(ev)
        if flush_every and i % flush_every == 0:
            led.flush_to_memory()  # late evidence then reopens folds
    led.flush_to_memory()
    assert_matches_truth(led, grid, hist)
    assert led.counts["REJECTED"] == 0


@settings(max_examples=60)
@given(**histories)
def test_p2_no_prefix_overcounts_for_every_direction(direction, seed, n, snapshot_fees, dup, window):
    _rng, grid, hist, items = build(direction, seed, n, snapshot_fees, dup, window)
    base = grid.instrument.base
    truths = {o.client_id: o for o in hist}
    led = Ledger(grid)
    for ev in items:
        led.apply(ev)
        seen = [r for r in (led.order(c) for c in truths) if r is not None]
        for rec in seen:
            filled, cost, _fees = rec.effective()
            o = truths[rec.client_id]
            assert filled <= o.filled and cost <= o.cost
        for level, slot in led.slots.items():
            d = grid.level_direction(level)
            assert d is not None
            # Everything the slot's opening orders will ever bring, minus what the closing
            # orders seen so far have taken out (base fees as in R5; short slots pay none).
            opened = sum(
                (
                    o.filled - dict(o.fees).get(base, D(0)) if d is Direction.LONG else o.filled
                    for o in hist
                    if o.level == level and o.side is d.opening_side
                ),
                D(0),
            )
            closed = sum(
                (
                    r.effective()[0] + dict(r.effective()[2]).get(base, D(0))
                    if d is Direction.LONG
                    else r.effective()[0]
                    for r in seen
                    if r.level == level and r.side is d.closing_side
                ),
                D(0),
            )
            unreported = sum(
                (
                    dict(truths[r.client_id].fees).get(base, D(0)) - dict(r.effective()[2]).get(base, D(0))
                    for r in seen
                    if r.level == level and r.side is d.opening_side and r.fees_incomplete()
                ),
                D(0),
            )
            assert slot.state.qty <= opened - closed + unreported, (direction, level)


@settings(max_examples=40)
@given(**histories, crash_at=st.floats(0, 1), resume_back=st.integers(0, 40), group=st.sampled_from([1, 7, 100]))
def test_p3_crash_restart_replay_converges_for_every_direction(
    direction, seed, n, snapshot_fees, dup, window, crash_at, resume_back, group
):
    _rng, grid, hist, items = build(direction, seed, n, snapshot_fees, dup, window)
    cut = int(len(items) * crash_at)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "j.db"
        j = Journal.open(db, Ledger(grid), synchronous="OFF", group_size=group)
        with j.group():
            for i, ev in enumerate(items[:cut]):
                j.apply_message(f"m{i}", [ev])
            j.abandon()  # SIGKILL: the open group is never committed
        j = Journal.open(db, Ledger(grid), synchronous="OFF", group_size=group)
        committed = j.entries()
        with j.group():
            for i, ev in enumerate(items[max(0, committed - resume_back) :]):
                j.apply_message(f"r{i}", [ev])
        j.close()
        j = Journal.open(db, Ledger(grid), synchronous="OFF")
        try:
            assert_matches_truth(j.ledger, grid, hist)
        finally:
            j.close()


@settings(max_examples=60)
@given(**histories, keep=st.floats(0, 1))
def test_p4_one_rest_pass_converges_for_every_direction(direction, seed, n, snapshot_fees, dup, window, keep):
    rng, grid, hist, items = build(direction, seed, n, snapshot_fees, dup, window)
    led = Ledger(grid)
    for ev in items:
        if rng.random() < keep:  # the stream lost the rest
            led.apply(ev)
    for o in hist:  # one reconciliation pass: fetch_order for each order, fetch_my_trades
        led.apply(final_snapshot(grid, o))
        for ev in order_evidence(grid, o, snapshot_fees=snapshot_fees):
            if isinstance(ev, TradeEvidence):
                led.apply(ev)
    assert_matches_truth(led, grid, hist)
    # Zero drift against the venue's one-way position for the symbol.
    assert led.net_position - net_truth(grid, hist) == 0


# ---------------------------------------------------------------------------- examples
SHORT_GRID = GRIDS[GridDirection.SHORT][0]
NEUTRAL_GRID = GRIDS[GridDirection.NEUTRAL][0]


def cid(level: int, side: Side, role: Role, gen: int = 0) -> str:
    return encode(ClientId("t1", level, side, role, gen))


def snap(client_id: str, order_id: str, side: Side, filled: str, price: str, fees=(("USDT", "0"),)) -> OrderEvidence:
    return OrderEvidence(
        symbol=SYM,
        order_id=order_id,
        client_id=client_id,
        status=OrderStatus.FILLED,
        side=side,
        amount=D(filled),
        price=D(price),
        filled=D(filled),
        cost=D(filled) * D(price),
        fees=tuple((a, D(v)) for a, v in fees),
        timestamp=1,
        event_id=None,
    )


def test_a_short_slot_sells_to_open_and_buys_back_to_close_with_fees_signed() -> None:
    led = Ledger(SHORT_GRID)
    opened = led.apply(snap(cid(2, Side.SELL, Role.OPEN), "1", Side.SELL, "1", "120", (("USDT", "0.12"),)))
    assert opened.kind.value == "APPLIED" and opened.slot_qty_delta == D(1)
    s = led.slots[2].state
    assert (s.qty, s.cost) == (D(1), D("119.88"))  # proceeds net of the quote fee
    assert (led.position, led.net_position) == (D(1), D(-1))
    # The maker rebate on the buy back is received: it adds to the realized PnL (R1, R5).
    closed = led.apply(snap(cid(2, Side.BUY, Role.CLOSE, 1), "2", Side.BUY, "1", "110", (("USDT", "-0.011"),)))
    s = led.slots[2].state
    assert (s.qty, s.cost, s.realized, s.round_trips) == (D(0), D(0), D("9.891"), 1)
    assert closed.realized_delta == D("9.891")
    assert led.fees() == {"USDT": D("0.109")}


def test_net_position_is_long_slots_minus_short_slots() -> None:
    led = Ledger(NEUTRAL_GRID)
    led.apply(snap(cid(-1, Side.BUY, Role.OPEN), "1", Side.BUY, "0.3", "90"))
    led.apply(snap(cid(1, Side.SELL, Role.OPEN), "2", Side.SELL, "0.5", "110"))
    led.apply(snap(cid(2, Side.SELL, Role.OPEN), "3", Side.SELL, "0.25", "120"))
    assert led.position == D("1.05")
    assert led.net_position == D("-0.45")
    long_grid = Ledger(GRIDS[GridDirection.LONG][0])
    long_grid.apply(snap(cid(-1, Side.BUY, Role.OPEN), "1", Side.BUY, "0.3", "90"))
    assert long_grid.net_position == long_grid.position == D("0.3")


@pytest.mark.parametrize(
    ("grid", "level", "side", "role", "why"),
    [
        (SHORT_GRID, 2, Side.BUY, Role.OPEN, "open buy at level 2: a short slot opens with a sell"),
        (SHORT_GRID, 2, Side.SELL, Role.CLOSE, "close sell at level 2: a short slot"),
        (NEUTRAL_GRID, 1, Side.BUY, Role.OPEN, "a short slot opens with a sell"),
        (NEUTRAL_GRID, -1, Side.SELL, Role.OPEN, "a long slot opens with a buy"),
        (NEUTRAL_GRID, 0, Side.BUY, Role.OPEN, "pivot and holds no slot"),
        (NEUTRAL_GRID, 0, Side.SELL, Role.CLOSE, "pivot and holds no slot"),
        (GRIDS[GridDirection.LONG][0], -2, Side.SELL, Role.OPEN, "a long slot opens with a buy"),
    ],
)
def test_an_id_on_the_wrong_side_for_its_slot_is_rejected_and_changes_nothing(grid, level, side, role, why) -> None:
    led = Ledger(grid)
    for ev in (
        snap(cid(level, side, role), "9", side, "1", "100"),
        TradeEvidence(SYM, "9", cid(level, side, role), "t9", side, D(1), D(100), D(100), ()),
    ):
        out = led.apply(ev)
        assert out.kind.value == "REJECTED" and why in out.reason, out
    # Nothing was created: no slot, no record, no position (R10).
    assert led.slots == {} and led.order(cid(level, side, role)) is None
    assert (led.position, led.net_position) == (D(0), D(0))
    with pytest.raises(ValueError, match="slot"):
        led.new_order(level, side, role, D(1), D(100))


def test_new_orders_on_the_right_side_are_accepted_for_each_direction() -> None:
    led = Ledger(NEUTRAL_GRID)
    assert led.new_order(-1, Side.BUY, Role.OPEN, D(1), D(90)).side is Side.BUY
    assert led.new_order(1, Side.SELL, Role.OPEN, D(1), D(110)).side is Side.SELL
    assert led.new_order(2, Side.BUY, Role.CLOSE, D(1), D(110)).role is Role.CLOSE


def test_a_journal_refuses_a_config_of_another_direction(tmp_path: Path) -> None:
    db = tmp_path / "j.db"
    j = Journal.open(db, Ledger(SHORT_GRID), synchronous="OFF")
    j.apply_message("m0", [snap(cid(2, Side.SELL, Role.OPEN), "1", Side.SELL, "1", "120")])
    j.close()
    # Read as a long grid, the short slot's fold would have the wrong sign everywhere (R5).
    with pytest.raises(JournalError, match="direction"):
        Journal.open(db, Ledger(GRIDS[GridDirection.LONG][0]), synchronous="OFF")
    j = Journal.open(db, Ledger(SHORT_GRID), synchronous="OFF")
    try:
        assert j.ledger.net_position == D(-1)
    finally:
        j.close()


def test_the_state_report_names_the_direction_and_the_net_position() -> None:
    from gridledger.ledger.report import ledger_state

    led = Ledger(NEUTRAL_GRID)
    led.apply(snap(cid(-1, Side.BUY, Role.OPEN), "1", Side.BUY, "0.3", "90"))
    led.apply(snap(cid(1, Side.SELL, Role.OPEN), "2", Side.SELL, "0.5", "110"))
    state = ledger_state(led)
    assert (state["direction"], state["pivot"], state["position"], state["net_position"]) == (
        "neutral",
        "100",
        "0.8",
        "-0.2",
    )
    assert [(s["level"], s["direction"]) for s in state["slots"]] == [(-1, "long"), (1, "short")]
    # A long grid's report is the one it always was (no new keys).
    long_state = ledger_state(Ledger(GRIDS[GridDirection.LONG][0]))
    assert "direction" not in long_state and "net_position" not in long_state
