"""The funding book (ledger/funding.py): each payment counted once by its own id."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.ledger.funding import FundingBook, FundingKind, FundingPayment

SYM = "BTC/USDT:USDT"
T0 = 1_767_225_600_000


def pay(pid: str, amount: str, ts: int = T0 + 1, asset: str = "USDT", symbol: str = SYM) -> FundingPayment:
    return FundingPayment(pid, symbol, asset, D(amount), ts)


def test_a_payment_counts_once_by_its_id() -> None:
    book = FundingBook(SYM, T0)
    assert book.apply(pay("1", "-0.5")).kind is FundingKind.APPLIED
    assert book.apply(pay("1", "-0.5")).kind is FundingKind.DUPLICATE
    assert book.apply(pay("2", "0.25")).kind is FundingKind.APPLIED
    assert book.totals() == {"USDT": D("-0.25")}
    assert len(book) == 2 and "1" in book
    assert book.counts["APPLIED"] == 2 and book.counts["DUPLICATE"] == 1


def test_a_known_id_with_other_content_is_rejected_and_the_first_kept() -> None:
    book = FundingBook(SYM, T0)
    book.apply(pay("7", "-1"))
    out = book.apply(pay("7", "-2"))
    assert out.kind is FundingKind.REJECTED and "first is kept" in out.reason
    assert book.totals() == {"USDT": D("-1")}


def test_other_symbols_and_payments_before_the_start_are_not_the_grids() -> None:
    book = FundingBook(SYM, T0)
    assert book.apply(pay("1", "-1", symbol="ETH/USDT:USDT")).kind is FundingKind.FOREIGN
    assert book.apply(pay("2", "-1", ts=T0 - 1)).kind is FundingKind.EARLY
    assert book.totals() == {} and book.newest_ms is None


def test_totals_are_per_asset_and_restore_does_not_count() -> None:
    book = FundingBook(SYM, T0)
    book.restore([pay("1", "-1"), pay("2", "0.1", asset="BNB"), pay("1", "-1")])
    assert book.totals() == {"USDT": D("-1"), "BNB": D("0.1")}
    assert book.counts["APPLIED"] == 0
    assert book.apply(pay("1", "-1")).kind is FundingKind.DUPLICATE
    assert book.newest_ms == T0 + 1


@pytest.mark.parametrize(
    "kw",
    [
        {"payment_id": ""},
        {"amount": D("NaN")},
        {"amount": 0.1},
        {"timestamp": -1},
        {"timestamp": True},
        {"asset": ""},
    ],
)
def test_malformed_payments_are_refused(kw: dict[str, object]) -> None:
    base: dict[str, object] = {"payment_id": "1", "symbol": SYM, "asset": "USDT", "amount": D("1"), "timestamp": T0}
    with pytest.raises(ValueError):
        FundingPayment(**{**base, **kw})  # type: ignore[arg-type]


payments = st.lists(
    st.tuples(st.integers(0, 30), st.decimals(-5, 5, places=8, allow_nan=False, allow_infinity=False)),
    max_size=20,
    unique_by=lambda t: t[0],
)


@settings(max_examples=60, deadline=None)
@given(payments, st.data())
def test_any_delivery_order_and_duplication_gives_the_sum_of_distinct_payments(rows, data) -> None:
    distinct = [pay(str(i), str(a), ts=T0 + i) for i, a in rows]
    delivery = data.draw(st.lists(st.sampled_from(distinct), max_size=60)) if distinct else []
    delivery += distinct  # everything arrives at least once
    delivery = data.draw(st.permutations(delivery))
    book = FundingBook(SYM, T0)
    for p in delivery:
        book.apply(p)
    assert book.totals().get("USDT", D(0)) == sum((p.amount for p in distinct), D(0))
    assert book.counts["APPLIED"] == len(distinct)
    assert book.counts["DUPLICATE"] == len(delivery) - len(distinct)
