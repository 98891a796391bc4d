"""Synthetic grid order histories with their ground truth, and the evidence they produce.

Used by the property tests, the benchmark and the bundled replay sample. A history is a
list of orders per slot in generation order (open buy, closing sell, open buy, ...), each
with its fills; from it come evidence streams in three shapes (internal evidence objects,
ccxt unified structures, Binance spot executionReports) and faulty deliveries of them
(duplicates, reordering, replays). The ground truth is computed here independently of the
ledger's own fold, with plain arithmetic, so tests compare two implementations.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any, Iterator, Sequence

from gridledger.domain.coid import ClientId, encode
from gridledger.domain.grid import GridSpec
from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.ledger.evidence import Evidence, Fees, OrderEvidence, TradeEvidence, make_fees

STEP = Decimal("0.00001")
Q8 = Decimal("0.00000001")


@dataclass(frozen=True, slots=True)
class Fill:
    trade_id: str
    amount: Decimal
    price: Decimal
    fee_asset: str
    fee: Decimal
    ts: int


@dataclass(frozen=True, slots=True)
class OrderTruth:
    client_id: str
    order_id: str
    level: int
    side: Side
    role: Role
    generation: int
    amount: Decimal
    price: Decimal
    fills: tuple[Fill, ...]
    final: OrderStatus
    created_ts: int

    @property
    def filled(self) -> Decimal:
        return sum((f.amount for f in self.fills), Decimal(0))

    @property
    def cost(self) -> Decimal:
        return sum((f.amount * f.price for f in self.fills), Decimal(0))

    @property
    def fees(self) -> Fees:
        return make_fees((f.fee_asset, f.fee) for f in self.fills)


@dataclass(frozen=True, slots=True)
class SlotTruth:
    qty: Decimal
    cost: Decimal
    realized: Decimal
    fees: Fees


class HistoryGenerator:
    """An endless, seeded stream of grid orders: each slot alternates open buy and closing sell.

    Orders of different levels interleave; a slot's next order is drawn only after its
    previous one is finished, as the engine does.
    """

    def __init__(
        self,
        rng: random.Random,
        grid: GridSpec,
        *,
        levels: Sequence[int] = tuple(range(-8, 0)),
        max_fills: int = 3,
        cancel_p: float = 0.15,
        fee_assets: Sequence[str] = ("base", "quote", "BNB"),
        start_ts: int = 1_700_000_000_000,
    ) -> None:
        self.rng = rng
        self.grid = grid
        self.levels = list(levels)
        self.max_fills = max_fills
        self.cancel_p = cancel_p
        self.fee_assets = list(fee_assets)
        self.qty: dict[int, Decimal] = {k: Decimal(0) for k in self.levels}
        self.gen: dict[int, int] = {k: 0 for k in self.levels}
        self.trade_seq = 1000
        self.ts = start_ts
        self.count = 0

    def next_order(self) -> OrderTruth:
        rng, grid = self.rng, self.grid
        base, quote = grid.instrument.base, grid.instrument.quote
        level = rng.choice(self.levels)
        sellable = self.qty[level].quantize(STEP, rounding=ROUND_DOWN)
        if sellable >= STEP * 10:
            side, role, amount = Side.SELL, Role.CLOSE, sellable
            price = grid.level_price(level + 1)
        else:
            side, role = Side.BUY, Role.OPEN
            amount = STEP * rng.randint(50, 500)
            price = grid.level_price(level)
        g = self.gen[level]
        self.gen[level] += 1
        cid = encode(ClientId(grid.grid_id, level, side, role, g))
        if rng.random() < self.cancel_p:
            target = (amount * Decimal(rng.randint(0, 9)) / 10).quantize(STEP, rounding=ROUND_DOWN)
            final = rng.choice([OrderStatus.CANCELED, OrderStatus.CANCELED, OrderStatus.EXPIRED])
        else:
            target, final = amount, OrderStatus.FILLED
        units = int(target / STEP)
        n_fills = 0 if units == 0 else rng.randint(1, self.max_fills)
        cuts = sorted(rng.sample(range(1, units), k=min(n_fills - 1, units - 1))) if n_fills > 1 else []
        bounds = [Decimal(0), *[STEP * c for c in cuts], target]
        fills = []
        for lo, hi in zip(bounds, bounds[1:]):
            if hi <= lo:
                continue
            self.trade_seq += 1
            self.ts += rng.randint(1, 50)
            part = hi - lo
            mode = rng.choice(self.fee_assets)
            if mode == "base" and side is Side.BUY:
                fee_asset, fee = base, (part * Decimal("0.001")).quantize(Q8)
            elif mode == "BNB":
                fee_asset, fee = "BNB", (part * price * Decimal("0.00075") / 300).quantize(Q8)
            else:
                fee_asset, fee = quote, (part * price * Decimal("0.001")).quantize(Q8)
            fills.append(Fill(str(self.trade_seq), part, price, fee_asset, fee, self.ts))
        self.ts += rng.randint(1, 50)
        order = OrderTruth(
            client_id=cid,
            order_id=str(10_000_000 + self.count),
            level=level,
            side=side,
            role=role,
            generation=g,
            amount=amount,
            price=price,
            fills=tuple(fills),
            final=final,
            created_ts=self.ts,
        )
        self.count += 1
        net = order.filled - sum((f.fee for f in fills if f.fee_asset == base), Decimal(0))
        self.qty[level] += net if side is Side.BUY else -net
        return order


def generate_history(rng: random.Random, grid: GridSpec, n_orders: int, **kwargs: Any) -> list[OrderTruth]:
    """``n_orders`` orders of a grid (see HistoryGenerator for the keyword arguments)."""
    gen = HistoryGenerator(rng, grid, **kwargs)
    return [gen.next_order() for _ in range(n_orders)]


def ground_truth(grid: GridSpec, orders: Sequence[OrderTruth]) -> dict[int, SlotTruth]:
    """Per-slot truth by plain arithmetic over each slot's orders in generation order (R5)."""
    base, quote = grid.instrument.base, grid.instrument.quote
    by_level: dict[int, list[OrderTruth]] = {}
    for o in orders:
        by_level.setdefault(o.level, []).append(o)
    result: dict[int, SlotTruth] = {}
    for level, items in by_level.items():
        qty = cost = realized = Decimal(0)
        fees: dict[str, Decimal] = {}
        for o in sorted(items, key=lambda o: o.generation):
            fb = sum((f.fee for f in o.fills if f.fee_asset == base), Decimal(0))
            fq = sum((f.fee for f in o.fills if f.fee_asset == quote), Decimal(0))
            for f in o.fills:
                fees[f.fee_asset] = fees.get(f.fee_asset, Decimal(0)) + f.fee
            if o.side is Side.BUY:
                qty += o.filled - fb
                cost += o.cost + fq
            elif o.filled:
                sold = o.filled + fb
                with localcontext(prec=50):
                    share = cost if sold == qty else (cost * sold / qty).quantize(Decimal("1e-18"))
                realized += o.cost - share - fq
                cost -= share
                qty -= sold
        result[level] = SlotTruth(qty, cost, realized, tuple(sorted((a, v) for a, v in fees.items() if v)))
    return result


