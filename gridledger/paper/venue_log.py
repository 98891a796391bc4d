"""A simulated venue that survives its process: a command log replayed over the price path.

The venue is deterministic given its seed, its price path and the commands it received
(place and cancel, each at a tick index and a time). So instead of snapshotting its books,
the paper session logs every command, durably, before the venue executes it; a new
process rebuilds the exact books by replaying the path and the commands, then resumes
where the engine's journal left off. This is what lets a `gridledger paper --db` run be
killed with SIGKILL and restarted, and still be checked against the venue's ground truth.

The log also names its session (a fingerprint of the settings, and its duration, seed and
chaos switch, so another session's run is refused with a readable reason) and, once the
session is over, keeps its result: a finished session is never traded again.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from gridledger.exchange.sim.errors import SimOrderError
from gridledger.exchange.sim.matching import SimCore
from gridledger.exchange.sim.perp_core import PerpCore
from gridledger.exchange.sim.prices import Tick
from gridledger.exchange.sim.values import SimOrder, SimTrade


class VenueLogError(ValueError):
    """The venue log cannot serve this run (another session's, damaged, or not a paper
    session's journal): bad input from the user's choice of ``--db``, so a one-line error."""


@dataclass(frozen=True, slots=True)
class SessionIdentity:
    """What makes a run the same session: the settings that shape the venue's history.

    ``fingerprint`` hashes the [grid] and [paper] tables and the chaos switch; duration,
    seed and chaos are kept readable, so a refusal can say what the journal belongs to.
    """

    fingerprint: str
    duration: str
    seed: int
    chaos: bool

    def describe(self) -> str:
        return f"duration {self.duration} seed {self.seed} chaos {'on' if self.chaos else 'off'}"

    def to_json(self) -> str:
        return json.dumps({"duration": self.duration, "seed": self.seed, "chaos": self.chaos}, sort_keys=True)


def venue_log_path(journal: Path) -> Path:
    return journal.with_name(journal.name + ".venue")


class VenueLog:
    """The venue's command log, the session's identity and, once it is over, its result."""

    def __init__(self, path: Path, session: SessionIdentity, journal: Path | None = None) -> None:
        self.path = path
        journal = journal if journal is not None else path
        try:
            self._conn = sqlite3.connect(str(path), isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            # A process kill keeps what was committed (it is in the OS cache); only a power cut
            # could lose the tail, and the paper venue is not worth an fsync per order.
            self._conn.execute("PRAGMA synchronous=OFF")
            self._conn.executescript(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                "CREATE TABLE IF NOT EXISTS commands (seq INTEGER PRIMARY KEY, tick INTEGER NOT NULL,"
                " now_ms INTEGER, kind TEXT NOT NULL, args TEXT NOT NULL);"
            )
            meta = dict(self._conn.execute("SELECT key, value FROM meta WHERE key IN ('fingerprint', 'session')"))
        except sqlite3.Error as exc:
            raise VenueLogError(
                f"paper venue log {path} cannot be used ({exc}); use another --db, or delete "
                f"{journal} and {path} to start a new session"
            ) from None
        if "fingerprint" not in meta:
            self._conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [("fingerprint", session.fingerprint), ("session", session.to_json())],
            )
        elif meta["fingerprint"] != session.fingerprint:
            self._conn.close()
            raise VenueLogError(_mismatch(journal, path, meta.get("session"), session))

    def finished(self) -> str | None:
        """The stored result of a session that ran to its end, or None."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'finished'").fetchone()
        return None if row is None else row[0]

    def mark_finished(self, result_json: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('finished', ?)", (result_json,))

    def orders_placed(self) -> int:
        return self._conn.execute("SELECT count(*) FROM commands WHERE kind = 'place'").fetchone()[0]

    def record(self, tick: int, now_ms: int | None, kind: str, args: dict[str, Any]) -> None:
        self._conn.execute(
            "INSERT INTO commands (tick, now_ms, kind, args) VALUES (?, ?, ?, ?)",
            (tick, now_ms, kind, json.dumps(args)),
        )

    def commands(self) -> list[tuple[int, int | None, str, dict[str, Any]]]:
        return [
            (tick, now_ms, kind, json.loads(args))
            for tick, now_ms, kind, args in self._conn.execute(
                "SELECT tick, now_ms, kind, args FROM commands ORDER BY seq"
            )
        ]

    def last_command_ms(self) -> int | None:
        row = self._conn.execute("SELECT max(now_ms) FROM commands").fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self._conn.close()


def _place_args(
    client_order_id: str | None, side: Any, type: str, amount: Decimal, price: Decimal | None, post_only: bool
) -> dict[str, Any]:
    """What a logged ``place`` holds (replayed by ``_execute``)."""
    return {
        "client_order_id": client_order_id,
        "side": str(getattr(side, "value", side)),
        "type": type,
        "amount": str(amount),
        "price": None if price is None else str(price),
        "post_only": post_only,
    }


class _Recording(SimCore):
    """What both recording cores share: the log, the tick count, logged cancels."""

    log: VenueLog | None = None
    ticks_applied: int = 0

    def _record(self, now_ms: int | None, kind: str, args: dict[str, Any]) -> None:
        if self.log is not None:
            self.log.record(self.ticks_applied, now_ms, kind, args)

    def cancel(self, ref: int | str, now_ms: int | None = None, cancel_client_id: str | None = None) -> SimOrder:
        self._record(now_ms, "cancel", {"ref": ref, "cancel_client_id": cancel_client_id})
        return super().cancel(ref, now_ms, cancel_client_id)

    def on_tick(self, tick: Tick) -> list[SimTrade]:
        self.ticks_applied += 1
        return super().on_tick(tick)


class RecordingCore(_Recording):
    """A SimCore that logs each command before executing it and counts the ticks applied."""

    def place(
        self,
        client_order_id: str | None,
        side: Any,
        type: str,
        amount: Decimal,
        price: Decimal | None = None,
        post_only: bool = False,
        now_ms: int | None = None,
    ) -> SimOrder:
        self._record(now_ms, "place", _place_args(client_order_id, side, type, amount, price, post_only))
        return super().place(client_order_id, side, type, amount, price, post_only, now_ms)


class RecordingPerpCore(_Recording, PerpCore):
    """A PerpCore that logs each command (orders and account settings) before executing it."""

    def place(
        self,
        client_order_id: str | None,
        side: Any,
        type: str,
        amount: Decimal,
        price: Decimal | None = None,
        post_only: bool = False,
        now_ms: int | None = None,
        reduce_only: bool = False,
    ) -> SimOrder:
        args = _place_args(client_order_id, side, type, amount, price, post_only)
        self._record(now_ms, "place", {**args, "reduce_only": reduce_only})
        return PerpCore.place(self, client_order_id, side, type, amount, price, post_only, now_ms, reduce_only)

    def set_leverage(self, leverage: int) -> int:
        self._record(self.now_ms, "set_leverage", {"leverage": leverage})
        return super().set_leverage(leverage)

    def set_margin_mode(self, mode: str) -> None:
        self._record(self.now_ms, "set_margin_mode", {"mode": mode})
        super().set_margin_mode(mode)

    def set_position_mode(self, dual_side: bool) -> None:
        self._record(self.now_ms, "set_position_mode", {"dual_side": dual_side})
        super().set_position_mode(dual_side)


def _execute(core: RecordingCore | RecordingPerpCore, now_ms: int | None, kind: str, args: dict[str, Any]) -> None:
    """One logged command, without logging it again (the base class's method)."""
    if isinstance(core, RecordingPerpCore):
        if kind == "place":
            PerpCore.place(
                core,
                args["client_order_id"],
                args["side"],
                args["type"],
                Decimal(args["amount"]),
                None if args["price"] is None else Decimal(args["price"]),
                args["post_only"],
                now_ms,
                bool(args.get("reduce_only", False)),
            )
        elif kind == "cancel":
            PerpCore.cancel(core, args["ref"], now_ms, args["cancel_client_id"])
        elif kind == "set_leverage":
            PerpCore.set_leverage(core, int(args["leverage"]))
        elif kind == "set_margin_mode":
            PerpCore.set_margin_mode(core, str(args["mode"]))
        elif kind == "set_position_mode":
            PerpCore.set_position_mode(core, bool(args["dual_side"]))
        else:
            raise VenueLogError(f"the venue log holds an unknown command {kind!r}")
        return
    if kind == "place":
        SimCore.place(
            core,
            args["client_order_id"],
            args["side"],
            args["type"],
            Decimal(args["amount"]),
            None if args["price"] is None else Decimal(args["price"]),
            args["post_only"],
            now_ms,
        )
    elif kind == "cancel":
        SimCore.cancel(core, args["ref"], now_ms, args["cancel_client_id"])
    else:
        raise VenueLogError(f"the venue log holds an unknown command {kind!r}")


def _apply_tick(core: RecordingCore | RecordingPerpCore, tick: Tick) -> None:
    # The same late-data rule as SimExchange._apply, so a replay trades exactly as the run did.
    if tick.ts_ms < core.now_ms:
        tick = replace(tick, ts_ms=core.now_ms)
    core.on_tick(tick)


def replay(
    core: RecordingCore | RecordingPerpCore, path: Iterable[Tick], log: VenueLog, resume_ms: int
) -> Iterator[Tick]:
    """Rebuild the books up to ``resume_ms``; returns the ticks still to come."""
    ticks = iter(path)
    for tick_index, now_ms, kind, args in log.commands():
        while core.ticks_applied < tick_index:
            tick = next(ticks, None)
            if tick is None:
                raise VenueLogError("the venue log refers to ticks beyond the price path")
            _apply_tick(core, tick)
        with contextlib.suppress(SimOrderError):  # refused the first time too
            _execute(core, now_ms, kind, args)
    for tick in ticks:
        if tick.ts_ms > resume_ms:
            return _chain(tick, ticks)
        _apply_tick(core, tick)
    return iter(())


def _mismatch(journal: Path, venue: Path, theirs_json: str | None, ours: SessionIdentity) -> str:
    how = f"use another --db, or delete {journal} and {venue} to start a new session"
    try:
        doc: Any = json.loads(theirs_json) if theirs_json is not None else None  # untrusted: checked below
        theirs = SessionIdentity("", str(doc["duration"]), int(doc["seed"]), bool(doc["chaos"]))
    except (TypeError, ValueError, KeyError):  # written before sessions described themselves, or damaged
        return f"journal {journal} belongs to a paper session with other settings; {how}"
    if theirs.describe() == ours.describe():
        # No square brackets: the CLI prints errors through rich, which reads them as markup.
        return (
            f"journal {journal} belongs to a session with {theirs.describe()} but another grid or paper config; {how}"
        )
    return f"journal {journal} belongs to a session with {theirs.describe()} (this run: {ours.describe()}); {how}"


def _chain(first: Tick, rest: Iterator[Tick]) -> Iterator[Tick]:
    yield first
    yield from rest
