"""Paper trading on a simulated linear perpetual: the session's config and market.

``gridledger paper --market perp`` (and ``backtest --market perp``) turns the grid's spot
symbol into its USDⓈ-M perpetual (``BTC/USDT`` -> ``BTC/USDT:USDT``); ``--direction``
sets ``[grid] direction`` and ``--leverage`` ``[perp] leverage``. A neutral grid without a
``[grid] pivot`` gets the level nearest the start price. The flags are applied to the file's
raw settings BEFORE its one validation (:func:`load_session_config`): a ``[risk]`` stop that
only fits the flagged direction is accepted, and a combination that does not fit (a stop on
the wrong side for the new direction, say) is a one-line error naming the key.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from gridledger.config import Config, ConfigError, GridConfig, load_config, parse_config, read_config_data
from gridledger.domain.instrument import Instrument
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.paper.settings import PaperSettings, parse_duration

__all__ = [
    "MARKETS",
    "apply_session_flags",
    "is_perp",
    "load_session_config",
    "perp_market_spec",
    "perp_session_config",
    "session_start_price",
]

MARKETS = ("spot", "perp")


def is_perp(cfg: Config) -> bool:
    return Instrument.from_symbol(cfg.grid.symbol).settle is not None


def _nearest_level(price: Decimal, anchor: Decimal, interval: Decimal) -> Decimal:
    steps = ((price - anchor) / interval).to_integral_value(rounding=ROUND_HALF_EVEN)
    return anchor + steps * interval


def _flags_given(market: str | None, direction: str | None, leverage: int | None) -> bool:
    return market is not None or direction is not None or leverage is not None


def _flags_text(market: str | None, direction: str | None, leverage: int | None) -> str:
    given = (("--market", market), ("--direction", direction), ("--leverage", leverage))
    return " ".join(f"{flag} {value}" for flag, value in given if value is not None)


def _grid_steps(grid: dict[str, Any]) -> tuple[Decimal, Decimal] | None:
    """The grid table's anchor and interval as the config reads them, or None when the table
    is invalid in itself (the one validation afterwards names the key)."""
    try:
        checked = GridConfig.model_validate({**grid, "direction": "long", "pivot": None})
    except ValidationError:
        return None
    return checked.anchor, checked.interval


def apply_session_flags(
    data: dict[str, Any],
    *,
    market: str | None,
    direction: str | None,
    leverage: int | None,
    start_price: Callable[[dict[str, Any]], Decimal],
) -> dict[str, Any]:
    """A copy of the raw settings ``data`` with the command line's market, direction and
    leverage applied, not yet validated. ``start_price(data)`` is asked only for a neutral
    grid without a pivot. A table that is not a table is left as it is: the validation that
    follows refuses it, naming the key, as it would without the flags."""
    if market is not None and market not in MARKETS:
        raise ConfigError(f"--market: must be spot or perp (got {market!r})")
    doc = dict(data)
    raw_grid = doc.get("grid")
    if isinstance(raw_grid, dict):
        grid = dict(raw_grid)
        symbol = grid.get("symbol")
        inst: Instrument | None = None
        if isinstance(symbol, str):
            try:
                inst = Instrument.from_symbol(symbol)
            except ValueError:
                inst = None  # grid.symbol's own error, from the validation
        if inst is not None and market == "perp" and inst.settle is None:
            grid["symbol"] = f"{inst.base}/{inst.quote}:{inst.quote}"
        elif inst is not None and market == "spot" and inst.settle is not None:
            grid["symbol"] = f"{inst.base}/{inst.quote}"
        if direction is not None:
            grid["direction"] = direction
        if grid.get("direction", "long") == "neutral":
            steps = _grid_steps(grid) if grid.get("pivot") is None else None
            if steps is not None:
                grid["pivot"] = _nearest_level(start_price(doc), *steps)
        elif direction is not None and raw_grid.get("direction") == "neutral":
            # Only a neutral grid takes a pivot: a neutral file's pivot goes with the direction
            # the flag replaced (a pivot in a long or short file stays, and stays refused).
            grid.pop("pivot", None)
        doc["grid"] = grid
    if leverage is not None:
        perp = doc.get("perp", {})
        if isinstance(perp, dict):
            doc["perp"] = {**perp, "leverage": leverage}
    return doc


def load_session_config(
    path: str | Path,
    *,
    market: str | None,
    direction: str | None,
    leverage: int | None,
    start_price: Callable[[dict[str, Any]], Decimal],
) -> Config:
    """The config file ``path`` with the flags applied to its raw settings, then validated
    once: the ``[risk]`` keys are checked against the flagged direction, not the file's.
    Without flags exactly :func:`load_config`. Raises :class:`ConfigError` (one line, naming
    the key; the origin says which flags were applied)."""
    if not _flags_given(market, direction, leverage):
        return load_config(path)
    data = read_config_data(path)
    doc = apply_session_flags(data, market=market, direction=direction, leverage=leverage, start_price=start_price)
    return parse_config(doc, f"{Path(path)} with {_flags_text(market, direction, leverage)}")


def perp_session_config(
    cfg: Config,
    *,
    market: str | None,
    direction: str | None,
    leverage: int | None,
    start_price: Decimal,
    origin: str = "--market perp",
) -> Config:
    """``cfg`` (already valid) with the command line's market, direction and leverage applied
    (unchanged when none is given). Raises :class:`ConfigError` (one line, naming the key).
    The commands use :func:`load_session_config`, which applies the flags before the file's
    validation; this is for a config that is already in hand (tests, tools)."""
    if not _flags_given(market, direction, leverage):
        return cfg
    doc: dict[str, Any] = cfg.model_dump(exclude_unset=True)
    flagged = apply_session_flags(
        doc, market=market, direction=direction, leverage=leverage, start_price=lambda _: start_price
    )
    return parse_config(flagged, origin)


def perp_market_spec(cfg: Config, ps: PaperSettings) -> PerpMarketSpec:
    """The simulated perpetual of a paper session: ``[paper]``'s filters, fees and funding,
    ``[perp]``'s leverage and margin mode."""
    inst = Instrument.from_symbol(cfg.grid.symbol)
    if inst.settle is None:
        raise ValueError(f"{cfg.grid.symbol} is a spot symbol, not a perpetual")
    if inst.contract_size != 1 or cfg.grid.contract_size != 1:
        raise ValueError("the simulated perpetual counts contracts of one base unit (grid.contract_size 1)")
    return PerpMarketSpec(
        symbol=inst.symbol,
        venue_id=inst.base + inst.quote,
        base=inst.base,
        quote=inst.quote,
        settle=inst.settle,
        amount_step=ps.amount_step,
        price_step=ps.price_step,
        min_amount=ps.min_amount,
        min_notional=ps.min_notional,
        maker_fee=ps.maker_fee,
        taker_fee=ps.taker_fee,
        fee_mode="quote",
        participation=ps.participation,
        maintenance_rate=ps.maintenance_rate,
        funding_interval_ms=parse_duration(ps.funding_interval),
        funding_rates=ps.funding_rate_series,
        leverage=cfg.perp.leverage,
        margin_mode=cfg.perp.margin_mode,
    )


def session_start_price(ps: PaperSettings) -> Decimal:
    """Where the session's prices start: the first recorded price, else ``start_price``."""
    source = ps.candles_csv or ps.trades_csv
    if not source:
        return ps.start_price
    from gridledger.exchange.sim.prices import CsvCandlesPath, CsvTradesPath

    reader = CsvCandlesPath if ps.candles_csv else CsvTradesPath
    for tick in reader(source, price_step=ps.price_step):
        return tick.price
    raise ValueError(f"{source}: no prices")