# ---------------------------------------------------------------------------- evidence
def order_evidence(grid: GridSpec, o: OrderTruth, *, snapshot_fees: bool = True) -> list[Evidence]:
    """The stream of one order in delivery order: NEW, then per fill a trade and a snapshot, then final.

    ``snapshot_fees`` chooses whether snapshots carry cumulative fees (ccxt, OKX, Bybit) or
    not (Binance executionReport).
    """
    sym = grid.symbol
    items: list[Evidence] = [
        OrderEvidence(sym, o.order_id, o.client_id, OrderStatus.NEW, o.side, o.amount, o.price,
                      Decimal(0), Decimal(0), () if snapshot_fees else None, o.created_ts, f"{o.order_id}:0")
    ]
    filled = cost = Decimal(0)
    done: list[Fill] = []
    for i, f in enumerate(o.fills, start=1):
        done.append(f)
        filled += f.amount
        cost += f.amount * f.price
        fee = make_fees([(f.fee_asset, f.fee)])
        items.append(TradeEvidence(sym, o.order_id, o.client_id, f.trade_id, o.side, f.amount, f.price,
                                   f.amount * f.price, fee, f.ts))
        status = OrderStatus.FILLED if filled == o.amount else OrderStatus.PARTIALLY_FILLED
        cum = make_fees((d.fee_asset, d.fee) for d in done) if snapshot_fees else None
        items.append(OrderEvidence(sym, o.order_id, o.client_id, status, o.side, o.amount, o.price,
                                   filled, cost, cum, f.ts, f"{o.order_id}:{i}"))
    if o.final is not OrderStatus.FILLED or not o.fills:
        items.append(OrderEvidence(sym, o.order_id, o.client_id, o.final, o.side, o.amount, o.price,
                                   filled, cost, o.fees if snapshot_fees else None, o.created_ts + 60,
                                   f"{o.order_id}:x"))
    return items


def final_snapshot(grid: GridSpec, o: OrderTruth) -> OrderEvidence:
    """What fetch_order answers once the order is finished (cumulative, with fees)."""
    return OrderEvidence(grid.symbol, o.order_id, o.client_id, o.final, o.side, o.amount, o.price,
                         o.filled, o.cost, o.fees, o.created_ts + 60, None, "rest")


def interleave(rng: random.Random, streams: Sequence[Sequence[Any]]) -> list[Any]:
    """Merge per-order streams keeping each stream's own order (a realistic delivery)."""
    pos = [0] * len(streams)
    live = [i for i, s in enumerate(streams) if s]
    out: list[Any] = []
    window = 8
    while live:
        # Orders overlap a little in time: pick among the oldest few unfinished streams.
        i = live[rng.randrange(min(window, len(live)))]
        out.append(streams[i][pos[i]])
        pos[i] += 1
        if pos[i] == len(streams[i]):
            live.remove(i)
    return out


