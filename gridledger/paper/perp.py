"""Paper trading on a simulated linear perpetual: the session's config and market.

``gridledger paper --market perp`` (and ``backtest --market perp``) turns the grid's spot
symbol into its USDⓈ-M perpetual (``BTC/USDT`` -> ``BTC/USDT:USDT``); ``--direction``
sets ``[grid] direction`` and ``--leverage`` ``[perp] leverage``. A neutral grid without a
``[grid] pivot`` gets the level nearest the start price. The result is validated as a whole
again, so a combination that does not fit (a ``[risk]`` stop on the wrong side for the new
direction, say) is a one-line error naming the key.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from gridledger.config import Config, ConfigError, parse_config
from gridledger.domain.instrument import Instrument
from gridledger.exchange.sim.perp_values import PerpMarketSpec
from gridledger.paper.settings import PaperSettings, parse_duration

__all__ = ["MARKETS", "is_perp", "perp_market_spec", "perp_session_config", "session_start_price"]

MARKETS = ("spot", "perp")


def is_perp(cfg: Config) -> bool:
    return Instrument.from_symbol(cfg.grid.symbol).settle is not None


def _nearest_level(price: Decimal, anchor: Decimal, interval: Decimal) -> Decimal:
    steps = ((price - anchor) / interval).to_integral_value(rounding=ROUND_HALF_EVEN)
    return anchor + steps * interval


def perp_session_config(
    cfg: Config,
    *,
    market: str | None,
    direction: str | None,
    leverage: int | None,
    start_price: Decimal,
    origin: str = "--market perp",
) -> Config:
    """``cfg`` with the command line's market, direction and leverage applied (unchanged
    when none is given). Raises :class:`ConfigError` (one line, naming the key)."""
    if market is None and direction is None and leverage is None:
        return cfg
    if market is not None and market not in MARKETS:
        raise ConfigError(f"--market: must be spot or perp (got {market!r})")
    doc: dict[str, Any] = cfg.model_dump(exclude_unset=True)
    grid = dict(doc["grid"])
    inst = Instrument.from_symbol(cfg.grid.symbol)
    if market == "perp" and inst.settle is None:
        grid["symbol"] = f"{inst.base}/{inst.quote}:{inst.quote}"
    elif market == "spot" and inst.settle is not None:
        grid["symbol"] = f"{inst.base}/{inst.quote}"
    if direction is not None:
        grid["direction"] = direction
    if grid.get("direction", "long") == "neutral":
        if grid.get("pivot") is None:
            grid["pivot"] = _nearest_level(start_price, cfg.grid.anchor, cfg.grid.interval)
    else:
        grid.pop("pivot", None)
    doc["grid"] = grid
    if leverage is not None:
        doc["perp"] = {**doc.get("perp", {}), "leverage": leverage}
    return parse_config(doc, origin)


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
