"""The trade selection both simulated venues share (spot myTrades, USDⓈ-M userTrades)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.domain.types import Side
from gridledger.exchange.sim.rest_select import client_id, select_trades, trades_count
from gridledger.exchange.sim.values import SimTrade


def _trade(trade_id: int, order_id: int, ts_ms: int) -> SimTrade:
    return SimTrade(
        trade_id=trade_id,
        order_id=order_id,
        client_order_id=f"c{order_id}",
        symbol="BTCUSDT",
        side=Side.BUY,
        price=Decimal("100"),
        amount=Decimal("1"),
        quote_qty=Decimal("100"),
        fee=Decimal("0"),
        fee_asset="USDT",
        ts_ms=ts_ms,
        is_maker=True,
    )


ROWS = [_trade(i, 1 + i % 2, 1000 * i) for i in range(1, 11)]


def _ids(rows: list[SimTrade]) -> list[int]:
    return [t.trade_id for t in rows]


def test_limit_defaults_to_500_and_is_capped_at_1000() -> None:
    assert (trades_count(None), trades_count(0), trades_count(7), trades_count(5000)) == (500, 500, 7, 1000)


def test_without_a_range_the_most_recent_count() -> None:
    assert _ids(select_trades(ROWS, None, None, None, None, 3)) == [8, 9, 10]


def test_from_id_wins_over_a_time_range_and_counts_from_the_oldest() -> None:
    assert _ids(select_trades(ROWS, None, "4", 9000, None, 2)) == [4, 5]


def test_time_range_is_inclusive_and_oldest_first() -> None:
    assert _ids(select_trades(ROWS, None, None, 3000, "6000", 10)) == [3, 4, 5, 6]
    assert _ids(select_trades(ROWS, None, None, None, 2000, 10)) == [1, 2]


def test_order_id_restricts_before_the_count() -> None:
    assert _ids(select_trades(ROWS, "2", None, None, None, 2)) == [7, 9]


def test_client_id_takes_the_first_non_empty_key() -> None:
    assert client_id({"a": "", "b": None, "c": 5}, "a", "b", "c") == "5"
    assert client_id({}, "a") is None


@settings(max_examples=60, deadline=None)
@given(
    order_id=st.none() | st.integers(1, 2),
    since=st.none() | st.integers(0, 11_000),
    until=st.none() | st.integers(0, 11_000),
    count=st.integers(1, 12),
)
def test_time_selection_matches_the_rule(
    order_id: int | None, since: int | None, until: int | None, count: int
) -> None:
    got = select_trades(ROWS, order_id, None, since, until, count)
    pool = [t for t in ROWS if order_id is None or t.order_id == order_id]
    if since is None and until is None:
        assert got == pool[-count:]
    else:
        inside = [t for t in pool if (since is None or t.ts_ms >= since) and (until is None or t.ts_ms <= until)]
        assert got == inside[:count]
