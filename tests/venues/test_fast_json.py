"""gridledger.fastjson reads and writes exactly what the standard library does (issue 12).

``loads_exact`` must give the very values ``json.loads(text, parse_float=Decimal)`` gives
(same types: ``Decimal("1")`` equals ``1`` in Python, so values are compared with their
types), and the same evidence once parsed, on every venue fixture and on generated messages
whose numbers are JSON numbers; a line the standard decoder refuses is refused with the same
error. ``dumps_compact`` must write the same text as ``json.dumps(separators=(",", ":"))``.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gridledger.domain.instrument import Instrument
from gridledger.fastjson import dumps_compact, loads_exact
from gridledger.venues import parse_message

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "venues"
INSTRUMENTS = [
    Instrument.from_symbol("BTC/USDT"),
    Instrument.from_symbol("BTC/USDT:USDT", contract_size=Decimal("0.01")),
]


def typed(value: Any) -> Any:
    """A value with every leaf tagged by its type, so that 1, 1.0 and Decimal(1) differ."""
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, Decimal):
        return ("Decimal", str(value))  # str keeps the exponent: Decimal("1.0") is not "1"
    if isinstance(value, float):
        return ("float", repr(value))
    return (type(value).__name__, value)


def reference(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def outcome(fn: Any, text: str) -> Any:
    try:
        return ("ok", typed(fn(text)))
    except Exception as exc:  # the same error type and message, or the test fails
        return ("error", type(exc).__name__, str(exc))


def parsed(payload: Any, instrument: Instrument) -> Any:
    try:
        return ("ok", parse_message(payload, "auto", instrument))
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def fixture_lines() -> list[tuple[str, str]]:
    lines = []
    for path in sorted(FIXTURES.glob("*.json")):
        for name, message in json.loads(path.read_text(), parse_float=Decimal).items():
            # Both the venue's string numbers and the same message with JSON numbers.
            lines.append((f"{path.stem}:{name}", json.dumps(message, default=str)))
            lines.append((f"{path.stem}:{name}:numbers", json.dumps(_as_numbers(message), indent=1)))
    return lines


class _Num(float):
    """A JSON number written from its exact decimal text (json.dumps calls float.__repr__)."""

    def __new__(cls, text: str) -> _Num:
        obj = super().__new__(cls, text)
        obj.text = text  # type: ignore[attr-defined]
        return obj

    def __repr__(self) -> str:
        return self.text  # type: ignore[attr-defined,no-any-return]


def _as_numbers(value: Any) -> Any:
    """Every numeric string of a message as a JSON number, exactly as written."""
    if isinstance(value, dict):
        return {k: _as_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_numbers(v) for v in value]
    if isinstance(value, str):
        try:
            Decimal(value)
        except ArithmeticError:
            return value
        if value.strip() == value and value.lstrip("-").replace(".", "", 1).isdigit() and not value.startswith("."):
            return int(value) if value.lstrip("-").isdigit() else _Num(value)
    if isinstance(value, Decimal):
        return _Num(str(value))
    return value


@pytest.mark.parametrize(("name", "line"), fixture_lines(), ids=[n for n, _ in fixture_lines()])
def test_every_fixture_decodes_and_parses_as_the_standard_decoder(name: str, line: str) -> None:
    assert outcome(loads_exact, line) == outcome(reference, line)
    for instrument in INSTRUMENTS:
        assert parsed(loads_exact(line), instrument) == parsed(reference(line), instrument)


def test_json_numbers_take_the_exact_path() -> None:
    line = '{"p":0.1,"q":1e-8,"big":18446744073709551616,"n":-0,"s":"0.1","i":12}'
    value = loads_exact(line)
    assert typed(value) == typed(reference(line))
    assert value["p"] == Decimal("0.1") and type(value["p"]) is Decimal
    assert value["big"] == 18446744073709551616 and type(value["big"]) is int


@pytest.mark.parametrize(
    "line",
    [
        "",
        "{",
        '{"a":NaN}',
        "[Infinity]",
        '"\\ud800"',
        "\ufeff{}",
        '{"a":1,"a":2}',
        "01",
        "[1,]",
        '"\x01"',
        "[" * 5000,
        "1" * 5000,
        '{"a":1e999999999999999999}',
        " [1] ",
        "[1]x",
        "-",
        "1.",
        ".5",
        "1e",
        '{"a" : [ -0.0e+0 ] }',
    ],
)
def test_edge_lines_match_the_standard_decoder(line: str) -> None:
    assert outcome(loads_exact, line) == outcome(reference, line)


_numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(
        lambda d: format(d, "f") if d == d.to_integral() else str(d)
    ),
    st.from_regex(r"-?(0|[1-9][0-9]{0,25})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
)
_leaf = st.one_of(
    _numbers.map(lambda n: ("num", n)),
    st.text(max_size=12).map(lambda s: ("str", s)),
    st.sampled_from([("lit", "true"), ("lit", "false"), ("lit", "null")]),
)


def _render(tree: Any) -> str:
    if isinstance(tree, list):
        return "[" + ",".join(_render(t) for t in tree) + "]"
    if isinstance(tree, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_render(v)}" for k, v in tree.items()) + "}"
    kind, text = tree
    return json.dumps(text) if kind == "str" else text


_trees = st.recursive(
    _leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=6), inner, max_size=5)),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(_trees)
def test_generated_messages_with_json_numbers_decode_as_the_standard_decoder(tree: Any) -> None:
    line = _render(tree)
    assert outcome(loads_exact, line) == outcome(reference, line)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_decoded_or_refused_as_the_standard_decoder(text: str) -> None:
    assert outcome(loads_exact, text) == outcome(reference, text)


_plain = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=5), inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(_plain)
def test_dumps_compact_writes_what_json_dumps_writes(value: Any) -> None:
    assert dumps_compact(value) == json.dumps(value, separators=(",", ":"))


def test_dumps_compact_escapes_every_character_as_json_dumps_does() -> None:
    # Every control character, DEL, Latin-1 and beyond, and lone surrogates (orjson refuses them).
    for code in [*range(0x3000), 0xD800, 0xDFFF, 0xFFFF, 0x1F600]:
        value = [chr(code), {chr(code): code}]
        assert dumps_compact(value) == json.dumps(value, separators=(",", ":")), hex(code)
