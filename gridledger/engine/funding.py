"""Funding payments of a perpetual grid: read from the venue's income history, each recorded
once by its own id (``ledger/funding.py``, ``store/funding.py``).

The income history (ccxt ``fetch_funding_history``, Binance GET /fapi/v1/income with its
``tranId``) is the only source recorded: it is read every ``funding_poll_s`` from a little
before the newest payment recorded (``funding_overlap_s``), in pages. The user data stream's
``ACCOUNT_UPDATE`` with reason ``FUNDING_FEE`` has no id the history repeats, so it is used
only as a trigger: ``funding_trigger_delay_s`` after it, the history is read again. A stream
drop, a restart, an overlap: every repeat is a DUPLICATE of an id already recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

from gridledger.config_perp import PerpConfig
from gridledger.engine.evidence_reader import dump
from gridledger.engine.shared import Shared
from gridledger.ledger.funding import FundingBook, FundingKind, FundingPayment
from gridledger.logs import log_event, redact
from gridledger.store.funding import FundingStore
from gridledger.venues.binance_usdm.income import funding_from_ccxt, is_funding_update

log = logging.getLogger("gridledger.engine")

__all__ = ["FundingWatch"]

# Venues whose balance stream carries Binance's ACCOUNT_UPDATE (the funding trigger).
_TRIGGER_IDS = frozenset({"binanceusdm"})


class FundingWatch:
    def __init__(self, shared: Shared, perp: PerpConfig) -> None:
        self.sh = shared
        self.perp = perp
        self.store = FundingStore(shared.journal)
        self.book: FundingBook | None = None
        self.wake = asyncio.Event()
        self.polls = 0
        self.triggers = 0
        self.bad_rows = 0

    @property
    def available(self) -> bool:
        return callable(getattr(self.sh.ex, "fetch_funding_history", None))

    def open(self) -> FundingBook:
        """Restore the recorded payments (on start; a second call keeps the book)."""
        if self.book is None:
            self.book = self.store.open_book(self.sh.now_ms())
        return self.book

    def totals(self) -> dict[str, Any]:
        return self.book.totals() if self.book is not None else {}

    # ------------------------------------------------------------------ reading the history
    async def poll(self, reason: str) -> int:
        """Read the income history since a little before the newest payment; returns the
        number of payments applied."""
        sh = self.sh
        book = self.open()
        fetch = getattr(sh.ex, "fetch_funding_history", None)
        if fetch is None:
            return 0
        self.polls += 1
        newest = book.newest_ms
        overlap_ms = int(self.perp.funding_overlap_s * 1000)
        since = book.since_ms if newest is None else max(book.since_ms, newest - overlap_ms)
        limit = self.perp.funding_page
        applied = 0
        for _ in range(self.perp.funding_pages):
            start = since
            result = await sh.caller.retry(
                "fetch_funding_history",
                lambda s=start: fetch(sh.symbol, s, limit),  # type: ignore[misc]
            )
            if result.value is None:
                return applied
            rows = result.value or []
            last = since
            for row in rows:
                applied += self.apply(row, f"rest:funding:{reason}")
                ts = row.get("timestamp") if isinstance(row, dict) else None
                if isinstance(ts, int) and ts > last:
                    last = ts
            if len(rows) < limit or last <= since:
                break
            since = last
        if applied:
            log_event(log, logging.INFO, "funding payments recorded", count=applied, reason=reason)
        return applied

    def apply(self, row: Any, source: str) -> int:
        """One funding-history entry: applied and recorded (1), or counted and logged (0)."""
        book = self.open()
        try:
            parsed = funding_from_ccxt(row, self.sh.grid.instrument)
            if parsed is None:
                return 0  # another income type
            payment = FundingPayment(*parsed)
        except ValueError as exc:  # InputError included: a malformed row names its field
            self.bad_rows += 1
            log_event(log, logging.WARNING, "funding row rejected", reason=str(exc)[:200], source=source)
            return 0
        out = book.apply(payment)
        if out.kind is FundingKind.APPLIED:
            raw = row.get("info", row) if isinstance(row, dict) else row
            self.store.record(payment, dump(raw), source=source, received_at=self.sh.now_ms())
            log_event(
                log,
                logging.INFO,
                "funding payment",
                payment_id=payment.payment_id,
                asset=payment.asset,
                amount=payment.amount,
                ts=payment.timestamp,
            )
            return 1
        if out.kind is FundingKind.REJECTED:
            log_event(log, logging.WARNING, "funding row rejected", reason=out.reason, source=source)
        return 0

    # ------------------------------------------------------------------ loops
    def trigger(self) -> None:
        """The stream says a funding fee was booked: read the history soon."""
        self.triggers += 1
        self.wake.set()

    async def loop(self) -> None:
        sh = self.sh
        first = True
        while not sh.stopping:
            reason = "startup" if first else "periodic"
            if not first:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), self.perp.funding_poll_s)
            first = False
            if self.wake.is_set():
                self.wake.clear()
                reason = "stream"
                # The income history can lag the stream by a moment.
                await asyncio.sleep(self.perp.funding_trigger_delay_s)
            try:
                await self.poll(reason)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a failed read is retried at the next poll; never stop the engine
                log_event(log, logging.ERROR, "funding read failed", error=type(exc).__name__, message=str(exc)[:200])

    @property
    def streams(self) -> bool:
        return self.sh.ex.id in _TRIGGER_IDS and callable(getattr(self.sh.ex, "watch_balance", None))

    async def watch_stream(self) -> None:
        """Binance's balance stream: an ``ACCOUNT_UPDATE`` for a funding fee triggers a read."""
        sh = self.sh
        rng = random.Random(0)
        attempt = 0
        while not sh.stopping:
            try:
                balance = await sh.ex.watch_balance()  # type: ignore[attr-defined]
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # A ccxt error, or aiohttp's ClientConnectionResetError (a ConnectionError) when
                # ccxt's keep-alive ping meets a closing socket: either only delays a trigger (the
                # periodic read still runs), and this task must never end the engine.
                log_event(
                    log,
                    logging.WARNING,
                    "balance stream disconnected",
                    error=type(exc).__name__,
                    message=redact(str(exc))[:200],
                    attempt=attempt,
                )
                # A funding fee booked while disconnected is found by the next read: ask now.
                self.trigger()
                delay = min(sh.eng.stream_backoff_max_s, sh.eng.stream_backoff_s * 2 ** min(attempt, 30))
                await asyncio.sleep(delay * (0.5 + rng.random()))
                attempt += 1
                continue
            attempt = 0
            if isinstance(balance, dict) and is_funding_update(balance.get("info")):
                self.trigger()
