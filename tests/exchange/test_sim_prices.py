from __future__ import annotations

import itertools
import math
from decimal import Decimal
from pathlib import Path

import pytest

from gridledger.exchange.sim.prices import CsvCandlesPath, CsvTradesPath, SyntheticPath, Tick, take

FIXTURES = Path(__file__).parent.parent / "fixtures" / "sim"
STEP = Decimal("0.01")


def _path(**overrides: object) -> SyntheticPath:
    params: dict[str, object] = dict(
        seed=11,
        start_price=Decimal("30000"),
        price_step=STEP,
        tick_ms=1000,
        volatility=0.8,
        mean_reversion=50.0,
        jump_probability=0.01,
        jump_scale=0.01,
        volume_mean=Decimal("0.5"),
        start_ms=1_000,
    )
    params.update(overrides)
    return SyntheticPath(**params)  # type: ignore[arg-type]


def test_synthetic_path_is_deterministic_and_reiterable() -> None:
    path = _path(n=500)
    first = list(path)
    assert first == list(path)
    assert first == list(_path(n=500))
    assert first != list(_path(n=500, seed=12))
    assert len(first) == 500


def test_synthetic_ticks_are_decimal_on_the_price_grid() -> None:
    ticks = take(_path(), 2000)
    assert ticks[0] == Tick(1_000, Decimal("30000.00"), ticks[0].volume)
    for i, tick in enumerate(ticks):
        assert tick.ts_ms == 1_000 + 1000 * i
        assert isinstance(tick.price, Decimal) and isinstance(tick.volume, Decimal)
        assert tick.price > 0 and tick.price % STEP == 0
        assert tick.volume >= 0 and tick.volume == tick.volume.quantize(Decimal("0.00000001"))
    assert len({t.price for t in ticks}) > 50  # it actually moves


def test_mean_reversion_keeps_the_price_near_its_start() -> None:
    # θ = 365/yr and 60 %/yr volatility: stationary sd of the log-price is ~2 %.
    ticks = take(_path(mean_reversion=365.0, volatility=0.6, jump_probability=0.0, tick_ms=60_000), 20_000)
    logs = [math.log(float(t.price) / 30000) for t in ticks]
    assert max(abs(x) for x in logs) < 0.15
    assert abs(sum(logs) / len(logs)) < 0.02


def test_volatility_scales_per_tick_moves() -> None:
    def mean_abs_return(vol: float) -> float:
        prices = [float(t.price) for t in take(_path(volatility=vol, mean_reversion=0.0, jump_probability=0.0), 3000)]
        return sum(abs(math.log(b / a)) for a, b in itertools.pairwise(prices)) / (len(prices) - 1)

    low, high = mean_abs_return(0.2), mean_abs_return(2.0)
    expected_high = 2.0 * math.sqrt(1000 / (365 * 24 * 3600 * 1000)) * math.sqrt(2 / math.pi)
    assert high == pytest.approx(expected_high, rel=0.15)
    assert high > 5 * low


def test_synthetic_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        _path(jump_probability=1.5)
    with pytest.raises(ValueError):
        _path(price_step=Decimal(0))


def test_csv_candles_expand_to_four_ticks_in_candle_order() -> None:
    path = CsvCandlesPath(FIXTURES / "btcusdt_1m_sample.csv")
    ticks = list(path)
    assert len(ticks) == 30 * 4
    first = ticks[:4]
    # 1700000040000,36500.00,36505.11,36491.34,36493.60,23.75587 is a down candle: O, H, L, C
    assert [t.price for t in first] == [
        Decimal("36500.00"),
        Decimal("36505.11"),
        Decimal("36491.34"),
        Decimal("36493.60"),
    ]
    assert [t.ts_ms for t in first] == [1700000040000, 1700000055000, 1700000070000, 1700000085000]
    assert sum(t.volume for t in first) == Decimal("23.75587")
    # third candle goes up: O, L, H, C
    third = ticks[8:12]
    assert [t.price for t in third] == [
        Decimal("36485.72"),
        Decimal("36481.77"),
        Decimal("36514.13"),
        Decimal("36511.64"),
    ]
    assert all(a.ts_ms < b.ts_ms for a, b in itertools.pairwise(ticks))


def test_csv_candles_bad_rows_name_the_line(tmp_path: Path) -> None:
    header = "timestamp_ms,open,high,low,close,volume\n"
    cases = {
        "1000,10,11,9,10.5,1\n2000,10,9,9,10,1\n": 3,  # high below open
        "1000,10,11,9,10.5,1\n2000,x,11,9,10,1\n": 3,
        "1000,10,11,9,10.5\n": 2,
        "1000,10,11,9,10.5,-1\n": 2,
        "60000,10,11,9,10.5,1\n60000,10,11,9,10.5,1\n": 3,  # overlapping candle
    }
    for body, line in cases.items():
        file = tmp_path / "c.csv"
        file.write_text(header + body)
        with pytest.raises(ValueError, match=f"c.csv:{line}:"):
            list(CsvCandlesPath(file))
    file = tmp_path / "h.csv"
    file.write_text("time,open,high,low,close,volume\n1,1,1,1,1,1\n")
    with pytest.raises(ValueError, match=r"h.csv:1:"):
        list(CsvCandlesPath(file))


def test_csv_trades(tmp_path: Path) -> None:
    file = tmp_path / "t.csv"
    file.write_text("timestamp_ms,price,amount\n1000,30000.123,0.5\n\n1500,30001,0.25\n")
    assert list(CsvTradesPath(file)) == [
        Tick(1000, Decimal("30000.123"), Decimal("0.5")),
        Tick(1500, Decimal("30001"), Decimal("0.25")),
    ]
    assert [t.price for t in CsvTradesPath(file, price_step=STEP)] == [Decimal("30000.12"), Decimal("30001.00")]
    file.write_text("timestamp_ms,price,amount\n1000,30000,0.5\n900,30000,0.5\n")
    with pytest.raises(ValueError, match=r"t.csv:3: timestamp_ms goes backwards"):
        list(CsvTradesPath(file))
    file.write_text("timestamp_ms,price,amount\n1000,abc,0.5\n")
    with pytest.raises(ValueError, match=r"t.csv:2: price is not a number"):
        list(CsvTradesPath(file))
    file.write_text("timestamp_ms,price,amount\n1000.5,1,0.5\n")
    with pytest.raises(ValueError, match=r"t.csv:2: timestamp_ms is not an integer"):
        list(CsvTradesPath(file))
