"""``gridledger data fetch`` through unmodified ccxt against the local Binance-protocol server
(``--endpoint``), never the internet: paging past 1,000 candles, exact prices, resuming after
the last stored candle, and the cache read by the backtest. Also the server's klines paging
rules and ``gridledger data import``."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from importlib.resources import files
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from gridledger.backtest import run_backtest
from gridledger.config import load_config
from gridledger.marketdata import DataError, load_market_data
from gridledger.marketdata.fetch import fetch_ohlcv, make_exchange
from gridledger.testkit.candles import generate_candles
from gridledger.testkit.local_binance import LocalBinance, LocalBinanceConfig
from gridledger.testkit.local_binance.klines import KlineHistory

T0 = 1_767_225_600_000  # 2026-01-01
N = 2_500  # candles on the server: three pages of 1,000 and one of 500
SAMPLE = Path(str(files("gridledger") / "data" / "btcusdt-1m-sample.csv"))


def _server() -> LocalBinance:
    server = LocalBinance(LocalBinanceConfig())
    server.klines = KlineHistory(generate_candles(N, seed=3, start_ms=T0))
    return server


async def _cli(*args: str, cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gridledger.cli",
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


def _fetch(server: LocalBinance, out: str, *extra: str) -> tuple[str, ...]:
    return (
        "data",
        "fetch",
        "--exchange",
        "binance",
        "--symbol",
        "BTC/USDT",
        "--timeframe",
        "1m",
        "--since",
        "2026-01-01",
        "--out",
        out,
        "--endpoint",
        server.http_url,
        *extra,
    )


def _columns(path: Path) -> tuple[np.ndarray, ...]:
    d = load_market_data(path, Decimal("0.01"))
    return d.ts_ms, d.open, d.high, d.low, d.close, d.volume


def test_fetch_pages_resumes_and_equals_one_full_fetch(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with _server() as server:
            # One fetch to the end of the server's history (no --until: up to now).
            code, out, err = await _cli(*_fetch(server, "full"), cwd=tmp_path)
            assert code == 0, err
            assert f"stored {N:,} candles" in out, out
            # Interrupted at the middle (--until), then the same command to the end: it continues
            # after the last stored candle.
            code, out, err = await _cli(*_fetch(server, "parts", "--until", "2026-01-01T20:00"), cwd=tmp_path)
            assert code == 0 and "stored 1,200 candles" in out, (out, err)
            code, out, err = await _cli(*_fetch(server, "parts"), cwd=tmp_path)
            assert code == 0, err
            assert f"stored {N - 1200:,} candles" in out and "resumed after the last stored candle" in err, (out, err)
            # Nothing new: a third run stores nothing.
            code, out, _ = await _cli(*_fetch(server, "parts"), cwd=tmp_path)
            assert code == 0 and "stored 0 candles" in out, out

    asyncio.run(scenario())
    full, parts = _columns(tmp_path / "full"), _columns(tmp_path / "parts")
    for a, b in zip(full, parts, strict=True):
        assert np.array_equal(a, b)
    c = generate_candles(N, seed=3, start_ms=T0)
    assert np.array_equal(full[0], c["ts_ms"]) and np.array_equal(full[4], c["close"])  # exact prices
    assert np.array_equal(full[2], c["high"]) and np.array_equal(full[3], c["low"])
    assert len(list((tmp_path / "parts").glob("chunk-*.npz"))) >= 2


def _fetch_in_process(server: LocalBinance, out: Path, timeframe: str, until_ms: int) -> object:
    # The same function the command runs, in a thread (sync ccxt) while the server runs here.
    ex = make_exchange("binance", server.http_url)
    return fetch_ohlcv(ex, "BTC/USDT", timeframe, T0, until_ms, out)


def test_the_backtest_reads_the_fetched_cache(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with _server() as server:
            await asyncio.to_thread(_fetch_in_process, server, tmp_path / "c", "1m", T0 + 86_400_000)

    asyncio.run(scenario())
    data = load_market_data(tmp_path / "c", Decimal("0.01"))
    assert (len(data), data.interval_ms, data.fmt) == (1_440, 60_000, "cache")
    cfg = load_config(Path(str(files("gridledger") / "data" / "paper.toml")))
    bt = run_backtest(cfg, data)
    assert bt.fills and bt.counters.decisions > 0


def test_a_fetch_into_another_markets_cache_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with _server() as server:
            await asyncio.to_thread(_fetch_in_process, server, tmp_path / "c", "1m", T0 + 3_600_000)
            with pytest.raises(
                DataError, match="a cache of candles binance BTC/USDT 1m, not of candles binance BTC/USDT 5m"
            ):
                await asyncio.to_thread(_fetch_in_process, server, tmp_path / "c", "5m", T0 + 3_600_000)

    asyncio.run(scenario())


def test_klines_follow_binances_paging_rules() -> None:
    async def scenario() -> None:
        async with _server() as server, aiohttp.ClientSession() as http:

            async def get(**q: object) -> tuple[int, object]:
                params = {"symbol": "BTCUSDT", "interval": "1m", **{k: str(v) for k, v in q.items()}}
                async with http.get(f"{server.http_url}/api/v3/klines", params=params) as r:
                    return r.status, await r.json()

            status, rows = await get(startTime=T0)
            assert status == 200 and isinstance(rows, list) and len(rows) == 500  # default limit
            assert rows[0][0] == T0 and rows[0][6] == T0 + 59_999 and len(rows[0]) == 12
            _, rows = await get(startTime=T0 + 1, limit=1000)
            assert len(rows) == 1000 and rows[0][0] == T0 + 60_000  # open time at or after startTime
            assert (await get(limit=1001))[0] == 400
            _, rows = await get(endTime=T0 + 10 * 60_000, limit=3)  # only endTime: the last `limit` before it
            assert [r[0] for r in rows] == [T0 + k * 60_000 for k in (8, 9, 10)]
            _, rows = await get()  # neither: the most recent
            assert len(rows) == 500 and rows[-1][0] == T0 + (N - 1) * 60_000
            _, rows = await get(interval="1h", startTime=T0, limit=2)  # aggregated from the 1m history
            c = generate_candles(N, seed=3, start_ms=T0)
            assert rows[0][0] == T0 and Decimal(rows[0][2]) == Decimal(int(c["high"][:60].max())) / 100
            assert Decimal(rows[0][4]) == Decimal(int(c["close"][59])) / 100
            status, body = await get(interval="7m")
            assert status == 400 and body["code"] == -1120  # type: ignore[index]

    asyncio.run(scenario())


def test_import_writes_a_cache_the_backtest_reads_like_the_file(tmp_path: Path) -> None:
    async def scenario() -> None:
        code, out, err = await _cli("data", "import", str(SAMPLE), "--out", "cache", cwd=tmp_path)
        assert code == 0 and "imported 4,320 candles" in out, (out, err)
        code, out, err = await _cli("data", "import", str(SAMPLE), "--out", "cache", cwd=tmp_path)
        assert code == 0 and "4,320 rows already in the cache skipped" in out, (out, err)

    asyncio.run(scenario())
    for a, b in zip(_columns(tmp_path / "cache"), _columns(SAMPLE), strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("args", [("--exchange", "nosuchvenue"), ("--timeframe", "7x")])
def test_bad_fetch_options_are_one_line(tmp_path: Path, args: tuple[str, str]) -> None:
    base = {
        "--exchange": "binance",
        "--symbol": "BTC/USDT",
        "--timeframe": "1m",
        "--since": "2026-01-01",
        "--endpoint": "http://127.0.0.1:9",
    }
    base[args[0]] = args[1]
    flat = [x for kv in base.items() for x in kv]
    code, _, err = asyncio.run(_cli("data", "fetch", *flat, "--out", "c", cwd=tmp_path))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"error: {args[0]} "), err


def test_ctrl_c_mid_download_keeps_the_pages_and_the_next_run_continues(tmp_path: Path) -> None:
    class CtrlCOnThirdPage:
        """The real ccxt exchange; the third page request is a Ctrl-C (KeyboardInterrupt)."""

        def __init__(self, ex: object) -> None:
            self._ex, self.calls = ex, 0

        def __getattr__(self, name: str) -> object:
            return getattr(self._ex, name)

        def fetch_ohlcv(self, *args: object, **kwargs: object) -> object:
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt
            return self._ex.fetch_ohlcv(*args, **kwargs)  # type: ignore[attr-defined]

    async def scenario() -> None:
        async with _server() as server:
            ex = CtrlCOnThirdPage(make_exchange("binance", server.http_url))
            first = await asyncio.to_thread(fetch_ohlcv, ex, "BTC/USDT", "1m", T0, None, tmp_path / "c")
            assert first.interrupted and first.stored == 2_000  # two pages, flushed on the interrupt
            second = await asyncio.to_thread(_fetch_in_process, server, tmp_path / "c", "1m", T0 + N * 60_000)
            assert not second.interrupted and second.stored == N - 2_000  # type: ignore[attr-defined]

    asyncio.run(scenario())
    c = generate_candles(N, seed=3, start_ms=T0)
    d = load_market_data(tmp_path / "c", Decimal("0.01"))
    assert np.array_equal(d.ts_ms, c["ts_ms"]) and np.array_equal(d.close, c["close"])
