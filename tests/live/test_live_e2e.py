"""The live path end to end: ccxt's own binance class over real HTTP and WebSocket connections
to a local server that speaks Binance's protocol, driving the engine and the ledger.

Real time, but no test sleeps to wait: each step waits for a condition with a generous
timeout. The local server moves its price only when the test says so.
"""

from __future__ import annotations

import asyncio
import os
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest
from live_session_helpers import EngineSession

from gridledger.config import parse_config
from gridledger.exchange.sim.faults import StreamFaults
from gridledger.exchange.sim.values import SimMarketSpec
from gridledger.ledger.ledger import Ledger
from gridledger.paper.audit import audit
from gridledger.store.journal import Journal
from gridledger.testkit.local_binance import LocalBinance, LocalBinanceConfig, build_client
from gridledger.testkit.local_binance.testing import until

BALANCES = {"USDT": D("10000"), "BTC": D("0")}
SPEC = SimMarketSpec(participation=D("1"))
WAIT = 20.0


def cfg(**engine):
    return parse_config(
        {
            "grid": {"id": "lv1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100"},
            "strategy": {"buy_window": 3, "quote_per_level": "100", "max_open_orders": 10},
            "engine": {
                "journal_synchronous": "NORMAL",
                "reconcile_every_s": 2,
                "request_timeout_s": 2,
                "stream_idle_s": 3,
                "rate_limit_per_s": 50,
                **engine,
            },
        }
    )


def server_config(**kw) -> LocalBinanceConfig:
    return LocalBinanceConfig(spec=SPEC, balances=dict(BALANCES), **kw)


def client(server: LocalBinance, **kw):
    ex = build_client(server, timeout_ms=kw.pop("timeout_ms", 1500), **kw)
    ex.streaming["keepAlive"] = 1000  # a dead socket is noticed within seconds
    return ex


class Session(EngineSession):
    """An engine on a ccxt client on the local server, with its journal."""

    def __init__(self, server: LocalBinance, db: Path, config=None, **client_kw) -> None:
        self.server = server
        super().__init__(client(server, **client_kw), db, config or cfg())

    async def start(self) -> None:
        await self.run_engine()


def check_match(ledger, server) -> None:
    result = audit(ledger, server.core, BALANCES)
    assert result.match, result.differences


def run(coro):
    asyncio.run(asyncio.wait_for(coro, 120))


def test_grid_session_places_fills_partially_fills_and_cancels_then_matches(tmp_path):
    async def scenario():
        async with LocalBinance(server_config()) as server:
            s = Session(server, tmp_path / "j.db")
            await s.start()
            await until(lambda: s.live() == 3, WAIT, "three buys")
            assert {o.price for o in server.core.open_orders()} == {D("29900"), D("29800"), D("29700")}
            # A thin print fills part of the 29900 buy.
            await server.set_price("29900", volume=D("0.001"))
            await until(lambda: s.ledger.position > 0, WAIT, "a partial fill")
            order = next(o for o in server.core.open_orders() if o.price == D("29900"))
            assert 0 < order.filled < order.amount
            # Then the rest fills; the closing sell goes up one level.
            await server.set_price("29890", volume=D("1"))
            await until(lambda: any(o.side.value == "sell" for o in server.core.open_orders()), WAIT, "a sell")
            await server.set_price("30010", volume=D("1"))
            await until(lambda: s.ledger.realized_pnl > 0, WAIT, "a round trip")
            # The price runs up: the buys left behind are canceled and new ones placed.
            await server.set_price("30500", volume=D("0.0001"))
            await until(
                lambda: (
                    s.engine.stats.canceled >= 1
                    and s.live() == 3
                    and min(o.price for o in server.core.open_orders()) >= D("30200")
                ),
                WAIT,
                "trailing",
            )
            await s.finish()
            check_match(s.ledger, server)
            assert s.ledger.counts["REJECTED"] == 0
            s.journal.close()

    run(scenario())


def test_websocket_disconnect_during_fills_is_recovered_by_reconciliation(tmp_path):
    async def scenario():
        faults = StreamFaults(disconnect_every=2, replay_last=1, seed=3)
        async with LocalBinance(server_config(stream_faults=faults)) as server:
            s = Session(server, tmp_path / "j.db")
            await s.start()
            await until(lambda: s.live() == 3, WAIT, "three buys")
            await server.set_price("29650", volume=D("1"))  # every buy fills while the stream drops
            await until(lambda: s.ledger.position > D("0.009"), WAIT, "all three fills")
            assert server.counters()["disconnects"] >= 1 and s.engine.stats.reconnects >= 1
            await s.finish()
            check_match(s.ledger, server)
            s.journal.close()

    run(scenario())


