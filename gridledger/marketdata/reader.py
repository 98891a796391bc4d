"""Read a market data file (CSV or a zip holding one CSV) into columnar arrays.

The file's lines are counted first, the output arrays allocated once, and the file read in
blocks of lines that numpy parses straight into them: memory holds the arrays (about 32 bytes
a candle) and one block of text, never a Python object per row for the whole file. Every malformed row is refused with one line naming the file, the
line and the column.

Prices go from text to ``float64`` (numpy's parser) to ticks of the price step with
``rint``. A float is exact enough for that whenever the text lies on the step grid (every
exchange prints prices on its tick): the quotient is within 1e-9 of an integer far below
2^52. Text that is off the grid (data recorded with a finer step) is rounded again from the
text with ``Decimal`` half-to-even, the rule the paper venue uses, so no float rounding ever
decides a price.
"""

from __future__ import annotations

import functools
import io
import zipfile
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np

from gridledger.marketdata.cache import is_cache, load_cache
from gridledger.marketdata.formats import Format, detect
from gridledger.marketdata.series import MAX_INTERVAL_MS, MIN_INTERVAL_MS, DataError, MarketData, _gaps, interval_name

BLOCK_LINES = 16384
MICROSECONDS_FROM = 10**14  # a timestamp this large is in microseconds (Binance spot from 2025)
MAX_TICKS = 2**50  # price / step above this would lose integer precision in float64
_INT32_MAX = 2**31 - 1


def _text_lines(path: Path) -> Iterator[str]:
    """Lines of a CSV file, or of the single CSV inside a zip (Binance's monthly/daily files)."""
    if path.suffix.lower() == ".zip":
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise DataError(f"{path}: not a zip file") from None
        with archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if len(members) != 1:
                raise DataError(f"{path}: a zip must hold exactly one CSV file, it holds {len(members)}")
            with archive.open(members[0]) as raw:
                yield from _decode(io.TextIOWrapper(raw, encoding="utf-8", newline=""), path)
        return
    with path.open("r", encoding="utf-8", newline="") as handle:
        yield from _decode(handle, path)


def _cell_at(cell: Callable[[int, int], str], i: int, col: int) -> str:
    return cell(i, col)


def _decode(handle: io.TextIOBase, path: Path) -> Iterator[str]:
    line = 0
    try:
        for line, text in enumerate(handle, 1):  # noqa: B007 - the except names the line it failed after
            yield text.rstrip("\r\n")
    except UnicodeDecodeError:
        raise DataError(f"{path}:{line + 1}: not UTF-8 text") from None


def _cell_error(path: Path, line: int, fmt: Format, col: int, problem: str, value: str) -> DataError:
    return DataError(f"{path}:{line}: column {col + 1} ({fmt.columns[col]}): {problem}: {value.strip()[:40]!r}")


def _ticks(
    values: np.ndarray, step: Decimal, path: Path, lines: np.ndarray, fmt: Format, col: int, cell: Callable[[int], str]
) -> np.ndarray:
    bad = np.flatnonzero(values <= 0)
    if bad.size:
        i = int(bad[0])
        raise _cell_error(path, int(lines[i]), fmt, col, "a price must be positive", cell(i))
    scaled = values / float(step)
    big = np.flatnonzero(scaled >= MAX_TICKS)
    if big.size:
        i = int(big[0])
        raise _cell_error(path, int(lines[i]), fmt, col, f"too many price steps of {step}", cell(i))
    ticks = np.rint(scaled)
    off = np.flatnonzero(np.abs(scaled - ticks) > 1e-6)
    for i in off.tolist():  # off the step grid: round the text exactly, half to even (as the paper venue does)
        exact = (Decimal(cell(i).strip()) / step).to_integral_value(rounding=ROUND_HALF_EVEN)
        ticks[i] = float(exact)
    out = ticks.astype(np.int64)
    np.maximum(out, 1, out=out)  # a price below half a step is one step, never zero
    return out


