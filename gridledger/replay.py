"""Replay JSON Lines of exchange messages through the ledger (the shell of ``gridledger replay``)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from gridledger.config import Config
from gridledger.domain.numbers import InputError
from gridledger.engine.outcome_log import log_outcomes, log_rejected
from gridledger.fastjson import loads_exact
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.outcomes import OutcomeKind
from gridledger.store.journal import Journal
from gridledger.store.scratch import ScratchArchive
from gridledger.venues import parse_message


@dataclass(slots=True)
class Rejection:
    source: str
    line: int
    reason: str


@dataclass(slots=True)
class ReplayResult:
    ledger: Ledger
    outcomes: dict[str, int] = field(default_factory=dict)  # this run's, per outcome
    messages: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)


STDIN = "-"  # `gridledger replay -`: read JSON Lines from standard input


def _open_events(path: Path) -> IO[str]:
    if str(path) == STDIN:
        return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


# The longest line parsed. Real venue answers are far smaller (a 1000-row Binance allOrders
# page is ~0.6 MB); a longer line is rejected unread, so a runaway file (no newline for
# gigabytes) costs bounded memory and never stops the lines after it (R10).
MAX_LINE_CHARS = 16 * 1024 * 1024
# A rejection reason is one short line: bad values are quoted by a short prefix only.
MAX_REASON_CHARS = 300


class TooLong(str):
    """The start of a line longer than ``MAX_LINE_CHARS``; ``total`` is its full length."""

    total: int = 0


def _physical_lines(fh: IO[str]) -> Iterator[str]:
    """``fh``'s lines, each read with a bounded buffer; an overlong one becomes ``TooLong``."""
    while True:
        line = fh.readline(MAX_LINE_CHARS)
        if not line:
            return
        if len(line) < MAX_LINE_CHARS or line.endswith("\n"):
            yield line
            continue
        total = len(line)
        while True:  # skip the rest of the line in bounded chunks
            more = fh.readline(1 << 20)
            total += len(more)
            if not more or more.endswith("\n"):
                break
        long = TooLong(line[:200])
        long.total = total
        yield long


def read_lines(paths: Iterable[Path]) -> Iterator[tuple[str, int, str]]:
    for path in paths:
        name = "<stdin>" if str(path) == STDIN else str(path)
        with _open_events(path) as fh:
            for number, line in enumerate(_physical_lines(fh), start=1):
                if type(line) is TooLong:
                    yield name, number, line
                    continue
                text = line.strip()
                if text:
                    yield name, number, text


def _short(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON_CHARS else reason[: MAX_REASON_CHARS - 1] + "…"


def _decode(text: str) -> object:
    """One JSON line; numbers with fractions or exponents become ``Decimal`` (never float).

    Every failure is an ``InputError`` with a short reason: ``JSONDecodeError`` messages
    give a position, never the document; Python refuses ints of more than 4300 digits with
    a plain ``ValueError``; deep nesting raises ``RecursionError``.
    """
    if type(text) is TooLong:
        raise InputError(f"line too long: {text.total} characters (limit {MAX_LINE_CHARS}); not parsed")
    try:
        return loads_exact(text)  # orjson where no number could be rounded (issue 12)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc}") from None
    except RecursionError:
        raise InputError("not JSON: nested too deeply") from None
    except ArithmeticError:  # Decimal("1E+999999999999999999999"): beyond any exponent
        raise InputError("not JSON: a number's exponent is out of range") from None
    except ValueError as exc:  # int() of more than 4300 digits
        raise InputError(f"not JSON: a number is unreadable: {str(exc)[:120]}") from None


def replay(
    paths: Iterable[Path],
    config: Config,
    *,
    db: Path | None = None,
    fmt: str = "auto",
    group_commit: int = 1,
) -> ReplayResult:
    """Apply every line; bad lines are REJECTED with their line number and the replay goes on."""
    grid = config.grid.spec()
    ledger = Ledger(grid)
    journal = (
        Journal.open(db, ledger, synchronous=config.engine.journal_synchronous, group_size=group_commit) if db else None
    )
    # Without a journal, finished orders go to a temporary SQLite file rather than RAM, so
    # a replay of a million orders runs in bounded memory (issue 12).
    scratch = ScratchArchive(ledger) if journal is None else None
    result = ReplayResult(ledger)
    before = dict(ledger.counts)
    try:
        if journal is not None and group_commit > 1:
            with journal.group():
                _run(paths, grid.instrument, fmt, ledger, journal, result, scratch)
        else:
            _run(paths, grid.instrument, fmt, ledger, journal, result, scratch)
    finally:
        result.outcomes = {k: ledger.counts[k] - before.get(k, 0) for k in sorted(ledger.counts)}
        if journal is not None:
            journal.close()
        if scratch is not None:
            scratch.close()
    return result


def _run(
    paths,
    instrument,
    fmt,
    ledger: Ledger,
    journal: Journal | None,
    result: ReplayResult,
    scratch: ScratchArchive | None = None,
) -> None:
    for source, number, text in read_lines(paths):
        result.messages += 1
        where = f"{source}:{number}"
        try:
            payload = _decode(text)
            parsed = parse_message(payload, fmt, instrument, source=where)
        except (ValueError, InputError, RecursionError) as exc:
            # A rejected line is journaled and counted, then the next line is read: it never
            # blocks the lines after it (R10). The reason quotes bad values by a prefix only.
            reason = _short(str(exc) if isinstance(exc, InputError) else f"{type(exc).__name__}: {str(exc)[:200]}")
            result.rejections.append(Rejection(source, number, reason))
            log_rejected(reason, source=source, line=number)  # the ledger only counts it
            if journal is not None:
                journal.record_rejection(text, reason, source=where, line=number)
            else:
                ledger.reject(reason, source=source, line=number)
            continue
        if parsed.skipped:
            result.skipped[parsed.skipped] = result.skipped.get(parsed.skipped, 0) + 1
        if journal is not None:
            outcomes = journal.apply_message(text, parsed.items, source=where)
        else:
            outcomes = ledger.apply_all(parsed.items)
            if scratch is not None:
                scratch.applied(len(outcomes))
            else:
                ledger.flush_to_memory()
        log_outcomes(outcomes, parsed.items)
        for out in outcomes:
            if out.kind is OutcomeKind.REJECTED:
                result.rejections.append(Rejection(source, number, _short(out.reason)))
