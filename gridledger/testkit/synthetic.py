"""Synthetic grid order histories with their ground truth, and the evidence they produce.

Used by the property tests, the benchmark and the bundled replay sample. A history is a
list of orders per slot in generation order (open buy, closing sell, open buy, ...), each
with its fills; from it come evidence streams as internal evidence objects or in every
venue's wire format (ccxt unified structures, Binance spot executionReports, Binance USDⓈ-M
ORDER_TRADE_UPDATE / TRADE_LITE, OKX orders / fills pushes, Bybit order / execution pushes;
see ``venue_messages``) and faulty deliveries of them (duplicates, reordering, replays).
Fills may be rebated (negative fees), so cumulative fees can fall (R1). The ground truth is computed here independently of the
ledger's own fold, with plain arithmetic, so tests compare two implementations.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

from gridledger.domain.coid import ClientId, encode
from gridledger.domain.grid import GridSpec
from gridledger.domain.types import Direction, OrderStatus, Role, Side
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
    """An endless, seeded stream of grid orders: each slot alternates opening and closing
    orders in its direction (``GridSpec.level_direction``): open buy and closing sell for a
    long slot, open sell and closing buy for a short one (issue 11).

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
        rebate_p: float = 0.0,
        one_fee_asset: bool = False,
    ) -> None:
        self.rng = rng
        self.grid = grid
        self.levels = list(levels)
        self.max_fills = max_fills
        self.cancel_p = cancel_p
        self.fee_assets = list(fee_assets)
        # rebate_p: chance that a fill is a rebated maker fill (a negative fee), so orders
        # mix taker fees and rebates and their cumulative fee rises and falls (R1).
        # one_fee_asset: all fills of an order pay in one asset (OKX's order fee has one
        # currency). Both off keep the random stream, and so every seeded history, as before.
        self.rebate_p = rebate_p
        self.one_fee_asset = one_fee_asset
        self.qty: dict[int, Decimal] = {k: Decimal(0) for k in self.levels}
        self.gen: dict[int, int] = {k: 0 for k in self.levels}
        self.trade_seq = 1000
        self.ts = start_ts
        self.count = 0

    def next_order(self) -> OrderTruth:
        rng, grid = self.rng, self.grid
        base, quote = grid.instrument.base, grid.instrument.quote
        level = rng.choice(self.levels)
        direction = grid.level_direction(level)
        if direction is None:
            raise ValueError(f"level {level} is the neutral grid's pivot: it has no slot to trade")
        closable = self.qty[level].quantize(STEP, rounding=ROUND_DOWN)
        if closable >= STEP * 10:
            side, role, amount = direction.closing_side, Role.CLOSE, closable
            price = grid.level_price(level + direction.step)
        else:
            side, role = direction.opening_side, Role.OPEN
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
        order_mode = rng.choice(self.fee_assets) if self.one_fee_asset else None
        if order_mode == "base" and side is Side.SELL:
            order_mode = "quote"  # a sell's charges are in quote: one asset means quote
        for lo, hi in itertools.pairwise(bounds):
            if hi <= lo:
                continue
            self.trade_seq += 1
            self.ts += rng.randint(1, 50)
            part = hi - lo
            mode = order_mode if order_mode is not None else rng.choice(self.fee_assets)
            if mode == "base" and direction is Direction.SHORT:
                # Short slots live on perpetuals, which charge the settle coin (or BNB), never
                # base; and a base rebate on a closing buy could repay more than is owed.
                mode = "quote"
            rebate = self.rebate_p > 0 and rng.random() < self.rebate_p
            # Taker 0.1%, maker rebate 0.01% (negative: received, not paid).
            rate = Decimal("-0.0001") if rebate else Decimal("0.001")
            # Buys pay in base or quote; a sell is charged in quote, but a rebate comes in
            # the asset paid, which is base on a sell (Bybit spot, corpus README §5.12).
            if mode == "base" and (side is Side.BUY or rebate):
                fee_asset, fee = base, (part * rate).quantize(Q8)
            elif mode == "BNB":
                fee_asset, fee = "BNB", (part * price * rate * Decimal("0.75") / 300).quantize(Q8)
            else:
                fee_asset, fee = quote, (part * price * rate).quantize(Q8)
            fills.append(Fill(str(self.trade_seq), part, price, fee_asset, fee + 0, self.ts))
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
        base_fee = sum((f.fee for f in fills if f.fee_asset == base), Decimal(0))
        # R5: a buy brings in filled - base fee, a sell gives out filled + base fee; a long
        # slot holds what came in, a short slot owes what went out.
        came_in = order.filled - base_fee if side is Side.BUY else -(order.filled + base_fee)
        self.qty[level] += came_in if direction is Direction.LONG else -came_in
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
        short = grid.level_direction(level) is Direction.SHORT
        for o in sorted(items, key=lambda o: o.generation):
            fb = sum((f.fee for f in o.fills if f.fee_asset == base), Decimal(0))
            fq = sum((f.fee for f in o.fills if f.fee_asset == quote), Decimal(0))
            for f in o.fills:
                fees[f.fee_asset] = fees.get(f.fee_asset, Decimal(0)) + f.fee
            if short:
                # A short slot: the sell opens (owes filled + base fee, keeps the proceeds net
                # of quote fees), the buy closes (repays filled - base fee; realizes the share
                # of proceeds minus its cost and quote fees).
                if o.side is Side.SELL:
                    qty += o.filled + fb
                    cost += o.cost - fq
                elif o.filled:
                    repaid = o.filled - fb
                    with localcontext(prec=50):
                        share = cost if repaid == qty else (cost * repaid / qty).quantize(Decimal("1e-18"))
                    realized += share - o.cost - fq
                    cost -= share
                    qty -= repaid
            elif o.side is Side.BUY:
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
        OrderEvidence(
            sym,
            o.order_id,
            o.client_id,
            OrderStatus.NEW,
            o.side,
            o.amount,
            o.price,
            Decimal(0),
            Decimal(0),
            () if snapshot_fees else None,
            o.created_ts,
            f"{o.order_id}:0",
        )
    ]
    filled = cost = Decimal(0)
    done: list[Fill] = []
    for i, f in enumerate(o.fills, start=1):
        done.append(f)
        filled += f.amount
        cost += f.amount * f.price
        fee = make_fees([(f.fee_asset, f.fee)])
        items.append(
            TradeEvidence(
                sym, o.order_id, o.client_id, f.trade_id, o.side, f.amount, f.price, f.amount * f.price, fee, f.ts
            )
        )
        status = OrderStatus.FILLED if filled == o.amount else OrderStatus.PARTIALLY_FILLED
        cum = make_fees((d.fee_asset, d.fee) for d in done) if snapshot_fees else None
        items.append(
            OrderEvidence(
                sym,
                o.order_id,
                o.client_id,
                status,
                o.side,
                o.amount,
                o.price,
                filled,
                cost,
                cum,
                f.ts,
                f"{o.order_id}:{i}",
            )
        )
    if o.final is not OrderStatus.FILLED or not o.fills:
        items.append(
            OrderEvidence(
                sym,
                o.order_id,
                o.client_id,
                o.final,
                o.side,
                o.amount,
                o.price,
                filled,
                cost,
                o.fees if snapshot_fees else None,
                o.created_ts + 60,
                f"{o.order_id}:x",
            )
        )
    return items


