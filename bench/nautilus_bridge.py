"""Same order lifecycles through NautilusTrader's model and through gridledger's Ledger.

``compare(lines, grid)`` is called by ``bench/ledger_bench.py``. Untimed preprocessing
rebuilds each order's lifecycle once from the (possibly faulty) ccxt lines: duplicates
and replays are dropped by order id and trade id. Then two things are timed, each the
best of ``REPEATS`` runs on fresh state:

* Nautilus: ``LimitOrder.apply`` of OrderSubmitted, OrderAccepted, one OrderFilled per
  distinct trade and OrderCanceled/OrderExpired for orders ending that way, plus the
  position accounting: ``Position(instrument, fill)`` for a grid slot's first fill and
  ``Position.apply(fill)`` for later ones (one Position per slot, i.e. per level). The
  orders and event objects (ids, UUIDs, Quantity/Price/Money) are built before timing:
  that is message decoding, and our side's parsing is not timed either. Unit: one *event* = one
  submitted/accepted/canceled/expired event, or one fill (order.apply plus the
  position update count as one event).
* gridledger: ``Ledger.apply`` of every evidence item parsed (untimed) from the
  de-duplicated lines, in first-seen order, plus ``flush_to_memory()`` after each
  message (the MemoryArchive write and the eviction of finished orders). Unit: one
  *evidence item* = one order snapshot or one trade.

One lifecycle is about 2 + F + c Nautilus events but 1 + 2F + c evidence items (F fills,
c = 1 if canceled/expired), because ccxt sends a snapshot after every trade. So the
``*_orders_per_s`` figures (lifecycles per second) are the like-for-like comparison.
Nautilus gets each order's events in perfect order; the ledger gets the de-duplicated
lines still reordered, so it does the out-of-order handling too.

Scale matters on the Nautilus side: ``Position.apply`` scans all the position's earlier
fills for a duplicate trade id, and a slot's position seldom goes flat here (Nautilus
does not take base-currency commissions off the position quantity, so a residue stays),
so its cost per fill grows with the slot's history and its rate falls as the stream
gets longer. The ledger checkpoints slots and evicts finished orders, so its cost stays
about the same.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderType
from nautilus_trader.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderSubmitted,
)
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientOrderId,
    PositionId,
    StrategyId,
    TradeId,
    TraderId,
    VenueOrderId,
)
from nautilus_trader.model.instruments import CurrencyPair
from nautilus_trader.model.objects import Currency, Money
from nautilus_trader.model.orders import LimitOrder
from nautilus_trader.model.position import Position
from nautilus_trader.test_kit.providers import TestInstrumentProvider

from gridledger.domain.coid import decode
from gridledger.domain.grid import GridSpec
from gridledger.ledger.evidence import Evidence
from gridledger.ledger.ledger import Ledger
from gridledger.venues import parse_message

REPEATS = 3
# BTCUSDT.BINANCE: price precision 2, size precision 6; the data's prices are multiples
# of 1 (or 0.01) and sizes multiples of 0.00001, so every value is exact.
INSTRUMENT: CurrencyPair = TestInstrumentProvider.btcusdt_binance()
TRADER, STRATEGY, ACCOUNT = TraderId("TRADER-001"), StrategyId("S-001"), AccountId("BINANCE-001")
MS = 1_000_000  # ccxt timestamps are ms, Nautilus wants ns


@dataclass(slots=True)
class Trade:
    trade_id: str
    amount: Decimal
    price: Decimal
    fee_currency: str
    fee: Decimal
    ts: int


@dataclass(slots=True)
class Lifecycle:
    order_id: str
    client_id: str
    first_seen: int
    side: str = ""
    price: Decimal | None = None
    amount: Decimal | None = None
    final: str = "open"  # open | closed | canceled | expired
    ts: int = 0
    trades: dict[str, Trade] = field(default_factory=dict)  # trade id -> trade (dedupe)


def lifecycles(lines: Sequence[str]) -> list[Lifecycle]:
    """Each order once, whatever the duplicates/replays/reordering of the lines."""
    orders: dict[str, Lifecycle] = {}
    for n, line in enumerate(lines):
        msg = json.loads(line, parse_float=Decimal)
        if msg.get("kind") not in ("order", "trade"):
            continue
        body: dict[str, Any] = msg[msg["kind"]]
        oid = str(body["id"] if msg["kind"] == "order" else body["order"])
        lc = orders.get(oid)
        if lc is None:
            lc = orders[oid] = Lifecycle(oid, body["clientOrderId"], n)
        lc.side = lc.side or body["side"]
        if lc.price is None and body.get("price") is not None:
            lc.price = Decimal(body["price"])
        if msg["kind"] == "order":
            lc.amount = Decimal(body["amount"])
            lc.ts = lc.ts or int(body["timestamp"])
            # A terminal status wins over "open" whatever order the snapshots came in.
            if body["status"] != "open" and lc.final in ("open", "closed"):
                lc.final = body["status"]
        elif body["id"] not in lc.trades:
            fee = body["fee"]
            lc.trades[body["id"]] = Trade(
                body["id"],
                Decimal(body["amount"]),
                Decimal(body["price"]),
                fee["currency"],
                Decimal(fee["cost"]),
                int(body["timestamp"]),
            )

    # Nautilus needs a slot's orders in generation order (a close sells what the open bought).
    def key(lc: Lifecycle) -> tuple[int, int]:
        cid = decode(lc.client_id)
        return (cid.generation if cid else 0, lc.first_seen)

    return sorted(orders.values(), key=key)


# One order's events: submitted+accepted, (slot level, fill) pairs, canceled/expired or None.
Fills = tuple[tuple[int, OrderFilled], ...]
Events = tuple[Lifecycle, tuple[OrderEvent, ...], Fills, OrderEvent | None]
# The timed work: the same with a fresh LimitOrder in place of the lifecycle.
Plan = list[tuple[LimitOrder, tuple[OrderEvent, ...], Fills, OrderEvent | None]]


def build_events(lcs: Sequence[Lifecycle]) -> list[Events]:
    """The immutable Nautilus events of every lifecycle (reusable across repeats)."""
    currencies: dict[str, Currency] = {}
    out: list[Events] = []
    for lc in lcs:
        cid = decode(lc.client_id)
        level = cid.level if cid else 0
        coid, void = ClientOrderId(lc.client_id), VenueOrderId(lc.order_id)
        ts = lc.ts * MS
        side = OrderSide.BUY if lc.side == "buy" else OrderSide.SELL
        pre = (
            OrderSubmitted(TRADER, STRATEGY, INSTRUMENT.id, coid, ACCOUNT, UUID4(), ts, ts),
            OrderAccepted(TRADER, STRATEGY, INSTRUMENT.id, coid, void, ACCOUNT, UUID4(), ts, ts),
        )
        pos_id = PositionId(f"{cid.grid_id if cid else 'x'}-L{level}")
        fills: list[tuple[int, OrderFilled]] = []
        for t in lc.trades.values():
            cur = currencies.get(t.fee_currency)
            if cur is None:
                cur = currencies[t.fee_currency] = Currency.from_str(t.fee_currency)
            fills.append(
                (
                    level,
                    OrderFilled(
                        TRADER,
                        STRATEGY,
                        INSTRUMENT.id,
                        coid,
                        void,
                        ACCOUNT,
                        TradeId(t.trade_id),
                        pos_id,
                        side,
                        OrderType.LIMIT,
                        INSTRUMENT.make_qty(t.amount),
                        INSTRUMENT.make_price(t.price),
                        INSTRUMENT.quote_currency,
                        Money(t.fee, cur),
                        LiquiditySide.MAKER,
                        UUID4(),
                        t.ts * MS,
                        t.ts * MS,
                    ),
                )
            )
        filled = sum((t.amount for t in lc.trades.values()), Decimal(0))
        end: OrderEvent | None = None
        # Cancel/expire only what is still working: Nautilus rejects them on a FILLED order.
        if lc.final in ("canceled", "expired") and filled < _quantity(lc):
            kind: Callable[..., OrderEvent] = OrderCanceled if lc.final == "canceled" else OrderExpired
            end = kind(TRADER, STRATEGY, INSTRUMENT.id, coid, void, ACCOUNT, UUID4(), ts + 60 * MS, ts + 60 * MS)
        out.append((lc, pre, tuple(fills), end))
    return out


def _quantity(lc: Lifecycle) -> Decimal:
    return max(lc.amount or Decimal(0), sum((t.amount for t in lc.trades.values()), Decimal(0)))


def fresh_plan(events: Sequence[Events]) -> Plan:
    """New LimitOrders (an order object can live through its lifecycle only once)."""
    plan: Plan = []
    for lc, pre, fills, end in events:
        side = OrderSide.BUY if lc.side == "buy" else OrderSide.SELL
        order = LimitOrder(
            TRADER,
            STRATEGY,
            INSTRUMENT.id,
            ClientOrderId(lc.client_id),
            side,
            INSTRUMENT.make_qty(_quantity(lc)),
            INSTRUMENT.make_price(lc.price or 0),
            UUID4(),
            lc.ts * MS,
        )
        plan.append((order, pre, fills, end))
    return plan


def run_nautilus(plan: Plan) -> float:
    """Seconds spent in Nautilus's apply calls and position accounting."""
    positions: dict[int, Position] = {}
    instrument = INSTRUMENT
    t0 = time.perf_counter()
    for order, pre, fills, end in plan:
        for ev in pre:
            order.apply(ev)
        for slot, fill in fills:
            order.apply(fill)
            pos = positions.get(slot)
            if pos is None:
                positions[slot] = Position(instrument, fill)
            else:
                pos.apply(fill)
        if end is not None:
            order.apply(end)
    return time.perf_counter() - t0


