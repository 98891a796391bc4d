"""The USDⓈ-M live path end to end: ccxt's own ``binanceusdm`` class over real HTTP and
WebSocket connections to LocalBinanceUsdm (fapi REST with HMAC, the listen-key user data
stream), driving the engine and the ledger on a simulated linear perpetual.

Real time, but no test sleeps to wait: each step waits for a condition. The server moves its
price only when the test says so, and settles funding only when asked (``auto_funding`` off).
Every test ends with the ground-truth check (``gridledger.paper.perp_audit``), compared
exactly: the ledger's net position and the settle-asset cash it implies (its slots' flows and
the funding payments its journal recorded) against the venue's, the funding payments by id,
the open orders, and every order's filled quantity and state.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from live_session_helpers import EngineSession

from gridledger.config import parse_config
from gridledger.exchange.sim.faults import StreamFaults
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.ledger.ledger import Ledger
from gridledger.live.preflight import preflight
from gridledger.paper.perp_audit import perp_audit
from gridledger.store.funding import FundingStore
from gridledger.store.journal import Journal
from gridledger.testkit.local_binance_usdm import LocalBinanceUsdm, LocalBinanceUsdmConfig, build_usdm_client
from gridledger.testkit.local_binance_usdm.server_core import ServerPerpCore
from gridledger.testkit.local_binance_usdm.testing import until

SYMBOL = "BTC/USDT:USDT"
BALANCES = {"USDT": D("10000")}
SPEC = PerpMarketSpec(
    participation=D("1"), amount_step=D("0.001"), min_amount=D("0.001"), price_step=D("0.1"), min_notional=D("5")
)
WAIT = 20.0


def cfg(grid_id: str = "pv1", risk: dict[str, Any] | None = None, **engine: Any) -> Any:
    return parse_config(
        {
            "risk": risk or {},
            "grid": {
                "id": grid_id,
                "symbol": SYMBOL,
                "anchor": "30000",
                "interval": "100",
                "direction": "neutral",
                "pivot": "30000",
            },
            "strategy": {"buy_window": 3, "quote_per_level": "100", "max_open_orders": 10},
            "perp": {"leverage": 5, "funding_trigger_delay_s": 0, "funding_overlap_s": 3600},
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


def server_config(**kw: Any) -> LocalBinanceUsdmConfig:
    # Tickers every 500 ms as on a liquid Binance symbol: the engine decides on prices, and a
    # fill it learns by REST (after a stream drop) is acted on at the next one.
    return LocalBinanceUsdmConfig(spec=SPEC, balances=dict(BALANCES), auto_funding=False, ticker_every_ms=500, **kw)


class Session(EngineSession):
    """An engine on a ccxt binanceusdm client on the local server, with its journal."""

    def __init__(self, server: LocalBinanceUsdm, db: Path, config: Any = None, **client_kw: Any) -> None:
        self.server = server
        self.config = config or cfg()
        ex = build_usdm_client(server, timeout_ms=1500, **client_kw)
        ex.streaming["keepAlive"] = 1000  # a dead socket is noticed within seconds
        super().__init__(ex, db, self.config)

    async def start(self) -> None:
        # As ``gridledger live`` starts: the preflight sets and reads back one-way mode,
        # leverage and margin mode (live/perp_setup.py) before the engine places anything.
        await preflight(self.engine)
        await self.run_engine()
        if self.task is not None and self.task.done():
            self.task.result()  # the start failed: show why

    def funding(self) -> list[Any]:
        return FundingStore(self.journal).payments()


def perp_differences(ledger: Ledger, core: ServerPerpCore, funding: list[Any]) -> list[str]:
    """The ledger against the simulated perpetual, exactly (empty: MATCH), by the paper
    session's perpetual audit: net position, the settle-asset cash the ledger implies (its
    slots' flows plus the funding the journal recorded, by id) against the venue's, the
    funding payments themselves, open orders and every order's filled quantity and state."""
    recorded = [(p.payment_id, p.amount) for p in funding]
    return perp_audit(ledger, core, BALANCES, recorded).differences


