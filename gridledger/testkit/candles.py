"""Generated candles, for the shipped sample file, tests and benchmarks (no internet needed).

An Ornstein-Uhlenbeck log-price (the paper venue's model, same units: annualised volatility
and mean reversion) sampled at each candle's close; each candle opens at the previous close
and reaches above and below its body by a random share of one candle's standard deviation.
Seeded (numpy's PCG64), so the same arguments always give the same file.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np

_MS_PER_YEAR = 365 * 24 * 3600 * 1000


def generate_candles(
    n: int,
    *,
    seed: int = 7,
    start_ms: int = 1_767_225_600_000,
    interval_ms: int = 60_000,
    start_price: float = 30_000.0,
    volatility: float = 0.6,
    mean_reversion: float = 30.0,
    price_step: Decimal = Decimal("0.01"),
    volume_mean: float = 20.0,
) -> dict[str, np.ndarray]:
    """``n`` candles as arrays: ``ts_ms`` (int64) and ``open/high/low/close`` (int64 ticks of
    ``price_step``), ``volume`` (float64)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    dt = interval_ms / _MS_PER_YEAR
    theta = mean_reversion
    decay = float(np.exp(-theta * dt))
    sd = volatility * (np.sqrt((1 - decay * decay) / (2 * theta)) if theta > 0 else np.sqrt(dt))
    mu = np.log(start_price)
    shocks = rng.standard_normal(n) * sd
    x = np.empty(n + 1)
    x[0] = mu
    # x[k+1] = mu + (x[k] - mu) * decay + shock[k], a linear recurrence solved per block.
    dev = 0.0
    devs = np.empty(n)
    # Blocks short enough that decay^m stays far from underflow (1-day candles decay fast).
    size = max(1, min(65_536, int(50 / max(theta * dt, 1e-12))))
    for k0 in range(0, n, size):  # a loop over blocks, vectorised inside: decay^j weights
        block = shocks[k0 : k0 + size]
        m = block.shape[0]
        powers = decay ** np.arange(m)
        # dev_j = decay^(j+1) * dev0 + sum_{i<=j} decay^(j-i) * shock_i
        scaled = np.cumsum(block / powers) * powers
        devs[k0 : k0 + m] = decay * powers * dev + scaled
        dev = float(devs[k0 + m - 1])
    x[1:] = mu + devs
    step = float(price_step)
    closes = np.maximum(np.rint(np.exp(x) / step), 1).astype(np.int64)
    opens, closes = closes[:-1], closes[1:]
    body_hi = np.maximum(opens, closes)
    body_lo = np.minimum(opens, closes)
    wick = np.abs(rng.standard_normal((2, n))) * sd * 0.6
    highs = np.maximum(np.rint(body_hi * np.exp(wick[0])), body_hi).astype(np.int64)
    lows = np.maximum(np.minimum(np.rint(body_lo * np.exp(-wick[1])), body_lo), 1).astype(np.int64)
    volume = np.round(rng.exponential(volume_mean, n), 5)
    ts = start_ms + interval_ms * np.arange(n, dtype=np.int64)
    return {"ts_ms": ts, "open": opens, "high": highs, "low": lows, "close": closes, "volume": volume}


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -int(exponent))


def write_ohlcv_csv(
    path: str | Path,
    candles: dict[str, np.ndarray],
    price_step: Decimal = Decimal("0.01"),
    time_column: str = "timestamp",
) -> Path:
    """Write ``timestamp,open,high,low,close,volume`` (ccxt's OHLCV columns, time in ms);
    ``time_column="timestamp_ms"`` gives the spelling ``[paper] candles_csv`` reads."""
    path = Path(path)
    places = _decimals(price_step)
    step = float(price_step)
    cols = [candles["ts_ms"].astype(np.float64)]
    cols += [candles[k] * step for k in ("open", "high", "low", "close")]
    cols.append(candles["volume"])
    table = np.column_stack(cols)
    fmt = ["%d"] + [f"%.{places}f"] * 4 + ["%.5f"]
    np.savetxt(path, table, fmt=fmt, delimiter=",", header=f"{time_column},open,high,low,close,volume", comments="")
    return path
