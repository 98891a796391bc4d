"""What a backtest needs from the config: the grid, the strategy, the market and the money.

The market (precision, minimums, fees, fee mode) and the starting balances are read from the
``[paper]`` table, the same settings the paper venue uses, so a backtest and a paper session
of one config trade the same market. The strategy parameters are built exactly as the engine
builds them (``GridEngine.prepare``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from gridledger.config import Config
from gridledger.domain.grid import GridSpec
from gridledger.paper.settings import PaperSettings, paper_settings
from gridledger.strategy import GridParams, MarketRules, check_grid
from gridledger.strategy.risk import RiskLimits


@dataclass(frozen=True, slots=True)
class MarketSetup:
    """The simulated market's rules: the paper venue's ``SimMarketSpec`` fields we use."""

    base: str
    quote: str
    rules: MarketRules
    maker_fee: Decimal
    taker_fee: Decimal
    fee_mode: str  # "quote", "base_on_buy" or "third"
    third_asset: str
    third_asset_price: Decimal
    # A linear perpetual (``backtest --market perp``): its leverage; None for spot.
    leverage: int | None = None


@dataclass(frozen=True, slots=True)
class BacktestSetup:
    grid: GridSpec
    params: GridParams
    market: MarketSetup
    balances: dict[str, Decimal]
    paused: bool = False
    rest_latency_ms: int = 0  # when a refused order's answer arrives: its level's back-off starts then
    # A refused level waits as the engine's resolver makes it wait ([engine] level_backoff_s, _max_s).
    level_backoff_ms: int = 5_000
    level_backoff_max_ms: int = 600_000
    risk: RiskLimits = field(default_factory=RiskLimits)  # [risk]: exits and max_position (backtest/exits.py)


def params_from_config(cfg: Config) -> GridParams:
    """The strategy parameters, built as ``GridEngine.prepare`` builds them."""
    return cfg.strategy.params(cfg.grid.spec())


def setup_from_config(cfg: Config, ps: PaperSettings | None = None) -> BacktestSetup:
    """Raises ``ConfigError`` for a bad ``[paper]`` table, ``ValueError`` for a grid off the tick
    or a market the backtest cannot simulate (an inverse perpetual)."""
    ps = ps if ps is not None else paper_settings(dict(cfg.paper))
    grid = cfg.grid.spec()
    inst = grid.instrument
    rules = MarketRules(
        amount_step=ps.amount_step, price_step=ps.price_step, min_amount=ps.min_amount, min_notional=ps.min_notional
    )
    params = params_from_config(cfg)
    check_grid(params, rules)
    if ps.fee_mode == "third" and ps.third_asset in (inst.base, inst.quote):
        raise ValueError("[paper] third_asset must differ from the base and quote assets")
    if inst.settle is not None:
        # A linear perpetual: fees and margin in the settle asset (backtest/perp_account.py).
        if inst.settle != inst.quote:
            raise ValueError(f"{inst.symbol}: only linear perpetuals (settled in {inst.quote}) are simulated")
        market = MarketSetup(
            inst.base,
            inst.quote,
            rules,
            ps.maker_fee,
            ps.taker_fee,
            "quote",
            ps.third_asset,
            ps.third_asset_price,
            leverage=cfg.perp.leverage,
        )
    else:
        market = MarketSetup(
            inst.base, inst.quote, rules, ps.maker_fee, ps.taker_fee, ps.fee_mode, ps.third_asset, ps.third_asset_price
        )
    return BacktestSetup(
        grid,
        params,
        market,
        dict(ps.balances),
        paused=cfg.strategy.paused,
        rest_latency_ms=ps.rest_latency_ms,
        level_backoff_ms=int(cfg.engine.level_backoff_s * 1000),
        level_backoff_max_ms=int(max(cfg.engine.level_backoff_max_s, cfg.engine.level_backoff_s) * 1000),
        risk=cfg.risk.limits(),
    )
