"""What the engine's parts share: the venue, the journal and ledger, the clock, the counters.

One object, handed to each part at construction, instead of each part reaching into the
engine: the parts never import each other's state, only this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal

from gridledger.config import Config, EngineConfig
from gridledger.domain.grid import GridSpec
from gridledger.engine.events import EventBus
from gridledger.engine.executor import Caller
from gridledger.engine.resolver import OrderResolver, ResolverTimings
from gridledger.exchange.port import ExchangePort
from gridledger.ledger.ledger import Ledger
from gridledger.store.journal import Journal
from gridledger.strategy import StrategyState


class EngineFatal(RuntimeError):
    """A condition the engine must not trade through (bad credentials, unknown symbol)."""


@dataclass(slots=True)
class EngineStats:
    ticks: int = 0
    placed: int = 0
    canceled: int = 0
    rejected: int = 0
    post_only_rejects: int = 0
    unknown_creates: int = 0
    queries: int = 0
    reconciles: int = 0
    reconciles_failed: int = 0
    reconnects: int = 0
    listen_key_expiries: int = 0  # account-stream watches that found the listen key dead (streams.py)
    drift_pauses: int = 0
    twin_evidence: int = 0  # evidence of another engine trading this grid (engine/ingest.py)
    bad_messages: int = 0
    planned: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def resolver_timings(eng: EngineConfig) -> ResolverTimings:
    return ResolverTimings(
        unanswered_grace_s=eng.unanswered_grace_s,
        not_found_gap_s=eng.not_found_gap_s,
        cancel_debounce_s=eng.cancel_debounce_s,
        cross_grace_s=eng.cross_grace_s,
        level_backoff_s=eng.level_backoff_s,
        level_backoff_max_s=max(eng.level_backoff_max_s, eng.level_backoff_s),
    )


@dataclass(slots=True)
class Shared:
    ex: ExchangePort
    journal: Journal
    ledger: Ledger
    config: Config
    grid: GridSpec
    now_ms: Callable[[], int]
    caller: Caller
    resolver: OrderResolver
    stats: EngineStats = field(default_factory=EngineStats)
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # housekeeping: something to ask
    decide: asyncio.Event = field(default_factory=asyncio.Event)  # the strategy: decide again
    ready: bool = False  # the startup reconciliation ran: decisions and twin checks may begin
    stopping: bool = False
    last_price: Decimal | None = None
    state: StrategyState = field(default_factory=StrategyState)  # the strategy's memory (retries)
    loop: asyncio.AbstractEventLoop | None = None
    events: EventBus = field(default_factory=EventBus)  # what happened, for watchers (engine/events.py)
    # The last decision held an action back (fees not known, a level's back-off, paused) and
    # how many times something that may release one happened (engine/decisions.py).
    held: bool = False
    unblocks: int = 0

    @property
    def symbol(self) -> str:
        return self.grid.symbol

    @property
    def eng(self) -> EngineConfig:
        return self.config.engine

    def clock(self) -> float:
        """The event loop's clock (virtual in paper mode); readable from another thread."""
        try:
            return asyncio.get_running_loop().time()
        except RuntimeError:  # another thread (metrics): the engine's loop, if it started
            return self.loop.time() if self.loop is not None else 0.0

    def ask(self) -> None:
        self.wake.set()

    def unblocked(self) -> None:
        """Something that may release a held action changed without a new price (evidence
        applied, a query answered, a reconciliation done): decide again at the last price.
        Only when the last decision held something back, so a quiet engine stays quiet."""
        self.unblocks += 1
        if self.held:
            self.decide.set()