def check_match(session: Session) -> None:
    differences = perp_differences(session.ledger, session.server.core, session.funding())
    assert not differences, differences


def run(coro: Any) -> None:
    asyncio.run(asyncio.wait_for(coro, 150))


def sides(server: LocalBinanceUsdm) -> set[str]:
    return {o.side.value for o in server.core.open_orders()}


def short_opens(server: LocalBinanceUsdm) -> list[D]:
    """Prices of the open sells that open short slots (not reduce-only closes)."""
    core = server.core
    return sorted(o.price for o in core.open_orders() if o.side.value == "sell" and not core.reduce_only[o.order_id])


async def fill_both_sides(s: Session, server: LocalBinanceUsdm) -> None:
    """Buys below the pivot fill (long slots); once the engine has placed their reduce-only
    closes and its short sells, the price runs up through both (the long slot closes, a
    short slot opens)."""
    core = server.core
    await server.set_price("29850")
    await until(lambda: s.ledger.net_position > 0, WAIT, "the long slots to fill")
    await until(
        lambda: any(core.reduce_only[o.order_id] for o in core.open_orders()) and bool(short_opens(server)),
        WAIT,
        "the long slot's close and a short sell",
    )
    await server.set_price(short_opens(server)[0] + 50)
    await until(lambda: s.ledger.net_position < 0, WAIT, "the short slots to fill")


