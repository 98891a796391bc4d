"""Properties P1-P4 of ledger-semantics.md over generated grid order histories with faults."""

from __future__ import annotations

import itertools
import json
import random
import tempfile
from decimal import Decimal
from decimal import Decimal as D
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from ledger_helpers import GRID

from gridledger.domain.coid import ClientId
from gridledger.domain.coid import encode as encode_cid
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.ledger.evidence import OrderEvidence, TradeEvidence
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.slots import EMPTY
from gridledger.store.journal import Journal
from gridledger.testkit.synthetic import (
    VENUE_FORMATS,
    OrderTruth,
    expected_status,
    final_snapshot,
    generate_history,
    ground_truth,
    interleave,
    order_evidence,
    venue_messages,
    with_faults,
)
from gridledger.venues import parse_message

MODES = ("everything", "all_trades", "final_only", "trades_no_snapshots", "final_and_some")


def evidence_set(rng: random.Random, o: OrderTruth, mode: str, snapshot_fees: bool) -> list:
    """A subset of an order's stream that still contains its final snapshot or all its trades."""
    full = order_evidence(GRID, o, snapshot_fees=snapshot_fees)
    trades = [e for e in full if isinstance(e, TradeEvidence)]
    snaps = [e for e in full if not isinstance(e, TradeEvidence)]
    if not snapshot_fees and mode in ("final_only", "final_and_some"):
        mode = "all_trades"  # a Binance snapshot has no fees: only the trades prove them
    if mode == "everything":
        return full
    if mode == "all_trades":
        return [e for e in full if isinstance(e, TradeEvidence) or rng.random() < 0.5]
    if mode == "trades_no_snapshots":
        return trades
    if mode == "final_only":
        return [snaps[-1]]
    return [e for e in full[:-1] if rng.random() < 0.4] + [snaps[-1]]


def build(seed: int, n: int, snapshot_fees: bool, shuffle_all: bool, dup: float, window: int):
    rng = random.Random(seed)
    # Rebates (issue 7 item 1): none, some or most fills are rebated maker fills, so fees
    # are negative and an order's cumulative fee rises and falls (R1).
    hist = generate_history(rng, GRID, n, levels=range(-4, 0), rebate_p=rng.choice([0.0, 0.4, 0.8]))
    streams = [evidence_set(rng, o, rng.choice(MODES), snapshot_fees) for o in hist]
    items = interleave(rng, streams)
    if shuffle_all:
        rng.shuffle(items)
    items = with_faults(rng, items, duplicate_p=dup, reorder_window=window, replay_every=17, replay_last=9)
    return rng, hist, items


def assert_matches_truth(led: Ledger, hist: list[OrderTruth]) -> None:
    truth = ground_truth(GRID, hist)
    for level, t in truth.items():
        s = led.slots[level].state if level in led.slots else EMPTY
        assert (s.qty, s.cost, s.realized, s.fees) == (t.qty, t.cost, t.realized, t.fees), f"level {level}"
    assert led.position == sum((t.qty for t in truth.values()), D(0))
    for o in hist:
        rec = led.order(o.client_id)
        if rec is None:  # an order without fills whose evidence set was "all of its trades": none
            assert o.filled == 0
            continue
        assert rec.filled == o.filled, o.client_id
        if rec.reported is not None and rec.reported.terminal:
            # The final status is knowable only when a terminal report was in the set
            # (trades alone cannot tell FILLED from a cancel with the order's amount unknown).
            assert rec.status is o.final, o.client_id


histories = dict(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 30),
    snapshot_fees=st.booleans(),
    shuffle_all=st.booleans(),
    dup=st.sampled_from([0.0, 0.1, 0.3, 0.6]),
    window=st.sampled_from([1, 4, 16]),
)


@given(**histories, flush_every=st.sampled_from([0, 1, 3, 50]))
def test_p1_convergence_under_duplicates_reordering_and_replays(
    seed, n, snapshot_fees, shuffle_all, dup, window, flush_every
):
    _rng, hist, items = build(seed, n, snapshot_fees, shuffle_all, dup, window)
    led = Ledger(GRID)
    for i, ev in enumerate(items, start=1):
        led.apply(ev)
        if flush_every and i % flush_every == 0:
            led.flush_to_memory()  # finished orders leave RAM, so late evidence reopens folds
    led.flush_to_memory()
    assert_matches_truth(led, hist)
    assert led.counts["REJECTED"] == 0