def _millis(ts: np.ndarray) -> np.ndarray:
    micro = ts >= MICROSECONDS_FROM
    if micro.any():
        ts = np.where(micro, ts // 1000, ts)
    return ts


class _Columns:
    """The output arrays, allocated once for at most ``capacity`` rows and filled block by
    block, so reading never holds more than the data plus one block (no lists to join).

    Prices start as ``int32`` ticks (half the memory; enough below 2^31 steps, e.g. 21
    million at a step of 0.01) and widen to ``int64`` once, if a price needs it.
    """

    def __init__(self, fmt: Format, capacity: int) -> None:
        self.n = 0
        self.ts = np.empty(capacity, dtype=np.int64)
        self.prices = [np.empty(capacity, dtype=np.int32) for _ in fmt.prices]
        self.volume = np.empty(capacity, dtype=np.float32)  # reported, never booked
        self.close_time = np.empty(capacity, dtype=np.int64) if fmt.close_time is not None else None
        self.lines = np.empty(capacity, dtype=np.int32)  # line numbers, for messages only

    def put(
        self,
        ts: np.ndarray,
        prices: list[np.ndarray],
        volume: np.ndarray,
        close_time: np.ndarray | None,
        lines: np.ndarray,
    ) -> None:
        lo, hi = self.n, self.n + ts.shape[0]
        if any(int(p.max()) > _INT32_MAX for p in prices) and self.prices[0].dtype != np.int64:
            self.prices = [a.astype(np.int64) for a in self.prices]
        self.ts[lo:hi] = ts
        for column, values in zip(self.prices, prices, strict=True):
            column[lo:hi] = values
        self.volume[lo:hi] = volume
        if self.close_time is not None and close_time is not None:
            self.close_time[lo:hi] = close_time
        self.lines[lo:hi] = lines
        self.n = hi

    def trimmed(self) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, np.ndarray | None, np.ndarray]:
        n = self.n
        ct = self.close_time[:n] if self.close_time is not None else None
        return self.ts[:n], [p[:n] for p in self.prices], self.volume[:n], ct, self.lines[:n]


def _explain(rows: list[str], lines: np.ndarray, fmt: Format, path: Path) -> DataError:
    """numpy refused the block: find the first bad row or cell, the slow way, for the message."""
    for i, text in enumerate(rows):
        cells = text.split(",")
        if not fmt.accepts(len(cells)):
            want = " or ".join(str(w) for w in (fmt.widths or (len(fmt.columns),)))
            return DataError(f"{path}:{int(lines[i])}: expected {want} columns ({fmt.name}), got {len(cells)}")
        for col in _used(fmt):
            try:
                float(cells[col].strip())
            except ValueError:
                return _cell_error(path, int(lines[i]), fmt, col, "not a number", cells[col])
    return DataError(f"{path}:{int(lines[0])}: unreadable rows ({fmt.name})")  # pragma: no cover


def _used(fmt: Format) -> tuple[int, ...]:
    cols = (fmt.ts, *fmt.prices, fmt.volume)
    return cols + ((fmt.close_time,) if fmt.close_time is not None else ())


def _block(rows: list[str], lines: np.ndarray, fmt: Format, step: Decimal, path: Path, out: _Columns) -> None:
    used = _used(fmt)
    if fmt.widths:  # a subset of columns is read: check the row widths here
        widths = {r.count(",") + 1 for r in rows}
        if not all(fmt.accepts(w) for w in widths):
            raise _explain(rows, lines, fmt, path)
    try:
        table = np.loadtxt(
            rows, delimiter=",", dtype=np.float64, usecols=used if fmt.widths else None, comments=None, ndmin=2
        )
    except ValueError:
        raise _explain(rows, lines, fmt, path) from None
    if table.shape[1] != (len(used) if fmt.widths else len(fmt.columns)):
        raise _explain(rows, lines, fmt, path)
    pos = {col: k for k, col in enumerate(used)} if fmt.widths else {col: col for col in used}

    def cell(i: int, col: int) -> str:
        return rows[i].split(",")[col]

    def column(col: int) -> np.ndarray:
        values = table[:, pos[col]]
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            i = int(bad[0])
            raise _cell_error(path, int(lines[i]), fmt, col, "not a finite number", cell(i, col))
        return values

    def stamps(col: int) -> np.ndarray:
        values = column(col)
        bad = np.flatnonzero((values != np.floor(values)) | (values < 0) | (values >= 2**53))
        if bad.size:
            i = int(bad[0])
            raise _cell_error(path, int(lines[i]), fmt, col, "not a timestamp (a whole number >= 0)", cell(i, col))
        return _millis(values.astype(np.int64))

    ts = stamps(fmt.ts)
    prices = [
        _ticks(column(c), step, path, lines, fmt, c, functools.partial(_cell_at, cell, col=c)) for c in fmt.prices
    ]
    volume = column(fmt.volume).copy()  # a copy: a view would keep the block's whole table alive
    neg = np.flatnonzero(volume < 0)
    if neg.size:
        i = int(neg[0])
        raise _cell_error(path, int(lines[i]), fmt, fmt.volume, "a volume must be >= 0", cell(i, fmt.volume))
    if fmt.kind == "candles":
        o, h, lo, c = prices
        bad = np.flatnonzero((h < np.maximum(np.maximum(o, c), lo)) | (lo > np.minimum(o, c)))
        if bad.size:
            i = int(bad[0])
            o_, h_, l_, c_ = (cell(i, k).strip() for k in fmt.prices)
            raise DataError(
                f"{path}:{int(lines[i])}: columns high/low: high {h_} and low {l_} do not bound "
                f"open {o_} and close {c_}"
            )
    close_time = stamps(fmt.close_time) if fmt.close_time is not None else None
    out.put(ts, prices, volume, close_time, lines)


