"""The order resolver (engine/resolver.py), tested directly: no exchange, no event loop.

Every transition of its table, the moves it refuses, and each of its timings, on a clock
passed as an argument.
"""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.config import ConfigError, EngineConfig, parse_config
from gridledger.engine.resolver import (
    TRANSITIONS,
    Entry,
    OrderEvent,
    OrderResolver,
    OrderState,
    ResolverTimings,
)
from gridledger.engine.shared import resolver_timings

S, E = OrderState, OrderEvent
CID = "gl1-e1-x"


def resolver_in(state: OrderState, **timings: float) -> OrderResolver:
    r = OrderResolver(ResolverTimings(**timings))
    if state is not S.ACKED:
        r.orders[CID] = Entry(state=state)
    return r


# ----------------------------------------------------------------------------- the table
@pytest.mark.parametrize(("state", "event"), sorted(TRANSITIONS, key=lambda k: (k[0].value, k[1].value)))
def test_every_transition_in_the_table(state: OrderState, event: OrderEvent) -> None:
    r = resolver_in(state)
    new = r.fire(CID, event, 10.0)
    assert new is TRANSITIONS[(state, event)]
    if new is S.SETTLED:
        assert CID not in r.orders  # forgotten
    else:
        assert r.state(CID) is new
    assert r.errors == 0


REFUSED = [(s, e) for s in S if s is not S.SETTLED for e in E if (s, e) not in TRANSITIONS]


def test_the_table_refuses_some_moves_and_settled_is_terminal() -> None:
    assert REFUSED, "a table that allows everything is no table"
    assert not [k for k in TRANSITIONS if k[0] is S.SETTLED]
    assert set(TRANSITIONS.values()) == set(S)  # every state is reachable


@pytest.mark.parametrize(("state", "event"), REFUSED)
def test_a_move_not_in_the_table_is_logged_and_changes_nothing(
    state: OrderState, event: OrderEvent, caplog: pytest.LogCaptureFixture
) -> None:
    r = resolver_in(state)
    with caplog.at_level(logging.ERROR, logger="gridledger.engine"):
        assert r.fire(CID, event, 1.0) is None
    assert r.state(CID) is state and r.errors == 1
    assert any(rec.getMessage() == "order resolver: transition not in the table" for rec in caplog.records)


@settings(max_examples=60)
@given(st.lists(st.sampled_from(list(E)), max_size=30))
def test_any_sequence_of_events_only_moves_along_the_table(events: list[OrderEvent]) -> None:
    r = OrderResolver()
    for i, event in enumerate(events):
        before = r.state(CID)
        new = r.fire(CID, event, float(i))
        if (before, event) in TRANSITIONS:
            assert new is TRANSITIONS[(before, event)]
        else:
            assert new is None and r.state(CID) is before


def test_the_life_of_an_unanswered_create() -> None:
    r = OrderResolver()
    assert r.fire(CID, E.SEND, 0.0) is S.SENT
    assert r.fire(CID, E.NO_CREATE_ANSWER, 0.0) is S.UNANSWERED
    assert r.queued() == [CID]
    assert r.fire(CID, E.ANSWERED, 2.0) is S.ACKED
    assert CID not in r.orders and not r.busy()  # absent means ACKED


# ----------------------------------------------------------------------------- timings
def test_unanswered_create_waits_its_grace_before_it_is_asked() -> None:
    r = OrderResolver(ResolverTimings(unanswered_grace_s=1.0))
    r.fire(CID, E.SEND, 100.0)
    r.fire(CID, E.NO_CREATE_ANSWER, 100.0)
    assert r.due(100.5) == [] and r.queued() == [CID]
    assert r.due(101.0) == [CID]
    # Evidence for it arrived meanwhile: ask at once, the grace no longer applies.
    r2 = OrderResolver(ResolverTimings(unanswered_grace_s=1.0))
    r2.fire(CID, E.SEND, 100.0)
    r2.fire(CID, E.NO_CREATE_ANSWER, 100.0)
    assert r2.fire(CID, E.EVIDENCE, 100.1) is S.QUERYING
    assert r2.due(100.2) == [CID]


