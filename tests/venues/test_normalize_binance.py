"""Binance Spot and USDⓈ-M parsers against our fixtures (modeled on the corpus formats).

Edge cases are numbered as in the corpus README §5.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import InputError
from gridledger.domain.types import OrderStatus, Side
from gridledger.ledger.evidence import OrderEvidence, Parsed, TradeEvidence
from gridledger.venues import parse_binance_spot, parse_binance_usdm, parse_message

FIXTURES = Path(__file__).parent.parent / "fixtures" / "venues"


def load(venue: str) -> dict:
    return json.loads((FIXTURES / f"{venue}.json").read_text(), parse_float=Decimal)


SPOT = load("binance_spot")
USDM = load("binance_usdm")
LTCBNB = Instrument.from_symbol("LTC/BNB")
ETHBTC = Instrument.from_symbol("ETH/BTC")
LTCBTC = Instrument.from_symbol("LTC/BTC")
BTCUSDT = Instrument.from_symbol("BTC/USDT")
BTC_PERP = Instrument.from_symbol("BTC/USDT:USDT")

D = Decimal


def spot(name: str, instrument: Instrument = ETHBTC, source: str = "") -> Parsed:
    return parse_binance_spot(copy.deepcopy(SPOT[name]), instrument, source)


def usdm(name: str, instrument: Instrument = BTC_PERP) -> Parsed:
    return parse_binance_usdm(copy.deepcopy(USDM[name]), instrument)


def orders(parsed: Parsed) -> list[OrderEvidence]:
    return [i for i in parsed.items if isinstance(i, OrderEvidence)]


def trades(parsed: Parsed) -> list[TradeEvidence]:
    return [i for i in parsed.items if isinstance(i, TradeEvidence)]


FAQ = ["faq32_new", "faq32_trade7", "faq32_trade8", "faq32_expired"]


# --- corpus §5 (1): FAQ market order EXPIRED at 4 of 6 -------------------------------


def test_faq_market_order_expires_at_4_of_6() -> None:
    parsed = [spot(name, LTCBNB) for name in FAQ]
    all_trades = [t for p in parsed for t in trades(p)]
    assert [t.trade_id for t in all_trades] == ["7", "8"]
    assert [t.amount for t in all_trades] == [D(2), D(2)]
    assert all(t.price == 1 and t.cost == 2 and t.fees == (("BNB", D("0.001")),) for t in all_trades)
    final = orders(parsed[-1])[0]
    assert final.status is OrderStatus.EXPIRED
    assert final.filled == 4 and final.amount == 6 and final.cost == 4
    assert final.symbol == "LTC/BNB" and final.order_id == "32"
    assert final.price is None  # market order: p = 0
    assert final.fees is None  # executionReport commissions are per trade (§2 row h)


def test_faq_rest_full_agrees_with_the_stream() -> None:
    rest = spot("faq32_rest_full", LTCBNB)
    stream_trades = [t for name in FAQ for t in trades(spot(name, LTCBNB))]
    rest_trades = trades(rest)
    assert [(t.trade_id, t.amount, t.price, t.cost, t.fees) for t in rest_trades] == [
        (t.trade_id, t.amount, t.price, t.cost, t.fees) for t in stream_trades
    ]
    (order,) = orders(rest)
    final = orders(spot("faq32_expired", LTCBNB))[0]
    assert (order.status, order.filled, order.cost, order.amount, order.client_id) == (
        final.status,
        final.filled,
        final.cost,
        final.amount,
        final.client_id,
    )
    assert isinstance(rest.items[-1], OrderEvidence)  # trades first


# --- corpus §5 (2): identical E/T, I tells the events apart ---------------------------


def test_identical_event_times_have_distinct_event_ids() -> None:
    events = [SPOT[name] for name in FAQ]
    assert len({(e["E"], e["T"]) for e in events}) == 1
    reports = [orders(spot(name, LTCBNB))[0] for name in FAQ]
    ids = [r.event_id for r in reports]
    assert ids == ["62", "63", "65", "67"]
    assert len(set(ids)) == 4
    assert len({r.timestamp for r in reports}) == 1


# --- corpus §5 (3): cancel events swap c / C ------------------------------------------


def test_cancel_event_uses_original_client_id() -> None:
    parsed = spot("limit_cancel_after_partial1")
    assert SPOT["limit_cancel_after_partial1"]["c"] == "cancelMyOrder1"
    (order,) = parsed.items
    assert isinstance(order, OrderEvidence)
    assert order.client_id == "mUvoqJxFIILMdfAW5iGSOW"
    assert order.status is OrderStatus.CANCELED
    assert order.filled == D("0.4")


def test_non_cancel_event_ignores_empty_C() -> None:
    (order,) = spot("limit_new").items
    assert order.client_id == "mUvoqJxFIILMdfAW5iGSOW"


def test_envelope_and_bare_event_give_identical_evidence() -> None:
    assert spot("er_new_envelope", source="ws") == spot("er_new_bare", source="ws")
    assert spot("faq32_trade7_envelope", LTCBNB) == spot("faq32_trade7", LTCBNB)


def test_execution_report_fields() -> None:
    parsed = spot("limit_partial1", source="user-stream")
    trade, order = parsed.items
    assert isinstance(trade, TradeEvidence) and isinstance(order, OrderEvidence)
    assert trade == TradeEvidence(
        symbol="ETH/BTC",
        order_id="4293153",
        client_id="mUvoqJxFIILMdfAW5iGSOW",
        trade_id="283194213",
        side=Side.BUY,
        amount=D("0.4"),
        price=D("0.10264410"),
        cost=D("0.04105764"),
        fees=(("BNB", D("0.0003")),),
        timestamp=1499405659657,
        source="user-stream",
    )
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert (order.amount, order.price, order.filled, order.cost) == (D(1), D("0.1026441"), D("0.4"), D("0.04105764"))
    assert order.event_id == "8641986" and order.source == "user-stream"


def test_lifecycle_trades_sum_to_final_fill() -> None:
    names = ["limit_new", "limit_partial1", "limit_partial2", "limit_filled"]
    parsed = [spot(n) for n in names]
    assert sum(t.amount for p in parsed for t in trades(p)) == orders(parsed[-1])[0].filled == 1
    assert orders(parsed[-1])[0].status is OrderStatus.FILLED


def test_replay_parses_identically() -> None:
    assert spot("limit_replay_partial2") == spot("limit_partial2")


def test_new_event_has_no_trade() -> None:
    parsed = spot("limit_new")
    assert len(parsed.items) == 1 and parsed.skipped is None


def test_ioc_expired() -> None:
    (order,) = spot("limit_ioc_expired").items
    assert order.status is OrderStatus.EXPIRED and order.filled == 0


@pytest.mark.parametrize(
    ("raw", "z", "expected"),
    [
        ("PENDING_NEW", "0", OrderStatus.NEW),
        ("PENDING_CANCEL", "0", OrderStatus.NEW),
        ("PENDING_CANCEL", "0.4", OrderStatus.PARTIALLY_FILLED),
        ("EXPIRED_IN_MATCH", "0.4", OrderStatus.EXPIRED),
        ("REJECTED", "0", OrderStatus.REJECTED),
    ],
)
def test_spot_status_mapping(raw: str, z: str, expected: OrderStatus) -> None:
    event = copy.deepcopy(SPOT["limit_new"])
    event.update(X=raw, z=z)
    (order,) = parse_binance_spot(event, ETHBTC).items
    assert order.status is expected


def test_trade_cost_falls_back_to_price_times_qty_without_Y() -> None:
    event = copy.deepcopy(SPOT["limit_partial1"])
    del event["Y"]
    trade = trades(parse_binance_spot(event, ETHBTC))[0]
    assert trade.cost == D("0.4") * D("0.10264410")


def test_foreign_symbol_keeps_venue_id() -> None:
    (order,) = spot("limit_new", BTCUSDT).items
    assert order.symbol == "ETHBTC"


@pytest.mark.parametrize(
    "name",
    [
        "list_status_envelope",
        "event_stream_terminated_envelope",
        "listen_key_expired",
        "faq32_account_position",
        "balance_update",
    ],
)
def test_spot_non_order_events_are_skipped(name: str) -> None:
    parsed = spot(name)
    assert parsed.items == () and parsed.skipped


# --- Binance spot REST ----------------------------------------------------------------


def test_rest_ack_links_ids_only() -> None:
    (order,) = spot("rest_ack", BTCUSDT).items
    assert order == OrderEvidence(
        symbol="BTC/USDT", order_id="28", client_id="6gCrw2kRUAF9CvJDGP16IP", status=None, timestamp=1507725176595
    )


def test_rest_result_and_full() -> None:
    (order,) = spot("rest_result", BTCUSDT).items
    assert (order.status, order.side, order.amount, order.filled, order.cost, order.price) == (
        OrderStatus.FILLED,
        Side.SELL,
        D(10),
        D(10),
        D(10),
        None,
    )
    full = spot("rest_full", BTCUSDT)
    assert [t.trade_id for t in trades(full)] == ["56", "57", "58", "59", "60"]
    assert sum(t.amount for t in trades(full)) == 10
    assert trades(full)[1].fees == (("USDT", D("19.995")),)
    assert trades(full)[1].cost == D(5) * D(3999)
    assert orders(full) == [order]


def test_rest_delete_uses_orig_client_order_id() -> None:
    (order,) = spot("rest_delete", LTCBTC).items
    assert order.client_id == "myOrder1"
    assert order.status is OrderStatus.CANCELED and order.filled == 0 and order.symbol == "LTC/BTC"


def test_rest_query_rows_and_lists() -> None:
    (single,) = spot("rest_get_order", LTCBTC).items
    assert single.status is OrderStatus.NEW and single.fees is None and single.timestamp == 1499827319559
    assert spot("rest_open_orders", LTCBTC).items == (single,)
    assert spot("rest_all_orders", LTCBTC).items == (single,)
    assert spot("rest_open_orders_empty") == Parsed((), "empty list")


def test_rest_my_trades() -> None:
    (trade,) = spot("rest_my_trades", Instrument.from_symbol("BNB/BTC")).items
    assert trade == TradeEvidence(
        symbol="BNB/BTC",
        order_id="100234",
        client_id=None,
        trade_id="28457",
        side=Side.BUY,
        amount=D(12),
        price=D("4.000001"),
        cost=D("48.000012"),
        fees=(("BNB", D("10.1")),),
        timestamp=1499865549590,
    )


def test_rest_amend_response() -> None:
    (order,) = spot("rest_amend", BTCUSDT).items
    assert order.order_id == "33" and order.client_id == "5xrgbMyg6z36NzBn2pbT8H"
    assert (order.amount, order.price, order.filled, order.cost) == (D(5), D(6), D(0), D(0))


def test_rest_negative_cumulative_quote_means_unknown() -> None:
    row = copy.deepcopy(SPOT["rest_get_order"])
    row["cummulativeQuoteQty"] = "-1.00000000"
    (order,) = parse_binance_spot(row, LTCBTC).items
    assert order.cost is None


def test_rest_error_answer_raises_with_message() -> None:
    with pytest.raises(InputError, match=r"-2011.*Unknown order sent"):
        spot("error_unknown_order")


# --- corpus §5 (4): USDⓈ-M n/N absent on NEW/CANCELED; BNB commission ------------------


def test_usdm_cancel_and_expiry_without_commission_fields() -> None:
    assert "n" not in USDM["limit_cancel_after_partial1"]["o"]
    new = copy.deepcopy(USDM["limit_new"])
    del new["o"]["n"], new["o"]["N"]
    (fresh,) = parse_binance_usdm(new, BTC_PERP).items
    assert fresh.status is OrderStatus.NEW and fresh.filled == 0
    (order,) = usdm("limit_cancel_after_partial1").items
    assert order.status is OrderStatus.CANCELED and order.filled == D("0.001")
    assert order.cost == D("7.1") and order.fees is None and order.event_id is None
    (expired,) = usdm("limit_gtx_expired").items
    assert expired.status is OrderStatus.EXPIRED and expired.filled == 0 and expired.cost == 0


def test_usdm_bnb_commission_stays_bnb() -> None:
    trade, order = usdm("limit_partial1_bnb_commission").items
    assert isinstance(trade, TradeEvidence)
    assert trade.fees == (("BNB", D("0.00000412")),)
    assert order.fees is None


def test_usdm_trade_without_commission_fields_has_no_fee() -> None:
    msg = copy.deepcopy(USDM["limit_partial1"])
    del msg["o"]["n"], msg["o"]["N"]
    trade = trades(parse_binance_usdm(msg, BTC_PERP))[0]
    assert trade.fees == ()


def test_usdm_lifecycle() -> None:
    names = ["limit_new", "limit_partial1", "limit_partial2", "limit_filled"]
    parsed = [usdm(n) for n in names]
    assert len(parsed[0].items) == 1  # t == 0: no trade
    assert [t.trade_id for p in parsed for t in trades(p)] == ["12345678", "12345679", "12345680"]
    final = orders(parsed[-1])[0]
    assert final.status is OrderStatus.FILLED and final.filled == D("0.003")
    assert final.cost == D(7100) * D("0.003")  # ap × z
    assert final.symbol == "BTC/USDT:USDT" and final.timestamp == 1568879468650
    first = trades(parsed[1])[0]
    assert (first.amount, first.price, first.fees, first.side) == (
        D("0.001"),
        D(7100),
        (("USDT", D("0.00142")),),
        Side.SELL,
    )
    assert usdm("limit_replay_partial2") == usdm("limit_partial2")


def test_usdm_trade_lite_has_unknown_fee() -> None:
    (trade,) = usdm("trade_lite").items
    assert isinstance(trade, TradeEvidence)
    assert trade.fees is None
    assert (trade.trade_id, trade.order_id, trade.client_id) == ("109100866", "8886774", "z8hcUoOsqEdKMeKPSABslD")
    assert trade.cost == D("0.040") * D("64089.20")


@pytest.mark.parametrize("name", ["account_update", "listen_key_expired"])
def test_usdm_non_order_events_are_skipped(name: str) -> None:
    parsed = usdm(name)
    assert parsed.items == () and parsed.skipped


def test_usdm_rest_rows() -> None:
    (order,) = usdm("rest_order").items
    assert (order.order_id, order.client_id, order.status, order.amount, order.filled, order.cost) == (
        "1917641",
        "abc",
        OrderStatus.NEW,
        D("0.4"),
        D(0),
        D(0),
    )
    assert usdm("rest_all_orders").items == (order,)
    row = copy.deepcopy(USDM["rest_order"])
    row.update(status="PARTIALLY_FILLED", executedQty="0.1", avgPrice="9000")
    del row["cumQuote"]
    (partial,) = parse_binance_usdm(row, BTC_PERP).items
    assert partial.cost == D(900) and partial.status is OrderStatus.PARTIALLY_FILLED


def test_usdm_user_trades_keep_commission_sign() -> None:
    (trade,) = usdm("rest_user_trades").items
    assert trade.fees == (("USDT", D("-0.0781901")),)
    assert trade.side is Side.SELL and trade.trade_id == "698759" and trade.cost == D("15.63802")


def test_auto_format_matches_explicit_format() -> None:
    for name in SPOT:
        if name == "error_unknown_order":
            continue
        assert parse_message(SPOT[name], "auto", ETHBTC) == parse_message(SPOT[name], "binance-spot", ETHBTC)
    for name in USDM:
        if name != "listen_key_expired":  # same skip either way, reasons name the market
            assert parse_message(USDM[name], "auto", BTC_PERP) == parse_message(USDM[name], "binance-usdm", BTC_PERP)
