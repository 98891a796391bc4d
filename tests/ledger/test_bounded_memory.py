"""Bounded in every mode (issue 12 item 4): work and memory per message stay flat.

Measured deterministically, never by wall time: the number of slot fold steps per message,
the orders held in RAM, and the order records alive in the process.
"""

from __future__ import annotations

import gc
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import gridledger.ledger.slots as slots_module
import gridledger.replay as replay_module
from gridledger.config import load_config
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.ledger.evidence import Evidence
from gridledger.ledger.ledger import AUTO_FLUSH_EVERY, Ledger
from gridledger.ledger.records import OrderRecord
from gridledger.replay import replay
from gridledger.testkit.synthetic import HistoryGenerator, ccxt_structures, interleave, with_faults
from gridledger.venues import parse_message

GRID = GridSpec("mem1", Instrument.from_symbol("BTC/USDT"), Decimal("30000"), Decimal("50"))
N_ORDERS = 1500  # 5 levels: about 300 orders per slot, so an unfolded slot is expensive


def lines(n_orders: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    gen = HistoryGenerator(rng, GRID, levels=range(-5, 0), max_fills=3)
    streams = [[json.dumps(m) for m in ccxt_structures(GRID, gen.next_order())] for _ in range(n_orders)]
    clean = interleave(rng, streams)
    return with_faults(rng, clean, duplicate_p=0.2, reorder_window=8, replay_every=2000, replay_last=200)


def evidence(text: str) -> tuple[Evidence, ...]:
    return parse_message(json.loads(text, parse_float=Decimal), "ccxt", GRID.instrument).items


@pytest.fixture(scope="module")
def stream() -> list[tuple[Evidence, ...]]:
    return [evidence(t) for t in lines(N_ORDERS, 5)]


def test_a_ledger_nobody_flushes_folds_and_evicts_by_itself(monkeypatch: pytest.MonkeyPatch, stream) -> None:
    steps = [0]
    fold = slots_module.fold_order

    def counting_fold(*args: Any) -> Any:
        steps[0] += 1
        return fold(*args)

    monkeypatch.setattr(slots_module, "fold_order", counting_fold)
    led = Ledger(GRID)  # no journal, and nobody calls take_changes or flush_to_memory
    assert led.auto_flush
    per_window: list[int] = []
    ram: list[int] = []
    window = 1000
    for n, items in enumerate(stream, start=1):
        for ev in items:
            led.apply(ev)
        if n % window == 0:
            per_window.append(steps[0])
            steps[0] = 0
            ram.append(led.ram_orders)
    # Work per message: the last windows cost what the first did (without the self-flush the
    # slot refolds every order it ever had: over 20x by the end of this stream).
    assert len(per_window) >= 6
    assert max(per_window[-3:]) <= 2 * max(per_window[:2]), per_window
    # Orders in RAM: live ones plus those finished since the last flush, never the history.
    assert max(ram) <= 5 + 2 * AUTO_FLUSH_EVERY, ram

    # The same figures as a ledger persisted after every message (the journal's rhythm).
    ref = Ledger(GRID)
    for items in stream:
        for ev in items:
            ref.apply(ev)
        ref.flush_to_memory()
    assert (led.position, led.realized_pnl, led.fees(), dict(led.counts)) == (
        ref.position,
        ref.realized_pnl,
        ref.fees(),
        dict(ref.counts),
    )


def test_an_owner_that_takes_the_changes_turns_the_self_flush_off(stream) -> None:
    led = Ledger(GRID)
    led.take_changes()
    assert not led.auto_flush
    for items in stream[: 3 * AUTO_FLUSH_EVERY]:
        for ev in items:
            led.apply(ev)
    # Nothing was folded behind the owner's back: every change is still in its next ChangeSet.
    assert led.take_changes().orders


def _write(tmp_path: Path, n_orders: int) -> tuple[Path, Path]:
    cfg = tmp_path / "grid.toml"
    cfg.write_text('[grid]\nid = "mem1"\nsymbol = "BTC/USDT"\nanchor = "30000"\ninterval = "50"\n')
    events = tmp_path / "events.jsonl"
    events.write_text("".join(t + "\n" for t in lines(n_orders, 6)))
    return cfg, events


def _records_alive() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is OrderRecord)


def test_replay_without_a_journal_keeps_finished_orders_out_of_ram(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    cfg_path, events = _write(tmp_path, N_ORDERS)
    samples: list[int] = []
    seen = [0]
    log_outcomes = replay_module.log_outcomes

    def sampling(*args: Any) -> Any:
        seen[0] += 1
        if seen[0] % 1500 == 0:
            samples.append(_records_alive())
        return log_outcomes(*args)

    monkeypatch.setattr(replay_module, "log_outcomes", sampling)
    before = _records_alive()
    result = replay([events], load_config(cfg_path))
    assert len(samples) >= 5
    # Flat: the records alive late in the replay are no more than early on (a MemoryArchive
    # keeps every finished order: there this grows to the whole history, ~1500 records).
    assert max(samples) - before <= 400, samples
    assert samples[-1] <= 2 * samples[0] + 50, samples

    # And the replay's answer is the journal path's: same outcomes, same position.
    with_db = replay([events], load_config(cfg_path), db=tmp_path / "j.db", group_commit=500)
    assert result.outcomes == with_db.outcomes
    assert result.ledger.position == with_db.ledger.position
    assert result.ledger.realized_pnl == with_db.ledger.realized_pnl