def test_engine_killed_and_restarted_with_fills_in_between(tmp_path):
    async def scenario():
        async with LocalBinance(server_config()) as server:
            first = Session(server, tmp_path / "j.db")
            await first.start()
            await until(lambda: first.live() == 3, WAIT, "three buys")
            await first.crash()
            await server.set_price("29750", volume=D("1"))  # two buys fill while the engine is down
            assert sum(o.filled for o in server.core.orders.values()) > 0
            second = Session(server, tmp_path / "j.db")
            assert second.ledger.position == 0
            await second.start()  # startup reconciliation runs before anything is placed
            assert second.ledger.position > 0
            await second.finish()
            check_match(second.ledger, server)
            second.journal.close()

    run(scenario())


def test_create_order_that_times_out_but_was_accepted(tmp_path):
    async def scenario():
        async with LocalBinance(server_config()) as server:
            server.arm_create_delay(4000, count=2)  # longer than the client's 1.5 s timeout
            s = Session(server, tmp_path / "j.db")
            await s.start()
            await until(lambda: s.engine.stats.unknown_creates >= 1, WAIT, "a timed-out create")
            await until(
                lambda: s.live() == 3 and all(r.order_id for r in s.ledger.live_orders()),
                WAIT,
                "every order found by its client id",
            )
            prices = [o.price for o in server.core.open_orders()]
            assert len(prices) == len(set(prices)) == 3  # nothing placed twice
            await s.finish()
            check_match(s.ledger, server)
            s.journal.close()

    run(scenario())


def test_bad_messages_from_the_server_are_rejected_and_the_session_goes_on(tmp_path, caplog):
    async def scenario():
        async with LocalBinance(server_config()) as server:
            s = Session(server, tmp_path / "j.db")
            await s.start()
            await until(lambda: s.live() == 3, WAIT, "three buys")
            await server.wait_user_subscribers()
            server.inject_other_symbol()
            await until(lambda: s.ledger.counts["REJECTED"] >= 1, WAIT, "the other symbol rejected")
            server.inject_unknown_fields()
            server.inject_malformed_json()  # ccxt's receive loop dies on it; keepAlive notices
            await server.set_price("29850", volume=D("1"))
            await until(lambda: s.ledger.position > 0, WAIT, "fills after the bad frames")
            await s.finish()
            check_match(s.ledger, server)
            s.journal.close()

    with caplog.at_level("WARNING", logger="gridledger"):
        run(scenario())
    rejected = [r for r in caplog.records if r.getMessage() == "evidence rejected"]
    assert any("ETH" in r.fields.get("reason", "") for r in rejected)


