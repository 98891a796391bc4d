"""The local server's parts without a network: signatures, parameters, URL rewriting."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from gridledger.testkit.local_binance.auth import Credentials, check_timing, verify_rest, verify_ws, ws_payload
from gridledger.testkit.local_binance.client import build_client
from gridledger.testkit.local_binance.config import LocalBinanceConfig
from gridledger.testkit.local_binance.errors import ApiError
from gridledger.testkit.local_binance.params import Params

# The HMAC example of Binance's rest-api.md ("SIGNED Endpoint Examples for POST /api/v3/order").
DOC_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOC_QUERY = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
)
DOC_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
DOC_NOW = 1499827319559
CREDS = Credentials(DOC_KEY, DOC_SECRET)


def _params(*raw: str) -> Params:
    pairs: list[tuple[str, str]] = []
    for part in raw:
        pairs += parse_qsl(part, keep_blank_values=True)
    return Params(pairs)


def test_documented_signature_in_query_or_body() -> None:
    assert CREDS.sign(DOC_QUERY) == DOC_SIGNATURE
    signed = f"{DOC_QUERY}&signature={DOC_SIGNATURE}"
    verify_rest(DOC_KEY, signed, "", _params(signed), CREDS, DOC_NOW)
    verify_rest(DOC_KEY, "", signed, _params(signed), CREDS, DOC_NOW)
    # Mixed: totalParams is the query string concatenated with the body.
    query, body = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC",
        "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
    )
    mixed = CREDS.sign(query + body)
    assert mixed == "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
    verify_rest(DOC_KEY, query, f"{body}&signature={mixed}", _params(query, body), CREDS, DOC_NOW)


@pytest.mark.parametrize(
    ("key", "raw", "code"),
    [
        (None, f"{DOC_QUERY}&signature={DOC_SIGNATURE}", -2014),
        ("other-key", f"{DOC_QUERY}&signature={DOC_SIGNATURE}", -2015),
        (DOC_KEY, DOC_QUERY, -1102),
        (DOC_KEY, f"{DOC_QUERY}&signature={'0' * 64}", -1022),
        (DOC_KEY, f"{DOC_QUERY.replace('quantity=1', 'quantity=2')}&signature={DOC_SIGNATURE}", -1022),
    ],
)
def test_rejected_requests(key: str | None, raw: str, code: int) -> None:
    with pytest.raises(ApiError) as exc:
        verify_rest(key, raw, "", _params(raw), CREDS, DOC_NOW)
    assert exc.value.code == code
    assert exc.value.status == (401 if code in (-2014, -2015, -1022) else 400)


def test_timing_window() -> None:
    check_timing(Params([("timestamp", "1000"), ("recvWindow", "5000")]), 6000)
    for ts, window, now in (("1000", "5000", 6001), ("8000", None, 7000), ("1", "60001", 2)):
        pairs = [("timestamp", ts)] + ([("recvWindow", window)] if window else [])
        with pytest.raises(ApiError) as exc:
            check_timing(Params(pairs), now)
        assert exc.value.code in (-1021, -1131)
    with pytest.raises(ApiError, match="-1102"):
        check_timing(Params([]), 0)


def test_ws_api_signature_is_over_sorted_params() -> None:
    params = {"apiKey": DOC_KEY, "timestamp": DOC_NOW, "recvWindow": 5000}
    assert ws_payload(params) == f"apiKey={DOC_KEY}&recvWindow=5000&timestamp={DOC_NOW}"
    verify_ws({**params, "signature": CREDS.sign(ws_payload(params))}, CREDS, DOC_NOW)
    with pytest.raises(ApiError, match="-1022"):
        verify_ws({**params, "signature": "00"}, CREDS, DOC_NOW)


def test_params_parse_like_binance() -> None:
    p = Params([("quantity", "0.00100000"), ("price", ""), ("orderId", "12"), ("bad", "1e5")])
    assert p.decimal("quantity") == Decimal("0.001")
    assert p.get("price") is None and "price" not in p
    assert p.integer("orderId") == 12
    with pytest.raises(ApiError, match="-1100"):
        p.decimal("bad")
    with pytest.raises(ApiError, match="Mandatory parameter 'symbol'"):
        p.required("symbol")


def test_client_urls_all_point_at_the_local_server() -> None:
    ex = build_client("http://127.0.0.1:5555", api_key="k", secret="s")
    api = ex.urls["api"]
    rest = {k: v for k, v in api.items() if isinstance(v, str)}
    assert rest["public"] == rest["private"] == "http://127.0.0.1:5555/api/v3"
    assert rest["sapi"] == "http://127.0.0.1:5555/sapi/v1"
    assert all(v.startswith("http://127.0.0.1:5555/") for v in rest.values())
    ws = api["ws"]
    assert ws["spot"] == "ws://127.0.0.1:5555/stream/ws"
    assert ws["ws-api"]["spot"] == "ws://127.0.0.1:5555/ws-api/v3"
    flat = [v for k, v in ws.items() if isinstance(v, str)] + list(ws["ws-api"].values())
    assert all(v.startswith("ws://127.0.0.1:5555/") for v in flat)
    assert ex.urls["test"]["public"] == ex.urls["demo"]["public"] == rest["public"]
    assert ex.number is str
    assert ex.options["fetchMarkets"]["types"] == ["spot"]
    assert ex.options["fetchCurrencies"] is False and ex.options["fetchMargins"] is False


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        LocalBinanceConfig(create_delay_p=2)
    with pytest.raises(ValueError):
        LocalBinanceConfig(disconnect_mode="reset")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        LocalBinanceConfig(secret="")
