"""Market data in (issue 9 item 1): Binance klines and aggTrades, ccxt OHLCV and trades CSV."""

from __future__ import annotations

import zipfile
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.marketdata import DataError, load_market_data
from gridledger.testkit.candles import generate_candles, write_ohlcv_csv

STEP = Decimal("0.01")
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def kline(ts: int, o: str, h: str, lo: str, c: str, interval_ms: int = 60_000, micro: bool = False) -> str:
    scale = 1000 if micro else 1
    close_time = (ts + interval_ms - 1) * scale
    return f"{ts * scale},{o},{h},{lo},{c},12.5,{close_time},375000.0,100,6.0,180000.0,0"


def write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


ROWS = [
    ("30000.00", "30010.00", "29990.00", "30005.00"),
    ("30005.00", "30020.00", "30001.00", "30002.50"),
    ("30002.50", "30003.00", "29950.00", "29960.00"),
]


def test_binance_klines_in_milliseconds_microseconds_and_zip_read_the_same(tmp_path):
    ms = write(tmp_path, "ms.csv", [kline(T0 + i * 60_000, *r) for i, r in enumerate(ROWS)])
    # Binance spot files from 2025 on are in microseconds; a concatenation may mix both.
    mixed = write(tmp_path, "mixed.csv", [kline(T0 + i * 60_000, *r, micro=i > 0) for i, r in enumerate(ROWS)])
    zipped = tmp_path / "BTCUSDT-1m-2026-01.zip"
    with zipfile.ZipFile(zipped, "w") as zf:
        zf.writestr("BTCUSDT-1m-2026-01.csv", ms.read_text())
    datas = [load_market_data(p, STEP) for p in (ms, mixed, zipped)]
    for d in datas:
        assert d.kind == "candles" and d.fmt == "binance-klines" and d.interval_ms == 60_000
        assert d.ts_ms.tolist() == [T0, T0 + 60_000, T0 + 120_000]
        assert d.open.tolist() == [3_000_000, 3_000_500, 3_000_250]
        assert d.high.tolist() == [3_001_000, 3_002_000, 3_000_300]
        assert d.low.tolist() == [2_999_000, 3_000_100, 2_995_000]
        assert d.close.tolist() == [3_000_500, 3_000_250, 2_996_000]
        assert d.ts_ms.dtype == np.int64 and d.close.dtype in (np.int32, np.int64)


@pytest.mark.parametrize("interval_ms", [1_000, 60_000, 3_600_000, 86_400_000])
def test_the_interval_is_inferred_from_1s_to_1d(tmp_path, interval_ms):
    rows = [f"{T0 + i * interval_ms},100,101,99,100.5,1" for i in range(5)]
    d = load_market_data(write(tmp_path, "c.csv", ["timestamp,open,high,low,close,volume", *rows]), STEP)
    assert d.interval_ms == interval_ms and d.gaps.count == 0
    # Binance's close_time gives it even for a single candle.
    one = load_market_data(write(tmp_path, "k.csv", [kline(T0, "1", "2", "0.5", "1.5", interval_ms)]), STEP)
    assert one.interval_ms == interval_ms


def test_gaps_are_counted_with_the_largest(tmp_path):
    minutes = [0, 1, 2, 5, 6, 7, 8, 20, 21]  # holes of 2 and 11 candles
    rows = [f"{T0 + m * 60_000},100,101,99,100,1" for m in minutes]
    d = load_market_data(write(tmp_path, "g.csv", ["timestamp_ms,open,high,low,close,volume", *rows]), STEP)
    assert d.interval_ms == 60_000
    assert (d.gaps.count, d.gaps.missing, d.gaps.largest_ms) == (2, 13, 11 * 60_000)
    assert d.gaps.largest_at_ms == T0 + 20 * 60_000
    assert "2 gaps (13 candles missing)" in d.describe()


def test_ccxt_ohlcv_headers_headerless_and_trades(tmp_path):
    body = [f"{T0 + i * 60_000},{o},{h},{lo},{c},3" for i, (o, h, lo, c) in enumerate(ROWS)]
    for header in ("timestamp,open,high,low,close,volume", "timestamp_ms,open,high,low,close,volume", None):
        lines = body if header is None else [header, *body]
        d = load_market_data(write(tmp_path, "o.csv", lines), STEP)
        assert d.fmt == "ohlcv" and d.close.tolist() == [3_000_500, 3_000_250, 2_996_000]
    trades = write(
        tmp_path, "t.csv", ["timestamp_ms,price,amount", f"{T0},30000.5,0.1", f"{T0},30001,0.2", f"{T0 + 5},29999.99,1"]
    )
    d = load_market_data(trades, STEP)
    assert d.kind == "trades" and d.close.tolist() == [3_000_050, 3_000_100, 2_999_999] and d.interval_ms == 0
    assert d.low is d.high  # one price per row: the search treats it as a one-point candle


