"""Format detection, malformed input, and robustness against junk (hypothesis)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridledger.domain.instrument import Instrument
from gridledger.domain.numbers import InputError
from gridledger.ledger.evidence import OrderEvidence, Parsed, TradeEvidence
from gridledger.venues import FORMATS, VENUE_PARSERS, detect_format, parse_message

FIXTURES = Path(__file__).parent.parent / "fixtures" / "venues"
FORMAT_OF_FILE = {
    "binance_spot": "binance-spot",
    "binance_usdm": "binance-usdm",
    "okx": "okx",
    "bybit": "bybit",
    "ccxt": "ccxt",
}
ALL: dict[str, dict[str, Any]] = {
    stem: json.loads((FIXTURES / f"{stem}.json").read_text(), parse_float=Decimal) for stem in FORMAT_OF_FILE
}
CASES = [(stem, name) for stem, fixtures in ALL.items() for name in fixtures]

# listenKeyExpired looks the same on both Binance markets; either parser skips it.
DETECT_OVERRIDES = {("binance_usdm", "listen_key_expired"): "binance-spot"}

BTCUSDT = Instrument.from_symbol("BTC/USDT")
ETHBTC = Instrument.from_symbol("ETH/BTC")
OKX_SWAP = Instrument.from_symbol("BTC/USDT:USDT", contract_size=Decimal("0.01"))


def fixture(stem: str, name: str) -> Any:
    return copy.deepcopy(ALL[stem][name])


def test_public_api() -> None:
    assert FORMATS == ("auto", "ccxt", "binance-spot", "binance-usdm", "okx", "bybit")
    assert set(VENUE_PARSERS) == set(FORMATS) - {"auto"}


@pytest.mark.parametrize(("stem", "name"), [c for c in CASES if c != ("binance_spot", "rest_open_orders_empty")])
def test_auto_detection_picks_the_fixture_format(stem: str, name: str) -> None:
    assert detect_format(fixture(stem, name)) == DETECT_OVERRIDES.get((stem, name), FORMAT_OF_FILE[stem])


def test_empty_list_is_a_skip_in_auto_mode() -> None:
    assert parse_message([], "auto", BTCUSDT) == Parsed((), "empty list")


@pytest.mark.parametrize(
    "payload",
    [
        {"foo": 1},
        {"e": "somethingNew", "E": 1},
        "a JSON string",
        '{"e": "executionReport"}',
        17,
        None,
        [1, 2],
    ],
)
def test_undetectable_payloads_raise(payload: Any) -> None:
    with pytest.raises(InputError, match="cannot tell the message format"):
        parse_message(payload, "auto", BTCUSDT)


def test_unknown_format_name() -> None:
    with pytest.raises(InputError, match="unknown message format 'kraken'"):
        parse_message({}, "kraken", BTCUSDT)


def test_source_is_copied_into_every_item() -> None:
    parsed = parse_message(fixture("binance_spot", "rest_full"), "auto", BTCUSDT, source="rest:POST /api/v3/order")
    assert len(parsed.items) == 6
    assert {item.source for item in parsed.items} == {"rest:POST /api/v3/order"}


# --- malformed input names the field ---------------------------------------------------------


def _er(**changes: Any) -> dict[str, Any]:
    event = fixture("binance_spot", "limit_partial1")
    for key, value in changes.items():
        if value is _DELETE:
            del event[key]
        else:
            event[key] = value
    return event


_DELETE = object()


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (_er(i=_DELETE), r"executionReport field i \(order id\) is missing"),
        (_er(z="-1"), r"^executionReport field z \(cumulative filled\) is negative: '-1'$"),
        (_er(z="NaN"), r"executionReport field z \(cumulative filled\) is not finite: 'NaN'"),
        (_er(l="Infinity"), r"executionReport field l \(last filled\) is not finite"),
        (_er(X="FOO"), r"unknown order status 'FOO' in executionReport field X \(order status\)"),
        (_er(q=True), r"executionReport field q \(order quantity\) is a boolean"),
        (_er(i=[4293153]), r"executionReport field i \(order id\) is not an id"),
        (_er(i=""), r"executionReport field i \(order id\) is empty"),
        (_er(t=None), r"executionReport field t \(trade id\) is missing"),
        (_er(S="LONG"), r"executionReport field S \(side\) must be buy or sell"),
        (_er(s=None), r"executionReport field s \(symbol\) is missing"),
        (_er(T="yesterday"), r"executionReport field T \(transaction time\) is not a timestamp"),
        (_er(n="0.1", N=None), r"executionReport field N \(commission asset\) must name the fee asset"),
        (_er(x=_DELETE), r"executionReport field x \(execution type\) is missing"),
        # l × L (no Y) overflows the decimal context: still an InputError, not decimal.Overflow
        (_er(L="1e999999999", Y=_DELETE), r"out of range"),
    ],
)
def test_binance_malformed_fields(event: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_message(event, "auto", ETHBTC)


def test_decimal_nan_and_floats() -> None:
    with pytest.raises(InputError, match=r"z .cumulative filled. is not finite"):
        parse_message(_er(z=Decimal("NaN")), "binance-spot", ETHBTC)
    with pytest.raises(InputError, match="not finite"):
        parse_message(_er(z=float("inf")), "binance-spot", ETHBTC)
    # a float that slips through keeps its shortest repr, never its binary expansion
    _trade, order = parse_message(_er(z=0.4), "binance-spot", ETHBTC).items
    assert isinstance(order, OrderEvidence) and order.filled == Decimal("0.4")


def test_json_string_instead_of_object() -> None:
    text = json.dumps(fixture("bybit", "exec1"))
    for fmt in ("binance-spot", "binance-usdm", "okx", "bybit", "ccxt"):
        with pytest.raises(InputError, match="must be a JSON object"):
            parse_message(text, fmt, BTCUSDT)
    with pytest.raises(InputError, match="okx orders data\\[\\] row must be a JSON object"):
        msg = fixture("okx", "limit_live")
        msg["data"] = [json.dumps(msg["data"][0])]
        parse_message(msg, "okx", BTCUSDT)


def _okx_row(**changes: Any) -> dict[str, Any]:
    msg = fixture("okx", "limit_partial1")
    msg["data"][0].update(changes)
    return msg


def _bybit_row(name: str = "order_partial1", **changes: Any) -> dict[str, Any]:
    msg = fixture("bybit", name)
    for key, value in changes.items():
        if value is _DELETE:
            del msg["data"][0][key]
        else:
            msg["data"][0][key] = value
    return msg


def _ccxt(name: str = "order_open_partial", **changes: Any) -> dict[str, Any]:
    obj = fixture("ccxt", name)
    obj.update(changes)
    return obj


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (_okx_row(accFillSz="-0.001"), r"okx order field accFillSz \(cumulative filled\) is negative"),
        (_okx_row(fillPx="NaN"), r"okx order field fillPx \(fill price\) is not finite"),
        (_okx_row(ordId=""), r"okx order field ordId \(order id\) is empty"),
        (_okx_row(sz=False), r"okx order field sz \(order size\) is a boolean"),
        (_okx_row(instType="PERP"), r"unknown instrument type 'PERP' in okx order field instType"),
        (_okx_row(feeCcy=""), r"okx order field feeCcy must name the fee asset"),
        (_bybit_row(cumExecQty="-0.5"), r"bybit order field cumExecQty \(cumulative filled\) is negative"),
        (_bybit_row(orderId=_DELETE), r"bybit order field orderId \(order id\) is missing"),
        (_bybit_row(orderStatus="Open"), r"unknown order status 'Open' in bybit order field orderStatus"),
        (_bybit_row("exec1", execQty="NaN"), r"bybit execution field execQty is not finite"),
        (_bybit_row("exec1", execId=_DELETE), r"bybit execution field execId \(trade id\) is missing"),
        (_bybit_row("exec1", execPrice=True), r"bybit execution field execPrice is a boolean"),
        (_ccxt(filled="NaN"), r"ccxt order field filled is not finite"),
        (_ccxt(amount=True), r"ccxt order field amount is a boolean"),
        (_ccxt(status="weird"), r"unknown order status 'weird' in ccxt order field status"),
        (_ccxt(id=None, clientOrderId=None), r"ccxt order field id \(order id\) is missing"),
        (_ccxt("trade_binance", amount="-2"), r"ccxt trade field amount is negative"),
        (_ccxt("trade_binance", id=None), r"ccxt trade field id \(trade id\) is missing"),
    ],
)
def test_other_malformed_fields(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_message(payload, "auto", BTCUSDT)


def test_fee_amounts_may_be_negative_but_sizes_may_not() -> None:
    # OKX positive fee = rebate → our negative fee; parses fine
    parse_message(_okx_row(fee="0.01", fillFee="0.01"), "okx", BTCUSDT)
    with pytest.raises(InputError, match="negative"):
        parse_message(_okx_row(fillSz="-0.001"), "okx", BTCUSDT)
    with pytest.raises(InputError, match="negative"):
        parse_message(_okx_row(avgPx="-1"), "okx", BTCUSDT)


# --- hypothesis: junk never escapes as anything but InputError ---------------------------------

KNOWN_KEYS = sorted(
    {
        key
        for fixtures in ALL.values()
        for payload in fixtures.values()
        for key in (
            list(payload)
            + [k for row in payload.get("data", []) if isinstance(row, dict) for k in row]
            + list(payload.get("o", {}) if isinstance(payload.get("o"), dict) else [])
            if isinstance(payload, dict)
            else []
        )
    }
    | {"kind", "order", "trade", "event", "subscriptionId", "list", "result", "info", "e"}
)
KNOWN_STRINGS = [
    "executionReport",
    "ORDER_TRADE_UPDATE",
    "TRADE_LITE",
    "TRADE",
    "CANCELED",
    "FILLED",
    "NEW",
    "orders",
    "fills",
    "order",
    "execution",
    "execution.fast",
    "filled",
    "live",
    "Filled",
    "Funding",
    "Trade",
    "open",
    "closed",
    "buy",
    "SELL",
    "Buy",
    "0",
    "-1",
    "1.5",
    "NaN",
    "Infinity",
    "-0",
    "1e999999999",
    "",
    "SWAP",
    "SPOT",
    "quote_ccy",
    "BTCUSDT",
    "BTC-USDT",
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.decimals(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(KNOWN_STRINGS)
)
keys = st.sampled_from(KNOWN_KEYS) | st.text(max_size=6)
junk = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=8),
    max_leaves=40,
)


def _only_parsed_or_input_error(payload: Any, fmt: str, instrument: Instrument = BTCUSDT) -> None:
    try:
        result = parse_message(payload, fmt, instrument, source="fuzz")
    except InputError:
        return
    assert isinstance(result, Parsed)
    for item in result.items:
        assert isinstance(item, (OrderEvidence, TradeEvidence))
        assert item.source == "fuzz"


@given(payload=junk)
def test_auto_on_junk_only_gives_parsed_or_input_error(payload: Any) -> None:
    _only_parsed_or_input_error(payload, "auto")


@given(payload=junk, fmt=st.sampled_from(FORMATS))
def test_junk_only_gives_parsed_or_input_error(payload: Any, fmt: str) -> None:
    _only_parsed_or_input_error(payload, fmt)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            out.append((*prefix, key))
            out.extend(_paths(child, (*prefix, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out.append((*prefix, index))
            out.extend(_paths(child, (*prefix, index)))
    return out


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> Any:
    """A real fixture with one field replaced by junk or deleted: reaches deep parser code."""
    stem, name = draw(st.sampled_from(CASES))
    payload = fixture(stem, name)
    paths = _paths(payload)
    if not paths:
        return payload
    path = draw(st.sampled_from(paths))
    parent = payload
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(junk)
    return payload


@given(payload=mutated_fixtures(), fmt=st.sampled_from(FORMATS), swap=st.booleans())
def test_mutated_fixtures_only_give_parsed_or_input_error(payload: Any, fmt: str, swap: bool) -> None:
    _only_parsed_or_input_error(payload, fmt, OKX_SWAP if swap else BTCUSDT)


# --- venue ids collide across market kinds: the other kind is not unified into ours ------


def test_other_market_kind_keeps_its_venue_id() -> None:
    spot = Instrument.from_symbol("BTC/USDT")
    perp = Instrument.from_symbol("BTC/USDT:USDT")
    # Bybit: BTCUSDT is both the spot and the linear id; category tells them apart.
    linear_exec = fixture("bybit", "exec1")
    (trade,) = parse_message(linear_exec, "bybit", spot).items
    assert trade.symbol == "BTCUSDT"
    (trade,) = parse_message(linear_exec, "bybit", perp).items
    assert trade.symbol == "BTC/USDT:USDT"
    # Binance: the stream tells the market (spot executionReport vs USDⓈ-M update).
    usdm_event = fixture("binance_usdm", "limit_partial1")
    assert {i.symbol for i in parse_message(usdm_event, "auto", spot).items} == {"BTCUSDT"}
    spot_rest = fixture("binance_spot", "rest_full")
    assert {i.symbol for i in parse_message(spot_rest, "auto", perp).items} == {"BTCUSDT"}
    # OKX: BTC-USDT is among the venue ids of BTC/USDT:USDT; instType SPOT says spot.
    okx_spot = fixture("okx", "limit_partial1")
    assert {i.symbol for i in parse_message(okx_spot, "okx", perp).items} == {"BTC-USDT"}
    assert {i.symbol for i in parse_message(okx_spot, "okx", spot).items} == {"BTC/USDT"}
    okx_swap = fixture("okx", "fills_push_swap")  # no instType: the id's shape says SWAP
    assert {i.symbol for i in parse_message(okx_swap, "okx", spot).items} == {"BTC-USDT-SWAP"}
    assert {i.symbol for i in parse_message(okx_swap, "okx", OKX_SWAP).items} == {"BTC/USDT:USDT"}
