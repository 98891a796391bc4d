"""A Binance listen key that expires while the engine runs: a disconnect, never a stop.

End to end through ccxt's unmodified ``binanceusdm`` over real HTTP and WebSocket to the
local USDⓈ-M server. Binance ends a key after 60 minutes without keepalive (a long outage):
its connections get ``listenKeyExpired`` and close, a connection opened with the dead key is
refused, and a keepalive answers ``-1125 "This listenKey does not exist."``, which ccxt raises
as AuthenticationError. The engine must take a new key, keep trading, apply the fills made
after the expiry, and end with the ground-truth audit a MATCH (gridledger.paper.perp_audit).

(The spot server has no listen keys: ccxt's spot user stream is the WebSocket API's
signature subscription, whose end, ``eventStreamTerminated``, the idle re-watch handles.)

Real time, but no test sleeps to wait: each step waits for a condition.
"""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import ccxt
import pytest

from gridledger.config import parse_config
from gridledger.engine.runtime import GridEngine
from gridledger.engine.stream_errors import StreamFault, classify
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.ledger.ledger import Ledger
from gridledger.live.preflight import preflight
from gridledger.paper.perp_audit import perp_audit
from gridledger.store.funding import FundingStore
from gridledger.store.journal import Journal
from gridledger.testkit.local_binance_usdm import LocalBinanceUsdm, LocalBinanceUsdmConfig, build_usdm_client
from gridledger.testkit.local_binance_usdm.testing import until

SYMBOL = "BTC/USDT:USDT"
BALANCES = {"USDT": D("10000")}
SPEC = PerpMarketSpec(
    participation=D("1"), amount_step=D("0.001"), min_amount=D("0.001"), price_step=D("0.1"), min_notional=D("5")
)
WAIT = 20.0


def config() -> Any:
    return parse_config(
        {
            "grid": {"id": "lk1", "symbol": SYMBOL, "anchor": "30000", "interval": "100"},
            "strategy": {"buy_window": 3, "quote_per_level": "100", "max_open_orders": 10},
            "perp": {"leverage": 5, "funding_trigger_delay_s": 0},
            "engine": {
                "journal_synchronous": "NORMAL",
                "reconcile_every_s": 2,
                "request_timeout_s": 2,
                "stream_idle_s": 3,
                "stream_backoff_s": 0.05,
                "stream_backoff_max_s": 0.5,
                "rate_limit_per_s": 50,
            },
        }
    )


def server_config() -> LocalBinanceUsdmConfig:
    return LocalBinanceUsdmConfig(spec=SPEC, balances=dict(BALANCES), auto_funding=False, ticker_every_ms=500)


class Session:
    """An engine on a ccxt binanceusdm client on the local server, with its journal."""

    def __init__(self, server: LocalBinanceUsdm, db: Path, **options: Any) -> None:
        self.server = server
        self.config = config()
        self.ex = build_usdm_client(server, timeout_ms=1500, options=options)
        self.ex.streaming["keepAlive"] = 1000
        self.journal = Journal.open(db, Ledger(self.config.grid.spec()), synchronous="NORMAL")
        self.engine = GridEngine(self.ex, self.journal, self.config, now_ms=self.ex.milliseconds)
        self.stop = asyncio.Event()
        self.task: asyncio.Task[Any] | None = None

    @property
    def ledger(self) -> Ledger:
        return self.journal.ledger

    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def live(self) -> int:
        return sum(1 for r in self.ledger.live_orders() if r.order_id is not None)

    async def start(self) -> None:
        await preflight(self.engine)
        self.task = asyncio.ensure_future(self.engine.run(self.stop))
        await until(lambda: self.engine.ready or not self.running(), WAIT, "engine start")
        if self.task.done():
            self.task.result()

    async def wait(self, predicate: Any, what: str) -> None:
        """Until ``predicate``, failing at once (with the engine's error) if the engine stops."""
        await until(lambda: predicate() or not self.running(), WAIT, what)
        assert self.task is not None
        if self.task.done():
            raise AssertionError(f"the engine stopped while waiting for {what}: {self.task.exception()!r}")

    async def finish(self) -> None:
        self.stop.set()
        if self.task is not None:
            await self.task
        await self.engine.reconcile("final")
        await self.ex.close()

    def audit(self) -> list[str]:
        recorded = [(p.payment_id, p.amount) for p in FundingStore(self.journal).payments()]
        return perp_audit(self.ledger, self.server.core, BALANCES, recorded).differences


