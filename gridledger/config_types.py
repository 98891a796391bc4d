"""Bounded setting types for the config models: every number has a range, every text a shape.

A config value reaches the program as a TOML integer, a TOML float (read as ``Decimal``
by ``load_config``), a string, or a Python ``float`` when a dict is validated directly.
Each bounded type converts it without going through binary float for money and sizes
(a float is converted through its shortest ``repr``), rejects infinity, NaN and anything
but ASCII decimal syntax, and checks the range before a value is used: an unbounded
exponent such as ``1e999999999`` otherwise reaches price arithmetic (or ``int()``) and
hangs or raises far from the config.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, GetCoreSchemaHandler
from pydantic_core import core_schema

# Plain decimal syntax only: no spaces, no non-ASCII digits ("١٢"), no inf/nan, a short exponent.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?([0-9]+))?")
_MAX_EXPONENT_DIGITS = 4  # 1e9999 at most: no setting is near that, and Decimal stays fast
_MAX_TEXT = 64  # characters of a number written as a string
_MAX_DIGITS = 24  # significant digits: more is a typo, and exceeds what prices and sizes need


@dataclass(frozen=True, slots=True)
class Range:
    """Inclusive bounds unless ``lo_open``/``hi_open``; ``unit`` is for messages and docs."""

    lo: Decimal
    hi: Decimal
    unit: str = ""
    lo_open: bool = False
    hi_open: bool = False

    def text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        if not (self.lo_open or self.hi_open):
            return f"from {_num(self.lo)} to {_num(self.hi)}{unit}"
        left = "above" if self.lo_open else "at least"
        right = "below" if self.hi_open else "at most"
        return f"{left} {_num(self.lo)} and {right} {_num(self.hi)}{unit}"

    def check(self, value: Decimal) -> None:
        too_low = value <= self.lo if self.lo_open else value < self.lo
        too_high = value >= self.hi if self.hi_open else value > self.hi
        if too_low or too_high:
            raise ValueError(f"must be {self.text()}")


def _num(value: Decimal) -> str:
    """1e12 and 1e-12 for powers of ten far from 1, plain digits otherwise."""
    norm = value.normalize()
    sign, digits, exp = norm.as_tuple()
    if digits == (1,) and isinstance(exp, int) and abs(exp) >= 6:
        return f"{'-' if sign else ''}1e{exp}"
    return format(norm, "f")


def to_decimal(value: Any) -> Decimal:
    """A finite Decimal from a TOML/JSON scalar, or ValueError saying what is wrong."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true/false")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        value = Decimal(repr(value))  # 0.1 stays 0.1, not 0.1000000000000000055511151231257827
    elif isinstance(value, int):
        value = Decimal(value)
    elif isinstance(value, str):
        match = _DECIMAL_TEXT.fullmatch(value) if len(value) <= _MAX_TEXT else None
        if match is None:
            raise ValueError("must be a plain decimal number such as 0.001 or 1e-3")
        if match.group(1) is not None and len(match.group(1).lstrip("0")) > _MAX_EXPONENT_DIGITS:
            raise ValueError("is out of range (exponent too large)")
        try:
            value = Decimal(value)
        except InvalidOperation:  # pragma: no cover - the pattern admits only valid syntax
            raise ValueError("must be a plain decimal number such as 0.001 or 1e-3") from None
    elif not isinstance(value, Decimal):
        raise ValueError("must be a number")
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value


@dataclass(frozen=True, slots=True)
class Bounded:
    """``Annotated`` metadata: convert and check a setting, then let pydantic check its type.

    Written ``x: Annotated[Decimal, decimal_range("0", "1")]`` so a type checker sees the
    value type (``Decimal``) and pydantic runs ``check`` (before its own validation, or
    after it with ``after=True``); ``range`` is kept for the docs and the tests
    (``model_ranges``).
    """

    check: Callable[[Any], Any]
    range: Range | None = None
    after: bool = False

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        schema = handler(source)
        if self.after:
            return core_schema.no_info_after_validator_function(self.check, schema)
        return core_schema.no_info_before_validator_function(self.check, schema)


def decimal_range(
    lo: str | int, hi: str | int, unit: str = "", *, lo_open: bool = False, hi_open: bool = False
) -> Bounded:
    """A Decimal setting (money, sizes, prices, fractions) within ``[lo, hi]``."""
    rng = Range(Decimal(lo), Decimal(hi), unit, lo_open, hi_open)

    def check(value: Any) -> Decimal:
        dec_value = to_decimal(value)
        rng.check(dec_value)
        if len(dec_value.normalize().as_tuple().digits) > _MAX_DIGITS:
            raise ValueError(f"has more than {_MAX_DIGITS} significant digits")
        return dec_value

    return Bounded(check, rng)


def float_range(lo: str | int, hi: str | int, unit: str = "", *, lo_open: bool = False) -> Bounded:
    """A float setting (durations in seconds, rates, model parameters) within ``[lo, hi]``."""
    rng = Range(Decimal(lo), Decimal(hi), unit, lo_open)

    def check(value: Any) -> float:
        dec_value = to_decimal(value)
        rng.check(dec_value)  # on the exact value: 1e400 is out of range, not float('inf')
        return float(dec_value)

    return Bounded(check, rng)


def int_range(lo: int, hi: int, unit: str = "") -> Bounded:
    """An int setting within ``[lo, hi]``; ``2000.0`` is accepted, ``2000.5`` is not."""
    rng = Range(Decimal(lo), Decimal(hi), unit)

    def check(value: Any) -> int:
        dec_value = to_decimal(value)
        rng.check(dec_value)  # before int(): int(Decimal("1e999999999")) would not return
        if dec_value != dec_value.to_integral_value():
            raise ValueError("must be a whole number")
        return int(dec_value)

    return Bounded(check, rng)


def text_shape(pattern: str, what: str, max_len: int = 64) -> Bounded:
    """A string setting of a known shape (names, identifiers)."""
    compiled = re.compile(pattern)

    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError(f"must be a string ({what})")
        if not value:
            raise ValueError("must not be empty")
        if len(value) > max_len or not compiled.fullmatch(value):
            raise ValueError(f"must be {what}")
        return value

    return Bounded(check, after=True)


def short(value: Any, limit: int = 40) -> str:
    """A bounded rendering of a bad input for an error message (never the whole of a huge value)."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, Decimal):
        rendered = str(value)
    else:
        rendered = repr(value)
    if len(rendered) > limit:
        rendered = rendered[:limit] + "..."
    return rendered


def _find_range(annotation: Any, metadata: list[Any]) -> tuple[Range, Any] | None:
    for item in metadata:
        if isinstance(item, Range):
            return item, annotation
        if isinstance(item, Bounded) and item.range is not None:
            return item.range, annotation
    for arg in get_args(annotation):  # Optional[Annotated[...]] and dict[str, Annotated[...]]
        if get_origin(arg) is Annotated:
            base, *extra = get_args(arg)
            found = _find_range(base, extra)
            if found is not None:
                return found
    return None


def model_ranges(model: type[BaseModel]) -> list[tuple[str, Range, Any]]:
    """(field, range, value type) of every bounded field of a model: for the docs and the tests."""
    rows: list[tuple[str, Range, Any]] = []
    for name, info in model.model_fields.items():
        found = _find_range(info.annotation, list(info.metadata))
        if found is not None:
            rows.append((name, found[0], found[1]))
    return rows
