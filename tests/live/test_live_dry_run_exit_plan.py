"""``gridledger live --dry-run`` with a journaled risk exit in effect prints what the engine
would really send (live/runner.py, engine/exits.py ``RiskGuard.plan``): the exit's next
step, never the strategy's orders. Phase ``cancel``: a cancel per live order; phase
``close``: one marketable closing order per slot holding inventory; no opening order ever.
Real subprocess output, against ccxt's binance class on the local Binance server."""

from __future__ import annotations

import re
from decimal import Decimal as D

from test_live_e2e import WAIT, Session, _cli, _live_config, _live_env, run, server_config

from gridledger.config import load_config
from gridledger.ledger.ledger import Ledger
from gridledger.store.exits import ExitRecord, ExitStore
from gridledger.store.journal import Journal
from gridledger.testkit.local_binance import LocalBinance
from gridledger.testkit.local_binance.testing import until

KEY, SECRET = "px-key-123", "px-secret-456789"


def _rows(out: str, action: str) -> list[list[str]]:
    """The plan table's rows for ``action`` (place / cancel), as their cells."""
    rows = []
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃").split("│")]
        if cells and cells[0] == action:
            rows.append(cells)
    return rows


def _save_exit(db, grid, phase: str) -> None:
    with Journal.open(db, Ledger(grid)) as journal:
        ExitStore(journal).save(
            ExitRecord("stop_loss", "price 29850 at or below stop_loss_price 29860", D(29850), 1, D("0.003"), phase)
        )


def test_dry_run_shows_the_exit_s_step_and_no_opening_order(tmp_path):
    async def scenario():
        async with LocalBinance(server_config(api_key=KEY, secret=SECRET)) as server:
            config = _live_config(tmp_path, server)
            cfg = load_config(config)
            db = tmp_path / "live.db"
            first = Session(server, db, cfg)
            await first.start()
            await until(lambda: first.live() == 3, WAIT, "three buys")
            await server.set_price("29850", volume=D("1"))  # the buy at 29900 fills
            await until(lambda: first.ledger.position > 0 and first.live() == 3, WAIT, "a fill and its sell")
            await first.crash()
            grid = cfg.grid.spec()

            # Phase cancel: the engine would cancel each of the grid's live orders (the three it
            # had acknowledged, and any it was placing when it was killed).
            _save_exit(db, grid, "cancel")
            code, out = await _cli("live", "--config", str(config), "--dry-run", env=_live_env(KEY, SECRET))
            assert code == 0, out
            assert "risk exit in effect: stop_loss" in out
            cancels = _rows(out, "cancel")
            live = int(re.search(r"reconciled: .* live orders (\d+),", out).group(1))
            assert live >= 3 and len(cancels) == live and all("risk exit" in row[-1] for row in cancels), out
            assert not _rows(out, "place"), out

            # Phase close: every order is gone; the filled slot gets one marketable closing sell.
            for order in server.core.open_orders():
                server.core.cancel(order.order_id)
            _save_exit(db, grid, "close")
            code, out = await _cli("live", "--config", str(config), "--dry-run", env=_live_env(KEY, SECRET))
            assert code == 0, out
            places = _rows(out, "place")
            assert len(places) == 1, out
            _, level, side, role, price, _, _ = places[0]
            assert (level, side, role) == ("-1", "sell", "close")
            # A marketable limit at most exit_slippage (0.5 %) under the price, not the grid's
            # closing sell one level up (30000), which is what the strategy would place.
            assert D("29850") * D("0.995") <= D(price) <= D("29850"), out
            assert not _rows(out, "cancel"), out

            # Phase done: nothing to send, and the plan says why.
            _save_exit(db, grid, "done")
            code, out = await _cli("live", "--config", str(config), "--dry-run", env=_live_env(KEY, SECRET))
            assert code == 0, out
            assert not _rows(out, "place") and not _rows(out, "cancel"), out
            assert "the risk exit is done" in out and "where the strategy wants it" not in out

    run(scenario())
