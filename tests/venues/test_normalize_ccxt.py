"""ccxt unified structures, and cross-checks against ccxt's own offline parsers.

ccxt 4.5.90 parses raw venue payloads without network access once markets are injected
with ``exchange.set_markets([...])``, so the cross-checks below run ccxt for real.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import ccxt
import ccxt.pro
import pytest

from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import InputError
from gridledger.domain.types import OrderStatus, Side
from gridledger.ledger.evidence import OrderEvidence, Parsed, TradeEvidence
from gridledger.venues import (
    parse_binance_spot,
    parse_binance_usdm,
    parse_bybit,
    parse_ccxt_order,
    parse_ccxt_trade,
    parse_message,
    parse_okx,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "venues"


def load(venue: str) -> dict:
    return json.loads((FIXTURES / f"{venue}.json").read_text(), parse_float=Decimal)


CCXT = load("ccxt")
SPOT = load("binance_spot")
USDM = load("binance_usdm")
OKX = load("okx")
BYBIT = load("bybit")

D = Decimal
LTCBNB = Instrument.from_symbol("LTC/BNB")
ETHBTC = Instrument.from_symbol("ETH/BTC")
BTCUSDT = Instrument.from_symbol("BTC/USDT")
BTC_PERP = Instrument.from_symbol("BTC/USDT:USDT")
BTC_SWAP = Instrument.from_symbol("BTC/USDT:USDT", contract_size=D("0.01"))


def ccxt_order(name: str, instrument: Instrument = BTCUSDT) -> OrderEvidence:
    (item,) = parse_ccxt_order(copy.deepcopy(CCXT[name]), instrument).items
    assert isinstance(item, OrderEvidence)
    return item


def only(parsed: Parsed) -> Any:
    (item,) = parsed.items
    return item


# --- unified order status rules ---------------------------------------------------------


def test_open_orders() -> None:
    assert ccxt_order("order_open_new", ETHBTC).status is OrderStatus.NEW
    partial = ccxt_order("order_open_partial", ETHBTC)
    assert partial.status is OrderStatus.PARTIALLY_FILLED
    assert partial.cost == D("0.1026441") * D("0.4")  # cost None → average × filled
    full = copy.deepcopy(CCXT["order_open_partial"])
    full["filled"] = "1"
    assert only(parse_ccxt_order(full, ETHBTC)).status is OrderStatus.FILLED


def test_closed_short_of_amount_is_canceled() -> None:
    order = ccxt_order("order_closed_short", Instrument.from_symbol("LTC/BTC"))
    assert order.status is OrderStatus.CANCELED and order.filled == D("0.25")
    no_amount = copy.deepcopy(CCXT["order_closed_short"])
    no_amount["amount"] = None
    assert only(parse_ccxt_order(no_amount, BTCUSDT)).status is OrderStatus.FILLED


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("canceled", OrderStatus.CANCELED),
        ("cancelled", OrderStatus.CANCELED),
        ("expired", OrderStatus.EXPIRED),
        ("rejected", OrderStatus.REJECTED),
        (None, None),
    ],
)
def test_status_table(raw: str | None, expected: OrderStatus | None) -> None:
    order = copy.deepcopy(CCXT["order_open_new"])
    order["status"] = raw
    assert only(parse_ccxt_order(order, ETHBTC)).status is expected


def test_unknown_status_raises() -> None:
    order = copy.deepcopy(CCXT["order_open_new"])
    order["status"] = "pending"
    with pytest.raises(InputError, match="unknown order status 'pending' in ccxt order field status"):
        parse_ccxt_order(order, ETHBTC)


def test_ack_links_ids_only() -> None:
    ack = ccxt_order("order_ack_status_none")
    assert ack == OrderEvidence(symbol="BTC/USDT", order_id="312269865356374016", client_id="oktswap6", status=None)


def test_binance_rest_expired_order_with_float_numbers() -> None:
    order = ccxt_order("order_binance_expired", LTCBNB)
    assert order.status is OrderStatus.EXPIRED
    assert (order.amount, order.filled, order.cost) == (D(6), D(4), D(4))
    assert order.fees == (("BNB", D("0.002")),)
    assert order.timestamp == 1719467634105


def test_contract_amounts_are_multiplied() -> None:
    order = ccxt_order("order_okx_swap_open", BTC_SWAP)
    assert (order.amount, order.filled, order.cost) == (D("0.05"), D("0.03"), D(1500))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.symbol == "BTC/USDT:USDT"


def test_quote_sized_okx_order_via_ccxt_matches_native() -> None:
    via_ccxt = ccxt_order("order_okx_quote_sized")
    native = only(parse_okx(copy.deepcopy(OKX["rest_order_quote_sized"]), BTCUSDT))
    assert via_ccxt.amount is None and native.amount is None
    assert (via_ccxt.status, via_ccxt.filled, via_ccxt.cost, via_ccxt.fees) == (
        native.status,
        native.filled,
        native.cost,
        native.fees,
    )


def test_bybit_partially_filled_canceled_via_ccxt() -> None:
    order = ccxt_order("order_bybit_partially_filled_canceled")
    assert order.status is OrderStatus.CANCELED  # ccxt says "closed" (corpus §4, §5.11)
    assert order.fees == (("BTC", D("0.000004")),)  # fee.cost string, base asset


def test_binance_stream_order_fee_is_not_cumulative() -> None:
    assert ccxt_order("order_binance_ws_partial", LTCBNB).fees is None


def test_fee_variants() -> None:
    order = copy.deepcopy(CCXT["order_open_new"])
    order["fees"] = [
        {"cost": "0.1", "currency": "BNB"},
        {"cost": "0.2", "currency": "BNB"},
        {"cost": None, "currency": "X"},
    ]
    order["fee"] = {"cost": "9", "currency": "USDT"}
    assert only(parse_ccxt_order(order, ETHBTC)).fees == (("BNB", D("0.3")),)  # fees list wins
    order["fees"] = []
    assert only(parse_ccxt_order(order, ETHBTC)).fees == (("USDT", D(9)),)
    order["fee"] = {"cost": None, "currency": None}
    assert only(parse_ccxt_order(order, ETHBTC)).fees is None
    order["fee"] = {"cost": "0", "currency": None}
    assert only(parse_ccxt_order(order, ETHBTC)).fees == ()
    order["fee"] = {"cost": "1", "currency": None}
    with pytest.raises(InputError, match="currency"):
        parse_ccxt_order(order, ETHBTC)


def test_trades() -> None:
    trade = only(parse_ccxt_trade(copy.deepcopy(CCXT["trade_binance"]), LTCBNB, source="ccxt"))
    assert trade == TradeEvidence(
        symbol="LTC/BNB",
        order_id="32",
        client_id="8LGC97RRgNPVQk979VIhjt",  # ccxt trades have none; taken from info.c
        trade_id="8",
        side=Side.BUY,
        amount=D(2),
        price=D(1),
        cost=D(2),
        fees=(("BNB", D("0.001")),),
        timestamp=1719467634105,
        source="ccxt",
    )
    rebate = only(parse_ccxt_trade(copy.deepcopy(CCXT["trade_okx_swap_maker_rebate"]), BTC_SWAP))
    assert rebate.amount == D("0.02") and rebate.fees == (("USDT", D("-0.00630542")),)
    assert rebate.client_id == "gl1swap"
    no_fee = only(parse_ccxt_trade(copy.deepcopy(CCXT["trade_no_fee"]), BTC_PERP))
    assert no_fee.fees is None and no_fee.cost == D(3000) * D("12.015")


def test_funding_trade_is_skipped_on_the_unified_path() -> None:
    """corpus §5 (10): ccxt parses Bybit Funding rows as trades."""
    parsed = parse_ccxt_trade(copy.deepcopy(CCXT["trade_bybit_funding"]), BTC_PERP)
    assert parsed.items == () and "Funding" in (parsed.skipped or "")


def test_wrappers_and_lists() -> None:
    assert parse_message(CCXT["wrapper_order"], "ccxt", LTCBNB) == parse_ccxt_order(
        CCXT["order_binance_expired"], LTCBNB
    )
    assert parse_message(CCXT["wrapper_trade"], "auto", LTCBNB) == parse_ccxt_trade(CCXT["trade_binance"], LTCBNB)
    listed = parse_message(CCXT["open_orders_list"], "auto", ETHBTC)
    assert [o.order_id for o in listed.items] == ["4293153", "4"]
    with pytest.raises(InputError, match="kind"):
        parse_message({"kind": "position", "position": {}}, "ccxt", ETHBTC)


def test_auto_detects_every_ccxt_fixture() -> None:
    for name, payload in CCXT.items():
        assert parse_message(payload, "auto", BTCUSDT) == parse_message(payload, "ccxt", BTCUSDT), name


# --- cross-checks against ccxt's own parsers (offline) --------------------------------------


def _market(
    market_id: str, symbol: str, *, kind: str = "spot", contract_size: str | None = None, settle: str | None = None
) -> dict[str, Any]:
    base, _, rest = symbol.partition("/")
    quote = rest.partition(":")[0]
    contract = kind != "spot"
    return {
        "id": market_id,
        "symbol": symbol,
        "base": base,
        "quote": quote,
        "baseId": base,
        "quoteId": quote,
        "settle": settle,
        "settleId": settle,
        "type": kind,
        "spot": not contract,
        "margin": False,
        "swap": kind == "swap",
        "future": False,
        "option": False,
        "contract": contract,
        "linear": True if contract else None,
        "inverse": False if contract else None,
        "contractSize": contract_size,
        "active": True,
        "precision": {"amount": "0.00000001", "price": "0.00000001"},
        "limits": {},
        "info": {},
    }


def _plain(value: Any) -> Any:
    """Corpus-style payload with strings/ints only (what ccxt receives from json.loads)."""
    return json.loads(json.dumps(value, default=str))


def _ccxt_status(status: str | None, filled: str, amount: str | None) -> OrderStatus | None:
    # The status our parser derives from ccxt's unified fields.
    return only(
        parse_ccxt_order(
            {"id": "1", "symbol": "BTC/USDT", "status": status, "filled": filled, "amount": amount}, BTCUSDT
        )
    ).status


def test_cross_check_binance_rest_order_with_ccxt() -> None:
    exchange = ccxt.binance()
    exchange.number = str
    exchange.set_markets([_market("LTCBNB", "LTC/BNB"), _market("BTCUSDT", "BTC/USDT"), _market("LTCBTC", "LTC/BTC")])
    for name, instrument in [
        ("faq32_rest_full", LTCBNB),
        ("rest_full", BTCUSDT),
        ("rest_delete", Instrument.from_symbol("LTC/BTC")),
        ("rest_get_order", Instrument.from_symbol("LTC/BTC")),
    ]:
        raw = _plain(SPOT[name])
        theirs = exchange.parse_order(raw, exchange.market(instrument.symbol))
        ours = next(
            i for i in parse_binance_spot(copy.deepcopy(SPOT[name]), instrument).items if isinstance(i, OrderEvidence)
        )
        assert ours.status is _ccxt_status(theirs["status"], theirs["filled"], theirs["amount"]), name
        assert ours.filled == D(theirs["filled"]), name
        assert ours.cost == D(theirs["cost"]), name
        assert ours.order_id == theirs["id"], name
        if name == "rest_delete":
            # ccxt reports the cancel request's id; the order's own id is origClientOrderId
            assert (theirs["clientOrderId"], ours.client_id) == ("cancelMyOrder1", "myOrder1")
        else:
            assert ours.client_id == theirs["clientOrderId"], name
        # and our unified path over ccxt's output agrees with our native path
        via_ccxt = only(parse_ccxt_order(theirs, instrument))
        assert (via_ccxt.status, via_ccxt.filled, via_ccxt.cost, via_ccxt.amount, via_ccxt.client_id) == (
            ours.status,
            ours.filled,
            ours.cost,
            ours.amount,
            ours.client_id,
        ), name
        ccxt_trade_ids = [t["id"] for t in theirs["trades"]]
        our_trade_ids = [
            i.trade_id
            for i in parse_binance_spot(copy.deepcopy(SPOT[name]), instrument).items
            if isinstance(i, TradeEvidence)
        ]
        assert our_trade_ids == ccxt_trade_ids, name


def test_cross_check_binance_execution_reports_with_ccxt_pro() -> None:
    exchange = ccxt.pro.binance()
    exchange.number = str
    exchange.set_markets([_market("LTCBNB", "LTC/BNB")])
    for name in ["faq32_new", "faq32_trade7", "faq32_trade8", "faq32_expired"]:
        raw = _plain(SPOT[name])
        theirs = exchange.parse_ws_order(raw)
        parsed = parse_binance_spot(copy.deepcopy(SPOT[name]), LTCBNB)
        ours = next(i for i in parsed.items if isinstance(i, OrderEvidence))
        assert ours.status is _ccxt_status(theirs["status"], theirs["filled"], theirs["amount"]), name
        assert ours.filled == D(theirs["filled"]) and ours.cost == D(theirs["cost"]), name
        if raw["x"] == "TRADE":
            their_trade = exchange.parse_ws_trade(raw)
            ours_trade = next(i for i in parsed.items if isinstance(i, TradeEvidence))
            assert ours_trade.trade_id == their_trade["id"]
            assert ours_trade.amount == D(their_trade["amount"]) and ours_trade.price == D(their_trade["price"])
            assert ours_trade.fees == ((their_trade["fee"]["currency"], D(their_trade["fee"]["cost"])),)
            # the unified path over ccxt's trade gives the same trade
            assert parse_ccxt_trade(their_trade, LTCBNB).items == (ours_trade,)


def test_cross_check_binance_usdm_order_updates_with_ccxt_pro() -> None:
    """ccxt.pro keeps USDⓈ-M ``o`` (not the whole event) as ``info``; its ``fee`` is the
    last trade's commission, so our unified path drops it like the native parser does."""
    exchange = ccxt.pro.binanceusdm()
    exchange.number = str
    exchange.set_markets([_market("BTCUSDT", "BTC/USDT:USDT", kind="swap", contract_size="1", settle="USDT")])
    for name in ["limit_new", "limit_partial1", "limit_partial2", "limit_filled", "limit_cancel_after_partial1"]:
        raw = _plain(USDM[name])
        theirs = exchange.parse_ws_order(raw["o"])
        parsed = parse_binance_usdm(copy.deepcopy(USDM[name]), BTC_PERP)
        ours = next(i for i in parsed.items if isinstance(i, OrderEvidence))
        assert ours.status is _ccxt_status(theirs["status"], theirs["filled"], theirs["amount"]), name
        assert ours.filled == D(theirs["filled"]) and ours.amount == D(theirs["amount"]), name
        via_ccxt = only(parse_ccxt_order(theirs, BTC_PERP))
        assert (via_ccxt.status, via_ccxt.filled, via_ccxt.fees, via_ccxt.client_id) == (
            ours.status,
            ours.filled,
            None,
            ours.client_id,
        ), name
        if raw["o"]["x"] == "TRADE":
            their_trade = exchange.parse_ws_trade(raw["o"])
            ours_trade = next(i for i in parsed.items if isinstance(i, TradeEvidence))
            assert parse_ccxt_trade(their_trade, BTC_PERP).items == (ours_trade,), name