def test_neutral_grid_fills_both_sides_pays_funding_once_and_matches(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with LocalBinanceUsdm(server_config()) as server:
            s = Session(server, tmp_path / "j.db")
            await s.start()
            await until(lambda: s.live() == 6, WAIT, "three buys below and three sells above the pivot")
            below = sorted(o.price for o in server.core.open_orders() if o.side.value == "buy")
            above = sorted(o.price for o in server.core.open_orders() if o.side.value == "sell")
            assert below == [D("29700"), D("29800"), D("29900")] and above == [D("30100"), D("30200"), D("30300")]
            assert server.core.leverage == 5 and not server.core.dual_side  # set and verified at start
            await fill_both_sides(s, server)
            assert s.ledger.realized_pnl > 0  # the long slot's close at 30000 was a round trip
            first = await server.settle_funding("0.0005")
            assert first is not None and first.amount > 0  # short: paid by the longs
            await until(lambda: len(s.funding()) == 1, WAIT, "the first payment recorded")
            second = await server.settle_funding("-0.0002")
            assert second is not None and second.amount < 0
            await until(lambda: len(s.funding()) == 2, WAIT, "the second payment recorded")
            assert s.engine.funding is not None
            assert await s.engine.funding.poll("again") == 0  # re-read: both known, nothing new
            await s.finish()
            assert [p.payment_id for p in s.funding()] == [str(first.tran_id), str(second.tran_id)]
            check_match(s)
            assert s.ledger.counts["REJECTED"] == 0
            s.journal.close()

    run(scenario())


def test_stream_drops_during_fills_are_recovered_and_match(tmp_path: Path) -> None:
    async def scenario() -> None:
        faults = StreamFaults(
            disconnect_every=3, replay_last=1, duplicate_p=0.3, reorder_window=3, reorder_hold_ms=200, seed=5
        )
        async with LocalBinanceUsdm(server_config(stream_faults=faults)) as server:
            s = Session(server, tmp_path / "j.db")
            await s.start()
            await until(lambda: s.live() == 6, WAIT, "six orders")
            await fill_both_sides(s, server)
            await until(lambda: "buy" in sides(server), WAIT, "the short slot's closing buy")
            realized = s.ledger.realized_pnl
            await server.set_price("29950")  # the short slot closes
            await until(lambda: s.ledger.realized_pnl > realized, WAIT, "the short round trip")
            counters = server.counters()
            assert counters["disconnects"] >= 1 and counters["replayed"] >= 1
            assert s.engine.stats.reconnects >= 1
            await s.finish()
            check_match(s)
            s.journal.close()

    run(scenario())


def test_killed_and_restarted_with_fills_and_funding_in_between(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with LocalBinanceUsdm(server_config()) as server:
            first = Session(server, tmp_path / "j.db")
            await first.start()
            await until(lambda: first.live() == 6, WAIT, "six orders")
            await server.set_price("29850")
            await until(lambda: first.ledger.net_position > 0, WAIT, "a long fill")
            await until(lambda: any(server.core.reduce_only.values()), WAIT, "its reduce-only close")
            await first.crash()
            # While the engine is down: the buys left below the pivot fill, and funding is paid.
            await server.set_price("29650")
            paid = await server.settle_funding("0.001")
            state = sorted((o.side.value, o.price, o.status.value, o.filled) for o in server.core.orders.values())
            assert paid is not None and server.core.position_amt > D("0.003"), (server.core.position_amt, state)
            second = Session(server, tmp_path / "j.db")
            await second.start()  # startup reconciliation and funding read before anything else
            assert second.ledger.net_position == server.core.position_amt
            await until(lambda: len(second.funding()) == 1, WAIT, "the payment made while down")
            await second.finish()
            check_match(second)
            second.journal.close()
            # A third start reads the same history again: nothing is counted twice.
            third = Session(server, tmp_path / "j.db")
            await third.start()
            assert third.engine.funding is not None
            assert await third.engine.funding.poll("again") == 0
            await third.finish()
            assert len(third.funding()) == 1
            check_match(third)
            third.journal.close()

    run(scenario())


def test_bad_frames_then_a_dropped_stream_are_survived(tmp_path: Path, caplog: Any) -> None:
    async def scenario() -> None:
        async with LocalBinanceUsdm(server_config()) as server:
            s = Session(server, tmp_path / "j.db")
            await s.start()
            await until(lambda: s.live() == 6, WAIT, "six orders")
            await server.wait_user_subscribers(timeout=WAIT)
            server.inject_other_symbol()
            await until(lambda: s.ledger.counts["REJECTED"] >= 1, WAIT, "the other symbol rejected")
            server.inject_unknown_fields()
            server.inject_malformed_json()  # ccxt's receive loop dies on it
            # The venue drops the connection ccxt no longer reads: ccxt's keep-alive ping then
            # fails with aiohttp's ConnectionResetError, which must not stop the engine.
            server.drop_user_stream()
            await fill_both_sides(s, server)
            await server.wait_user_subscribers(timeout=WAIT)  # resubscribed
            await s.finish()
            check_match(s)
            s.journal.close()

    with caplog.at_level("WARNING", logger="gridledger"):
        run(scenario())
    rejected = [r for r in caplog.records if r.getMessage() == "evidence rejected"]
    assert any("ETH" in getattr(r, "fields", {}).get("reason", "") for r in rejected)


def test_stop_loss_closes_exactly_the_position_once_across_a_restart(tmp_path: Path) -> None:
    async def scenario() -> None:
        config = cfg(risk={"stop_loss_price": "29500", "stop_loss_price_above": "30500"})
        async with LocalBinanceUsdm(server_config()) as server:
            s = Session(server, tmp_path / "j.db", config)
            await s.start()
            await until(lambda: s.live() == 6, WAIT, "six orders")
            await server.set_price("29750")
            await until(lambda: s.ledger.net_position >= D("0.006"), WAIT, "two long slots filled")
            await server.set_price("29450")  # below the stop: the last buy fills, then the exit
            await until(lambda: s.engine.risk_exit is not None, WAIT, "the stop-loss to trigger")
            await until(
                lambda: s.engine.risk_exit is not None and s.engine.risk_exit.phase == "done",
                WAIT,
                "the exit to close the inventory",
            )
            exit_record = s.engine.risk_exit
            assert exit_record is not None and exit_record.kind.startswith("stop_loss")
            assert server.core.position_amt == 0 == s.ledger.net_position  # exactly the position, no flip
            assert not server.core.open_orders()
            # The exit's closing orders (reduce-only, marketable below the stop) took exactly the
            # inventory the grid held: every buy fill, less what its own closes had sold.
            orders = list(server.core.orders.values())
            exits = [o for o in orders if o.side.value == "sell" and o.price is not None and o.price < D("29500")]
            assert exits and all(server.core.reduce_only[o.order_id] for o in exits)
            bought = sum(o.filled for o in orders if o.side.value == "buy")
            sold_before = sum(o.filled for o in orders if o.side.value == "sell" and o not in exits)
            assert sum(o.filled for o in exits) == bought - sold_before >= D("0.006")
            placed = len(server.core.orders)
            await s.crash()
            # Restarted: the journaled exit is restored, nothing is placed, nothing closed twice.
            again = Session(server, tmp_path / "j.db", config)
            await again.start()
            assert again.engine.risk_exit is not None and again.engine.risk_exit.phase == "done"
            reconciles = again.engine.stats.reconciles
            await server.set_price("29400")
            await until(lambda: again.engine.stats.reconciles >= reconciles + 1, WAIT, "a reconciliation")
            assert len(server.core.orders) == placed and server.core.position_amt == 0
            await again.finish()
            check_match(again)
            again.journal.close()

    run(scenario())


def _live_config(tmp_path: Path, server: LocalBinanceUsdm) -> Path:
    text = f"""
[grid]
id = "sub1"
symbol = "{SYMBOL}"
anchor = "30000"
interval = "100"
direction = "neutral"
pivot = "30000"
[strategy]
buy_window = 3
quote_per_level = "100"
[perp]
leverage = 5
funding_trigger_delay_s = 0
[engine]
journal_synchronous = "NORMAL"
reconcile_every_s = 2
cancel_on_exit = true
[exchange]
id = "binanceusdm"
endpoint = "{server.http_url}"
journal = "{tmp_path / "live.db"}"
"""
    path = tmp_path / "live.toml"
    path.write_text(text)
    return path


def test_live_process_trades_a_neutral_perpetual_grid_and_stops_cleanly(tmp_path: Path) -> None:
    async def scenario() -> None:
        config = server_config(api_key="usdm-key-1234", secret="usdm-secret-5678")
        async with LocalBinanceUsdm(config) as server:
            env = dict(os.environ, GRIDLEDGER_API_KEY="usdm-key-1234", GRIDLEDGER_API_SECRET="usdm-secret-5678")
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "gridledger.cli",
                "live",
                "--config",
                str(_live_config(tmp_path, server)),
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            try:
                await until(lambda: len(server.core.open_orders()) == 6, WAIT, "the process places six orders")
                await server.set_price("29850")
                await until(lambda: server.core.position_amt > 0, WAIT, "a long fill")
                await until(lambda: "sell" in sides(server) and len(server.core.open_orders()) >= 5, WAIT, "its close")
                await server.set_price("30150")
                await until(lambda: server.core.position_amt < 0, WAIT, "a short fill")
                await server.settle_funding("0.0005")
                await until(lambda: proc.returncode is None and _funding_rows(tmp_path) == 1, WAIT, "funding recorded")
            except BaseException:
                proc.send_signal(signal.SIGTERM)
                out, _ = await proc.communicate()
                raise AssertionError(out.decode()[-4000:]) from None
            proc.send_signal(signal.SIGTERM)
            out, _ = await asyncio.wait_for(proc.communicate(), WAIT)
            text = out.decode()
            assert proc.returncode == 0, text[-4000:]
            assert "stopped." in text and "Traceback" not in text
            assert "usdm-secret-5678" not in text
            assert not server.core.open_orders()  # cancel_on_exit
            grid = cfg("sub1").grid.spec()
            journal = Journal.open(tmp_path / "live.db", Ledger(grid))
            try:
                differences = perp_differences(journal.ledger, server.core, FundingStore(journal).payments())
                assert not differences, differences
            finally:
                journal.close()

    run(scenario())


def _funding_rows(tmp_path: Path) -> int:
    import sqlite3

    db = tmp_path / "live.db"
    if not db.exists():
        return 0
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM funding").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        conn.close()
