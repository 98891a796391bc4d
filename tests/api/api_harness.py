"""An engine on the local Binance-protocol server with the API server attached (tests/api)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from gridledger.api.server import ApiServer
from gridledger.config import ApiConfig, parse_config
from gridledger.engine.runtime import GridEngine
from gridledger.ledger.ledger import Ledger
from gridledger.store.journal import Journal
from gridledger.testkit.local_binance import LocalBinance, build_client
from gridledger.testkit.local_binance.testing import until

TOKEN = "test-token-0123456789"
WAIT = 20.0
GRID = {"id": "api1", "symbol": "BTC/USDT", "anchor": "30000", "interval": "100"}
STRATEGY = {"buy_window": 3, "quote_per_level": "100", "max_open_orders": 10}
ENGINE = {
    "journal_synchronous": "NORMAL",
    "reconcile_every_s": 2,
    "request_timeout_s": 2,
    "stream_idle_s": 3,
    "rate_limit_per_s": 50,
}


def cfg():
    return parse_config({"grid": GRID, "strategy": STRATEGY, "engine": ENGINE})


def config_file(tmp_path: Path) -> Path:
    def table(name, d):
        return f"[{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in d.items())

    path = tmp_path / "grid.toml"
    path.write_text(table("grid", GRID) + table("strategy", STRATEGY))
    return path


class Live:
    """An engine on the local server, with the API server attached on a free port."""

    def __init__(self, server: LocalBinance, db: Path, sample_every_s: float = 0.2) -> None:
        self.ex = build_client(server, timeout_ms=1500)
        self.ex.streaming["keepAlive"] = 1000
        self.journal = Journal.open(db, Ledger(cfg().grid.spec()), synchronous="NORMAL")
        self.engine = GridEngine(self.ex, self.journal, cfg(), now_ms=self.ex.milliseconds)
        self.stop = asyncio.Event()
        api = ApiConfig.model_construct(port=0, host="127.0.0.1", token_env="UNUSED")
        self.api = ApiServer(api, TOKEN, on_stop=self.stop.set, sample_every_s=sample_every_s)
        self.task: asyncio.Task | None = None

    async def start(self) -> str:
        await self.api.start()
        self.api.attach(self.engine)
        self.task = asyncio.ensure_future(self.engine.run(self.stop))
        await until(lambda: self.engine.ready or self.task.done(), WAIT, "engine start")
        return f"http://127.0.0.1:{self.api.port}"

    def api_levels(self) -> list[dict]:
        from gridledger.api.views import levels_view

        return levels_view(self.engine)["levels"]

    async def quiet(self) -> None:
        """One more decision and one more full reconciliation after whatever happened: what
        the engine meant to send by then has reached the exchange."""
        self.engine.sh.decide.set()
        await until(lambda: not self.engine.sh.decide.is_set(), WAIT, "a decision")
        before = self.engine.stats.reconciles
        self.engine.reconciler.request("test")
        await until(lambda: self.engine.stats.reconciles > before + 0, WAIT, "a reconciliation")

    async def finish(self) -> None:
        self.stop.set()
        if self.task is not None:
            await self.task
        await self.api.stop()
        await self.ex.close()
        self.journal.close()

    def live(self) -> int:
        return sum(1 for r in self.journal.ledger.live_orders() if r.order_id is not None)