def _count_lines(path: Path) -> int:
    """An upper bound on the rows: the file's lines (the zip member's, decompressed once)."""
    count = 0
    if path.suffix.lower() == ".zip":
        for _ in _text_lines(path):
            count += 1
        return count
    with path.open("rb") as handle:
        tail = b"\n"
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
            tail = chunk[-1:]
    return count + (tail != b"\n")


def _infer_interval(ts: np.ndarray, close_time: np.ndarray | None, lines: np.ndarray, path: Path) -> int:
    """The candle interval: Binance's close_time - open_time + 1, else the most common spacing."""
    if close_time is not None and close_time.size:
        spans = close_time - ts + 1
        interval = int(spans[0])
        bad = np.flatnonzero(spans != interval)
        if bad.size:
            i = int(bad[0])
            raise DataError(
                f"{path}:{int(lines[i])}: column 7 (close_time): the candle spans {int(spans[i])} ms, "
                f"the first one {interval} ms"
            )
    elif ts.size < 2:
        raise DataError(f"{path}: one candle only: the candle interval cannot be inferred")
    else:
        # The most common spacing among the first 100,000 (a sample keeps the sort small).
        values, counts = np.unique(np.diff(ts[:100_001]), return_counts=True)
        interval = int(values[int(np.argmax(counts))])
    if not MIN_INTERVAL_MS <= interval <= MAX_INTERVAL_MS:
        raise DataError(f"{path}: candles every {interval} ms: the interval must be between 1s and 1d")
    return interval


def load_market_data(path: str | Path, price_step: Decimal) -> MarketData:
    """Read candles or trades from ``path`` (format detected from the first line).

    Prices become ticks of ``price_step`` (half to even off the grid, at least one step).
    Candles must be in time order without overlap; trades in time order (equal times are
    fine). Raises :class:`DataError` (a ``ValueError``) with file, line and column.
    """
    path = Path(path)
    if is_cache(path):  # a folder written by `gridledger data import` / `data fetch`
        return load_cache(path, price_step)
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a data file or a gridledger cache")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if price_step <= 0:
        raise ValueError(f"price_step must be > 0, got {price_step}")
    fmt: Format | None = None
    out: _Columns | None = None
    rows: list[str] = []
    numbers: list[int] = []
    try:
        for number, text in enumerate(_text_lines(path), 1):
            if not text or text.isspace():
                continue
            if fmt is None:
                try:
                    fmt, header = detect(text.split(","))
                except ValueError as exc:
                    raise DataError(f"{path}:{number}: {exc}") from None
                out = _Columns(fmt, _count_lines(path))
                if header:
                    continue
            rows.append(text)
            numbers.append(number)
            if len(rows) >= BLOCK_LINES:
                assert out is not None
                _block(rows, np.array(numbers, dtype=np.int32), fmt, price_step, path, out)
                rows, numbers = [], []
        if rows:
            assert fmt is not None and out is not None
            _block(rows, np.array(numbers, dtype=np.int32), fmt, price_step, path, out)
    except OSError as exc:
        raise DataError(f"{path}: {exc.strerror or exc}") from None
    except zipfile.BadZipFile as exc:
        raise DataError(f"{path}: damaged zip file ({exc})") from None
    if fmt is None or out is None or out.n == 0:
        raise DataError(f"{path}: no data rows")
    ts, prices, volume, close_time, lines = out.trimmed()
    diffs = np.diff(ts)
    if fmt.kind == "trades":
        back = np.flatnonzero(diffs < 0)
        if back.size:
            i = int(back[0]) + 1
            raise DataError(
                f"{path}:{int(lines[i])}: column {fmt.ts + 1} ({fmt.columns[fmt.ts]}): "
                f"time goes backwards ({int(ts[i])} < {int(ts[i - 1])})"
            )
        p = prices[0]
        return MarketData("trades", str(path), fmt.name, price_step, ts, p, p, p, p, volume, 0)
    # Repeats and steps back first: they would otherwise pass for a tiny interval.
    short = np.flatnonzero(diffs <= 0)
    interval = _infer_interval(ts, close_time, lines, path) if not short.size else 0
    if not short.size:
        short = np.flatnonzero(diffs < interval)
    if short.size:
        i = int(short[0]) + 1
        what = "repeats" if diffs[i - 1] == 0 else ("goes backwards" if diffs[i - 1] < 0 else "overlaps")
        within = f" (interval {interval_name(interval)})" if interval else ""
        raise DataError(
            f"{path}:{int(lines[i])}: column {fmt.ts + 1} ({fmt.columns[fmt.ts]}): the candle at "
            f"{int(ts[i])} {what} the previous one at {int(ts[i - 1])}{within}"
        )
    o, h, lo, c = prices
    return MarketData(
        "candles", str(path), fmt.name, price_step, ts, o, h, lo, c, volume, interval, _gaps(ts, interval)
    )
