"""The REST and stream JSON the simulator renders, against Binance's published shapes and
ccxt's own binance parsers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import ccxt
import pytest

from gridledger.exchange.sim import binance_format as bf
from gridledger.exchange.sim import binance_market as bm
from gridledger.exchange.sim.matching import SimCore
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import SimMarketSpec

D = Decimal
T0 = 1_700_000_000_000

# Key orders of the published samples (binance-spot-api-docs rest-api.md).
POST_FULL_KEYS = [
    "symbol",
    "orderId",
    "orderListId",
    "clientOrderId",
    "transactTime",
    "price",
    "origQty",
    "executedQty",
    "origQuoteOrderQty",
    "cummulativeQuoteQty",
    "status",
    "timeInForce",
    "type",
    "side",
    "workingTime",
    "selfTradePreventionMode",
    "fills",
]
FILL_KEYS = ["price", "qty", "commission", "commissionAsset", "tradeId"]
DELETE_KEYS = [
    "symbol",
    "origClientOrderId",
    "orderId",
    "orderListId",
    "clientOrderId",
    "transactTime",
    "price",
    "origQty",
    "executedQty",
    "origQuoteOrderQty",
    "cummulativeQuoteQty",
    "status",
    "timeInForce",
    "type",
    "side",
    "selfTradePreventionMode",
]
GET_KEYS = [
    "symbol",
    "orderId",
    "orderListId",
    "clientOrderId",
    "price",
    "origQty",
    "executedQty",
    "cummulativeQuoteQty",
    "status",
    "timeInForce",
    "type",
    "side",
    "stopPrice",
    "icebergQty",
    "time",
    "updateTime",
    "isWorking",
    "workingTime",
    "origQuoteOrderQty",
    "selfTradePreventionMode",
]
OPEN_KEYS = [
    "symbol",
    "orderId",
    "orderListId",
    "clientOrderId",
    "price",
    "origQty",
    "executedQty",
    "cummulativeQuoteQty",
    "status",
    "timeInForce",
    "type",
    "side",
    "stopPrice",
    "icebergQty",
    "time",
    "updateTime",
    "isWorking",
    "origQuoteOrderQty",
    "workingTime",
    "selfTradePreventionMode",
]
MY_TRADE_KEYS = [
    "symbol",
    "id",
    "orderId",
    "orderListId",
    "price",
    "qty",
    "quoteQty",
    "commission",
    "commissionAsset",
    "time",
    "isBuyer",
    "isMaker",
    "isBestMatch",
]


@pytest.fixture()
def parser() -> Any:
    exchange = ccxt.binance({"enableRateLimit": False})
    exchange.number = str
    exchange.options["crossMarginPairsData"] = []
    exchange.options["isolatedMarginPairsData"] = []
    return exchange


@pytest.fixture()
def core() -> SimCore:
    c = SimCore(SimMarketSpec(), {"USDT": D("10000"), "BTC": D("1")}, T0)
    c.on_tick(Tick(T0, D("30000"), D("1")))
    return c


def _is_8dp(text: str) -> bool:
    whole, _, frac = text.partition(".")
    return len(frac) == 8 and (whole.lstrip("-").isdigit())


def test_fmt8() -> None:
    assert bf.fmt8(D("1")) == "1.00000000"
    assert bf.fmt8(D("0")) == "0.00000000"
    assert bf.fmt8(D("0E-12")) == "0.00000000"
    assert bf.fmt8(D("1E+2")) == "100.00000000"
    assert bf.fmt8(D("0.123456789")) == "0.123456789"  # exact rather than rounded


def test_exchange_info_is_parsed_by_ccxt_into_the_spec(parser: Any) -> None:
    spec = SimMarketSpec(amount_step=D("0.0001"), price_step=D("0.1"), min_amount=D("0.001"), min_notional=D("10"))
    info = bm.exchange_info(spec, T0)
    assert info["serverTime"] == T0 and len(info["symbols"]) == 1
    json.dumps(info)
    market = parser.parse_market(info["symbols"][0])
    assert (market["id"], market["symbol"], market["type"], market["spot"]) == ("BTCUSDT", "BTC/USDT", "spot", True)
    assert D(market["precision"]["amount"]) == D("0.0001") and D(market["precision"]["price"]) == D("0.1")
    assert D(market["limits"]["amount"]["min"]) == D("0.001") and D(market["limits"]["cost"]["min"]) == D("10")
    filters = {f["filterType"] for f in info["symbols"][0]["filters"]}
    assert filters == {"PRICE_FILTER", "LOT_SIZE", "NOTIONAL"}


def test_rest_order_shapes(core: SimCore, parser: Any) -> None:
    parser.set_markets([parser.parse_market(bm.exchange_info_symbol(core.spec))])
    order = core.place("c1", "buy", "limit", D("0.2"), D("30010"), now_ms=T0 + 3)
    full = bf.order_full(order, core.trades_of(order.order_id), T0 + 3)
    assert list(full) == POST_FULL_KEYS and full["fills"] and all(list(f) == FILL_KEYS for f in full["fills"])
    assert (full["status"], full["executedQty"], full["origQty"], full["type"]) == (
        "PARTIALLY_FILLED",
        "0.10000000",
        "0.20000000",
        "LIMIT",
    )
    assert full["fills"][0] == {
        "price": "30000.00000000",
        "qty": "0.10000000",
        "commission": "0.00010000",
        "commissionAsset": "BTC",
        "tradeId": 1,
    }
    canceled = core.cancel("c1", now_ms=T0 + 9, cancel_client_id="x1")
    delete = bf.order_cancel(canceled, T0 + 9)
    assert list(delete) == DELETE_KEYS
    assert (delete["origClientOrderId"], delete["clientOrderId"], delete["status"]) == ("c1", "x1", "CANCELED")
    get = bf.order_query(canceled)
    assert list(get) == GET_KEYS and get["clientOrderId"] == "c1" and get["updateTime"] == T0 + 9
    maker = core.place("c2", "sell", "limit", D("0.01"), D("30500"), post_only=True, now_ms=T0 + 11)
    row = bf.open_order_row(maker)
    assert list(row) == OPEN_KEYS and row["type"] == "LIMIT_MAKER" and row["timeInForce"] == "GTC"
    trade_row = bf.my_trade_row(core.trades[0])
    assert list(trade_row) == MY_TRADE_KEYS
    assert (trade_row["isBuyer"], trade_row["isMaker"], trade_row["quoteQty"]) == (True, False, "3000.00000000")
    for payload in (full, delete, get, row, trade_row):
        json.dumps(payload)
        for key, value in payload.items():
            if key in ("price", "origQty", "executedQty", "cummulativeQuoteQty", "qty", "quoteQty", "commission"):
                assert _is_8dp(value), (key, value)

    parsed = parser.parse_order(full)
    assert (parsed["id"], parsed["clientOrderId"], parsed["status"], parsed["filled"]) == (
        "1",
        "c1",
        "open",
        "0.10000000",
    )
    assert parser.parse_order(delete)["status"] == "canceled"
    assert parser.parse_order(row)["postOnly"] is True
    t = parser.parse_trade(trade_row)
    assert (t["id"], t["order"], t["side"], t["takerOrMaker"], t["fee"]) == (
        "1",
        "1",
        "buy",
        "taker",
        {"cost": "0.00010000", "currency": "BTC"},
    )


def test_account_and_tickers(core: SimCore, parser: Any) -> None:
    parser.set_markets([parser.parse_market(bm.exchange_info_symbol(core.spec))])
    core.place("c1", "buy", "limit", D("0.01"), D("29000"), now_ms=T0)
    acct = bm.account(core.spec, core.balances(), T0)
    assert acct["balances"] == [
        {"asset": "BTC", "free": "1.00000000", "locked": "0.00000000"},
        {"asset": "USDT", "free": "9710.00000000", "locked": "290.00000000"},
    ]
    balance = parser.parse_balance_custom(acct, "spot")
    assert (balance["USDT"]["free"], balance["USDT"]["used"]) == ("9710.00000000", "290.00000000")
    core.on_tick(Tick(T0 + 1000, D("30100"), D("2")))
    stats = core.ticker_stats()
    rest = bm.ticker_24hr(stats)
    assert (rest["openPrice"], rest["highPrice"], rest["lowPrice"], rest["lastPrice"]) == (
        "30000.00000000",
        "30100.00000000",
        "30000.00000000",
        "30100.00000000",
    )
    assert (rest["volume"], rest["count"], rest["priceChangePercent"]) == ("3.00000000", 2, "0.333")
    assert bm.book_ticker(stats) == {
        "symbol": "BTCUSDT",
        "bidPrice": "30099.99000000",
        "bidQty": "2.00000000",
        "askPrice": "30100.01000000",
        "askQty": "2.00000000",
    }
    ticker = parser.parse_ticker(rest)
    assert (ticker["symbol"], ticker["last"], ticker["bid"], ticker["ask"]) == (
        "BTC/USDT",
        "30100.00000000",
        "30099.99000000",
        "30100.01000000",
    )
    ws = bm.ws_ticker_24hr(stats)
    assert ws["e"] == "24hrTicker" and ws["c"] == rest["lastPrice"] and ws["C"] == T0 + 1000


def test_old_prints_leave_the_24h_window(core: SimCore) -> None:
    core.on_tick(Tick(T0 + 3_600_000, D("31000"), D("1")))
    core.on_tick(Tick(T0 + 86_400_000 + 1, D("32000"), D("1")))
    stats = core.ticker_stats()
    assert (stats.open, stats.count, stats.prev_close, stats.first_id) == (D("31000"), 2, D("30000"), 2)


def test_ws_api_envelope() -> None:
    assert bf.ws_api_envelope({"e": "x"}) == {"subscriptionId": 0, "event": {"e": "x"}}
    assert bf.error_body(-2010, "Duplicate order sent.") == {"code": -2010, "msg": "Duplicate order sent."}


def test_rolling_window_matches_a_brute_force_recount() -> None:
    import random

    rng = random.Random(3)
    core = SimCore(SimMarketSpec(), {"USDT": D("1")}, T0)
    history: list[Tick] = []
    ts = T0
    for _ in range(3000):
        ts += rng.choice([1_000, 60_000, 600_000])
        t = Tick(ts, D(rng.randint(29000, 31000)), D(rng.randint(0, 50)) / 10)
        history.append(t)
        core.on_tick(t)
        window = [h for h in history if h.ts_ms > ts - 86_400_000]
        stats = core.ticker_stats()
        assert (stats.high, stats.low, stats.open, stats.count) == (
            max(h.price for h in window),
            min(h.price for h in window),
            window[0].price,
            len(window),
        )
        assert stats.volume == sum((h.volume for h in window), D(0))
        assert stats.quote_volume == sum((h.price * h.volume for h in window), D(0))
