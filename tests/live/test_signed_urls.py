"""Issue 7 item 11: a signed query string (signature, timestamp, key) never reaches a log line,
an error message or the process's output, whatever ccxt puts in its exception text."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import ccxt
import pytest

from gridledger.engine.executor import Caller
from gridledger.exchange.sim.clock import run_virtual
from gridledger.logs import JsonFormatter, KeyValueFormatter, log_event, redact
from gridledger.testkit.local_binance import LocalBinance, LocalBinanceConfig

SIGNED = (
    "https://api.binance.com/api/v3/account?timestamp=1767225600000&recvWindow=10000"
    "&signature=5f2b3c9d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c"
)
SAPI = (
    "https://api.binance.com/sapi/v1/capital/config/getall?timestamp=1767225600000"
    "&signature=0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
)


@pytest.mark.parametrize(
    "text",
    [
        f"binance GET {SIGNED}",
        f"binance GET {SIGNED} 503 Service Unavailable <html>busy</html>",
        f'binance {{"code":-2015,"msg":"Invalid API-key, IP, or permissions for action."}} GET {SAPI}',
        "binance POST https://api.binance.com/api/v3/order 400 body: symbol=BTCUSDT&side=BUY&timestamp=1&signature=abcd",
        "request headers {'X-MBX-APIKEY': 'vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A'}",
        "okx {'OK-ACCESS-KEY': 'k-123', 'OK-ACCESS-SIGN': 'c2lnbmF0dXJl=', 'OK-ACCESS-PASSPHRASE': 'pp'}",
        "bybit GET https://api.bybit.com/v5/order/realtime?api_key=K&sign=abc&timestamp=1",
    ],
)
def test_redact_strips_signed_query_strings_and_credential_headers(text):
    out = redact(text)
    for needle in ("signature=", "5f2b3c9d", "0a1b2c3d", "vmPUZE6", "c2lnbmF0", "sign=abc", "api_key=K"):
        assert needle not in out, out
    assert "***" in out


def test_redact_keeps_unsigned_urls_and_ordinary_fields():
    text = "GET https://api.binance.com/api/v3/exchangeInfo?symbol=BTCUSDT failed level=3 timestamp=1767225600000"
    assert redact(text) == text
    assert redact(f"binance GET {SIGNED} failed").startswith("binance GET https://api.binance.com/api/v3/account?")


def test_a_network_error_with_a_signed_url_is_logged_without_it(caplog):
    """ccxt's NetworkError and AuthenticationError carry the URL of the signed request."""

    async def scenario():
        caller = Caller(rate_per_s=100, timeout_s=5, retries=1)

        async def down():
            raise ccxt.NetworkError(f"binance GET {SIGNED}")

        async def refused():
            raise ccxt.AuthenticationError(f'binance {{"code":-2015}} GET {SAPI}')

        await caller.retry("fetch_balance", down)
        await caller.once("fetch_open_orders", refused)

    with caplog.at_level(logging.INFO, logger="gridledger"):
        run_virtual(scenario())
    failed = [r for r in caplog.records if r.getMessage() == "exchange call failed"]
    assert len(failed) == 3 and any(r.levelno == logging.WARNING for r in failed)
    for record in failed:
        assert "signature=" not in str(record.fields)
        for formatter in (KeyValueFormatter(), JsonFormatter()):
            assert "signature=" not in formatter.format(record)


def test_the_formatter_redacts_what_a_caller_did_not(caplog):
    log = logging.getLogger("gridledger.test")
    with caplog.at_level(logging.INFO, logger="gridledger"):
        log_event(log, logging.WARNING, "raw", message=f"binance GET {SIGNED}")
        try:
            raise ccxt.NetworkError(f"binance GET {SIGNED}")
        except ccxt.NetworkError:
            log.exception("with a traceback")
    for record in caplog.records[-2:]:
        assert "signature=" not in KeyValueFormatter().format(record)
        assert "signature=" not in JsonFormatter().format(record)