def final_snapshot(grid: GridSpec, o: OrderTruth) -> OrderEvidence:
    """What fetch_order answers once the order is finished (cumulative, with fees)."""
    return OrderEvidence(
        grid.symbol,
        o.order_id,
        o.client_id,
        o.final,
        o.side,
        o.amount,
        o.price,
        o.filled,
        o.cost,
        o.fees,
        o.created_ts + 60,
        None,
        "rest",
    )


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
            "e": "executionReport",
            "E": ts,
            "s": sym,
            "c": f"cxl{o.order_id}" if cancel else o.client_id,
            "S": side,
            "o": "LIMIT",
            "f": "GTC",
            "q": _s(o.amount),
            "p": _s(o.price),
            "P": "0",
            "F": "0",
            "g": -1,
            "C": o.client_id if cancel else "",
            "x": x,
            "X": status,
            "r": "NONE",
            "i": int(o.order_id),
            "l": _s(last.amount) if last else "0",
            "z": _s(z),
            "L": _s(last.price) if last else "0",
            "n": _s(last.fee) if last else "0",
            "N": last.fee_asset if last else None,
            "T": ts,
            "t": int(last.trade_id) if last else -1,
            "I": next(exec_ids),
            "w": last is None,
            "m": True,
            "M": False,
            "O": o.created_ts,
            "Z": _s(zq),
            "Y": _s(last.amount * last.price) if last else "0",
            "Q": "0",
            "W": o.created_ts,
            "V": "NONE",
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
                "id": o.order_id,
                "clientOrderId": o.client_id,
                "timestamp": o.created_ts,
                "lastUpdateTimestamp": ts,
                "status": status,
                "symbol": grid.symbol,
                "type": "limit",
                "side": o.side.value,
                "price": _s(o.price),
                "amount": _s(o.amount),
                "filled": _s(filled),
                "remaining": _s(o.amount - filled),
                "cost": _s(cost),
                "average": _s(cost / filled) if filled else None,
                "fees": [{"currency": a, "cost": _s(v)} for a, v in fees],
                "trades": [],
                "info": {},
            },
        }

    msgs.append(order("open", Decimal(0), Decimal(0), (), o.created_ts))
    filled = cost = Decimal(0)
    done: list[Fill] = []
    for f in o.fills:
        done.append(f)
        filled += f.amount
        cost += f.amount * f.price
        msgs.append(
            {
                "kind": "trade",
                "trade": {
                    "id": f.trade_id,
                    "order": o.order_id,
                    "clientOrderId": o.client_id,
                    "timestamp": f.ts,
                    "symbol": grid.symbol,
                    "side": o.side.value,
                    "takerOrMaker": "maker",
                    "price": _s(f.price),
                    "amount": _s(f.amount),
                    "cost": _s(f.amount * f.price),
                    "fee": {"currency": f.fee_asset, "cost": _s(f.fee)},
                    "info": {},
                },
            }
        )
        status = "closed" if filled == o.amount else "open"
        # Per asset with zero totals kept: a fee that nets to zero is reported as 0, not left out
        # (an order without fee entries reads as "fee not reported").
        msgs.append(order(status, filled, cost, tuple(sorted(_per_asset(done).items())), f.ts))
    if o.final is not OrderStatus.FILLED or not o.fills:
        msgs.append(
            order(o.final.value.lower(), filled, cost, tuple(sorted(_per_asset(o.fills).items())), o.created_ts + 60)
        )
    return msgs