def test_not_found_twice_at_least_the_gap_apart_closes_a_never_acknowledged_order() -> None:
    r = OrderResolver(ResolverTimings(not_found_gap_s=3.0))
    r.fire(CID, E.SEND, 0.0)
    r.fire(CID, E.NO_CREATE_ANSWER, 0.0)
    assert r.not_found(CID, 10.0) is False and r.state(CID) is S.NOT_FOUND_ONCE
    assert r.not_found(CID, 12.9) is False and r.state(CID) is S.NOT_FOUND_ONCE  # too soon: ask again
    assert r.due(12.9) == [CID]
    assert r.not_found(CID, 13.0) is True  # 3 s after the first answer
    assert CID not in r.orders


def test_an_answer_between_two_not_found_restarts_the_count() -> None:
    r = OrderResolver(ResolverTimings(not_found_gap_s=3.0))
    assert r.not_found(CID, 0.0) is False
    r.fire(CID, E.ANSWERED, 1.0)
    assert r.not_found(CID, 5.0) is False  # a first "not found" again, not a second one
    assert r.not_found(CID, 8.0) is True


def test_cancel_debounce() -> None:
    r = OrderResolver(ResolverTimings(cancel_debounce_s=5.0))
    assert r.may_cancel(CID, 0.0)
    r.fire(CID, E.CANCEL, 0.0)
    r.fire(CID, E.CANCEL_ANSWERED, 0.1)
    assert r.state(CID) is S.ACKED and not r.may_cancel(CID, 4.9)
    assert r.may_cancel(CID, 4.9, force=True)
    assert r.may_cancel(CID, 5.0)


def test_level_backoff_doubles_from_its_floor_to_its_cap_and_clears_on_acceptance() -> None:
    r = OrderResolver(ResolverTimings(level_backoff_s=5.0, level_backoff_max_s=600.0))
    delays = [r.level_refused(-1, 0.0) for _ in range(9)]
    assert delays == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 600.0, 600.0]
    assert r.level_waiting(-1, 599.9) and not r.level_waiting(-1, 600.0)
    assert not r.level_waiting(-2, 0.0)
    r.level_accepted(-1)
    assert not r.level_waiting(-1, 0.0) and r.level_refused(-1, 0.0) == 5.0


def test_a_crossed_order_is_asked_after_the_cross_grace() -> None:
    r = OrderResolver(ResolverTimings(cross_grace_s=5.0))
    assert r.crossing(CID, 0.0) == "new" and r.state(CID) is S.CROSSED and r.busy()
    assert r.crossing(CID, 4.9) == ""
    assert r.crossing(CID, 5.0) == "due" and r.due(5.0) == [CID]
    assert r.crossing(CID, 6.0) == ""  # a query is pending: left alone
    r.fire(CID, E.ANSWERED, 7.0)
    assert r.crossing(CID, 8.0) == "new"  # watched again from scratch
    r.uncross_all_but(set(), 9.0)
    assert r.state(CID) is S.ACKED


# ----------------------------------------------------------------------------- [engine] settings
def test_every_resolver_timing_is_an_engine_setting_with_todays_default() -> None:
    assert resolver_timings(EngineConfig()) == ResolverTimings()
    eng = EngineConfig()
    assert (eng.stream_backoff_s, eng.stream_backoff_max_s) == (0.5, 30.0)
    assert (eng.trade_fetch_page, eng.trade_fetch_pages, eng.trade_fetch_overlap_s) == (500, 100, 60.0)
    assert (eng.call_retry_backoff_s, eng.call_retry_backoff_max_s, eng.busy_poll_s) == (0.5, 30.0, 1.0)


@pytest.mark.parametrize(
    ("key", "value"),
    [("not_found_gap_s", -1), ("cancel_debounce_s", "inf"), ("level_backoff_max_s", 1e9), ("trade_fetch_page", 0)],
)
def test_timings_are_bounded_and_a_bad_one_names_its_key(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=key):
        parse_config(
            {"grid": {"id": "e1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100"}, "engine": {key: value}}
        )
