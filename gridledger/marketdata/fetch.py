"""``gridledger data fetch``: OHLCV candles through ccxt's ``fetch_ohlcv`` into the local cache.

Pages of up to 1,000 candles (``since`` = the candle after the last one stored, ``until`` as the
venue's end time), paced by ccxt's own rate limiter (``enableRateLimit``). Every
``PAGES_PER_CHUNK`` pages become one cache chunk (and at the end, or on Ctrl-C), so an
interrupted download loses at most those pages; running the same command again continues
after the last stored candle. Prices stay the venue's exact decimal strings
(``exchange.number = str``) until the cache stores them as integers.

``endpoint`` points ccxt at a proxy or a test server (``gridledger.live.endpoint``: every URL
moves to it), as ``[exchange] endpoint`` does for live trading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from gridledger.marketdata.cache import CacheWriter, Columns, exact_prices
from gridledger.marketdata.series import DataError, iso

PAGE_LIMIT = 1000
PAGES_PER_CHUNK = 10


class FetchError(RuntimeError):
    """The exchange refused or failed; the message is one line."""


def make_exchange(exchange_id: str, endpoint: str | None = None, timeout_ms: int = 30_000) -> Any:
    """A synchronous ccxt exchange for public market data (no keys), rate-limited by ccxt."""
    import ccxt

    cls = getattr(ccxt, exchange_id, None)
    if exchange_id not in ccxt.exchanges or cls is None:
        raise ValueError(f"--exchange {exchange_id!r}: not a ccxt exchange id (e.g. binance, bybit, okx)")
    ex = cls(
        {
            "enableRateLimit": True,  # ccxt paces the calls (its rateLimit per exchange)
            "timeout": timeout_ms,
            # Spot markets only: the loader must not call margin, futures or currency endpoints.
            "options": {
                "fetchMarkets": {"types": ["spot"]},
                "fetchMargins": False,
                "fetchCurrencies": False,
                "defaultType": "spot",
            },
        }
    )
    ex.number = str  # exact decimal strings, never floats
    if endpoint is not None:
        from gridledger.live.endpoint import endpoint_urls

        http = endpoint.rstrip("/")
        local = endpoint_urls(ex.urls["api"], http, "ws" + http[len("http") :])
        ex.urls["api"] = local
        ex.urls["test"] = dict(local)
    return ex


@dataclass(slots=True)
class FetchResult:
    stored: int = 0  # candles written by this run
    resumed_after: int | None = None  # the last candle already in the cache when it started
    last_ts: int | None = None
    interrupted: bool = False


def fetch_ohlcv(
    ex: Any,
    symbol: str,
    timeframe: str,
    since_ms: int,
    until_ms: int | None,
    out: Path,
    progress: Callable[[int, int], None] | None = None,
) -> FetchResult:
    """Candles with open time in ``[since, until)`` appended to the cache at ``out``."""
    import ccxt

    try:
        interval_ms = int(ex.parse_timeframe(timeframe) * 1000)
    except Exception:
        raise ValueError(f"--timeframe {timeframe!r}: not a timeframe (1m, 5m, 1h, 1d, ...)") from None
    if interval_ms <= 0:
        raise ValueError(f"--timeframe {timeframe!r}: not a timeframe")
    if ex.timeframes and timeframe not in ex.timeframes:
        raise ValueError(f"--timeframe {timeframe}: {ex.id} offers {', '.join(ex.timeframes)}")
    writer = CacheWriter(
        out,
        {"kind": "candles", "exchange": ex.id, "symbol": symbol, "timeframe": timeframe, "interval_ms": interval_ms},
    )
    try:
        ex.load_markets()
    except ccxt.BaseError as exc:
        raise FetchError(f"{ex.id}: cannot load the markets: {type(exc).__name__}: {str(exc)[:300]}") from None
    if symbol not in ex.markets:
        raise ValueError(f"--symbol {symbol}: not a market of {ex.id}")
    until = until_ms if until_ms is not None else int(ex.milliseconds())
    result = FetchResult(resumed_after=writer.last_ts)
    start = since_ms if writer.last_ts is None else max(since_ms, writer.last_ts + interval_ms)
    total = max(1, (until - since_ms) // interval_ms)
    done = max(0, (start - since_ms) // interval_ms)
    pending: list[list[Any]] = []
    pages = 0

    def flush() -> None:
        if not pending:
            return
        cols, step = exact_prices([[str(r[k]) for r in pending] for k in (1, 2, 3, 4)])
        volume = np.asarray([float(r[5]) if r[5] is not None else 0.0 for r in pending], dtype=np.float64)
        writer.append(
            Columns(
                np.asarray([int(r[0]) for r in pending], dtype=np.int64),
                dict(zip(("open", "high", "low", "close"), cols, strict=True)),
                step,
                volume,
            )
        )
        result.stored += len(pending)
        result.last_ts = int(pending[-1][0])
        pending.clear()

    try:
        while start < until:
            try:
                page = ex.fetch_ohlcv(symbol, timeframe, since=start, limit=PAGE_LIMIT, params={"until": until - 1})
            except ccxt.BaseError as exc:
                raise FetchError(
                    f"{ex.id} fetch_ohlcv {symbol} {timeframe} since {iso(start)}: "
                    f"{type(exc).__name__}: {str(exc)[:300]}"
                ) from None
            rows = [r for r in page if start <= int(r[0]) < until]
            if not rows:
                break  # nothing more before `until` (the venue's history ends, or a gap to the end)
            for r in rows:
                if pending and int(r[0]) <= int(pending[-1][0]):
                    raise FetchError(f"{ex.id}: candles out of order at {iso(int(r[0]))}")
                if Decimal(str(r[2])) < Decimal(str(r[3])):
                    raise DataError(f"{ex.id}: candle at {iso(int(r[0]))} has its high below its low")
            pending.extend(rows)
            start = int(rows[-1][0]) + interval_ms
            done = (start - since_ms) // interval_ms
            pages += 1
            if pages % PAGES_PER_CHUNK == 0:
                flush()
            if progress is not None:
                progress(min(done, total), total)
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        flush()  # what was downloaded is kept: the next run continues after it
    if writer.last_ts is not None:
        result.last_ts = writer.last_ts
    return result