def _okx() -> Any:
    exchange = ccxt.okx()
    exchange.number = str
    exchange.set_markets(
        [
            _market("BTC-USDT", "BTC/USDT"),
            _market("BTC-USDT-SWAP", "BTC/USDT:USDT", kind="swap", contract_size="0.01", settle="USDT"),
        ]
    )
    return exchange


@pytest.mark.parametrize(
    ("fixture", "instrument"),
    [
        ("limit_live", BTCUSDT),
        ("limit_partial1", BTCUSDT),
        ("limit_filled", BTCUSDT),
        ("limit_cancel_after_partial1", BTCUSDT),
        ("swap_partial", BTC_SWAP),
        ("rest_orders_pending", BTCUSDT),
    ],
)
def test_cross_check_okx_order_with_ccxt(fixture: str, instrument: Instrument) -> None:
    exchange = _okx()
    row = _plain(OKX[fixture]["data"][0])
    theirs = exchange.parse_order(row)
    ours = next(i for i in parse_okx(copy.deepcopy(OKX[fixture]), instrument).items if isinstance(i, OrderEvidence))
    size = instrument.contract_size
    assert ours.status is _ccxt_status(theirs["status"], theirs["filled"], theirs["amount"])
    assert ours.filled == D(theirs["filled"]) * size  # ccxt counts contracts
    assert ours.amount == D(theirs["amount"]) * size
    if theirs["cost"] is not None:
        assert ours.cost == D(theirs["cost"])
    their_fee = theirs["fee"]
    assert ours.fees == (((their_fee["currency"], D(their_fee["cost"])),) if D(their_fee["cost"]) else ())
    via_ccxt = only(parse_ccxt_order(theirs, instrument))
    assert (via_ccxt.status, via_ccxt.filled, via_ccxt.amount, via_ccxt.fees) == (
        ours.status,
        ours.filled,
        ours.amount,
        ours.fees,
    )


