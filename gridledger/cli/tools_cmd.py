"""`gridledger coid` and `gridledger journal`: client ids and journal maintenance."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from gridledger.cli.apps import coid_app, journal_app
from gridledger.cli.common import (
    _load,
    err,
    fail,
    out,
)
from gridledger.domain.coid import ClientId, CoidError, decode, encode
from gridledger.domain.types import Role, Side


@coid_app.command("encode")
def coid_encode(
    config: Path = typer.Option(..., "--config", "-c", help="TOML config whose [grid] id the client id carries."),
    level: int = typer.Option(..., "--level", help="Grid level (negative below the anchor)."),
    side: Side = typer.Option(..., "--side", help="buy (opens a level) or sell (closes it)."),
    role: Role = typer.Option(
        ..., "--role", help="open (the buy that fills a slot) or close (the sell that empties it)."
    ),
    generation: int = typer.Option(
        ..., "--generation", min=0, help="How many orders this level had before this one (0 for the first)."
    ),
) -> None:
    """Print the client order id of one order of this grid."""
    cfg = _load(config)
    # Each level trades its grid's direction (issue 11): a long slot opens with a buy and
    # closes with a sell, a short slot the other way round, a neutral grid's pivot not at all.
    direction = cfg.grid.spec().level_direction(level)
    if direction is None:
        fail(f"--level {level} is the neutral grid's pivot: it holds no slot and has no orders")
    expected = direction.opening_side if role is Role.OPEN else direction.closing_side
    if side is not expected:
        fail(
            f"--side {side.value} --role {role.value} is impossible: level {level} of a {cfg.grid.direction} grid "
            f"is a {direction.value} slot, which opens with a {direction.opening_side.value} "
            f"and closes with a {direction.closing_side.value}"
        )
    try:
        out.print(encode(ClientId(cfg.grid.id, level, side, role, generation)))
    except CoidError as exc:
        fail(str(exc))


@coid_app.command("decode")
def coid_decode(
    client_id: str = typer.Argument(..., help="A client order id as shown by the exchange."),
    as_json: bool = typer.Option(False, "--json", help="Print the fields as one JSON object."),
) -> None:
    """Explain a client order id: grid, level, side, role, generation."""
    cid = decode(client_id)
    if cid is None:
        fail(f"{client_id!r} is not a gridledger client order id (foreign or mistyped)", code=1)
    fields = {
        "grid_id": cid.grid_id,
        "level": cid.level,
        "side": cid.side.value,
        "role": cid.role.value,
        "generation": cid.generation,
    }
    if as_json:
        sys.stdout.write(json.dumps(fields) + "\n")
    else:
        out.print("  ".join(f"{k} {v}" for k, v in fields.items()))


@journal_app.command("export")
def journal_export(
    db: Path = typer.Option(..., "--db", help="The journal (SQLite file) to read."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Where to write; default: standard output."),
) -> None:
    """Write the journal's venue evidence as JSON Lines that `gridledger replay` reads back.

    Intents and rejections are left out. Exit 1 when damage stopped part of the export."""
    from gridledger.store.errors import JournalError
    from gridledger.store.export import export, open_for_reading

    try:
        open_for_reading(db).close()  # a missing or foreign journal leaves no empty output file
        if output is None:
            result = export(db, sys.stdout)
        else:
            with open(output, "w", encoding="utf-8") as fh:
                result = export(db, fh)
    except JournalError as exc:
        fail(str(exc))
    except BrokenPipeError:
        raise  # stdout's reader went away: exit 141 quietly (gridledger.console), not an error
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}")
    left = ", ".join(f"{k} {v}" for k, v in sorted(result.left_out.items())) or "nothing"
    err.print(f"exported {result.exported} message(s); left out: {left}", markup=False, soft_wrap=True)
    if not result.complete:
        err.print(
            f"warning: the journal is damaged: {result.damaged_rows} row(s) failed their checksum"
            f"{'; reading stopped: ' + result.stopped if result.stopped else ''}; the export is partial",
            markup=False,
            soft_wrap=True,
        )
        raise typer.Exit(1)


@journal_app.command("clear-exit")
def journal_clear_exit(
    db: Path = typer.Option(..., "--db", help="The journal (SQLite file) of the stopped grid."),
) -> None:
    """Resume a grid a [risk] exit stopped: forget the journaled exit and its equity peak.

    The next run places opening orders again (a limit the price still breaks fires again:
    change [risk] first). Refused while another process has the journal open."""
    from gridledger.store.errors import JournalError
    from gridledger.store.exits import clear_exit

    try:
        cleared = clear_exit(db)
    except JournalError as exc:
        fail(str(exc))
    if cleared is None:
        out.print(f"no risk exit in {db}: nothing to clear", markup=False, soft_wrap=True)
        return
    d = cleared.as_dict()
    out.print(
        f"cleared the risk exit in {db}: {d['kind']} at price {d['price']} ({d['detail']}); "
        "opening orders resume on the next run",
        markup=False,
        soft_wrap=True,
    )


@journal_app.command("compact")
def journal_compact(
    db: Path = typer.Option(..., "--db", help="The journal (SQLite file) to compact in place."),
) -> None:
    """Drop stored messages no longer needed (duplicates, repeated rejections), then VACUUM.

    The ledger state is unchanged. Refused while another process has the journal open."""
    from gridledger.store.compact import compact
    from gridledger.store.errors import JournalError

    try:
        result = compact(db)
    except JournalError as exc:
        fail(str(exc))
    out.print(
        f"compacted {db}: {result.bytes_before:,} -> {result.bytes_after:,} bytes, "
        f"{result.rows_before:,} -> {result.rows_after:,} stored messages",
        markup=False,
        soft_wrap=True,
    )