@pytest.mark.parametrize("width", [7, 8])
def test_binance_aggtrades_with_and_without_best_match(tmp_path, width):
    rows = []
    for i, (price, micro) in enumerate((("30000.10", False), ("30000.20", True), ("29999.90", True))):
        ts = (T0 + i * 1000) * (1000 if micro else 1)
        row = f"{100 + i},{price},0.5,{200 + i},{200 + i},{ts},{'true' if i % 2 else 'false'}"
        rows.append(row + (",true" if width == 8 else ""))
    d = load_market_data(write(tmp_path, "BTCUSDT-aggTrades-2026-01-01.csv", rows), STEP)
    assert d.fmt == "binance-aggtrades" and d.kind == "trades"
    assert d.ts_ms.tolist() == [T0, T0 + 1000, T0 + 2000]
    assert d.close.tolist() == [3_000_010, 3_000_020, 2_999_990]


def _paper_rounding(text: str, step: Decimal) -> int:
    # The paper venue's rule (exchange/sim/prices.py _quantize_price): half to even, at least one step.
    steps = (Decimal(text) / step).to_integral_value(rounding=ROUND_HALF_EVEN)
    return int(max(steps, Decimal(1)))


@settings(max_examples=100)
@given(st.lists(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("99999"), places=3), min_size=1, max_size=20))
def test_prices_round_exactly_as_the_paper_venue_off_the_grid_too(tmp_path_factory, prices):
    path = tmp_path_factory.mktemp("p") / "t.csv"
    path.write_text("timestamp_ms,price,amount\n" + "".join(f"{T0 + i},{p},1\n" for i, p in enumerate(prices)))
    d = load_market_data(path, STEP)
    assert d.close.tolist() == [_paper_rounding(str(p), STEP) for p in prices]


def test_half_way_prices_round_to_even(tmp_path):
    path = write(
        tmp_path, "h.csv", ["timestamp_ms,price,amount", f"{T0},100.005,1", f"{T0},100.015,1", f"{T0},0.004,1"]
    )
    assert load_market_data(path, STEP).close.tolist() == [10_000, 10_002, 1]


GOOD = "timestamp,open,high,low,close,volume"


@pytest.mark.parametrize(
    "lines, expected",
    [
        ([GOOD, f"{T0},1,2,0.5,1.5,1", f"{T0 + 60000},1,x,0.5,1.5,1"], ":3: column 3 (high): not a number: 'x'"),
        ([GOOD, f"{T0},1,2,0.5,1.5,1", f"{T0 + 60000},1,2,0.5,1.5"], ":3: expected 6 columns (ohlcv), got 5"),
        ([GOOD, f"{T0},1,2,0.5,1.5,1", f"{T0 + 60000},1,2,0.5,1.5,1,9"], ":3: expected 6 columns (ohlcv), got 7"),
        ([GOOD, f"{T0},1,2,0.5,1.5,1", f"{T0 + 60000},1,1.2,0.5,1.5,1"], ":3: columns high/low: high 1.2 and low 0.5"),
        ([GOOD, f"{T0},1,2,0.5,1.5,1", f"{T0 + 60000},1,2,0.5,1.5,-1"], ":3: column 6 (volume): a volume must be >= 0"),
        ([GOOD, f"{T0},1,2,0.5,1.5,1", f"{T0 + 60000},1,2,0,1.5,1"], ":3: column 4 (low): a price must be positive"),
        ([GOOD, f"{T0},1,2,0.5,1.5,1", f"{T0 + 60000},1,nan,0.5,1.5,1"], ":3: column 3 (high): not a finite number"),
        ([GOOD, f"{T0},1,2,0.5,1.5,1", f"{T0 + 60000}.5,1,2,0.5,1.5,1"], ":3: column 1 (timestamp): not a timestamp"),
        (
            [GOOD, f"{T0},1,2,0.5,1.5,1", f"{T0 + 60000},1,2,0.5,1.5,1", f"{T0 + 60000},1,2,0.5,1.5,1"],
            ":4: column 1 (timestamp): the candle at 1767225660000 repeats the previous one",
        ),
        (
            [
                GOOD,
                f"{T0},1,2,0.5,1.5,1",
                f"{T0 + 60000},1,2,0.5,1.5,1",
                f"{T0 + 120000},1,2,0.5,1.5,1",
                f"{T0 + 90000},1,2,0.5,1.5,1",
            ],
            ":5: column 1 (timestamp): the candle at 1767225690000 goes backwards",
        ),
        (
            ["timestamp_ms,price,amount", f"{T0 + 5},1,1", f"{T0},1,1"],
            ":3: column 1 (timestamp_ms): time goes backwards",
        ),
        (["time,o,h,l,c", "1,2,3,4,5"], ":1: unknown header 'time,o,h,l,c'"),
        (["1,2,3,4"], ":1: 4 columns without a header"),
        ([GOOD], ": no data rows"),
        (
            [GOOD, "0,1,2,0.5,1.5,1", "500,1,2,0.5,1.5,1"],
            ": candles every 500 ms: the interval must be between 1s and 1d",
        ),
        ([GOOD, f"{T0},1,2,0.5,1.5,1"], ": one candle only: the candle interval cannot be inferred"),
    ],
)
def test_every_malformed_row_is_one_line_naming_file_line_and_column(tmp_path, lines, expected):
    path = write(tmp_path, "bad.csv", lines)
    with pytest.raises(DataError) as info:
        load_market_data(path, STEP)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path)) and expected in message, message


