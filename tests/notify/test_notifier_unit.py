"""The notifier on its own: de-duplication, what is not a trade, secrets, reconnect bursts,
rate limits, a sender that fails or hangs, the daily summary, and its configuration."""

from __future__ import annotations

import asyncio
import threading
from decimal import Decimal

import pytest

from gridledger.config import NotifyConfig
from gridledger.engine import events
from gridledger.engine.events import EventBus
from gridledger.exchange.sim.clock import now_ms as virtual_now
from gridledger.exchange.sim.clock import run_virtual
from gridledger.logs import register_secret
from gridledger.notify import Message, Notifier, NotifyError, Summary, ThreadedSender, build_notifier, next_at
from gridledger.testkit.recorder import Recorder

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def _fill(trade: str | None = "7", filled: str = "0.001", delta: str = "0.001", cid: str = "gl16t1B110v") -> dict:
    return dict(
        level=-1,
        side="buy",
        role="open",
        price="29940.123456789",
        qty=delta,
        filled=filled,
        filled_delta=delta,
        fee="0.000001",
        fee_asset="BTC",
        realized_delta="0",
        client_id=cid,
        order_id="11",
        trade_id=trade,
        status="FILLED",
    )


class Collect:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    def __call__(self, message: Message) -> bool:
        self.messages.append(message)
        return True


def _notifier(send=None, clock=lambda: T0, **cfg) -> tuple[Notifier, Collect]:
    collect = Collect()
    config = NotifyConfig(**cfg)
    sender = ThreadedSender(send or collect, config.queue_size)
    return Notifier(
        config, sender, grid_id="t1", symbol="BTC/USDT", now_ms=clock, price_step=lambda: Decimal("0.01")
    ), collect


def _feed(notifier: Notifier, published: list[tuple[str, dict]]) -> None:
    async def go() -> None:
        bus = EventBus()
        notifier.attach(bus)
        for kind, data in published:
            bus.publish(kind, T0, **data)
        await notifier.aclose(10)

    asyncio.run(go())


def test_the_same_fill_published_twice_is_one_message():
    """A restart can re-apply evidence whose journal entry a crash lost: the bus then publishes
    the fill again. The notifier's memory (client id + trade id / cumulative fill) keeps it one."""
    n, out = _notifier()
    _feed(
        n,
        [
            (events.FILL, _fill()),
            (events.FILL, _fill()),
            (events.FILL, _fill(trade=None)),  # the same fill seen from the order update
            (events.FILL, _fill(trade="8", filled="0.002")),  # the next trade: a message
            (events.FILL, _fill(trade=None, filled="0.002", delta="0")),
        ],
    )  # a late fee: not a trade
    fills = [m for m in out.messages if m.kind == "fill"]
    assert len(fills) == 2
    assert n.counters.deduplicated == 2 and n.counters.adjustments == 1
    # Quote amounts at the market's precision, quantities normalised.
    assert fills[0].body.startswith("buy 0.001 BTC/USDT at 29940.12 level -1 (open)")


def test_no_secret_reaches_a_payload():
    key = "AKIAnotifyTESTkey0042"
    register_secret(key)  # as the live factory does with the API key and secret
    with Recorder("ok") as rec:
        n = build_notifier(
            NotifyConfig(urls_env="GL_T_URLS"),
            grid_id="t1",
            symbol="BTC/USDT",
            now_ms=lambda: T0,
            environ={"GL_T_URLS": rec.apprise_url()},
        )
        _feed(
            n,
            [
                (
                    events.PAUSE,
                    {
                        "reason": f"exchange error: GET https://api.binance.com/api/v3/order?apiKey={key}"
                        "&timestamp=1&signature=abcdef0123"
                    },
                ),
                (events.STOP, {"reason": f"AuthenticationError binance {{'X-MBX-APIKEY': '{key}'}}"}),
            ],
        )
        bodies = rec.bodies()
    assert len(bodies) == 2 and n.counters.send.sent == 2
    text = repr(bodies)
    assert key not in text and "signature=abcdef" not in text and "***" in text


def test_reconnects_are_one_message_per_burst():
    now = [T0]
    n, out = _notifier(clock=lambda: now[0], reconnects=3, reconnect_window_s=600)

    async def go() -> None:
        bus = EventBus()
        n.attach(bus)
        for minute in (0, 1, 2, 3, 4, 30, 31):  # a burst of five, then two more much later
            bus.publish(events.RECONNECT, T0 + minute * 60_000, stream="orders", attempt=0)
        await n.aclose(10)

    asyncio.run(go())
    assert [m.body for m in out.messages] == ["3 stream reconnects within 10 minutes (last: orders stream)"]


