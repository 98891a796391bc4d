"""The paper session's simulated venue, built before trading: the market, the price path, the
fault settings, and, for a session that was killed, its venue's books replayed from the venue
log up to the point where the session left off."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridledger.config import Config
from gridledger.exchange.sim.exchange import SimExchange
from gridledger.exchange.sim.faults import StreamFaults
from gridledger.exchange.sim.perp_exchange import PerpSimExchange
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.exchange.sim.prices import CsvCandlesPath, CsvTradesPath, SyntheticPath, Tick
from gridledger.exchange.sim.values import SimMarketSpec
from gridledger.exchange.sim.venue_config import SimConfig
from gridledger.ledger.ledger import Ledger
from gridledger.notify import Notifier
from gridledger.paper.perp import perp_market_spec
from gridledger.paper.result import ResumeInfo
from gridledger.paper.settings import PaperSettings
from gridledger.paper.venue_log import RecordingCore, RecordingPerpCore, VenueLog, replay
from gridledger.store.journal import Journal

__all__ = ["Venue", "build_venue", "price_path", "sim_config"]


class _StoppablePath:
    """A price path that ends when asked: a served session stopped by its user ends its
    venue's trading too, so the closing reconciliation and the audit can run."""

    def __init__(self, path: Iterable[Tick]) -> None:
        self.path = path
        self.stopped = False

    def __iter__(self) -> Iterator[Tick]:
        for tick in self.path:
            if self.stopped:
                return
            yield tick


def _market(cfg: Config, ps: PaperSettings) -> SimMarketSpec:
    inst = cfg.grid.spec().instrument
    if inst.settle is not None:
        return perp_market_spec(cfg, ps)  # a linear perpetual (gridledger/paper/perp.py)
    return SimMarketSpec(
        symbol=inst.symbol,
        venue_id=inst.base + inst.quote,
        base=inst.base,
        quote=inst.quote,
        amount_step=ps.amount_step,
        price_step=ps.price_step,
        min_amount=ps.min_amount,
        min_notional=ps.min_notional,
        maker_fee=ps.maker_fee,
        taker_fee=ps.taker_fee,
        fee_mode=ps.fee_mode,
        third_asset=ps.third_asset,
        third_asset_price=ps.third_asset_price,
        participation=ps.participation,
    )


def price_path(ps: PaperSettings, duration_ms: int) -> tuple[list[Tick] | SyntheticPath, int, int]:
    source = ps.candles_csv or ps.trades_csv
    if source:
        if ps.candles_csv and ps.trades_csv:
            raise ValueError("[paper] give candles_csv or trades_csv, not both")
        reader = CsvCandlesPath if ps.candles_csv else CsvTradesPath
        ticks = list(reader(source, price_step=ps.price_step))
        if not ticks:
            raise ValueError(f"{source}: no prices")
        start = ticks[0].ts_ms
        # The engine stops before the data ends, so the venue is still trading when it does.
        end = min(ticks[-1].ts_ms - 1, start + duration_ms)
        if end <= start:
            raise ValueError(f"{source}: the prices span no time")
        return [t for t in ticks if t.ts_ms <= end + 60_000], start, end
    # A minute of ticks past the end: the engine is stopped at the end, while the venue
    # still trades, so the closing reconciliation has something to catch up with.
    n = duration_ms // ps.tick_ms + 1
    path = SyntheticPath(
        seed=ps.seed,
        start_price=ps.start_price,
        price_step=ps.price_step,
        tick_ms=ps.tick_ms,
        volatility=ps.volatility,
        mean_reversion=ps.mean_reversion,
        jump_probability=ps.jump_probability,
        jump_scale=ps.jump_scale,
        volume_mean=ps.volume_mean,
        start_ms=ps.start_ms,
        n=n + max(1, 60_000 // ps.tick_ms),
    )
    return path, ps.start_ms, ps.start_ms + (n - 1) * ps.tick_ms


def sim_config(cfg: Config, ps: PaperSettings, chaos: bool, path: Any) -> SimConfig:
    c = ps.chaos
    faults = (
        StreamFaults(
            duplicate_p=c.duplicate_p,
            reorder_window=c.reorder_window,
            disconnect_every=c.disconnect_every,
            replay_last=c.replay_last,
            seed=ps.seed,
        )
        if chaos
        else StreamFaults(seed=ps.seed)
    )
    return SimConfig(
        spec=_market(cfg, ps),
        balances=dict(ps.balances),
        path=path,
        stream_faults=faults,
        rest_latency_ms=ps.rest_latency_ms,
        stream_latency_ms=ps.stream_latency_ms,
        create_timeout_p=c.create_timeout_p if chaos else 0.0,
        rest_error_p=c.rest_error_p if chaos else 0.0,
        seed=ps.seed,
    )


def _resume_point(db: Path, venue: VenueLog, grid: Any, synchronous: str) -> int | None:
    """Where a killed session left off: the later of its last journal entry and command."""
    if not db.exists():
        return None
    journal = Journal.open(db, Ledger(grid), synchronous=synchronous)
    try:
        last = journal.last_received_at()
    finally:
        journal.close()
    command = venue.last_command_ms()
    points = [p for p in (last, command) if p is not None]
    return max(points) if points else None


@dataclass(slots=True)
class Venue:
    sim: SimExchange | PerpSimExchange
    start_ms: int
    end_ms: int
    clock_start: int  # where this process's virtual clock starts: the start, or the resume point
    resume: ResumeInfo | None
    path: _StoppablePath | None = None
    notifier: Notifier | None = None  # [notify] configured: watches every engine of the session


def build_venue(cfg: Config, ps: PaperSettings, chaos: bool, db: Path, venue: VenueLog, served: bool = False) -> Venue:
    path, start_ms, end_ms = price_path(ps, ps.duration_ms)
    config = sim_config(cfg, ps, chaos, path)
    spec = config.spec
    core: RecordingCore | RecordingPerpCore
    if isinstance(spec, PerpMarketSpec):
        core = RecordingPerpCore(
            spec, config.balances, config.start_ms, seed=config.seed, duplicate_scope=config.duplicate_scope
        )
    else:
        core = RecordingCore(
            spec, config.balances, config.start_ms, seed=config.seed, duplicate_scope=config.duplicate_scope
        )
    resume = _resume_point(db, venue, cfg.grid.spec(), cfg.engine.journal_synchronous)
    clock_start = start_ms
    if resume is not None and resume > start_ms:
        remaining = replay(core, path, venue, resume)
        config = dataclasses.replace(config, path=remaining)
        clock_start = resume
    core.log = venue
    info = None if resume is None else ResumeInfo(db, venue.orders_placed(), resume)
    stoppable = None
    if served:
        stoppable = _StoppablePath(config.path)  # type: ignore[arg-type]
        config = dataclasses.replace(config, path=stoppable)
    sim: SimExchange | PerpSimExchange
    if isinstance(core, RecordingPerpCore):
        sim = PerpSimExchange(config, core=core)
    else:
        sim = SimExchange(config, core=core)
    return Venue(sim, start_ms, end_ms, clock_start, info, stoppable)
