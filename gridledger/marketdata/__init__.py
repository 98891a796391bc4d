"""Market data in: Binance kline and aggTrades files, ccxt-style OHLCV CSV, trades CSV.

``load_market_data(path, price_step)`` returns a columnar :class:`MarketData` (numpy arrays,
prices as integer ticks of the price step) (generated candles for tests and benchmarks: ``gridledger.testkit.candles``).
"""

from gridledger.marketdata.reader import load_market_data
from gridledger.marketdata.series import DataError, Gaps, MarketData, interval_name, iso

__all__ = ["DataError", "Gaps", "MarketData", "interval_name", "iso", "load_market_data"]