def test_a_kind_over_its_rate_limit_is_suppressed_and_counted():
    n, out = _notifier(rate_limit_per_min=2)
    _feed(n, [(events.PAUSE, {"reason": "drift"})] * 5)
    assert len(out.messages) == 2 and n.counters.suppressed == {"pause": 3}


def test_kinds_not_chosen_are_not_sent():
    n, out = _notifier(kinds=("stop",))
    _feed(n, [(events.FILL, _fill()), (events.PAUSE, {"reason": "manual"}), (events.STOP, {"reason": "shutdown"})])
    assert [m.kind for m in out.messages] == ["stop"]


def test_a_sender_that_raises_is_counted_not_raised():
    def broken(message: Message) -> bool:
        raise RuntimeError("plugin bug")

    n, _ = _notifier(send=broken)
    _feed(n, [(events.STOP, {"reason": "shutdown"})])
    assert n.counters.send.failed == 1 and n.counters.send.sent == 0


def test_a_hanging_sender_never_blocks_submit():
    """The sender thread is stuck: submissions beyond the queue are dropped and counted, and
    every submit returns at once (the engine's thread never waits)."""
    gate = threading.Event()

    def hang(message: Message) -> bool:
        gate.wait(30)
        return True

    sender = ThreadedSender(hang, queue_size=5)
    results = [sender.submit(Message("fill", "t", str(i))) for i in range(50)]
    assert results.count(False) == sender.counters.dropped >= 44
    gate.set()
    assert sender.drain(30)
    sender.close(5)
    assert sender.counters.sent == sender.counters.queued


def test_next_summary_time():
    assert next_at(T0 + 19 * 3_600_000, "20:00") == T0 + 20 * 3_600_000
    assert next_at(T0 + 20 * 3_600_000, "20:00") == T0 + 44 * 3_600_000  # at the time: tomorrow's


def test_the_daily_summary_runs_at_its_time_of_day():
    """On the virtual clock: two days from midnight give two summaries, at 06:30 each day."""
    sent_at: list[int] = []

    async def go() -> None:
        collect = Collect()
        cfg = NotifyConfig(summary_at="06:30", kinds=("fill", "summary"))
        n = Notifier(
            cfg,
            ThreadedSender(collect, 10),
            grid_id="t1",
            symbol="BTC/USDT",
            now_ms=virtual_now,
            summary=lambda: Summary(Decimal("1.23456"), Decimal("-0.5"), Decimal("0.0100"), 4, Decimal("30000.5")),
        )
        bus = EventBus()
        n.attach(bus)
        bus.publish(events.FILL, virtual_now(), **_fill())
        orig = n.send_summary

        def spy() -> None:
            sent_at.append(virtual_now())
            orig()

        n.send_summary = spy  # type: ignore[method-assign]
        await asyncio.sleep(2 * 86_400)
        await n.aclose(10)
        summaries = [m.body for m in collect.messages if m.kind == "summary"]
        assert summaries[0] == (
            "daily summary: 1 fill(s) since the last summary\nrealized PnL 1.23456, "
            "unrealized -0.5\nposition 0.01, round trips 4\nprice 30000.5"
        )
        assert summaries[1].startswith("daily summary: 0 fill(s)")

    run_virtual(go(), start_ms=T0)
    assert sent_at == [T0 + 6 * 3_600_000 + 30 * 60_000, T0 + 30 * 3_600_000 + 30 * 60_000]


def test_no_urls_in_the_environment_is_a_clear_error():
    with pytest.raises(NotifyError, match="GL_EMPTY holds no apprise URL"):
        build_notifier(
            NotifyConfig(urls_env="GL_EMPTY"), grid_id="t1", symbol="BTC/USDT", now_ms=lambda: T0, environ={}
        )
    with pytest.raises(NotifyError) as info:
        build_notifier(
            NotifyConfig(urls_env="GL_BAD"),
            grid_id="t1",
            symbol="BTC/USDT",
            now_ms=lambda: T0,
            environ={"GL_BAD": "nosuchscheme://token-abc123"},
        )
    assert "token-abc123" not in str(info.value)
