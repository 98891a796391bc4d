"""The local market data cache: a folder of numpy ``.npz`` chunks and a ``meta.json``.

Why numpy rather than Parquet: numpy is already a dependency (the backtest's columns are numpy
arrays), its ``.npz`` files are columnar, load with ``allow_pickle=False`` (no code runs on
read), and appending a chunk per batch of pages is what makes a download resumable. pyarrow
would add about 100 MB to the install for a format only this cache reads.

Layout::

    CACHE/meta.json          {"format": "gridledger-market-cache", "version": 1, "kind": "candles", ...}
    CACHE/chunk-000001.npz   ts_ms int64; open/high/low/close int64 counts of `step`; volume float64
    CACHE/chunk-000002.npz   ... (trades: ts_ms, price, volume)

Prices are exact: each chunk stores integers and the decimal ``step`` they count (``"0.01"``:
30000.01 is 3000001), chosen from the prices' own digits, so no float ever decides a price. A
chunk is written to a temporary name and renamed into place, so an interrupted writer leaves
whole chunks only; chunks are in time order and never overlap (a resumed download continues
after the last stored candle).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import numpy as np

from gridledger.marketdata.series import DataError, MarketData, _gaps, iso

FORMAT = "gridledger-market-cache"
VERSION = 1
META = "meta.json"
_CHUNK = re.compile(r"chunk-(\d{6})\.npz")
_PRICE_COLUMNS = {"candles": ("open", "high", "low", "close"), "trades": ("price",)}


def is_cache(path: Path) -> bool:
    return path.is_dir() and (path / META).is_file()


def _chunks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if _CHUNK.fullmatch(p.name))


@dataclass(frozen=True, slots=True)
class Columns:
    """One batch to store: prices as integer counts of ``step``."""

    ts_ms: np.ndarray
    prices: dict[str, np.ndarray]
    step: Decimal
    volume: np.ndarray


def exact_prices(texts: list[list[str]]) -> tuple[list[np.ndarray], Decimal]:
    """Columns of decimal strings -> int64 arrays counting one common ``10^-d`` step (exact)."""
    decimals = 0
    values = [[Decimal(t) for t in col] for col in texts]
    for col in values:
        for v in col:
            if not v.is_finite() or v <= 0:
                raise DataError(f"not a price: {v}")
            exponent = v.normalize().as_tuple().exponent
            assert isinstance(exponent, int)
            decimals = max(decimals, -exponent)
    step = Decimal(1).scaleb(-decimals)
    return [np.asarray([int(v.scaleb(decimals)) for v in col], dtype=np.int64) for col in values], step


class CacheWriter:
    """Appends chunks to a cache folder; creates it with ``meta`` or checks ``meta`` matches."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        self.folder = folder
        if folder.exists() and not folder.is_dir():
            raise DataError(f"{folder}: exists and is not a folder (a cache is a folder)")
        if is_cache(folder):
            stored = read_meta(folder)
            for key, value in meta.items():
                if stored.get(key) != value:
                    raise DataError(
                        f"{folder}: a cache of {describe_meta(stored)}, not of {describe_meta(meta)}; use another --out"
                    )
            self.meta = stored
        else:
            if folder.exists() and any(folder.iterdir()):
                raise DataError(f"{folder}: a folder that is not a gridledger cache and not empty; use another --out")
            folder.mkdir(parents=True, exist_ok=True)
            self.meta = {"format": FORMAT, "version": VERSION, **meta}
            _atomic_write(folder / META, (json.dumps(self.meta, indent=2) + "\n").encode())
        chunks = _chunks(folder)
        self._next = int(_CHUNK.fullmatch(chunks[-1].name).group(1)) + 1 if chunks else 1  # type: ignore[union-attr]
        self.last_ts: int | None = None
        if chunks:
            with np.load(chunks[-1], allow_pickle=False) as z:
                self.last_ts = int(z["ts_ms"][-1])

    def append(self, cols: Columns) -> None:
        n = int(cols.ts_ms.shape[0])
        if n == 0:
            return
        ts = cols.ts_ms.astype(np.int64)
        if np.any(np.diff(ts) < 0) or (self.meta["kind"] == "candles" and np.any(np.diff(ts) == 0)):
            raise DataError(f"{self.folder}: rows out of time order")
        if self.last_ts is not None and (
            ts[0] < self.last_ts or (self.meta["kind"] == "candles" and ts[0] == self.last_ts)
        ):
            raise DataError(
                f"{self.folder}: rows from {iso(int(ts[0]))} overlap the cache (it ends at {iso(self.last_ts)})"
            )
        arrays: dict[str, np.ndarray] = {
            "ts_ms": ts,
            "step": np.asarray(str(cols.step)),
            "volume": cols.volume.astype(np.float64),
        }
        for name in _PRICE_COLUMNS[self.meta["kind"]]:
            arrays[name] = cols.prices[name].astype(np.int64)
        path = self.folder / f"chunk-{self._next:06d}.npz"
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as handle:
            np.savez(handle, allow_pickle=False, **arrays)  # plain numbers and text: the cache holds no pickles
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        self._next += 1
        self.last_ts = int(ts[-1])


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def read_meta(folder: Path) -> dict[str, Any]:
    try:
        meta = json.loads((folder / META).read_text())
    except (OSError, ValueError) as exc:
        raise DataError(f"{folder / META}: unreadable cache description ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("kind") not in _PRICE_COLUMNS:
        raise DataError(f"{folder / META}: not a gridledger market data cache")
    if meta.get("version") != VERSION:
        raise DataError(f"{folder / META}: cache version {meta.get('version')}, this gridledger reads {VERSION}")
    return meta


def describe_meta(meta: dict[str, Any]) -> str:
    what = " ".join(str(meta[k]) for k in ("exchange", "symbol", "timeframe") if meta.get(k))
    return f"{meta.get('kind')} {what}".strip()


def _to_ticks(values: np.ndarray, step: Decimal, price_step: Decimal, where: str) -> np.ndarray:
    ratio = step / price_step
    if ratio == ratio.to_integral_value():
        return values * int(ratio)  # exact: the stored step is a whole number of price steps
    scaled = values.astype(np.float64) * float(ratio)
    if scaled.size and float(np.max(scaled)) >= 2**53:
        raise DataError(f"{where}: prices too large for the price step {price_step}")
    ticks = np.rint(scaled)
    for i in np.flatnonzero(np.abs(scaled - ticks) > 1e-6).tolist():  # off the grid: round exactly, half to even
        ticks[i] = float((Decimal(int(values[i])) * ratio).to_integral_value(rounding=ROUND_HALF_EVEN))
    return np.maximum(ticks, 1).astype(np.int64)  # at least one step, as the file reader


def load_cache(folder: Path, price_step: Decimal) -> MarketData:
    """The cache as columnar market data, prices in ticks of ``price_step``."""
    meta = read_meta(folder)
    kind = meta["kind"]
    names = _PRICE_COLUMNS[kind]
    ts_parts: list[np.ndarray] = []
    price_parts: dict[str, list[np.ndarray]] = {n: [] for n in names}
    volume_parts: list[np.ndarray] = []
    for chunk in _chunks(folder):
        try:
            with np.load(chunk, allow_pickle=False) as z:
                step = Decimal(str(z["step"]))
                ts_parts.append(z["ts_ms"].astype(np.int64))
                for n in names:
                    price_parts[n].append(_to_ticks(z[n].astype(np.int64), step, price_step, str(chunk)))
                volume_parts.append(z["volume"].astype(np.float64))
        except (OSError, ValueError, KeyError) as exc:
            raise DataError(f"{chunk}: damaged cache chunk ({exc})") from None
    if not ts_parts:
        raise DataError(f"{folder}: the cache holds no {kind} yet")
    ts = np.concatenate(ts_parts)
    if np.any(np.diff(ts) < 0):
        raise DataError(f"{folder}: chunks out of time order")
    prices = {n: np.concatenate(p) for n, p in price_parts.items()}
    top = max(int(a.max()) for a in prices.values())
    dtype = np.int32 if top < 2**31 else np.int64
    prices = {n: a.astype(dtype) for n, a in prices.items()}
    volume = np.concatenate(volume_parts)
    source = str(folder)
    if kind == "trades":
        p = prices["price"]
        return MarketData("trades", source, "cache", price_step, ts, p, p, p, p, volume, 0)
    interval = int(meta["interval_ms"])
    return MarketData(
        "candles",
        source,
        "cache",
        price_step,
        ts,
        prices["open"],
        prices["high"],
        prices["low"],
        prices["close"],
        volume,
        interval,
        _gaps(ts, interval),
    )
