"""What an exchange error proves about an order (the executor's verdicts)."""

import ccxt
import pytest

from gridledger.engine.executor import Verdict, classify


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (ccxt.OrderImmediatelyFillable("binance Order would immediately match and take."), Verdict.POST_ONLY),
        (ccxt.InsufficientFunds("binance Account has insufficient balance"), Verdict.REJECTED),
        (ccxt.InvalidOrder("binance Filter failure: LOT_SIZE"), Verdict.REJECTED),
        (ccxt.DuplicateOrderId("duplicate"), Verdict.DUPLICATE),
        (ccxt.InvalidOrder('binance {"code":-2010,"msg":"Duplicate order sent."}'), Verdict.DUPLICATE),
        (ccxt.OrderNotFound("binance Unknown order sent."), Verdict.NOT_FOUND),
        (ccxt.RequestTimeout("timeout"), Verdict.UNKNOWN),
        (ccxt.NetworkError("reset"), Verdict.UNKNOWN),
        (ccxt.ExchangeNotAvailable("502"), Verdict.UNKNOWN),
        (ccxt.ExchangeError("binance 5xx unknown status"), Verdict.UNKNOWN),
        (ccxt.BadRequest("binance Filter failure: NOTIONAL"), Verdict.UNKNOWN),
        (ccxt.AuthenticationError("binance -1022"), Verdict.FATAL),
        (ccxt.BadSymbol("no such market"), Verdict.FATAL),
    ],
)
def test_only_answers_that_prove_an_order_does_not_exist_are_rejections(error, verdict):
    assert classify(error) is verdict
