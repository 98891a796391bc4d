"""A deterministic scenario through the functional core, printed canonically (issue 12, item 3).

tests/build/test_compiled_core.py runs this script once against the pure tree and once
against the mypyc-compiled copy and compares the two outputs byte for byte: every outcome of
``Ledger.apply``, every change set, every ``decide()`` decision and the final slots.

    python tests/build/compiled_scenario.py            # the scenario, one JSON line per step
    python tests/build/compiled_scenario.py --modules  # where each core module came from

Two parts:

1. A generated grid history as ccxt unified JSON lines with faults (duplicates, reordering,
   replays), parsed and applied to a self-flushing ``Ledger`` and to one whose changes are
   taken and written every 25 messages, as a journal would.
2. A closed loop: ``decide()`` on a seeded random price walk; its places become ledger orders
   (``Ledger.new_order``), a small venue acknowledges, fills, cancels and post-only-rejects
   them, and every report goes through ``Ledger.apply``; the slot views ``decide()`` sees come
   from the ledger, as the engine's do.

Nothing here reads a clock or the environment: the same tree gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import json
import random
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from gridledger.config import strategy_params
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.types import OrderStatus, Side
from gridledger.ledger.changes import MemoryArchive
from gridledger.ledger.evidence import OrderEvidence, TradeEvidence
from gridledger.ledger.ledger import Ledger
from gridledger.strategy import Cancel, LiveOrder, MarketRules, Place, SlotView, StrategyState, decide
from gridledger.testkit.synthetic import HistoryGenerator, ccxt_structures, interleave, with_faults
from gridledger.venues import parse_message

D = Decimal
CORE_PACKAGES = ("domain", "ledger", "strategy")


def canon(obj: Any) -> Any:
    """A JSON-able form that depends only on values (never on addresses or the build)."""
    if isinstance(obj, enum.Enum):  # before str: most of the core's enums are str enums
        return f"{type(obj).__name__}.{obj.name}"
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, Decimal):
        return f"D:{obj}"  # str keeps the exponent: 1.0 and 1.00 stay apart
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__": type(obj).__name__, **{f.name: canon(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a NamedTuple
        return {"__": type(obj).__name__, **{name: canon(getattr(obj, name)) for name in obj._fields}}
    if isinstance(obj, list | tuple):
        return [canon(x) for x in obj]
    if isinstance(obj, dict):
        return sorted(([canon(k), canon(v)] for k, v in obj.items()), key=json.dumps)
    if isinstance(obj, set | frozenset):
        return sorted((canon(x) for x in obj), key=json.dumps)
    raise TypeError(f"no canonical form for {type(obj).__qualname__}")


def emit(kind: str, value: Any) -> None:
    sys.stdout.write(json.dumps([kind, canon(value)], separators=(",", ":")) + "\n")


def ledger_state(led: Ledger) -> dict[str, Any]:
    return {
        "slots": {
            level: (slot.state, slot.checkpoint, slot.checkpoint_gen, slot.next_gen)
            for level, slot in led.slots.items()
        },
        "position": led.position,
        "realized": led.realized_pnl,
        "fees": led.fees(),
        "counts": dict(led.counts),
        "live": sorted(r.client_id for r in led.live_orders()),
        "anomalies": list(led.anomalies),
    }


# ---------------------------------------------------------------- part 1: a faulty stream
def stream_part(n_orders: int) -> None:
    grid = GridSpec("cmp1", Instrument.from_symbol("BTC/USDT"), D("30000"), D("50"))
    rng = random.Random(20261130)
    gen = HistoryGenerator(rng, grid, levels=range(-12, 0), max_fills=4)
    streams = [[json.dumps(m) for m in ccxt_structures(grid, gen.next_order())] for _ in range(n_orders)]
    lines = with_faults(
        random.Random(7), interleave(rng, streams), duplicate_p=0.3, reorder_window=16, replay_every=400, replay_last=40
    )
    alone = Ledger(grid)  # folds and evicts by itself (no journal)
    journaled = Ledger(grid, MemoryArchive())  # changes taken and written, as a journal does
    for n, line in enumerate(lines, start=1):
        parsed = parse_message(json.loads(line, parse_float=Decimal), "ccxt", grid.instrument)
        for ev in parsed.items:
            out = alone.apply(ev)
            emit("apply", out)
            if journaled.apply(ev) != out:
                emit("differs", (n, out))
        if n % 25 == 0:
            changes = journaled.take_changes()
            assert isinstance(journaled.archive, MemoryArchive)
            journaled.archive.write(changes)
            journaled.committed(changes)
            emit("changes", changes)
    emit("stream-final", ledger_state(alone))
    emit("stream-final-journaled", ledger_state(journaled))


# ---------------------------------------------------------------- part 2: decide() in a loop
def price_walk(rng: random.Random, start: Decimal, steps: int) -> Iterator[Decimal]:
    price = start
    for _ in range(steps):
        price += D(rng.choice((-700, -300, -120, -45, -7, 0, 6, 44, 130, 310, 690))) / 100
        yield max(price, D("900"))


def loop_part(ticks: int, *, post_only: bool, seed: int) -> None:
    anchor, interval = D("1000"), D("10")
    grid = GridSpec(f"cmp{seed}", Instrument.from_symbol("BTC/USDT"), anchor, interval)
    params = strategy_params(
        anchor=anchor, interval=interval, quote_per_level=D("100"), buy_window=3, post_only=post_only
    )
    rules = MarketRules(D("0.001"), D("0.01"))
    led = Ledger(grid, MemoryArchive())
    state = StrategyState()
    live: dict[int, tuple[str, str]] = {}  # level -> (client id, exchange order id)
    seq = 0
    rng = random.Random(seed)
    for tick, price in enumerate(price_walk(rng, D("1000"), ticks), start=1):
        # The venue trades first: resting orders the price reached fill in full.
        for level in sorted(live):
            client_id, order_id = live[level]
            rec = led.order(client_id)
            assert rec is not None and rec.price is not None and rec.amount is not None
            if (rec.side is Side.BUY and price <= rec.price) or (rec.side is Side.SELL and price >= rec.price):
                fee = (
                    (("BTC", rec.amount * D("0.001")),)
                    if rec.side is Side.BUY
                    else (("USDT", rec.amount * rec.price * D("0.001")),)
                )
                trade = TradeEvidence(
                    symbol=grid.instrument.symbol,
                    order_id=order_id,
                    client_id=client_id,
                    trade_id=f"t{order_id}",
                    side=rec.side,
                    amount=rec.amount,
                    price=rec.price,
                    cost=rec.amount * rec.price,
                    fees=fee,
                )
                emit("fill", led.apply(trade))
                done = OrderEvidence(
                    symbol=grid.instrument.symbol,
                    order_id=order_id,
                    client_id=client_id,
                    status=OrderStatus.FILLED,
                    side=rec.side,
                    amount=rec.amount,
                    price=rec.price,
                    filled=rec.amount,
                    cost=rec.amount * rec.price,
                    fees=fee,
                )
                emit("filled", led.apply(done))
                del live[level]
        views: dict[int, SlotView] = {}
        for level, slot in led.slots.items():
            bound = slot.bound
            qty = slot.state.qty
            if bound is None and qty <= 0:
                continue
            order = None
            if bound is not None:
                order = LiveOrder(
                    client_id=bound.client_id,
                    side=bound.side,
                    role=bound.role,
                    price=bound.price or grid.level_price(level),
                    amount=bound.amount or D(0),
                    filled=bound.filled,
                )
            views[level] = SlotView(level=level, qty=max(qty, D(0)), live=order)
        decision = decide(state, params, rules, price, views, paused=tick % 97 == 0)
        emit("decide", (tick, price, decision))
        state = decision.state
        for action in decision.actions:
            if isinstance(action, Cancel):
                client_id, order_id = live.pop(action.level)
                rec = led.order(client_id)
                assert rec is not None
                emit(
                    "cancel",
                    led.apply(
                        OrderEvidence(
                            symbol=grid.instrument.symbol,
                            order_id=order_id,
                            client_id=client_id,
                            status=OrderStatus.CANCELED,
                            side=rec.side,
                            amount=rec.amount,
                            price=rec.price,
                            filled=D(0),
                            cost=D(0),
                            fees=(),
                        )
                    ),
                )
                continue
            assert isinstance(action, Place)
            rec = led.new_order(action.level, action.side, action.role, action.amount, action.price)
            seq += 1
            order_id = f"x{seq}"
            crosses = action.price >= price if action.side is Side.BUY else action.price <= price
            status = OrderStatus.REJECTED if action.post_only and crosses else OrderStatus.NEW
            emit(
                "ack",
                led.apply(
                    OrderEvidence(
                        symbol=grid.instrument.symbol,
                        order_id=order_id,
                        client_id=rec.client_id,
                        status=status,
                        side=action.side,
                        amount=action.amount,
                        price=action.price,
                        filled=D(0),
                        cost=D(0),
                        fees=(),
                    )
                ),
            )
            if status is OrderStatus.REJECTED:
                state = state.on_post_only_reject(action.level)
            else:
                state = state.on_accepted(action.level)
                live[action.level] = (rec.client_id, order_id)
        if tick % 20 == 0:
            changes = led.take_changes()
            assert isinstance(led.archive, MemoryArchive)
            led.archive.write(changes)
            led.committed(changes)
            emit("changes", changes)
    emit("loop-final", ledger_state(led))


def module_origins() -> dict[str, str]:
    """Each core module: ``extension`` (compiled) or ``source``, by the file it was loaded from."""
    import gridledger

    root = Path(gridledger.__file__).parent
    out: dict[str, str] = {}
    for package in CORE_PACKAGES:
        for path in sorted((root / package).glob("*.py")):
            name = f"gridledger.{package}" if path.stem == "__init__" else f"gridledger.{package}.{path.stem}"
            module = importlib.import_module(name)
            origin = str(getattr(module, "__file__", ""))
            out[name] = "source" if origin.endswith(".py") else "extension"
    return out


def main(argv: list[str]) -> int:
    if argv == ["--modules"]:
        print(json.dumps(module_origins(), sort_keys=True))
        return 0
    stream_part(300)
    loop_part(1500, post_only=False, seed=3)
    loop_part(1500, post_only=True, seed=4)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
