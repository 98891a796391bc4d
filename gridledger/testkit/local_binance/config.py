"""Settings of a local Binance server, and the counters of what it injected."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Literal

from gridledger.exchange.sim.faults import StreamFaults
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import DuplicateScope, SimMarketSpec


def _default_balances() -> dict[str, Decimal]:
    return {"USDT": Decimal("10000"), "BTC": Decimal("0")}


@dataclass(frozen=True, slots=True)
class LocalBinanceConfig:
    """Everything one server needs; the defaults make a deterministic test venue.

    - ``spec`` / ``balances`` / ``seed`` / ``duplicate_scope``: the wrapped :class:`SimCore`.
    - ``api_key`` / ``secret``: the one HMAC key pair the server accepts.
    - ``host`` / ``port``: where to listen; port 0 picks a free port (see ``server.port``).
    - ``initial_price``: a first print applied at start (so tickers and market orders work
      before any tick); None starts without a price.
    - ``tick_volume``: volume of the prints made by ``set_price`` and of the initial print.
    - ``path``: ticks to play in real time, one every ``tick_interval_ms`` (demo mode); None
      (the default) is manual mode: the price only moves on ``await server.tick(...)`` /
      ``await server.set_price(...)``, so tests are deterministic and never sleep.
    - ``stream_faults``: user-data-stream faults (duplicates, reordering, disconnects,
      replays), see :class:`StreamFaults`.
    - ``disconnect_mode``: how a ``disconnect_every`` drop looks on the wire: ``"abort"``
      drops the TCP connection without a close frame (a network failure); ``"close"`` sends
      a WebSocket close frame first (a clean server-side close). ccxt 4.5.90 handles the
      latter twice (on_close 1000 from the frame, then 1006 from its receive loop), and the
      second call deletes ``exchange.clients[url]`` whatever it holds by then: a watch
      issued between the two calls leaves an orphaned, still-subscribed connection.
    - ``stream_latency_ms``: user-data events reach the stream this long after they
      happened, so REST answers race the stream.
    - ``create_delay_ms`` / ``create_delay_p``: with probability p, ``POST /api/v3/order``
      places the order at once but answers only after the delay (longer than the client's
      timeout: the order exists although ccxt raised RequestTimeout). ``create_delay_seed``
      seeds that draw. ``server.arm_create_delay`` arms it for the next N creates instead.
    - ``http_status_faults``: path -> HTTP status: a SIGNED request to that path is answered
      with that status and a plain-text body (a gateway error), as a venue behind a load
      balancer does. ccxt then raises an error whose message holds the full signed URL.
    """

    spec: SimMarketSpec = field(default_factory=SimMarketSpec)
    balances: Mapping[str, Decimal] = field(default_factory=_default_balances)
    api_key: str = "local-api-key"
    secret: str = "local-secret"
    host: str = "127.0.0.1"
    port: int = 0
    initial_price: Decimal | None = Decimal("30000")
    tick_volume: Decimal = Decimal("1")
    path: Iterable[Tick] | None = None
    tick_interval_ms: int = 1000
    stream_faults: StreamFaults = field(default_factory=StreamFaults)
    disconnect_mode: Literal["abort", "close"] = "abort"
    stream_latency_ms: int = 0
    create_delay_ms: int = 0
    create_delay_p: float = 1.0
    create_delay_seed: int = 0
    seed: int = 0
    duplicate_scope: DuplicateScope = "open"
    http_status_faults: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("port", "tick_interval_ms", "stream_latency_ms", "create_delay_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if not 0 <= self.create_delay_p <= 1:
            raise ValueError("create_delay_p must be in [0, 1]")
        check_server_fields(self)


def check_server_fields(config: Any) -> None:
    """The checks of the fields every local Binance server config has (this one and
    :class:`~gridledger.testkit.local_binance_usdm.config.LocalBinanceUsdmConfig`)."""
    if config.disconnect_mode not in ("abort", "close"):
        raise ValueError(f"disconnect_mode must be abort or close, got {config.disconnect_mode!r}")
    if config.tick_volume <= 0:
        raise ValueError("tick_volume must be positive")
    for fault_path, status in config.http_status_faults.items():
        if not fault_path.startswith("/") or not 400 <= status <= 599:
            raise ValueError(f"http_status_faults: {fault_path!r} -> {status}: a path and a 4xx/5xx status")
    if not config.api_key or not config.secret:
        raise ValueError("api_key and secret must not be empty")


@dataclass(slots=True)
class InjectionCounters:
    """Frames injected on the user stream by hand (``inject_*``), per kind."""

    raw: int = 0
    malformed_json: int = 0
    unknown_fields: int = 0
    other_symbol: int = 0
    stream_terminated: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