def test_cross_check_okx_quote_sized_order_with_ccxt() -> None:
    """ccxt puts the requested quote size (sz = 100) in ``cost``; we report what was
    spent (avgPx × accFillSz). Status and filled agree."""
    exchange = _okx()
    row = _plain(OKX["rest_order_quote_sized"]["data"][0])
    theirs = exchange.parse_order(row)
    ours = only(parse_okx(copy.deepcopy(OKX["rest_order_quote_sized"]), BTCUSDT))
    assert ours.status is _ccxt_status(theirs["status"], theirs["filled"], theirs["amount"]) is OrderStatus.FILLED
    assert ours.filled == D(theirs["filled"])
    assert D(theirs["cost"]) == D(100) and ours.cost == D("99.99985572")
    via_ccxt = only(parse_ccxt_order(theirs, BTCUSDT))
    assert (via_ccxt.status, via_ccxt.amount, via_ccxt.filled, via_ccxt.cost, via_ccxt.fees) == (
        ours.status,
        ours.amount,
        ours.filled,
        ours.cost,
        ours.fees,
    )
    assert via_ccxt.price == D(51858) and ours.price is None  # ccxt shows avgPx as price; px was ""


def _bybit() -> Any:
    exchange = ccxt.bybit()
    exchange.number = str
    exchange.set_markets(
        [
            _market("BTCUSDT", "BTC/USDT"),
            _market("BTCUSDT", "BTC/USDT:USDT", kind="swap", contract_size="1", settle="USDT"),
        ]
    )
    return exchange


