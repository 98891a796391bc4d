"""The corpus README's edge cases (§5) end to end: venue payloads through the parsers into the
ledger, with our client ids in place of the samples' (a foreign id would leave slots alone)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from gridledger.domain.coid import ClientId, encode
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.types import OrderStatus, Role, Side
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.outcomes import OutcomeKind as K
from gridledger.venues import parse_message

FIXTURES = Path(__file__).parent.parent / "fixtures" / "venues"


def load(venue: str) -> dict:
    return json.loads((FIXTURES / f"{venue}.json").read_text())


def ours(side: Side, level: int = -1, gen: int = 0) -> str:
    return encode(ClientId("e5", level, side, Role.OPEN if side is Side.BUY else Role.CLOSE, gen))


def with_client_id(payload, keys: tuple[str, ...], cid: str):
    """A copy with every non-empty client-id field set to ours (Binance: c, or C on cancels)."""
    payload = copy.deepcopy(payload)

    def walk(node):
        if isinstance(node, dict):
            if node.get("e") == "executionReport":
                node["C" if node.get("x") == "CANCELED" else "c"] = cid
            for key in keys:
                if key in node:
                    node[key] = cid
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload)
    return payload


def feed(led: Ledger, fmt: str, messages) -> list:
    outs = []
    for m in messages:
        parsed = parse_message(m, fmt, led.grid.instrument)
        outs += led.apply_all(parsed.items)
    return outs


def grid(symbol: str, anchor: str = "1") -> Ledger:
    return Ledger(GridSpec("e5", Instrument.from_symbol(symbol), D(anchor), D(anchor) / 10))


@pytest.mark.parametrize("order", ["delivered", "reversed"])
def test_binance_market_order_expired_at_4_of_6_holds_4_whatever_the_order(order):
    # §5.1 EXPIRED at 4 of 6, and §5.2 identical E/T: only I orders the reports.
    fx = load("binance_spot")
    cid = ours(Side.BUY)
    msgs = [with_client_id(fx[k], (), cid) for k in ("faq32_new", "faq32_trade7", "faq32_trade8", "faq32_expired")]
    if order == "reversed":
        msgs.reverse()
    led = grid("LTC/BNB")
    feed(led, "binance-spot", msgs + msgs[1:2])  # and a replay of the first trade
    rec = led.order(cid)
    assert rec.status is OrderStatus.EXPIRED and rec.filled == D(4)
    assert led.position == D(4)  # not 6, not 0; the BNB fee is the quote's here (LTC/BNB)
    assert led.slots[-1].bound is None


def test_binance_cancel_event_is_applied_to_the_original_order():
    # §5.3: on a cancel, c is the cancel request's id and C the order's.
    fx = load("binance_spot")
    cid = ours(Side.BUY)
    msgs = [with_client_id(fx[k], (), cid) for k in ("limit_new", "limit_partial1", "limit_cancel_after_partial1")]
    assert msgs[-1]["c"] == "cancelMyOrder1" or msgs[-1].get("event", {}).get("c") == "cancelMyOrder1"
    led = grid("ETH/BTC")
    outs = feed(led, "binance-spot", msgs)
    assert [o.kind for o in outs].count(K.REJECTED) == 0 and not any(o.kind is K.FOREIGN for o in outs)
    rec = led.order(cid)
    assert rec.status is OrderStatus.CANCELED and rec.filled == D("0.4")
    assert led.slots[-1].bound is None and led.position > 0


def test_binance_usdm_bnb_commission_is_kept_apart():
    # §5.4: n/N absent on NEW/CANCELED; commission in BNB is a third-asset fee.
    fx = load("binance_usdm")
    cid = ours(Side.SELL)
    led = grid("BTC/USDT:USDT", "7000")
    feed(
        led,
        "binance-usdm",
        [with_client_id(fx[k], ("c",), cid) for k in ("limit_new", "limit_partial1_bnb_commission")],
    )
    fees = led.fees()
    assert set(fees) == {"BNB"} and led.realized_pnl == led.slots[-1].state.realized


def test_okx_state_only_filled_adds_nothing_and_replays_are_duplicates():
    # §5.5: a state-only "filled" push with fillSz 0 after the last fill.
    fx = load("okx")
    cid = ours(Side.SELL)
    keys = (
        "limit_live",
        "limit_partial1",
        "limit_partial2",
        "limit_filled",
        "limit_replay_partial2",
        "limit_state_only_filled",
    )
    msgs = [with_client_id(fx[k], ("clOrdId",), cid) for k in keys]
    led = grid("BTC/USDT", "31527.1")
    outs = feed(led, "okx", msgs)
    rec = led.order(cid)
    assert rec.filled == D("0.003") and rec.status is OrderStatus.FILLED
    assert outs[-1].kind in (K.STALE, K.DUPLICATE)
    assert sum(o.filled_delta for o in outs) == D("0.003")


@pytest.mark.parametrize(
    ("venue", "key", "keys", "fee"),
    [
        ("okx", "ltc_buy_base_fee", ("clOrdId",), D("0.0005")),
        ("bybit", "spot_execution_base_fee", ("orderLinkId",), D("0.000004")),
    ],
)
def test_spot_buy_fee_in_the_base_asset_reduces_the_inventory(venue, key, keys, fee):
    # §5.8: net base received = filled - fee.
    fx = load(venue)
    cid = ours(Side.BUY)
    symbol = "LTC/USDT" if venue == "okx" else "BTC/USDT"
    led = grid(symbol, "100")
    outs = feed(led, venue, [with_client_id(fx[key], keys, cid)])
    assert any(o.kind is K.APPLIED for o in outs)
    rec = led.order(cid)
    assert led.position == rec.filled - fee


def test_bybit_double_filled_counts_once():
    # §5.9: a second Filled when a cancel races the fill.
    fx = load("bybit")
    cid = ours(Side.SELL)
    keys = (
        "limit_new",
        "exec1",
        "order_partial1",
        "exec2",
        "order_partial2",
        "exec3",
        "order_filled",
        "order_filled_again_cancel_race",
    )
    led = grid("BTC/USDT:USDT", "95900.1")
    outs = feed(led, "bybit", [with_client_id(fx[k], ("orderLinkId",), cid) for k in keys])
    assert led.order(cid).filled == D("0.5")
    assert sum(o.filled_delta for o in outs) == D("0.5")


def test_bybit_funding_rows_are_not_fills():
    # §5.10: execution rows with execType Funding.
    fx = load("bybit")
    parsed = parse_message(fx["execution_funding_only"], "bybit", Instrument.from_symbol("BTC/USDT:USDT"))
    assert parsed.items == () and parsed.skipped
    page = copy.deepcopy(fx["rest_execution_list_with_funding"])
    rows = page["result"]["list"]
    cid = ours(Side.BUY)
    for row in rows:  # make every row ours, so a funding row taken for a fill would move a slot
        row["orderLinkId"] = cid
        row["side"] = "Buy"
        row["symbol"] = "BTCUSDT"
    trades = [r for r in rows if r.get("execType") in (None, "", "Trade", "AdlTrade", "BustTrade", "BlockTrade")]
    assert len(trades) < len(rows)  # the page does hold funding rows
    led = grid("BTC/USDT:USDT", "95900")
    outs = feed(led, "bybit", [page])
    assert len(outs) == len(trades)
    assert led.order(cid).filled == sum((D(r["execQty"]) for r in trades), D(0))
