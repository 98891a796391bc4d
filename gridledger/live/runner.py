"""``gridledger live``: preflight, then the engine on a real exchange until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import ccxt
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from gridledger.config import Config
from gridledger.config_perp import perp_table_error

if TYPE_CHECKING:
    from gridledger.api.server import ApiServer
from gridledger.display import human, quote
from gridledger.domain.numbers import fmt
from gridledger.engine.runtime import EngineFatal, GridEngine
from gridledger.ledger.ledger import Ledger
from gridledger.ledger.position_view import position_figures
from gridledger.live.factory import build_exchange
from gridledger.live.preflight import PreflightError, preflight
from gridledger.live.settings import ExchangeSettings, supported
from gridledger.logs import redact
from gridledger.store.journal import Journal
from gridledger.strategy import Cancel, Decision, Place

# Exit code when cancel_on_exit could not confirm that every order ended (README: exit codes).
EXIT_ORDERS_LEFT_LIVE = 5


def journal_path(cfg: Config, settings: ExchangeSettings, db: Path | None) -> Path:
    if db is not None:
        return db
    return Path(settings.journal or f"gridledger-{cfg.grid.id}.db")


def _exit_idle(phase: str) -> str:
    """What an empty plan means while a risk exit is in effect."""
    if phase == "done":
        return "no actions: the risk exit is done (inventory closed); no opening orders until `journal clear-exit`"
    return "no actions: the risk exit has nothing to send at this price; no opening orders"


def print_plan(console: Console, decision: Decision, *, empty: str | None = None) -> None:
    table = Table(title="actions the engine would send", title_justify="left")
    for col in ("action", "level", "side", "role", "price", "amount", "post-only / reason"):
        table.add_column(col)
    for a in decision.actions:
        if isinstance(a, Place):
            table.add_row(
                "place",
                str(a.level),
                a.side.value,
                a.role.value,
                fmt(a.price) or "",
                fmt(a.amount) or "",
                "yes" if a.post_only else "no",
            )
        elif isinstance(a, Cancel):
            table.add_row("cancel", str(a.level), "", "", "", "", f"{a.client_id}: {a.reason}")
    console.print(table)
    if not decision.actions:
        console.print(escape(empty or "no actions: the grid is where the strategy wants it"))
    for note in decision.notes:
        console.print(f"  note level {note.level}: {note.kind} {note.detail}")


def _status(engine: GridEngine, price: Decimal) -> str:
    led = engine.ledger
    # Quote amounts at the market's precision (its price step): realized PnL is a sum of
    # quotients and would otherwise print 18 digits. The time is ISO 8601 UTC, as in the logs.
    step = engine.rules.price_step if engine.rules is not None else None
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return (
        f"{now} {engine.symbol} {quote(price, step)}  position {position_figures(engine.grid, led).label(human)}  "
        f"live orders {len(led.live_orders())}  realized {quote(led.realized_pnl, step)}  "
        f"{perp_status(engine, step)}"
        f"applied {led.counts['APPLIED']} dup {led.counts['DUPLICATE']} rejected {led.counts['REJECTED']}"
        f"{'  PAUSED (' + ', '.join(engine.pause_reasons) + ')' if engine.paused else ''}"
    )


def perp_status(engine: GridEngine, step: Decimal | None) -> str:
    """A perpetual grid's funding (per grid and asset), liquidation price and margin ratio."""
    parts = []
    if engine.funding is not None:
        totals = engine.funding.totals()
        # Exact: a funding payment is often far below the price step.
        parts.append("funding " + (", ".join(f"{fmt(v)} {a}" for a, v in sorted(totals.items())) or "0"))
    reading = engine.margin.reading if engine.margin is not None else None
    if reading is not None:
        parts.append(f"liq {quote(reading.liquidation_price, step) if reading.liquidation_price else 'none'}")
        ratio = reading.margin_ratio
        parts.append(f"margin ratio {human(ratio, 4) if ratio is not None else '?'}")
    return "".join(f"{p}  " for p in parts)


