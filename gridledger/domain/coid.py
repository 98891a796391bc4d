"""Deterministic, self-describing client order ids (rule R7).

Layout, all characters from [A-Za-z0-9] so that Binance, OKX and Bybit accept it, at most
32 characters::

    gl 1 n <grid id: n chars> c m <|level| in base36: m chars> <generation in base36> k

- ``gl1``: prefix and layout version; tells our ids from foreign ones.
- ``n``: length of the grid id (one base36 digit, 1..12).
- ``c``: one letter A..H holding side, role and the sign of the level.
- ``m``: number of base36 digits of the level (1..6).
- ``k``: check digit over everything before it, so a foreign id that happens to start
  with ``gl1`` is not mistaken for ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from gridledger.domain.types import Role, Side

PREFIX = "gl1"
MAX_LEN = 32
MAX_GRID_ID_LEN = 12
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_GRID_ID = re.compile(r"[A-Za-z0-9]{1,12}")
_CODES = "ABCDEFGH"


class CoidError(ValueError):
    """An id cannot be encoded within the limits."""


@dataclass(frozen=True, slots=True)
class ClientId:
    grid_id: str
    level: int
    side: Side
    role: Role
    generation: int


def _b36(value: int) -> str:
    if value == 0:
        return "0"
    out = []
    while value:
        value, rem = divmod(value, 36)
        out.append(_DIGITS[rem])
    return "".join(reversed(out))


def _check(text: str) -> str:
    return _DIGITS[sum((i + 1) * ord(ch) for i, ch in enumerate(text)) % 36]


def validate_grid_id(grid_id: str) -> str:
    if not _GRID_ID.fullmatch(grid_id):
        raise CoidError(f"grid id must be 1 to {MAX_GRID_ID_LEN} characters from [A-Za-z0-9], got {grid_id!r}")
    return grid_id


def encode(cid: ClientId) -> str:
    validate_grid_id(cid.grid_id)
    if cid.generation < 0:
        raise CoidError(f"generation must be >= 0, got {cid.generation}")
    level_digits = _b36(abs(cid.level))
    if len(level_digits) > 6:
        raise CoidError(f"level {cid.level} is too far from the anchor to encode")
    code = _CODES[(cid.side is Side.SELL) * 4 + (cid.role is Role.CLOSE) * 2 + (cid.level < 0)]
    body = (
        f"{PREFIX}{_DIGITS[len(cid.grid_id)]}{cid.grid_id}{code}"
        f"{_DIGITS[len(level_digits)]}{level_digits}{_b36(cid.generation)}"
    )
    text = body + _check(body)
    if len(text) > MAX_LEN:
        raise CoidError(f"client id {text!r} is longer than {MAX_LEN} characters")
    return text


def decode(text: object) -> ClientId | None:
    """Decode one of our ids; ``None`` for anything else (foreign ids, typos, noise)."""
    if not isinstance(text, str) or not text.startswith(PREFIX) or not text.isascii():
        return None
    return _decode_ours(text)


# Every message about an order names its id; decoding costs microseconds, so each id is
# decoded once while its order is active (issue 12). The answer is a pure function of the
# text and ClientId is immutable, so a shared answer is safe; the bound keeps memory flat.
@lru_cache(maxsize=4096)
def _decode_ours(text: str) -> ClientId | None:
    if len(text) > MAX_LEN or not text.isalnum() or text[-1] != _check(text[:-1]):
        return None
    try:
        pos = len(PREFIX)
        n = _DIGITS.index(text[pos])
        pos += 1
        grid_id = text[pos : pos + n]
        pos += n
        code = _CODES.index(text[pos])
        pos += 1
        m = _DIGITS.index(text[pos])
        pos += 1
        level_text = text[pos : pos + m]
        pos += m
        gen_text = text[pos:-1]
    except (ValueError, IndexError):  # a length digit that points past the end
        return None
    if not (1 <= n <= MAX_GRID_ID_LEN and 1 <= m <= 6 and len(grid_id) == n):
        return None
    if len(level_text) != m or not gen_text or not _GRID_ID.fullmatch(grid_id):
        return None
    if any(ch not in _DIGITS for ch in level_text + gen_text):
        return None
    level = int(level_text, 36)
    if code & 1:
        if level == 0:
            return None
        level = -level
    cid = ClientId(
        grid_id=grid_id,
        level=level,
        side=Side.SELL if code & 4 else Side.BUY,
        role=Role.CLOSE if code & 2 else Role.OPEN,
        generation=int(gen_text, 36),
    )
    # Reject non-canonical spellings (leading zeros) so one order has exactly one id.
    return cid if encode(cid) == text else None
