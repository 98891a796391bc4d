"""Binance USDⓈ-M payloads of the simulated perpetual: published keys, exact numbers."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from gridledger.domain.types import OrderStatus, Side
from gridledger.exchange.sim import binance_usdm_format as uf
from gridledger.exchange.sim.perp_values import FundingPayment, PerpMarketSpec
from gridledger.exchange.sim.values import SimOrder, SimTrade

D = Decimal


def order(**kw: object) -> SimOrder:
    base: dict[str, object] = {
        "order_id": 7,
        "client_order_id": "c7",
        "symbol": "BTCUSDT",
        "side": Side.BUY,
        "type": "limit",
        "post_only": True,
        "amount": D("0.03"),
        "price": D("29900.10"),
        "status": OrderStatus.NEW,
        "created_ms": 1,
        "updated_ms": 2,
        "seq": 1,
    }
    base.update(kw)
    return SimOrder(**base)  # type: ignore[arg-type]


def test_order_trade_update_has_the_published_keys_and_no_commission_without_a_trade() -> None:
    msg = uf.order_trade_update(order(), exec_type="NEW", event_ms=5, reduce_only=False)
    assert list(msg) == ["e", "E", "T", "o"]
    o = msg["o"]
    assert "n" not in o and "N" not in o  # "not pushed when no commission"
    assert [k for k in o][:15] == ["s", "c", "S", "o", "f", "q", "p", "ap", "sp", "x", "X", "i", "l", "z", "L"]
    assert (o["f"], o["p"], o["q"], o["t"], o["R"], o["ps"]) == ("GTX", "29900.1", "0.03", 0, False, "BOTH")


def test_a_trade_update_carries_its_fee_and_realized_pnl() -> None:
    trade = SimTrade(3, 7, "c7", "BTCUSDT", Side.SELL, D("30000"), D("0.01"), D("300"), D("-0.03"), "USDT", 9, True)
    o = order(side=Side.SELL, filled=D("0.01"), cost=D("300"), status=OrderStatus.PARTIALLY_FILLED)
    msg = uf.order_trade_update(o, exec_type="TRADE", event_ms=9, reduce_only=True, trade=trade, realized_pnl=D("1.5"))
    assert (msg["o"]["n"], msg["o"]["N"], msg["o"]["rp"], msg["o"]["R"], msg["o"]["ap"]) == (
        "-0.03000000",
        "USDT",
        "1.50000000",
        True,
        "30000",
    )
    lite = uf.trade_lite(o, trade, 9)
    assert set(lite) == {"e", "E", "T", "s", "q", "p", "m", "c", "S", "L", "l", "t", "i"}


def test_average_price_is_exact_when_finite_and_rounded_to_8_places_otherwise() -> None:
    assert uf.average_price(order(filled=D("0.02"), cost=D("599"))) == "29950"
    assert uf.average_price(order(filled=D("0.03"), cost=D("900.01"))) == "30000.33333333"
    assert uf.average_price(order()) == "0"


def test_income_row_keeps_the_payment_id_and_sign() -> None:
    row = uf.income_row("BTCUSDT", "USDT", FundingPayment(42, 28_800_000, D("0.0001"), D("30000"), D("0.1"), D("-0.3")))
    assert row == {
        "symbol": "BTCUSDT",
        "incomeType": "FUNDING_FEE",
        "income": "-0.30000000",
        "asset": "USDT",
        "info": "FUNDING_FEE",
        "time": 28_800_000,
        "tranId": 42,
        "tradeId": "",
    }


def test_position_risk_signs_a_short_and_renders_the_entry() -> None:
    view = uf.PositionView(
        symbol="BTCUSDT",
        amount=D("-0.02"),
        entry=Fraction(D("30100")),
        mark=D("30000"),
        unrealized=Fraction(2),
        liquidation=D("79000.5"),
        isolated_margin=D(0),
        isolated_wallet=D(0),
        initial_margin=Fraction(60),
        position_margin=Fraction(60),
        order_margin=Fraction(0),
        maintenance=D("2.4"),
        leverage=10,
        margin_mode="cross",
        realized_total=Fraction(0),
        bids_notional=D(0),
        asks_notional=D(0),
        update_ms=3,
    )
    row = uf.position_risk_v3(view)
    assert (row["positionAmt"], row["entryPrice"], row["notional"], row["liquidationPrice"]) == (
        "-0.02",
        "30100",
        "-600.00000000",
        "79000.5",
    )


def test_exchange_info_describes_a_perpetual_with_its_filters() -> None:
    info = uf.exchange_info_symbol(PerpMarketSpec())
    assert (info["contractType"], info["marginAsset"], info["pricePrecision"], info["quantityPrecision"]) == (
        "PERPETUAL",
        "USDT",
        2,
        5,
    )
    kinds = [f["filterType"] for f in info["filters"]]
    assert {"PRICE_FILTER", "LOT_SIZE", "MIN_NOTIONAL"} <= set(kinds)