@given(**histories)
def test_p2_no_prefix_overcounts(seed, n, snapshot_fees, shuffle_all, dup, window):
    _rng, hist, items = build(seed, n, snapshot_fees, shuffle_all, dup, window)
    base = GRID.instrument.base
    led = Ledger(GRID)
    truths = {o.client_id: o for o in hist}
    for ev in items:
        led.apply(ev)
        seen = [led.order(c) for c in truths]
        for rec in seen:
            if rec is None:
                continue
            o = truths[rec.client_id]
            filled, cost, fees = rec.effective()
            assert filled <= o.filled and cost <= o.cost
            if all(f.fee >= 0 for f in o.fills):
                # Without rebates a fee only grows with the fills. With them a prefix may
                # show more fee than the end (a taker fill before rebated ones): no bound.
                truth_fees = dict(o.fees)
                for asset, amount in fees:
                    assert amount <= truth_fees.get(asset, D(0))
        for level, slot in led.slots.items():
            bought = sum(
                (o.filled - dict(o.fees).get(base, D(0)) for o in hist if o.level == level and o.side is Side.BUY), D(0)
            )
            sold = sum(
                (
                    r.effective()[0] + dict(r.effective()[2]).get(base, D(0))
                    for r in seen
                    if r is not None and r.level == level and r.side is Side.SELL
                ),
                D(0),
            )
            # A snapshot can prove a quantity before the trade that carries its base-asset fee
            # (Binance snapshots carry no cumulative fee): until that fee is reported the slot
            # may be off by the part of the fee not known yet (more than the truth when it is
            # a charge, less when a rebate). The ledger says so (fees_incomplete) and the
            # engine does not size a closing sell until the fee is known.
            unreported = sum(
                (
                    dict(truths[r.client_id].fees).get(base, D(0)) - dict(r.effective()[2]).get(base, D(0))
                    for r in seen
                    if r is not None and r.level == level and r.side is Side.BUY and r.fees_incomplete()
                ),
                D(0),
            )
            assert slot.state.qty <= bought - sold + unreported


def kill(j: Journal) -> None:
    """Simulate SIGKILL: the connection goes away, the open group is never committed, and
    the journal's lock goes with the process (Journal.abandon)."""
    j.abandon()


