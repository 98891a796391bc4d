"""The one error type of the store: every failure to open or use a journal becomes it."""

from __future__ import annotations


class JournalError(RuntimeError):
    """The journal cannot be used: held by another process, damaged, wrong grid, unknown schema,
    or a failed commit. Its message is one line meant for the user."""


def rebuild_hint(path: object) -> str:
    """How to get a trustworthy journal back from a damaged one (said with every refusal)."""
    return (
        f"rebuild it: `gridledger journal export --db {path} -o evidence.jsonl` saves the evidence "
        "that can still be read, then `gridledger replay --db NEW.db -c CONFIG evidence.jsonl` "
        "(or a replay of the venue's order and trade history) builds a new journal"
    )