def _report_left_live(console: Console, engine: GridEngine, settings: ExchangeSettings) -> bool:
    """cancel_on_exit could not confirm these orders ended (exchange down or not answering)."""
    if not engine.left_live:
        return False
    console.print(
        f"[bold red]warning:[/] cancel_on_exit: {len(engine.left_live)} order(s) may still be "
        f"live on {escape(settings.id)}: {escape(', '.join(engine.left_live))}. Check them on "
        "the exchange, or run again: the startup reconciliation finds them."
    )
    return True


async def run_live(
    cfg: Config, settings: ExchangeSettings, *, dry_run: bool, sandbox: bool, db: Path | None, console: Console
) -> int:
    """Returns the process exit code."""
    problem = perp_table_error(cfg.grid.symbol, "perp" in cfg.model_fields_set)
    if problem is not None:  # the CLI refuses it first (one line on stderr); a direct caller gets it here
        console.print(escape(f"error: {problem}"))
        return 2
    exchange = build_exchange(settings, sandbox=sandbox)
    path = journal_path(cfg, settings, db)
    scratch: tempfile.TemporaryDirectory[str] | None = None
    open_path = path
    if dry_run and not path.exists():
        # A dry run sends nothing and leaves nothing behind: with no journal yet it reconciles
        # into a scratch journal, deleted at exit (whether preflight passes or fails).
        scratch = tempfile.TemporaryDirectory(prefix="gridledger-dry-run-")
        open_path = Path(scratch.name) / (path.name or "journal.db")
    try:
        ledger = Ledger(cfg.grid.spec())
        journal = Journal.open(open_path, ledger, synchronous=cfg.engine.journal_synchronous)
    except BaseException:
        await exchange.close()
        if scratch is not None:
            scratch.cleanup()
        raise
    last_status = [0.0]
    api: ApiServer | None = None

    def on_tick(price: Decimal, now_ms: int) -> None:
        if time.monotonic() - last_status[0] >= settings.status_every_s:
            last_status[0] = time.monotonic()
            console.print(_status(engine, price))

    engine = GridEngine(
        exchange,
        journal,
        cfg,
        now_ms=exchange.milliseconds,
        dry_run=dry_run,
        on_tick=on_tick,
        on_plan=lambda d: print_plan(console, d),
    )
    try:
        # The venue first and in full (issue 7 item 12): a config must never trade somewhere unseen.
        console.print(
            escape(
                f"gridledger live: {settings.venue(sandbox)}; {cfg.grid.symbol}, grid {cfg.grid.id}, "
                f"journal {path}{' (none yet: a dry run does not create it)' if scratch else ''}"
                f"{', DRY RUN: nothing will be sent' if dry_run else ''}"
            )
        )
        if settings.id not in supported():
            console.print(
                f"[yellow]warning:[/] {settings.id} is not among the supported venues "
                f"({', '.join(supported())}): evidence comes from ccxt's unified fields"
            )
        try:
            report = await preflight(engine)
        except PreflightError as exc:
            console.print(f"[bold red]preflight failed:[/] {escape(str(exc))}")
            return exc.code
        for line in report.lines:
            console.print(f"  ok  {escape(line)}")  # lines quote settings like [perp] leverage
        if cfg.engine.metrics_port is not None and not dry_run:
            from gridledger.engine.metrics import serve_metrics

            try:
                serve_metrics(engine, cfg.engine.metrics_port)
            except OSError as exc:  # taken since the CLI checked it: one line, exit 2
                console.print(
                    escape(
                        f"error: engine.metrics_port {cfg.engine.metrics_port}: cannot listen on "
                        f"127.0.0.1 ({exc.strerror or exc})"
                    )
                )
                return 2
            console.print(f"  metrics on http://127.0.0.1:{cfg.engine.metrics_port}/metrics")
        if engine.risk_exit is not None:  # restored from the journal (engine/exits.py)
            console.print(
                escape(
                    f"risk exit in effect: {engine.risk_exit.kind} at {fmt(engine.risk_exit.price)} "
                    f"({engine.risk_exit.detail}); no opening orders; `gridledger journal clear-exit` resumes"
                ),
                soft_wrap=True,
            )
        if dry_run:
            await engine.reconcile("dry-run")
            ticker = await exchange.fetch_ticker(cfg.grid.symbol)
            price = Decimal(str(ticker["last"]))
            engine.mark_ready()
            console.print(
                f"reconciled: position {position_figures(engine.grid, engine.ledger).label(fmt)}, live orders "
                f"{len(engine.ledger.live_orders())}, drift {fmt(engine.drift.base_drift)}; "
                f"price {fmt(price)}"
            )
            if engine.risk_exit is not None:
                # The exit owns the grid (engine/exits.py): the engine would send the exit's next
                # step, never the strategy's opening orders, so that is the plan shown.
                exit_plan = engine.risk.plan(price, engine.sh.state)
                print_plan(console, exit_plan, empty=_exit_idle(engine.risk_exit.phase))
            else:
                print_plan(console, engine.plan(price))
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if cfg.api.port is not None:
            from gridledger.api.auth import ApiSetupError, resolve_token
            from gridledger.api.server import ApiServer

            try:
                api = ApiServer(cfg.api, resolve_token(cfg.api), on_stop=stop.set)
                await api.start()
            except (ApiSetupError, OSError) as exc:  # one line, exit 2 (the CLI checked it first)
                why = exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
                console.print(escape(f"error: api: cannot serve on {cfg.api.host}:{cfg.api.port} ({why})"))
                return 2
            api.attach(engine)
            console.print(f"  dashboard and API on {api.url}")
        notifier = None
        if cfg.notify is not None:  # [notify]: fills, pauses, drift... through apprise, off the engine's path
            from gridledger.notify import NotifyError, build_notifier, watch_engine

            try:
                notifier = build_notifier(
                    cfg.notify, grid_id=cfg.grid.id, symbol=cfg.grid.symbol, now_ms=exchange.milliseconds
                )
            except NotifyError as exc:
                console.print(escape(f"error: {exc}"))
                return 2
            watch_engine(notifier, engine)
            console.print(f"  notifications: {', '.join(cfg.notify.kinds)} (URLs from ${cfg.notify.urls_env})")

        def pause(on: bool) -> None:
            engine.manual_pause = on
            console.print(f"{'paused: no new opening orders, closing sells go on' if on else 'resumed'}")

        loop.add_signal_handler(signal.SIGUSR1, pause, True)
        loop.add_signal_handler(signal.SIGUSR2, pause, False)
        console.print(
            "running; SIGUSR1 pauses opening orders, SIGUSR2 resumes; Ctrl-C stops placing, "
            f"{'cancels our open orders' if cfg.engine.cancel_on_exit else 'leaves open orders'}"
            " and flushes the journal"
        )
        try:
            await engine.run(stop)
        finally:
            if api is not None:
                await api.stop()
            if notifier is not None:  # the stop message goes out; a dead endpoint gets timeout_s
                await notifier.aclose(cfg.notify.timeout_s if cfg.notify is not None else 1.0)
        console.print("stopped. " + _status(engine, engine.last_price or Decimal(0)))
        return EXIT_ORDERS_LEFT_LIVE if _report_left_live(console, engine, settings) else 0
    except EngineFatal as exc:
        console.print(f"[bold red]stopped:[/] {escape(redact(str(exc)))}")
        _report_left_live(console, engine, settings)
        return 4
    except ccxt.BaseError as exc:
        # A call outside the engine's caller (the dry run's ticker, say): one line, no
        # traceback, and never a signed URL (redact strips it).
        console.print(f"[bold red]stopped:[/] {type(exc).__name__}: {escape(redact(str(exc))[:300])}")
        return 4
    finally:
        await exchange.close()
        journal.close()
        if scratch is not None:
            scratch.cleanup()
