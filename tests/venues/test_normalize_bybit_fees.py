"""Bybit execution rows with a fee but no ``feeCurrency``: the asset Bybit charges is derived
(corpus README §5 (12)), so a spot buy nets its base fee and is not fees_incomplete
(issue 7 item 7)."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from gridledger.domain.coid import ClientId, encode
from gridledger.domain.grid import GridSpec
from gridledger.domain.instrument import Instrument
from gridledger.domain.types import Role, Side
from gridledger.ledger.evidence import TradeEvidence
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.outcomes import OutcomeKind
from gridledger.venues import parse_message

SPOT = Instrument.from_symbol("BTC/USDT")
LINEAR = Instrument.from_symbol("BTC/USDT:USDT")
INVERSE = Instrument.from_symbol("BTC/USD:BTC")
GRID = GridSpec("byf1", SPOT, D("30000"), D("50"))
CID = encode(ClientId("byf1", -1, Side.BUY, Role.OPEN, 0))


def execution(
    category: str,
    side: str,
    fee: str,
    *,
    qty: str = "0.001",
    price: str = "29950",
    symbol: str = "BTCUSDT",
    **extra: Any,
) -> dict[str, Any]:
    row = {
        "category": category,
        "symbol": symbol,
        "execFee": fee,
        "execId": "e-1",
        "execPrice": price,
        "execQty": qty,
        "execType": "Trade",
        "orderId": "o-1",
        "orderLinkId": CID,
        "side": side,
        "execTime": "1700000000000",
        "isMaker": fee.startswith("-"),
        **extra,
    }
    return {"topic": "execution", "creationTime": 1700000000001, "data": [row]}


def order(status: str, filled: str) -> dict[str, Any]:
    # An order topic row of a spot order: feeCurrency "" and no cumFeeDetail (older payloads).
    row = {
        "category": "spot",
        "symbol": "BTCUSDT",
        "orderId": "o-1",
        "orderLinkId": CID,
        "side": "Buy",
        "orderType": "Limit",
        "price": "29950",
        "qty": "0.001",
        "orderStatus": status,
        "cumExecQty": filled,
        "cumExecValue": str(D(filled) * 29950),
        "cumExecFee": "0.000001",
        "feeCurrency": "",
        "updatedTime": "1700000000002",
    }
    return {"topic": "order", "creationTime": 1700000000003, "data": [row]}


def fees_of(payload: dict[str, Any], instrument: Instrument) -> object:
    (trade,) = parse_message(payload, "bybit", instrument).items
    assert isinstance(trade, TradeEvidence)
    return trade.fees


@pytest.mark.parametrize(
    "side, fee, asset",
    [
        ("Buy", "0.000001", "BTC"),  # charged in the asset received
        ("Sell", "0.03", "USDT"),
        ("Buy", "-0.01", "USDT"),  # a maker rebate is paid in the asset given
        ("Sell", "-0.000001", "BTC"),
    ],
)
def test_spot_fee_asset_follows_the_side_and_the_sign(side: str, fee: str, asset: str) -> None:
    assert fees_of(execution("spot", side, fee), SPOT) == ((asset, D(fee)),)


def test_derivatives_fee_is_in_the_settle_coin() -> None:
    assert fees_of(execution("linear", "Buy", "0.5"), LINEAR) == (("USDT", D("0.5")),)
    assert fees_of(execution("inverse", "Sell", "0.00001", symbol="BTCUSD"), INVERSE) == (("BTC", D("0.00001")),)


def test_a_spot_row_without_side_keeps_the_fee_unknown() -> None:
    msg = execution("spot", "Buy", "0.000001")
    del msg["data"][0]["side"]
    assert fees_of(msg, SPOT) is None
    msg["data"][0]["execFee"] = "0"
    assert fees_of(msg, SPOT) == ()


def test_feecurrency_when_present_wins() -> None:
    assert fees_of(execution("spot", "Buy", "0.03", feeCurrency="USDT"), SPOT) == (("USDT", D("0.03")),)


def test_spot_buy_nets_the_base_fee_and_is_not_fees_incomplete() -> None:
    ledger = Ledger(GRID)
    for payload in (execution("spot", "Buy", "0.000001"), order("Filled", "0.001")):
        outcomes = ledger.apply_all(parse_message(payload, "auto", SPOT).items)
        assert OutcomeKind.REJECTED not in {o.kind for o in outcomes}
    assert ledger.slots[-1].state.qty == D("0.000999")  # was 0.001: the fee was "unknown"
    assert ledger.fees() == {"BTC": D("0.000001")}
    rec = ledger.order(CID)
    assert rec is not None and not rec.fees_incomplete()