def _config(tmp_path: Path, server: LocalBinance) -> Path:
    path = tmp_path / "live.toml"
    path.write_text(
        "\n".join(
            [
                "[grid]",
                'id = "su1"',
                'symbol = "BTC/USDT"',
                'anchor = "30000"',
                'interval = "100"',
                "[strategy]",
                "buy_window = 3",
                'quote_per_level = "100"',
                "[engine]",
                "order_retries = 0",
                "request_timeout_s = 2",
                "[exchange]",
                'id = "binance"',
                f'endpoint = "{server.http_url}"',
                f'journal = "{tmp_path / "live.db"}"',
                "",
            ]
        )
    )
    return path


async def _cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gridledger.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode(), err.decode()


def test_a_gateway_error_on_a_signed_call_prints_no_signed_url(tmp_path):
    """The local server answers the signed account call with a 503 gateway page: ccxt's
    ExchangeNotAvailable then names the full signed URL. Neither stdout nor stderr of the real
    process may show it, at any log level."""

    async def scenario():
        config = LocalBinanceConfig(
            api_key="su-key-123456", secret="su-secret-7890", http_status_faults={"/api/v3/account": 503}
        )
        async with LocalBinance(config) as server:
            env = dict(os.environ, GRIDLEDGER_API_KEY="su-key-123456", GRIDLEDGER_API_SECRET="su-secret-7890")
            code, out, err = await _cli(
                "live", "--config", str(_config(tmp_path, server)), "--dry-run", "--log-level", "DEBUG", env=env
            )
            assert code == 4, out + err
            assert "preflight failed" in out and "/api/v3/account?***" in out.replace("\n", "")  # the query goes
            for text in (out, err):
                text = text.replace("\n", "")  # rich wraps a long URL mid-word
                assert "signature=" not in text and "timestamp=" not in text
                assert "su-secret-7890" not in text and "su-key-123456" not in text
                assert "Traceback" not in text

    asyncio.run(asyncio.wait_for(scenario(), 90))


@pytest.mark.parametrize("unit", ["http://", "-a.b=c&", "a=b&", "?a=1&signature", " signature= ", 'apikey:"'])
def test_redact_stays_linear_on_hostile_lines(unit):
    # Every log line goes through redact: a pattern that backtracks would turn one long line
    # into minutes of CPU (an earlier version took 188 s on 350 kB of "http://"). Linear, this
    # takes milliseconds; the test asserts the result, and hangs visibly if it regresses.
    text = unit * 40_000
    out = redact(text)
    assert "signature=" not in out.replace("signature= ", "")  # a bare key with no value may stay


def test_a_running_engine_logs_failed_signed_calls_without_the_url_query(tmp_path):
    """The engine's own WARNING for a failed call (here every openOrders answers 503) goes to
    the real process's stderr without the signed query string."""
    import signal

    async def scenario():
        config = LocalBinanceConfig(
            api_key="su-key-123456", secret="su-secret-7890", http_status_faults={"/api/v3/openOrders": 503}
        )
        async with LocalBinance(config) as server:
            env = dict(os.environ, GRIDLEDGER_API_KEY="su-key-123456", GRIDLEDGER_API_SECRET="su-secret-7890")
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gridledger.cli",
                "live",
                "--config",
                str(_config(tmp_path, server)),
                "--log-level",
                "INFO",
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            assert proc.stderr is not None
            seen: list[str] = []
            try:
                while True:
                    line = (await asyncio.wait_for(proc.stderr.readline(), 30)).decode()
                    assert line, "stderr closed before the failed call was logged: " + "".join(seen)
                    seen.append(line)
                    if "exchange call failed" in line and "fetch_open_orders" in line:
                        break
            finally:
                proc.send_signal(signal.SIGTERM)
            (rest_err,) = [await asyncio.wait_for(proc.stderr.read(), 60)]
            out = await proc.stdout.read() if proc.stdout is not None else b""
            await proc.wait()
            err = "".join(seen) + rest_err.decode()
            assert "openOrders?***" in err
            for text in (err, out.decode()):
                text = text.replace("\n", "")
                assert "signature=" not in text and "timestamp=" not in text and "Traceback" not in text

    asyncio.run(asyncio.wait_for(scenario(), 90))
