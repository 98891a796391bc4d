"""JSON at C speed with the project's exactness rules (issue 12).

Venue lines are decoded exactly as ``json.loads(text, parse_float=Decimal)`` reads them
(by msgspec), and journal rows are encoded exactly as ``json.dumps(value, separators=(",",
":"))`` writes them (by orjson), falling back to the standard library wherever the fast
library would answer differently. The parsers (``gridledger.venues``) stay pure: they
receive decoded values.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import msgspec
import orjson

__all__ = ["dumps_compact", "loads_exact"]

_COMPACT = (",", ":")
# One decoder for every line: json.loads(parse_float=Decimal) builds a new one per call.
_EXACT_DECODER = json.JSONDecoder(parse_float=Decimal)
# msgspec hands every number with a fraction or an exponent to Decimal as its own text, so
# nothing goes through float (orjson would: it has no such hook), and reads big integers as
# int, as the standard decoder does.
_FAST_DECODER = msgspec.json.Decoder(float_hook=Decimal)


def loads_exact(text: str) -> Any:
    """One JSON document, exactly as ``json.loads(text, parse_float=Decimal)`` reads it.

    msgspec decodes it at C speed; a line msgspec refuses (NaN, lone surrogates, a BOM,
    garbage) goes to the standard decoder, whose result and errors are what they always
    were (tests/venues/test_fast_json.py compares the two on every venue fixture and on
    generated documents).
    """
    try:
        return _FAST_DECODER.decode(text)
    except Exception:  # DecodeError, RecursionError (deep nesting), anything else it refuses:
        pass  # the standard decoder gives the error (or the value) it always gave
    if text[:1] == "\ufeff":
        return json.loads(text, parse_float=Decimal)  # its own "Unexpected UTF-8 BOM" error
    return _EXACT_DECODER.decode(text)


def dumps_compact(value: Any) -> str:
    """``json.dumps(value, separators=(",", ":"))``, byte for byte, at orjson's speed.

    The journal writes a record or an outcome row per message (JSON encoding was 16 % of the
    journal path). orjson writes the same text for printable ASCII content; for anything else
    (non-ASCII, which json escapes, or a value orjson refuses: lone surrogates, ints beyond
    64 bits, a Decimal) the standard encoder writes it, so stored text never changes form.
    """
    try:
        out = orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=_COMPACT)
    # json escapes every character outside space..'~' (so DEL as well); orjson leaves DEL as is.
    if out.isascii() and b"\x7f" not in out:
        return out.decode()
    return json.dumps(value, separators=_COMPACT)
