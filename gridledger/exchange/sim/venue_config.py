"""How a simulated venue is set up (:class:`SimConfig`), and the end of its price path."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from gridledger.exchange.sim.faults import StreamFaults
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import DuplicateScope, SimMarketSpec


class PathExhausted(Exception):
    """The price path has no more ticks, so nothing more can happen on the venue."""


@dataclass(frozen=True, slots=True)
class SyntheticParams:
    """Parameters of the default :class:`SyntheticPath` (see its units); the path's seed is
    ``SimConfig.seed``, its price step the market's, its start the clock when trading starts."""

    start_price: Decimal = Decimal("30000")
    tick_ms: int = 1000
    volatility: float = 0.5
    mean_reversion: float = 0.0
    jump_probability: float = 0.0
    jump_scale: float = 0.0
    volume_mean: Decimal = Decimal("1")


def _default_balances() -> dict[str, Decimal]:
    return {"USDT": Decimal("10000"), "BTC": Decimal("0")}


@dataclass(frozen=True, slots=True)
class SimConfig:
    """Everything a simulated venue needs.

    - ``path``: ticks to replay (any iterable of :class:`Tick`, e.g. ``CsvCandlesPath``) or
      :class:`SyntheticParams` for a synthetic path.
    - ``rest_latency_ms``: round trip of a REST call; the request is served after half of it.
    - ``stream_latency_ms``: delay between a venue event and its arrival on the stream.
    - ``create_timeout_p``: probability that ``create_order`` places the order and then
      raises ``ccxt.RequestTimeout`` after ``request_timeout_ms``.
    - ``rest_error_p``: probability that a ``fetch_*`` call raises ``ccxt.NetworkError``
      without being served.
    - ``seed``: seeds the synthetic path, generated client ids and the REST faults (the
      stream faults have their own seed in ``stream_faults``).
    - ``start_ms``: clock origin when running on an ordinary (real-time) event loop; on a
      :class:`VirtualTimeLoop` the loop's ``start_ms`` is used.
    """

    spec: SimMarketSpec = field(default_factory=SimMarketSpec)
    balances: Mapping[str, Decimal] = field(default_factory=_default_balances)
    path: Iterable[Tick] | SyntheticParams = field(default_factory=SyntheticParams)
    stream_faults: StreamFaults = field(default_factory=StreamFaults)
    rest_latency_ms: int = 0
    stream_latency_ms: int = 0
    create_timeout_p: float = 0.0
    rest_error_p: float = 0.0
    request_timeout_ms: int = 10_000
    seed: int = 0
    start_ms: int = 0
    duplicate_scope: DuplicateScope = "open"

    def __post_init__(self) -> None:
        for name in ("rest_latency_ms", "stream_latency_ms", "request_timeout_ms"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in ("create_timeout_p", "rest_error_p"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be in [0, 1]")
