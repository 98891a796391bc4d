"""The simulated venue's ticker without a round trip through Binance's wire format.

Issue 12 item 5: formatting each tick as a Binance ``24hrTicker`` event and parsing it back
with ccxt.pro's ``parse_ws_ticker`` was about a quarter of a paper tick, for a payload the
venue produced itself and no fault touches (faults act on the private stream and on REST;
tickers go straight from the price feed to their waiters). :func:`unified_ws_ticker` builds
the very dict that parse gives (same keys, same order, same strings, ``info`` included),
reading the numbers once. Whatever it cannot vouch for (a zero price, an unexpected market
shape) goes through the format + parse path instead; tests/exchange/test_sim_ticker_fast.py
compares the two on many price paths.
"""

from __future__ import annotations

import time
from decimal import ROUND_DOWN, Context, Decimal
from typing import Any

from ccxt.base.precise import Precise

from gridledger.exchange.sim import binance_market as bm
from gridledger.exchange.sim.binance_format import Q8, fmt8
from gridledger.exchange.sim.values import TickerStats

_YEAR_10000_MS = 253_402_300_800_000  # 10000-01-01: ccxt renders later years differently


def _f8(value: Decimal) -> str:
    """``fmt8`` in fewer steps: a value exact at 8 decimals renders as ``{:.8f}`` (what fmt8
    gives it, whatever its exponent); any other value (or one the context refuses) goes to
    fmt8 itself."""
    try:
        if value.quantize(Q8) == value:
            return f"{value:.8f}"
    except ArithmeticError:
        pass
    return fmt8(value)


# Exact sums and halves of prices (never rounds at 80 digits); truncation is explicit.
_EXACT = Context(prec=80, rounding=ROUND_DOWN)
_DAY_MS = 86_400_000


def _iso8601(ms: int, days: dict[int, str]) -> str:
    """ccxt's ``iso8601`` for a non-negative millisecond timestamp (years 1970-9999); the
    date part is cached per day in ``days``."""
    day, rest = divmod(ms, _DAY_MS)
    date = days.get(day)
    if date is None:
        date = time.strftime("%Y-%m-%d", time.gmtime(day * 86_400))
        if len(days) > 64:
            days.clear()
        days[day] = date
    seconds, millis = divmod(rest, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{date}T{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}Z"


def _average(open_: Decimal, close: Decimal, quantum: Decimal) -> str:
    """``Precise.string_div(Precise.string_add(o, c), "2", precision)`` for positive prices:
    the exact half-sum truncated to ``precision`` places, trailing zeros removed."""
    half = _EXACT.divide(_EXACT.add(open_, close), 2)
    truncated = half.quantize(quantum, rounding=ROUND_DOWN, context=_EXACT)
    if not truncated:
        return "0"
    return format(truncated.normalize(_EXACT), "f")


def _percent(change: Decimal, base: Decimal) -> str:
    if base == 0:
        return "0.000"
    return format((change * 100 / base).quantize(Decimal("0.001")), "f")


def _nonzero(text: str) -> bool:
    # ccxt's omit_zero drops a string whose float value is zero.
    return float(text) != 0


class TickerBuilder:
    """Builds ``parse_ws_ticker(ws_ticker_24hr(stats), "spot")`` for one market.

    ``parser`` is the venue's offline ccxt.pro binance instance (``number = str``): the slow
    path, and the source of the market's symbol and price precision."""

    __slots__ = ("_days", "_market", "_memo", "_parser", "_quantum", "fast")

    def __init__(self, parser: Any, market: dict[str, Any]) -> None:
        self._parser = parser
        self._market = market
        self._quantum = Decimal(1)
        self._days: dict[int, str] = {}
        # The last value and rendering of each field: open, high, low and previous close
        # are the very same Decimal objects from one tick to the next (print_window.py).
        self._memo: list[tuple[Decimal | None, str]] = [(None, "")] * 14
        # The fast path mirrors ccxt's spot branch with number=str and tick-size precision.
        self.fast = (
            parser.number is str
            and market.get("inverse") is not True
            and market.get("spot") is True
            and market.get("symbol") is not None
        )
        if self.fast:
            precision = 18
            if parser.is_tick_precision():
                price = parser.safe_string(parser.safe_dict(market, "precision"), "price")
                if price is not None:
                    precision = parser.precision_from_string(price)
            self._quantum = Decimal(1).scaleb(-precision)

    def slow(self, stats: TickerStats) -> dict[str, Any]:
        """Format as Binance, parse with ccxt: what the venue did before (and the reference)."""
        return dict(self._parser.parse_ws_ticker(bm.ws_ticker_24hr(stats), "spot"))

    def build(self, stats: TickerStats) -> dict[str, Any]:
        if not self.fast or min(stats.open, stats.last, stats.high, stats.low, stats.bid, stats.ask) <= 0:
            return self.slow(stats)
        change = stats.last - stats.open
        vwap = stats.quote_volume / stats.volume if stats.volume else stats.last
        memo = self._memo
        values = (
            change,
            vwap.quantize(Q8),
            stats.prev_close,
            stats.last,
            stats.bid,
            stats.ask,
            stats.open,
            stats.high,
            stats.low,
            stats.volume,
            stats.quote_volume.quantize(Q8),
            stats.last_qty,
            stats.bid_qty,
            stats.ask_qty,
        )
        out: list[str] = []
        for i, value in enumerate(values):
            seen, text = memo[i]
            if seen is not value:
                text = _f8(value)
                memo[i] = (value, text)
            out.append(text)
        p, w, x, c, b, a, o, h, low, v, q, lq, bq, aq = out
        pct = _percent(change, stats.open)
        info = {
            "e": "24hrTicker",
            "E": stats.event_ms,
            "s": stats.symbol,
            "p": p,
            "P": pct,
            "w": w,
            "x": x,
            "c": c,
            "Q": lq,
            "b": b,
            "B": bq,
            "a": a,
            "A": aq,
            "o": o,
            "h": h,
            "l": low,
            "v": v,
            "q": q,
            "O": stats.open_time,
            "C": stats.close_time,
            "F": stats.first_id,
            "L": stats.last_id,
            "n": stats.count,
        }
        # safe_ticker (ccxt/base/exchange.py) with every field present and open, close > 0:
        # a zero percentage is recomputed from change and open (by ccxt's own Precise: rare);
        # average is (open + close) / 2 truncated at the market's price precision.
        percentage = pct if _nonzero(pct) else Precise.string_mul(Precise.string_div(p, o), "100")
        average = _average(stats.open, stats.last, self._quantum)
        ts = stats.close_time
        return {
            "symbol": self._market["symbol"],
            "timestamp": ts,
            "datetime": _iso8601(ts, self._days) if 0 <= ts < _YEAR_10000_MS else self._parser.iso8601(ts),
            "high": h,
            "low": low,
            "bid": b,
            "bidVolume": bq,
            "ask": a,
            "askVolume": aq,
            "vwap": w,
            "open": o,
            "close": c,
            "last": c,
            "previousClose": x,
            "change": p,
            "percentage": percentage,
            "average": average,
            "baseVolume": v,
            "quoteVolume": q,
            "info": info,
            "indexPrice": None,
            "markPrice": None,
        }


__all__ = ["TickerBuilder"]