def test_a_bad_row_deep_in_a_large_file_is_found(tmp_path):
    candles = generate_candles(70_000, seed=3)  # more than one read block
    path = write_ohlcv_csv(tmp_path / "big.csv", candles)
    lines = path.read_text().splitlines()
    lines[68_000] = lines[68_000].replace(",", ",abc,", 1).replace(",abc,", ",", 1).rsplit(",", 1)[0] + ",?"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"big.csv:68001: column 6 \(volume\): not a number: '\?'"):
        load_market_data(path, STEP)


def test_bad_files(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_market_data(tmp_path / "none.csv", STEP)
    with pytest.raises(DataError, match="is a directory"):
        load_market_data(tmp_path, STEP)
    (tmp_path / "not.zip").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(DataError, match="not a zip file"):
        load_market_data(tmp_path / "not.zip", STEP)
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as zf:
        zf.writestr("a.csv", "1,2,3\n")
        zf.writestr("b.csv", "1,2,3\n")
    with pytest.raises(DataError, match="exactly one CSV file, it holds 2"):
        load_market_data(two, STEP)
    (tmp_path / "bin.csv").write_bytes(b"timestamp,open\n\xff\xfe\n")
    with pytest.raises(DataError, match="not UTF-8"):
        load_market_data(tmp_path / "bin.csv", STEP)


def test_generated_candles_round_trip_through_the_csv_and_slice_by_time(tmp_path):
    candles = generate_candles(2_000, seed=9)
    d = load_market_data(write_ohlcv_csv(tmp_path / "c.csv", candles), STEP)
    for key in ("ts_ms", "open", "high", "low", "close"):
        assert np.array_equal(getattr(d, key), candles[key])
    assert (d.high >= np.maximum(d.open, d.close)).all() and (d.low <= np.minimum(d.open, d.close)).all()
    part = d.slice_time(T0 + 60_000 * 100, T0 + 60_000 * 200)
    assert len(part) == 100 and int(part.ts_ms[0]) == T0 + 60_000 * 100
    with pytest.raises(DataError, match="no candles between"):
        d.slice_time(T0 - 10 * 60_000, T0)


def test_prices_widen_to_int64_when_they_need_it_in_any_block(tmp_path, monkeypatch):
    import gridledger.marketdata.reader as reader

    monkeypatch.setattr(reader, "BLOCK_LINES", 2)  # the large price arrives in a later block
    path = write(
        tmp_path,
        "w.csv",
        ["timestamp_ms,price,amount", f"{T0},1,1", f"{T0},2,1", f"{T0},3,1", f"{T0},30000000.01,1", f"{T0},4,1"],
    )
    d = load_market_data(path, STEP)
    assert d.close.dtype == np.int64
    assert d.close.tolist() == [100, 200, 300, 3_000_000_001, 400]
    small = load_market_data(write(tmp_path, "s.csv", ["timestamp_ms,price,amount", f"{T0},1,1"]), STEP)
    assert small.close.dtype == np.int32  # half the memory while prices fit
