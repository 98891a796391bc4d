"""Settings of a local Binance USDⓈ-M server."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from gridledger.exchange.sim.faults import StreamFaults
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.exchange.sim.prices import Tick
from gridledger.testkit.local_binance.config import check_server_fields

_HOUR_MS = 3_600_000


def _default_balances() -> dict[str, Decimal]:
    return {"USDT": Decimal("10000")}


@dataclass(frozen=True, slots=True)
class LocalBinanceUsdmConfig:
    """Everything one server needs; the defaults make a deterministic test venue.

    - ``spec``: the perpetual (:class:`PerpMarketSpec`: symbol ``BTC/USDT:USDT``, filters,
      fees, leverage, margin mode, maintenance rate, funding interval and rates).
    - ``balances``: the futures wallet at start (settle asset only, e.g. ``{"USDT": 10000}``).
    - ``seed``: the core's generated client ids.
    - ``api_key`` / ``secret``: the one HMAC key pair the server accepts.
    - ``host`` / ``port``: where to listen; port 0 picks a free port (``server.port``).
    - ``initial_price``: a first print at start (tickers and market orders work before any
      tick); None starts without a price.
    - ``tick_volume``: volume of the prints made by ``set_price`` and of the initial print.
    - ``path`` / ``tick_interval_ms``: ticks to play in real time (demo mode); None (default)
      is manual mode: the price moves only on ``await server.tick(...)`` / ``set_price``.
    - ``ticker_every_ms``: also push the market streams this often without a print (Binance
      pushes a liquid symbol's tickers every 500-1000 ms, so a client sees a price at least
      that often); 0 (default): only after a print, so tests stay deterministic.
    - ``auto_funding``: settle funding by itself at every ``spec.funding_interval_ms`` boundary
      of the wall clock (Binance: 00:00, 08:00, 16:00 UTC). False: only when asked
      (``await server.settle_funding(rate)``), so a test never meets an unplanned funding.
    - ``listen_key_ttl_ms``: validity of a listen key without keepalive (Binance: 60 min).
    - ``trade_lite``: send ``TRADE_LITE`` before each fill's ``ORDER_TRADE_UPDATE`` (as
      Binance does since 2024; ccxt 4.5.90 ignores the event).
    - ``stream_faults`` / ``disconnect_mode`` / ``stream_latency_ms``: user-data-stream
      faults, as the spot server's (duplicates, reordering, drops, replays, latency).
    - ``create_delay_ms`` / ``create_delay_p`` / ``create_delay_seed``: ``POST /fapi/v1/order``
      places the order at once but answers late (the client times out, the order exists).
    - ``http_status_faults``: path -> HTTP status for SIGNED requests (a gateway error).
    - ``rest_error_p`` / ``rest_error_seed``: probability that a SIGNED GET answers HTTP 503
      without being served (the query had no effect), seeded.
    """

    spec: PerpMarketSpec = field(default_factory=PerpMarketSpec)
    balances: Mapping[str, Decimal] = field(default_factory=_default_balances)
    seed: int = 0
    api_key: str = "local-api-key"
    secret: str = "local-secret"
    host: str = "127.0.0.1"
    port: int = 0
    initial_price: Decimal | None = Decimal("30000")
    tick_volume: Decimal = Decimal("1")
    path: Iterable[Tick] | None = None
    tick_interval_ms: int = 1000
    ticker_every_ms: int = 0
    auto_funding: bool = True
    listen_key_ttl_ms: int = _HOUR_MS
    trade_lite: bool = True
    stream_faults: StreamFaults = field(default_factory=StreamFaults)
    disconnect_mode: Literal["abort", "close"] = "abort"
    stream_latency_ms: int = 0
    create_delay_ms: int = 0
    create_delay_p: float = 1.0
    create_delay_seed: int = 0
    http_status_faults: Mapping[str, int] = field(default_factory=dict)
    rest_error_p: float = 0.0
    rest_error_seed: int = 0

    def __post_init__(self) -> None:
        for name in ("port", "tick_interval_ms", "ticker_every_ms", "stream_latency_ms", "create_delay_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.listen_key_ttl_ms <= 0:
            raise ValueError("listen_key_ttl_ms must be positive")
        for name in ("create_delay_p", "rest_error_p"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1]")
        check_server_fields(self)
        if set(self.balances) - {self.spec.settle}:
            raise ValueError(f"balances: a futures wallet holds only {self.spec.settle}")
