"""A small world for engine tests: a scripted price path, the simulated venue, a journal."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal as D
from pathlib import Path

from gridledger.config import Config, parse_config
from gridledger.engine.runtime import GridEngine
from gridledger.exchange.sim.exchange import SimExchange
from gridledger.exchange.sim.faults import StreamFaults
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import SimMarketSpec
from gridledger.exchange.sim.venue_config import SimConfig
from gridledger.ledger.ledger import Ledger
from gridledger.store.journal import Journal

START = 1_767_225_600_000
BALANCES = {"USDT": D("10000"), "BTC": D("0")}


def config(**strategy) -> Config:
    table = {"buy_window": 3, "quote_per_level": "100", "max_open_orders": 10, **strategy}
    return parse_config(
        {
            "grid": {"id": "e1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100"},
            "strategy": table,
            "engine": {"journal_synchronous": "OFF", "reconcile_every_s": 60, "rate_limit_per_s": 50},
        }
    )


def path(*segments: tuple[int, str], tick_ms: int = 1000, volume: str = "1") -> list[Tick]:
    """Segments of (seconds, price): a staircase path, one tick per second."""
    ticks, t = [], START
    for seconds, price in segments:
        for _ in range(seconds * 1000 // tick_ms):
            ticks.append(Tick(t, D(price), D(volume)))
            t += tick_ms
    return ticks


def venue(ticks: Iterable[Tick], **kw) -> SimExchange:
    faults = kw.pop("stream_faults", StreamFaults())
    return SimExchange(
        SimConfig(
            spec=SimMarketSpec(participation=D("1")),
            balances=dict(BALANCES),
            path=list(ticks),
            stream_faults=faults,
            rest_latency_ms=kw.pop("rest_latency_ms", 20),
            stream_latency_ms=kw.pop("stream_latency_ms", 10),
            **kw,
        )
    )


def engine(sim: SimExchange, db: Path, cfg: Config | None = None, **kw) -> GridEngine:
    journal = Journal.open(db, Ledger((cfg or config()).grid.spec()), synchronous="OFF")
    return GridEngine(sim, journal, cfg or config(), now_ms=sim.now_ms, **kw)
