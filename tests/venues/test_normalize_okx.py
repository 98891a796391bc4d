"""OKX v5 parser against our fixtures (modeled on the corpus formats); corpus README §5."""

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
from gridledger.venues import parse_message, parse_okx

FIXTURES = Path(__file__).parent.parent / "fixtures" / "venues"
OKX = json.loads((FIXTURES / "okx.json").read_text(), parse_float=Decimal)

D = Decimal
BTCUSDT = Instrument.from_symbol("BTC/USDT")
LTCUSDT = Instrument.from_symbol("LTC/USDT")
BTC_SWAP = Instrument.from_symbol("BTC/USDT:USDT", contract_size=D("0.01"))


def okx(name: str, instrument: Instrument = BTCUSDT, source: str = "") -> Parsed:
    return parse_okx(copy.deepcopy(OKX[name]), instrument, source)


def orders(parsed: Parsed) -> list[OrderEvidence]:
    return [i for i in parsed.items if isinstance(i, OrderEvidence)]


def trades(parsed: Parsed) -> list[TradeEvidence]:
    return [i for i in parsed.items if isinstance(i, TradeEvidence)]


def test_orders_push_single_fill() -> None:
    trade, order = okx("orders_push_filled_single", source="okx-ws").items
    assert isinstance(trade, TradeEvidence) and isinstance(order, OrderEvidence)
    assert trade == TradeEvidence(
        symbol="BTC/USDT",
        order_id="452197707845865472",
        client_id=None,  # clOrdId ""
        trade_id="242589207",
        side=Side.SELL,
        amount=D("0.001"),
        price=D("31527.1"),
        cost=D("31.5271"),
        fees=(("USDT", D("0.02522168")),),  # OKX -0.02522168 = charged
        timestamp=1654084353263,
        source="okx-ws",
    )
    assert order.status is OrderStatus.FILLED
    assert (order.amount, order.filled, order.cost, order.price) == (D("0.001"), D("0.001"), D("31.5271"), D("31527.1"))
    assert order.fees == (("USDT", D("0.02522168")),) and order.timestamp == 1654084353264


# --- corpus §5 (5): state-only "filled" with fillSz 0 ---------------------------------


def test_state_only_filled_push_adds_no_trade() -> None:
    parsed = okx("limit_state_only_filled")
    (order,) = parsed.items
    assert isinstance(order, OrderEvidence)
    assert order.status is OrderStatus.FILLED and order.filled == D("0.003")
    names = ["limit_live", "limit_partial1", "limit_partial2", "limit_filled", "limit_state_only_filled"]
    all_trades = [t for n in names for t in trades(okx(n))]
    assert [t.trade_id for t in all_trades] == ["242589207", "242589208", "242589209"]
    assert sum(t.amount for t in all_trades) == order.filled
    # cumulative fee = sum of per-fill fees
    assert order.fees == (("USDT", sum(t.fees[0][1] for t in all_trades)),)


def test_replay_and_cancel_branch() -> None:
    assert okx("limit_replay_partial2") == okx("limit_partial2")
    (order,) = okx("limit_cancel_after_partial1").items
    assert order.status is OrderStatus.CANCELED and order.filled == D("0.001")


# --- corpus §5 (6): quote-sized spot market order --------------------------------------


def test_quote_sized_spot_order_has_unknown_amount_and_base_fill() -> None:
    row = OKX["rest_order_quote_sized"]["data"][0]
    assert row["tgtCcy"] == "quote_ccy" and row["sz"] == "100"
    (order,) = okx("rest_order_quote_sized").items  # REST row: no trade from fillSz/tradeId
    assert isinstance(order, OrderEvidence)
    assert order.amount is None
    assert order.filled == D("0.00192834")
    assert order.cost == D(51858) * D("0.00192834")
    assert order.status is OrderStatus.FILLED and order.price is None
    assert okx("rest_orders_history").items == (order,)


# --- corpus §5 (7): contracts × ctVal ---------------------------------------------------


def test_swap_contracts_are_converted_to_base() -> None:
    trade, order = okx("swap_partial", BTC_SWAP).items
    assert isinstance(trade, TradeEvidence) and isinstance(order, OrderEvidence)
    assert order.symbol == trade.symbol == "BTC/USDT:USDT"
    assert order.amount == D("0.05")  # sz 5 contracts
    assert order.filled == D("0.03")  # accFillSz 3
    assert order.cost == D("31527.1") * D("0.03")
    assert trade.amount == D("0.02")  # fillSz 2
    assert trade.cost == D("31527.1") * D("0.02")
    assert trade.fees == (("USDT", D("0.00630542")),) and trade.client_id == "gl1swap"


def test_fills_channel_contracts_and_unknown_fee() -> None:
    (trade,) = okx("fills_push_swap", BTC_SWAP).items
    assert isinstance(trade, TradeEvidence)
    assert trade.amount == D(1)  # 100 contracts × 0.01
    assert trade.fees is None and trade.timestamp == 1705449605015 and trade.client_id == "1234567890"