@pytest.mark.parametrize(
    ("fixture", "instrument"),
    [
        ("order_partial1", BTC_PERP),
        ("order_filled", BTC_PERP),
        ("order_filled_again_cancel_race", BTC_PERP),
        ("order_cancel_after_partial1", BTC_PERP),
        ("spot_partially_filled_canceled", BTCUSDT),
        ("spot_market_buy_quote_sized", BTCUSDT),
    ],
)
def test_cross_check_bybit_order_with_ccxt(fixture: str, instrument: Instrument) -> None:
    exchange = _bybit()
    row = _plain(BYBIT[fixture]["data"][0])
    theirs = exchange.parse_order(row, exchange.market(instrument.symbol))
    ours = only(parse_bybit(copy.deepcopy(BYBIT[fixture]), instrument))
    assert ours.filled == D(theirs["filled"]) and ours.cost == D(theirs["cost"])
    if row["orderStatus"] == "PartiallyFilledCanceled":
        # ccxt: "closed" with amount == filled → looks FILLED; ours (native and via info) CANCELED
        assert theirs["status"] == "closed" and ours.status is OrderStatus.CANCELED
    else:
        assert ours.status is _ccxt_status(theirs["status"], theirs["filled"], theirs["amount"])
    via_ccxt = only(parse_ccxt_order(theirs, instrument))
    assert (via_ccxt.status, via_ccxt.filled, via_ccxt.cost, via_ccxt.amount) == (
        ours.status,
        ours.filled,
        ours.cost,
        ours.amount,
    )


def test_cross_check_bybit_funding_row_through_ccxt() -> None:
    """corpus §5 (10): ccxt turns a Funding row into a trade; both our paths skip it."""
    exchange = _bybit()
    row = _plain(BYBIT["execution_funding_only"]["data"][0])
    theirs = exchange.parse_trade(row, exchange.market("BTC/USDT:USDT"))
    assert theirs["side"] == "sell" and theirs["amount"] == "0.0044"  # ccxt: an ordinary trade
    assert parse_ccxt_trade(theirs, BTC_PERP).items == ()
    assert parse_bybit(row, BTC_PERP).items == ()
    trade_row = _plain(BYBIT["exec1"]["data"][0])
    their_trade = exchange.parse_trade(trade_row, exchange.market("BTC/USDT:USDT"))
    assert parse_ccxt_trade(their_trade, BTC_PERP).items == parse_bybit(trade_row, BTC_PERP).items
