"""A [risk] stop loss through ccxt's own binance class against the local Binance spot server:
the trigger is journaled, the grid's orders are cancelled, each slot is sold once, a kill and
restart right after the trigger neither fires it again nor sells twice, and the books MATCH."""

from __future__ import annotations

from decimal import Decimal as D

from test_live_e2e import WAIT, Session, check_match, run, server_config

from gridledger.config import parse_config
from gridledger.domain.coid import decode
from gridledger.domain.types import Role, Side
from gridledger.testkit.local_binance import LocalBinance
from gridledger.testkit.local_binance.testing import until


def cfg():
    return parse_config(
        {
            "grid": {"id": "lx1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100"},
            "strategy": {"buy_window": 3, "quote_per_level": "100", "max_open_orders": 10},
            "engine": {
                "journal_synchronous": "NORMAL",
                "reconcile_every_s": 2,
                "request_timeout_s": 2,
                "stream_idle_s": 3,
                "rate_limit_per_s": 50,
            },
            "risk": {"stop_loss_price": "29600", "exit_slippage": "0.002"},
        }
    )


def test_live_stop_loss_fires_once_across_a_kill_and_sells_each_slot_once(tmp_path):
    async def scenario():
        async with LocalBinance(server_config()) as server:
            first = Session(server, tmp_path / "j.db", cfg())
            await first.start()
            await until(lambda: first.live() == 3, WAIT, "three buys")
            await server.set_price("29650", volume=D("1"))  # every buy fills
            await until(lambda: first.ledger.position > D("0.009"), WAIT, "three fills")
            assert first.engine.risk_exit is None
            await server.set_price("29550", volume=D("0.0001"))  # through the stop, thin volume
            await until(lambda: first.engine.risk_exit is not None, WAIT, "the trigger")
            trigger = first.engine.risk_exit
            await first.crash()
            second = Session(server, tmp_path / "j.db", cfg())
            restored = second.engine.risk_exit  # restored from the journal, not fired again
            assert restored is not None and (restored.kind, restored.ts_ms) == (trigger.kind, trigger.ts_ms)
            await second.start()
            await server.set_price("29540", volume=D("1"))
            await until(
                lambda: second.engine.risk_exit.phase == "done" and second.ledger.position < D("0.0001"),
                WAIT,
                "the inventory sold",
            )
            assert second.engine.risk_exit.ts_ms == trigger.ts_ms
            after = [o for o in server.core.orders.values() if o.created_ms >= trigger.ts_ms]
            sold = [decode(o.client_order_id) for o in after if o.filled > 0]
            assert all(c.side is Side.SELL and c.role is Role.CLOSE for c in sold)
            assert len({c.level for c in sold}) == len(sold), "a slot was sold twice"
            assert not server.core.open_orders()
            placed = second.engine.stats.placed
            await server.set_price("30200", volume=D("1"))  # the market comes back: nothing opens
            await until(lambda: second.engine.last_price == D("30200"), WAIT, "the new price seen")
            assert second.engine.stats.placed == placed and not server.core.open_orders()
            await second.finish()
            check_match(second.ledger, server)
            second.journal.close()

    run(scenario())


def test_live_says_a_journaled_exit_is_in_effect(tmp_path):
    from decimal import Decimal

    from test_live_e2e import _cli, _live_config, _live_env

    from gridledger.config import load_config
    from gridledger.ledger.ledger import Ledger
    from gridledger.store.exits import ExitRecord, ExitStore
    from gridledger.store.journal import Journal

    async def scenario():
        async with LocalBinance(server_config(api_key="rx-key-123", secret="rx-secret-456789")) as server:
            config = _live_config(tmp_path, server)
            grid = load_config(config).grid.spec()
            with Journal.open(tmp_path / "live.db", Ledger(grid)) as journal:
                ExitStore(journal).save(
                    ExitRecord(
                        "take_profit",
                        "price 31000 at or above take_profit_price 31000",
                        Decimal(31000),
                        1,
                        Decimal(0),
                        "done",
                    )
                )
            code, out = await _cli(
                "live", "--config", str(config), "--dry-run", env=_live_env("rx-key-123", "rx-secret-456789")
            )
            assert code == 0, out
            assert "risk exit in effect: take_profit at 31000" in out and "journal clear-exit" in out

    run(scenario())