def _live_env(api_key: str, secret: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(GRIDLEDGER_API_KEY=api_key, GRIDLEDGER_API_SECRET=secret)
    return env


def _live_config(tmp_path: Path, server: LocalBinance, **strategy) -> Path:
    table = {"buy_window": 3, "quote_per_level": "100", **strategy}
    lines = [
        "[grid]",
        'id = "dry1"',
        'symbol = "BTC/USDT"',
        'anchor = "30000"',
        'interval = "100"',
        "[strategy]",
        *[f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}" for k, v in table.items()],
        "[exchange]",
        'id = "binance"',
        f'endpoint = "{server.http_url}"',
        f'journal = "{tmp_path / "live.db"}"',
    ]
    path = tmp_path / "live.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


async def _cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gridledger.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode, out.decode()


def test_live_dry_run_prints_its_plan_and_sends_nothing(tmp_path):
    async def scenario():
        async with LocalBinance(server_config(api_key="dry-key-123", secret="dry-secret-456789")) as server:
            config = _live_config(tmp_path, server)
            code, out = await _cli(
                "live",
                "--config",
                str(config),
                "--dry-run",
                "--log-level",
                "DEBUG",
                env=_live_env("dry-key-123", "dry-secret-456789"),
            )
            assert code == 0, out
            assert "actions the engine would send" in out and "29900" in out and "place" in out
            assert not server.core.orders  # nothing was sent
            assert "dry-secret-456789" not in out and "dry-key-123" not in out

    run(scenario())


def test_preflight_failures_are_messages_with_exit_codes(tmp_path):
    async def scenario():
        async with LocalBinance(server_config(api_key="key-abcdef", secret="secret-ghijklmn")) as server:
            config = _live_config(tmp_path, server, quote_per_level="5000")
            code, out = await _cli(
                "live", "--config", str(config), "--dry-run", env=_live_env("key-abcdef", "secret-ghijklmn")
            )
            assert code == 3 and "preflight failed" in out and "balance" in out and "Traceback" not in out
            code, out = await _cli(
                "live",
                "--config",
                str(_live_config(tmp_path, server)),
                "--dry-run",
                "--log-level",
                "DEBUG",
                env=_live_env("key-abcdef", "wrong-secret-zyxwvu"),
            )
            assert code == 4 and "authentication" in out.lower() and "Traceback" not in out
            assert "wrong-secret-zyxwvu" not in out and "key-abcdef" not in out
            env = dict(os.environ)
            env.pop("GRIDLEDGER_API_KEY", None)
            env.pop("GRIDLEDGER_API_SECRET", None)
            code, out = await _cli("live", "--config", str(config), "--dry-run", env=env)
            assert code == 2 and "GRIDLEDGER_API_KEY" in out

    run(scenario())


def test_secrets_are_masked_in_logs_and_errors(caplog):
    import logging

    from gridledger.live.factory import credentials
    from gridledger.live.settings import exchange_settings
    from gridledger.logs import JsonFormatter, KeyValueFormatter, log_event, redact

    os.environ["GL_TEST_KEY"], os.environ["GL_TEST_SECRET"] = "AKIA-visible-key", "very-secret-value-42"
    try:
        creds = credentials(
            exchange_settings({"id": "binance", "api_key_env": "GL_TEST_KEY", "secret_env": "GL_TEST_SECRET"})
        )
    finally:
        del os.environ["GL_TEST_KEY"], os.environ["GL_TEST_SECRET"]
    assert creds["secret"] == "very-secret-value-42"
    log = logging.getLogger("gridledger.test")
    with caplog.at_level(logging.INFO, logger="gridledger"):
        log_event(
            log,
            logging.ERROR,
            "exchange call failed",
            message="binance {'code': -1022} https://x/api?apiKey=AKIA-visible-key&sig=very-secret-value-42",
        )
    for fmt in (KeyValueFormatter(), JsonFormatter()):
        text = fmt.format(caplog.records[-1])
        assert "very-secret-value-42" not in text and "AKIA-visible-key" not in text and "***" in text
    assert redact("error: very-secret-value-42") == "error: ***"


@pytest.mark.parametrize("exchange_id", ["binance", "binanceusdm", "okx", "bybit"])
def test_supported_exchanges_build_with_exact_numbers(exchange_id):
    from gridledger.live.factory import build_exchange
    from gridledger.live.settings import exchange_settings

    env = {"GRIDLEDGER_API_KEY": "k" * 8, "GRIDLEDGER_API_SECRET": "s" * 12, "GRIDLEDGER_API_PASSWORD": "p" * 6}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        ex = build_exchange(exchange_settings({"id": exchange_id}), sandbox=exchange_id != "binanceusdm")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        assert ex.number is str and ex.enableRateLimit
        from gridledger.venues.registry import exchange_formats

        VENUE_FORMATS = exchange_formats()

        assert exchange_id in VENUE_FORMATS
    finally:
        asyncio.run(ex.close())


def test_subscription_ended_by_the_venue_is_noticed_and_renewed(tmp_path):
    async def scenario():
        async with LocalBinance(server_config()) as server:
            s = Session(server, tmp_path / "j.db")
            await s.start()
            await until(lambda: s.live() == 3, WAIT, "three buys")
            await server.wait_user_subscribers()
            # eventStreamTerminated: ccxt does not wake the pending watch; the engine's idle
            # timeout watches again, which resubscribes, and reconciles what it missed.
            server.terminate_user_stream()
            await server.set_price("29750", volume=D("1"))
            await until(lambda: s.ledger.position > 0, WAIT, "the fills, by reconciliation")
            await server.wait_user_subscribers(timeout=WAIT)
            await server.set_price("29950", volume=D("1"))  # the closing sells fill on the new stream
            await until(lambda: s.ledger.realized_pnl > 0, WAIT, "a round trip")
            await s.finish()
            check_match(s.ledger, server)
            s.journal.close()

    run(scenario())


def test_live_process_stops_cleanly_on_sigterm_and_cancels_when_configured(tmp_path):
    import signal

    async def scenario():
        async with LocalBinance(server_config(api_key="run-key-1234", secret="run-secret-5678")) as server:
            config = _live_config(tmp_path, server)
            config.write_text(config.read_text() + '[engine]\ncancel_on_exit = true\njournal_synchronous = "NORMAL"\n')
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gridledger.cli",
                "live",
                "--config",
                str(config),
                env=_live_env("run-key-1234", "run-secret-5678"),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            await until(lambda: len(server.core.open_orders()) == 3, WAIT, "the live process places its buys")
            proc.send_signal(signal.SIGUSR1)  # the pause switch: nothing new opens
            await server.set_price("29850", volume=D("1"))  # a buy fills; its closing sell still goes out
            try:
                await until(lambda: any(o.side.value == "sell" for o in server.core.open_orders()), WAIT, "a sell")
            except TimeoutError:
                proc.send_signal(signal.SIGTERM)
                out, _ = await proc.communicate()
                orders = [(o.side, o.price, o.status) for o in server.core.orders.values()]
                raise AssertionError(out.decode()[-3000:] + str(orders)) from None
            proc.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(proc.communicate(), WAIT)
            text = out.decode()
            assert proc.returncode == 0, text
            assert "paused" in text and "stopped." in text
            assert not server.core.open_orders()  # cancel_on_exit
            assert "run-secret-5678" not in text
            journal = Journal.open(
                tmp_path / "live.db",
                Ledger(cfg().grid.spec().__class__("dry1", cfg().grid.spec().instrument, D("30000"), D("100"))),
            )
            try:
                check_match(journal.ledger, server)
            finally:
                journal.close()

    run(scenario())