# ---------------------------------------------------------------------------- every venue
# Tags of rendered messages, for choosing evidence subsets that still prove an order:
#   "t": carries a fill with its fee (possibly with a snapshot beside it);
#   "s": a snapshot that proves nothing on its own (NEW, a snapshot without fees);
#   "f": the terminal snapshot with the order's cumulative fee (venues that report one);
#   "l": a fill without its fee (TRADE_LITE, Bybit execution.fast, the OKX fills channel).
VENUE_FORMATS = ("ccxt", "binance-spot", "binance-usdm", "okx", "bybit")


def _per_asset(fills: Sequence[Fill]) -> dict[str, Decimal]:
    """Cumulative fee per asset, zero totals kept (a venue still names the asset)."""
    total: dict[str, Decimal] = {}
    for f in fills:
        total[f.fee_asset] = total.get(f.fee_asset, Decimal(0)) + f.fee
    return total


def _tag_ccxt(o: OrderTruth, msgs: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    last = len(msgs) - 1
    for i, m in enumerate(msgs):
        if m["kind"] == "trade":
            out.append(("t", m))
        elif i == last:
            out.append(("f", m))
        else:
            out.append(("s", m))
    return out


def _tag_binance_spot(msgs: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    return [("t" if m["x"] == "TRADE" else "s", m) for m in msgs]


def usdm_reports(grid: GridSpec, o: OrderTruth) -> list[tuple[str, dict[str, Any]]]:
    """Binance USDⓈ-M ORDER_TRADE_UPDATE events (and a TRADE_LITE per fill) for one order.

    Commission ``n`` is per trade, negative for a rebate, and absent when there is none
    (corpus README §5.4); snapshots carry no cumulative fee.
    """
    sym = grid.instrument.base + grid.instrument.quote
    side = "BUY" if o.side is Side.BUY else "SELL"

    def event(x: str, status: str, last: Fill | None, z: Decimal, ts: int) -> dict[str, Any]:
        body: dict[str, Any] = {
            "s": sym,
            "c": o.client_id,
            "S": side,
            "o": "LIMIT",
            "f": "GTC",
            "q": _s(o.amount),
            "p": _s(o.price),
            "ap": _s(o.price) if z else "0",
            "sp": "0",
            "x": x,
            "X": status,
            "i": int(o.order_id),
            "l": _s(last.amount) if last else "0",
            "z": _s(z),
            "L": _s(last.price) if last else "0",
            "T": ts,
            "t": int(last.trade_id) if last else 0,
            "b": "0",
            "a": "0",
            "m": True,
            "R": False,
            "wt": "CONTRACT_PRICE",
            "ot": "LIMIT",
            "ps": "BOTH",
            "cp": False,
            "rp": "0",
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "NONE",
            "pm": "NONE",
            "gtd": 0,
        }
        if last is not None and last.fee:
            body["n"], body["N"] = _s(last.fee), last.fee_asset
        return {"e": "ORDER_TRADE_UPDATE", "E": ts + 1, "T": ts, "o": body}

    msgs: list[tuple[str, dict[str, Any]]] = [("s", event("NEW", "NEW", None, Decimal(0), o.created_ts))]
    z = Decimal(0)
    for f in o.fills:
        z += f.amount
        msgs.append(
            (
                "l",
                {
                    "e": "TRADE_LITE",
                    "E": f.ts + 1,
                    "T": f.ts,
                    "s": sym,
                    "q": _s(o.amount),
                    "p": _s(o.price),
                    "m": True,
                    "c": o.client_id,
                    "S": side,
                    "L": _s(f.price),
                    "l": _s(f.amount),
                    "t": int(f.trade_id),
                    "i": int(o.order_id),
                },
            )
        )
        msgs.append(("t", event("TRADE", "FILLED" if z == o.amount else "PARTIALLY_FILLED", f, z, f.ts)))
    if o.final is not OrderStatus.FILLED or not o.fills:
        x = "EXPIRED" if o.final is OrderStatus.EXPIRED else "CANCELED"
        msgs.append(("s", event(x, x, None, z, o.created_ts + 60)))
    return msgs


def okx_pushes(grid: GridSpec, o: OrderTruth) -> list[tuple[str, dict[str, Any]]]:
    """OKX v5 ``orders`` channel pushes (and a ``fills`` channel row per fill) for one order.

    OKX signs fees the other way round: ``fee``/``fillFee`` are negative when charged and
    positive for a rebate (corpus README §2 row (h)). The order's cumulative ``fee`` has one
    currency, so a history for OKX must be generated with ``one_fee_asset=True``.
    """
    inst = f"{grid.instrument.base}-{grid.instrument.quote}"
    side = o.side.value
    assets = {f.fee_asset for f in o.fills}
    if len(assets) > 1:
        raise ValueError("an OKX order reports its fee in one currency: use one_fee_asset=True")
    ccy = next(iter(assets)) if assets else grid.instrument.quote
    arg = {"channel": "orders", "instType": "SPOT", "instId": inst, "uid": "1"}

    def row(state: str, acc: Decimal, fee: Decimal, last: Fill | None, ts: int) -> dict[str, Any]:
        return {
            "instType": "SPOT",
            "instId": inst,
            "ordId": o.order_id,
            "clOrdId": o.client_id,
            "px": _s(o.price),
            "sz": _s(o.amount),
            "ordType": "limit",
            "side": side,
            "tdMode": "cash",
            "tgtCcy": "",
            "state": state,
            "accFillSz": _s(acc),
            "avgPx": _s(o.price) if acc else "",
            "fee": _s(-fee),
            "feeCcy": ccy,
            "rebate": "0",
            "rebateCcy": ccy,
            "uTime": str(ts),
            "cTime": str(o.created_ts),
            "tradeId": last.trade_id if last else "",
            "fillSz": _s(last.amount) if last else "0",
            "fillPx": _s(last.price) if last else "",
            "fillFee": _s(-last.fee) if last else "0",
            "fillFeeCcy": last.fee_asset if last else "",
            "fillTime": str(last.ts) if last else "",
            "execType": "M" if last else "",
            "code": "0",
            "msg": "",
        }

    msgs: list[tuple[str, dict[str, Any]]] = [
        ("s", {"arg": arg, "data": [row("live", Decimal(0), Decimal(0), None, o.created_ts)]})
    ]
    acc = fee = Decimal(0)
    for f in o.fills:
        acc += f.amount
        fee += f.fee
        msgs.append(
            (
                "l",
                {
                    "arg": {"channel": "fills", "instId": inst},
                    "data": [
                        {
                            "instId": inst,
                            "fillSz": _s(f.amount),
                            "fillPx": _s(f.price),
                            "side": side,
                            "ts": str(f.ts),
                            "ordId": o.order_id,
                            "clOrdId": o.client_id,
                            "tradeId": f.trade_id,
                            "execType": "M",
                            "count": "1",
                        }
                    ],
                },
            )
        )
        state = "filled" if acc == o.amount else "partially_filled"
        msgs.append(("t", {"arg": arg, "data": [row(state, acc, fee, f, f.ts)]}))
    # The state-only push after the last fill (corpus §5.5), or the cancel: cumulative fee.
    state = "filled" if o.final is OrderStatus.FILLED and o.fills else "canceled"
    msgs.append(("f", {"arg": arg, "data": [row(state, acc, fee, None, o.created_ts + 60)]}))
    return msgs


def bybit_messages(grid: GridSpec, o: OrderTruth) -> list[tuple[str, dict[str, Any]]]:
    """Bybit v5 ``order`` and ``execution`` pushes (and ``execution.fast``) for one order.

    ``execFee`` is per fill in ``feeCurrency`` and the order's ``cumFeeDetail`` maps each
    fee coin to its cumulative amount; both are negative for a rebate (§2 row (h)).
    """
    sym = grid.instrument.base + grid.instrument.quote
    category = "spot" if grid.instrument.settle is None else "linear"
    side = "Buy" if o.side is Side.BUY else "Sell"

    def order(status: str, done: Sequence[Fill], ts: int) -> dict[str, Any]:
        cum = sum((f.amount for f in done), Decimal(0))
        value = sum((f.amount * f.price for f in done), Decimal(0))
        row = {
            "category": category,
            "symbol": sym,
            "orderId": o.order_id,
            "orderLinkId": o.client_id,
            "side": side,
            "orderType": "Limit",
            "price": _s(o.price),
            "qty": _s(o.amount),
            "orderStatus": status,
            "cumExecQty": _s(cum),
            "cumExecValue": _s(value),
            "avgPrice": _s(o.price) if cum else "",
            "leavesQty": _s(o.amount - cum),
            "cumFeeDetail": {a: _s(v) for a, v in sorted(_per_asset(done).items())},
            "timeInForce": "GTC",
            "createdTime": str(o.created_ts),
            "updatedTime": str(ts),
        }
        return {"topic": "order", "id": f"{o.order_id}-{ts}", "creationTime": ts, "data": [row]}

    msgs: list[tuple[str, dict[str, Any]]] = [("s", order("New", (), o.created_ts))]
    done: list[Fill] = []
    for f in o.fills:
        done.append(f)
        common = {
            "category": category,
            "symbol": sym,
            "execId": f.trade_id,
            "orderId": o.order_id,
            "orderLinkId": o.client_id,
            "side": side,
            "execPrice": _s(f.price),
            "execQty": _s(f.amount),
            "execTime": str(f.ts),
        }
        msgs.append(("l", {"topic": "execution.fast", "creationTime": f.ts, "data": [{**common, "seq": 1}]}))
        msgs.append(
            (
                "t",
                {
                    "topic": "execution",
                    "id": f"x{f.trade_id}",
                    "creationTime": f.ts,
                    "data": [
                        {
                            **common,
                            "execType": "Trade",
                            "execValue": _s(f.amount * f.price),
                            "execFee": _s(f.fee),
                            "feeCurrency": f.fee_asset,
                            "feeRate": "-0.0001" if f.fee < 0 else "0.001",
                            "isMaker": f.fee < 0,
                        }
                    ],
                },
            )
        )
        filled = sum((d.amount for d in done), Decimal(0))
        msgs.append(("s", order("Filled" if filled == o.amount else "PartiallyFilled", list(done), f.ts)))
    if o.final is OrderStatus.FILLED and o.fills:
        msgs[-1] = ("f", msgs[-1][1])
    else:
        status = "PartiallyFilledCanceled" if o.fills and category == "spot" else "Cancelled"
        msgs.append(("f", order(status, o.fills, o.created_ts + 60)))
    return msgs


def venue_messages(fmt: str, grid: GridSpec, o: OrderTruth, exec_ids: Iterator[int]) -> list[tuple[str, Any]]:
    """One order's stream in a venue's wire format, each message with its tag (see above).

    ``fmt`` is one of ``VENUE_FORMATS`` (the names ``gridledger.ledger.normalize`` parses).
    """
    if fmt == "ccxt":
        return _tag_ccxt(o, ccxt_structures(grid, o))
    if fmt == "binance-spot":
        return _tag_binance_spot(binance_reports(grid, o, exec_ids))
    if fmt == "binance-usdm":
        return usdm_reports(grid, o)
    if fmt == "okx":
        return okx_pushes(grid, o)
    if fmt == "bybit":
        return bybit_messages(grid, o)
    raise ValueError(f"unknown venue format {fmt!r}; expected one of {', '.join(VENUE_FORMATS)}")


def expected_status(fmt: str, status: OrderStatus) -> OrderStatus:
    """The status a venue can report for a truth's final status (OKX and Bybit have no EXPIRED)."""
    if status is OrderStatus.EXPIRED and fmt in ("okx", "bybit"):
        return OrderStatus.CANCELED
    return status