def run(coro: Any) -> None:
    asyncio.run(asyncio.wait_for(coro, 120))


def keys_created(server: LocalBinanceUsdm) -> int:
    return server.counters()["listen_keys_created"]


def test_an_expired_key_is_replaced_and_the_fills_after_it_are_applied(tmp_path: Path, caplog: Any) -> None:
    """The key runs out mid-session (ccxt's keepalive, every 20 minutes, is far off): the
    connection is told and closed, the redial with the dead key is refused; the engine
    forgets it, takes a new one at once, and trades on."""

    async def scenario() -> None:
        async with LocalBinanceUsdm(server_config()) as server:
            s = Session(server, tmp_path / "j.db")
            await s.start()
            await s.wait(lambda: s.live() == 3, "three buys")
            await server.wait_user_subscribers(timeout=WAIT)
            dead = s.ex.options["linear"]["listenKey"]
            assert await server.expire_listen_key() == 1
            await server.set_price("29850")  # fills while the account stream is down
            await s.wait(lambda: s.ledger.position > 0, "the fills made while the key was dead")
            await s.wait(lambda: keys_created(server) == 2, "a new listen key")
            await server.wait_user_subscribers(timeout=WAIT)
            assert s.ex.options["linear"]["listenKey"] not in (None, dead)
            assert s.engine.stats.listen_key_expiries >= 1
            # Trading on with the new key: the closing sell and more buys fill.
            await s.wait(lambda: any(o.side.value == "sell" for o in server.core.open_orders()), "the closing sell")
            await server.set_price("30050")
            await s.wait(lambda: s.ledger.position == 0 and s.ledger.realized_pnl > 0, "the round trip")
            await server.set_price("29750")
            await s.wait(lambda: s.ledger.position > 0, "a buy after the renewal")
            assert s.running()
            await s.finish()
            differences = s.audit()
            assert not differences, differences
            assert keys_created(server) == 2
            s.journal.close()

    with caplog.at_level(logging.WARNING, logger="gridledger"):
        run(scenario())
    lines = [r for r in caplog.records if r.getMessage() == "stream disconnected"]
    assert any(getattr(r, "fields", {}).get("reason") == "listen_key_expired" for r in lines)
    # The dead key is in ccxt's error message (the URL it dialled); never in a log line.
    assert all("listenKey=" not in str(getattr(r, "fields", {})) for r in caplog.records)


def test_a_keepalive_answered_1125_while_streaming_does_not_stop_the_engine(tmp_path: Path) -> None:
    """The key dies while the socket stays up (a process suspended past the key's hour, or
    the venue dropping it); ccxt's keepalive then gets -1125 and rejects the pending watches
    with AuthenticationError: a disconnect, not a stop."""

    async def scenario() -> None:
        async with LocalBinanceUsdm(server_config()) as server:
            # ccxt's first keepalive comes 5 s after it took the key (on Binance: 20 minutes).
            s = Session(server, tmp_path / "j.db", listenKeyRefreshRate=5000)
            await s.start()
            await server.wait_user_subscribers(timeout=WAIT)
            assert server.venue.listen_keys.force_expire() is not None  # no event, no close
            assert server.counters()["listen_keys_kept_alive"] == 0  # the keepalive is still to come
            await s.wait(lambda: s.engine.stats.listen_key_expiries >= 1, "the -1125 to reach the watch")
            await s.wait(lambda: keys_created(server) == 2, "a new listen key")
            await s.wait(lambda: s.live() == 3, "three buys")
            await server.set_price("29850")
            await s.wait(lambda: s.ledger.position > 0, "the fills after the renewal")
            assert s.running()
            await s.finish()
            differences = s.audit()
            assert not differences, differences
            s.journal.close()

    run(scenario())


def test_ccxts_own_error_for_a_dead_key_handshake_is_classified_as_one() -> None:
    """The refused redial as unmodified ccxt reports it against the local server."""

    async def scenario() -> None:
        async with LocalBinanceUsdm(server_config()) as server:
            ex = build_usdm_client(server, timeout_ms=1500)
            try:
                await ex.load_markets()
                ex.options["linear"] = {"listenKey": "k" * 64, "lastAuthenticatedTime": ex.milliseconds()}
                with pytest.raises(ccxt.NetworkError) as refused:
                    await ex.watch_orders()
                assert classify(refused.value) is StreamFault.LISTEN_KEY
            finally:
                await ex.close()

    run(scenario())