def with_faults(
    rng: random.Random,
    items: Sequence[Any],
    *,
    duplicate_p: float = 0.3,
    reorder_window: int = 16,
    replay_every: int = 5000,
    replay_last: int = 500,
) -> list[Any]:
    """Duplicates, reordering within a window, and replays of the last messages."""
    out: list[Any] = []
    for n, item in enumerate(items, start=1):
        out.append(item)
        if rng.random() < duplicate_p:
            out.append(item)
        if replay_every and n % replay_every == 0:
            out.extend(items[max(0, n - replay_last) : n])
    if reorder_window > 1:
        for start in range(0, len(out), reorder_window):
            chunk = out[start : start + reorder_window]
            rng.shuffle(chunk)
            out[start : start + reorder_window] = chunk
    return out


# ---------------------------------------------------------------------------- raw shapes
def _s(value: Decimal) -> str:
    return format(value, "f")


def binance_reports(grid: GridSpec, o: OrderTruth, exec_ids: Iterator[int]) -> list[dict[str, Any]]:
    """Binance spot executionReports (bare form) for one order, as the venue would push them."""
    sym = grid.instrument.base + grid.instrument.quote
    side = "BUY" if o.side is Side.BUY else "SELL"

    def report(x: str, status: str, last: Fill | None, z: Decimal, zq: Decimal, ts: int) -> dict[str, Any]:
        cancel = x == "CANCELED"
        return {
            "e": "executionReport", "E": ts, "s": sym,
            "c": f"cxl{o.order_id}" if cancel else o.client_id, "S": side, "o": "LIMIT", "f": "GTC",
            "q": _s(o.amount), "p": _s(o.price), "P": "0", "F": "0", "g": -1,
            "C": o.client_id if cancel else "", "x": x, "X": status, "r": "NONE", "i": int(o.order_id),
            "l": _s(last.amount) if last else "0", "z": _s(z), "L": _s(last.price) if last else "0",
            "n": _s(last.fee) if last else "0", "N": last.fee_asset if last else None, "T": ts,
            "t": int(last.trade_id) if last else -1, "I": next(exec_ids), "w": last is None, "m": True,
            "M": False, "O": o.created_ts, "Z": _s(zq), "Y": _s(last.amount * last.price) if last else "0",
            "Q": "0", "W": o.created_ts, "V": "NONE",
        }

    msgs = [report("NEW", "NEW", None, Decimal(0), Decimal(0), o.created_ts)]
    z = zq = Decimal(0)
    for f in o.fills:
        z += f.amount
        zq += f.amount * f.price
        msgs.append(report("TRADE", "FILLED" if z == o.amount else "PARTIALLY_FILLED", f, z, zq, f.ts))
    if o.final is not OrderStatus.FILLED or not o.fills:
        x = {OrderStatus.CANCELED: "CANCELED", OrderStatus.EXPIRED: "EXPIRED"}.get(o.final, "CANCELED")
        msgs.append(report(x, x, None, z, zq, o.created_ts + 60))
    return msgs


def ccxt_structures(grid: GridSpec, o: OrderTruth) -> list[dict[str, Any]]:
    """ccxt unified orders and trades for one order (numbers as strings, number = str)."""
    msgs: list[dict[str, Any]] = []

    def order(status: str, filled: Decimal, cost: Decimal, fees: Fees, ts: int) -> dict[str, Any]:
        return {
            "kind": "order",
            "order": {
                "id": o.order_id, "clientOrderId": o.client_id, "timestamp": o.created_ts,
                "lastUpdateTimestamp": ts, "status": status, "symbol": grid.symbol, "type": "limit",
                "side": o.side.value, "price": _s(o.price), "amount": _s(o.amount), "filled": _s(filled),
                "remaining": _s(o.amount - filled), "cost": _s(cost),
                "average": _s(cost / filled) if filled else None,
                "fees": [{"currency": a, "cost": _s(v)} for a, v in fees], "trades": [], "info": {},
            },
        }

    msgs.append(order("open", Decimal(0), Decimal(0), (), o.created_ts))
    filled = cost = Decimal(0)
    done: list[Fill] = []
    for f in o.fills:
        done.append(f)
        filled += f.amount
        cost += f.amount * f.price
        msgs.append({
            "kind": "trade",
            "trade": {
                "id": f.trade_id, "order": o.order_id, "clientOrderId": o.client_id, "timestamp": f.ts,
                "symbol": grid.symbol, "side": o.side.value, "takerOrMaker": "maker", "price": _s(f.price),
                "amount": _s(f.amount), "cost": _s(f.amount * f.price),
                "fee": {"currency": f.fee_asset, "cost": _s(f.fee)}, "info": {},
            },
        })
        status = "closed" if filled == o.amount else "open"
        msgs.append(order(status, filled, cost, make_fees((d.fee_asset, d.fee) for d in done), f.ts))
    if o.final is not OrderStatus.FILLED or not o.fills:
        msgs.append(order(o.final.value.lower(), filled, cost, o.fees, o.created_ts + 60))
    return msgs
