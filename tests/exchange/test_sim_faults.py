from __future__ import annotations

import pytest

from gridledger.exchange.sim.faults import FaultCounters, FaultyStream, StreamFaults


def run(faults: StreamFaults, messages: range) -> FaultyStream[int]:
    stream: FaultyStream[int] = FaultyStream(faults)
    for m in messages:
        stream.push(m)
    return stream


def test_no_faults_is_the_identity() -> None:
    stream = run(StreamFaults(), range(50))
    assert stream.log == list(range(50))
    assert stream.counters == FaultCounters()


def test_duplicates_alone() -> None:
    stream = run(StreamFaults(duplicate_p=0.3, seed=7), range(200))
    dup = stream.counters.duplicated
    assert 30 < dup < 90
    assert len(stream.log) == 200 + dup
    # copies follow their original directly; order is otherwise preserved
    assert sorted(set(stream.log)) == list(range(200))
    assert stream.log == sorted(stream.log)
    assert stream.counters.as_dict() == {**FaultCounters().as_dict(), "duplicated": dup}
    again = run(StreamFaults(duplicate_p=0.3, seed=7), range(200))
    assert again.log == stream.log
    assert run(StreamFaults(duplicate_p=0.3, seed=8), range(200)).log != stream.log


def test_reorder_alone_shuffles_within_windows() -> None:
    stream = run(StreamFaults(reorder_window=4, seed=3), range(18))
    # 4 full windows delivered, 2 messages held until a flush
    assert stream.buffered == 2 and len(stream.log) == 16
    stream.flush()
    assert stream.buffered == 0
    log = stream.log
    assert sorted(log) == list(range(18)) and log != list(range(18))
    for start in range(0, 16, 4):
        assert sorted(log[start : start + 4]) == list(range(start, start + 4))
    displaced = sum(1 for i, m in enumerate(log) if m != i)
    assert stream.counters.reordered == displaced > 0
    assert (stream.counters.duplicated, stream.counters.dropped, stream.counters.disconnects) == (0, 0, 0)
    assert run(StreamFaults(reorder_window=4, seed=3), range(16)).log == log[:16]


def test_disconnect_alone_drops_what_arrives_while_down() -> None:
    epochs: list[int] = []
    stream: FaultyStream[int] = FaultyStream(StreamFaults(disconnect_every=3))
    stream.listener = lambda: epochs.append(stream.epoch)
    for m in range(10):
        stream.push(m)
    assert stream.log == [0, 1, 2]
    assert not stream.connected and stream.epoch == 1
    assert stream.counters.disconnects == 1 and stream.counters.dropped == 7
    assert 1 in epochs  # subscribers were told
    stream.connect()
    for m in range(10, 14):
        stream.push(m)
    assert stream.log == [0, 1, 2, 10, 11, 12]
    assert stream.counters.disconnects == 2 and stream.counters.dropped == 8
    assert stream.counters.replayed == 0


def test_disconnect_with_held_messages_delivers_them_on_reconnect() -> None:
    stream = run(StreamFaults(disconnect_every=2, drop_while_disconnected=False), range(5))
    assert stream.log == [0, 1] and stream.counters.dropped == 0
    stream.connect()
    # held 2, 3, 4 arrive; the stream drops again after two more deliveries
    assert stream.log == [0, 1, 2, 3]
    assert not stream.connected
    stream.connect()
    assert stream.log == [0, 1, 2, 3, 4]


def test_replay_after_reconnect() -> None:
    stream = run(StreamFaults(disconnect_every=4, replay_last=2), range(6))
    assert stream.log == [0, 1, 2, 3] and stream.counters.dropped == 2
    stream.connect()
    assert stream.log == [0, 1, 2, 3, 2, 3]
    assert stream.counters.replayed == 2
    stream.push(6)
    assert stream.log[-1] == 6


def test_unsubscribed_stream_discards_without_counting_faults() -> None:
    stream: FaultyStream[int] = FaultyStream(StreamFaults(replay_last=3), connected=False)
    stream.push(1)
    stream.push(2)
    assert stream.log == [] and stream.unsubscribed == 2
    stream.connect()
    stream.push(3)
    assert stream.log == [3]
    assert stream.counters == FaultCounters()


def test_disconnect_loses_a_partly_filled_reorder_window() -> None:
    stream = run(StreamFaults(reorder_window=3, seed=1), range(4))
    assert len(stream.log) == 3 and stream.buffered == 1
    stream.disconnect()
    assert stream.buffered == 0 and stream.counters.dropped == 1


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError):
        StreamFaults(duplicate_p=2)
    with pytest.raises(ValueError):
        StreamFaults(disconnect_every=-1)
