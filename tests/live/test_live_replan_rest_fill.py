"""A fill learned only by REST, after a stream drop, gets its closing order with no new price.

ccxt's own ``binanceusdm`` over real HTTP and WebSocket connections to LocalBinanceUsdm, which
pushes market data only after a print (``ticker_every_ms`` 0): after the fill's print no
price ever comes again, as in a quiet market. The user-data stream is dropped and the buy
fills while it is down (the venue does not replay), so the engine learns the fill from REST:
the order (Binance's order query carries no fee), then the order's trades (with the fee).
The close is held until the fee is known (engine/decisions.py); before the fix nothing
decided again once it was, and the inventory sat without its closing order until the next
ticker. Real time, but no sleep: each step waits for a condition (``until``).
"""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from gridledger.config import parse_config
from gridledger.engine.runtime import GridEngine
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.ledger.ledger import Ledger
from gridledger.live.preflight import preflight
from gridledger.paper.perp_audit import perp_audit
from gridledger.store.funding import FundingStore
from gridledger.store.journal import Journal
from gridledger.testkit.local_binance_usdm import LocalBinanceUsdm, LocalBinanceUsdmConfig, build_usdm_client
from gridledger.testkit.local_binance_usdm.testing import until

BALANCES = {"USDT": D("10000")}
SPEC = PerpMarketSpec(
    participation=D("1"), amount_step=D("0.001"), min_amount=D("0.001"), price_step=D("0.1"), min_notional=D("5")
)
WAIT = 20.0
CLOSE_WAIT = 10.0  # five periodic reconciliations: the close is due long before


def cfg() -> Any:
    return parse_config(
        {
            "grid": {"id": "rq1", "symbol": "BTC/USDT:USDT", "anchor": "30000", "interval": "100", "direction": "long"},
            "strategy": {"buy_window": 3, "quote_per_level": "100", "max_open_orders": 10},
            "perp": {"leverage": 5, "funding_trigger_delay_s": 0, "funding_overlap_s": 3600},
            "engine": {
                "journal_synchronous": "NORMAL",
                "reconcile_every_s": 2,
                "request_timeout_s": 2,
                "stream_idle_s": 3,
                "rate_limit_per_s": 50,
            },
        }
    )


def test_a_fill_learned_by_rest_after_a_stream_drop_gets_its_close_with_no_new_price(tmp_path: Path) -> None:
    async def scenario() -> None:
        config = cfg()
        server_cfg = LocalBinanceUsdmConfig(spec=SPEC, balances=dict(BALANCES), auto_funding=False)
        assert server_cfg.ticker_every_ms == 0 and server_cfg.path is None  # prices only on set_price
        async with LocalBinanceUsdm(server_cfg) as server:
            ex = build_usdm_client(server, timeout_ms=1500)
            ex.streaming["keepAlive"] = 1000
            journal = Journal.open(tmp_path / "j.db", Ledger(config.grid.spec()), synchronous="NORMAL")
            engine = GridEngine(ex, journal, config, now_ms=ex.milliseconds)
            stop = asyncio.Event()
            await preflight(engine)
            task = asyncio.ensure_future(engine.run(stop))
            try:
                core = server.core
                await until(lambda: len(core.open_orders()) == 3 or task.done(), WAIT, "three buys")
                assert sorted(o.price for o in core.open_orders()) == [D("29700"), D("29800"), D("29900")]
                # The user stream drops and, before ccxt can reconnect, the buy at 29900 fills:
                # its ORDER_TRADE_UPDATE is lost. This print is the last price the engine sees.
                server.drop_user_stream()
                await server.set_price("29850")
                await until(lambda: journal.ledger.net_position > 0, WAIT, "the fill, learned by REST")

                def closing() -> list[Any]:
                    return [o for o in core.open_orders() if o.side.value == "sell" and core.reduce_only[o.order_id]]

                await until(lambda: bool(closing()), CLOSE_WAIT, "the fill's closing order, with no new price")
                assert [o.price for o in closing()] == [D("30000")]
                assert engine.stats.reconnects >= 1
                assert server.counters()["dropped"] >= 1  # the fill's stream events were lost
                assert core.last_price == D("29850")  # no other print
                stop.set()
                await task
                await engine.reconcile("final")
                recorded = [(p.payment_id, p.amount) for p in FundingStore(journal).payments()]
                assert perp_audit(journal.ledger, core, BALANCES, recorded).differences == []
            finally:
                stop.set()
                await asyncio.gather(task, return_exceptions=True)
                await ex.close()
                journal.close()

    asyncio.run(asyncio.wait_for(scenario(), 120))
