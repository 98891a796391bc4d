"""Binance USDⓈ-M income rows and ACCOUNT_UPDATE (venues/binance_usdm/income.py)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from perp_helpers import SYMBOL, T0, ccxt_income, income_row

from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import InputError
from gridledger.venues.binance_usdm.income import funding_from_ccxt, is_funding_update
from gridledger.venues.binance_usdm.income import income_row as parse_row

INST = Instrument.from_symbol(SYMBOL)


def test_an_income_row_is_a_funding_payment_with_its_tran_id() -> None:
    p = parse_row(income_row(4480321991774044580, "-0.01234567", T0), INST)
    assert p is not None
    assert (p.payment_id, p.symbol, p.asset, p.amount, p.timestamp) == (
        "4480321991774044580",
        SYMBOL,
        "USDT",
        D("-0.01234567"),
        T0,
    )


def test_ccxt_funding_history_entries_are_read_from_their_raw_row() -> None:
    p = funding_from_ccxt(ccxt_income(11, "0.5", T0), INST)
    assert p is not None and p.payment_id == "11" and p.amount == D("0.5")


def test_a_unified_entry_without_a_raw_row_is_read_from_unified_fields() -> None:
    entry = {"id": "x9", "symbol": SYMBOL, "code": "USDT", "amount": "-0.2", "timestamp": T0, "info": {}}
    p = funding_from_ccxt(entry, INST)
    assert p is not None and (p.payment_id, p.amount) == ("x9", D("-0.2"))


def test_other_income_types_are_not_funding() -> None:
    assert parse_row(income_row(1, "-0.3", T0, kind="COMMISSION"), INST) is None


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("tranId", None, "tranId"),
        ("income", "abc", "income"),
        ("income", "NaN", "income"),
        ("time", None, "time"),
        ("symbol", 5, "symbol"),
    ],
)
def test_malformed_rows_name_their_field(field: str, value: object, named: str) -> None:
    row = income_row(1, "-0.3", T0)
    row[field] = value
    with pytest.raises(InputError, match=named):
        parse_row(row, INST)


def test_account_update_for_a_funding_fee_is_recognised() -> None:
    msg = {
        "e": "ACCOUNT_UPDATE",
        "E": T0,
        "T": T0,
        "a": {"m": "FUNDING_FEE", "B": [{"a": "USDT", "wb": "999.9", "cw": "999.9", "bc": "-0.1"}], "P": []},
    }
    assert is_funding_update(msg)
    assert not is_funding_update({**msg, "a": {**msg["a"], "m": "ORDER"}})
    assert not is_funding_update({"e": "ORDER_TRADE_UPDATE"})
    assert not is_funding_update("ACCOUNT_UPDATE")