@settings(max_examples=60)
@given(**histories, crash_at=st.floats(0, 1), resume_back=st.integers(0, 40), group=st.sampled_from([1, 7, 100]))
def test_p3_crash_restart_resume_with_replay_converges(
    seed, n, snapshot_fees, shuffle_all, dup, window, crash_at, resume_back, group
):
    _rng, hist, items = build(seed, n, snapshot_fees, shuffle_all, dup, window)
    cut = int(len(items) * crash_at)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "j.db"
        j = Journal.open(db, Ledger(GRID), synchronous="OFF", group_size=group)
        with j.group():
            for i, ev in enumerate(items[:cut]):
                j.apply_message(f"m{i}", [ev])
            kill(j)
        j = Journal.open(db, Ledger(GRID), synchronous="OFF", group_size=group)
        committed = j.entries()  # one journal row per message: where the durable prefix ends
        assert committed == (cut // group) * group or (group == 1 and committed == cut)
        # Feed the rest, starting a little before the durable end: a replay of seen evidence.
        with j.group():
            for i, ev in enumerate(items[max(0, committed - resume_back) :]):
                j.apply_message(f"r{i}", [ev])
        j.close()
        j = Journal.open(db, Ledger(GRID), synchronous="OFF")
        try:
            assert_matches_truth(j.ledger, hist)
        finally:
            j.close()


@settings(max_examples=60)
@given(**histories, crash_at=st.floats(0, 1), group=st.sampled_from([1, 7, 100]))
def test_p3_crash_then_feed_everything_again_converges(
    seed, n, snapshot_fees, shuffle_all, dup, window, crash_at, group
):
    _rng, hist, items = build(seed, n, snapshot_fees, shuffle_all, dup, window)
    cut = int(len(items) * crash_at)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "j.db"
        j = Journal.open(db, Ledger(GRID), synchronous="OFF", group_size=group)
        with j.group():
            for i, ev in enumerate(items[:cut]):
                j.apply_message(f"m{i}", [ev])
            kill(j)
        j = Journal.open(db, Ledger(GRID), synchronous="OFF", group_size=group)
        with j.group():
            for i, ev in enumerate(items):
                j.apply_message(f"m{i}", [ev])
        j.close()
        j = Journal.open(db, Ledger(GRID), synchronous="OFF")
        try:
            assert_matches_truth(j.ledger, hist)
        finally:
            j.close()


@given(**histories, keep=st.floats(0, 1))
def test_p4_one_rest_pass_converges_a_ledger_that_missed_evidence(
    seed, n, snapshot_fees, shuffle_all, dup, window, keep
):
    rng, hist, items = build(seed, n, snapshot_fees, shuffle_all, dup, window)
    led = Ledger(GRID)
    for ev in items:
        if rng.random() < keep:  # the stream lost the rest
            led.apply(ev)
    # One reconciliation pass: fetch_order for every order and fetch_my_trades.
    for o in hist:
        led.apply(final_snapshot(GRID, o))
        for ev in order_evidence(GRID, o, snapshot_fees=snapshot_fees):
            if isinstance(ev, TradeEvidence):
                led.apply(ev)
    assert_matches_truth(led, hist)
    truth_position = sum((t.qty for t in ground_truth(GRID, hist).values()), D(0))
    assert led.position - truth_position == 0  # zero drift against the exchange's truth


def corrupt(rng: random.Random, ev):
    """Evidence that must be rejected: another symbol, the wrong side, a clashing order id."""
    from dataclasses import replace as dc_replace

    kind = rng.randrange(3)
    if kind == 0:
        return dc_replace(ev, symbol="ETH/USDT")
    if kind == 1 and ev.side is not None:
        return dc_replace(ev, side=Side.SELL if ev.side is Side.BUY else Side.BUY)
    return dc_replace(ev, order_id=str(int(ev.order_id) + 7_000_000))


@given(**histories, bad_share=st.floats(0.05, 0.5))
def test_r10_bad_evidence_never_changes_state(seed, n, snapshot_fees, shuffle_all, dup, window, bad_share):
    rng, hist, items = build(seed, n, snapshot_fees, shuffle_all, dup, window)
    led = Ledger(GRID)
    rejected = 0
    for ev in items:
        if rng.random() < bad_share:
            bad = corrupt(rng, ev)
            known = led.order(bad.client_id) if bad.client_id else None
            before = (led.position, dict(led.counts), known.filled if known else None)
            out = led.apply(bad)
            if bad.order_id != ev.order_id and (known is None or known.order_id != ev.order_id):
                # The first evidence of an order links its exchange id: a wrong id seen first
                # cannot be told from the right one, so only a clash with a known link must be
                # rejected (and from then on the true evidence is the one that clashes).
                continue
            assert out.kind.value == "REJECTED", (bad, out)
            rejected += 1
            assert led.position == before[0]
        led.apply(ev)
    led.flush_to_memory()
    assert led.counts["REJECTED"] >= rejected
    # Corrupted copies of unseen orders may have created records of their own; the truth
    # per slot is checked only where no such stray record landed.
    truth = ground_truth(GRID, hist)
    for level, t in truth.items():
        slot = led.slots.get(level)
        if slot is None:
            continue
        if all(led.order(o.client_id) is None or led.order(o.client_id).order_id == o.order_id for o in hist):
            s = slot.state
            assert (s.qty, s.cost, s.realized, s.fees) == (t.qty, t.cost, t.realized, t.fees)


decimals = st.decimals(min_value=0, max_value=10, places=4, allow_nan=False, allow_infinity=False)


@st.composite
def client_ids(draw):
    base = encode_cid(
        ClientId(
            draw(st.sampled_from(["t1", "other"])),
            draw(st.integers(-5, 5)),
            draw(st.sampled_from(Side)),
            draw(st.sampled_from(Role)),
            draw(st.integers(0, 9)),
        )
    )
    if draw(st.booleans()):
        i = draw(st.integers(0, len(base) - 1))
        base = base[:i] + draw(st.sampled_from("0az9lZ")) + base[i + 1 :]
    return draw(st.sampled_from([base, None, "web_123", ""]))


@st.composite
def evidence(draw):
    common = dict(
        symbol=draw(st.sampled_from(["BTC/USDT", "ETH/USDT"])),
        order_id=draw(st.sampled_from([None, "1", "2", "3"])),
        client_id=draw(client_ids()),
        side=draw(st.sampled_from([None, Side.BUY, Side.SELL])),
    )
    fees = draw(st.sampled_from([None, (), (("BTC", Decimal("0.001")),), (("USDT", Decimal("-0.5")),)]))
    if draw(st.booleans()):
        return TradeEvidence(
            trade_id=draw(st.sampled_from(["a", "b"])),
            amount=draw(decimals),
            price=draw(decimals),
            cost=draw(decimals),
            fees=fees,
            **common,
        )
    return OrderEvidence(
        status=draw(st.sampled_from([None, *OrderStatus])),
        amount=draw(st.none() | decimals),
        price=draw(st.none() | decimals),
        filled=draw(st.none() | decimals),
        cost=draw(st.none() | decimals),
        fees=fees,
        event_id=draw(st.sampled_from([None, "e1"])),
        **common,
    )


@given(st.lists(evidence(), max_size=40), st.integers(0, 3))
def test_any_evidence_gets_an_outcome_and_never_raises(items, flush_every):
    led = Ledger(GRID)
    for i, ev in enumerate(items, start=1):
        out = led.apply(ev)
        assert out.kind.value in led.counts
        if flush_every and i % flush_every == 0:
            led.flush_to_memory()
    assert sum(led.counts.values()) == len(items)


# ---------------------------------------------------------------------------- every venue format
GRID_LINEAR = GridSpec("t1", Instrument.from_symbol("BTC/USDT:USDT"), D("100"), D("10"))
VENUE_MODES = ("everything", "trades", "final", "final_and_some")


def venue_subset(rng: random.Random, tagged: list, mode: str) -> list:
    """A subset of one order's venue messages that still proves it: all messages carrying
    a fill with its fee, or the terminal snapshot with its cumulative fee (P1's premise).
    Fills without fees ("l") ride along at random: they must never decide the fees."""
    has_final = any(tag == "f" for tag, _ in tagged)
    if mode.startswith("final") and not has_final:
        mode = "trades"  # Binance snapshots carry no cumulative fee: only the trades prove it
    if mode == "everything":
        return [m for _, m in tagged]
    if mode == "trades":
        return [m for tag, m in tagged if tag == "t" or rng.random() < 0.5]
    if mode == "final":
        return [m for tag, m in tagged if tag == "f" or (tag == "l" and rng.random() < 0.5)]
    return [m for tag, m in tagged if tag == "f" or rng.random() < 0.4]


@settings(max_examples=100)
@given(
    fmt=st.sampled_from(VENUE_FORMATS),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 20),
    rebate_p=st.sampled_from([0.3, 0.7, 1.0]),
    shuffle_all=st.booleans(),
    dup=st.sampled_from([0.0, 0.3]),
    window=st.sampled_from([1, 8]),
    flush_every=st.sampled_from([0, 1, 5]),
)
def test_p1_rebates_and_falling_cumulative_fees_on_every_venue_format(
    fmt, seed, n, rebate_p, shuffle_all, dup, window, flush_every
):
    """Histories with rebates rendered in each venue's raw wire format and read through
    parse_message converge to the ground truth (R1, P1): OKX's inverted fee sign, negative
    ccxt/Bybit/Binance commissions, cumulative fees that fall, fee-less fast fills."""
    grid = GRID_LINEAR if fmt == "binance-usdm" else GRID
    rng = random.Random(seed)
    # USDⓈ-M charges in the settle coin or BNB; an OKX order's fee has one currency.
    assets = ("quote", "BNB") if fmt == "binance-usdm" else ("base", "quote", "BNB")
    hist = generate_history(
        rng, grid, n, levels=range(-4, 0), rebate_p=rebate_p, fee_assets=assets, one_fee_asset=fmt == "okx"
    )
    ids = itertools.count(1)
    streams = [venue_subset(rng, venue_messages(fmt, grid, o, ids), rng.choice(VENUE_MODES)) for o in hist]
    items = interleave(rng, streams)
    if shuffle_all:
        rng.shuffle(items)
    items = with_faults(rng, items, duplicate_p=dup, reorder_window=window, replay_every=13, replay_last=7)
    led = Ledger(grid)
    for i, msg in enumerate(items, start=1):
        wire = json.loads(json.dumps(msg), parse_float=Decimal)  # what the socket would hand over
        parsed = parse_message(wire, fmt, grid.instrument, source="prop")
        led.apply_all(parsed.items)
        if flush_every and i % flush_every == 0:
            led.flush_to_memory()
    led.flush_to_memory()
    assert led.counts["REJECTED"] == 0
    truth = ground_truth(grid, hist)
    for level, t in truth.items():
        s = led.slots[level].state if level in led.slots else EMPTY
        assert (s.qty, s.cost, s.realized, s.fees) == (t.qty, t.cost, t.realized, t.fees), f"{fmt} level {level}"
    for o in hist:
        rec = led.order(o.client_id)
        if rec is None:
            assert o.filled == 0
            continue
        assert (rec.filled == o.filled and not rec.fees_incomplete()) or o.filled == 0, o.client_id
        if rec.reported is not None and rec.reported.terminal:
            assert rec.status is expected_status(fmt, o.final), o.client_id
