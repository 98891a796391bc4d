"""One paper-trading session: the engine against the simulated exchange in virtual time.

With chaos on, the venue duplicates, reorders, drops and replays private messages, times
out order creation (after placing the order), fails REST calls, and the engine is killed
at random moments and restarted from its journal after a random downtime, while the
venue keeps trading. At the end the venue stops, one REST reconciliation catches up, and
the ledger is compared with the venue's books exactly.

The engine never runs past the session's end: the venue's price path ends a minute after
it, and an engine still running then would wait on streams that can never deliver again. A
kill whose downtime reaches the end is not followed by a restart; the closing
reconciliation (a fresh engine without streams, as after any restart) catches up instead.
The same closing step completes a session that was killed after its trading was over.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import random
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from gridledger.config import Config
from gridledger.engine.runtime import EngineStats, GridEngine
from gridledger.exchange.sim.clock import VirtualTimeLoop, run_virtual
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.report import ledger_state
from gridledger.notify import Notifier, build_notifier, watch_engine
from gridledger.paper.perp import is_perp
from gridledger.paper.perp_audit import net_position
from gridledger.paper.perp_session import closing_audit, journal_funding, perp_summary, unrealized_pnl
from gridledger.paper.result import PaperResult, ResumeInfo, result_from_json, result_to_json
from gridledger.paper.settings import PERP_ONLY_SETTINGS, PaperSettings
from gridledger.paper.venue import Venue, build_venue, sim_config
from gridledger.paper.venue_log import (
    SessionIdentity,
    VenueLog,
    VenueLogError,
    venue_log_path,
)
from gridledger.store import lock as journal_lock
from gridledger.store.journal import Journal

__all__ = ["PaperResult", "ResumeInfo", "SessionWatcher", "run_paper", "sim_config"]


class SessionWatcher(Protocol):
    """Watches a served session (``gridledger paper --serve``: the HTTP API and dashboard).

    ``start`` gets the function that ends the session early (the stop endpoint, Ctrl-C);
    ``attach`` is called with each engine the session runs (one per restart)."""

    async def start(self, stop: Callable[[], None]) -> None: ...

    def attach(self, engine: GridEngine) -> None: ...

    async def close(self) -> None: ...


def _identity(cfg: Config, ps: PaperSettings, chaos: bool) -> SessionIdentity:
    doc: dict[str, Any] = {"grid": cfg.grid.model_dump(mode="json"), "chaos": chaos}
    if is_perp(cfg):
        # A perpetual's venue also depends on its funding settings and on [perp] leverage and
        # margin mode: a resume with others would rebuild another venue (paper/perp.py).
        doc["paper"] = ps.model_dump(mode="json")
        doc["perp"] = {"leverage": cfg.perp.leverage, "margin_mode": cfg.perp.margin_mode}
    else:
        # Spot sessions keep the fingerprint they had before the perpetual's settings existed.
        doc["paper"] = ps.model_dump(mode="json", exclude=set(PERP_ONLY_SETTINGS))
    fingerprint = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    return SessionIdentity(fingerprint, ps.duration, ps.seed, chaos)


async def _session(
    cfg: Config,
    ps: PaperSettings,
    chaos: bool,
    db: Path,
    progress: Callable[[int, int], None] | None,
    parts: Venue,
    watcher: SessionWatcher | None = None,
) -> PaperResult:
    if watcher is None:
        return await _trade(cfg, ps, chaos, db, progress, parts, None)
    user_stop = asyncio.Event()
    # The venue's clock starts exactly at its price path; only then does real time count.
    await parts.sim.start()
    loop = asyncio.get_running_loop()
    if isinstance(loop, VirtualTimeLoop):
        loop.begin_pacing()
    await watcher.start(user_stop.set)
    try:
        return await _trade(cfg, ps, chaos, db, progress, parts, (watcher, user_stop))
    finally:
        await watcher.close()


async def _trade(
    cfg: Config,
    ps: PaperSettings,
    chaos: bool,
    db: Path,
    progress: Callable[[int, int], None] | None,
    parts: Venue,
    served: tuple[SessionWatcher, asyncio.Event] | None,
) -> PaperResult:
    sim, start_ms, end_ms, clock_start = parts.sim, parts.start_ms, parts.end_ms, parts.clock_start
    await sim.start()
    user = asyncio.ensure_future(served[1].wait()) if served is not None else None
    grid = cfg.grid.spec()
    rng = random.Random(f"{ps.seed}:chaos")
    kills = sorted(
        start_ms + int(rng.uniform(0.05, 0.95) * (end_ms - start_ms)) for _ in range(ps.chaos.kills if chaos else 0)
    )
    kills = [k for k in kills if k > clock_start]
    totals = EngineStats()
    restarts = 0

    def on_tick(price: Decimal, now: int) -> None:
        if progress is not None:
            # Below 100 % while trading: 100 % is reported once, when the closing step is done.
            progress(min(now - start_ms, end_ms - start_ms - 1), end_ms - start_ms)

    journal: Journal | None = None
    engine: GridEngine | None = None
    # A resumed process whose clock is already at or past the end does not trade: the
    # session's trading is over and only its closing reconciliation is left.
    while sim.now_ms() < end_ms:
        ledger = Ledger(grid)  # each restart rebuilds the ledger from the journal, as a new process would
        journal = Journal.open(db, ledger, synchronous=cfg.engine.journal_synchronous)
        engine = GridEngine(sim, journal, cfg, now_ms=sim.now_ms, seed=ps.seed * 1000 + restarts, on_tick=on_tick)
        if served is not None:
            served[0].attach(engine)
        if parts.notifier is not None:
            watch_engine(parts.notifier, engine)
        stop = asyncio.Event()
        task = asyncio.ensure_future(engine.run(stop))
        crash = bool(kills)
        target = kills.pop(0) if kills else end_ms
        timer = asyncio.ensure_future(asyncio.sleep(max(0, target - sim.now_ms()) / 1000))
        await asyncio.wait([task, timer, *([user] if user is not None else [])], return_when=asyncio.FIRST_COMPLETED)
        if user is not None and user.done() and not task.done():
            # The user stopped a served session: a clean stop, then the venue stops trading.
            timer.cancel()
            stop.set()
            await task
            end_ms = min(end_ms, sim.now_ms())  # the report covers the time it traded
            break
        if task.done():
            timer.cancel()
            task.result()  # the engine stopped on its own: that is an error, raise it
            raise RuntimeError("the engine stopped before the session ended")
        if crash:
            # A crash: no shutdown, no final commit; the venue drops the connection and goes on.
            engine.kill()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            journal.abandon()
            _add(totals, engine.stats)
            journal = engine = None
            sim.stream.disconnect()
            restarts += 1
            downtime = rng.uniform(ps.chaos.min_downtime_s, ps.chaos.max_downtime_s)
            if sim.now_ms() + downtime * 1000 >= end_ms:
                # Down when the session's time is up: a restart now would be after the end
                # (past the price path too, once the downtime outlasts its last minute), so
                # there is none; the closing reconciliation below catches up.
                break
            await asyncio.sleep(downtime)
            continue
        stop.set()
        await task
        break

    if user is not None:
        user.cancel()
    if parts.path is not None:
        parts.path.stopped = True
    # The venue stops trading; its REST stays up and calm for the closing reconciliation.
    await sim.path_done.wait()
    sim.config = dataclasses.replace(sim.config, rest_error_p=0.0, create_timeout_p=0.0)
    await asyncio.sleep(1 + ps.stream_latency_ms / 1000)
    if journal is None or engine is None:
        # No engine ran to the end (it was down, or this process resumes a session whose
        # trading was over): a fresh one from the journal, without streams, does the closing
        # reconciliation, as any restart's first step would.
        ledger = Ledger(grid)
        journal = Journal.open(db, ledger, synchronous=cfg.engine.journal_synchronous)
        engine = GridEngine(sim, journal, cfg, now_ms=sim.now_ms, seed=ps.seed * 1000 + restarts)
        await engine.prepare()
    for _ in range(3):
        await engine.reconcile("final")
        result = await closing_audit(ledger, sim.core, ps.balances, journal, engine, grid.instrument.symbol)
        if result.match:
            break
        # An order the exchange never received is closed only after a repeated "not found"
        # some seconds apart (REST can lag the matching engine): give the rule its time.
        await asyncio.sleep(5)
    _add(totals, engine.stats)
    last = sim.core.last_price
    unrealized = unrealized_pnl(ledger, last)  # short slots gain as the price falls (paper/perp_session.py)
    perp = perp_summary(cfg, sim.core, journal_funding(journal, grid.instrument.symbol))
    if perp is not None:
        perp["net_position"] = str(net_position(ledger))
    state = ledger_state(ledger, journal.counters())  # with duplicates by origin (issue 7 item 18)
    if engine.risk_exit is not None:  # why the grid stopped trading ([risk], engine/exits.py)
        state["risk_exit"] = engine.risk_exit.as_dict()
    entries = journal.entries()
    journal.close()
    faults = sim.faults.as_dict()
    faults["engine_kills"] = restarts
    if progress is not None:
        progress(end_ms - start_ms, end_ms - start_ms)  # done: only the report is left
    if parts.notifier is not None:
        # What the engines published is handled; the sender gets a bounded real-time drain.
        await parts.notifier.aclose(cfg.notify.timeout_s if cfg.notify is not None else 1.0)
    return PaperResult(
        audit=result,
        state=state,
        last_price=last,
        unrealized_pnl=unrealized,
        engine=totals.as_dict(),
        faults=faults,
        restarts=restarts,
        start_ms=start_ms,
        end_ms=end_ms,
        journal_entries=entries,
        trades=list(sim.core.trades),
        perp=perp,
    )


def _add(total: EngineStats, part: EngineStats) -> None:
    for f in dataclasses.fields(EngineStats):
        setattr(total, f.name, getattr(total, f.name) + getattr(part, f.name))


def run_paper(
    cfg: Config,
    ps: PaperSettings,
    *,
    chaos: bool = False,
    db: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_resume: Callable[[ResumeInfo], None] | None = None,
    watcher: SessionWatcher | None = None,
    speed: float | None = None,
    on_notifier: Callable[[Notifier], None] | None = None,
    figures: Callable[[PaperResult], dict[str, Any]] | None = None,
) -> PaperResult:
    """Run a session to its end; a temporary journal is used when ``db`` is None.

    With ``db``, the venue's command log sits beside the journal (``<db>.venue``) and a
    session that was killed resumes where it stopped when run again with the same settings
    (``on_resume`` is told first). A session that had finished is not run again: its stored
    result comes back with ``already_finished`` set. Another session's journal, or one no
    paper session wrote, raises :class:`VenueLogError` (a ``ValueError``).

    ``progress(done_ms, total_ms)`` follows the session's virtual time; it is called with
    ``done_ms == total_ms`` once, when the closing reconciliation and the audit are done and
    only the report is left.

    ``watcher`` serves the session (the HTTP API): the clock is then paced at ``speed``
    virtual seconds per real second, and the session ends at its duration or when the
    watcher says stop, whichever is first.

    ``figures(result)`` computes the report's figures over time before the result is stored,
    so a finished session run again prints exactly what its first run printed.

    With a ``[notify]`` table the session sends notifications (gridledger/notify/) from every
    engine it runs; ``on_notifier`` is given the notifier (its counters) before trading starts.
    """
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gridledger-paper-") as tmp:
        path = db if db is not None else Path(tmp) / "paper.db"
        log_path = venue_log_path(path)
        if path.is_dir():
            raise VenueLogError(f"journal {path} is a directory; give a file path with --db")
        if not path.parent.is_dir():
            raise VenueLogError(f"journal {path}: its folder {path.parent} does not exist")
        if path.exists() and not log_path.exists():
            # The venue log is always created before the journal, so this journal was written
            # by something else (replay, live) or its venue log was deleted: the venue's
            # books cannot be rebuilt, and trading on would audit against a blank venue.
            raise VenueLogError(
                f"journal {path} has no paper venue log ({log_path}), so it is not a paper session's "
                f"journal; use another --db, or delete {path} to start a new session"
            )
        # One writer per journal (issue 7 item 2): the session holds the journal's lock from
        # before its venue log opens until both are closed; the engine's Journal.open calls
        # inside share it (same process), so a second session on this --db is refused.
        session_lock = journal_lock.acquire(path)
        try:
            venue = VenueLog(log_path, _identity(cfg, ps, chaos), journal=path)
        except BaseException:
            session_lock.release()
            raise
        try:
            stored = venue.finished()
            if stored is not None:
                try:
                    result = result_from_json(stored)
                except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
                    raise VenueLogError(
                        f"the stored report of the finished session in {log_path} is damaged ({type(exc).__name__}); "
                        f"delete {path} and {log_path} to run the session again"
                    ) from None
                result.already_finished = True
                return result
            parts = build_venue(cfg, ps, chaos, path, venue, served=watcher is not None)
            if cfg.notify is not None:  # [notify]: notifications of this session (on_notifier sees it)
                parts.notifier = build_notifier(
                    cfg.notify, grid_id=cfg.grid.id, symbol=cfg.grid.symbol, now_ms=parts.sim.now_ms
                )
                if on_notifier is not None:
                    on_notifier(parts.notifier)
            if parts.resume is not None and on_resume is not None:
                on_resume(parts.resume)
            result = run_virtual(
                _session(cfg, ps, chaos, path, progress, parts, watcher),
                start_ms=parts.clock_start,
                speed=(speed or 1.0) if watcher is not None else None,
            )
            result.wall_seconds = time.perf_counter() - t0
            if figures is not None:
                result.figures = figures(result)
            # Last: a kill before this line leaves a session whose resume only re-runs the
            # closing reconciliation (idempotent) and the audit.
            venue.mark_finished(result_to_json(result))
        finally:
            venue.close()
            session_lock.release()
    return result
