"""Price paths for the simulated exchange: synthetic, recorded trades, recorded candles.

A path is an iterable of :class:`Tick` (a public trade print: time, price, volume). Paths are
re-iterable and deterministic: iterating twice yields the same ticks, because every iteration
builds its own ``random.Random(seed)`` (never the global generator, never the wall clock).
The synthetic model works in floats (normal draws, ``exp``); every tick it emits carries a
``Decimal`` price quantized to the market's price step and a ``Decimal`` volume.
"""

from __future__ import annotations

import csv
import math
import random
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from itertools import islice
from pathlib import Path

from gridledger.domain.numbers import quantize_down

_MS_PER_YEAR = 365 * 24 * 3600 * 1000
_DEFAULT_VOLUME_STEP = Decimal("0.00000001")


@dataclass(frozen=True, slots=True)
class Tick:
    """One public trade print: at ``ts_ms`` the market traded ``volume`` at ``price``."""

    ts_ms: int
    price: Decimal
    volume: Decimal


def take(path: Iterable[Tick], n: int) -> list[Tick]:
    """The first ``n`` ticks of a path."""
    return list(islice(path, n))


def _quantize_price(value: Decimal, step: Decimal) -> Decimal:
    steps = (value / step).to_integral_value(rounding=ROUND_HALF_EVEN)
    return max(steps, Decimal(1)) * step


@dataclass(frozen=True, slots=True)
class SyntheticPath:
    """Ornstein-Uhlenbeck log-price with occasional jumps, one tick every ``tick_ms``.

    Units (all rates annualised, 365-day year, so a config reads like a market description):

    - ``volatility``: annualised standard deviation of the log-price (0.6 = 60 %/year); the
      per-tick standard deviation is ``volatility * sqrt(tick_ms / ms_per_year)``.
    - ``mean_reversion``: annual rate θ pulling the log-price back to ``log(start_price)``;
      0 gives a pure random walk. The half-life of a deviation is ``ln 2 / θ`` years
      (θ = 365 → about 17 hours).
    - ``jump_probability``: chance per tick of a jump; ``jump_scale`` is the standard
      deviation of the jump in log-price (0.02 ≈ 2 % moves).
    - ``volume_mean``: mean of the exponentially distributed tick volume (base units),
      quantized down to ``volume_step``.

    The path emits ``n`` ticks, or forever when ``n`` is None; the first tick is at
    ``start_ms`` with price ``start_price`` (quantized), so a run starts where it is told to.
    """

    seed: int
    start_price: Decimal
    price_step: Decimal
    tick_ms: int = 1000
    volatility: float = 0.5
    mean_reversion: float = 0.0
    jump_probability: float = 0.0
    jump_scale: float = 0.0
    volume_mean: Decimal = Decimal(1)
    start_ms: int = 0
    n: int | None = None
    volume_step: Decimal = _DEFAULT_VOLUME_STEP

    def __post_init__(self) -> None:
        if self.start_price <= 0 or self.price_step <= 0:
            raise ValueError("start_price and price_step must be positive")
        if self.tick_ms <= 0:
            raise ValueError(f"tick_ms must be positive, got {self.tick_ms}")
        if self.volatility < 0 or self.mean_reversion < 0 or self.jump_scale < 0:
            raise ValueError("volatility, mean_reversion and jump_scale must be >= 0")
        if not 0 <= self.jump_probability <= 1:
            raise ValueError(f"jump_probability must be in [0, 1], got {self.jump_probability}")
        if self.volume_mean <= 0 or self.volume_step <= 0:
            raise ValueError("volume_mean and volume_step must be positive")
        if self.n is not None and self.n < 0:
            raise ValueError(f"n must be >= 0, got {self.n}")

    def __iter__(self) -> Iterator[Tick]:
        rng = random.Random(self.seed)
        dt = self.tick_ms / _MS_PER_YEAR
        mu = math.log(float(self.start_price))
        theta = self.mean_reversion
        # Exact OU transition over one tick, so large θ·dt does not overshoot the mean.
        decay = math.exp(-theta * dt)
        if theta > 0:
            step_sd = self.volatility * math.sqrt((1 - decay * decay) / (2 * theta))
        else:
            step_sd = self.volatility * math.sqrt(dt)
        volume_rate = 1 / float(self.volume_mean)
        x = mu
        i = 0
        while self.n is None or i < self.n:
            if i == 0:
                price = _quantize_price(self.start_price, self.price_step)
            else:
                x = mu + (x - mu) * decay + step_sd * rng.normalvariate(0.0, 1.0)
                if self.jump_probability and rng.random() < self.jump_probability:
                    x += rng.normalvariate(0.0, self.jump_scale)
                price = _quantize_price(Decimal(repr(math.exp(x))), self.price_step)
            volume = quantize_down(Decimal(repr(rng.expovariate(volume_rate))), self.volume_step)
            yield Tick(ts_ms=self.start_ms + i * self.tick_ms, price=price, volume=volume)
            i += 1