def run_ours(grid: GridSpec, parsed: Sequence[tuple[Evidence, ...]]) -> float:
    """Seconds spent in Ledger.apply and flush_to_memory (parsing done before)."""
    ledger = Ledger(grid)
    t0 = time.perf_counter()
    for items in parsed:
        for ev in items:
            ledger.apply(ev)
        ledger.flush_to_memory()
    return time.perf_counter() - t0


def compare(lines: Sequence[str], grid: GridSpec) -> dict[str, Any]:
    lcs = lifecycles(lines)
    events = build_events(lcs)
    n_orders = len(lcs)
    n_fills = sum(len(f) for _, _, f, _ in events)
    n_events = sum(len(p) + len(f) + (e is not None) for _, p, f, e in events)

    # The same evidence, de-duplicated (duplicates and replays are identical lines).
    unique = list(dict.fromkeys(lines))
    parsed = [parse_message(json.loads(line, parse_float=Decimal), "ccxt", grid.instrument).items for line in unique]
    n_items = sum(len(items) for items in parsed)

    nt_s = ours_s = float("inf")
    for _ in range(REPEATS):
        plan = fresh_plan(events)
        gc.collect()
        nt_s = min(nt_s, run_nautilus(plan))
        gc.collect()
        ours_s = min(ours_s, run_ours(grid, parsed))
    return {
        "per_s": n_events / nt_s,
        "fills": n_fills,
        "orders": n_orders,
        "ours_per_s": n_items / ours_s,
        "nautilus_events": n_events,
        "ours_items": n_items,
        "nautilus_orders_per_s": n_orders / nt_s,
        "ours_orders_per_s": n_orders / ours_s,
        "notes": (
            f"best of {REPEATS}. Nautilus: timed LimitOrder.apply of {n_events} events (submitted, accepted, "
            f"{n_fills} fills, canceled/expired) + Position(...)/Position.apply per fill, one Position per "
            f"grid level; orders and events pre-built untimed; per_s = events/s (a fill counts once). "
            f"gridledger: timed Ledger.apply of {n_items} evidence items (order snapshots + trades) parsed "
            f"untimed from {len(unique)} de-duplicated lines in delivery order + flush_to_memory() per "
            f"message; ours_per_s = items/s. Units differ (~1+2F+c items vs 2+F+c events per order): "
            f"compare *_orders_per_s. Nautilus Position.apply scans the position's past fills, so its "
            f"rate falls with stream length."
        ),
    }
