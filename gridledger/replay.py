"""Replay JSON Lines of exchange messages through the ledger (the shell of ``gridledger replay``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Iterator

from gridledger.config import Config
from gridledger.domain.numbers import InputError
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.normalize import parse_message
from gridledger.ledger.outcomes import OutcomeKind
from gridledger.store.journal import Journal


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


def read_lines(paths: Iterable[Path]) -> Iterator[tuple[str, int, str]]:
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for number, line in enumerate(fh, start=1):
                text = line.strip()
                if text:
                    yield str(path), number, text


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
    journal = Journal.open(db, grid, synchronous=config.engine.journal_synchronous, group_size=group_commit) if db else None
    ledger = journal.ledger if journal else Ledger(grid)
    result = ReplayResult(ledger)
    before = dict(ledger.counts)
    try:
        if journal is not None and group_commit > 1:
            with journal.group():
                _run(paths, grid.instrument, fmt, ledger, journal, result)
        else:
            _run(paths, grid.instrument, fmt, ledger, journal, result)
    finally:
        result.outcomes = {k: ledger.counts[k] - before.get(k, 0) for k in sorted(ledger.counts)}
        if journal is not None:
            journal.close()
    return result


def _run(paths, instrument, fmt, ledger: Ledger, journal: Journal | None, result: ReplayResult) -> None:
    for source, number, text in read_lines(paths):
        result.messages += 1
        where = f"{source}:{number}"
        try:
            payload = json.loads(text, parse_float=Decimal)
            parsed = parse_message(payload, fmt, instrument, source=where)
        except (ValueError, InputError, RecursionError) as exc:
            reason = f"not JSON: {exc}" if isinstance(exc, json.JSONDecodeError) else str(exc)
            result.rejections.append(Rejection(source, number, reason))
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
            ledger.flush_to_memory()
        for out in outcomes:
            if out.kind is OutcomeKind.REJECTED:
                result.rejections.append(Rejection(source, number, out.reason))
