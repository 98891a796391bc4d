"""Values exchanged between the engine and the strategy.

Inputs (``LiveOrder``, ``SlotView``, ``StrategyState``) describe what the engine knows; outputs
(``Place``, ``Cancel``, ``Note``, ``Decision``) say what to do and why some levels were left
alone. All are immutable, so a decision can be logged, replayed and compared as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from gridledger.domain.types import Role, Side

NoteKind = Literal["dust", "below_min", "would_cross", "waiting", "cap", "paused", "out_of_bounds"]
NOTE_KINDS: Final[frozenset[str]] = frozenset(
    ("dust", "below_min", "would_cross", "waiting", "cap", "paused", "out_of_bounds")
)


@dataclass(frozen=True, slots=True)
class LiveOrder:
    """An order of ours the engine believes is resting (or not yet confirmed dead)."""

    client_id: str
    side: Side
    role: Role
    price: Decimal
    amount: Decimal
    filled: Decimal


@dataclass(frozen=True, slots=True)
class SlotView:
    """One grid slot: the inventory it holds and its bound live order, if any."""

    level: int
    qty: Decimal
    live: LiveOrder | None = None


@dataclass(frozen=True, slots=True)
class StrategyState:
    """What the strategy remembers between decisions.

    ``post_only_rejects`` is kept sorted by level with positive counts only, so two states
    that mean the same thing compare equal (the engine may persist and diff them).
    """

    centre: int | None = None
    post_only_rejects: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        counts = dict(self.post_only_rejects)
        if len(counts) != len(self.post_only_rejects):
            raise ValueError(f"post_only_rejects has a level twice: {self.post_only_rejects!r}")
        if any(n < 1 for n in counts.values()):
            raise ValueError(f"post_only_rejects counts must be >= 1: {self.post_only_rejects!r}")
        object.__setattr__(self, "post_only_rejects", tuple(sorted(counts.items())))

    def rejects(self, level: int) -> int:
        """Consecutive post-only rejections of ``level`` at the current centre."""
        for lvl, n in self.post_only_rejects:
            if lvl == level:
                return n
        return 0

    def on_post_only_reject(self, level: int) -> StrategyState:
        counts = dict(self.post_only_rejects)
        counts[level] = counts.get(level, 0) + 1
        return StrategyState(self.centre, tuple(counts.items()))

    def on_accepted(self, level: int) -> StrategyState:
        counts = dict(self.post_only_rejects)
        if counts.pop(level, None) is None:
            return self
        return StrategyState(self.centre, tuple(counts.items()))


@dataclass(frozen=True, slots=True)
class Place:
    """Place one order for slot ``level``; a closing sell's ``price`` is one level up."""

    level: int
    side: Side
    role: Role
    price: Decimal
    amount: Decimal
    post_only: bool


@dataclass(frozen=True, slots=True)
class Cancel:
    level: int
    client_id: str
    reason: str


Action = Place | Cancel


@dataclass(frozen=True, slots=True)
class Note:
    """Why a level got no order this time; ``qty`` carries inventory that must stay visible."""

    level: int
    kind: NoteKind
    detail: str
    qty: Decimal | None = None

    def __post_init__(self) -> None:
        if self.kind not in NOTE_KINDS:
            raise ValueError(f"kind must be one of {sorted(NOTE_KINDS)}, got {self.kind!r}")


@dataclass(frozen=True, slots=True)
class Decision:
    """The strategy's answer to one price: next state, actions in order, and notes.

    Actions are ordered cancels, closing sells, opening buys (each nearest the price first),
    so an engine that sends them in order frees capacity before using it.
    """

    state: StrategyState
    actions: tuple[Action, ...] = ()
    notes: tuple[Note, ...] = ()

    @property
    def places(self) -> tuple[Place, ...]:
        return tuple(a for a in self.actions if isinstance(a, Place))

    @property
    def cancels(self) -> tuple[Cancel, ...]:
        return tuple(a for a in self.actions if isinstance(a, Cancel))

    def notes_of(self, kind: NoteKind) -> tuple[Note, ...]:
        return tuple(n for n in self.notes if n.kind == kind)