def _parse_decimal(text: str, what: str, line: int, path: Path) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{path}:{line}: {what} is not a number: {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"{path}:{line}: {what} is not finite: {text!r}")
    return value


def _parse_ts(text: str, line: int, path: Path) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{path}:{line}: timestamp_ms is not an integer: {text!r}") from None


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, list[str]]]:
    """Data rows with their 1-based line numbers, after checking the header."""
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path}:1: empty file, expected header {','.join(columns)}")
        names = tuple(h.strip().lower() for h in header)
        if names != columns:
            raise ValueError(f"{path}:1: header must be {','.join(columns)}, got {','.join(header)}")
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                raise ValueError(f"{path}:{line}: expected {len(columns)} columns, got {len(row)}")
            yield line, row


@dataclass(frozen=True, slots=True)
class CsvTradesPath:
    """Recorded trades: header ``timestamp_ms,price,amount``, one trade per line.

    Each row becomes one tick. Rows are checked as they are read: a malformed row raises
    ``ValueError`` naming the line. ``price_step`` (optional) rounds prices to the market's
    step, for data recorded on a finer grid.
    """

    path: Path | str
    price_step: Decimal | None = None

    def __iter__(self) -> Iterator[Tick]:
        path = Path(self.path)
        last_ts: int | None = None
        for line, row in _rows(path, ("timestamp_ms", "price", "amount")):
            ts = _parse_ts(row[0], line, path)
            price = _parse_decimal(row[1], "price", line, path)
            amount = _parse_decimal(row[2], "amount", line, path)
            if price <= 0:
                raise ValueError(f"{path}:{line}: price must be positive, got {row[1]!r}")
            if amount < 0:
                raise ValueError(f"{path}:{line}: amount must be >= 0, got {row[2]!r}")
            if last_ts is not None and ts < last_ts:
                raise ValueError(f"{path}:{line}: timestamp_ms goes backwards ({ts} < {last_ts})")
            last_ts = ts
            if self.price_step is not None:
                price = _quantize_price(price, self.price_step)
            yield Tick(ts_ms=ts, price=price, volume=amount)


@dataclass(frozen=True, slots=True)
class CsvCandlesPath:
    """Recorded candles: header ``timestamp_ms,open,high,low,close,volume`` (open time).

    ``interval_ms`` None (the default) infers the candle interval from the file: the most
    common spacing of its timestamps (60 s for a single candle), so 1-second candles are
    read and a 1-hour candle plays over its hour, not in its first minute (issue 9).

    Each candle expands to four ticks spaced ``interval_ms / 4`` apart: the open, then the
    low and the high in the order the candle's direction suggests (an up candle dips first,
    then rallies: O, L, H, C; a down candle: O, H, L, C), then the close. The volume is split
    evenly, the close tick taking the remainder so the four add up exactly.
    """

    path: Path | str
    interval_ms: int | None = None
    price_step: Decimal | None = None

    def __post_init__(self) -> None:
        if self.interval_ms is not None and self.interval_ms < 4:
            raise ValueError(f"interval_ms must be >= 4, got {self.interval_ms}")

    def _inferred_interval(self, path: Path, columns: tuple[str, ...]) -> int:
        spacings: Counter[int] = Counter()
        last: int | None = None
        for line, row in _rows(path, columns):
            ts = _parse_ts(row[0], line, path)
            if last is not None and ts > last:
                spacings[ts - last] += 1
            last = ts
        return max(4, spacings.most_common(1)[0][0]) if spacings else 60_000

    def __iter__(self) -> Iterator[Tick]:
        path = Path(self.path)
        columns = ("timestamp_ms", "open", "high", "low", "close", "volume")
        interval = self.interval_ms if self.interval_ms is not None else self._inferred_interval(path, columns)
        quarter = interval // 4
        last_ts: int | None = None
        for line, row in _rows(path, columns):
            ts = _parse_ts(row[0], line, path)
            o, h, lo, c, v = (_parse_decimal(row[k], columns[k], line, path) for k in range(1, 6))
            if min(o, h, lo, c) <= 0:
                raise ValueError(f"{path}:{line}: prices must be positive")
            if v < 0:
                raise ValueError(f"{path}:{line}: volume must be >= 0, got {row[5]!r}")
            if h < max(o, c, lo) or lo > min(o, c):
                raise ValueError(f"{path}:{line}: high/low do not bound open/close")
            if last_ts is not None and ts < last_ts + interval:
                raise ValueError(
                    f"{path}:{line}: candle at {ts} overlaps the previous one at {last_ts} (interval {interval} ms)"
                )
            last_ts = ts
            middle = (lo, h) if c >= o else (h, lo)
            share = v / 4
            volumes = (share, share, share, v - 3 * share)
            for k, price in enumerate((o, *middle, c)):
                if self.price_step is not None:
                    price = _quantize_price(price, self.price_step)
                yield Tick(ts_ms=ts + k * quarter, price=price, volume=volumes[k])


PricePath = Iterable[Tick]