def test_spot_quantities_are_not_multiplied() -> None:
    # The instrument's contract size only applies to rows that count contracts.
    (order,) = okx("limit_live", Instrument.from_symbol("BTC/USDT", contract_size=D("0.01"))).items
    assert order.amount == D("0.003")


# --- corpus §5 (8): fees in the base asset ------------------------------------------------


def test_spot_buy_fee_in_base_asset() -> None:
    trade, order = okx("ltc_buy_base_fee", LTCUSDT).items
    assert trade.fees == (("LTC", D("0.0005")),)
    assert order.fees == (("LTC", D("0.0005")),)
    assert trade.symbol == "LTC/USDT" and trade.side is Side.BUY
    (fill,) = okx("rest_fills").items
    assert fill.fees == (("BTC", D("0.00000192834")),)


def test_positive_okx_fee_is_a_rebate() -> None:
    trade, order = okx("partial1_maker_rebate").items
    assert trade.fees == (("USDT", D("-0.00630542")),)
    assert order.fees == (("USDT", D("-0.00630542")),)


def test_rest_fills_row() -> None:
    (trade,) = okx("rest_fills").items
    assert isinstance(trade, TradeEvidence)
    assert (trade.trade_id, trade.order_id, trade.amount, trade.price, trade.timestamp) == (
        "744876980",
        "680800019749904384",
        D("0.00192834"),
        D(51858),
        1708587373361,
    )


def test_rest_orders_pending() -> None:
    (order,) = okx("rest_orders_pending").items
    assert order.status is OrderStatus.NEW and order.filled == 0 and order.cost == 0 and order.fees == ()


def test_place_and_cancel_acks_link_ids() -> None:
    (place,) = okx("rest_place_ack", BTC_SWAP).items
    assert place == OrderEvidence(
        symbol="BTC/USDT:USDT",
        order_id="312269865356374016",
        client_id="oktswap6",
        status=None,
        timestamp=1695190491421,
    )
    (cancel,) = okx("rest_cancel_ack").items
    assert cancel.status is None and cancel.order_id == "12345689"


def test_failed_ack_row_is_skipped_with_message() -> None:
    msg = copy.deepcopy(OKX["place_failed"])
    msg["code"] = "0"  # a batch answer whose only row failed
    parsed = parse_okx(msg, BTCUSDT)
    assert parsed.items == () and "Insufficient USDT balance" in (parsed.skipped or "")


@pytest.mark.parametrize(
    ("name", "text"), [("error_envelope", "Parameter sz error"), ("place_failed", "51008"), ("error_event", "60012")]
)
def test_error_envelopes_raise(name: str, text: str) -> None:
    with pytest.raises(InputError, match=text):
        okx(name)


@pytest.mark.parametrize("name", ["subscribe_event", "login_event", "notice_event", "positions_push"])
def test_non_order_messages_are_skipped(name: str) -> None:
    parsed = okx(name)
    assert parsed.items == () and parsed.skipped


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("live", OrderStatus.NEW),
        ("partially_filled", OrderStatus.PARTIALLY_FILLED),
        ("filled", OrderStatus.FILLED),
        ("canceled", OrderStatus.CANCELED),
        ("mmp_canceled", OrderStatus.CANCELED),
    ],
)
def test_state_mapping(state: str, expected: OrderStatus) -> None:
    msg = copy.deepcopy(OKX["limit_live"])
    msg["data"][0]["state"] = state
    assert orders(parse_okx(msg, BTCUSDT))[0].status is expected


def test_unknown_state_names_the_field() -> None:
    msg = copy.deepcopy(OKX["limit_live"])
    msg["data"][0]["state"] = "FOO"
    with pytest.raises(InputError, match=r"unknown order status 'FOO' in okx order field state"):
        parse_okx(msg, BTCUSDT)


def test_bare_rows_from_ccxt_info() -> None:
    push_row = copy.deepcopy(OKX["limit_partial1"]["data"][0])
    assert parse_okx(push_row, BTCUSDT) == okx("limit_partial1")  # push rows carry fillFee
    rest_row = copy.deepcopy(OKX["rest_orders_history"]["data"][0])
    assert parse_okx(rest_row, BTCUSDT) == okx("rest_orders_history")  # no trade from REST fillSz
    fill_row = copy.deepcopy(OKX["rest_fills"]["data"][0])
    assert parse_okx(fill_row, BTCUSDT) == okx("rest_fills")


def test_auto_format_matches_explicit_format() -> None:
    for name, payload in OKX.items():
        try:
            expected = parse_okx(payload, BTC_SWAP)
        except InputError:
            with pytest.raises(InputError):
                parse_message(payload, "auto", BTC_SWAP)
            continue
        assert parse_message(payload, "auto", BTC_SWAP) == expected, name
